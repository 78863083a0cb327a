#include "dataplane/engine/metrics.h"

#include <map>
#include <utility>

namespace muhafiz::engine {
namespace {

void sample(std::vector<api::Metric>* out, std::string name, api::MetricKind kind,
            std::vector<std::pair<std::string, std::string>> labels, uint64_t value) {
  out->push_back(api::Metric{std::move(name), kind, std::move(labels), value});
}

}  // namespace

void collect_worker_metrics(const WorkerMetricsSource& src, std::span<const std::string> list_names,
                            std::vector<api::Metric>* out) {
  using K = api::MetricKind;
  uint64_t matches[kMaxCountedLists + 1][kMatchClassCount] = {};
  for (size_t w = 0; w < src.counters.size(); ++w) {
    const WorkerCounters& c = *src.counters[w];
    const std::string lcore = std::to_string(src.lcores[w]);
    for (uint32_t r = 0; r < kEngineCounterCount; ++r) {
      const auto e = static_cast<EngineCounter>(r);
      sample(out, std::string(counter_family(e)) + "_total", K::kCounter,
             {{"lcore", lcore}, {"reason", std::string(counter_reason(e))}}, c.get(e));
    }
    for (size_t p = 0; p < src.ports.size() && p < kMaxPorts; ++p) {
      const PortCounters& pc = c.ports[p];
      const std::vector<std::pair<std::string, std::string>> labels{{"lcore", lcore},
                                                                    {"port", src.ports[p]}};
      sample(out, "rx_packets_total", K::kCounter, labels, pc.rx_packets.get());
      sample(out, "rx_bytes_total", K::kCounter, labels, pc.rx_bytes.get());
      sample(out, "tx_packets_total", K::kCounter, labels, pc.tx_packets.get());
      sample(out, "tx_bytes_total", K::kCounter, labels, pc.tx_bytes.get());
      sample(out, "tx_dropped_total", K::kCounter, labels, pc.tx_dropped.get());
    }
    for (uint32_t x = 0; x < extract::kExtractCounterCount; ++x) {
      sample(
          out, "extract_total", K::kCounter,
          {{"lcore", lcore},
           {"reason",
            std::string(extract::extract_counter_name(static_cast<extract::ExtractCounter>(x)))}},
          c.extract[x].get());
    }
    sample(out, "flows_total", K::kCounter, {{"lcore", lcore}, {"reason", "created"}},
           c.flows_created.get());
    sample(out, "flows_total", K::kCounter, {{"lcore", lcore}, {"reason", "evicted"}},
           c.flows_evicted.get());
    sample(out, "flows_total", K::kCounter, {{"lcore", lcore}, {"reason", "expired"}},
           c.flows_expired.get());
    sample(out, "verdict_cache_entries", K::kGauge, {{"lcore", lcore}},
           c.verdict_cache_entries.get());
    sample(out, "worker_ruleset_version", K::kGauge, {{"lcore", lcore}}, c.ruleset_version.get());
    for (uint32_t l = 0; l <= kMaxCountedLists; ++l) {
      for (uint32_t m = 0; m < kMatchClassCount; ++m) matches[l][m] += c.list_matches[l][m].get();
    }
  }
  for (uint32_t l = 0; l <= kMaxCountedLists; ++l) {
    const bool named = l < kMaxCountedLists && l < list_names.size();
    bool any = false;
    for (uint32_t m = 0; m < kMatchClassCount; ++m) any = any || matches[l][m] != 0;
    if (!named && !any) continue;
    const std::string list = named                   ? list_names[l]
                             : l == kMaxCountedLists ? "other"
                                                     : "index-" + std::to_string(l);
    for (uint32_t m = 0; m < kMatchClassCount; ++m) {
      sample(
          out, "matches_total", K::kCounter,
          {{"list", list}, {"reason", std::string(match_class_name(static_cast<MatchClass>(m)))}},
          matches[l][m]);
    }
  }
}

std::vector<prometheus::MetricFamily> to_families(const std::vector<api::Metric>& samples) {
  std::vector<prometheus::MetricFamily> families;
  std::map<std::string, size_t> index;
  for (const api::Metric& m : samples) {
    auto [it, fresh] = index.emplace(m.name, families.size());
    if (fresh) {
      prometheus::MetricFamily f;
      f.name = std::string(kMetricPrefix) + m.name;
      f.help = "muhafiz-dataplane " + m.name + " (dataplane/engine/README.md)";
      f.type = m.kind == api::MetricKind::kCounter ? prometheus::MetricType::Counter
                                                   : prometheus::MetricType::Gauge;
      families.push_back(std::move(f));
    }
    prometheus::ClientMetric cm;
    for (const auto& [name, value] : m.labels) cm.label.push_back({name, value});
    if (m.kind == api::MetricKind::kCounter) {
      cm.counter.value = static_cast<double>(m.value);
    } else {
      cm.gauge.value = static_cast<double>(m.value);
    }
    families[it->second].metric.push_back(std::move(cm));
  }
  return families;
}

MetricsCollectable::MetricsCollectable(WorkerMetricsSource workers)
    : workers_(std::move(workers)) {}

void MetricsCollectable::publish(std::vector<api::Metric> main_samples,
                                 std::vector<std::string> list_names) {
  const std::lock_guard<std::mutex> lock(mutex_);
  main_samples_ = std::move(main_samples);
  list_names_ = std::move(list_names);
}

std::vector<prometheus::MetricFamily> MetricsCollectable::Collect() const {
  std::vector<api::Metric> samples;
  std::vector<std::string> lists;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    samples = main_samples_;
    lists = list_names_;
  }
  collect_worker_metrics(workers_, lists, &samples);
  return to_families(samples);
}

}  // namespace muhafiz::engine
