// The ruleset in force and its lifecycle: load and validate a snapshot file, publish it to the
// workers atomically, and free the one it replaced only after every worker has passed a
// quiescent state (DPDK rte_rcu_qsbr). Built on rules/match/matcher.h.
//
// Calling rules (lcore = the thread that may call; w = a worker id, 0..workers-1):
//
//   main lcore (or one control thread, never two):
//     RulesetManager(options)      before the workers launch
//     start(), load(path)          validate + publish; never wait for the workers
//     reclaim()                    once per main-loop iteration: frees what every worker passed
//     collect(), loaded(), version(), retired()
//     wait_reclaim_all()           at shutdown, after the workers stopped (it may spin)
//     ~RulesetManager()            after every worker called worker_offline()
//   worker lcore w (only its own id):
//     worker_online(w)             once before its loop (and after any blocking call)
//     acquire()                    at the start of each burst: one acquire load
//     ruleset->match(obs, w)       during the burst; the pointer is valid until quiescent(w)
//     quiescent(w)                 after each burst, once the pointer is no longer used
//     worker_offline(w)            before leaving its loop (and before any blocking call)
//
// A worker that is online must call quiescent() regularly: a retired ruleset stays in memory
// until it does, and after kMaxRetired unreclaimed swaps load() refuses new files.
//
//   for (;;) {                                    // worker loop sketch
//     const Ruleset* rs = rulesets.acquire();
//     n = rte_eth_rx_burst(...);
//     for (each packet) verdict = rs ? rs->match(obs, w) : no-ruleset verdict per policy;
//     rulesets.quiescent(w);
//   }
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/api/messages.h"
#include "rules/match/matcher.h"

struct rte_rcu_qsbr;

namespace muhafiz::runtime {

// What workers do while no ruleset is loaded (no usable file at start).
enum class NoRulesetPolicy : uint8_t {
  kFailOpen,    // forward everything, verdict "no ruleset" (counted by the engine)
  kFailClosed,  // drop everything, verdict "no ruleset"
};
std::string_view to_string(NoRulesetPolicy p) noexcept;

// One loaded ruleset: the matcher and one MatchScratch per worker, made together and freed
// together. Immutable once published, except each worker's own scratch.
class Ruleset {
 public:
  ~Ruleset();
  Ruleset(const Ruleset&) = delete;
  Ruleset& operator=(const Ruleset&) = delete;

  const rules::Matcher& matcher() const noexcept { return *matcher_; }
  // Worker w only (the scratch is that worker's; rules::Matcher::match needs it mutable).
  rules::Verdict match(const rules::Observation& obs, uint32_t worker) const noexcept {
    return matcher_->match(obs, scratch_[worker]);
  }
  // 1 for the first ruleset this process loaded, +1 per successful load.
  uint64_t version() const noexcept { return version_; }
  // rules::ListMeta::version of list `list`, 0 when out of range (rules::kNoIndex).
  uint64_t list_version(uint32_t list) const noexcept {
    return list < list_versions_.size() ? list_versions_[list] : 0;
  }
  uint32_t list_count() const noexcept { return matcher_->list_count(); }
  uint32_t entry_count() const noexcept { return matcher_->entry_count(); }
  const std::string& path() const noexcept { return path_; }

 private:
  friend class RulesetManager;
  Ruleset() = default;

  std::unique_ptr<const rules::Matcher> matcher_;
  std::unique_ptr<rules::MatchScratch[]> scratch_;  // [workers]; element w written by worker w only
  std::vector<uint64_t> list_versions_;
  uint64_t version_ = 0;
  std::string path_;
};

struct RulesetManagerOptions {
  uint32_t workers = 1;  // worker ids 0..workers-1, one per worker lcore
  NoRulesetPolicy no_ruleset = NoRulesetPolicy::kFailOpen;
  // The last ruleset that loaded is kept here (hard link of the loaded file, a copy across file
  // systems, replaced by rename) and start() loads it. Empty: start() has nothing to load.
  std::string last_good_path;
  // Main lcore, just before a ruleset is freed (reclaim, wait_reclaim_all, destructor).
  std::function<void(const Ruleset&)> on_release;
};

class RulesetManager {
 public:
  // Swaps waiting for the workers; one more load is refused until reclaim() frees one.
  static constexpr size_t kMaxRetired = 8;
  static constexpr uint32_t kMaxWorkers = 1024;

  // Throws std::invalid_argument (workers 0 or over kMaxWorkers) or std::bad_alloc.
  explicit RulesetManager(RulesetManagerOptions options);
  ~RulesetManager();
  RulesetManager(const RulesetManager&) = delete;
  RulesetManager& operator=(const RulesetManager&) = delete;

  // ---- main lcore ----

  // Loads last_good_path. When that fails (or there is none), logs one error line saying what
  // the workers do now (the policy), sets the start_failed gauge and returns the error.
  api::RulesetLoadReply start();
  // Validates `path` (rules::Matcher::load: format, checksum, bounds) and makes one scratch per
  // worker; on success publishes it, keeps it as last good and retires the previous one.
  // On any failure the ruleset in force stays (last good); the reply says which one that is.
  // Runs the validation inline (it reads the whole file) but never waits for a worker.
  api::RulesetLoadReply load(const std::string& path);
  // Frees every retired ruleset that all online workers have passed. Non-blocking; returns
  // how many it freed.
  size_t reclaim() noexcept;
  // Waits for the workers and frees every retired ruleset. Shutdown only: spins while an
  // online worker does not report.
  void wait_reclaim_all() noexcept;
  size_t retired() const noexcept { return retired_count_; }
  bool loaded() const noexcept { return current_.load(std::memory_order_relaxed) != nullptr; }
  uint64_t version() const noexcept;
  NoRulesetPolicy no_ruleset_policy() const noexcept { return options_.no_ruleset; }
  uint32_t workers() const noexcept { return options_.workers; }
  // Gauges ruleset_loaded, ruleset_version, ruleset_lists, ruleset_entries,
  // ruleset_list_version{list}, ruleset_fail_closed, ruleset_start_failed,
  // rulesets_retired_pending; counters ruleset_loads{result}, rulesets_reclaimed,
  // ruleset_persist_failures.
  void collect(std::vector<api::Metric>* out) const;

  // ---- worker lcore w ----

  void worker_online(uint32_t worker) noexcept;
  void worker_offline(uint32_t worker) noexcept;
  // nullptr while no ruleset is loaded: apply no_ruleset_policy().
  const Ruleset* acquire() const noexcept { return current_.load(std::memory_order_acquire); }
  void quiescent(uint32_t worker) noexcept;

 private:
  struct Retired {
    const Ruleset* ruleset = nullptr;
    uint64_t token = 0;  // rte_rcu_qsbr_start() after it was unpublished
  };
  struct QsbrFree {
    void operator()(rte_rcu_qsbr* v) const noexcept;
  };

  std::unique_ptr<const Ruleset> build(const std::string& path, uint64_t version,
                                       std::string* error) const;
  void persist(const std::string& path);
  void release(const Ruleset* r) noexcept;
  api::RulesetLoadReply in_force_reply(bool ok, std::string error) const;

  RulesetManagerOptions options_;
  std::unique_ptr<rte_rcu_qsbr, QsbrFree> qsbr_;
  // workers: ro (acquire), main: wo (release). Alone on its line: read by every worker per burst.
  alignas(64) std::atomic<const Ruleset*> current_{nullptr};
  alignas(64) std::array<Retired, kMaxRetired> retired_{};  // main only, FIFO from retired_head_
  size_t retired_head_ = 0;
  size_t retired_count_ = 0;
  uint64_t next_version_ = 1;
  // Main-lcore counters.
  uint64_t loads_ok_ = 0;
  uint64_t loads_failed_ = 0;
  uint64_t loads_refused_busy_ = 0;
  uint64_t reclaimed_ = 0;
  uint64_t persist_failures_ = 0;
  bool start_failed_ = false;
};

}  // namespace muhafiz::runtime
