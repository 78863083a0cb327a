#include "dataplane/engine/engine.h"

#include <prometheus/exposer.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <exception>
#include <sstream>
#include <string>

#include "dataplane/engine/log.h"
#include "dataplane/engine/metrics.h"
#include "dataplane/engine/worker_stage.h"
#include "dataplane/runtime/control_server.h"
#include "dataplane/runtime/event_publisher.h"
#include "dataplane/runtime/event_rings.h"
#include "dataplane/runtime/ruleset_manager.h"
#include "dataplane/runtime/zmq_socket.h"

namespace muhafiz::engine {
namespace {

// Multi-segment frames are copied into one buffer of this size (jumbo frames of 9216 fit).
constexpr size_t kMaxFrameLen = 16384;
constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr uint64_t kUsPerSecond = 1'000'000;

uint64_t unix_now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * kNsPerSecond + static_cast<uint64_t>(ts.tv_nsec);
}

// The ruleset in force for one burst, as the worker stage sees it.
class RulesetSource final : public MatchSource {
 public:
  RulesetSource(const runtime::Ruleset* rs, uint32_t worker) noexcept : rs_(rs), worker_(worker) {}
  rules::Verdict match(const rules::Observation& obs) noexcept override {
    return rs_->match(obs, worker_);
  }
  bool may_match_ip(const rules::IpAddress& ip) noexcept override {
    return rs_->matcher().may_match_ip(ip);
  }
  uint64_t version() const noexcept override { return rs_->version(); }
  uint64_t list_version(uint32_t list) const noexcept override { return rs_->list_version(list); }

 private:
  const runtime::Ruleset* rs_;
  uint32_t worker_;
};

class RingSink final : public EventSink {
 public:
  RingSink(runtime::EventRings& rings, uint32_t worker) noexcept : rings_(rings), worker_(worker) {}
  void push(const api::AccessEvent& ev) noexcept override { rings_.push(worker_, ev); }

 private:
  runtime::EventRings& rings_;
  uint32_t worker_;
};

// TX buffer error callback: the NIC took fewer than offered; count and free the rest.
void count_unsent(rte_mbuf** unsent, uint16_t count, void* userdata) {
  static_cast<Counter*>(userdata)->add(count);
  rte_pktmbuf_free_bulk(unsent, count);
}

}  // namespace

// One worker lcore's state. worker: rw; main lcore: ro (counters, through the scrape thread).
struct alignas(RTE_CACHE_LINE_SIZE) Worker {
  WorkerCounters counters;
  uint32_t id = 0;
  unsigned lcore = 0;
  Engine::State* engine = nullptr;
  std::unique_ptr<RingSink> sink;
  std::unique_ptr<WorkerStage> stage;
  rte_eth_dev_tx_buffer* tx[kMaxPorts] = {};
  std::unique_ptr<uint8_t[]> linear;  // kMaxFrameLen
  // One per packet of an RX burst: decoded and prefetched before the first is processed.
  std::unique_ptr<WorkerStage::PreparedFrame[]> prepared;  // kBurstSize
};

struct Engine::State {
  EngineConfig cfg;
  std::vector<PortInfo> ports;
  bool port_started[kMaxPorts] = {};
  size_t rx_ports = 0;     // inline: both ports; tap: the mirror port
  size_t inject_port = 0;  // tap: where replies leave
  uint16_t queues = 1;
  rte_mempool* pool = nullptr;
  std::unique_ptr<runtime::RulesetManager> rulesets;
  std::unique_ptr<runtime::EventRings> rings;
  std::unique_ptr<runtime::ZmqContext> zmq;
  std::unique_ptr<runtime::EventPublisher> publisher;
  std::unique_ptr<runtime::ControlServer> control;
  std::vector<std::unique_ptr<Worker>> workers;
  WorkerMetricsSource metric_source;
  std::shared_ptr<MetricsCollectable> metrics;
  std::unique_ptr<prometheus::Exposer> exposer;
  std::vector<std::string> list_names;  // of the ruleset in force, refreshed by the main lcore
  uint64_t list_names_version = 0;
  uint64_t last_metrics_us = 0;
  bool running = false;
  // main lcore: wo; workers: ro, once per loop.
  alignas(RTE_CACHE_LINE_SIZE) std::atomic<bool> stop{false};

  ~State();
  void stop_workers() noexcept;
  void refresh_list_names();
  void collect_main(std::vector<api::Metric>* out) const;
};

namespace {

void transmit(Engine::State& e, Worker& w, size_t out, rte_mbuf* m) noexcept {
  PortCounters& pc = w.counters.ports[out];
  pc.tx_packets.add();
  pc.tx_bytes.add(m->pkt_len);
  rte_eth_tx_buffer(e.ports[out].id, static_cast<uint16_t>(w.id), w.tx[out], m);
}

void send_reply(Engine::State& e, Worker& w, size_t out, parse::Bytes frame) noexcept {
  rte_mbuf* m = rte_pktmbuf_alloc(e.pool);
  if (m == nullptr) {
    w.counters.count(kReplyNoMbuf);
    return;
  }
  char* data = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
  if (data == nullptr) {  // longer than an mbuf's data room: the builders never make one
    rte_pktmbuf_free(m);
    w.counters.count(kReplyBuild);
    return;
  }
  std::memcpy(data, frame.data(), frame.size());
  transmit(e, w, out, m);
}

// Second pass over a burst (after prefetch_frame): a single-segment frame is decoded where it
// lies and its table lines are prefetched (WorkerStage::prepare). A chained mbuf is linearised
// into the worker's one buffer only when its turn comes, in handle().
void prepare(Worker& w, rte_mbuf* m, WorkerStage::PreparedFrame* f) noexcept {
  if (m->nb_segs == 1) {
    w.stage->prepare(parse::Bytes(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len), f);
  }
}

void handle(Engine::State& e, Worker& w, size_t in, rte_mbuf* m,
            const WorkerStage::PreparedFrame& prepared, MatchSource* rules,
            const PacketClock& clock) noexcept {
  w.counters.ports[in].rx_bytes.add(m->pkt_len);
  Decision d;
  if (m->nb_segs == 1) {
    d = w.stage->process(prepared, rules, clock);
  } else {
    const uint32_t len = std::min<uint32_t>(m->pkt_len, kMaxFrameLen);
    const void* p = rte_pktmbuf_read(m, 0, len, w.linear.get());
    d = w.stage->process(parse::Bytes(static_cast<const uint8_t*>(p), p == nullptr ? 0 : len),
                         rules, clock);
  }
  const bool inline_mode = e.cfg.mode == Mode::kInline;
  for (uint8_t r = 0; r < d.reply_count; ++r) {
    const size_t out = !inline_mode                                  ? e.inject_port
                       : d.replies[r].target == ReplyTarget::kSender ? in
                                                                     : 1 - in;
    send_reply(e, w, out, d.replies[r].frame);
  }
  if (inline_mode && d.forward == Forward::kPass) {
    transmit(e, w, 1 - in, m);
  } else {
    rte_pktmbuf_free(m);
  }
}

int worker_main(void* arg) {
  Worker& w = *static_cast<Worker*>(arg);
  Engine::State& e = *w.engine;
  const uint64_t cycles_per_us = std::max<uint64_t>(1, rte_get_tsc_hz() / kUsPerSecond);
  const uint64_t flush_cycles = cycles_per_us * e.cfg.tx_flush_us;
  const uint64_t stats_cycles = cycles_per_us * kStatsPublishUs;
  const auto queue = static_cast<uint16_t>(w.id);
  std::string polled;
  for (size_t i = 0; i < e.rx_ports; ++i) polled += (i ? ", " : "") + e.ports[i].name;
  MUHAFIZ_ENGINE_LOG(INFO, "worker %u on lcore %u: polling queue %u of %s, entering its loop\n",
                     w.id, w.lcore, queue, polled.c_str());

  e.rulesets->worker_online(w.id);
  rte_mbuf* pkts[kBurstSize];
  uint64_t last_flush = rte_rdtsc();
  uint64_t last_stats = last_flush;
  while (!e.stop.load(std::memory_order_relaxed)) {
    const runtime::Ruleset* rs = e.rulesets->acquire();
    RulesetSource source(rs, w.id);
    for (size_t i = 0; i < e.rx_ports; ++i) {
      const uint16_t n = rte_eth_rx_burst(e.ports[i].id, queue, pkts, kBurstSize);
      if (n == 0) continue;
      w.counters.ports[i].rx_packets.add(n);
      const PacketClock clock{rte_rdtsc() / cycles_per_us, unix_now_ns()};
      for (uint16_t k = 0; k < n; ++k)
        WorkerStage::prefetch_frame(rte_pktmbuf_mtod(pkts[k], const uint8_t*));
      for (uint16_t k = 0; k < n; ++k) prepare(w, pkts[k], &w.prepared[k]);
      for (uint16_t k = 0; k < n; ++k) {
        if (pkts[k]->nb_segs == 1) w.stage->prefetch_flow(w.prepared[k]);
      }
      for (uint16_t k = 0; k < n; ++k)
        handle(e, w, i, pkts[k], w.prepared[k], rs != nullptr ? &source : nullptr, clock);
    }
    e.rulesets->quiescent(w.id);
    const uint64_t now = rte_rdtsc();
    if (now - last_flush >= flush_cycles) {
      for (size_t p = 0; p < e.ports.size(); ++p)
        rte_eth_tx_buffer_flush(e.ports[p].id, queue, w.tx[p]);
      last_flush = now;
    }
    if (now - last_stats >= stats_cycles) {
      w.stage->publish_stats();
      last_stats = now;
    }
  }
  for (size_t p = 0; p < e.ports.size(); ++p)
    rte_eth_tx_buffer_flush(e.ports[p].id, queue, w.tx[p]);
  w.stage->publish_stats();
  e.rulesets->worker_offline(w.id);
  MUHAFIZ_ENGINE_LOG(INFO, "worker %u on lcore %u: left its loop\n", w.id, w.lcore);
  return 0;
}

}  // namespace

Engine::State::~State() {
  exposer.reset();  // no scrape may read what follows
  stop_workers();
  for (size_t p = 0; p < ports.size(); ++p) {
    if (port_started[p]) close_port(ports[p]);
  }
  for (auto& w : workers) {
    for (rte_eth_dev_tx_buffer* b : w->tx) rte_free(b);
  }
  workers.clear();
  control.reset();
  publisher.reset();
  zmq.reset();
  rings.reset();
  if (rulesets) rulesets->wait_reclaim_all();
  rulesets.reset();
  if (pool != nullptr) rte_mempool_free(pool);
}

void Engine::State::stop_workers() noexcept {
  if (!running) return;
  stop.store(true, std::memory_order_relaxed);
  for (auto& w : workers) rte_eal_wait_lcore(w->lcore);
  running = false;
}

void Engine::State::refresh_list_names() {
  const runtime::Ruleset* rs = rulesets->acquire();  // main lcore: it alone retires rulesets
  const uint64_t version = rs != nullptr ? rs->version() : 0;
  if (version == list_names_version) return;
  list_names.clear();
  for (uint32_t i = 0; rs != nullptr && i < rs->list_count(); ++i) {
    list_names.emplace_back(rs->matcher().list(i).id);
  }
  list_names_version = version;
}

void Engine::State::collect_main(std::vector<api::Metric>* out) const {
  rulesets->collect(out);
  rings->collect(out);
  publisher->collect(out);
  control->collect(out);
  out->push_back(api::Metric{"workers", api::MetricKind::kGauge, {}, workers.size()});
  for (const PortInfo& p : ports) {
    out->push_back(
        api::Metric{"port_queues", api::MetricKind::kGauge, {{"port", p.name}}, p.queues});
  }
}

Engine::Engine(EngineConfig cfg) : s_(std::make_unique<State>()) {
  State& e = *s_;
  e.cfg = std::move(cfg);
  const EngineConfig& c = e.cfg;
  if (const std::vector<ConfigProblem> problems = validate(c); !problems.empty()) {
    throw EngineError(c.source + ": " + problems.front().message);
  }
  MUHAFIZ_ENGINE_LOG(INFO, "starting in %s mode from %s\n", std::string(to_string(c.mode)).c_str(),
                     c.source.c_str());

  std::vector<unsigned> lcores;
  unsigned lcore = 0;
  RTE_LCORE_FOREACH_WORKER(lcore) { lcores.push_back(lcore); }
  if (lcores.size() < c.workers) {
    throw EngineError("workers: " + std::to_string(c.workers) +
                      " needs as many worker lcores plus the main one, but EAL has " +
                      std::to_string(lcores.size()) + " worker lcore(s): widen -l in eal.args");
  }

  e.ports = probe_ports(c);
  e.queues = queues_for(e.ports, c.workers, c.queue_spread);
  e.rx_ports = c.mode == Mode::kInline ? 2 : 1;  // the ports the workers read
  if (const std::string problem =
          queue_problem(e.ports, e.rx_ports, c.workers, c.queue_spread, e.queues);
      !problem.empty()) {
    throw EngineError(problem);
  }
  for (size_t i = 0; i < e.ports.size() && i < e.rx_ports && e.queues > 1; ++i) {
    const PortInfo& p = e.ports[i];
    if (p.rss) continue;
    if (!spreads_by_flow(p)) {
      MUHAFIZ_ENGINE_LOG(WARNING,
                         "port %s (%s) has no RSS: queue_spread: device trusts it to keep each "
                         "flow, both directions, on one queue; if it does not, split hellos go "
                         "unread and blocked flows leak\n",
                         p.name.c_str(), p.driver.c_str());
    } else if (p.driver == "net_af_packet") {
      MUHAFIZ_ENGINE_LOG(WARNING,
                         "port %s (net_af_packet): the kernel's fanout rolls packets over to "
                         "another queue when one is full, so under overload a flow can reach "
                         "two workers\n",
                         p.name.c_str());
    }
  }
  if (e.queues < c.workers) {
    std::string no_rss;
    for (const PortInfo& p : e.ports) {
      if (!p.rss) no_rss += (no_rss.empty() ? "" : ", ") + p.name + " (" + p.driver + ")";
    }
    MUHAFIZ_ENGINE_LOG(WARNING, "%u of %u workers used: %s\n", e.queues, c.workers,
                       no_rss.empty() ? "the ports offer fewer queues"
                                      : ("no RSS on " + no_rss +
                                         ": one queue (queue_spread: device if the device "
                                         "spreads flows over its queues itself)")
                                            .c_str());
  }
  e.inject_port = c.mode == Mode::kTap && c.tap_inject == TapInject::kSecondPort ? 1 : 0;
  const int socket = e.ports.front().socket;
  e.pool = create_mempool(c, e.ports.size(), e.queues, socket);

  runtime::RulesetManagerOptions ro;
  ro.workers = e.queues;
  ro.no_ruleset = c.fail_mode == FailMode::kOpen ? runtime::NoRulesetPolicy::kFailOpen
                                                 : runtime::NoRulesetPolicy::kFailClosed;
  ro.last_good_path = c.ruleset_path;
  e.rulesets = std::make_unique<runtime::RulesetManager>(std::move(ro));
  e.rulesets->start();  // a missing or bad file is logged there; fail_mode applies until a load

  e.rings = std::make_unique<runtime::EventRings>(e.queues, c.event_ring_size, socket);
  e.zmq = std::make_unique<runtime::ZmqContext>();
  runtime::EventPublisherOptions po;
  po.endpoint = c.events_endpoint;
  po.linger_ms = kEventLingerMs;
  e.publisher = std::make_unique<runtime::EventPublisher>(*e.zmq, po);
  runtime::ControlHandlers handlers;
  handlers.ruleset_load = [&e](const std::string& path) { return e.rulesets->load(path); };
  handlers.stats = [this](std::vector<api::Metric>* out) { collect(out); };
  runtime::ControlServerOptions co;
  co.endpoint = c.control_endpoint;
  e.control = std::make_unique<runtime::ControlServer>(*e.zmq, co, std::move(handlers));

  for (uint32_t i = 0; i < e.queues; ++i) {
    auto w = std::make_unique<Worker>();
    w->id = i;
    w->lcore = lcores[i];
    w->engine = &e;
    w->sink = std::make_unique<RingSink>(*e.rings, i);
    w->stage = std::make_unique<WorkerStage>(make_stage_config(c, static_cast<uint16_t>(i)),
                                             w->counters, *w->sink);
    w->linear = std::make_unique<uint8_t[]>(kMaxFrameLen);
    w->prepared = std::make_unique<WorkerStage::PreparedFrame[]>(kBurstSize);
    for (size_t p = 0; p < e.ports.size(); ++p) {
      w->tx[p] = static_cast<rte_eth_dev_tx_buffer*>(
          rte_zmalloc_socket("muhafiz_tx_buffer", RTE_ETH_TX_BUFFER_SIZE(kBurstSize), 0, socket));
      if (w->tx[p] == nullptr)
        throw EngineError("cannot allocate TX buffers in DPDK memory (give EAL more with -m)");
      rte_eth_tx_buffer_init(w->tx[p], kBurstSize);
      rte_eth_tx_buffer_set_err_callback(w->tx[p], count_unsent, &w->counters.ports[p].tx_dropped);
    }
    e.metric_source.counters.push_back(&w->counters);
    e.metric_source.lcores.push_back(w->lcore);
    e.workers.push_back(std::move(w));
  }
  for (const PortInfo& p : e.ports) e.metric_source.ports.push_back(p.name);

  for (size_t p = 0; p < e.ports.size(); ++p) {
    start_port(e.ports[p], e.queues, c, e.pool);
    e.port_started[p] = true;
  }

  if (!c.metrics_listen.empty()) {
    e.metrics = std::make_shared<MetricsCollectable>(e.metric_source);
    try {
      e.exposer = std::make_unique<prometheus::Exposer>(c.metrics_listen, 1);
    } catch (const std::exception& ex) {
      throw EngineError("metrics.listen " + c.metrics_listen +
                        ": cannot serve /metrics: " + ex.what());
    }
    e.exposer->RegisterCollectable(e.metrics);
    MUHAFIZ_ENGINE_LOG(INFO, "metrics on http://%s/metrics\n", c.metrics_listen.c_str());
  }
}

Engine::~Engine() = default;

void Engine::start() {
  State& e = *s_;
  if (e.running) return;
  e.stop.store(false, std::memory_order_relaxed);
  for (auto& w : e.workers) {
    if (rte_eal_remote_launch(worker_main, w.get(), w->lcore) != 0) {
      e.running = true;  // stop the ones already launched
      e.stop_workers();
      throw EngineError("cannot launch worker " + std::to_string(w->id) + " on lcore " +
                        std::to_string(w->lcore));
    }
    e.running = true;
  }
  housekeeping();
}

void Engine::housekeeping() {
  State& e = *s_;
  e.control->poll();
  e.rulesets->reclaim();
  e.publisher->poll(*e.rings);
  const uint64_t now_us =
      rte_get_timer_cycles() / std::max<uint64_t>(1, rte_get_timer_hz() / kUsPerSecond);
  if (e.metrics && (e.last_metrics_us == 0 || now_us - e.last_metrics_us >= kMetricsRefreshUs)) {
    e.refresh_list_names();
    std::vector<api::Metric> main;
    e.collect_main(&main);
    e.metrics->publish(std::move(main), e.list_names);
    e.last_metrics_us = now_us;
  }
}

void Engine::run(const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) {
    housekeeping();
    rte_delay_us_sleep(kHousekeepingSleepUs);
  }
  this->stop();
}

void Engine::stop() {
  s_->stop_workers();
  housekeeping();  // the workers' last events
}

uint32_t Engine::workers() const noexcept { return static_cast<uint32_t>(s_->workers.size()); }

const WorkerCounters& Engine::counters(uint32_t worker) const noexcept {
  return s_->workers[worker]->counters;
}

uint64_t Engine::rx_packets(size_t port) const noexcept {
  uint64_t n = 0;
  for (const auto& w : s_->workers) n += w->counters.ports[port].rx_packets.get();
  return n;
}

void Engine::collect(std::vector<api::Metric>* out) const {
  s_->refresh_list_names();
  s_->collect_main(out);
  collect_worker_metrics(s_->metric_source, s_->list_names, out);
}

}  // namespace muhafiz::engine
