// /metrics for the dataplane: worker counters summed at scrape time from the per-lcore structs
// (counters.h), plus what the main lcore publishes about itself (ruleset, event channel,
// control socket). Served by prometheus-cpp's Exposer on the address in metrics.listen.
// Nothing here runs on a worker.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/api/messages.h"
#include "dataplane/engine/counters.h"

namespace muhafiz::engine {

inline constexpr std::string_view kMetricPrefix = "muhafiz_dataplane_";

// The workers' counters, fixed once the workers run.
struct WorkerMetricsSource {
  std::vector<const WorkerCounters*> counters;  // one per worker
  std::vector<uint32_t> lcores;                 // the lcore each worker runs on
  std::vector<std::string> ports;               // DPDK port names, by engine port index
};

// Appends the workers' samples (names without kMetricPrefix). Every family carries {lcore}
// except matches_total, summed over lcores and labelled {list, reason}; `list_names` names
// the current ruleset's lists by index (a list past kMaxCountedLists is "other").
void collect_worker_metrics(const WorkerMetricsSource& src, std::span<const std::string> list_names,
                            std::vector<api::Metric>* out);

// Samples to Prometheus families: one family per name (kMetricPrefix prepended), in first-seen
// order, counters and gauges as their kind says.
std::vector<prometheus::MetricFamily> to_families(const std::vector<api::Metric>& samples);

class MetricsCollectable : public prometheus::Collectable {
 public:
  explicit MetricsCollectable(WorkerMetricsSource workers);

  // Main lcore: its own samples and the names of the ruleset's lists, as of now.
  void publish(std::vector<api::Metric> main_samples, std::vector<std::string> list_names);

  // Scrape thread.
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const WorkerMetricsSource workers_;
  mutable std::mutex mutex_;  // guards the two below: main lcore writes, scrape thread reads
  std::vector<api::Metric> main_samples_;
  std::vector<std::string> list_names_;
};

}  // namespace muhafiz::engine
