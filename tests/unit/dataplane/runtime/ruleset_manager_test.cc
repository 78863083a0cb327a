// RulesetManager without EAL (rte_rcu_qsbr needs none): last-good semantics, fail-open and
// fail-closed starts, gauges, persistence of the last good file, and RCU reclamation that waits
// for every online worker, driven step by step from one thread, then with a real reader thread.
#include "dataplane/runtime/ruleset_manager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/dataplane/runtime/test_snapshots.h"

namespace muhafiz::runtime {
namespace {

using testing::make_list;
using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;
using testing::write_ruleset;

uint64_t metric(const std::vector<api::Metric>& ms, const std::string& name,
                const std::vector<std::pair<std::string, std::string>>& labels = {}) {
  for (const auto& m : ms) {
    if (m.name == name && m.labels == labels) return m.value;
  }
  ADD_FAILURE() << "no metric " << name;
  return UINT64_MAX;
}

std::vector<api::Metric> metrics_of(const RulesetManager& m) {
  std::vector<api::Metric> out;
  m.collect(&out);
  return out;
}

rules::Verdict look(const Ruleset& rs, const char* host, uint32_t worker = 0) {
  rules::Observation obs;
  obs.kind = rules::ObservationKind::kDns;
  obs.host = host;
  return rs.match(obs, worker);
}

class RulesetManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = write_ruleset(dir_.file("a.snap"),
                       {make_list("pta", 11, {"bad.example", "worse.example"})});
    b_ = write_ruleset(dir_.file("b.snap"), {make_list("pta", 12, {"bad.example"}),
                                             make_list("fia", 5, {"other.example"}, true)});
    garbage_ = dir_.file("garbage.snap");
    write_bytes(garbage_, "not a snapshot at all");
    truncated_ = dir_.file("truncated.snap");
    const std::string full = read_bytes(b_);
    write_bytes(truncated_, full.substr(0, full.size() / 2));
  }

  RulesetManagerOptions options(uint32_t workers = 2) {
    RulesetManagerOptions o;
    o.workers = workers;
    o.on_release = [this](const Ruleset& r) { released_.push_back(r.version()); };
    return o;
  }

  TempDir dir_;
  std::string a_, b_, garbage_, truncated_;
  std::vector<uint64_t> released_;
};

TEST_F(RulesetManagerTest, RefusesBadWorkerCounts) {
  RulesetManagerOptions o;
  o.workers = 0;
  EXPECT_THROW(RulesetManager{o}, std::invalid_argument);
  o.workers = RulesetManager::kMaxWorkers + 1;
  EXPECT_THROW(RulesetManager{o}, std::invalid_argument);
}

TEST_F(RulesetManagerTest, StartWithoutAnyFileFailsOpen) {
  RulesetManager m(options());
  const api::RulesetLoadReply r = m.start();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("no last-good ruleset path"), std::string::npos) << r.error;
  EXPECT_EQ(r.version, 0u);
  EXPECT_FALSE(m.loaded());
  EXPECT_EQ(m.acquire(), nullptr);
  EXPECT_EQ(m.no_ruleset_policy(), NoRulesetPolicy::kFailOpen);
  const auto ms = metrics_of(m);
  EXPECT_EQ(metric(ms, "ruleset_loaded"), 0u);
  EXPECT_EQ(metric(ms, "ruleset_version"), 0u);
  EXPECT_EQ(metric(ms, "ruleset_start_failed"), 1u);
  EXPECT_EQ(metric(ms, "ruleset_fail_closed"), 0u);
}

TEST_F(RulesetManagerTest, StartWithAnUnusableFileFailsClosedWhenConfigured) {
  RulesetManagerOptions o = options();
  o.no_ruleset = NoRulesetPolicy::kFailClosed;
  o.last_good_path = garbage_;
  RulesetManager m(o);
  const api::RulesetLoadReply r = m.start();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find(garbage_), std::string::npos) << "the error names the file: " << r.error;
  EXPECT_EQ(m.acquire(), nullptr);
  EXPECT_EQ(m.no_ruleset_policy(), NoRulesetPolicy::kFailClosed);
  const auto ms = metrics_of(m);
  EXPECT_EQ(metric(ms, "ruleset_fail_closed"), 1u);
  EXPECT_EQ(metric(ms, "ruleset_start_failed"), 1u);
  EXPECT_EQ(metric(ms, "ruleset_loads", {{"result", "invalid"}}), 1u);
  // A later good load recovers; start_failed stays as a record of how this process began.
  EXPECT_TRUE(m.load(a_).ok);
  EXPECT_NE(m.acquire(), nullptr);
}

TEST_F(RulesetManagerTest, LoadPublishesAndReportsTheRuleset) {
  RulesetManager m(options());
  const api::RulesetLoadReply r = m.load(b_);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.version, 1u);
  EXPECT_EQ(r.lists, 2u);
  EXPECT_EQ(r.entries, 2u);
  const Ruleset* rs = m.acquire();
  ASSERT_NE(rs, nullptr);
  EXPECT_EQ(rs->version(), 1u);
  EXPECT_EQ(rs->path(), b_);
  for (uint32_t w = 0; w < 2; ++w) {  // each worker's scratch works
    const rules::Verdict v = look(*rs, "www.other.example", w);
    EXPECT_TRUE(v.enforce());
    EXPECT_EQ(v.list, 1u);
    EXPECT_TRUE(v.alert);
    EXPECT_EQ(rs->list_version(v.list), 5u);
  }
  EXPECT_EQ(rs->list_version(0), 12u);
  EXPECT_EQ(rs->list_version(rules::kNoIndex), 0u);
  const auto ms = metrics_of(m);
  EXPECT_EQ(metric(ms, "ruleset_loaded"), 1u);
  EXPECT_EQ(metric(ms, "ruleset_version"), 1u);
  EXPECT_EQ(metric(ms, "ruleset_lists"), 2u);
  EXPECT_EQ(metric(ms, "ruleset_entries"), 2u);
  EXPECT_EQ(metric(ms, "ruleset_list_version", {{"list", "pta"}}), 12u);
  EXPECT_EQ(metric(ms, "ruleset_list_version", {{"list", "fia"}}), 5u);
  EXPECT_EQ(metric(ms, "ruleset_loads", {{"result", "ok"}}), 1u);
}

TEST_F(RulesetManagerTest, BadFilesLeaveTheLastGoodInForce) {
  RulesetManager m(options());
  ASSERT_TRUE(m.load(a_).ok);
  const Ruleset* good = m.acquire();
  struct Case {
    const char* description;
    std::string path;
    const char* error;
  };
  const Case cases[] = {
      {"missing file", dir_.file("nope.snap"), "nope.snap"},
      {"not a snapshot", garbage_, "garbage.snap"},
      {"cut in half", truncated_, "truncated.snap"},
      {"a directory", dir_.path(), dir_.path().c_str()},
  };
  for (const Case& c : cases) {
    const api::RulesetLoadReply r = m.load(c.path);
    EXPECT_FALSE(r.ok) << c.description;
    EXPECT_NE(r.error.find(c.error), std::string::npos) << c.description << ": " << r.error;
    // The reply describes what still filters.
    EXPECT_EQ(r.version, 1u) << c.description;
    EXPECT_EQ(r.lists, 1u) << c.description;
    EXPECT_EQ(r.entries, 2u) << c.description;
    EXPECT_EQ(m.acquire(), good) << c.description;
  }
  EXPECT_TRUE(look(*m.acquire(), "bad.example").enforce());
  EXPECT_EQ(m.retired(), 0u);
  EXPECT_TRUE(released_.empty());
  EXPECT_EQ(metric(metrics_of(m), "ruleset_loads", {{"result", "invalid"}}), 4u);
  // The next good file gets the next version: failures do not use one up.
  EXPECT_EQ(m.load(b_).version, 2u);
}

TEST_F(RulesetManagerTest, LastGoodFileIsKeptAndLoadedAtStart) {
  const std::string keep = dir_.file("last-good.snap");
  {
    RulesetManagerOptions o = options();
    o.last_good_path = keep;
    RulesetManager m(o);
    EXPECT_FALSE(m.start().ok);  // nothing kept yet
    ASSERT_TRUE(m.load(a_).ok);
    EXPECT_EQ(read_bytes(keep), read_bytes(a_));
    ASSERT_TRUE(m.load(b_).ok);
    EXPECT_EQ(read_bytes(keep), read_bytes(b_));
    EXPECT_FALSE(m.load(garbage_).ok);  // a refused file is never kept
    EXPECT_EQ(read_bytes(keep), read_bytes(b_));
    EXPECT_EQ(metric(metrics_of(m), "ruleset_persist_failures"), 0u);
    m.wait_reclaim_all();
  }
  // The source is replaced the way the compiler writes (rename): the kept copy is untouched.
  const std::string b_bytes = read_bytes(b_);
  write_ruleset(b_, {make_list("pta", 99, {"new.example"})});
  EXPECT_EQ(read_bytes(keep), b_bytes);

  RulesetManagerOptions o = options();
  o.last_good_path = keep;
  RulesetManager restarted(o);
  const api::RulesetLoadReply r = restarted.start();
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.lists, 2u);
  EXPECT_EQ(metric(metrics_of(restarted), "ruleset_start_failed"), 0u);
  EXPECT_EQ(restarted.acquire()->list_version(0), 12u);
}

TEST_F(RulesetManagerTest, PersistFailureIsCountedNotFatal) {
  RulesetManagerOptions o = options();
  o.last_good_path = dir_.file("no-such-dir/last-good.snap");
  RulesetManager m(o);
  EXPECT_TRUE(m.load(a_).ok);
  EXPECT_EQ(metric(metrics_of(m), "ruleset_persist_failures"), 1u);
}

TEST_F(RulesetManagerTest, OldRulesetIsFreedOnlyAfterEveryOnlineWorkerReported) {
  RulesetManager m(options(2));
  m.worker_online(0);  // worker 1 never comes online: it must not hold anything up
  ASSERT_TRUE(m.load(a_).ok);
  const Ruleset* held = m.acquire();  // worker 0 is inside a burst with version 1
  ASSERT_TRUE(m.load(b_).ok);
  EXPECT_EQ(m.acquire()->version(), 2u);
  EXPECT_EQ(m.retired(), 1u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(m.reclaim(), 0u) << "worker 0 has not reported";
  EXPECT_TRUE(released_.empty());
  EXPECT_TRUE(look(*held, "worse.example").enforce()) << "still fully usable by the worker";
  EXPECT_EQ(metric(metrics_of(m), "rulesets_retired_pending"), 1u);

  m.quiescent(0);  // end of the burst
  EXPECT_EQ(m.reclaim(), 1u);
  EXPECT_EQ(released_, (std::vector<uint64_t>{1}));
  EXPECT_EQ(m.retired(), 0u);
  EXPECT_EQ(metric(metrics_of(m), "rulesets_reclaimed"), 1u);

  // An offline worker holds nothing: the next swap is reclaimable at once.
  m.worker_offline(0);
  ASSERT_TRUE(m.load(a_).ok);
  EXPECT_EQ(m.reclaim(), 1u);
  EXPECT_EQ(released_, (std::vector<uint64_t>{1, 2}));
}

TEST_F(RulesetManagerTest, AReportBeforeTheSwapDoesNotCount) {
  RulesetManager m(options(1));
  m.worker_online(0);
  ASSERT_TRUE(m.load(a_).ok);
  m.quiescent(0);  // reported, then a new burst picks up version 1
  (void)m.acquire();
  ASSERT_TRUE(m.load(b_).ok);
  EXPECT_EQ(m.reclaim(), 0u) << "the report predates the swap";
  m.quiescent(0);
  EXPECT_EQ(m.reclaim(), 1u);
  m.worker_offline(0);
}

TEST_F(RulesetManagerTest, StuckWorkerMakesLoadsBusyInsteadOfPilingUp) {
  RulesetManager m(options(1));
  m.worker_online(0);  // never reports
  ASSERT_TRUE(m.load(a_).ok);
  for (size_t i = 0; i < RulesetManager::kMaxRetired; ++i)
    ASSERT_TRUE(m.load(i % 2 ? a_ : b_).ok) << i;
  EXPECT_EQ(m.retired(), RulesetManager::kMaxRetired);
  const uint64_t live = m.version();
  const api::RulesetLoadReply r = m.load(b_);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("busy"), std::string::npos) << r.error;
  EXPECT_EQ(r.version, live);
  EXPECT_EQ(metric(metrics_of(m), "ruleset_loads", {{"result", "busy"}}), 1u);
  EXPECT_TRUE(released_.empty());

  m.quiescent(0);
  EXPECT_TRUE(m.load(b_).ok) << "load reclaims first";
  EXPECT_EQ(released_.size(), RulesetManager::kMaxRetired);
  m.worker_offline(0);
}

TEST_F(RulesetManagerTest, DestructorFreesCurrentAndRetired) {
  {
    RulesetManager m(options(1));
    m.worker_online(0);
    ASSERT_TRUE(m.load(a_).ok);
    ASSERT_TRUE(m.load(b_).ok);
    ASSERT_TRUE(m.load(a_).ok);
    m.worker_offline(0);
  }
  EXPECT_EQ(released_, (std::vector<uint64_t>{1, 2, 3}));
}

// A real reader thread swapping against the main thread; under ASan a premature free is a
// use-after-free report, and the on_release check catches it without ASan.
TEST_F(RulesetManagerTest, ConcurrentReaderNeverSeesAFreedRuleset) {
  std::atomic<uint64_t> in_use{0};  // version the reader holds, 0 between bursts
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bursts{0}, bad_verdicts{0}, early_frees{0};
  RulesetManagerOptions o;
  o.workers = 1;
  o.on_release = [&](const Ruleset& r) {
    if (in_use.load() == r.version()) early_frees.fetch_add(1);
  };
  RulesetManager m(o);
  ASSERT_TRUE(m.load(a_).ok);
  std::thread reader([&] {
    m.worker_online(0);
    while (!stop.load(std::memory_order_relaxed)) {
      const Ruleset* rs = m.acquire();
      in_use.store(rs->version());
      // Both files block bad.example, from list 0, whose version tells the file apart.
      const rules::Verdict v = look(*rs, "www.bad.example");
      const uint64_t lv = rs->list_version(v.list);
      if (!v.enforce() || (lv != 11 && lv != 12)) bad_verdicts.fetch_add(1);
      in_use.store(0);
      bursts.fetch_add(1);
      m.quiescent(0);
    }
    m.worker_offline(0);
  });
  for (int i = 0; i < 100; ++i) {
    while (m.retired() == RulesetManager::kMaxRetired) m.reclaim();
    ASSERT_TRUE(m.load(i % 2 ? a_ : b_).ok);
    m.reclaim();
  }
  stop = true;
  reader.join();
  m.wait_reclaim_all();
  EXPECT_EQ(early_frees.load(), 0u);
  EXPECT_EQ(bad_verdicts.load(), 0u);
  EXPECT_GT(bursts.load(), 0u);
  EXPECT_EQ(m.version(), 101u);
}

}  // namespace
}  // namespace muhafiz::runtime
