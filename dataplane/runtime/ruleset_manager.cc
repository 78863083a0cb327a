#include "dataplane/runtime/ruleset_manager.h"

#include <fcntl.h>
#include <rte_rcu_qsbr.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <new>
#include <stdexcept>

#include "dataplane/runtime/log.h"

namespace muhafiz::runtime {

std::string_view to_string(NoRulesetPolicy p) noexcept {
  switch (p) {
    case NoRulesetPolicy::kFailOpen:
      return "fail-open";
    case NoRulesetPolicy::kFailClosed:
      return "fail-closed";
  }
  return "unknown";
}

Ruleset::~Ruleset() = default;

void RulesetManager::QsbrFree::operator()(rte_rcu_qsbr* v) const noexcept { std::free(v); }

RulesetManager::RulesetManager(RulesetManagerOptions options) : options_(std::move(options)) {
  if (options_.workers == 0 || options_.workers > kMaxWorkers) {
    throw std::invalid_argument("RulesetManager: workers must be 1.." +
                                std::to_string(kMaxWorkers) + ", got " +
                                std::to_string(options_.workers));
  }
  // Plain aligned memory rather than rte_zmalloc: the variable is only CPU-shared state, and
  // this keeps the manager usable before rte_eal_init (unit tests).
  const size_t size = rte_rcu_qsbr_get_memsize(options_.workers);
  const size_t rounded =
      (size + RTE_CACHE_LINE_SIZE - 1) / RTE_CACHE_LINE_SIZE * RTE_CACHE_LINE_SIZE;
  void* mem = std::aligned_alloc(RTE_CACHE_LINE_SIZE, rounded);
  if (mem == nullptr) throw std::bad_alloc();
  qsbr_.reset(static_cast<rte_rcu_qsbr*>(mem));
  std::memset(mem, 0, rounded);
  if (rte_rcu_qsbr_init(qsbr_.get(), options_.workers) != 0) {
    throw std::runtime_error("rte_rcu_qsbr_init failed");
  }
  // Registered up front, offline until each worker comes online: an offline reader never
  // holds up a grace period, so a worker that has not started yet cannot stall a load.
  for (uint32_t w = 0; w < options_.workers; ++w) rte_rcu_qsbr_thread_register(qsbr_.get(), w);
}

RulesetManager::~RulesetManager() {
  // Unpublished and retired like any other: an online worker may still hold it.
  const Ruleset* last = current_.exchange(nullptr, std::memory_order_acq_rel);
  wait_reclaim_all();
  if (last != nullptr) {
    rte_rcu_qsbr_check(qsbr_.get(), rte_rcu_qsbr_start(qsbr_.get()), true);
    release(last);
  }
}

uint64_t RulesetManager::version() const noexcept {
  const Ruleset* r = current_.load(std::memory_order_relaxed);
  return r != nullptr ? r->version() : 0;
}

std::unique_ptr<const Ruleset> RulesetManager::build(const std::string& path, uint64_t version,
                                                     std::string* error) const {
  try {
    std::unique_ptr<Ruleset> r(new Ruleset());
    r->matcher_ = rules::Matcher::load(path);
    r->scratch_ = std::make_unique<rules::MatchScratch[]>(options_.workers);
    for (uint32_t w = 0; w < options_.workers; ++w) r->scratch_[w] = r->matcher_->make_scratch();
    r->list_versions_.reserve(r->matcher_->list_count());
    for (uint32_t i = 0; i < r->matcher_->list_count(); ++i)
      r->list_versions_.push_back(r->matcher_->list(i).version);
    r->path_ = path;
    r->version_ = version;
    return r;
  } catch (const std::exception& e) {
    *error = e.what();
    return nullptr;
  }
}

api::RulesetLoadReply RulesetManager::in_force_reply(bool ok, std::string error) const {
  api::RulesetLoadReply reply;
  reply.ok = ok;
  reply.error = std::move(error);
  if (const Ruleset* r = current_.load(std::memory_order_relaxed)) {
    reply.version = r->version();
    reply.lists = r->list_count();
    reply.entries = r->entry_count();
  }
  return reply;
}

api::RulesetLoadReply RulesetManager::start() {
  api::RulesetLoadReply reply;
  if (options_.last_good_path.empty()) {
    reply = in_force_reply(false, "no last-good ruleset path configured");
  } else {
    reply = load(options_.last_good_path);
  }
  start_failed_ = !reply.ok;
  if (!reply.ok) {
    MUHAFIZ_RUNTIME_LOG(ERR, "NO RULESET: %s; running %s: %s until a ruleset-load succeeds\n",
                        reply.error.c_str(), std::string(to_string(options_.no_ruleset)).c_str(),
                        options_.no_ruleset == NoRulesetPolicy::kFailOpen
                            ? "every packet is forwarded unfiltered"
                            : "every packet is dropped");
  }
  return reply;
}

api::RulesetLoadReply RulesetManager::load(const std::string& path) {
  reclaim();
  if (retired_count_ == kMaxRetired) {
    ++loads_refused_busy_;
    ++loads_failed_;
    MUHAFIZ_RUNTIME_LOG(
        ERR, "ruleset %s refused: %zu replaced rulesets still wait for a worker to report\n",
        path.c_str(), retired_count_);
    return in_force_reply(
        false, "busy: " + std::to_string(retired_count_) +
                   " replaced rulesets still wait for a worker to pass a quiescent state");
  }
  std::string error;
  std::unique_ptr<const Ruleset> fresh = build(path, next_version_, &error);
  if (fresh == nullptr) {
    ++loads_failed_;
    MUHAFIZ_RUNTIME_LOG(ERR, "ruleset %s refused, version %lu stays: %s\n", path.c_str(),
                        static_cast<unsigned long>(version()), error.c_str());
    return in_force_reply(false, std::move(error));
  }
  ++next_version_;
  persist(path);

  const Ruleset* old = current_.load(std::memory_order_relaxed);
  current_.store(fresh.release(), std::memory_order_release);
  if (old != nullptr) {
    // The token is taken after the store, so a worker that reports it has also seen the new
    // pointer (rte_rcu_qsbr_start is a release, rte_rcu_qsbr_quiescent an acquire).
    const uint64_t token = rte_rcu_qsbr_start(qsbr_.get());
    retired_[(retired_head_ + retired_count_) % kMaxRetired] = Retired{old, token};
    ++retired_count_;
  }
  ++loads_ok_;
  const Ruleset* now = current_.load(std::memory_order_relaxed);
  MUHAFIZ_RUNTIME_LOG(INFO, "ruleset version %lu live from %s: %u lists, %u entries\n",
                      static_cast<unsigned long>(now->version()), path.c_str(), now->list_count(),
                      now->entry_count());
  return in_force_reply(true, {});
}

void RulesetManager::persist(const std::string& path) {
  const std::string& keep = options_.last_good_path;
  if (keep.empty()) return;
  struct stat from {
  }, to{};
  if (::stat(path.c_str(), &from) == 0 && ::stat(keep.c_str(), &to) == 0 &&
      from.st_dev == to.st_dev && from.st_ino == to.st_ino) {
    return;  // loading the last-good file itself
  }
  // A hard link costs nothing and keeps the validated bytes even if the source path is later
  // replaced; a copy is the fallback across file systems. Either lands by rename.
  const std::string tmp = keep + ".tmp";
  ::unlink(tmp.c_str());
  std::error_code ec;
  if (::link(path.c_str(), tmp.c_str()) != 0) {
    std::filesystem::copy_file(path, tmp, std::filesystem::copy_options::overwrite_existing, ec);
    if (!ec) {
      const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::fsync(fd) != 0) ec = std::error_code(errno, std::generic_category());
      if (fd >= 0) ::close(fd);
    }
  }
  if (!ec && ::rename(tmp.c_str(), keep.c_str()) != 0)
    ec = std::error_code(errno, std::generic_category());
  if (ec) {
    ::unlink(tmp.c_str());
    ++persist_failures_;
    MUHAFIZ_RUNTIME_LOG(WARNING, "could not keep %s as the last-good ruleset %s: %s\n",
                        path.c_str(), keep.c_str(), ec.message().c_str());
    return;
  }
  const std::string dir = std::filesystem::path(keep).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // the rename survives a crash
    ::close(dfd);
  }
}

void RulesetManager::release(const Ruleset* r) noexcept {
  if (options_.on_release) {
    try {
      options_.on_release(*r);
    } catch (...) {
      MUHAFIZ_RUNTIME_LOG(ERR, "on_release callback threw; ruleset freed anyway\n");
    }
  }
  delete r;
  ++reclaimed_;
}

size_t RulesetManager::reclaim() noexcept {
  size_t freed = 0;
  while (retired_count_ > 0) {
    const Retired& oldest = retired_[retired_head_];
    if (rte_rcu_qsbr_check(qsbr_.get(), oldest.token, false) != 1) break;
    const Ruleset* r = oldest.ruleset;
    retired_[retired_head_] = Retired{};
    retired_head_ = (retired_head_ + 1) % kMaxRetired;
    --retired_count_;
    release(r);
    ++freed;
  }
  return freed;
}

void RulesetManager::wait_reclaim_all() noexcept {
  while (retired_count_ > 0) {
    rte_rcu_qsbr_check(qsbr_.get(), retired_[retired_head_].token, true);
    reclaim();
  }
}

void RulesetManager::worker_online(uint32_t worker) noexcept {
  rte_rcu_qsbr_thread_online(qsbr_.get(), worker);
}

void RulesetManager::worker_offline(uint32_t worker) noexcept {
  rte_rcu_qsbr_thread_offline(qsbr_.get(), worker);
}

void RulesetManager::quiescent(uint32_t worker) noexcept {
  rte_rcu_qsbr_quiescent(qsbr_.get(), worker);
}

void RulesetManager::collect(std::vector<api::Metric>* out) const {
  using api::MetricKind;
  const auto add = [&](const char* name, MetricKind kind, uint64_t value,
                       std::vector<std::pair<std::string, std::string>> labels = {}) {
    out->push_back(api::Metric{name, kind, std::move(labels), value});
  };
  const Ruleset* r = current_.load(std::memory_order_relaxed);
  add("ruleset_loaded", MetricKind::kGauge, r != nullptr ? 1 : 0);
  add("ruleset_version", MetricKind::kGauge, r != nullptr ? r->version() : 0);
  add("ruleset_lists", MetricKind::kGauge, r != nullptr ? r->list_count() : 0);
  add("ruleset_entries", MetricKind::kGauge, r != nullptr ? r->entry_count() : 0);
  if (r != nullptr) {
    for (uint32_t i = 0; i < r->list_count(); ++i) {
      add("ruleset_list_version", MetricKind::kGauge, r->list_version(i),
          {{"list", std::string(r->matcher().list(i).id)}});
    }
  }
  add("ruleset_fail_closed", MetricKind::kGauge,
      options_.no_ruleset == NoRulesetPolicy::kFailClosed ? 1 : 0);
  add("ruleset_start_failed", MetricKind::kGauge, start_failed_ ? 1 : 0);
  add("rulesets_retired_pending", MetricKind::kGauge, retired_count_);
  add("ruleset_loads", MetricKind::kCounter, loads_ok_, {{"result", "ok"}});
  add("ruleset_loads", MetricKind::kCounter, loads_failed_ - loads_refused_busy_,
      {{"result", "invalid"}});
  add("ruleset_loads", MetricKind::kCounter, loads_refused_busy_, {{"result", "busy"}});
  add("rulesets_reclaimed", MetricKind::kCounter, reclaimed_);
  add("ruleset_persist_failures", MetricKind::kCounter, persist_failures_);
}

}  // namespace muhafiz::runtime
