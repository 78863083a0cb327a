// The runtime under a real EAL (--no-huge --no-shconf -l 0-1): one worker loop on lcore 1, the
// main lcore on lcore 0, as the engine will run them.
//  * RCU: the worker matches with the ruleset it acquired and reports quiescence after each
//    burst while the main lcore swaps rulesets 200 times; a ruleset must never be freed while
//    the worker holds it (the ordering of frees and reports: ruleset_manager_test).
//  * Events: worker -> rte_ring -> main lcore -> ZeroMQ PUSH -> PULL in the test, with a full
//    ring counted, and the control process away (backlog, overflow counted, gap on return).
//  * Control: ruleset-load over ZeroMQ (REQ side in the test, then the muhafiz-dataplane-ctl
//    binary) against the RulesetManager while the worker runs.
// gtest_discover_tests runs each test in its own process, so EAL initialises once per process.
#include <gtest/gtest.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/runtime/control_server.h"
#include "dataplane/runtime/event_publisher.h"
#include "dataplane/runtime/event_rings.h"
#include "dataplane/runtime/ruleset_manager.h"
#include "tests/unit/dataplane/runtime/test_snapshots.h"

extern char** environ;

namespace muhafiz::runtime {
namespace {

using testing::make_list;
using testing::TempDir;
using testing::write_bytes;
using testing::write_ruleset;

constexpr unsigned kWorkerLcore = 1;

class EalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    // DPDK 22.11 treats --no-huge as legacy memory, which --in-memory refuses; --no-shconf
    // gives the same "no files, no sharing" with a per-process prefix for the runtime dir.
    const std::string prefix = "--file-prefix=muhafiz-rt-" + std::to_string(::getpid());
    const char* args[] = {"runtime_eal_test",
                          "--no-huge",
                          "--no-shconf",
                          "-m",
                          "64",
                          "-l",
                          "0-1",
                          "--no-pci",
                          "--log-level",
                          "lib.eal:error",
                          "--log-level",
                          "muhafiz.runtime:warning",
                          prefix.c_str()};
    std::vector<char*> argv;
    for (const char* a : args) argv.push_back(const_cast<char*>(a));
    // A failed EAL must fail the run: a fatal failure here would only mark the tests skipped.
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
      std::fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
      std::exit(1);
    }
    if (!rte_lcore_is_enabled(kWorkerLcore)) {
      std::fprintf(stderr, "lcore %u is not enabled\n", kWorkerLcore);
      std::exit(1);
    }
  }
  void TearDown() override { rte_eal_cleanup(); }
};

const ::testing::Environment* const kEal = ::testing::AddGlobalTestEnvironment(new EalEnvironment);

// ---- RCU: 200 swaps under a running worker ------------------------------------------------------

struct RcuWorker {
  RulesetManager* rulesets = nullptr;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> holding{0};  // version held in the current burst, 0 between bursts
  std::atomic<uint64_t> versions_seen{0};
  std::atomic<uint64_t> inconsistencies{0};
};

int rcu_worker_main(void* arg) {
  auto* s = static_cast<RcuWorker*>(arg);
  const uint32_t w = 0;
  s->rulesets->worker_online(w);
  uint64_t last = 0;
  uint32_t burst = 0;
  rules::Observation obs;
  obs.kind = rules::ObservationKind::kDns;
  obs.host = "www.bad.example";
  while (!s->stop.load(std::memory_order_relaxed)) {
    const Ruleset* rs = s->rulesets->acquire();
    if (rs != nullptr) {
      const uint64_t v = rs->version();
      s->holding.store(v);
      // A burst's worth of lookups. They read the matcher's mapping of the file, so a ruleset
      // freed under the worker faults here (or is an ASan report), besides the checks below.
      for (int i = 0; i < 32; ++i) {
        const rules::Verdict verdict = rs->match(obs, w);
        // a.snap has one list (version 11), b.snap two (the blocking one is version 12): the
        // verdict and the list count must come from the same snapshot.
        const uint64_t want = rs->list_count() == 1 ? 11 : 12;
        if (!verdict.enforce() || rs->list_version(verdict.list) != want)
          s->inconsistencies.fetch_add(1);
      }
      if (burst % 7 == 0) rte_delay_us_block(20);  // sometimes hold it across a swap
      if (rs->version() != v || v < last) s->inconsistencies.fetch_add(1);
      if (v != last) s->versions_seen.fetch_add(1);
      last = v;
      s->holding.store(0);
    }
    ++burst;
    s->rulesets->quiescent(w);
  }
  s->rulesets->worker_offline(w);
  return 0;
}

TEST(RuntimeEal, RulesetSwappedTwoHundredTimesUnderAWorker) {
  TempDir dir;
  const std::string a = write_ruleset(dir.file("a.snap"), {make_list("pta", 11, {"bad.example"})});
  const std::string b = write_ruleset(dir.file("b.snap"), {make_list("pta", 12, {"bad.example"}),
                                                           make_list("fia", 1, {"x.example"})});

  RcuWorker worker;
  // That a ruleset is freed only after a report the worker made after the swap is checked
  // deterministically in ruleset_manager_test (OldRulesetIsFreedOnlyAfterEveryOnlineWorkerReported,
  // AReportBeforeTheSwapDoesNotCount). Here, with a real lcore, a counter beside the report
  // cannot tell the report that allowed a free from the one before it (a worker descheduled
  // through a whole load() reports once, then the free may run before its counter moves), so
  // this test checks what a real worker would suffer: a ruleset freed while held (and, under
  // AddressSanitizer, any read of a freed one).
  uint64_t released = 0, freed_while_held = 0;
  RulesetManagerOptions o;
  o.workers = 1;
  o.on_release = [&](const Ruleset& r) {
    ++released;
    if (worker.holding.load() == r.version()) ++freed_while_held;
  };
  RulesetManager rulesets(o);
  ASSERT_TRUE(rulesets.load(a).ok);
  worker.rulesets = &rulesets;
  ASSERT_EQ(rte_eal_remote_launch(rcu_worker_main, &worker, kWorkerLcore), 0);

  constexpr int kSwaps = 200;
  for (int i = 0; i < kSwaps; ++i) {
    while (rulesets.retired() == RulesetManager::kMaxRetired) rulesets.reclaim();
    const api::RulesetLoadReply r = rulesets.load(i % 2 == 0 ? b : a);
    ASSERT_TRUE(r.ok) << i << ": " << r.error;
    ASSERT_EQ(r.version, static_cast<uint64_t>(i + 2));
    rulesets.reclaim();
    if (i % 10 == 0) rte_delay_us_block(50);  // let the worker pick up some versions
  }
  worker.stop = true;
  ASSERT_EQ(rte_eal_wait_lcore(kWorkerLcore), 0);
  rulesets.wait_reclaim_all();

  EXPECT_EQ(released, static_cast<uint64_t>(kSwaps)) << "every replaced ruleset was freed";
  EXPECT_EQ(freed_while_held, 0u);
  EXPECT_EQ(worker.inconsistencies.load(), 0u);
  EXPECT_GT(worker.versions_seen.load(), 1u) << "the worker ran across swaps";
  EXPECT_EQ(rulesets.version(), static_cast<uint64_t>(kSwaps + 1));
  EXPECT_EQ(rulesets.retired(), 0u);
}

// ---- access events: worker -> ring -> main -> ZeroMQ
// ---------------------------------------------

struct EventWorker {
  EventRings* rings = nullptr;
  uint64_t first = 0, count = 0;
  std::atomic<uint64_t> accepted{0};
  std::atomic<bool> done{false};
};

int event_worker_main(void* arg) {
  auto* s = static_cast<EventWorker*>(arg);
  api::AccessEvent ev;
  ev.family = api::kFamilyV4;
  ev.l4_proto = 17;
  ev.kind = api::EventKind::kDns;
  ev.worker = 0;
  ev.flags = api::kEventEnforced;
  api::set_event_name(&ev, "www.bad.example");
  for (uint64_t i = 0; i < s->count; ++i) {
    ev.time_ns = s->first + i;  // identifies the event
    if (s->rings->push(0, ev)) s->accepted.fetch_add(1, std::memory_order_relaxed);
  }
  s->done.store(true);
  return 0;
}

std::optional<api::EventBatch> receive(ZmqSocket& pull, int timeout_ms) {
  zmq_pollitem_t item{pull.get(), 0, ZMQ_POLLIN, 0};
  if (zmq_poll(&item, 1, timeout_ms) != 1) return std::nullopt;
  std::vector<std::vector<uint8_t>> frames;
  bool more = true;
  while (more) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    zmq_msg_recv(&msg, pull.get(), 0);
    const auto* data = static_cast<const uint8_t*>(zmq_msg_data(&msg));
    frames.emplace_back(data, data + zmq_msg_size(&msg));
    more = zmq_msg_more(&msg) != 0;
    zmq_msg_close(&msg);
  }
  if (frames.size() != 2) {
    ADD_FAILURE() << frames.size() << " frames";
    return std::nullopt;
  }
  auto d = api::decode_event_batch(frames[0], frames[1]);
  EXPECT_TRUE(d) << d.error;
  return d ? std::move(d.value) : std::nullopt;
}

TEST(RuntimeEal, EventsFromAWorkerReachThePullSocket) {
  TempDir dir;
  ZmqContext ctx;
  ZmqSocket pull(ctx, ZMQ_PULL);
  pull.set_int(ZMQ_LINGER, 0, "linger");
  pull.bind(dir.ipc("events"));
  EventRings rings(1, 64, static_cast<int>(rte_socket_id()));
  EventPublisherOptions o;
  o.endpoint = dir.ipc("events");
  o.batch_events = 32;
  EventPublisher publisher(ctx, o);

  // 1. Nobody drains while the worker pushes 100: the ring keeps 64, the rest is counted.
  EventWorker first;
  first.rings = &rings;
  first.count = 100;
  ASSERT_EQ(rte_eal_remote_launch(event_worker_main, &first, kWorkerLcore), 0);
  ASSERT_EQ(rte_eal_wait_lcore(kWorkerLcore), 0);
  EXPECT_EQ(first.accepted.load(), 64u);
  EXPECT_EQ(rings.enqueued(0), 64u);
  EXPECT_EQ(rings.dropped_ring_full(0), 36u);
  std::vector<api::Metric> ms;
  rings.collect(&ms);
  EXPECT_EQ(
      ms[1],
      (api::Metric{"events_dropped_ring_full", api::MetricKind::kCounter, {{"worker", "0"}}, 36}));

  publisher.poll(rings);
  std::vector<uint64_t> ids;
  for (int i = 0; i < 2; ++i) {
    const auto batch = receive(pull, 2000);
    ASSERT_TRUE(batch);
    EXPECT_EQ(batch->header.dropped_total, 36u) << "ring drops travel in the header";
    EXPECT_EQ(batch->header.first_sequence, ids.size());
    for (const auto& ev : batch->events) {
      ids.push_back(ev.time_ns);
      EXPECT_EQ(ev.name_view(), "www.bad.example");
    }
  }
  std::vector<uint64_t> want(64);
  for (uint64_t i = 0; i < 64; ++i) want[i] = i;  // the first 64, in order
  EXPECT_EQ(ids, want);

  // 2. The main lcore drains while the worker pushes: everything accepted arrives, in order.
  EventWorker second;
  second.rings = &rings;
  second.first = 1000;
  second.count = 20000;
  ASSERT_EQ(rte_eal_remote_launch(event_worker_main, &second, kWorkerLcore), 0);
  std::vector<uint64_t> got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    const bool worker_done = second.done.load();  // read before draining: nothing comes after
    publisher.poll(rings);
    while (const auto batch = receive(pull, 0)) {
      for (const auto& ev : batch->events) got.push_back(ev.time_ns);
    }
    if (worker_done && got.size() == second.accepted.load() && publisher.backlog().empty()) break;
  }
  ASSERT_EQ(rte_eal_wait_lcore(kWorkerLcore), 0);
  EXPECT_EQ(got.size(), second.accepted.load());
  EXPECT_EQ(rings.enqueued(0), 64u + second.accepted.load());
  EXPECT_EQ(rings.enqueued(0) + rings.dropped_ring_full(0), 100u + 20000u)
      << "every push accounted for";
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end())) << "one ring keeps the worker's order";
}

TEST(RuntimeEal, EventsWhileTheControlProcessIsAway) {
  TempDir dir;
  ZmqContext ctx;
  EventRings rings(1, 256, static_cast<int>(rte_socket_id()));
  EventPublisherOptions o;
  o.endpoint = dir.ipc("events");  // the control process is not there
  o.batch_events = 16;
  o.send_hwm = 4;          // 64 events queue in ZeroMQ
  o.backlog_events = 100;  // 100 more in the backlog
  EventPublisher publisher(ctx, o);

  EventWorker worker;
  worker.rings = &rings;
  worker.count = 1000;
  ASSERT_EQ(rte_eal_remote_launch(event_worker_main, &worker, kWorkerLcore), 0);
  while (!worker.done.load()) publisher.poll(rings);
  ASSERT_EQ(rte_eal_wait_lcore(kWorkerLcore), 0);
  for (int i = 0; i < 4; ++i) publisher.poll(rings);  // the rings are empty after this

  const uint64_t numbered = publisher.backlog().next_sequence();
  const uint64_t ring_drops = rings.dropped_ring_full(0);
  EXPECT_EQ(numbered + ring_drops, 1000u) << "every event is numbered or counted at the ring";
  EXPECT_TRUE(publisher.blocked());
  // ZeroMQ queued 4 batches for the absent peer (batches leave as soon as there is something
  // to send, so they may be partial); the backlog holds at most 100; the rest was dropped.
  // How much lands where depends on how the worker and the main lcore interleave; the
  // accounting does not.
  EXPECT_EQ(publisher.batches_sent(), 4u);
  const uint64_t queued = publisher.events_sent();
  const uint64_t kept = publisher.backlog().size();
  const uint64_t backlog_drops = publisher.backlog().dropped();
  EXPECT_LE(queued, 64u);
  EXPECT_LE(kept, 100u);
  EXPECT_GT(backlog_drops, 0u);
  EXPECT_EQ(queued + kept + backlog_drops, numbered)
      << "every numbered event is sent, kept or counted";

  // The control process starts: it gets ZeroMQ's queue, then the backlog, and the numbers
  // missing between them are exactly the dropped ones.
  ZmqSocket pull(ctx, ZMQ_PULL);
  pull.set_int(ZMQ_LINGER, 0, "linger");
  pull.bind(dir.ipc("events"));
  uint64_t received = 0, gaps = 0, expected_next = 0, last_dropped_total = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (received < queued + kept && std::chrono::steady_clock::now() < deadline) {
    publisher.poll(rings);
    while (const auto batch = receive(pull, 10)) {
      gaps += batch->header.first_sequence - expected_next;
      expected_next = batch->header.first_sequence + batch->header.count;
      received += batch->header.count;
      last_dropped_total = batch->header.dropped_total;
    }
  }
  EXPECT_EQ(received, queued + kept);
  EXPECT_EQ(gaps, backlog_drops) << "the receiver can count what the backlog dropped";
  EXPECT_EQ(last_dropped_total, ring_drops) << "and what the rings dropped";
  EXPECT_EQ(expected_next, numbered);
  std::vector<api::Metric> ms;
  publisher.collect(&ms);
  for (const auto& m : ms) {
    if (m.name == "events_dropped_backlog_full") {
      EXPECT_EQ(m.value, backlog_drops);
    }
  }
}

// ---- control: ruleset-load over ZeroMQ and through the ctl binary -------------------------------

// Runs muhafiz-dataplane-ctl with args while the main loop keeps serving; returns its exit status.
int run_ctl_binary(const std::vector<std::string>& args, ControlServer& server,
                   RulesetManager& rulesets) {
  std::vector<std::string> all = {MUHAFIZ_CTL_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  for (;;) {
    server.poll();
    rulesets.reclaim();
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(RuntimeEal, RulesetLoadOverTheControlSocket) {
  TempDir dir;
  const std::string a = write_ruleset(dir.file("a.snap"), {make_list("pta", 11, {"bad.example"})});
  const std::string b = write_ruleset(dir.file("b.snap"), {make_list("pta", 12, {"bad.example"}),
                                                           make_list("fia", 1, {"x.example"})});
  write_bytes(dir.file("bad.snap"), "MUHAFIZR but not really");

  RulesetManagerOptions ro;
  ro.workers = 1;
  ro.last_good_path = dir.file("last-good.snap");
  RulesetManager rulesets(ro);
  EXPECT_FALSE(rulesets.start().ok);  // nothing kept yet: fail-open until a load

  ZmqContext ctx;
  ControlHandlers handlers;
  handlers.ruleset_load = [&](const std::string& path) { return rulesets.load(path); };
  handlers.stats = [&](std::vector<api::Metric>* out) { rulesets.collect(out); };
  const std::string endpoint = dir.ipc("dp.ctl");
  ControlServer server(ctx, {endpoint}, std::move(handlers));

  RcuWorker worker;  // a live worker, so every swap goes through a real grace period
  worker.rulesets = &rulesets;
  ASSERT_EQ(rte_eal_remote_launch(rcu_worker_main, &worker, kWorkerLcore), 0);

  ZmqSocket req(ctx, ZMQ_REQ);
  req.set_int(ZMQ_LINGER, 0, "linger");
  req.connect(endpoint);
  const auto ask = [&](const api::Request& r) -> api::Reply {
    const std::string bytes = api::encode(r);
    zmq_send(req.get(), bytes.data(), bytes.size(), 0);
    for (int spins = 0; spins < 5000; ++spins) {
      server.poll();
      rulesets.reclaim();
      zmq_pollitem_t item{req.get(), 0, ZMQ_POLLIN, 0};
      if (zmq_poll(&item, 1, 1) == 1) {
        char buf[65536];
        const int n = zmq_recv(req.get(), buf, sizeof buf, 0);
        const auto d = api::decode_reply(std::string_view(buf, static_cast<size_t>(n)));
        EXPECT_TRUE(d) << d.error;
        return d ? *d.value : api::Reply{api::ErrorReply{"undecodable"}};
      }
    }
    ADD_FAILURE() << "no reply";
    return api::ErrorReply{"no reply"};
  };

  auto r = std::get<api::RulesetLoadReply>(ask(api::RulesetLoad{a}));
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.version, 1u);
  EXPECT_EQ(r.lists, 1u);
  r = std::get<api::RulesetLoadReply>(ask(api::RulesetLoad{dir.file("bad.snap")}));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("bad.snap"), std::string::npos) << r.error;
  EXPECT_EQ(r.version, 1u) << "the last good one stays";
  r = std::get<api::RulesetLoadReply>(ask(api::RulesetLoad{b}));
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.version, 2u);
  EXPECT_EQ(r.lists, 2u);

  const auto stats = std::get<api::StatsReply>(ask(api::Stats{}));
  std::map<std::string, uint64_t> by_name;
  for (const auto& m : stats.metrics) {
    if (m.labels.empty()) by_name[m.name] = m.value;
  }
  EXPECT_EQ(by_name["ruleset_loaded"], 1u);
  EXPECT_EQ(by_name["ruleset_version"], 2u);
  EXPECT_EQ(by_name["ruleset_start_failed"], 1u);

  // The operator's tool, as a separate process.
  EXPECT_EQ(run_ctl_binary({"--socket", endpoint, "ping"}, server, rulesets), 0);
  EXPECT_EQ(run_ctl_binary({"--socket", endpoint, "ruleset-load", a}, server, rulesets), 0);
  EXPECT_EQ(rulesets.version(), 3u);
  EXPECT_EQ(run_ctl_binary({"--socket", endpoint, "ruleset-load", dir.file("bad.snap")}, server,
                           rulesets),
            1);
  EXPECT_EQ(rulesets.version(), 3u);
  EXPECT_EQ(run_ctl_binary({"--socket", endpoint, "stats"}, server, rulesets), 0);
  EXPECT_EQ(run_ctl_binary({"--socket", dir.ipc("nobody.ctl"), "--timeout-ms", "200", "ping"},
                           server, rulesets),
            2);
  EXPECT_EQ(run_ctl_binary({"--socket", endpoint, "no-such-command"}, server, rulesets), 2);

  worker.stop = true;
  ASSERT_EQ(rte_eal_wait_lcore(kWorkerLcore), 0);
  rulesets.wait_reclaim_all();
  EXPECT_EQ(worker.inconsistencies.load(), 0u);
  EXPECT_EQ(testing::read_bytes(ro.last_good_path), testing::read_bytes(a))
      << "the last good file follows the loads";
}

}  // namespace
}  // namespace muhafiz::runtime
