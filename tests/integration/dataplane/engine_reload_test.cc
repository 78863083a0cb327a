// Issue 4's reload test: the real Engine in inline mode under EAL (--no-huge --no-shconf -m 128,
// lcores 0-1, one worker on lcore 1) while the ruleset is swapped 200 times through the real
// control path (runtime::ctl_request -> ControlServer on the main lcore -> RulesetManager with
// rte_rcu_qsbr), alternating between two snapshots compiled from the same lists (same verdicts;
// their lists carry versions 7 and 8, so every event says which file decided it). Meanwhile
// ~120k subscriber frames flow through: blocked and allowed DNS over UDP (v4, v6, stop page and
// NXDOMAIN), TLS ClientHellos on new TCP flows (blocked ones sometimes retransmitted and then
// acknowledged, some in two segments), blocked
// HTTP, blocked QUIC Initials, ip-listed destinations, allowed TCP/UDP/ARP, and the server side
// of allowed flows on port 1. Every frame has a known outcome, and the test requires exactly
// that outcome: allowed frames out of the other port once, byte for byte, in order; blocked
// frames absent and replaced by their replies (kind and addressing checked); one access event
// per blocked frame, with a ruleset version that never goes back and whose list version
// matches the file that version was loaded from; counters in agreement; no mbuf left in use.
//
// Ports: net_ring ethdevs made with rte_eth_from_rings() before the Engine starts. EAL gets no
// --vdev; the engine finds "net_ring_sub" and "net_ring_up" by name, as it finds any probed
// port. Why not net_pcap: it replays its capture as fast as it can, in well under a second in
// the normal build, so swaps could land before or after the traffic rather than during it. With
// rings the test sets the pace, and that holds on a slow shared machine under sanitizers too.
//
// Threads. A traffic thread feeds the RX rings of ports 0 and 1 and drains both TX rings. It
// checks each output frame as it arrives, so mbufs go back to the pool at once. A swap thread
// sends the loads. The main lcore runs the engine's housekeeping, which answers the loads, and
// takes the events from a ZeroMQ PULL socket.
//
// Pacing. The stream is cut into swaps+1 chunks of C steps. The swap thread sends load k once
// the worker has received k*C frames. The traffic thread feeds at most C/2 frames past the chunk
// of the last acknowledged load. So frames keep flowing while each load is in flight, and
// whatever the scheduling:
//  * every version judges at least C/2 - 32 frames of its own: the frames fed after its load
//    was acknowledged, which the worker received before the next load was sent. Only the one
//    burst whose ruleset the worker acquired just before the swap can go to the older version.
//    So each of the 201 versions must appear in the events.
//  * no frame is judged by a version older than the number of loads acknowledged when it was
//    fed (load a makes version a + 1; that one burst may still use version a).
// Frames are fed only while at most half the mbuf pool is in use, so replies never run out of
// mbufs and the TX rings (twice the pool's size) never fill.
//
// Workers. `engine_reload_test --workers 2` runs two workers (lcores 1 and 2, both on CPU 1)
// with `queue_spread: device`: each port gets two RX rings, and the traffic thread puts each
// frame on the ring a NIC's RSS would pick with the engine's symmetric key (rte_softrss over
// the 4-tuple, or the addresses for other IP, through a 128-entry round-robin redirection
// table; non-IP on queue 0). Each worker then sends on its own TX rings, so the outputs are
// checked per queue, each in the order of that queue's frames; the loads then pass through two
// RCU readers, and both workers must have judged frames and raised events.
//
// EAL initialises once per process: one environment runs the engine once, the tests read what
// it left.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_thash.h>
#include <zmq.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "dataplane/api/messages.h"
#include "dataplane/engine/engine.h"
#include "dataplane/engine/ports.h"
#include "dataplane/parse/dns.h"
#include "dataplane/parse/packet.h"
#include "dataplane/runtime/ctl.h"
#include "rules/match/compiler.h"
#include "tests/integration/dataplane/engine_test_support.h"
#include "tests/support/packet_builder.h"
#include "tests/unit/dataplane/engine/test_ruleset.h"

namespace muhafiz::engine {
namespace {

namespace mt = muhafiz::testing;
using mt::ByteVector;
using mt::PacketBuilder;
using mt::TcpConversation;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The size of the run. Subscriber frames, swaps, and what must hold of them.
constexpr size_t kSubscriberFrames = 120'000;
constexpr uint32_t kSwaps = 200;
constexpr uint32_t kRxRingSize = 1024;
constexpr uint32_t kTxRingSize = 16384;
constexpr uint32_t kMbufs = 8191;
constexpr uint32_t kMaxMbufsInUse = kMbufs / 2;           // feed only below this
constexpr auto kStallTimeout = std::chrono::seconds(20);  // no progress at all: give up
constexpr uint64_t kListVersionA = 7, kListVersionB = 8;
constexpr uint32_t kMaxQueues = 4;
uint32_t g_workers = 1;  // --workers N: queues per port, one worker each

constexpr const char* kStopPageUrl = testing::kTestStopPageUrl;

using testing::kResolver4;
using testing::kResolver6;
using testing::kServer4;
using testing::kServer6;
using testing::Reply;

// One subscriber-side frame and what must come of it.
struct Input {
  ByteVector frame;
  EngineCounter reason = kPassed;  // kPassed (forwarded), kBlocked, kIpBlocked, kFlowBlocked
  std::vector<Reply> to_client;    // out of port 0, in this order
  std::vector<Reply> to_server;    // out of port 1, in this order, before where it would be
  bool event = false;              // one enforced access event of this kind and name
  api::EventKind event_kind = api::EventKind::kDns;
  std::string event_name;
  mt::IpAddr client;  // the flow's subscriber end, for replies and events
  uint16_t client_port = 0;
  bool forwarded() const { return reason == kPassed; }
};

// The stream in the order it is fed: port 0 (subscriber) or 1 (upstream), index in its list.
struct Step {
  uint8_t port;
  uint32_t index;
};

struct Stream {
  std::vector<Input> sub;
  std::vector<ByteVector> up;  // all forwarded
  std::vector<Step> steps;
};

// The RX queue a NIC with RSS would give a frame under the engine's symmetric key
// (ports.h): the Toeplitz hash of the addresses and, for TCP and UDP, the ports (host order,
// as l3fwd lays the tuple out), through a 128-entry redirection table filled round robin.
// Frames that are not IP go to queue 0.
uint32_t rss_queue(const ByteVector& frame, uint32_t queues) {
  if (queues == 1) return 0;
  static const std::vector<uint8_t> key = symmetric_rss_key(kDefaultRssKeyLen);
  parse::PacketInfo info;
  const parse::ParseStatus st =
      parse::decode_packet(parse::LinkType::kEthernet, {frame.data(), frame.size()}, &info);
  if (st == parse::ParseStatus::kMalformed || info.family == parse::IpFamily::kNone) return 0;
  const bool ports = st == parse::ParseStatus::kOk &&
                     (info.l4_proto == parse::kIpProtoTcp || info.l4_proto == parse::kIpProtoUdp);
  uint32_t tuple[9] = {};
  const size_t words = info.family == parse::IpFamily::kV4 ? 1 : 4;
  for (size_t w = 0; w < words; ++w) {
    tuple[w] = parse::be_at<uint32_t>(parse::Bytes(info.src.bytes), 4 * w);
    tuple[words + w] = parse::be_at<uint32_t>(parse::Bytes(info.dst.bytes), 4 * w);
  }
  size_t len = 2 * words;
  if (ports) tuple[len++] = uint32_t{info.src_port} << 16 | info.dst_port;
  const uint32_t h = rte_softrss(tuple, static_cast<uint32_t>(len), key.data());
  return (h & 127) % queues;
}

// The stream as the queues see it: queue q's frames, in the stream's order.
struct QueueStreams {
  std::vector<Stream> queues;
  std::vector<uint8_t> step_queue;  // per step of the whole stream
};
QueueStreams split_by_queue(const Stream& s, uint32_t n) {
  QueueStreams out;
  out.queues.resize(n);
  out.step_queue.reserve(s.steps.size());
  for (const Step& st : s.steps) {
    const ByteVector& f = st.port == 0 ? s.sub[st.index].frame : s.up[st.index];
    const uint32_t q = rss_queue(f, n);
    Stream& qs = out.queues[q];
    if (st.port == 0) {
      qs.steps.push_back({0, static_cast<uint32_t>(qs.sub.size())});
      qs.sub.push_back(s.sub[st.index]);
    } else {
      qs.steps.push_back({1, static_cast<uint32_t>(qs.up.size())});
      qs.up.push_back(s.up[st.index]);
    }
    out.step_queue.push_back(static_cast<uint8_t>(q));
  }
  return out;
}

// ---- the stream -------------------------------------------------------------------------------

PacketBuilder l4(const std::string& src, const std::string& dst) {
  PacketBuilder b;
  b.ethernet().ip(src, dst);
  return b;
}

std::string client_text(uint32_t u, bool v6) {
  char b[64];
  if (v6) {
    std::snprintf(b, sizeof b, "2001:db8:ff::%x:%x", u >> 16, u & 0xffff);
  } else {
    std::snprintf(b, sizeof b, "10.%u.%u.%u", (u >> 16) & 0xff, (u >> 8) & 0xff, u & 0xff);
  }
  return b;
}

class Generator {
 public:
  Stream run() {
    uint32_t u = 1;
    while (s_.sub.size() < kSubscriberFrames) {
      for (int kind = 0; kind < 16; ++kind, ++u) unit(kind, u);
    }
    return std::move(s_);
  }

 private:
  void unit(int kind, uint32_t u) {
    const bool v6 = kind == 8 || kind == 9 || kind == 11 || kind == 13;
    const std::string client = client_text(u, v6);
    const auto port = static_cast<uint16_t>(1024 + u % 60000);
    const std::string resolver = v6 ? kResolver6 : kResolver4;
    const std::string server = v6 ? kServer6 : kServer4;
    const std::string n = std::to_string(u);
    switch (kind) {
      case 0:
      case 11:  // blocked DNS: the stop page's A / AAAA
        dns(client, port, resolver, "d" + n + ".blocked.example", u, v6, Reply::kDnsStopPage);
        break;
      case 6:  // entry action nxdomain
        dns(client, port, resolver, testing::kNxdomainName, u, v6, Reply::kDnsNxdomain);
        break;
      case 2:
      case 9:  // allowed DNS and its answer
        dns(client, port, resolver, "a" + n + ".example.org", u, v6, std::nullopt);
        break;
      case 3:
      case 8: {  // blocked TLS, every other one retransmitted (a blocked flow stays blocked)
        // and then acknowledged; every fourth a post-quantum hello in two segments. Both need
        // each flow's frames on one worker.
        const std::string sni = "s" + std::to_string(u % 8) + ".blocked.example";
        const bool split = (u / 16) % 4 == 1 || (u / 16) % 4 == 2;  // 2: and retransmitted
        tcp(client, port, server, 443, split ? pq_hello(sni) : hello(sni), true,
            api::EventKind::kTlsSni, sni, {Reply::kRstToClient}, {Reply::kRstToServer},
            (u / 16) % 2 == 0, split ? kPqCut : 0);
        break;
      }
      case 1:
      case 13:
        tcp(client, port, server, 443, hello("www.example.org"), false);
        break;
      case 5: {  // blocked HTTP: redirect to the subscriber, reset to the server
        const std::string host = "h" + std::to_string(u % 8) + ".blocked.example";
        const std::string text = mt::http_request("GET", "/p" + n, host);
        tcp(client, port, server, 80, ByteVector(text.begin(), text.end()), true,
            api::EventKind::kHttp, host + "/p" + n, {Reply::kRedirect}, {Reply::kRstToServer});
        break;
      }
      case 10: {
        const std::string text = mt::http_request("GET", "/", "www.example.org");
        tcp(client, port, server, 80, ByteVector(text.begin(), text.end()), false);
        break;
      }
      case 7:
        tcp(client, port, server, 5001, mt::pseudo_random_bytes(200, u), false);
        break;
      case 4:
        add(plain(l4(client, server).udp(port, 9999).payload(mt::pseudo_random_bytes(64, u))),
            client, port);
        break;
      case 12: {  // destination in the ip list: dropped silently
        Input in = plain(l4(client, "203.0.113." + std::to_string(1 + u % 250))
                             .udp(port, 9999)
                             .payload(mt::to_bytes("hello")));
        in.reason = kIpBlocked;
        in.event = true;
        in.event_kind = api::EventKind::kIp;
        add(std::move(in), client, port);
        break;
      }
      case 14: {
        ByteVector arp(28, static_cast<uint8_t>(u));
        add(plain(PacketBuilder().ethernet_type(mt::kEtherTypeArp).payload(arp)), client, 0);
        break;
      }
      case 15: {  // blocked QUIC Initial: dropped silently
        Input in = plain(l4(client, server).udp(port, 443).payload(quic_initial()));
        in.reason = kBlocked;
        in.event = true;
        in.event_kind = api::EventKind::kQuicSni;
        in.event_name = "q.blocked.example";
        add(std::move(in), client, port);
        break;
      }
    }
  }

  static Input plain(const PacketBuilder& b) {
    Input in;
    in.frame = b.build();
    return in;
  }

  void add(Input in, const std::string& client, uint16_t port) {
    in.client = mt::ip_address(client);
    in.client_port = port;
    s_.steps.push_back({0, static_cast<uint32_t>(s_.sub.size())});
    s_.sub.push_back(std::move(in));
  }
  void up(ByteVector f) {
    s_.steps.push_back({1, static_cast<uint32_t>(s_.up.size())});
    s_.up.push_back(std::move(f));
  }

  void dns(const std::string& client, uint16_t port, const std::string& resolver,
           const std::string& qname, uint32_t u, bool v6, std::optional<Reply> reply) {
    const auto id = static_cast<uint16_t>(u);
    std::vector<mt::DnsQuestion> q{{qname, v6 ? mt::kDnsTypeAaaa : mt::kDnsTypeA}};
    mt::DnsQueryOptions opt;
    opt.edns_udp_size = 1232;
    Input in = plain(l4(client, resolver).udp(port, 53).payload(mt::dns_query(id, q, opt)));
    if (reply) {
      in.reason = kBlocked;
      in.to_client = {*reply};
      in.event = true;
      in.event_name = qname;
    }
    add(std::move(in), client, port);
    if (!reply) {
      up(l4(resolver, client)
             .udp(53, port)
             .payload(mt::dns_response(id, qname, v6 ? "2001:db8::7" : "198.51.100.7"))
             .build());
    }
  }

  // Handshake then `data` in one segment (two, cut at `cut`, the first forwarded); a blocked
  // flow's last segment is dropped (and its retransmission and the client's next ACK too,
  // uninspected). Allowed flows get the server's SYN-ACK on port 1.
  void tcp(const std::string& client, uint16_t port, const std::string& server, uint16_t dport,
           const ByteVector& data, bool blocked, api::EventKind kind = api::EventKind::kDns,
           std::string event_name = {}, std::vector<Reply> to_client = {},
           std::vector<Reply> to_server = {}, bool retransmit = false, size_t cut = 0) {
    TcpConversation c(l4(client, server).tcp(port, dport), 1000u + port, 9000u + port);
    const std::vector<ByteVector> hs = c.handshake();
    add(plain_frame(hs[0]), client, port);
    if (!blocked) up(hs[1]);
    add(plain_frame(hs[2]), client, port);
    ByteVector seg;
    if (cut != 0) {
      const size_t cuts[] = {cut};
      std::vector<ByteVector> parts = c.client_send_split(data, cuts);
      add(plain_frame(std::move(parts[0])), client, port);
      seg = std::move(parts[1]);
    } else {
      seg = c.client_send(data);
    }
    Input in = plain_frame(seg);
    if (blocked) {
      in.reason = kBlocked;
      in.to_client = std::move(to_client);
      in.to_server = std::move(to_server);
      in.event = true;
      in.event_kind = kind;
      in.event_name = std::move(event_name);
    }
    add(std::move(in), client, port);
    if (blocked && retransmit) {
      Input again = plain_frame(seg);
      again.reason = kFlowBlocked;
      add(std::move(again), client, port);
      Input ack = plain_frame(c.client_ack());
      ack.reason = kFlowBlocked;
      add(std::move(ack), client, port);
    }
  }

  static Input plain_frame(ByteVector f) {
    Input in;
    in.frame = std::move(f);
    return in;
  }

  const ByteVector& hello(const std::string& sni) {
    auto it = hellos_.find(sni);
    if (it == hellos_.end()) {
      mt::ClientHelloSpec spec;
      spec.sni = sni;
      it = hellos_.emplace(sni, mt::tls_records(mt::client_hello(spec))).first;
    }
    return it->second;
  }

  // 1,800 bytes of handshake, as a post-quantum key share makes it: two segments.
  static constexpr size_t kPqCut = 900;
  const ByteVector& pq_hello(const std::string& sni) {
    auto it = hellos_.find("pq:" + sni);
    if (it == hellos_.end()) {
      mt::ClientHelloSpec spec;
      spec.sni = sni;
      spec.pad_to = 1800;
      it = hellos_.emplace("pq:" + sni, mt::tls_records(mt::client_hello(spec))).first;
    }
    return it->second;
  }

  const ByteVector& quic_initial() {
    if (quic_.empty()) {
      mt::ClientHelloSpec spec;
      spec.sni = "q.blocked.example";
      spec.quic = true;
      spec.alpn = {"h3"};
      mt::QuicInitialSpec q;
      q.dcid = {8, 7, 6, 5, 4, 3, 2, 1};
      q.scid = {1};
      q.crypto = {{0, mt::client_hello(spec)}};
      quic_ = mt::quic_client_initial(q);
    }
    return quic_;
  }

  Stream s_;
  std::map<std::string, ByteVector> hellos_;
  ByteVector quic_;
};

// The engine test ruleset (tests/unit/dataplane/engine/test_ruleset.h), its lists at
// `list_version`: the same verdicts whatever the version.
std::vector<uint8_t> snapshot(uint64_t list_version) {
  using K = rules::EntryKind;
  using testing::entry;
  std::vector<rules::List> lists;
  lists.push_back(
      testing::list("pta-csam", "pta", false,
                    {entry(K::kDomain, testing::kBlockedDomain),
                     entry(K::kExact, testing::kNxdomainName, rules::Action::kNxdomain),
                     entry(K::kExact, testing::kDropName, rules::Action::kDrop),
                     entry(K::kExact, testing::kAllowedSub, rules::Action::kAllow),
                     entry(K::kUrl, testing::kUrlEntry), entry(K::kIp, testing::kBlockedPrefix)}));
  lists.push_back(
      testing::list("fia-csam", "fia", true, {entry(K::kDomain, testing::kAlertDomain)}));
  lists.push_back(
      testing::list("fia-shadow", "fia", false, {entry(K::kDomain, testing::kShadowDomain)}));
  for (rules::List& l : lists) l.meta.version = list_version;
  rules::CompileOptions options;
  options.shadow_lists = {"fia-shadow"};
  return rules::compile(lists, options);
}

// ---- checking output frames as they leave --------------------------------------------------

bool same_address(const mt::IpAddr& want, const parse::IpAddress& got) {
  if (want.v6 != (got.family == parse::IpFamily::kV6)) return false;
  return std::equal(want.bytes.begin(), want.bytes.begin() + (want.v6 ? 16 : 4), got.bytes);
}

// What a reply frame is, from its own bytes; "" when it is none of ours. `client` and
// `client_port` say whose flow it answers.
std::string classify(parse::Bytes f, const Input& in) {
  parse::PacketInfo info;
  if (parse::decode_packet(parse::LinkType::kEthernet, f, &info) != parse::ParseStatus::kOk)
    return "";
  const bool to_client = same_address(in.client, info.dst) && info.dst_port == in.client_port;
  const bool to_server = same_address(in.client, info.src) && info.src_port == in.client_port;
  if (!to_client && !to_server) return "reply for another flow";
  if ((info.tcp_flags & parse::tcp_flag::kRst) != 0)
    return name(to_client ? Reply::kRstToClient : Reply::kRstToServer);
  const std::string_view payload(reinterpret_cast<const char*>(info.l4_payload.data()),
                                 info.l4_payload.size());
  if (to_client && payload.starts_with("HTTP/1.1 302")) return name(Reply::kRedirect);
  if (!to_client || info.src_port != 53) return "";
  auto m = std::make_unique<parse::DnsMessage>();
  if (parse::parse_dns_message(info.l4_payload, m.get()) != parse::ParseStatus::kOk ||
      !m->is_response)
    return "";
  return name(m->rcode == 3 ? Reply::kDnsNxdomain : Reply::kDnsStopPage);
}

// The frames each TX ring must carry, in order, and how far they got.
class OutputChecker {
 public:
  explicit OutputChecker(const Stream& s) : s_(s) {
    for (uint32_t i = 0; i < s.sub.size(); ++i) {
      const Input& in = s.sub[i];
      for (Reply r : in.to_server) to_server_.push_back({i, r, false});
      if (in.forwarded()) to_server_.push_back({i, Reply::kDnsStopPage, true});
      for (Reply r : in.to_client) to_client_.push_back({i, r, false});
    }
  }

  // Port 1 (towards the servers): exactly to_server_, in order. A frame that is not the next
  // one wanted is looked for a little further on (what it skipped is missing), then among the
  // nearby subscriber frames (forwarded although blocked), so one fault is reported as itself.
  void port1(parse::Bytes f) {
    ++seen1_;
    for (size_t j = pos1_; j < std::min(to_server_.size(), pos1_ + kLookahead); ++j) {
      if (!matches(to_server_[j], f)) continue;
      for (size_t k = pos1_; k < j; ++k) problem("port 1: missing " + describe(to_server_[k]));
      pos1_ = j + 1;
      return;
    }
    const size_t near = pos1_ < to_server_.size() ? to_server_[pos1_].input : s_.sub.size();
    for (size_t i = near > kLookahead ? near - kLookahead : 0;
         i < std::min<size_t>(s_.sub.size(), near + kLookahead); ++i) {
      if (same(f, s_.sub[i].frame)) {
        return problem("port 1: subscriber frame " + std::to_string(i) + " (" +
                       std::string(counter_reason(s_.sub[i].reason)) + ") forwarded out of turn");
      }
    }
    problem("port 1: unexpected frame near subscriber frame " + std::to_string(near));
  }

  // Port 0 (towards the subscribers): the upstream frames in order, interleaved with the
  // replies to subscribers in order (they come from different RX ports).
  void port0(parse::Bytes f) {
    ++seen0_;
    for (size_t j = up_; j < std::min(s_.up.size(), up_ + kLookahead); ++j) {
      if (!same(f, s_.up[j])) continue;
      for (size_t k = up_; k < j; ++k)
        problem("port 0: missing upstream frame " + std::to_string(k));
      up_ = j + 1;
      return;
    }
    for (size_t j = pos0_; j < std::min(to_client_.size(), pos0_ + kLookahead); ++j) {
      if (!matches(to_client_[j], f)) continue;
      for (size_t k = pos0_; k < j; ++k) problem("port 0: missing " + describe(to_client_[k]));
      pos0_ = j + 1;
      return;
    }
    problem("port 0: unexpected frame near " +
            (pos0_ < to_client_.size() ? describe(to_client_[pos0_]) : std::string("the end")));
  }

  bool complete() const {
    return pos1_ == to_server_.size() && pos0_ == to_client_.size() && up_ == s_.up.size();
  }
  uint64_t seen() const { return seen0_ + seen1_; }

  struct Summary {
    uint64_t mismatches = 0;
    std::vector<std::string> first;
    size_t want_port1 = 0, got_port1 = 0, want_replies0 = 0, got_replies0 = 0, want_up = 0,
           got_up = 0;
    uint64_t frames_port0 = 0, frames_port1 = 0;
  };
  Summary summary() const {
    return {
        mismatches_, first_, to_server_.size(), pos1_, to_client_.size(), pos0_, s_.up.size(), up_,
        seen0_,      seen1_};
  }

 private:
  struct Want {
    uint32_t input;
    Reply reply;
    bool forward;
  };
  static constexpr size_t kLookahead = 256;
  static bool same(parse::Bytes f, const ByteVector& b) {
    return f.size() == b.size() && std::equal(f.begin(), f.end(), b.begin());
  }
  bool matches(const Want& w, parse::Bytes f) const {
    const Input& in = s_.sub[w.input];
    return w.forward ? same(f, in.frame) : classify(f, in) == name(w.reply);
  }
  static std::string describe(const Want& w) {
    return (w.forward ? std::string("forwarded") : std::string(name(w.reply))) +
           " of subscriber frame " + std::to_string(w.input);
  }
  void problem(std::string what) {
    ++mismatches_;
    if (first_.size() < 10) first_.push_back(std::move(what));
  }

  const Stream& s_;
  std::vector<Want> to_server_, to_client_;
  size_t pos1_ = 0, pos0_ = 0, up_ = 0;
  uint64_t seen0_ = 0, seen1_ = 0;
  uint64_t mismatches_ = 0;
  std::vector<std::string> first_;
};

// ---- the run ----------------------------------------------------------------------------------

struct SwapResult {
  bool answered = false;
  bool ok = false;
  uint64_t version = 0;
  std::string error;
  bool during_traffic = false;  // the worker received frames while the load was in flight
  uint64_t pending = 0;         // frames fed but not yet received when the load was sent
  double ms = 0;
};

// One OutputChecker per queue, each over its queue's frames (a worker keeps the order of its
// own queue only); the summary adds them up.
class QueueCheckers {
 public:
  explicit QueueCheckers(const QueueStreams& qs) {
    checkers_.reserve(qs.queues.size());
    for (const Stream& s : qs.queues) checkers_.emplace_back(s);
  }
  OutputChecker& operator[](size_t q) { return checkers_[q]; }
  bool complete() const {
    return std::all_of(checkers_.begin(), checkers_.end(),
                       [](const OutputChecker& c) { return c.complete(); });
  }
  OutputChecker::Summary summary() const {
    OutputChecker::Summary all;
    for (size_t q = 0; q < checkers_.size(); ++q) {
      const OutputChecker::Summary one = checkers_[q].summary();
      all.mismatches += one.mismatches;
      for (const std::string& f : one.first) {
        if (all.first.size() < 10)
          all.first.push_back(checkers_.size() > 1 ? "queue " + std::to_string(q) + ": " + f : f);
      }
      all.want_port1 += one.want_port1;
      all.got_port1 += one.got_port1;
      all.want_replies0 += one.want_replies0;
      all.got_replies0 += one.got_replies0;
      all.want_up += one.want_up;
      all.got_up += one.got_up;
      all.frames_port0 += one.frames_port0;
      all.frames_port1 += one.frames_port1;
    }
    return all;
  }

 private:
  std::vector<OutputChecker> checkers_;
};

struct RunResult {
  fs::path dir;
  Stream stream;
  QueueStreams queues;  // the stream split as the RX queues received it
  OutputChecker::Summary output;
  uint64_t extra_after_stop = 0;  // frames in the TX rings once everything wanted arrived
  std::vector<SwapResult> swaps;
  std::vector<uint32_t> acked_at_feed;  // per step: loads acknowledged when it was fed
  std::vector<api::AccessEvent> events;
  uint64_t event_batches = 0, event_sequence_gaps = 0, events_dropped_before_numbering = 0;
  std::vector<uint64_t> packets;  // per EngineCounter, summed over workers
  uint64_t rx[2] = {}, tx[2] = {}, tx_dropped[2] = {};
  std::vector<uint64_t> worker_rx;  // frames each worker received, both ports
  std::vector<api::Metric> metrics;
  unsigned pool_in_use_before = 0, pool_in_use_after = 0, peak_in_use = 0;
  bool traffic_stalled = false;
  double seconds = 0;
  bool ran = false;
};
RunResult* g_run = nullptr;

// Shared by the traffic thread, the swap thread and the main lcore.
struct Pace {
  std::atomic<uint64_t> fed{0};    // steps enqueued
  std::atomic<uint32_t> acked{0};  // swaps answered
  std::atomic<bool> stop{false};   // give up (stall)
  std::atomic<bool> traffic_done{false};
  std::atomic<bool> swaps_done{false};
};

rte_mbuf* to_mbuf(rte_mempool* pool, const ByteVector& f) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) return nullptr;
  char* d = rte_pktmbuf_append(m, static_cast<uint16_t>(f.size()));
  if (d == nullptr) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  std::memcpy(d, f.data(), f.size());
  return m;
}

parse::Bytes view(const rte_mbuf* m) {
  return parse::Bytes(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len);
}

// Drains one TX ring through `check`; returns frames taken.
template <typename F>
unsigned drain(rte_ring* r, F&& check) {
  void* objs[64];
  const unsigned n = rte_ring_dequeue_burst(r, objs, 64, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    auto* m = static_cast<rte_mbuf*>(objs[i]);
    check(view(m));
    rte_pktmbuf_free(m);
  }
  return n;
}

struct Rings {
  rte_ring* rx[2][kMaxQueues] = {};  // what the engine receives on port 0 / 1, per queue
  rte_ring* tx[2][kMaxQueues] = {};  // what it sends
};

void traffic_main(const Engine& engine, const Stream& s, const QueueStreams& qs, const Rings& rings,
                  rte_mempool* pool, QueueCheckers& out, Pace& pace, unsigned* peak_in_use,
                  std::vector<uint32_t>* acked_at_feed) {
  const uint64_t total = s.steps.size();
  const uint64_t chunk = total / (kSwaps + 1);
  uint64_t next = 0;
  auto last_progress = Clock::now();
  while (!pace.stop.load()) {
    bool progress = false;
    for (uint32_t q = 0; q < g_workers; ++q) {
      progress |= drain(rings.tx[1][q], [&](parse::Bytes f) { out[q].port1(f); }) > 0;
      progress |= drain(rings.tx[0][q], [&](parse::Bytes f) { out[q].port0(f); }) > 0;
    }
    const uint32_t acked = pace.acked.load();
    const uint64_t limit =
        acked >= kSwaps ? total : std::min(total, (acked + 1) * chunk + chunk / 2);
    const unsigned in_use = rte_mempool_in_use_count(pool);
    *peak_in_use = std::max(*peak_in_use, in_use);
    if (in_use < kMaxMbufsInUse) {
      for (int k = 0; k < 32 && next < limit; ++k) {
        const Step& st = s.steps[next];
        rte_ring* rx = rings.rx[st.port][qs.step_queue[next]];
        if (rte_ring_free_count(rx) == 0) break;
        rte_mbuf* m = to_mbuf(pool, st.port == 0 ? s.sub[st.index].frame : s.up[st.index]);
        if (m == nullptr) break;
        if (rte_ring_enqueue(rx, m) != 0) {
          rte_pktmbuf_free(m);
          break;
        }
        (*acked_at_feed)[next] = acked;
        ++next;
        progress = true;
      }
      pace.fed.store(next);
    }
    if (next == total && out.complete()) break;
    // Everything was received and nothing came out for a while: frames are missing. The
    // checks say which; waiting for kStallTimeout would add nothing.
    const bool all_received = engine.rx_packets(0) + engine.rx_packets(1) == total;
    if (next == total && all_received && !progress &&
        Clock::now() - last_progress > std::chrono::seconds(2)) {
      break;
    }
    if (progress) {
      last_progress = Clock::now();
    } else if (Clock::now() - last_progress > kStallTimeout) {
      pace.stop.store(true);
      break;
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }
  pace.traffic_done.store(true);
}

void swap_main(const Engine& engine, const std::string& endpoint, const std::string a,
               const std::string& b, uint64_t total_steps, Pace& pace,
               std::vector<SwapResult>* results) {
  const uint64_t chunk = total_steps / (kSwaps + 1);
  for (uint32_t k = 1; k <= kSwaps && !pace.stop.load(); ++k) {
    auto received = [&] { return engine.rx_packets(0) + engine.rx_packets(1); };
    while (received() < k * chunk && !pace.stop.load())
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    if (pace.stop.load()) break;
    SwapResult r;
    const uint64_t rx_before = received();
    r.pending = pace.fed.load() - std::min(pace.fed.load(), rx_before);
    const auto t0 = Clock::now();
    // Load k makes version k + 1: odd versions are a (the initial file's lists), even ones b.
    const runtime::CtlResponse resp = runtime::ctl_request(
        endpoint, api::RulesetLoad{k % 2 == 1 ? b : a}, std::chrono::milliseconds(10'000));
    r.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    r.during_traffic = received() > rx_before;
    if (!resp.reply) {
      r.error = resp.error;
    } else if (const auto* load = std::get_if<api::RulesetLoadReply>(&*resp.reply)) {
      r.answered = true;
      r.ok = load->ok;
      r.version = load->version;
      r.error = load->error;
    } else {
      r.answered = true;
      r.error = "not a ruleset-load-reply";
    }
    results->push_back(std::move(r));
    pace.acked.store(k);
  }
  pace.swaps_done.store(true);
}

// Takes every access-event batch waiting on `pull`.
void receive_events(void* pull, RunResult& run) {
  for (;;) {
    zmq_msg_t head, body;
    zmq_msg_init(&head);
    if (zmq_msg_recv(&head, pull, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&head);
      return;
    }
    zmq_msg_init(&body);
    zmq_msg_recv(&body, pull, 0);
    const auto batch = api::decode_event_batch(
        {static_cast<const uint8_t*>(zmq_msg_data(&head)), zmq_msg_size(&head)},
        {static_cast<const uint8_t*>(zmq_msg_data(&body)), zmq_msg_size(&body)});
    EXPECT_TRUE(batch) << batch.error;
    if (batch) {
      if (batch.value->header.first_sequence != run.events.size()) ++run.event_sequence_gaps;
      run.events_dropped_before_numbering = batch.value->header.dropped_total;
      run.events.insert(run.events.end(), batch.value->events.begin(), batch.value->events.end());
      ++run.event_batches;
    }
    zmq_msg_close(&head);
    zmq_msg_close(&body);
  }
}

class ReloadRun : public ::testing::Environment {
 public:
  void SetUp() override {
    static RunResult run;
    g_run = &run;
    run.stream = Generator().run();
    run.queues = split_by_queue(run.stream, g_workers);
    char tmpl[] = "/tmp/muhafiz-reload-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    run.dir = tmpl;
    const std::string a = (run.dir / "a.snapshot").string();
    const std::string b = (run.dir / "b.snapshot").string();
    rules::write_snapshot(a, snapshot(kListVersionA));
    rules::write_snapshot(b, snapshot(kListVersionB));
    // The engine keeps the last good ruleset at ruleset_path (hard link + rename on every
    // load): a file of its own, so a and b stay what they are.
    rules::write_snapshot((run.dir / "live.snapshot").string(), snapshot(kListVersionA));

    EngineConfig cfg = testing::test_engine_config("engine_reload_test", run.dir,
                                                   (run.dir / "live.snapshot").string());
    cfg.ports = {"net_ring_sub", "net_ring_up"};  // rte_eth_from_rings("sub" / "up") below
    cfg.rx_descriptors = kRxRingSize;
    cfg.tx_descriptors = kRxRingSize;
    cfg.mbufs = kMbufs;
    cfg.flow_capacity = 16384;
    cfg.flow_buffers = 64;
    cfg.verdict_cache_capacity = 65536;
    cfg.event_ring_size = 16384;
    cfg.metrics_listen = "";
    cfg.workers = g_workers;
    cfg.queue_spread = g_workers > 1 ? QueueSpread::kDevice : QueueSpread::kRss;
    ASSERT_TRUE(validate(cfg).empty()) << validate(cfg).front().message;

    void* zmq = zmq_ctx_new();
    void* pull = zmq_socket(zmq, ZMQ_PULL);
    ASSERT_EQ(zmq_bind(pull, cfg.events_endpoint.c_str()), 0);

    // No --vdev: the ring ports are made here, before the engine looks them up by name.
    // The main lcore on CPU 0, every worker lcore on CPU 1 (this machine has two). Workers
    // sharing a CPU are preempted, and one preempted inside a mempool or ring operation makes
    // the other spin until it runs again: slower, never wrong.
    std::string lcores = "0@0";
    for (uint32_t w = 1; w <= g_workers; ++w) lcores += "," + std::to_string(w) + "@1";
    init_eal({"engine_reload_test", "--lcores", lcores, "--no-huge", "--no-shconf", "-m", "128",
              "--no-pci", "--log-level", "lib.eal:warning"});
    Rings rings;
    const char* names[2] = {"sub", "up"};
    for (int p = 0; p < 2; ++p) {
      for (uint32_t q = 0; q < g_workers; ++q) {
        const std::string suffix = std::string(names[p]) + "_" + std::to_string(q);
        rings.rx[p][q] = rte_ring_create(("rx_" + suffix).c_str(), kRxRingSize, 0,
                                         RING_F_SP_ENQ | RING_F_SC_DEQ);
        rings.tx[p][q] = rte_ring_create(("tx_" + suffix).c_str(), kTxRingSize, 0,
                                         RING_F_SP_ENQ | RING_F_SC_DEQ);
        ASSERT_TRUE(rings.rx[p][q] != nullptr && rings.tx[p][q] != nullptr);
      }
      ASSERT_GE(rte_eth_from_rings(names[p], rings.rx[p], g_workers, rings.tx[p], g_workers, 0), 0);
    }

    {
      Engine engine(cfg);
      rte_mempool* pool = rte_mempool_lookup("muhafiz_mbufs");
      ASSERT_NE(pool, nullptr);
      run.pool_in_use_before = rte_mempool_in_use_count(pool);
      QueueCheckers out(run.queues);
      Pace pace;
      engine.start();
      const auto t0 = Clock::now();
      run.acked_at_feed.assign(run.stream.steps.size(), 0);
      std::thread traffic(traffic_main, std::cref(engine), std::cref(run.stream),
                          std::cref(run.queues), std::cref(rings), pool, std::ref(out),
                          std::ref(pace), &run.peak_in_use, &run.acked_at_feed);
      std::thread swapper(swap_main, std::cref(engine), cfg.control_endpoint, a, b,
                          run.stream.steps.size(), std::ref(pace), &run.swaps);
      // The main lcore: control requests (the loads), RCU reclaim, events.
      while (!pace.traffic_done.load() || !pace.swaps_done.load()) {
        engine.housekeeping();
        receive_events(pull, run);
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      traffic.join();
      swapper.join();
      run.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      run.traffic_stalled = pace.stop.load();
      engine.stop();  // the workers flush their TX buffers: nothing more may come
      for (int p = 0; p < 2; ++p) {
        for (uint32_t q = 0; q < g_workers; ++q) {
          while (drain(rings.tx[p][q], [&](parse::Bytes) { ++run.extra_after_stop; }) > 0) {
          }
        }
      }
      run.output = out.summary();
      // Events still on their way: the rings, the backlog, the socket.
      const auto deadline = Clock::now() + std::chrono::seconds(10);
      auto last = Clock::now();
      size_t had = run.events.size();
      while (Clock::now() < deadline && Clock::now() - last < std::chrono::milliseconds(500)) {
        engine.housekeeping();
        receive_events(pull, run);
        if (run.events.size() != had) {
          had = run.events.size();
          last = Clock::now();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      run.packets.assign(kEngineCounterCount, 0);
      run.worker_rx.assign(engine.workers(), 0);
      for (uint32_t w = 0; w < engine.workers(); ++w) {
        for (uint32_t c = 0; c < kEngineCounterCount; ++c)
          run.packets[c] += engine.counters(w).get(static_cast<EngineCounter>(c));
        for (int p = 0; p < 2; ++p) {
          run.tx[p] += engine.counters(w).ports[p].tx_packets.get();
          run.tx_dropped[p] += engine.counters(w).ports[p].tx_dropped.get();
          run.worker_rx[w] += engine.counters(w).ports[p].rx_packets.get();
        }
      }
      run.rx[0] = engine.rx_packets(0);
      run.rx[1] = engine.rx_packets(1);
      engine.collect(&run.metrics);
      run.pool_in_use_after = rte_mempool_in_use_count(pool);
    }
    // The engine closed the ports; the ring PMD leaves attached rings to their owner.
    for (int p = 0; p < 2; ++p) {
      for (uint32_t q = 0; q < g_workers; ++q) {
        rte_ring_free(rings.rx[p][q]);
        rte_ring_free(rings.tx[p][q]);
      }
    }
    zmq_close(pull);
    zmq_ctx_term(zmq);
    run.ran = true;
    std::fprintf(stderr,
                 "engine_reload_test: %u worker(s), %zu subscriber + %zu upstream frames, %zu "
                 "swaps, %zu events in %.2f s; peak mbufs in use %u\n",
                 g_workers, run.stream.sub.size(), run.stream.up.size(), run.swaps.size(),
                 run.events.size(), run.seconds, run.peak_in_use);
  }

  void TearDown() override {
    rte_eal_cleanup();
    if (g_run != nullptr && !g_run->dir.empty()) fs::remove_all(g_run->dir);
  }
};

// ---- checks -----------------------------------------------------------------------------------

uint64_t metric(const std::vector<api::Metric>& ms, const std::string& name,
                const std::vector<std::pair<std::string, std::string>>& labels = {}) {
  uint64_t v = 0;
  for (const api::Metric& m : ms) {
    if (m.name != name) continue;
    bool match = true;
    for (const auto& l : labels) {
      if (std::find(m.labels.begin(), m.labels.end(), l) == m.labels.end()) match = false;
    }
    if (match) v += m.value;
  }
  return v;
}

TEST(EngineReload, EveryLoadWasAcknowledgedWhileFramesFlowed) {
  ASSERT_TRUE(g_run != nullptr && g_run->ran);
  const RunResult& r = *g_run;
  EXPECT_FALSE(r.traffic_stalled) << "the traffic stopped making progress";
  ASSERT_EQ(r.swaps.size(), kSwaps);
  uint32_t during = 0, pending = 0;
  double slowest = 0;
  uint32_t failed = 0;
  for (size_t k = 0; k < r.swaps.size(); ++k) {
    const SwapResult& s = r.swaps[k];
    if ((!s.answered || !s.ok || s.version != k + 2) && ++failed <= 5) {
      ADD_FAILURE() << "load " << k + 1 << " (" << (k % 2 == 0 ? "b" : "a")
                    << "): " << (s.ok ? "ok" : "refused") << ", version " << s.version
                    << " (wanted " << k + 2 << ") " << s.error;
    }
    during += s.during_traffic ? 1 : 0;
    pending += s.pending > 0 ? 1 : 0;
    slowest = std::max(slowest, s.ms);
  }
  EXPECT_EQ(failed, 0u) << "loads not acknowledged ok with the next version";
  std::fprintf(stderr,
               "engine_reload_test: of %u loads, %u were sent with frames waiting in the RX "
               "rings and %u saw the worker receive frames during their round trip; slowest "
               "round trip %.1f ms\n",
               kSwaps, pending, during, slowest);
  // Informative more than exact (a preempted worker receives nothing for a while); the event
  // versions below are the exact proof.
  EXPECT_GE(during, kSwaps / 10) << "the swaps did not overlap the traffic";
  EXPECT_EQ(metric(r.metrics, "ruleset_version"), kSwaps + 1);
  EXPECT_EQ(metric(r.metrics, "ruleset_loads", {{"result", "busy"}}), 0u);
  EXPECT_EQ(metric(r.metrics, "rulesets_reclaimed"), kSwaps) << "every replaced ruleset freed";
  EXPECT_EQ(metric(r.metrics, "rulesets_retired_pending"), 0u);
}

// Port 1 carries what port 0 received, in order: allowed frames byte for byte, resets to the
// server where a blocked packet was. Port 0 carries the server side (forwarded as received)
// and the replies to subscribers.
TEST(EngineReload, NoFrameWasLostMisjudgedOrSentTwice) {
  ASSERT_TRUE(g_run != nullptr && g_run->ran);
  const OutputChecker::Summary& o = g_run->output;
  EXPECT_EQ(o.mismatches, 0u);
  for (const std::string& p : o.first) ADD_FAILURE() << p;
  EXPECT_EQ(o.got_port1, o.want_port1) << "frames towards the servers";
  EXPECT_EQ(o.got_replies0, o.want_replies0) << "replies to subscribers";
  EXPECT_EQ(o.got_up, o.want_up) << "server frames towards the subscribers";
  EXPECT_EQ(o.frames_port1, o.want_port1);
  EXPECT_EQ(o.frames_port0, o.want_replies0 + o.want_up);
  EXPECT_EQ(g_run->extra_after_stop, 0u) << "frames nobody expected";
  EXPECT_GE(g_run->stream.sub.size(), kSubscriberFrames);
}

// Every blocked frame that names something raised exactly one enforced event for its own flow,
// decided by a ruleset version that never went back, whose list version is the one of the file
// loaded as that version; the events span the swaps.
TEST(EngineReload, EveryBlockedFrameRaisedOneEventFromAConsistentRuleset) {
  ASSERT_TRUE(g_run != nullptr && g_run->ran);
  const RunResult& r = *g_run;
  auto key = [](bool v6, const uint8_t* addr, uint16_t port) {
    std::string k(1, v6 ? '6' : '4');
    k.append(reinterpret_cast<const char*>(addr), v6 ? 16 : 4);
    k.append(reinterpret_cast<const char*>(&port), 2);
    return k;
  };
  std::unordered_map<std::string, uint32_t> by_flow;
  size_t wanted = 0;
  for (uint32_t i = 0; i < r.stream.sub.size(); ++i) {
    const Input& in = r.stream.sub[i];
    if (!in.event) continue;
    ++wanted;
    ASSERT_TRUE(
        by_flow.emplace(key(in.client.v6, in.client.bytes.data(), in.client_port), i).second);
  }
  EXPECT_EQ(r.event_sequence_gaps, 0u);
  EXPECT_EQ(r.events_dropped_before_numbering, 0u);
  ASSERT_EQ(r.events.size(), wanted) << "one event per blocked frame";

  std::vector<uint64_t> version_of(r.stream.sub.size(), 0);
  std::vector<uint32_t> acked_at_feed(r.stream.sub.size(), 0);
  std::vector<uint8_t> queue_of(r.stream.sub.size(), 0);  // the RX queue, so the worker
  for (size_t i = 0; i < r.stream.steps.size(); ++i) {
    if (r.stream.steps[i].port != 0) continue;
    acked_at_feed[r.stream.steps[i].index] = r.acked_at_feed[i];
    queue_of[r.stream.steps[i].index] = r.queues.step_queue[i];
  }
  uint64_t problems = 0;
  auto fail = [&](const std::string& what) {
    if (++problems <= 10) ADD_FAILURE() << what;
  };
  for (const api::AccessEvent& ev : r.events) {
    const auto it =
        by_flow.find(key(ev.family == api::kFamilyV6, ev.subscriber, ev.subscriber_port));
    if (it == by_flow.end()) {
      fail("event for no blocked frame: " + std::string(ev.name_view()));
      continue;
    }
    const Input& in = r.stream.sub[it->second];
    const std::string at = " (subscriber frame " + std::to_string(it->second) + ")";
    if (version_of[it->second] != 0) fail("second event" + at);
    version_of[it->second] = ev.ruleset_version;
    if (!api::validate(ev).empty()) fail("invalid event: " + api::validate(ev) + at);
    if (ev.kind != in.event_kind || ev.name_view() != in.event_name)
      fail(std::string(api::to_string(ev.kind)) + " " + std::string(ev.name_view()) + ", wanted " +
           std::string(api::to_string(in.event_kind)) + " " + in.event_name + at);
    if (ev.flags != api::kEventEnforced) fail("flags " + std::to_string(ev.flags) + at);
    if (ev.worker != queue_of[it->second])
      fail("raised by worker " + std::to_string(ev.worker) + ", but the frame was on queue " +
           std::to_string(queue_of[it->second]) + at);
    // Load a acknowledged made version a + 1; the burst acquired just before may use version a.
    if (ev.ruleset_version < std::max<uint64_t>(1, acked_at_feed[it->second]) ||
        ev.ruleset_version > kSwaps + 1)
      fail("ruleset version " + std::to_string(ev.ruleset_version) + " with " +
           std::to_string(acked_at_feed[it->second]) + " loads acknowledged at feed time" + at);
    const uint64_t list_version = ev.ruleset_version % 2 == 1 ? kListVersionA : kListVersionB;
    if (ev.list_version != list_version)
      fail("ruleset version " + std::to_string(ev.ruleset_version) + " matched with list version " +
           std::to_string(ev.list_version) + at);
  }
  // Each worker takes its queue's frames in order and acquires the ruleset afresh for each
  // burst. (Across workers the versions interleave: one may still be in a burst of the old.)
  std::vector<uint64_t> last(g_workers, 0);
  std::set<uint64_t> distinct;
  for (uint32_t i = 0; i < version_of.size(); ++i) {
    if (version_of[i] == 0) continue;
    uint64_t& l = last[queue_of[i]];
    if (version_of[i] < l)
      fail("frame " + std::to_string(i) + " judged by version " + std::to_string(version_of[i]) +
           " after an earlier frame of its queue by " + std::to_string(l));
    l = std::max(l, version_of[i]);
    distinct.insert(version_of[i]);
  }
  EXPECT_EQ(problems, 0u);
  std::fprintf(stderr, "engine_reload_test: events span %zu ruleset versions (%lu..%lu)\n",
               distinct.size(), distinct.empty() ? 0ul : *distinct.begin(),
               distinct.empty() ? 0ul : *distinct.rbegin());
  EXPECT_EQ(distinct.size(), kSwaps + 1) << "every version judged frames of its own";
}

TEST(EngineReload, CountersAgreeWithTheStream) {
  ASSERT_TRUE(g_run != nullptr && g_run->ran);
  const RunResult& r = *g_run;
  uint64_t want[kEngineCounterCount] = {};
  uint64_t client_replies = 0, server_replies = 0;
  for (const Input& in : r.stream.sub) {
    ++want[in.reason];
    client_replies += in.to_client.size();
    server_replies += in.to_server.size();
  }
  want[kPassed] += r.stream.up.size();
  uint64_t counted = 0;
  for (uint32_t c = 0; c < kEngineCounterCount; ++c) {
    if (counter_family(static_cast<EngineCounter>(c)) != "packets") continue;
    counted += r.packets[c];
    EXPECT_EQ(r.packets[c], want[c])
        << "packets_total{" << counter_reason(static_cast<EngineCounter>(c)) << "}";
  }
  EXPECT_EQ(counted, r.stream.sub.size() + r.stream.up.size());
  EXPECT_EQ(r.rx[0], r.stream.sub.size());
  EXPECT_EQ(r.rx[1], r.stream.up.size());
  EXPECT_EQ(r.tx[1], r.output.want_port1);
  EXPECT_EQ(r.tx[0], r.output.want_replies0 + r.output.want_up);
  EXPECT_EQ(r.tx_dropped[0] + r.tx_dropped[1], 0u);
  EXPECT_EQ(r.packets[kReplyNoMbuf] + r.packets[kReplyBuild] + r.packets[kReplyUnsupported], 0u);
  EXPECT_EQ(r.packets[kActionTcpResetServer], server_replies);
  EXPECT_EQ(r.packets[kActionDnsStopPage] + r.packets[kActionDnsNxdomain] +
                r.packets[kActionHttpRedirect] + r.packets[kActionTcpResetClient],
            client_replies);
  EXPECT_EQ(metric(r.metrics, "events_dropped_ring_full"), 0u);
  EXPECT_EQ(metric(r.metrics, "events_dropped_backlog_full"), 0u);
  EXPECT_EQ(metric(r.metrics, "events_sent"), r.events.size());
}

// Each worker received exactly the frames of its queue (more than half of what an
// even split gives it) and raised events. Which ruleset versions each one used is not
// required: two workers share one CPU here, and one may sleep through a version's frames.
TEST(EngineReload, EachWorkerJudgedItsOwnQueue) {
  ASSERT_TRUE(g_run != nullptr && g_run->ran);
  const RunResult& r = *g_run;
  ASSERT_EQ(r.worker_rx.size(), g_workers);
  std::vector<uint64_t> events(g_workers, 0);
  for (const api::AccessEvent& ev : r.events) {
    ASSERT_LT(ev.worker, g_workers);
    ++events[ev.worker];
  }
  for (uint32_t w = 0; w < g_workers; ++w) {
    const Stream& q = r.queues.queues[w];
    EXPECT_EQ(r.worker_rx[w], q.sub.size() + q.up.size()) << "worker " << w;
    EXPECT_GT(q.sub.size(), r.stream.sub.size() / g_workers / 2) << "queue " << w << " is thin";
    EXPECT_GT(events[w], 0u) << "worker " << w;
  }
}

TEST(EngineReload, EveryMbufWentBackToThePool) {
  ASSERT_TRUE(g_run != nullptr && g_run->ran);
  EXPECT_EQ(g_run->pool_in_use_after, g_run->pool_in_use_before);
  EXPECT_LT(g_run->peak_in_use, kMbufs);
}

}  // namespace
}  // namespace muhafiz::engine

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // Ours after gtest's: --workers N (1 to 4).
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--workers" && i + 1 < argc) {
      const int n = std::atoi(argv[++i]);
      if (n < 1 || n > static_cast<int>(muhafiz::engine::kMaxQueues)) {
        std::fprintf(stderr, "--workers must be 1 to %u\n", muhafiz::engine::kMaxQueues);
        return 2;
      }
      muhafiz::engine::g_workers = static_cast<uint32_t>(n);
    } else {
      std::fprintf(stderr, "unknown argument '%s' (only --workers N)\n", argv[i]);
      return 2;
    }
  }
  ::testing::AddGlobalTestEnvironment(new muhafiz::engine::ReloadRun);
  return RUN_ALL_TESTS();
}
