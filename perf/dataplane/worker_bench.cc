// Worker benchmark (perf/RESULTS.md, "Dataplane worker (issue 4)"): packets per second on one
// core for muhafiz::engine::WorkerStage::process, the per-packet function of a dataplane worker
// (decode -> verdict cache -> ip lists -> extract -> match -> verdict -> replies), fed from
// memory: no NIC, no EAL. Around each call the loop does what engine.cc's handle() does with the
// result: replies are copied out (into a scratch ring, standing in for rte_pktmbuf_alloc +
// memcpy), the frame is counted as forwarded or freed. The rte_mbuf work itself (rx/tx burst,
// alloc, free) is not in the numbers.
//
// Ruleset: 1,000,000 plain `domain` entries (generated names, the same generator as
// perf/rules/rules_bench.cc) in one list, plus 256 IPv4 /24 and 16 IPv6 /48 `ip` entries that no
// traffic reaches (RFC 2544 / RFC 3849 benchmarking ranges), compiled with rules::compile and
// loaded with Matcher::from_bytes. Stage config: make_stage_config(EngineConfig{}) (inline mode,
// fail open, 65,536 flows, 1,024 reassembly buffers, 16,384 verdict-cache entries, DNS answered
// NXDOMAIN, TLS/HTTP reset both ways, QUIC dropped silently).
//
// Names in the traffic: distinct names from the same generator with a different seed, with
// 0-2 extra leading labels (www., cdn., a random label...), each checked to match nothing; 2%
// of the requests (chosen at random) instead name a subdomain of one of 3,907 list entries, and
// are blocked.
//
// Mixes (each a packed buffer of prebuilt Ethernet frames, 64-byte aligned as mbuf data is,
// walked once per repetition with the clock advancing 1 us per packet):
//   a_tcp_established  server->client bulk data (1,448 B) and client ACKs of 32,768 HTTPS flows
//                      whose handshake, ClientHello and server flight the stage saw before the
//                      timing (setup): the stage looks each data segment up (a bare ACK
//                      reads no flow) and inspects nothing.
//   a_udp_other        QUIC short-header packets (1,252 B, server->client) of 32,768 UDP/443
//                      flows: not a long header, not DNS, so not extracted and no flow lookup.
//   b_dns              DNS queries over UDP (EDNS, A), one per client 5-tuple, 2^20 of them.
//   c_tls              TLS ClientHellos (512 B handshake, one segment), each a new TCP flow's
//                      first data segment, 2^20 distinct 5-tuples; the flow table is filled with
//                      other flows first, so each new flow evicts one.
//   c_tls_pq           the 1,800 B post-quantum hello in two segments, 2^18 flows (2^19 frames).
//   d_mix              a link-like mix, the flow model of muhafiz-make-bench-capture (by flows:
//                      DNS 30%, HTTPS 38% of which 40% post-quantum, QUIC 12% of which half over
//                      two Initials, HTTP 8%, other TCP 12%; 20% IPv6), 8,192 flows open at
//                      once, packets interleaved at random. The first 2^18 packets are a warm-up
//                      (setup, not timed); the next 2^19 are timed.
//
// Correctness, checked before any timing: one untimed pass per mix on a fresh stage compares
// every frame's decision (forward or drop, the "packets" reason, the number of replies) with what
// the generator expects (blocked where a request hits, flow_blocked for later packets of a
// blocked TCP/QUIC flow, passed otherwise) and the inspected counters with the observations
// generated; a mismatch prints the first difference and exits with status 3. Each timed
// repetition (a fresh stage, setup replayed) checks the counter totals again.
//
// Flags besides Google Benchmark's: --worker_frame_pages=huge|small (huge): the frames in 2 MiB
// pages, as mbufs are, or 4 KiB ones; --worker_reps=N (3) repetitions per mix; --worker_scale=F
// (1) shrinks every mix for a quick try.
//
// Profiling the timed loops only: `perf record -D -1 --control=fifo:CTL,ACK -- env
// MUHAFIZ_PERF_CTL=CTL MUHAFIZ_PERF_ACK=ACK muhafiz_worker_bench ...` (perf_control() below).
//
// --write_pcap=DIR: instead of benchmarking, writes DIR/<mix>.pcap (the timed frames) and, for
// mixes with a setup, DIR/<mix>.setup.pcap (setup frames only) and DIR/<mix>.full.pcap (setup
// then timed), plus DIR/one.pcap (one frame) and DIR/mixes.json, for ndpiReader
// (perf/run_worker_bench.sh).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "dataplane/engine/config.h"
#include "dataplane/engine/counters.h"
#include "dataplane/engine/worker_stage.h"
#include "perf/common/name_gen.h"
#include "perf/dataplane/bench_frames.h"
#include "rules/list/model.h"
#include "rules/match/compiler.h"
#include "rules/match/matcher.h"
#include "tests/support/packet_builder.h"

namespace {

namespace mt = muhafiz::testing;
namespace eng = muhafiz::engine;
namespace rules = muhafiz::rules;
namespace parse = muhafiz::parse;
using mt::ByteVector;
using mt::PacketBuilder;
using mt::TcpConversation;

constexpr size_t kRuleEntries = 1'000'000;
constexpr size_t kHitTargetEvery = 256;  // every 256th entry is a name the traffic may hit
constexpr int kHitPercent = 2;
constexpr size_t kBulkSegment = 1448;  // MSS with a 1500 MTU and TCP timestamps
constexpr size_t kQuicShortPacket = 1252;
constexpr uint64_t kStartUs = 1'000'000;
constexpr uint64_t kStartUnixNs = 1'700'000'000'000'000'000ULL;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "muhafiz_worker_bench: %s\n", what.c_str());
  std::exit(3);
}

// ---- names: perf/common/name_gen.h -----------------------------------------------------------

using muhafiz::perf::NameGen;

// ---- the ruleset -----------------------------------------------------------------------------

struct Ruleset {
  std::unique_ptr<const rules::Matcher> matcher;
  std::vector<std::string> hit_targets;  // entries the traffic may name
  std::vector<std::string> misses;       // names (with prefixes) that match nothing
  double compile_s = 0;
  size_t snapshot_bytes = 0;
};

std::unique_ptr<Ruleset> g_rules;

rules::Entry make_entry(rules::EntryKind kind, std::string value) {
  rules::Entry e;
  e.kind = kind;
  e.id = std::string(rules::to_string(kind)) + ":" + value;
  e.value = std::move(value);
  return e;
}

// Builds the 1M-entry ruleset and `misses` names that match none of it.
Ruleset& ruleset(size_t misses) {
  if (g_rules && g_rules->misses.size() >= misses) return *g_rules;
  auto r = std::make_unique<Ruleset>();
  const auto t0 = std::chrono::steady_clock::now();
  rules::List list;
  list.meta.id = "bench-1m";
  list.meta.publisher = "bench";
  list.meta.category = "csam";
  list.meta.version = 1;
  list.meta.default_action = rules::Action::kBlock;
  list.entries.reserve(kRuleEntries + 272);
  {
    NameGen gen(11);
    std::unordered_set<std::string> seen;
    seen.reserve(kRuleEntries);
    while (list.entries.size() < kRuleEntries) {
      std::string n = gen.name();
      if (!seen.insert(n).second) continue;
      if (list.entries.size() % kHitTargetEvery == 0) r->hit_targets.push_back(n);
      list.entries.push_back(make_entry(rules::EntryKind::kDomain, std::move(n)));
    }
  }
  for (int i = 0; i < 256; ++i)  // 198.18.0.0/15 (RFC 2544): no traffic goes there
    list.entries.push_back(
        make_entry(rules::EntryKind::kIp, "198.18." + std::to_string(i) + ".0/24"));
  for (int i = 0; i < 16; ++i)
    list.entries.push_back(
        make_entry(rules::EntryKind::kIp, "2001:db8:ff" + std::to_string(10 + i) + "::/48"));
  rules::CompileStats stats;
  const std::vector<uint8_t> bytes =
      rules::compile(std::span<const rules::List>(&list, 1), rules::CompileOptions{}, &stats);
  list.entries.clear();
  list.entries.shrink_to_fit();
  r->matcher = rules::Matcher::from_bytes(bytes, "bench ruleset");
  r->snapshot_bytes = bytes.size();
  r->compile_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  rules::MatchScratch scratch = r->matcher->make_scratch();
  NameGen gen(22);
  std::unordered_set<std::string> seen;
  seen.reserve(misses);
  rules::Observation obs;
  obs.kind = rules::ObservationKind::kDns;
  while (r->misses.size() < misses) {
    std::string q = gen.prefix() + gen.name();
    obs.host = q;
    if (r->matcher->match(obs, scratch).matched) continue;
    if (seen.insert(q).second) r->misses.push_back(std::move(q));
  }
  std::fprintf(stderr,
               "ruleset: %zu entries, %.1f MB snapshot, built in %.1f s; %zu miss names, %zu hit "
               "targets\n",
               kRuleEntries + 272, static_cast<double>(r->snapshot_bytes) / 1e6, r->compile_s,
               r->misses.size(), r->hit_targets.size());
  g_rules = std::move(r);
  return *g_rules;
}

class BenchSource final : public eng::MatchSource {
 public:
  explicit BenchSource(const rules::Matcher& m) : m_(m), scratch_(m.make_scratch()) {}
  rules::Verdict match(const rules::Observation& obs) noexcept override {
    return m_.match(obs, scratch_);
  }
  bool may_match_ip(const rules::IpAddress& ip) noexcept override { return m_.may_match_ip(ip); }
  uint64_t version() const noexcept override { return 1; }
  uint64_t list_version(uint32_t list) const noexcept override {
    return list < m_.list_count() ? m_.list(list).version : 0;
  }

 private:
  const rules::Matcher& m_;
  rules::MatchScratch scratch_;
};

// Where access events go: a copy into a small ring, as RingSink's rte_ring enqueue does.
class RingEvents final : public eng::EventSink {
 public:
  void push(const muhafiz::api::AccessEvent& ev) noexcept override {
    ring_[n_++ & (kSize - 1)] = ev;
  }
  uint64_t pushed() const { return n_; }

 private:
  static constexpr size_t kSize = 1024;
  muhafiz::api::AccessEvent ring_[kSize];
  uint64_t n_ = 0;
};

// ---- frames and what the stage must decide --------------------------------------------------

enum Obs : int8_t { kNoObs = -1, kDns = 0, kTls = 1, kQuic = 2, kHttp = 3 };
enum class Expect : uint8_t { kPass, kBlock, kFlowBlocked };

struct FrameExp {
  Expect expect = Expect::kPass;
  Obs obs = kNoObs;
  uint8_t replies = 0;
};

constexpr size_t kHugePage = size_t{2} << 20;
bool g_huge_frames = true;  // --worker_frame_pages

// Frames packed one after the other, each starting on a 64-byte boundary (mbuf data does).
class Frames {
 public:
  void reserve(size_t frames, size_t bytes) {
    buf_.reserve(bytes);
    off_.reserve(frames);
    len_.reserve(frames);
    exp_.reserve(frames);
  }
  void add(const ByteVector& f, FrameExp e) {
    const size_t at = (buf_.size() + 63) & ~size_t{63};
    buf_.resize(at + f.size());
    std::memcpy(buf_.data() + at, f.data(), f.size());
    off_.push_back(at);
    len_.push_back(static_cast<uint32_t>(f.size()));
    exp_.push_back(e);
  }
  void finish() {  // the final buffer must not move again: align its start
    if (buf_.empty()) return;
    // In 2 MiB pages, as a port's mbufs are (DPDK's mempools live in hugepages), unless
    // --worker_frame_pages=small: then in 4 KiB pages, where walking hundreds of megabytes of
    // frames adds a page walk to nearly every frame. The hint comes before the copy, whose
    // first touch faults the pages in.
    const size_t align = g_huge_frames ? kHugePage : 64;
    const size_t len = (buf_.size() + align - 1) / align * align;
    aligned_ = std::unique_ptr<uint8_t[], void (*)(void*)>(
        static_cast<uint8_t*>(std::aligned_alloc(align, len)), std::free);
    if (!aligned_) fail("out of memory for the frames");
    if (g_huge_frames) madvise(aligned_.get(), len, MADV_HUGEPAGE);
    std::memcpy(aligned_.get(), buf_.data(), buf_.size());
    bytes_ = buf_.size();
    std::vector<uint8_t>().swap(buf_);
  }
  size_t size() const { return off_.size(); }
  size_t bytes() const { return bytes_; }
  parse::Bytes at(size_t i) const { return parse::Bytes(aligned_.get() + off_[i], len_[i]); }
  const FrameExp& exp(size_t i) const { return exp_[i]; }

 private:
  std::vector<uint8_t> buf_;
  std::unique_ptr<uint8_t[], void (*)(void*)> aligned_{nullptr, std::free};
  size_t bytes_ = 0;
  std::vector<uint64_t> off_;
  std::vector<uint32_t> len_;
  std::vector<FrameExp> exp_;
};

struct Mix {
  std::string name;
  Frames setup;  // fed before the timing, on every repetition
  Frames timed;
  bool prefill_flows = false;  // fill the flow table with other flows first
  uint64_t flows = 0;
};

struct Totals {
  uint64_t passed = 0, blocked = 0, flow_blocked = 0, replies = 0;
  uint64_t obs[4] = {};
};

Totals expected_totals(const Frames& f) {
  Totals t;
  for (size_t i = 0; i < f.size(); ++i) {
    const FrameExp& e = f.exp(i);
    if (e.expect == Expect::kPass) ++t.passed;
    if (e.expect == Expect::kBlock) ++t.blocked;
    if (e.expect == Expect::kFlowBlocked) ++t.flow_blocked;
    t.replies += e.replies;
    if (e.obs != kNoObs) ++t.obs[e.obs];
  }
  return t;
}

Totals counted_totals(const eng::WorkerCounters& c) {
  Totals t;
  t.passed = c.get(eng::kPassed);
  t.blocked = c.get(eng::kBlocked);
  t.flow_blocked = c.get(eng::kFlowBlocked);
  t.replies = c.get(eng::kActionDnsNxdomain) + c.get(eng::kActionDnsStopPage) +
              c.get(eng::kActionHttpRedirect) + c.get(eng::kActionTcpResetClient) +
              c.get(eng::kActionTcpResetServer);
  t.obs[kDns] = c.get(eng::kInspectedDns);
  t.obs[kTls] = c.get(eng::kInspectedTlsSni);
  t.obs[kQuic] = c.get(eng::kInspectedQuicSni);
  t.obs[kHttp] = c.get(eng::kInspectedHttp);
  return t;
}

Totals minus(const Totals& a, const Totals& b) {
  Totals t;
  t.passed = a.passed - b.passed;
  t.blocked = a.blocked - b.blocked;
  t.flow_blocked = a.flow_blocked - b.flow_blocked;
  t.replies = a.replies - b.replies;
  for (int k = 0; k < 4; ++k) t.obs[k] = a.obs[k] - b.obs[k];
  return t;
}

std::string describe(const Totals& t) {
  char b[256];
  std::snprintf(
      b, sizeof b,
      "passed %llu blocked %llu flow_blocked %llu replies %llu obs dns %llu tls %llu "
      "quic %llu http %llu",
      static_cast<unsigned long long>(t.passed), static_cast<unsigned long long>(t.blocked),
      static_cast<unsigned long long>(t.flow_blocked), static_cast<unsigned long long>(t.replies),
      static_cast<unsigned long long>(t.obs[0]), static_cast<unsigned long long>(t.obs[1]),
      static_cast<unsigned long long>(t.obs[2]), static_cast<unsigned long long>(t.obs[3]));
  return b;
}

bool same(const Totals& a, const Totals& b) {
  return a.passed == b.passed && a.blocked == b.blocked && a.flow_blocked == b.flow_blocked &&
         a.replies == b.replies && std::equal(a.obs, a.obs + 4, b.obs);
}

// ---- traffic -------------------------------------------------------------------------------

std::string hex(uint32_t n) {
  char b[16];
  std::snprintf(b, sizeof b, "%x", n);
  return b;
}
// Client n: 100.64.0.0/10 (RFC 6598, 4M addresses) or 2001:db8:c::/48.
std::string client_addr(uint32_t n, bool v6) {
  if (v6) return "2001:db8:c::" + hex(n >> 16) + ":" + hex(n & 0xffff);
  return "100." + std::to_string(64 + (n >> 16) % 64) + "." + std::to_string((n >> 8) & 255) + "." +
         std::to_string(n & 255);
}
uint16_t client_port(uint32_t n) { return static_cast<uint16_t>(32768 + (n * 7919u) % 28232u); }
std::string server_addr(uint32_t s, bool v6) {
  static const char* const v4[] = {"192.0.2.", "198.51.100.", "203.0.113."};
  s = 1 + s % 254;
  if (v6) return "2001:db8:5::" + hex(s);
  return v4[s % 3] + std::to_string(s);
}

// Request names: a miss (distinct, in order) or, kHitPercent of the time, a subdomain of a
// list entry.
class Names {
 public:
  Names(const Ruleset& r, uint64_t seed) : r_(r), rng_(seed), prefixes_(seed + 1) {}
  std::string next(bool* hit) {
    *hit = static_cast<int>(rng_() % 100) < kHitPercent;
    if (*hit) return prefixes_.prefix() + r_.hit_targets[rng_() % r_.hit_targets.size()];
    if (next_miss_ == r_.misses.size()) fail("ran out of miss names");
    return r_.misses[next_miss_++];
  }
  uint64_t rand() { return rng_(); }

 private:
  const Ruleset& r_;
  std::mt19937_64 rng_;
  NameGen prefixes_;
  size_t next_miss_ = 0;
};

PacketBuilder eth_ip(const std::string& src, const std::string& dst) {
  return PacketBuilder().ethernet().ip(src, dst);
}

ByteVector random_segment(size_t n, uint64_t seed) { return mt::pseudo_random_bytes(n, seed); }

ByteVector quic_short(uint64_t seed) {
  return muhafiz::perf::bench_quic_short(kQuicShortPacket, seed);
}

// One flow's frames, with what each one completes; the verdict of later frames depends on
// whether the flow was blocked by then (FlowState).
struct FlowFrames {
  std::vector<ByteVector> frames;
  std::vector<Obs> completes;
  bool hit = false;
  bool stateful = false;  // TCP or QUIC: the verdict cache keeps a blocked flow blocked
  uint8_t block_replies = 0;
  size_t next = 0;
  bool blocked = false;
  void add(ByteVector f, Obs o = kNoObs) {
    frames.push_back(std::move(f));
    completes.push_back(o);
  }
  void add(std::vector<ByteVector> fs, Obs last = kNoObs) {
    for (size_t i = 0; i < fs.size(); ++i)
      add(std::move(fs[i]), i + 1 == fs.size() ? last : kNoObs);
  }
  bool done() const { return next == frames.size(); }
  // Emits the next frame with its expectation.
  void emit(Frames& out) {
    FrameExp e;
    if (blocked) {
      e.expect = Expect::kFlowBlocked;
    } else {
      e.obs = completes[next];
      if (e.obs != kNoObs && hit) {
        e.expect = Expect::kBlock;
        e.replies = block_replies;
        blocked = stateful;
      }
    }
    out.add(frames[next], e);
    ++next;
  }
};

// The flow model of muhafiz-make-bench-capture, with names from Names.
class FlowGen {
 public:
  FlowGen(Names& names, uint64_t seed) : names_(names), rng_(seed) {
    for (uint64_t i = 0; i < 4; ++i)
      bulk_.push_back(mt::tls_application_data(kBulkSegment - 5, 100 + i));
    for (uint64_t i = 0; i < 4; ++i) opaque_.push_back(random_segment(kBulkSegment, 200 + i));
    for (uint64_t i = 0; i < 4; ++i) quic_short_.push_back(quic_short(300 + i));
  }
  FlowFrames next_flow() {
    ++flow_id_;
    const int pick = uniform(0, 99);
    if (pick < 30) return dns_flow();
    if (pick < 68) return tls_flow();
    if (pick < 80) return quic_flow();
    if (pick < 88) return http_flow();
    return opaque_tcp_flow();
  }
  uint64_t flows() const { return flow_id_; }

 private:
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool v6() { return uniform(0, 99) < 20; }
  std::string client(bool six) { return client_addr(flow_id_, six); }
  std::string server(bool six) { return server_addr(static_cast<uint32_t>(uniform(0, 253)), six); }
  TcpConversation conversation(bool six, uint16_t dport) {
    return TcpConversation(eth_ip(client(six), server(six)).tcp(client_port(flow_id_), dport),
                           static_cast<uint32_t>(rng_()), static_cast<uint32_t>(rng_()));
  }
  void bulk(FlowFrames& f, TcpConversation& c, int segments, const std::vector<ByteVector>& pool) {
    for (int i = 0; i < segments; ++i) {
      f.add(c.server_send(pool[static_cast<size_t>(i) % pool.size()]));
      if (i % 2 == 1) f.add(c.client_ack());
    }
  }
  FlowFrames dns_flow() {
    const bool six = v6();
    FlowFrames f;
    const std::string name = names_.next(&f.hit);
    f.block_replies = 1;
    const auto id = static_cast<uint16_t>(rng_());
    PacketBuilder q = eth_ip(client(six), six ? "2001:db8:53::53" : "198.51.100.53");
    q.udp(client_port(flow_id_), 53);
    f.add(PacketBuilder(q).payload(muhafiz::perf::bench_dns_query(id, name)).build(), kDns);
    f.add(q.reversed()
              .payload(mt::dns_response(id, name, six ? "2001:db8:5::80" : "203.0.113.80"))
              .build());
    return f;
  }
  FlowFrames tls_flow() {
    const bool six = v6();
    const bool pq = uniform(0, 99) < 40;
    FlowFrames f;
    f.stateful = true;
    f.block_replies = 2;
    const std::string name = names_.next(&f.hit);
    TcpConversation c = conversation(six, 443);
    f.add(c.handshake());
    if (pq) {
      const ByteVector records = mt::tls_records(muhafiz::perf::bench_pq_tls_hello(name, rng_()));
      const size_t cut[] = {kBulkSegment};
      f.add(c.client_send_split(records, cut), kTls);
    } else {
      f.add(c.client_send(mt::tls_records(muhafiz::perf::bench_tls_hello(name, rng_()))), kTls);
    }
    f.add(c.server_send(mt::tls_application_data(kBulkSegment - 5, rng_() % 4)));
    f.add(c.client_send(mt::tls_application_data(80, 7)));
    bulk(f, c, uniform(10, 110), bulk_);
    f.add(c.close());
    return f;
  }
  FlowFrames quic_flow() {
    const bool six = v6();
    const bool pq = uniform(0, 99) < 50;
    FlowFrames f;
    f.stateful = true;
    mt::ClientHelloSpec spec;
    spec.sni = names_.next(&f.hit);
    spec.alpn = {"h3"};
    spec.quic = true;
    spec.post_quantum = pq;
    spec.seed = rng_();
    const ByteVector hello = mt::client_hello(spec);
    PacketBuilder up = eth_ip(client(six), server(six));
    up.udp(client_port(flow_id_), 443);
    const uint64_t dcid_seed = rng_();
    const uint64_t scid_seed = rng_();
    f.add(muhafiz::perf::bench_quic_initials(up, hello, pq, dcid_seed, scid_seed), kQuic);
    f.add(muhafiz::perf::bench_quic_short_exchange(up, quic_short_, uniform(5, 60)));
    return f;
  }
  FlowFrames http_flow() {
    const bool six = v6();
    FlowFrames f;
    f.stateful = true;
    f.block_replies = 2;  // no stop page URL: reset both ways
    const std::string name = names_.next(&f.hit);
    TcpConversation c = conversation(six, 80);
    f.add(c.handshake());
    const std::string path = "/article/" + std::to_string(uniform(1, 999999)) + "?ref=home";
    f.add(c.client_send(mt::to_bytes(muhafiz::perf::bench_http_get(name, path))), kHttp);
    f.add(c.server_send(mt::to_bytes(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 40000\r\n\r\n")));
    bulk(f, c, uniform(2, 30), opaque_);
    f.add(c.close());
    return f;
  }
  FlowFrames opaque_tcp_flow() {
    static const uint16_t ports[] = {22, 993, 5222, 8443, 1194, 3389};
    const bool six = v6();
    FlowFrames f;
    f.stateful = true;
    TcpConversation c = conversation(six, ports[uniform(0, 5)]);
    f.add(c.handshake());
    f.add(c.client_send(mt::ByteView(opaque_[0]).first(40)));
    bulk(f, c, uniform(10, 100), opaque_);
    f.add(c.close());
    return f;
  }

  Names& names_;
  std::mt19937_64 rng_;
  uint32_t flow_id_ = 0;
  std::vector<ByteVector> bulk_, opaque_, quic_short_;
};

// ---- the mixes -------------------------------------------------------------------------------

struct Sizes {
  size_t established_flows = 32768, established_segments = 8;  // a_tcp: 2^18 frames
  size_t udp_flows = 32768, udp_packets = 8;                   // a_udp: 2^18
  size_t dns = size_t{1} << 20;
  size_t tls = size_t{1} << 20;
  size_t tls_pq = size_t{1} << 18;
  size_t mix_open = 8192, mix_warmup = size_t{1} << 18, mix_timed = size_t{1} << 19;
} g_sizes;

// Each flow's frames in order, flows interleaved at random.
void interleave(std::vector<FlowFrames>& flows, Frames& out, uint64_t seed) {
  std::vector<uint32_t> order;
  for (uint32_t i = 0; i < flows.size(); ++i)
    order.insert(order.end(), flows[i].frames.size() - flows[i].next, i);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
  for (uint32_t i : order) flows[i].emit(out);
}

std::unique_ptr<Mix> build_a_tcp(const Ruleset& r) {
  auto m = std::make_unique<Mix>();
  m->name = "a_tcp_established";
  Names names(r, 101);
  std::vector<ByteVector> bulk;
  for (uint64_t i = 0; i < 4; ++i)
    bulk.push_back(mt::tls_application_data(kBulkSegment - 5, 100 + i));
  const size_t n = g_sizes.established_flows, segs = g_sizes.established_segments;
  std::vector<FlowFrames> flows(n);
  m->setup.reserve(n * 6, n * 6 * 700);
  m->timed.reserve(n * segs * 3 / 2, n * segs * 3 / 2 * 1600);
  for (uint32_t i = 0; i < n; ++i) {
    TcpConversation c(eth_ip(client_addr(i, false), server_addr(i, false)).tcp(client_port(i), 443),
                      0x10000000u + i * 7919u, 0x70000000u + i * 104729u);
    bool hit = false;
    std::string name = names.next(&hit);
    while (hit) name = names.next(&hit);  // established means not blocked
    for (ByteVector& f : c.handshake()) m->setup.add(f, {});
    m->setup.add(c.client_send(mt::tls_records(muhafiz::perf::bench_tls_hello(name, i))),
                 {Expect::kPass, kTls, 0});
    m->setup.add(c.server_send(mt::tls_application_data(kBulkSegment - 5, i % 4)), {});
    m->setup.add(c.client_send(mt::tls_application_data(80, 7)), {});
    FlowFrames& f = flows[i];
    for (size_t s = 0; s < segs; ++s) {
      f.add(c.server_send(bulk[s % bulk.size()]));
      if (s % 2 == 1) f.add(c.client_ack());
    }
  }
  interleave(flows, m->timed, 102);
  m->flows = n;
  return m;
}

std::unique_ptr<Mix> build_a_udp(const Ruleset&) {
  auto m = std::make_unique<Mix>();
  m->name = "a_udp_other";
  std::vector<ByteVector> pool;
  for (uint64_t i = 0; i < 4; ++i) pool.push_back(quic_short(400 + i));
  const size_t n = g_sizes.udp_flows;
  std::vector<FlowFrames> flows(n);
  m->timed.reserve(n * g_sizes.udp_packets, n * g_sizes.udp_packets * 1344);
  for (uint32_t i = 0; i < n; ++i) {
    const PacketBuilder down =
        eth_ip(server_addr(i, false), client_addr(i, false)).udp(443, client_port(i));
    for (size_t k = 0; k < g_sizes.udp_packets; ++k)
      flows[i].add(PacketBuilder(down).payload(pool[(i + k) % pool.size()]).build());
  }
  interleave(flows, m->timed, 202);
  m->flows = n;
  return m;
}

std::unique_ptr<Mix> build_b_dns(const Ruleset& r) {
  auto m = std::make_unique<Mix>();
  m->name = "b_dns";
  Names names(r, 301);
  m->timed.reserve(g_sizes.dns, g_sizes.dns * 128);
  for (uint32_t i = 0; i < g_sizes.dns; ++i) {
    bool hit = false;
    const std::string name = names.next(&hit);
    const ByteVector f =
        eth_ip(client_addr(i, false), muhafiz::perf::kBenchResolver)
            .udp(client_port(i), 53)
            .payload(muhafiz::perf::bench_dns_query(static_cast<uint16_t>(names.rand()), name))
            .build();
    m->timed.add(f, hit ? FrameExp{Expect::kBlock, kDns, 1} : FrameExp{Expect::kPass, kDns, 0});
  }
  m->flows = g_sizes.dns;
  m->prefill_flows = true;
  return m;
}

std::unique_ptr<Mix> build_c_tls(const Ruleset& r, bool pq) {
  auto m = std::make_unique<Mix>();
  m->name = pq ? "c_tls_pq" : "c_tls";
  Names names(r, pq ? 501 : 401);
  const size_t n = pq ? g_sizes.tls_pq : g_sizes.tls;
  m->timed.reserve(n * (pq ? 2 : 1), n * (pq ? 2048 : 640));
  for (uint32_t i = 0; i < n; ++i) {
    bool hit = false;
    const std::string name = names.next(&hit);
    TcpConversation c(eth_ip(client_addr(i, false), server_addr(i, false)).tcp(client_port(i), 443),
                      static_cast<uint32_t>(names.rand()), static_cast<uint32_t>(names.rand()));
    c.handshake();  // not sent: the hello is the first segment the stage sees
    const FrameExp done =
        hit ? FrameExp{Expect::kBlock, kTls, 2} : FrameExp{Expect::kPass, kTls, 0};
    if (pq) {
      const ByteVector records = mt::tls_records(muhafiz::perf::bench_pq_tls_hello(name, i));
      const size_t cut[] = {kBulkSegment};
      const std::vector<ByteVector> segs = c.client_send_split(records, cut);
      m->timed.add(segs[0], {});
      m->timed.add(segs[1], done);
    } else {
      m->timed.add(c.client_send(mt::tls_records(muhafiz::perf::bench_tls_hello(name, i))), done);
    }
  }
  m->flows = n;
  m->prefill_flows = true;
  return m;
}

std::unique_ptr<Mix> build_d_mix(const Ruleset& r) {
  auto m = std::make_unique<Mix>();
  m->name = "d_mix";
  Names names(r, 601);
  FlowGen gen(names, 602);
  std::mt19937_64 pick(603);
  std::vector<FlowFrames> open;
  for (size_t i = 0; i < g_sizes.mix_open; ++i) open.push_back(gen.next_flow());
  const size_t total = g_sizes.mix_warmup + g_sizes.mix_timed;
  m->setup.reserve(g_sizes.mix_warmup, g_sizes.mix_warmup * 1100);
  m->timed.reserve(g_sizes.mix_timed, g_sizes.mix_timed * 1100);
  for (size_t n = 0; n < total; ++n) {
    const size_t i = std::uniform_int_distribution<size_t>(0, open.size() - 1)(pick);
    open[i].emit(n < g_sizes.mix_warmup ? m->setup : m->timed);
    if (open[i].done()) open[i] = gen.next_flow();
  }
  m->flows = gen.flows();
  return m;
}

enum MixId { kATcp, kAUdp, kBDns, kCTls, kCTlsPq, kDMix, kMixCount };
const char* const kMixNames[] = {"a_tcp_established", "a_udp_other", "b_dns", "c_tls",
                                 "c_tls_pq",          "d_mix"};

size_t miss_names_needed() {
  return std::max({g_sizes.dns, g_sizes.tls, g_sizes.tls_pq, g_sizes.established_flows * 2,
                   g_sizes.mix_warmup + g_sizes.mix_timed}) +
         1000;
}

// ---- running the stage ---------------------------------------------------------------------

struct Run {
  eng::WorkerCounters counters;
  RingEvents events;
  eng::WorkerStage stage;
  BenchSource source;
  eng::PacketClock clock{kStartUs, kStartUnixNs};
  std::unique_ptr<uint8_t[]> tx;  // replies copied out, as send_reply copies into an mbuf
  size_t tx_at = 0;
  uint64_t forwarded = 0, freed = 0;
  static constexpr size_t kTxSlots = 64;

  explicit Run(const rules::Matcher& m, const eng::StageConfig& cfg)
      : stage(cfg, counters, events),
        source(m),
        tx(std::make_unique<uint8_t[]>(kTxSlots * muhafiz::action::kMaxReplyFrameLen)) {}

  // engine.cc handle(): process, copy the replies out, forward or free.
  inline eng::Decision handle(parse::Bytes frame) {
    eng::WorkerStage::PreparedFrame f;
    stage.prepare(frame, &f);
    return handle(f);
  }
  inline eng::Decision handle(const eng::WorkerStage::PreparedFrame& f) {
    const eng::Decision d = stage.process(f, &source, clock);
    for (uint8_t r = 0; r < d.reply_count; ++r) {
      std::memcpy(tx.get() + (tx_at++ % kTxSlots) * muhafiz::action::kMaxReplyFrameLen,
                  d.replies[r].frame.data(), d.replies[r].frame.size());
    }
    if (d.forward == eng::Forward::kPass) {
      ++forwarded;
    } else {
      ++freed;
    }
    clock.mono_us += 1;
    clock.unix_ns += 1000;
    return d;
  }
};

// engine.cc's worker loop over one RX burst of up to `size` (<= kBurst) frames starting at
// `begin`: prefetch every frame's headers, prepare (decode and prefetch) them all, prefetch
// their flows, then handle each in order. `check` sees every
// frame's decision.
constexpr size_t kBurst = 32;  // dataplane/engine/ports.h kBurstSize
template <typename Check>
void handle_burst(Run& run, const Frames& frames, size_t begin, size_t size, Check&& check) {
  eng::WorkerStage::PreparedFrame prepared[kBurst];
  const size_t n = std::min({size, kBurst, frames.size() - begin});
  for (size_t k = 0; k < n; ++k) eng::WorkerStage::prefetch_frame(frames.at(begin + k).data());
  for (size_t k = 0; k < n; ++k) run.stage.prepare(frames.at(begin + k), &prepared[k]);
  for (size_t k = 0; k < n; ++k) run.stage.prefetch_flow(prepared[k]);
  for (size_t k = 0; k < n; ++k) check(begin + k, run.handle(prepared[k]));
}

struct Harness {
  eng::EngineConfig engine_cfg;  // the reply config's views point into it
  eng::StageConfig stage_cfg;
  Harness() : stage_cfg(eng::make_stage_config(engine_cfg, 0)) {}
};

// Fills the flow table with twice its capacity of other flows' SYNs (10.2.0.0/16 -> port 443),
// so that each new flow of the mix evicts one, as on a busy link.
void prefill(Run& run, uint32_t capacity) {
  muhafiz::perf::feed_prefill_syns(capacity, 1, [&](const ByteVector& syn) {
    run.handle(parse::Bytes(syn.data(), syn.size()));
  });
}

std::unique_ptr<Run> start_run(const Mix& m, const Harness& h) {
  auto run = std::make_unique<Run>(*g_rules->matcher, h.stage_cfg);
  if (m.prefill_flows) prefill(*run, h.stage_cfg.extractor.flows.capacity);
  for (size_t i = 0; i < m.setup.size(); ++i) run->handle(m.setup.at(i));
  return run;
}

uint64_t extract_errors(const muhafiz::extract::ExtractStats& s) {
  namespace ex = muhafiz::extract;
  return s.counters[ex::kMalformedPacket] + s.counters[ex::kDnsMalformed] +
         s.counters[ex::kTlsMalformed] + s.counters[ex::kHttpMalformed] +
         s.counters[ex::kQuicUndecryptable] + s.counters[ex::kQuicNotClientHello] +
         s.counters[ex::kTcpGap] + s.counters[ex::kTcpRetransmission] +
         s.counters[ex::kReassemblyOverflow] + s.counters[ex::kBufferExhausted];
}

// The untimed check: every frame's decision, in setup and timed parts, as the generator says.
void validate(const Mix& m, const Harness& h) {
  auto run = std::make_unique<Run>(*g_rules->matcher, h.stage_cfg);
  if (m.prefill_flows) prefill(*run, h.stage_cfg.extractor.flows.capacity);
  for (const Frames* part : {&m.setup, &m.timed}) {
    const Totals before = counted_totals(run->counters);
    // The timed part as it is timed, in bursts; the setup frame by frame, as start_run does.
    const size_t step = part == &m.timed ? kBurst : 1;
    for (size_t at = 0; at < part->size(); at += step) {
      handle_burst(*run, *part, at, step, [&](size_t i, const eng::Decision& d) {
        const FrameExp& e = part->exp(i);
        const eng::EngineCounter want = e.expect == Expect::kPass    ? eng::kPassed
                                        : e.expect == Expect::kBlock ? eng::kBlocked
                                                                     : eng::kFlowBlocked;
        const eng::Forward want_fwd =
            e.expect == Expect::kPass ? eng::Forward::kPass : eng::Forward::kDrop;
        if (d.reason != want || d.forward != want_fwd || d.reply_count != e.replies) {
          fail(m.name + (part == &m.setup ? " setup" : " timed") + " frame " + std::to_string(i) +
               ": reason " + std::to_string(static_cast<int>(d.reason)) + " (want " +
               std::to_string(static_cast<int>(want)) + "), replies " +
               std::to_string(d.reply_count) + " (want " + std::to_string(e.replies) + ")");
        }
      });
    }
    const Totals got = minus(counted_totals(run->counters), before);
    const Totals want = expected_totals(*part);
    if (!same(got, want))
      fail(m.name + ": counted " + describe(got) + "; expected " + describe(want));
  }
  if (extract_errors(run->stage.extractor().stats()) != 0) {
    namespace ex = muhafiz::extract;
    std::string moved;
    const ex::ExtractStats& st = run->stage.extractor().stats();
    for (size_t c = 0; c < ex::kExtractCounterCount; ++c) {
      moved += " " + std::string(ex::extract_counter_name(static_cast<ex::ExtractCounter>(c))) +
               "=" + std::to_string(st.counters[c]);
    }
    fail(m.name + ": a malformed / gap / retransmission / exhaustion counter moved:" + moved);
  }
  const Totals t = expected_totals(m.timed);
  std::fprintf(
      stderr, "%s: %zu setup + %zu timed frames (%.1f MB), %llu flows; timed: %s: checked\n",
      m.name.c_str(), m.setup.size(), m.timed.size(), static_cast<double>(m.timed.bytes()) / 1e6,
      static_cast<unsigned long long>(m.flows), describe(t).c_str());
}

std::unique_ptr<Mix> g_mix;
int g_mix_id = -1;

const Mix& mix(int id) {
  if (g_mix_id == id) return *g_mix;
  g_mix.reset();
  Ruleset& r = ruleset(miss_names_needed());
  const auto t0 = std::chrono::steady_clock::now();
  switch (id) {
    case kATcp:
      g_mix = build_a_tcp(r);
      break;
    case kAUdp:
      g_mix = build_a_udp(r);
      break;
    case kBDns:
      g_mix = build_b_dns(r);
      break;
    case kCTls:
      g_mix = build_c_tls(r, false);
      break;
    case kCTlsPq:
      g_mix = build_c_tls(r, true);
      break;
    default:
      g_mix = build_d_mix(r);
      break;
  }
  g_mix->setup.finish();
  g_mix->timed.finish();
  std::fprintf(stderr, "%s: built in %.1f s\n", g_mix->name.c_str(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  g_mix_id = id;
  return *g_mix;
}

// perf's control fifos (perf record --control): sampling is enabled around the timed loops
// only, not around the ruleset, mix building and checks.
void perf_control(const char* cmd) {
  static const int ctl =
      std::getenv("MUHAFIZ_PERF_CTL") ? open(std::getenv("MUHAFIZ_PERF_CTL"), O_WRONLY) : -1;
  static const int ack =
      std::getenv("MUHAFIZ_PERF_ACK") ? open(std::getenv("MUHAFIZ_PERF_ACK"), O_RDONLY) : -1;
  if (ctl < 0) return;
  if (write(ctl, cmd, std::strlen(cmd)) < 0) fail("perf control: write failed");
  char reply[16];
  if (ack >= 0 && read(ack, reply, sizeof reply) < 0) fail("perf control: read failed");
}

void BM_Worker(benchmark::State& state, int id) {
  const Mix& m = mix(id);
  static Harness h;
  static int validated = -1;
  if (validated != id) {
    validate(m, h);
    validated = id;
  }
  std::unique_ptr<Run> run = start_run(m, h);
  const Totals before = counted_totals(run->counters);
  const uint64_t fwd_before = run->forwarded;
  size_t i = 0;
  perf_control("enable");
  // One batch per RX burst (engine.cc's worker loop).
  while (state.KeepRunningBatch(kBurst)) {
    const size_t n = std::min(kBurst, m.timed.size() - i);  // a scaled mix may end mid-burst
    handle_burst(*run, m.timed, i, n, [](size_t, const eng::Decision&) {});
    i += n;
  }
  perf_control("disable");
  if (i != m.timed.size()) fail(m.name + ": the loop must cover the mix exactly once");
  const Totals got = minus(counted_totals(run->counters), before);
  const Totals want = expected_totals(m.timed);
  if (!same(got, want))
    fail(m.name + " (timed): counted " + describe(got) + "; expected " + describe(want));
  if (run->forwarded - fwd_before != want.passed) fail(m.name + ": forwarded count is wrong");
  state.SetItemsProcessed(static_cast<int64_t>(i));
  state.SetBytesProcessed(static_cast<int64_t>(m.timed.bytes()));
  state.counters["Mpps"] =
      benchmark::Counter(static_cast<double>(i) / 1e6, benchmark::Counter::kIsRate);
  state.counters["frames"] = static_cast<double>(i);
  state.counters["blocked_share"] =
      static_cast<double>(want.blocked + want.flow_blocked) / static_cast<double>(i);
  state.counters["events"] = static_cast<double>(run->events.pushed());
}

// ---- pcap output ---------------------------------------------------------------------------

void write_pcap(const std::string& path, std::initializer_list<const Frames*> parts,
                size_t limit = SIZE_MAX) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) fail("cannot create " + path);
  std::vector<char> vbuf(size_t{1} << 22);
  std::setvbuf(f, vbuf.data(), _IOFBF, vbuf.size());
  ByteVector h;
  mt::append_u32le(h, 0xa1b2c3d4);
  mt::append_u16le(h, 2);
  mt::append_u16le(h, 4);
  mt::append_u32le(h, 0);
  mt::append_u32le(h, 0);
  mt::append_u32le(h, 262144);
  mt::append_u32le(h, 1);  // DLT_EN10MB
  std::fwrite(h.data(), 1, h.size(), f);
  uint64_t usec = kStartUnixNs / 1000;
  size_t written = 0;
  for (const Frames* p : parts) {
    for (size_t i = 0; i < p->size() && written < limit; ++i, ++written) {
      const parse::Bytes b = p->at(i);
      ByteVector r;
      mt::append_u32le(r, static_cast<uint32_t>(usec / 1000000));
      mt::append_u32le(r, static_cast<uint32_t>(usec % 1000000));
      mt::append_u32le(r, static_cast<uint32_t>(b.size()));
      mt::append_u32le(r, static_cast<uint32_t>(b.size()));
      std::fwrite(r.data(), 1, r.size(), f);
      std::fwrite(b.data(), 1, b.size(), f);
      ++usec;
    }
  }
  if (std::fflush(f) != 0 || std::ferror(f) != 0 || std::fclose(f) != 0)
    fail("writing " + path + " failed");
}

int write_pcaps(const std::string& dir) {
  Harness h;
  std::string json = "{\n";
  for (int id = 0; id < kMixCount; ++id) {
    const Mix& m = mix(id);
    validate(m, h);
    write_pcap(dir + "/" + m.name + ".pcap", {&m.timed});
    if (m.setup.size() > 0) {
      write_pcap(dir + "/" + m.name + ".setup.pcap", {&m.setup});
      write_pcap(dir + "/" + m.name + ".full.pcap", {&m.setup, &m.timed});
    }
    if (id == 0) write_pcap(dir + "/one.pcap", {&m.timed}, 1);
    const Totals t = expected_totals(m.timed);
    char line[512];
    std::snprintf(
        line, sizeof line,
        "  \"%s\": {\"setup\": %zu, \"timed\": %zu, \"timed_bytes\": %zu, \"flows\": %llu, "
        "\"blocked\": %llu, \"flow_blocked\": %llu, \"obs\": [%llu, %llu, %llu, %llu]}%s\n",
        m.name.c_str(), m.setup.size(), m.timed.size(), m.timed.bytes(),
        static_cast<unsigned long long>(m.flows), static_cast<unsigned long long>(t.blocked),
        static_cast<unsigned long long>(t.flow_blocked), static_cast<unsigned long long>(t.obs[0]),
        static_cast<unsigned long long>(t.obs[1]), static_cast<unsigned long long>(t.obs[2]),
        static_cast<unsigned long long>(t.obs[3]), id + 1 < kMixCount ? "," : "");
    json += line;
  }
  json += "}\n";
  std::FILE* f = std::fopen((dir + "/mixes.json").c_str(), "w");
  if (f == nullptr) fail("cannot create " + dir + "/mixes.json");
  std::fputs(json.c_str(), f);
  std::fclose(f);
  std::fputs(json.c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string pcap_dir;
  double scale = 1.0;
  int reps = 3;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.starts_with("--write_pcap=")) {
      pcap_dir = std::string(a.substr(13));
    } else if (a.starts_with("--worker_reps=")) {
      reps = std::atoi(std::string(a.substr(14)).c_str());
    } else if (a.starts_with("--worker_scale=")) {
      scale = std::atof(std::string(a.substr(15)).c_str());
    } else if (a.starts_with("--worker_frame_pages=")) {
      const std::string_view pages = a.substr(21);
      if (pages != "huge" && pages != "small") fail("--worker_frame_pages must be huge or small");
      g_huge_frames = pages == "huge";
    } else {
      args.push_back(argv[i]);
    }
  }
  if (scale <= 0 || scale > 1) fail("--worker_scale must be in (0, 1]");
  if (scale != 1.0) {  // smaller mixes, for a quick try (flow counts scale too)
    auto s = [&](size_t& v) {
      v = std::max<size_t>(64, static_cast<size_t>(static_cast<double>(v) * scale));
    };
    s(g_sizes.established_flows);
    s(g_sizes.udp_flows);
    s(g_sizes.dns);
    s(g_sizes.tls);
    s(g_sizes.tls_pq);
    s(g_sizes.mix_warmup);
    s(g_sizes.mix_timed);
    s(g_sizes.mix_open);
  }
  if (!pcap_dir.empty()) return write_pcaps(pcap_dir);

  int n_args = static_cast<int>(args.size());
  benchmark::Initialize(&n_args, args.data());
  // Iterations = the mix's timed frames: each repetition walks the mix exactly once on a fresh
  // stage (sizes are fixed above, so the counts are known before the mixes are built).
  const size_t frames[] = {
      g_sizes.established_flows * (g_sizes.established_segments + g_sizes.established_segments / 2),
      g_sizes.udp_flows * g_sizes.udp_packets,
      g_sizes.dns,
      g_sizes.tls,
      g_sizes.tls_pq * 2,
      g_sizes.mix_timed};
  for (int id = 0; id < kMixCount; ++id) {
    benchmark::RegisterBenchmark((std::string("worker/") + kMixNames[id]).c_str(),
                                 [id](benchmark::State& s) { BM_Worker(s, id); })
        ->Iterations(static_cast<int64_t>(frames[id]))
        ->Repetitions(std::max(1, reps))
        ->ReportAggregatesOnly(true)
        ->Unit(benchmark::kNanosecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
