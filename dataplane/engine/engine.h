// The running dataplane: ports, mbuf pool, one worker lcore per queue, and the main lcore's
// housekeeping (ruleset loads and RCU reclaim, access events to ZeroMQ, the control socket,
// /metrics). The workers run WorkerStage over RX bursts; the main lcore never touches packets.
//
//   init_eal(eal_arguments(cfg, argv[0]));
//   Engine engine(cfg);
//   engine.start();
//   engine.run(stop_flag);   // housekeeping until stop_flag; then the workers stop
//
// Construct, run and destroy on the main lcore, after init_eal.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/api/messages.h"
#include "dataplane/engine/config.h"
#include "dataplane/engine/counters.h"
#include "dataplane/engine/ports.h"

namespace muhafiz::engine {

inline constexpr uint32_t kHousekeepingSleepUs = 1000;    // main lcore pause between passes
inline constexpr uint64_t kMetricsRefreshUs = 1'000'000;  // main-lcore samples for /metrics
inline constexpr uint64_t kStatsPublishUs = 100'000;      // workers copy extractor stats
// At shutdown ZeroMQ may spend this long handing the last access events to muhafiz-control.
inline constexpr int kEventLingerMs = 500;

class Engine {
 public:
  // Everything short of launching the workers: ports probed and started, mbuf pool, one
  // WorkerStage per worker, the ruleset manager (loads cfg.ruleset_path), event rings and
  // publisher, control socket, /metrics. Throws EngineError (or runtime::ZmqError) saying what
  // to fix; whatever was set up is torn down.
  explicit Engine(EngineConfig cfg);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void start();  // launches the workers on their lcores
  // Housekeeping until `stop` becomes true, then stops the workers.
  void run(const std::atomic<bool>& stop);
  // One housekeeping pass: control requests, RCU reclaim, events, metrics refresh.
  void housekeeping();
  // Asks the workers to leave their loops and waits for them (they flush their TX buffers).
  void stop();

  uint32_t workers() const noexcept;
  const WorkerCounters& counters(uint32_t worker) const noexcept;
  // What the workers saw and did, summed over workers, by engine port index.
  uint64_t rx_packets(size_t port) const noexcept;
  // Every metric (workers, rulesets, events, control), for the control socket's stats.
  void collect(std::vector<api::Metric>* out) const;

  struct State;  // opaque: ports, workers, runtime objects (engine.cc)

 private:
  std::unique_ptr<State> s_;
};

}  // namespace muhafiz::engine
