// Extraction benchmark (perf/RESULTS.md, "Extraction (issue 2)"): ns per packet on one core
// for muhafiz::extract::Extractor::process (decode -> flow -> DNS / TLS / QUIC / HTTP), each
// case next to its peer in the same run: parse::decode_packet alone on the same frames, so the
// extraction overhead reads as a ratio.
//
// Corpus: one frame (or two, for the split hello) per case, built once with the test packet
// builder: Ethernet + IPv4, a client in 10.1.0.0/16. Where the real case is a new flow, every
// item is a new 5-tuple: the frame's client address and port are rewritten in place (RFC 1624
// incremental checksums, a few ns, done in both the extract and the decode runs, and measured
// alone as rewrite/*). Before those runs the flow table (default config: 65536 flows) is filled
// with other flows, so each new flow evicts one, as on a busy link. Mid-flow cases cycle over
// 16384 established flows in a fixed shuffled order, their sequence numbers advancing.
//
// extract_burst/*: the same items fed as the worker feeds them, kBurst frames at a time in three
// passes (decode and the flow's slots prefetched for all, then their flows' lines, then
// processing), so the misses of a new flow overlap. A two-frame item (the split hello) puts both
// its segments in the burst, back to back, 16 items a burst. Items and counters are per item.
//
// Counters: items_per_second (one item = one DNS query, one ClientHello, one HTTP request or one
// data segment); obs_per_item (observations the sink received: 1 where the case completes one,
// checked, the run fails otherwise); allocs_per_item (operator new and OpenSSL allocations
// during the timed loop); evictions_per_item (flow-table evictions during the timed loop).
// Single thread, not pinned by the binary (run_dataplane_bench.sh pins it with taskset).
#include <benchmark/benchmark.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/extract/extractor.h"
#include "dataplane/flow/flow_table.h"
#include "dataplane/parse/dns.h"
#include "dataplane/parse/http.h"
#include "dataplane/parse/packet.h"
#include "dataplane/parse/quic.h"
#include "dataplane/parse/tls.h"
#include "perf/dataplane/bench_frames.h"
#include "tests/support/packet_builder.h"

namespace {

uint64_t g_allocations = 0;  // operator new and OpenSSL allocations, this thread only in practice

void* counting_crypto_malloc(size_t n, const char*, int) {
  ++g_allocations;
  return std::malloc(n);
}
void* counting_crypto_realloc(void* p, size_t n, const char*, int) {
  ++g_allocations;
  return std::realloc(p, n);
}
void counting_crypto_free(void* p, const char*, int) { std::free(p); }

}  // namespace

void* operator new(std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

namespace mt = muhafiz::testing;
namespace ex = muhafiz::extract;
namespace parse = muhafiz::parse;
using mt::ByteVector;
using mt::PacketBuilder;
using muhafiz::perf::FlowRewriter;

constexpr uint32_t kClientIsn = 0x3c1d2e4f;
constexpr uint32_t kServerIsn = 0x7a6b5c4d;
constexpr uint32_t kEstablishedFlows = 16384;

// The order mid-flow items visit the established flows: a fixed shuffle, repeated. On a link the
// flows' packets interleave at random; visiting them in the order they were set up would walk
// the flow table's memory in order (flows are handed out in order of first use), which the
// hardware prefetcher would hide.
const std::vector<uint32_t>& established_order() {
  static const std::vector<uint32_t> order = [] {
    std::vector<uint32_t> o(kEstablishedFlows);
    for (uint32_t i = 0; i < kEstablishedFlows; ++i) o[i] = i;
    std::shuffle(o.begin(), o.end(), std::mt19937_64(17));
    return o;
  }();
  return order;
}
constexpr size_t kBulkSegment = 1448;  // MSS with a 1500 MTU and TCP timestamps

class CountingSink final : public ex::ObservationSink {
 public:
  void on_observation(const ex::Observation& obs) noexcept override {
    ++count;
    benchmark::DoNotOptimize(obs.host.data());
  }
  uint64_t count = 0;
};

enum class FlowMode {
  kNewEachItem,  // each item is a new 5-tuple, the table is full beforehand
  kSameFlow,     // the same frames again and again on one flow
  kEstablished,  // kEstablishedFlows flows set up beforehand, in established_order(), seq advancing
};

struct Case {
  std::string name;
  std::vector<ByteVector> frames;  // one item
  FlowMode mode = FlowMode::kNewEachItem;
  std::vector<ByteVector> setup;  // kSameFlow / kEstablished: sent once per flow before timing
  uint32_t first_seq = 0;         // kEstablished: client seq of the first measured segment
  uint64_t obs_per_item = 1;      // what the sink must receive per item
};

Case make_case(std::string name, FlowMode mode = FlowMode::kNewEachItem,
               uint64_t obs_per_item = 1) {
  Case c;
  c.name = std::move(name);
  c.mode = mode;
  c.obs_per_item = obs_per_item;
  return c;
}

PacketBuilder client_to(const char* server) {
  return PacketBuilder().ethernet().ipv4(muhafiz::perf::kBenchClient, server);
}

// Client segments of a conversation whose handshake the capture missed or we skip: seq
// numbers as after SYN / SYN-ACK / ACK.
mt::TcpConversation conversation(uint16_t dport) {
  mt::TcpConversation c(client_to(muhafiz::perf::kBenchWeb).tcp(40000, dport), kClientIsn,
                        kServerIsn);
  c.handshake();
  return c;
}

std::vector<Case> make_cases() {
  std::vector<Case> cases;
  {
    Case c = make_case("dns_query_udp");
    c.frames.push_back(client_to(muhafiz::perf::kBenchResolver)
                           .udp(40000, 53)
                           .payload(muhafiz::perf::bench_dns_query(0x4a1f, "www.wikipedia.org"))
                           .build());
    cases.push_back(std::move(c));
  }
  {
    Case c = make_case("tls_hello_1seg");
    mt::TcpConversation conv = conversation(443);
    c.frames.push_back(
        conv.client_send(mt::tls_records(muhafiz::perf::bench_tls_hello("www.example.com", 7))));
    cases.push_back(std::move(c));
  }
  {
    Case c = make_case("tls_pq_hello_2seg");
    mt::TcpConversation conv = conversation(443);
    const ByteVector records =
        mt::tls_records(muhafiz::perf::bench_pq_tls_hello("pq.example.com", 8));
    const size_t cut[] = {kBulkSegment};
    c.frames = conv.client_send_split(records, cut);
    cases.push_back(std::move(c));
  }
  mt::QuicInitialSpec quic;
  quic.dcid = mt::pseudo_random_bytes(8, 21);
  quic.scid = mt::pseudo_random_bytes(8, 22);
  quic.crypto = mt::quic_crypto_chunks(muhafiz::perf::bench_quic_hello("quic.example.com", 9), {});
  const ByteVector initial = PacketBuilder()
                                 .ethernet()
                                 .ipv4(muhafiz::perf::kBenchClient, muhafiz::perf::kBenchWeb)
                                 .udp(40000, 443)
                                 .payload(mt::quic_client_initial(quic))
                                 .build();
  {
    Case c = make_case("quic_initial_new_flow");
    c.frames.push_back(initial);
    cases.push_back(std::move(c));
  }
  {
    // The same Initial again on its flow (a retransmission): keys kept, header protection and
    // AEAD decryption only; the hello was reported the first time.
    Case c = make_case("quic_initial_same_flow", FlowMode::kSameFlow, 0);
    c.frames.push_back(initial);
    c.setup.push_back(initial);
    cases.push_back(std::move(c));
  }
  {
    Case c = make_case("http_get");
    mt::TcpConversation conv = conversation(80);
    c.frames.push_back(conv.client_send(mt::to_bytes(
        muhafiz::perf::bench_http_get("www.example.org", "/wiki/Special:Random?lang=en&x=1"))));
    cases.push_back(std::move(c));
  }
  {
    // Bulk data of a TLS flow whose hello was seen: the direction is done, the segment only
    // advances the stream.
    Case c = make_case("tcp_data_mid_flow", FlowMode::kEstablished, 0);
    mt::TcpConversation conv = conversation(443);
    c.setup.push_back(
        conv.client_send(mt::tls_records(muhafiz::perf::bench_tls_hello("bulk.example.com", 10))));
    c.setup.push_back(conv.client_send(mt::tls_application_data(600, 11)));
    c.first_seq = conv.client_next_seq();
    c.frames.push_back(conv.client_send(mt::tls_application_data(kBulkSegment - 5, 12)));
    cases.push_back(std::move(c));
  }
  {
    // Data of a flow picked up mid-stream with nothing recognisable (another protocol, or
    // after a gap): every segment is probed for a message start again.
    Case c = make_case("tcp_data_unclassified", FlowMode::kEstablished, 0);
    mt::TcpConversation conv = conversation(8443);
    c.setup.push_back(conv.client_send(mt::pseudo_random_bytes(kBulkSegment, 13)));
    c.first_seq = conv.client_next_seq();
    c.frames.push_back(conv.client_send(mt::pseudo_random_bytes(kBulkSegment, 14)));
    cases.push_back(std::move(c));
  }
  return cases;
}

// Fills the table with flows that none of the measured ones will find (client 10.2.x.x),
// twice its capacity, so that every later new flow evicts one.
void fill_flow_table(ex::Extractor& extractor, uint32_t capacity) {
  CountingSink sink;
  muhafiz::perf::feed_prefill_syns(capacity, kClientIsn, [&](const mt::ByteVector& syn) {
    extractor.process(parse::LinkType::kEthernet, syn, 0, 0, sink);
  });
}

uint64_t error_counters(const ex::ExtractStats& s) {
  return s.counters[ex::kMalformedPacket] + s.counters[ex::kNotInspectable] +
         s.counters[ex::kDnsMalformed] + s.counters[ex::kTlsMalformed] +
         s.counters[ex::kHttpMalformed] + s.counters[ex::kQuicUndecryptable] +
         s.counters[ex::kQuicNotClientHello] + s.counters[ex::kTcpGap] +
         s.counters[ex::kTcpRetransmission] + s.counters[ex::kReassemblyOverflow] +
         s.counters[ex::kBufferExhausted];
}

size_t item_bytes(const Case& c) {
  size_t n = 0;
  for (const ByteVector& f : c.frames) n += f.size();
  return n;
}

// How run_case feeds the frames: Extractor::process one frame at a time; the decode_packet
// peer over the same frames and rewrites; or the dataplane's burst order (kBurst frames at a
// time, each item's frames back to back).
enum class Feed { kExtract, kDecode, kExtractBurst };

// The worker's order (dataplane/engine/engine.cc): every frame of a burst is decoded and its
// flow's slots prefetched, then every flow's lines, then the packets are processed, so one
// packet's cache misses overlap the others' instead of queueing.
constexpr size_t kBurst = 32;

struct Staged {
  parse::PacketInfo pkt;
  ex::Extractor::FlowRef ref;
  bool ok = false;
  bool flow = false;
};

void extract_burst(ex::Extractor& extractor, const std::vector<ByteVector>& frames,
                   std::vector<Staged>& staged, uint64_t frame_no, uint64_t now,
                   ex::ObservationSink& sink) {
  for (size_t i = 0; i < frames.size(); ++i) {
    Staged& s = staged[i];
    s.ok = parse::decode_packet(parse::LinkType::kEthernet, frames[i], &s.pkt) ==
           parse::ParseStatus::kOk;
    s.flow = s.ok && ex::Extractor::uses_flow(s.pkt);
    if (s.flow) {
      muhafiz::flow::make_flow_key(s.pkt, &s.ref.key, &s.ref.dir, &s.ref.hash);
    }
    if (s.ok) extractor.prefetch(s.pkt, s.flow ? &s.ref : nullptr);
  }
  for (size_t i = 0; i < frames.size(); ++i) {
    if (staged[i].flow) extractor.prefetch_flow(staged[i].pkt, staged[i].ref);
  }
  for (size_t i = 0; i < frames.size(); ++i) {
    const Staged& s = staged[i];
    if (s.ok) extractor.process_packet(s.pkt, s.flow ? &s.ref : nullptr, frame_no + i, now, sink);
  }
}

void run_case(benchmark::State& state, const Case& proto, Feed feed) {
  const bool extract = feed != Feed::kDecode;
  const bool burst = feed == Feed::kExtractBurst;
  Case c = proto;  // frames are rewritten in place
  // A burst holds kBurst frames: as many whole items as fit, each item's frames back to back.
  const size_t item_frames = proto.frames.size();
  if (burst && item_frames > kBurst) {
    state.SkipWithError("an item has more frames than a burst");
    return;
  }
  const uint64_t per_iteration = burst ? kBurst / item_frames : 1;  // items
  if (burst) {
    c.frames.clear();
    for (uint64_t i = 0; i < per_iteration; ++i) {
      c.frames.insert(c.frames.end(), proto.frames.begin(), proto.frames.end());
    }
  }
  std::vector<Staged> staged(burst ? c.frames.size() : 0);
  std::vector<FlowRewriter> rw;
  for (const ByteVector& f : c.frames) rw.emplace_back(f);
  auto extractor = std::make_unique<ex::Extractor>(ex::ExtractorConfig{});
  CountingSink sink;
  uint64_t now = 1;
  std::vector<uint32_t> seq;

  if (extract && c.mode == FlowMode::kNewEachItem) {
    fill_flow_table(*extractor, ex::ExtractorConfig{}.flows.capacity);
  }
  if (extract && c.mode == FlowMode::kSameFlow) {
    for (const ByteVector& f : c.setup)
      extractor->process(parse::LinkType::kEthernet, f, 0, now, sink);
  }
  if (c.mode == FlowMode::kEstablished) {
    seq.assign(kEstablishedFlows, c.first_seq);
    std::vector<FlowRewriter> setup_rw;
    for (const ByteVector& f : c.setup) setup_rw.emplace_back(f);
    for (uint32_t n = 0; n < kEstablishedFlows && extract; ++n) {
      for (size_t i = 0; i < c.setup.size(); ++i) {
        setup_rw[i].set_flow(c.setup[i], n);
        extractor->process(parse::LinkType::kEthernet, c.setup[i], 0, now, sink);
      }
    }
  }
  uint32_t payload_len = 0;
  if (c.mode == FlowMode::kEstablished) {
    parse::PacketInfo pkt;
    parse::decode_packet(parse::LinkType::kEthernet, c.frames[0], &pkt);
    payload_len = static_cast<uint32_t>(pkt.l4_payload.size());
  }

  const uint64_t obs_before = sink.count;
  const ex::ExtractStats stats_before = extractor->stats();
  const uint64_t evicted_before = extractor->flows().stats().evicted;
  uint32_t flow = 0;
  uint64_t burst_frames = 0;  // frames fed in bursts so far
  const std::vector<uint32_t>& order = established_order();
  // Gives frames [first, first + n), which carry item number `item`, that item's 5-tuple and,
  // mid-flow, its flow's next sequence number (mid-flow items are one frame each).
  auto rewrite_item = [&](size_t first, size_t n, uint32_t item) {
    for (size_t i = first; i < first + n; ++i) {
      if (c.mode == FlowMode::kEstablished) {
        const uint32_t f = order[item % kEstablishedFlows];
        rw[i].set_flow(c.frames[i], f);
        rw[i].set_tcp_seq(c.frames[i], seq[f]);
        seq[f] += payload_len;
      } else if (c.mode == FlowMode::kNewEachItem) {
        rw[i].set_flow(c.frames[i], item);
      }
    }
  };
  const uint64_t allocs_before = g_allocations;
  for (auto _ : state) {
    if (burst) {
      // Frames numbered from 1, one number each, as a capture numbers them; the clock ticks
      // once a burst (the idle timeout is 120 s of it, so nothing expires either way).
      for (size_t i = 0; i < per_iteration; ++i, ++flow) {
        rewrite_item(i * item_frames, item_frames, flow);
      }
      extract_burst(*extractor, c.frames, staged, burst_frames + 1, ++now, sink);
      burst_frames += c.frames.size();
      continue;
    }
    rewrite_item(0, c.frames.size(), flow);
    ++flow;
    ++now;
    for (const ByteVector& f : c.frames) {
      if (extract) {
        extractor->process(parse::LinkType::kEthernet, f, flow, now, sink);
      } else {
        parse::PacketInfo pkt;  // as process() does
        benchmark::DoNotOptimize(parse::decode_packet(parse::LinkType::kEthernet, f, &pkt));
        benchmark::DoNotOptimize(pkt);
      }
    }
  }
  const uint64_t allocs = g_allocations - allocs_before;
  benchmark::DoNotOptimize(sink.count);

  const auto items = static_cast<double>(state.iterations() * per_iteration);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(per_iteration));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(item_bytes(proto)) *
                          static_cast<int64_t>(per_iteration));
  state.counters["frame_bytes"] = static_cast<double>(item_bytes(proto));
  state.counters["allocs_per_item"] = static_cast<double>(allocs) / items;
  if (!extract) return;
  const uint64_t obs = sink.count - obs_before;
  state.counters["obs_per_item"] = static_cast<double>(obs) / items;
  state.counters["evictions_per_item"] =
      static_cast<double>(extractor->flows().stats().evicted - evicted_before) / items;
  if (obs != c.obs_per_item * state.iterations() * per_iteration) {
    state.SkipWithError("the sink did not receive the expected observations");
  } else if (error_counters(extractor->stats()) != error_counters(stats_before)) {
    state.SkipWithError("a malformed / gap / retransmission / exhaustion counter moved");
  }
}

// The rewriting alone, the floor included in every new-flow and mid-flow number above.
void run_rewrite(benchmark::State& state, const Case& proto) {
  Case c = proto;
  const FlowRewriter rw(c.frames[0]);
  uint32_t flow = 0;
  for (auto _ : state) {
    rw.set_flow(c.frames[0], flow);
    if (c.mode == FlowMode::kEstablished) rw.set_tcp_seq(c.frames[0], flow * 1448u);
    ++flow;
    benchmark::DoNotOptimize(c.frames[0].data());
  }
  state.SetItemsProcessed(state.iterations());
}

// QUIC Initial key derivation alone (RFC 9001 §5.2): what a new QUIC flow costs on top of
// decryption.
void run_quic_derive(benchmark::State& state) {
  parse::QuicInitialDecryptor dec;
  ByteVector dcid = mt::pseudo_random_bytes(8, 31);
  parse::QuicInitialKeys keys{};
  const uint64_t allocs_before = g_allocations;
  for (auto _ : state) {
    ++dcid[0];
    benchmark::DoNotOptimize(dec.derive(parse::kQuicVersion1, dcid, &keys));
    benchmark::DoNotOptimize(keys);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["allocs_per_item"] =
      static_cast<double>(g_allocations - allocs_before) / static_cast<double>(state.iterations());
}

// ---- parts: where the time of one item goes ----------------------------------------------

const Case& find_case(const std::vector<Case>& cases, const std::string& name) {
  for (const Case& c : cases) {
    if (c.name == name) return c;
  }
  throw std::logic_error("no case " + name);
}

// The L4 payload of a case's first frame (or of all its frames, concatenated: a TCP stream).
ByteVector stream_of(const Case& c) {
  ByteVector out;
  for (const ByteVector& f : c.frames) {
    parse::PacketInfo pkt;
    parse::decode_packet(parse::LinkType::kEthernet, f, &pkt);
    out.insert(out.end(), pkt.l4_payload.begin(), pkt.l4_payload.end());
  }
  return out;
}

muhafiz::flow::FlowKey bench_key(uint32_t n) {
  muhafiz::flow::FlowKey k;
  k.family = 4;
  k.proto = parse::kIpProtoTcp;
  k.addr_lo[0] = 10;
  k.addr_lo[1] = 1;
  k.addr_lo[2] = static_cast<uint8_t>(n >> 24);
  k.addr_lo[3] = static_cast<uint8_t>(n >> 16);
  k.port_lo = static_cast<uint16_t>(n);
  k.addr_hi[0] = 203;
  k.addr_hi[1] = 0;
  k.addr_hi[2] = 113;
  k.addr_hi[3] = 80;
  k.port_hi = 443;
  return k;
}

// Flow-table lookup alone. new_flows: a key never seen, in a full table (evicts one);
// else kEstablishedFlows flows inserted beforehand, visited in established_order().
void run_flow_lookup(benchmark::State& state, bool new_flows) {
  const muhafiz::flow::FlowTableConfig cfg;
  auto table = std::make_unique<muhafiz::flow::FlowTable>(cfg);
  const uint32_t prefill = new_flows ? 2 * cfg.capacity : kEstablishedFlows;
  for (uint32_t n = 0; n < prefill; ++n) table->lookup(bench_key(n | 0x80000000u), 0);
  uint32_t n = 0;
  uint64_t now = 1;
  const std::vector<uint32_t>& order = established_order();
  const uint64_t allocs_before = g_allocations;
  for (auto _ : state) {
    const uint32_t id = new_flows ? n : order[n % kEstablishedFlows] | 0x80000000u;
    ++n;
    benchmark::DoNotOptimize(&table->lookup(bench_key(id), ++now));
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["allocs_per_item"] =
      static_cast<double>(g_allocations - allocs_before) / static_cast<double>(state.iterations());
}

void run_dns_parse(benchmark::State& state, const Case& c) {
  const ByteVector msg = stream_of(c);
  auto m = std::make_unique<parse::DnsMessage>();
  for (auto _ : state) {
    benchmark::DoNotOptimize(parse::parse_dns_message(msg, m.get()));
    benchmark::DoNotOptimize(m->questions[0].name.len);
  }
  state.SetItemsProcessed(state.iterations());
}

// Record gathering plus ClientHello parsing, over the whole (reassembled) record stream.
void run_tls_parse(benchmark::State& state, const Case& c) {
  const ByteVector stream = stream_of(c);
  std::vector<uint8_t> scratch(parse::kTlsGatherScratchLen);
  for (auto _ : state) {
    parse::Bytes msg;
    size_t used = 0;
    parse::ClientHello ch;
    if (parse::gather_tls_handshake(stream, scratch, &msg, &used) != parse::ParseStatus::kOk ||
        parse::parse_client_hello(msg, &ch) != parse::ParseStatus::kOk) {
      state.SkipWithError("hello did not parse");
      break;
    }
    benchmark::DoNotOptimize(ch.sni.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void run_http_parse(benchmark::State& state, const Case& c) {
  const ByteVector head = stream_of(c);
  for (auto _ : state) {
    parse::HttpRequest req;
    benchmark::DoNotOptimize(parse::parse_http_request_head(head, &req));
    benchmark::DoNotOptimize(req.host_name.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void register_benchmarks() {
  static const std::vector<Case> cases = make_cases();
  for (const Case& c : cases) {
    benchmark::RegisterBenchmark(("extract/" + c.name).c_str(),
                                 [&c](benchmark::State& s) { run_case(s, c, Feed::kExtract); });
    benchmark::RegisterBenchmark(("decode/" + c.name).c_str(),
                                 [&c](benchmark::State& s) { run_case(s, c, Feed::kDecode); });
  }
  for (const Case& c : cases) {  // bursts of kBurst frames, new flows or mid-flow
    if (c.mode != FlowMode::kSameFlow) {
      benchmark::RegisterBenchmark(("extract_burst/" + c.name).c_str(), [&c](benchmark::State& s) {
        run_case(s, c, Feed::kExtractBurst);
      });
    }
  }
  for (const Case& c : cases) {
    if (c.name == "tls_hello_1seg" || c.name == "tcp_data_mid_flow") {
      benchmark::RegisterBenchmark(("rewrite/" + c.name).c_str(),
                                   [&c](benchmark::State& s) { run_rewrite(s, c); });
    }
  }
  benchmark::RegisterBenchmark("parts/flow_lookup_new_full_table",
                               [](benchmark::State& s) { run_flow_lookup(s, true); });
  benchmark::RegisterBenchmark("parts/flow_lookup_established",
                               [](benchmark::State& s) { run_flow_lookup(s, false); });
  benchmark::RegisterBenchmark("parts/dns_parse_query", [](benchmark::State& s) {
    run_dns_parse(s, find_case(cases, "dns_query_udp"));
  });
  benchmark::RegisterBenchmark("parts/tls_gather_parse_hello", [](benchmark::State& s) {
    run_tls_parse(s, find_case(cases, "tls_hello_1seg"));
  });
  benchmark::RegisterBenchmark("parts/tls_gather_parse_pq_hello", [](benchmark::State& s) {
    run_tls_parse(s, find_case(cases, "tls_pq_hello_2seg"));
  });
  benchmark::RegisterBenchmark("parts/http_parse_head", [](benchmark::State& s) {
    run_http_parse(s, find_case(cases, "http_get"));
  });
  benchmark::RegisterBenchmark("parts/quic_derive_initial_keys", run_quic_derive);
}

}  // namespace

int main(int argc, char** argv) {
  // Before any OpenSSL call, or OpenSSL refuses (and its allocations go uncounted).
  const bool crypto_counted =
      CRYPTO_set_mem_functions(counting_crypto_malloc, counting_crypto_realloc,
                               counting_crypto_free) == 1;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("openssl_allocations_counted", crypto_counted ? "yes" : "no");
  benchmark::AddCustomContext("flow_table_capacity",
                              std::to_string(ex::ExtractorConfig{}.flows.capacity));
  register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
