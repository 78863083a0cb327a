// Scrape-time summing: per-lcore counters become labelled samples, no dimension in a name;
// matches are summed over lcores by list; families keep one kind each.
#include "dataplane/engine/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

namespace muhafiz::engine {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

uint64_t value(const std::vector<api::Metric>& m, const std::string& name, const Labels& labels) {
  for (const api::Metric& s : m) {
    if (s.name == name && s.labels == labels) return s.value;
  }
  ADD_FAILURE() << "no sample " << name;
  return 0;
}

TEST(Metrics, WorkerCountersBecomeLabelledSamples) {
  auto a = std::make_unique<WorkerCounters>();
  auto b = std::make_unique<WorkerCounters>();
  a->count(kBlocked, 3);
  b->count(kBlocked, 4);
  a->ports[0].rx_packets.add(10);
  b->ports[1].tx_dropped.add(2);
  a->count_match(0, kMatchEnforced);
  b->count_match(0, kMatchEnforced);
  b->count_match(1, kMatchShadow);
  b->count_match(500, kMatchShadow);  // past kMaxCountedLists
  a->extract[extract::kTcpGap].set(5);
  a->ruleset_version.set(9);
  WorkerMetricsSource src{{a.get(), b.get()}, {1, 2}, {"net_pcap0", "net_pcap1"}};
  std::vector<api::Metric> m;
  const std::vector<std::string> lists{"pta-csam", "fia-shadow"};
  collect_worker_metrics(src, lists, &m);

  EXPECT_EQ(value(m, "packets_total", {{"lcore", "1"}, {"reason", "blocked"}}), 3u);
  EXPECT_EQ(value(m, "packets_total", {{"lcore", "2"}, {"reason", "blocked"}}), 4u);
  EXPECT_EQ(value(m, "rx_packets_total", {{"lcore", "1"}, {"port", "net_pcap0"}}), 10u);
  EXPECT_EQ(value(m, "tx_dropped_total", {{"lcore", "2"}, {"port", "net_pcap1"}}), 2u);
  EXPECT_EQ(value(m, "matches_total", {{"list", "pta-csam"}, {"reason", "enforced"}}), 2u);
  EXPECT_EQ(value(m, "matches_total", {{"list", "fia-shadow"}, {"reason", "shadow"}}), 1u);
  EXPECT_EQ(value(m, "matches_total", {{"list", "other"}, {"reason", "shadow"}}), 1u);
  EXPECT_EQ(value(m, "extract_total", {{"lcore", "1"}, {"reason", "tcp_gap"}}), 5u);
  EXPECT_EQ(value(m, "worker_ruleset_version", {{"lcore", "1"}}), 9u);
  for (const api::Metric& s : m) {
    EXPECT_EQ(s.name.find("lcore"), std::string::npos) << s.name;
    EXPECT_TRUE(s.name.ends_with("_total") == (s.kind == api::MetricKind::kCounter)) << s.name;
  }
}

TEST(Metrics, FamiliesArePrefixedAndTyped) {
  std::vector<api::Metric> m{
      {"packets_total", api::MetricKind::kCounter, {{"lcore", "1"}, {"reason", "passed"}}, 7},
      {"ruleset_version", api::MetricKind::kGauge, {}, 2},
      {"packets_total", api::MetricKind::kCounter, {{"lcore", "2"}, {"reason", "passed"}}, 8},
  };
  const auto f = to_families(m);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].name, "muhafiz_dataplane_packets_total");
  EXPECT_EQ(f[0].type, prometheus::MetricType::Counter);
  ASSERT_EQ(f[0].metric.size(), 2u);
  EXPECT_EQ(f[0].metric[1].counter.value, 8.0);
  EXPECT_EQ(f[0].metric[1].label[0].name, "lcore");
  EXPECT_EQ(f[1].type, prometheus::MetricType::Gauge);
  EXPECT_EQ(f[1].metric[0].gauge.value, 2.0);
}

TEST(Metrics, TheCollectableAddsWhatTheMainLcorePublished) {
  auto a = std::make_unique<WorkerCounters>();
  a->count(kPassed, 1);
  MetricsCollectable c(WorkerMetricsSource{{a.get()}, {1}, {"p0"}});
  c.publish({{"ruleset_loaded", api::MetricKind::kGauge, {}, 1}}, {"pta-csam"});
  a->count(kPassed, 1);  // read at scrape time, not at publish time
  const auto f = c.Collect();
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(f[0].name, "muhafiz_dataplane_ruleset_loaded");
  const auto packets = std::find_if(f.begin(), f.end(), [](const auto& x) {
    return x.name == "muhafiz_dataplane_packets_total";
  });
  ASSERT_NE(packets, f.end());
  EXPECT_EQ(packets->metric[0].counter.value, 2.0);
}

}  // namespace
}  // namespace muhafiz::engine
