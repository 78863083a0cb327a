// Rules matcher benchmark: host lookups (label-suffix walk) against generated domain lists of
// 1k, 100k, 1M (and with --rules_10m, 10M) entries, plain and hashed, in the same run as two
// peers over the same names: a std::unordered_set<std::string> suffix walk, and a Hyperscan
// literal database (built up to 1M unless --rules_hyperscan_10m: the project brief measured 57 s
// and 122 MB to compile 1M; at 10M, two databases of 5M, as one may hold at most 8M). Also compile
// time, snapshot size, load time and bytes per entry. Results and the command line in
// perf/RESULTS.md ("Rules matcher").
//
// Corpus: names of 2-4 labels (TLD included; com.pk and co.uk count two) over a weighted TLD
// mix, labels of 3-12 letters/digits built from syllables, unique. Queries: 2^18 per kind,
// cycled, each an entry name (hits) or a fresh name that matches nothing (misses) with 0-2
// extra leading labels, so the walk tries 2-6 suffixes. The queries lie back to back in one
// buffer (QueryStream), read in order by every peer. Times are per lookup, single thread,
// not pinned (the VM has no isolated cores); lookups run back to back over a random stream, so
// the table's cache misses are included.
#include <benchmark/benchmark.h>
#include <hs/hs.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "perf/common/name_gen.h"
#include "rules/bundle/hashing.h"
#include "rules/list/model.h"
#include "rules/match/compiler.h"
#include "rules/match/matcher.h"
#include "rules/match/snapshot_format.h"

namespace {

using muhafiz::rules::CompileOptions;
using muhafiz::rules::CompileStats;
using muhafiz::rules::Entry;
using muhafiz::rules::EntryKind;
using muhafiz::rules::List;
using muhafiz::rules::Matcher;
using muhafiz::rules::MatchScratch;
using muhafiz::rules::Observation;
using muhafiz::rules::ObservationKind;

constexpr size_t kQueries = size_t{1} << 18;
constexpr std::string_view kHashKey =
    "5b7c1f0e3a2d4c6b8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f";

// ---- corpus
// --------------------------------------------------------------------------------------

using muhafiz::perf::NameGen;

struct SvHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using NameSet = std::unordered_set<std::string, SvHash, std::equal_to<>>;

template <typename F>
bool walk_suffixes(std::string_view host, F&& f) {
  for (size_t pos = 0;;) {
    if (f(host.substr(pos))) return true;
    const size_t dot = host.find('.', pos);
    if (dot == std::string_view::npos) return false;
    pos = dot + 1;
  }
}

size_t heap_in_use() { return mallinfo2().uordblks; }

// Queries packed back to back in one buffer, read in order: a lookup's host comes from a short
// sequential stream (as a worker's comes from the packet it holds), not from a separate heap
// block per query whose cache misses would be charged to the structure under test.
struct QueryStream {
  std::string bytes;
  std::vector<std::string_view> views;
  explicit QueryStream(const std::vector<std::string>& qs, std::string_view prefix = {}) {
    size_t total = 0;
    for (const std::string& q : qs) total += prefix.size() + q.size();
    bytes.reserve(total);
    for (const std::string& q : qs) {
      bytes += prefix;
      bytes += q;
    }
    views.reserve(qs.size());
    size_t at = 0;
    for (const std::string& q : qs) {
      views.emplace_back(bytes.data() + at, prefix.size() + q.size());
      at += prefix.size() + q.size();
    }
  }
};

// ---- one corpus size
// -------------------------------------------------------------------------------

struct Corpus {
  size_t n = 0;
  std::vector<std::string> names;
  std::vector<std::string> hit_queries, miss_queries;
  std::unique_ptr<const Matcher> plain, hashed;
  MatchScratch plain_scratch, hashed_scratch;
  CompileStats plain_stats, hashed_stats;
  double plain_load_s = 0, hashed_load_s = 0;
  NameSet set;
  size_t set_bytes = 0;
  // Hyperscan refuses a database of more than 8M patterns ("Number of patterns too large": its
  // limitPatternCount), so above kHyperscanMaxPatterns the names go into several databases,
  // each scanned in turn (one scratch serves them all).
  std::vector<hs_database_t*> hs_dbs;
  hs_scratch_t* hs_scratch = nullptr;
  double hs_compile_s = 0;
  size_t hs_bytes = 0;
  ~Corpus() {
    if (hs_scratch) hs_free_scratch(hs_scratch);
    for (hs_database_t* db : hs_dbs) hs_free_database(db);
  }
};

std::unique_ptr<Corpus> g_corpus;
bool g_hyperscan_peer = true;        // --rules_no_hyperscan: quick runs without the slow peer
size_t g_hyperscan_max = 1'000'000;  // --rules_hyperscan_10m: 10M too (minutes to compile)
constexpr size_t kHyperscanMaxPatterns = 5'000'000;  // per database, under Hyperscan's 8M

std::unique_ptr<const Matcher> compile_and_load(const List& list, CompileStats* stats,
                                                double* load_s) {
  const std::vector<uint8_t> bytes =
      muhafiz::rules::compile(std::span<const List>(&list, 1), CompileOptions{}, stats);
  const std::string path = "/tmp/muhafiz-rules-bench-" + std::to_string(getpid()) + ".bin";
  muhafiz::rules::write_snapshot(path, bytes);
  const auto t = std::chrono::steady_clock::now();
  auto m = Matcher::load(path);
  *load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  std::remove(path.c_str());  // the mapping stays valid
  return m;
}

Corpus& corpus(size_t n) {
  if (g_corpus && g_corpus->n == n) return *g_corpus;
  g_corpus.reset();
  auto c = std::make_unique<Corpus>();
  c->n = n;
  NameGen gen(n);
  {
    std::unordered_set<std::string> seen;
    seen.reserve(n);
    while (c->names.size() < n) {
      std::string name = gen.name();
      if (seen.insert(name).second) c->names.push_back(std::move(name));
    }
  }
  const size_t before = heap_in_use();
  c->set.reserve(n);
  for (const std::string& s : c->names) c->set.insert(s);
  c->set_bytes = heap_in_use() - before;

  for (size_t i = 0; i < kQueries; ++i)
    c->hit_queries.push_back(gen.prefix() + c->names[gen.next() % n]);
  while (c->miss_queries.size() < kQueries) {
    std::string q = gen.prefix() + gen.name();
    if (!walk_suffixes(q, [&](std::string_view s) { return c->set.find(s) != c->set.end(); }))
      c->miss_queries.push_back(std::move(q));
  }

  // The plain list, with ids as rules/list derives them; the hashed list over the same names.
  const auto key = muhafiz::rules::parse_hash_key(kHashKey);
  {
    List plain;
    plain.meta.id = "bench-plain";
    plain.entries.reserve(n);
    for (const std::string& s : c->names) {
      Entry e;
      e.kind = EntryKind::kDomain;
      e.value = s;
      e.id = muhafiz::rules::snapshot::derived_entry_id("domain", s);
      plain.entries.push_back(std::move(e));
    }
    c->plain = compile_and_load(plain, &c->plain_stats, &c->plain_load_s);
  }
  {
    List hashed;
    hashed.meta.id = "bench-hashed";
    hashed.meta.hash_key = std::string(kHashKey);
    hashed.entries.reserve(n);
    for (const std::string& s : c->names) {
      Entry e;
      e.kind = EntryKind::kHashedDomain;
      e.value = muhafiz::rules::to_hex(muhafiz::rules::keyed_hash(key, s));
      e.id = muhafiz::rules::snapshot::derived_entry_id("hashed_domain", e.value);
      hashed.entries.push_back(std::move(e));
    }
    c->hashed = compile_and_load(hashed, &c->hashed_stats, &c->hashed_load_s);
  }
  c->plain_scratch = c->plain->make_scratch();
  c->hashed_scratch = c->hashed->make_scratch();

  if (g_hyperscan_peer && n <= g_hyperscan_max) {
    // Literal ".name" scanned over ".host"; a match counts when it ends at the end of the
    // host (label-aligned suffix), checked in the callback.
    std::vector<std::string> lits;
    lits.reserve(n);
    for (const std::string& s : c->names) lits.push_back("." + s);
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    std::vector<unsigned> flags(n, HS_FLAG_SINGLEMATCH), ids(n);
    for (size_t i = 0; i < n; ++i) {
      ptrs.push_back(lits[i].c_str());
      lens.push_back(lits[i].size());
      ids[i] = static_cast<unsigned>(i);
    }
    const auto t = std::chrono::steady_clock::now();
    for (size_t first = 0; first < n; first += kHyperscanMaxPatterns) {
      const size_t count = std::min(kHyperscanMaxPatterns, n - first);
      hs_compile_error_t* err = nullptr;
      hs_database_t* db = nullptr;
      if (hs_compile_lit_multi(ptrs.data() + first, flags.data() + first, ids.data() + first,
                               lens.data() + first, static_cast<unsigned>(count), HS_MODE_BLOCK,
                               nullptr, &db, &err) != HS_SUCCESS) {
        std::fprintf(stderr, "hyperscan: %s\n", err ? err->message : "?");
        hs_free_compile_error(err);
        std::exit(1);
      }
      c->hs_dbs.push_back(db);
    }
    c->hs_compile_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    for (hs_database_t* db : c->hs_dbs) {
      size_t bytes = 0;
      hs_database_size(db, &bytes);
      c->hs_bytes += bytes;
      hs_alloc_scratch(db, &c->hs_scratch);  // grows the one scratch to fit every database
    }
  }
  g_corpus = std::move(c);
  return *g_corpus;
}

// ---- benchmarks
// ------------------------------------------------------------------------------------

void BM_Build(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(corpus(n).n);
  Corpus& c = corpus(n);
  state.counters["entries"] = static_cast<double>(n);
  state.counters["compile_s"] = c.plain_stats.seconds;
  state.counters["load_s"] = c.plain_load_s;
  state.counters["snapshot_MB"] = static_cast<double>(c.plain_stats.bytes) / 1e6;
  state.counters["bytes_per_entry"] =
      static_cast<double>(c.plain_stats.bytes) / static_cast<double>(n);
  state.counters["max_probe"] = c.plain_stats.max_probe;
  state.counters["filter_bytes_per_entry"] =  // built at load, beside the snapshot
      static_cast<double>(c.plain->filter_bytes()) / static_cast<double>(n);
  state.counters["hashed_compile_s"] = c.hashed_stats.seconds;
  state.counters["hashed_load_s"] = c.hashed_load_s;
  state.counters["hashed_bytes_per_entry"] =
      static_cast<double>(c.hashed_stats.bytes) / static_cast<double>(n);
  state.counters["uset_bytes_per_entry"] =
      static_cast<double>(c.set_bytes) / static_cast<double>(n);
  if (!c.hs_dbs.empty()) {
    state.counters["hs_databases"] = static_cast<double>(c.hs_dbs.size());
    state.counters["hs_compile_s"] = c.hs_compile_s;
    state.counters["hs_bytes_per_entry"] = static_cast<double>(c.hs_bytes) / static_cast<double>(n);
  }
}

// The machine's floor: one dependent random read per iteration over a buffer of the given size
// (2 MiB aligned, huge pages advised, like the snapshot). A lookup that needs one uncached read
// cannot beat this, whatever the table.
void BM_MemoryLatency(benchmark::State& state) {
  const size_t bytes = static_cast<size_t>(state.range(0)) << 20;
  const size_t lines = bytes / 64;
  void* map = mmap(nullptr, bytes + (size_t{2} << 20), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) {
    state.SkipWithError("mmap failed");
    return;
  }
  auto* base = reinterpret_cast<uint64_t*>(
      (reinterpret_cast<uintptr_t>(map) + (size_t{2} << 20) - 1) & ~((size_t{2} << 20) - 1));
  madvise(base, bytes, MADV_HUGEPAGE);
  std::vector<size_t> order(lines);
  for (size_t i = 0; i < lines; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(1));
  for (size_t i = 0; i < lines; ++i) base[order[i] * 8] = order[(i + 1) % lines] * 8;
  size_t at = order[0] * 8;
  for (auto _ : state) {
    at = base[at];
    benchmark::DoNotOptimize(at);
  }
  munmap(map, bytes + (size_t{2} << 20));
}

enum class Peer { kMatcher, kMatcherHashed, kUnorderedSet, kHyperscan };

void run_lookups(benchmark::State& state, Peer peer, bool hits) {
  const auto n = static_cast<size_t>(state.range(0));
  Corpus& c = corpus(n);
  if (peer == Peer::kHyperscan && c.hs_dbs.empty()) {
    state.SkipWithError(
        "Hyperscan peer not built (above 1M entries without --rules_hyperscan_10m, "
        "or --rules_no_hyperscan)");
    return;
  }
  const QueryStream qs(hits ? c.hit_queries : c.miss_queries, peer == Peer::kHyperscan ? "." : "");
  size_t i = 0, found = 0;
  Observation obs;
  obs.kind = ObservationKind::kDns;
  for (auto _ : state) {
    const std::string_view q = qs.views[i & (kQueries - 1)];
    bool m = false;
    switch (peer) {
      case Peer::kMatcher:
        obs.host = q;
        m = c.plain->match(obs, c.plain_scratch).matched;
        break;
      case Peer::kMatcherHashed:
        obs.host = q;
        m = c.hashed->match(obs, c.hashed_scratch).matched;
        break;
      case Peer::kUnorderedSet:
        m = walk_suffixes(q, [&](std::string_view s) { return c.set.find(s) != c.set.end(); });
        break;
      case Peer::kHyperscan: {
        const std::string_view d = q;  // ".host"
        struct Ctx {
          unsigned long long len;
          bool hit;
        } ctx{d.size(), false};
        // Several databases (above 5M names): scanned in turn, stopping at the first that holds
        // a match, which favours the peer (a filter would need every list's answer).
        for (size_t db = 0; db < c.hs_dbs.size() && !ctx.hit; ++db) {
          hs_scan(
              c.hs_dbs[db], d.data(), static_cast<unsigned>(d.size()), 0, c.hs_scratch,
              [](unsigned, unsigned long long, unsigned long long to, unsigned, void* p) -> int {
                auto* x = static_cast<Ctx*>(p);
                if (to == x->len) x->hit = true;
                return 0;
              },
              &ctx);
        }
        m = ctx.hit;
        break;
      }
    }
    found += m;
    ++i;
  }
  if (found != (hits ? i : 0)) state.SkipWithError("wrong answers");
  state.SetItemsProcessed(static_cast<int64_t>(i));
}

void BM_MatcherHit(benchmark::State& s) { run_lookups(s, Peer::kMatcher, true); }
void BM_MatcherMiss(benchmark::State& s) { run_lookups(s, Peer::kMatcher, false); }
void BM_MatcherHashedHit(benchmark::State& s) { run_lookups(s, Peer::kMatcherHashed, true); }
void BM_MatcherHashedMiss(benchmark::State& s) { run_lookups(s, Peer::kMatcherHashed, false); }
void BM_UnorderedSetHit(benchmark::State& s) { run_lookups(s, Peer::kUnorderedSet, true); }
void BM_UnorderedSetMiss(benchmark::State& s) { run_lookups(s, Peer::kUnorderedSet, false); }
void BM_HyperscanLiteralHit(benchmark::State& s) { run_lookups(s, Peer::kHyperscan, true); }
void BM_HyperscanLiteralMiss(benchmark::State& s) { run_lookups(s, Peer::kHyperscan, false); }

void register_size(int64_t n) {
  benchmark::RegisterBenchmark("BM_Build", BM_Build)
      ->Arg(n)
      ->Iterations(1)
      ->Unit(benchmark::kSecond);
  for (auto [name, fn] : std::initializer_list<std::pair<const char*, void (*)(benchmark::State&)>>{
           {"BM_MatcherHit", BM_MatcherHit},
           {"BM_MatcherMiss", BM_MatcherMiss},
           {"BM_MatcherHashedHit", BM_MatcherHashedHit},
           {"BM_MatcherHashedMiss", BM_MatcherHashedMiss},
           {"BM_UnorderedSetHit", BM_UnorderedSetHit},
           {"BM_UnorderedSetMiss", BM_UnorderedSetMiss},
           {"BM_HyperscanLiteralHit", BM_HyperscanLiteralHit},
           {"BM_HyperscanLiteralMiss", BM_HyperscanLiteralMiss}}) {
    benchmark::RegisterBenchmark(name, fn)
        ->Arg(n)
        ->Unit(benchmark::kNanosecond)
        ->Repetitions(3)
        ->ReportAggregatesOnly(true);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool ten_million = false;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rules_10m") == 0) {
      ten_million = true;
    } else if (std::strcmp(argv[i], "--rules_no_hyperscan") == 0) {
      g_hyperscan_peer = false;
    } else if (std::strcmp(argv[i], "--rules_hyperscan_10m") == 0) {
      g_hyperscan_max = 10'000'000;
    } else {
      args.push_back(argv[i]);
    }
  }
  int n_args = static_cast<int>(args.size());
  muhafiz::rules::init_sodium();
  benchmark::Initialize(&n_args, args.data());
  benchmark::RegisterBenchmark("BM_MemoryLatency", BM_MemoryLatency)
      ->Arg(1)
      ->Arg(2)
      ->Arg(4)
      ->Arg(16)
      ->Arg(64)
      ->Unit(benchmark::kNanosecond);
  for (const int64_t n : {int64_t{1000}, int64_t{100'000}, int64_t{1'000'000}}) register_size(n);
  if (ten_million) register_size(10'000'000);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
