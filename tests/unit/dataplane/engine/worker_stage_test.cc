// The worker stage without EAL: hand-built frames in, verdicts, replies, counters and events out.
// Table-driven ({description, earlier packets, packet, expected verdict, replies, counters,
// events}) over DNS/UDP, DNS/TCP, HTTP, TLS in one and two segments, QUIC, ip lists, shadow
// and alert lists, url entries seen over TLS, and allowed traffic; then the modes (tap,
// fail-open/closed) one by one.
#include "dataplane/engine/worker_stage.h"

#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "dataplane/parse/dns.h"
#include "tests/support/packet_builder.h"
#include "tests/unit/dataplane/engine/test_ruleset.h"

namespace muhafiz::engine {
namespace {

using muhafiz::testing::ByteVector;
using muhafiz::testing::PacketBuilder;
using muhafiz::testing::TcpConversation;

constexpr const char* kClient = "192.0.2.10";
constexpr const char* kServer = "198.51.100.20";
constexpr const char* kResolver = "198.51.100.53";
constexpr const char* kStopPageUrl = "http://stop.example/blocked";
constexpr uint32_t kPta = 0, kFia = 1, kShadow = 2;  // list indexes (test_ruleset.h)

// ---- ruleset and sinks ------------------------------------------------------------------------

class TestRules final : public MatchSource {
 public:
  TestRules()
      : matcher_(rules::Matcher::from_bytes(testing::test_snapshot())),
        scratch_(matcher_->make_scratch()) {}
  rules::Verdict match(const rules::Observation& obs) noexcept override {
    return matcher_->match(obs, scratch_);
  }
  bool may_match_ip(const rules::IpAddress& ip) noexcept override {
    return matcher_->may_match_ip(ip);
  }
  uint64_t version() const noexcept override { return 3; }
  uint64_t list_version(uint32_t list) const noexcept override {
    return list < matcher_->list_count() ? matcher_->list(list).version : 0;
  }

 private:
  std::unique_ptr<const rules::Matcher> matcher_;
  rules::MatchScratch scratch_;
};

class Events final : public EventSink {
 public:
  void push(const api::AccessEvent& ev) noexcept override { seen.push_back(ev); }
  std::vector<api::AccessEvent> seen;
};

StageConfig test_config(Mode mode = Mode::kInline, FailMode fail = FailMode::kOpen) {
  StageConfig c;
  c.mode = mode;
  c.fail_mode = fail;
  c.worker = 1;
  c.extractor.flows = {1024, 16, 120'000'000};
  c.verdict_cache_capacity = 256;
  c.reply.placement = mode == Mode::kInline ? action::Placement::kInline : action::Placement::kTap;
  c.reply.dns_answer = action::DnsBlockAnswer::kStopPage;
  c.reply.stop_page_v4.family = parse::IpFamily::kV4;
  const uint8_t stop_page[4] = {192, 0, 2, 80};
  std::copy(stop_page, stop_page + 4, c.reply.stop_page_v4.bytes);
  c.reply.stop_page_url = kStopPageUrl;
  return c;
}

// A stage with its counters and events, fed frame by frame at 1 ms intervals.
struct Harness {
  explicit Harness(StageConfig cfg = test_config()) : stage(cfg, counters, events) {}
  Decision feed(const ByteVector& frame, MatchSource* r) {
    ++packets;
    clock.mono_us += 1000;
    clock.unix_ns += 1'000'000;
    return stage.process(parse::Bytes(frame.data(), frame.size()), r, clock);
  }
  uint64_t packets_counted() const {
    uint64_t n = 0;
    for (uint32_t c = 0; c < kEngineCounterCount; ++c) {
      if (counter_family(static_cast<EngineCounter>(c)) == "packets")
        n += counters.get(static_cast<EngineCounter>(c));
    }
    return n;
  }
  WorkerCounters counters;
  Events events;
  WorkerStage stage;
  PacketClock clock{1'000'000, 1'700'000'000'000'000'000};
  uint64_t packets = 0;
};

// ---- frames -----------------------------------------------------------------------------------

PacketBuilder udp(const char* dst, uint16_t sport, uint16_t dport) {
  PacketBuilder b;
  b.ethernet().ipv4(kClient, dst).udp(sport, dport);
  return b;
}
PacketBuilder tcp(const char* dst, uint16_t sport, uint16_t dport) {
  PacketBuilder b;
  b.ethernet().ipv4(kClient, dst).tcp(sport, dport);
  return b;
}

ByteVector dns_udp(const std::string& name, uint16_t sport = 40000, bool edns = false) {
  std::vector<muhafiz::testing::DnsQuestion> q{{name}};
  muhafiz::testing::DnsQueryOptions opt;
  if (edns) opt.edns_udp_size = 1232;
  return udp(kResolver, sport, 53).payload(muhafiz::testing::dns_query(0x1234, q, opt)).build();
}

// A conversation: the handshake (and any first segments) go in `before`, the last segment is
// the packet judged.
struct Conversation {
  std::vector<ByteVector> before;
  ByteVector packet;
};

Conversation tcp_message(const char* dst, uint16_t sport, uint16_t dport, const ByteVector& data,
                         std::vector<size_t> cuts = {}) {
  TcpConversation c(tcp(dst, sport, dport), 1000, 5000);
  Conversation out{c.handshake(), {}};
  std::vector<ByteVector> parts =
      cuts.empty() ? std::vector<ByteVector>{c.client_send(data)} : c.client_send_split(data, cuts);
  out.packet = parts.back();
  parts.pop_back();
  out.before.insert(out.before.end(), parts.begin(), parts.end());
  return out;
}

ByteVector tls_hello(const std::string& sni, size_t pad_to = 0) {
  muhafiz::testing::ClientHelloSpec spec;
  spec.sni = sni;
  spec.pad_to = pad_to;
  return muhafiz::testing::tls_records(muhafiz::testing::client_hello(spec));
}

ByteVector text(std::string_view s) { return ByteVector(s.begin(), s.end()); }

Conversation http(const std::string& host, const std::string& target, uint16_t sport = 41000) {
  return tcp_message(kServer, sport, 80, text(muhafiz::testing::http_request("GET", target, host)));
}

ByteVector quic_initial(const std::string& sni, uint16_t sport = 42000) {
  muhafiz::testing::ClientHelloSpec spec;
  spec.sni = sni;
  spec.quic = true;
  spec.alpn = {"h3"};
  muhafiz::testing::QuicInitialSpec q;
  q.dcid = {1, 2, 3, 4, 5, 6, 7, 8};
  q.scid = {9};
  q.crypto = {{0, muhafiz::testing::client_hello(spec)}};
  return udp(kServer, sport, 443).payload(muhafiz::testing::quic_client_initial(q)).build();
}

// A QUIC 1-RTT (short header) packet: fixed bit set, then opaque protected bytes.
ByteVector quic_short(uint16_t sport = 42000) {
  ByteVector payload{0x41, 1, 2, 3, 4, 5, 6, 7, 8};
  payload.resize(60, 0xab);
  return udp(kServer, sport, 443).payload(payload).build();
}

// ---- replies ----------------------------------------------------------------------------------

enum class ReplyKind {
  kDnsNxdomain,
  kDnsStopPage,
  kRstToClient,
  kRstToServer,
  kRedirect,
  kUnknown
};

std::ostream& operator<<(std::ostream& os, ReplyKind k) {
  constexpr const char* kNames[] = {"dns_nxdomain",  "dns_stop_page", "rst_to_client",
                                    "rst_to_server", "redirect",      "unknown"};
  return os << kNames[static_cast<int>(k)];
}

bool to_client(const parse::PacketInfo& info) {
  const auto client = muhafiz::testing::ip_address(kClient);
  return std::equal(client.bytes.begin(), client.bytes.begin() + 4, info.dst.bytes);
}

ReplyKind classify(parse::Bytes frame) {
  parse::PacketInfo info;
  if (parse::decode_packet(parse::LinkType::kEthernet, frame, &info) != parse::ParseStatus::kOk)
    return ReplyKind::kUnknown;
  if ((info.tcp_flags & parse::tcp_flag::kRst) != 0)
    return to_client(info) ? ReplyKind::kRstToClient : ReplyKind::kRstToServer;
  const std::string_view payload(reinterpret_cast<const char*>(info.l4_payload.data()),
                                 info.l4_payload.size());
  if (payload.starts_with("HTTP/1.1 302"))
    return to_client(info) ? ReplyKind::kRedirect : ReplyKind::kUnknown;
  if (info.src_port != 53 || !to_client(info)) return ReplyKind::kUnknown;
  parse::Bytes msg = info.l4_payload;
  if (info.l4_proto == parse::kIpProtoTcp) msg = msg.subspan(std::min<size_t>(2, msg.size()));
  auto m = std::make_unique<parse::DnsMessage>();
  if (parse::parse_dns_message(msg, m.get()) != parse::ParseStatus::kOk || !m->is_response)
    return ReplyKind::kUnknown;
  return m->rcode == 3 ? ReplyKind::kDnsNxdomain : ReplyKind::kDnsStopPage;
}

std::vector<ReplyKind> reply_kinds(const Decision& d) {
  std::vector<ReplyKind> out;
  for (uint8_t i = 0; i < d.reply_count; ++i) out.push_back(classify(d.replies[i].frame));
  return out;
}

// ---- the table --------------------------------------------------------------------------------

struct EventExpect {
  api::EventKind kind;
  uint32_t list;
  uint8_t flags;
  bool operator==(const EventExpect&) const = default;
};
std::ostream& operator<<(std::ostream& os, const EventExpect& e) {
  return os << "{kind " << int(e.kind) << " list " << e.list << " flags " << int(e.flags) << "}";
}

struct StageCase {
  std::string description;
  std::vector<ByteVector> before;  // earlier packets of the same conversation
  ByteVector packet;               // the packet judged
  Forward forward;
  EngineCounter reason;
  std::vector<ReplyKind> replies;
  std::vector<std::pair<EngineCounter, uint64_t>> counters;  // values after the whole case
  std::vector<EventExpect> events;                           // every event of the case
};

StageCase with(Conversation c, StageCase s) {
  s.before = std::move(c.before);
  s.packet = std::move(c.packet);
  return s;
}

constexpr uint8_t kEnforced = api::kEventEnforced;
using K = ReplyKind;
using E = api::EventKind;

std::vector<StageCase> cases() {
  std::vector<StageCase> t;
  // DNS over UDP: the query is dropped and answered; queries are judged one by one.
  t.push_back({"dns/udp: subdomain of a blocked domain gets the stop page",
               {},
               dns_udp("www.blocked.example"),
               Forward::kDrop,
               kBlocked,
               {K::kDnsStopPage},
               {{kInspectedDns, 1}, {kActionDnsStopPage, 1}, {kInspectedIp, 1}},
               {{E::kDns, kPta, kEnforced}}});
  t.push_back({"dns/udp: exact entry with action nxdomain gets NXDOMAIN",
               {},
               dns_udp("nx.example"),
               Forward::kDrop,
               kBlocked,
               {K::kDnsNxdomain},
               {{kActionDnsNxdomain, 1}},
               {{E::kDns, kPta, kEnforced}}});
  t.push_back({"dns/udp: entry with action drop is dropped unanswered",
               {},
               dns_udp("silent.example"),
               Forward::kDrop,
               kBlocked,
               {},
               {{kActionSilentDrop, 1}},
               {{E::kDns, kPta, kEnforced}}});
  t.push_back({"dns/udp: an allow entry exempts its name",
               {},
               dns_udp("ok.blocked.example"),
               Forward::kPass,
               kPassed,
               {},
               {{kInspectedDns, 1}},
               {}});
  t.push_back({"dns/udp: a name on no list passes",
               {},
               dns_udp("www.example.org"),
               Forward::kPass,
               kPassed,
               {},
               {{kInspectedDns, 1}},
               {}});
  t.push_back({"dns/udp: the next query from the same port is judged afresh",
               {dns_udp("www.blocked.example", 40001)},
               dns_udp("www.example.org", 40001),
               Forward::kPass,
               kPassed,
               {},
               {{kBlocked, 1}, {kPassed, 1}, {kFlowBlocked, 0}},
               {{E::kDns, kPta, kEnforced}}});
  t.push_back({"dns/udp: an alert list's match is blocked and flagged for the FIA",
               {},
               dns_udp("cdn.alert.example"),
               Forward::kDrop,
               kBlocked,
               {K::kDnsStopPage},
               {},
               {{E::kDns, kFia, kEnforced | api::kEventAlert}}});
  t.push_back({"dns/udp: a shadow list's match passes and is reported",
               {},
               dns_udp("shadowed.example"),
               Forward::kPass,
               kPassed,
               {},
               {{kActionDnsStopPage, 0}},
               {{E::kDns, kShadow, api::kEventShadow}}});
  // DNS over TCP: answered in the stream, the server reset.
  t.push_back(with(tcp_message(kResolver, 40100, 53,
                               muhafiz::testing::dns_tcp_frame(
                                   muhafiz::testing::dns_query(7, "a.blocked.example"))),
                   {"dns/tcp: blocked query answered, server reset",
                    {},
                    {},
                    Forward::kDrop,
                    kBlocked,
                    {K::kDnsStopPage, K::kRstToServer},
                    {{kPassed, 3}, {kActionTcpResetServer, 1}},
                    {{E::kDns, kPta, kEnforced}}}));
  t.push_back(with(
      tcp_message(kResolver, 40101, 53,
                  muhafiz::testing::dns_tcp_frame(muhafiz::testing::dns_query(8, "example.net"))),
      {"dns/tcp: allowed query passes",
       {},
       {},
       Forward::kPass,
       kPassed,
       {},
       {{kInspectedDns, 1}},
       {}}));
  // HTTP: 302 to the stop page, server reset.
  t.push_back(with(http("www.blocked.example", "/index.html"),
                   {"http: blocked host redirected, server reset",
                    {},
                    {},
                    Forward::kDrop,
                    kBlocked,
                    {K::kRedirect, K::kRstToServer},
                    {{kInspectedHttp, 1}, {kActionHttpRedirect, 1}},
                    {{E::kHttp, kPta, kEnforced}}}));
  t.push_back(with(http("img.example", "/bad/x.jpg"), {"http: url entry matches its path prefix",
                                                       {},
                                                       {},
                                                       Forward::kDrop,
                                                       kBlocked,
                                                       {K::kRedirect, K::kRstToServer},
                                                       {},
                                                       {{E::kHttp, kPta, kEnforced}}}));
  t.push_back(with(http("img.example", "/%62ad/./x.jpg"),
                   {"http: the path is canonicalised before matching",
                    {},
                    {},
                    Forward::kDrop,
                    kBlocked,
                    {K::kRedirect, K::kRstToServer},
                    {},
                    {{E::kHttp, kPta, kEnforced}}}));
  t.push_back(with(http("img.example", "/good/x.jpg"),
                   {"http: same host, path outside the url entry passes",
                    {},
                    {},
                    Forward::kPass,
                    kPassed,
                    {},
                    {{kInspectedHttp, 1}},
                    {}}));
  t.push_back(with(http("innocent.example", "http://www.blocked.example/a"),
                   {"http: an absolute-form target's authority wins over Host",
                    {},
                    {},
                    Forward::kDrop,
                    kBlocked,
                    {K::kRedirect, K::kRstToServer},
                    {},
                    {{E::kHttp, kPta, kEnforced}}}));
  t.push_back(with(http("www.example.org", "/"), {"http: allowed request passes",
                                                  {},
                                                  {},
                                                  Forward::kPass,
                                                  kPassed,
                                                  {},
                                                  {{kInspectedHttp, 1}},
                                                  {}}));
  // TLS: both sides reset, in one segment or when the second segment completes the hello.
  t.push_back(with(tcp_message(kServer, 43000, 443, tls_hello("www.blocked.example")),
                   {"tls: blocked SNI resets both sides",
                    {},
                    {},
                    Forward::kDrop,
                    kBlocked,
                    {K::kRstToClient, K::kRstToServer},
                    {{kPassed, 3},
                     {kInspectedTlsSni, 1},
                     {kActionTcpResetClient, 1},
                     {kActionTcpResetServer, 1},
                     {kVerdictCacheInsert, 1}},
                    {{E::kTlsSni, kPta, kEnforced}}}));
  t.push_back(with(tcp_message(kServer, 43001, 443, tls_hello("www.blocked.example", 1800), {900}),
                   {"tls: hello in two segments: the first passes, the second is blocked",
                    {},
                    {},
                    Forward::kDrop,
                    kBlocked,
                    {K::kRstToClient, K::kRstToServer},
                    {{kPassed, 4}, {kInspectedTlsSni, 1}},
                    {{E::kTlsSni, kPta, kEnforced}}}));
  {
    Conversation c = tcp_message(kServer, 43002, 443, tls_hello("www.blocked.example"));
    c.before.push_back(c.packet);  // blocked; the client retransmits it
    t.push_back(
        with(std::move(c), {"tls: a retransmission of a blocked hello is dropped uninspected",
                            {},
                            {},
                            Forward::kDrop,
                            kFlowBlocked,
                            {},
                            {{kBlocked, 1}, {kFlowBlocked, 1}, {kInspectedTlsSni, 1}},
                            {{E::kTlsSni, kPta, kEnforced}}}));
  }
  {
    // A bare ACK reads no flow state (it carries no stream bytes), but the verdict cache still
    // stops it: a blocked flow's ACKs do not pass either.
    TcpConversation tc(tcp(kServer, 43005, 443), 1000, 5000);
    Conversation c{tc.handshake(), {}};
    c.before.push_back(tc.client_send(tls_hello("www.blocked.example")));
    c.packet = tc.server_ack();
    t.push_back(with(std::move(c), {"tls: the server's bare ack of a blocked flow is dropped",
                                    {},
                                    {},
                                    Forward::kDrop,
                                    kFlowBlocked,
                                    {},
                                    {{kBlocked, 1}, {kFlowBlocked, 1}, {kInspectedTlsSni, 1}},
                                    {{E::kTlsSni, kPta, kEnforced}}}));
  }
  t.push_back(with(tcp_message(kServer, 43003, 443, tls_hello("img.example")),
                   {"tls: a url entry's host over TLS is reported, never blocked",
                    {},
                    {},
                    Forward::kPass,
                    kPassed,
                    {},
                    {{kInspectedTlsSni, 1}},
                    {{E::kTlsSni, kPta, api::kEventUrlNotEnforceable}}}));
  t.push_back(with(tcp_message(kServer, 43004, 443, tls_hello("www.example.org")),
                   {"tls: allowed SNI passes",
                    {},
                    {},
                    Forward::kPass,
                    kPassed,
                    {},
                    {{kInspectedTlsSni, 1}},
                    {}}));
  // QUIC: the flow is dropped, later packets too.
  t.push_back({"quic: blocked SNI drops the Initial",
               {},
               quic_initial("video.blocked.example"),
               Forward::kDrop,
               kBlocked,
               {},
               {{kInspectedQuicSni, 1}, {kActionSilentDrop, 1}},
               {{E::kQuicSni, kPta, kEnforced}}});
  t.push_back({"quic: later packets of a blocked flow are dropped",
               {quic_initial("video.blocked.example", 42001)},
               quic_short(42001),
               Forward::kDrop,
               kFlowBlocked,
               {},
               {{kBlocked, 1}, {kFlowBlocked, 1}},
               {{E::kQuicSni, kPta, kEnforced}}});
  t.push_back({"quic: allowed SNI passes",
               {},
               quic_initial("www.example.org", 42002),
               Forward::kPass,
               kPassed,
               {},
               {{kInspectedQuicSni, 1}},
               {}});
  // Destination prefix lists, on every packet; reported once per flow.
  {
    TcpConversation c(tcp("203.0.113.5", 44000, 443), 1, 2);
    const std::vector<ByteVector> hs = c.handshake();
    t.push_back({"ip: a SYN to a listed prefix is dropped",
                 {},
                 hs[0],
                 Forward::kDrop,
                 kIpBlocked,
                 {},
                 {{kInspectedIp, 1}, {kActionSilentDrop, 1}},
                 {{E::kIp, kPta, kEnforced}}});
    t.push_back({"ip: the flow's later packets are dropped, reported once",
                 {hs[0]},
                 hs[0],
                 Forward::kDrop,
                 kFlowBlocked,
                 {},
                 {{kIpBlocked, 1}, {kFlowBlocked, 1}},
                 {{E::kIp, kPta, kEnforced}}});
  }
  t.push_back({"ip: a UDP datagram to a listed prefix is dropped",
               {},
               udp("203.0.113.9", 45000, 9999).payload(text("x")).build(),
               Forward::kDrop,
               kIpBlocked,
               {},
               {},
               {{E::kIp, kPta, kEnforced}}});
  // What is not ours to judge passes.
  t.push_back({"not ip: ARP passes",
               {},
               PacketBuilder()
                   .ethernet_type(muhafiz::testing::kEtherTypeArp)
                   .payload(ByteVector(28, 0))
                   .build(),
               Forward::kPass,
               kPassed,
               {},
               {{kNotIp, 1}, {kInspectedIp, 0}},
               {}});
  {
    PacketBuilder icmp;
    muhafiz::testing::Ipv4Layer ip;
    ip.src = muhafiz::testing::ip_address(kClient);
    ip.dst = muhafiz::testing::ip_address(kServer);
    ip.protocol = 1;
    icmp.ethernet().ipv4(ip).payload(ByteVector{8, 0, 0, 0, 0, 1, 0, 1});
    t.push_back({"icmp to an unlisted address passes",
                 {},
                 icmp.build(),
                 Forward::kPass,
                 kPassed,
                 {},
                 {{kNotTcpUdp, 1}, {kInspectedIp, 1}},
                 {}});
  }
  {
    ByteVector broken =
        udp(kResolver, 40002, 53).payload(muhafiz::testing::dns_query(1, "x.example")).build();
    broken[14] = 0x44;  // IPv4 header length 4 words: shorter than the minimum
    t.push_back({"a broken IP header passes (fail open)",
                 {},
                 broken,
                 Forward::kPass,
                 kPassed,
                 {},
                 {{kMalformed, 1}},
                 {}});
  }
  return t;
}

class WorkerStageTable : public ::testing::Test {
 protected:
  TestRules rules_;
};

TEST_F(WorkerStageTable, EachCase) {
  for (const StageCase& c : cases()) {
    SCOPED_TRACE(c.description);
    Harness h;
    for (const ByteVector& f : c.before) {
      const Decision d = h.feed(f, &rules_);
      ASSERT_EQ(d.reply_count, d.forward == Forward::kPass ? 0 : d.reply_count);
    }
    const Decision d = h.feed(c.packet, &rules_);
    EXPECT_EQ(d.forward, c.forward);
    EXPECT_EQ(counter_reason(d.reason), counter_reason(c.reason));
    EXPECT_EQ(reply_kinds(d), c.replies);
    for (const auto& [counter, value] : c.counters) {
      EXPECT_EQ(h.counters.get(counter), value)
          << counter_family(counter) << "/" << counter_reason(counter);
    }
    std::vector<EventExpect> events;
    for (const api::AccessEvent& ev : h.events.seen) events.push_back({ev.kind, ev.list, ev.flags});
    EXPECT_EQ(events, c.events);
    EXPECT_EQ(h.packets_counted(), h.packets) << "every packet is counted under exactly one reason";
  }
}

// ---- replies and events in detail -------------------------------------------------------------

TEST_F(WorkerStageTable, DnsAnswerCarriesTheStopPageAndAnExtendedDnsError) {
  Harness h;
  const Decision d = h.feed(dns_udp("www.blocked.example", 40010, true), &rules_);
  ASSERT_EQ(d.reply_count, 1);
  EXPECT_EQ(d.replies[0].target, ReplyTarget::kSender);
  parse::PacketInfo info;
  ASSERT_EQ(parse::decode_packet(parse::LinkType::kEthernet, d.replies[0].frame, &info),
            parse::ParseStatus::kOk);
  EXPECT_EQ(info.src_port, 53);
  EXPECT_EQ(info.dst_port, 40010);
  const std::string_view msg(reinterpret_cast<const char*>(info.l4_payload.data()),
                             info.l4_payload.size());
  // The answer's RDATA is the stop page, 192.0.2.80.
  EXPECT_NE(msg.find(std::string_view("\x00\x04\xc0\x00\x02\x50", 6)), std::string_view::npos);
  // OPT carries EDE (option 15, RFC 8914) with INFO-CODE 16 (censored).
  EXPECT_NE(msg.find(std::string_view("\x00\x0f\x00\x02\x00\x10", 6)), std::string_view::npos);
}

TEST_F(WorkerStageTable, ResetsGoToBothEndsOfTheFlow) {
  Harness h;
  const Conversation c = tcp_message(kServer, 43100, 443, tls_hello("www.blocked.example"));
  for (const ByteVector& f : c.before) h.feed(f, &rules_);
  const Decision d = h.feed(c.packet, &rules_);
  ASSERT_EQ(d.reply_count, 2);
  EXPECT_EQ(d.replies[0].target, ReplyTarget::kSender);
  EXPECT_EQ(d.replies[1].target, ReplyTarget::kReceiver);
}

TEST_F(WorkerStageTable, EventsNameTheClientTheListAndTheUrl) {
  Harness h;
  const Conversation c = http("img.example", "/bad/a%20b.jpg?x=1", 41500);
  for (const ByteVector& f : c.before) h.feed(f, &rules_);
  h.feed(c.packet, &rules_);
  ASSERT_EQ(h.events.seen.size(), 1u);
  const api::AccessEvent& ev = h.events.seen[0];
  EXPECT_EQ(api::validate(ev), "");
  EXPECT_EQ(ev.name_view(), "img.example/bad/a%20b.jpg?x=1");
  EXPECT_EQ(ev.kind, api::EventKind::kHttp);
  EXPECT_EQ(ev.family, api::kFamilyV4);
  EXPECT_EQ(ev.l4_proto, parse::kIpProtoTcp);
  EXPECT_EQ(ev.subscriber_port, 41500);
  EXPECT_EQ(ev.destination_port, 80);
  EXPECT_EQ(ev.worker, 1);
  EXPECT_EQ(ev.ruleset_version, 3u);
  EXPECT_EQ(ev.list_version, 7u);
  EXPECT_EQ(ev.time_ns, h.clock.unix_ns);
  const auto client = muhafiz::testing::ip_address(kClient);
  EXPECT_TRUE(std::equal(client.bytes.begin(), client.bytes.begin() + 4, ev.subscriber));
  EXPECT_EQ(h.counters.list_matches[kPta][kMatchEnforced].get(), 1u);
}

TEST_F(WorkerStageTable, MatchesAreCountedByListAndUse) {
  Harness h;
  h.feed(dns_udp("shadowed.example"), &rules_);
  h.feed(tcp_message(kServer, 43200, 443, tls_hello("img.example")).packet,
         &rules_);  // picked up mid-stream
  h.feed(dns_udp("a.blocked.example"), &rules_);
  EXPECT_EQ(h.counters.list_matches[kShadow][kMatchShadow].get(), 1u);
  EXPECT_EQ(h.counters.list_matches[kPta][kMatchEnforced].get(), 1u);
  EXPECT_EQ(h.counters.list_matches[kPta][kMatchUrlNotEnforceable].get(), 1u);
}

// ---- modes ------------------------------------------------------------------------------------

TEST(WorkerStageModes, WithoutARulesetFailOpenPassesAndFailClosedDrops) {
  Harness open(test_config(Mode::kInline, FailMode::kOpen));
  Harness closed(test_config(Mode::kInline, FailMode::kClosed));
  const ByteVector q = dns_udp("www.blocked.example");
  EXPECT_EQ(open.feed(q, nullptr).forward, Forward::kPass);
  const Decision d = closed.feed(q, nullptr);
  EXPECT_EQ(d.forward, Forward::kDrop);
  EXPECT_EQ(d.reason, kNoRuleset);
  EXPECT_EQ(closed.counters.get(kNoRuleset), 1u);
  // ARP keeps the link alive even fail-closed.
  const ByteVector arp = PacketBuilder()
                             .ethernet_type(muhafiz::testing::kEtherTypeArp)
                             .payload(ByteVector(28, 0))
                             .build();
  EXPECT_EQ(closed.feed(arp, nullptr).forward, Forward::kPass);
}

TEST(WorkerStageModes, FailClosedDropsAStreamItCannotReassemble) {
  TestRules rules;
  StageConfig cfg = test_config(Mode::kInline, FailMode::kClosed);
  cfg.extractor.flows.buffers = 1;  // one flow may hold a partial message
  Harness h(cfg);
  const Conversation a = tcp_message(kServer, 46000, 443, tls_hello("a.example.org", 1800), {900});
  const Conversation b = tcp_message(kServer, 46001, 443, tls_hello("b.example.org", 1800), {900});
  for (const ByteVector& f : a.before) EXPECT_EQ(h.feed(f, &rules).forward, Forward::kPass);
  for (size_t i = 0; i + 1 < b.before.size(); ++i)
    EXPECT_EQ(h.feed(b.before[i], &rules).forward, Forward::kPass);
  const Decision d = h.feed(b.before.back(), &rules);  // its first half finds no buffer
  EXPECT_EQ(d.forward, Forward::kDrop);
  EXPECT_EQ(d.reason, kUninspectable);
  EXPECT_EQ(h.feed(b.packet, &rules).reason, kFlowBlocked);
  EXPECT_EQ(h.feed(a.packet, &rules).forward, Forward::kPass);  // the flow that had a buffer
  EXPECT_EQ(h.packets_counted(), h.packets);
}

// A hello that says it is longer than the reassembly cap cannot be read: fail-closed drops its
// flow, fail-open lets it pass, as for any stream that cannot be reassembled.
TEST(WorkerStageModes, AHelloOverTheCapIsUninspectable) {
  TestRules rules;
  muhafiz::testing::ClientHelloSpec spec;
  spec.sni = "big.blocked.example";
  spec.pad_to = 20000;
  const size_t record_starts[] = {16000};  // a record carries at most 2^14 bytes
  const Conversation big = tcp_message(
      kServer, 46200, 443,
      muhafiz::testing::tls_records(muhafiz::testing::client_hello(spec), record_starts), {1400});
  Harness closed(test_config(Mode::kInline, FailMode::kClosed));
  for (size_t i = 0; i + 1 < big.before.size(); ++i)
    EXPECT_EQ(closed.feed(big.before[i], &rules).forward, Forward::kPass);  // the handshake
  const Decision d = closed.feed(big.before.back(), &rules);
  EXPECT_EQ(d.forward, Forward::kDrop);
  EXPECT_EQ(d.reason, kUninspectable);
  EXPECT_EQ(closed.feed(big.packet, &rules).reason, kFlowBlocked);
  Harness open(test_config(Mode::kInline, FailMode::kOpen));
  for (const ByteVector& f : big.before) EXPECT_EQ(open.feed(f, &rules).forward, Forward::kPass);
  EXPECT_EQ(open.feed(big.packet, &rules).forward, Forward::kPass);
}

TEST(WorkerStageModes, FailOpenPassesAStreamItCannotReassemble) {
  TestRules rules;
  StageConfig cfg = test_config(Mode::kInline, FailMode::kOpen);
  cfg.extractor.flows.buffers = 1;
  Harness h(cfg);
  const Conversation a = tcp_message(kServer, 46100, 443, tls_hello("a.example.org", 1800), {900});
  const Conversation b =
      tcp_message(kServer, 46101, 443, tls_hello("b.blocked.example", 1800), {900});
  for (const ByteVector& f : a.before) h.feed(f, &rules);
  for (const ByteVector& f : b.before) EXPECT_EQ(h.feed(f, &rules).forward, Forward::kPass);
  EXPECT_EQ(h.feed(b.packet, &rules).forward, Forward::kPass);  // unread: it leaks, counted
  EXPECT_EQ(h.stage.extractor().stats().counters[extract::kBufferExhausted], 1u);
}

TEST(WorkerStageModes, TapInjectsRepliesAndCountsWhatItCannotStop) {
  TestRules rules;
  Harness h(test_config(Mode::kTap));
  // DNS: the forged answer is injected.
  Decision d = h.feed(dns_udp("www.blocked.example"), &rules);
  EXPECT_EQ(reply_kinds(d), (std::vector<ReplyKind>{ReplyKind::kDnsStopPage}));
  // TLS: resets towards both ends; the hello itself already went through.
  const Conversation c = tcp_message(kServer, 47000, 443, tls_hello("www.blocked.example"));
  for (const ByteVector& f : c.before) h.feed(f, &rules);
  d = h.feed(c.packet, &rules);
  EXPECT_EQ(reply_kinds(d),
            (std::vector<ReplyKind>{ReplyKind::kRstToClient, ReplyKind::kRstToServer}));
  // A later packet of that flow got through too: a race a tap cannot win, counted.
  h.feed(c.packet, &rules);
  EXPECT_EQ(h.counters.get(kTapAfterBlock), 1u);
  // QUIC and ip matches cannot be stopped from a tap: counted and reported, not "enforced".
  h.feed(quic_initial("video.blocked.example"), &rules);
  h.feed(udp("203.0.113.9", 45000, 9999).payload(text("x")).build(), &rules);
  EXPECT_EQ(h.counters.get(kTapCannotDrop), 2u);
  ASSERT_EQ(h.events.seen.size(), 4u);
  EXPECT_TRUE(h.events.seen[0].has(api::kEventEnforced));   // DNS answered
  EXPECT_TRUE(h.events.seen[1].has(api::kEventEnforced));   // TLS reset
  EXPECT_FALSE(h.events.seen[2].has(api::kEventEnforced));  // QUIC: seen only
  EXPECT_FALSE(h.events.seen[3].has(api::kEventEnforced));  // ip: seen only
}

TEST(WorkerStageModes, PublishStatsCopiesExtractorAndCacheCounters) {
  TestRules rules;
  Harness h;
  const Conversation c = tcp_message(kServer, 48000, 443, tls_hello("www.blocked.example"));
  for (const ByteVector& f : c.before) h.feed(f, &rules);
  h.feed(c.packet, &rules);
  h.stage.publish_stats();
  EXPECT_EQ(h.counters.extract[extract::kObservations].get(), 1u);
  EXPECT_EQ(h.counters.flows_created.get(), 1u);
  EXPECT_EQ(h.counters.verdict_cache_entries.get(), 1u);
  EXPECT_EQ(h.counters.ruleset_version.get(), 3u);
}

}  // namespace
}  // namespace muhafiz::engine

// ---- bursts -----------------------------------------------------------------------------------

namespace muhafiz::engine {
namespace {

struct Seen {
  Forward forward;
  std::string reason;
  std::vector<ByteVector> replies;
  bool operator==(const Seen&) const = default;
};
Seen seen(const Decision& d) {
  Seen s{d.forward, std::string(counter_reason(d.reason)), {}};
  for (uint8_t r = 0; r < d.reply_count; ++r)
    s.replies.emplace_back(d.replies[r].frame.begin(), d.replies[r].frame.end());
  return s;
}

// The engine prepares a whole RX burst (decode, prefetch) before it processes the first frame.
// Every frame of the table above, then a blocked ClientHello followed in the same burst by its
// retransmission and more data of the flow, go through once frame by frame and once in bursts
// of 8: the decisions, replies, counters and events must be identical, and the frames after the
// blocked hello must be dropped by the verdict the hello left (prepare reads no table).
TEST(WorkerStageBursts, BurstsDecideAsFrameByFrame) {
  TestRules rules;
  std::vector<ByteVector> frames;
  for (const StageCase& c : cases()) {
    frames.insert(frames.end(), c.before.begin(), c.before.end());
    frames.push_back(c.packet);
  }
  TcpConversation conv(tcp(kServer, 49000, 443), 1000, 5000);
  for (const ByteVector& f : conv.handshake()) frames.push_back(f);
  const size_t hello_at = frames.size();
  const ByteVector hello = conv.client_send(tls_hello("cdn.blocked.example"));
  frames.push_back(hello);
  frames.push_back(hello);                           // retransmitted
  frames.push_back(conv.client_send(text("more")));  // and what follows
  ASSERT_GT(frames.size(), 24u);

  Harness one, burst;
  std::vector<Seen> by_frame, by_burst;
  for (const ByteVector& f : frames) by_frame.push_back(seen(one.feed(f, &rules)));
  constexpr size_t kBurst = 8;
  std::vector<WorkerStage::PreparedFrame> prepared(kBurst);
  for (size_t at = 0; at < frames.size(); at += kBurst) {
    const size_t n = std::min(kBurst, frames.size() - at);
    // The engine's passes: frame prefetch, prepare, flow prefetch, process.
    for (size_t k = 0; k < n; ++k) WorkerStage::prefetch_frame(frames[at + k].data());
    for (size_t k = 0; k < n; ++k)
      burst.stage.prepare(parse::Bytes(frames[at + k].data(), frames[at + k].size()), &prepared[k]);
    for (size_t k = 0; k < n; ++k) burst.stage.prefetch_flow(prepared[k]);
    for (size_t k = 0; k < n; ++k) {
      ++burst.packets;
      burst.clock.mono_us += 1000;
      burst.clock.unix_ns += 1'000'000;
      by_burst.push_back(seen(burst.stage.process(prepared[k], &rules, burst.clock)));
    }
  }
  ASSERT_EQ(hello_at / kBurst, (hello_at + 2) / kBurst)
      << "the hello and what follows share a burst";
  ASSERT_EQ(by_burst.size(), by_frame.size());
  for (size_t i = 0; i < frames.size(); ++i) EXPECT_EQ(by_burst[i], by_frame[i]) << "frame " << i;
  for (uint32_t c = 0; c < kEngineCounterCount; ++c) {
    const auto counter = static_cast<EngineCounter>(c);
    EXPECT_EQ(burst.counters.get(counter), one.counters.get(counter))
        << counter_family(counter) << "/" << counter_reason(counter);
  }
  EXPECT_EQ(burst.events.seen.size(), one.events.seen.size());
  EXPECT_EQ(burst.packets_counted(), burst.packets);
  EXPECT_EQ(by_burst[hello_at].reason, counter_reason(kBlocked));
  EXPECT_EQ(by_burst[hello_at + 1].reason, counter_reason(kFlowBlocked));
  EXPECT_EQ(by_burst[hello_at + 2].reason, counter_reason(kFlowBlocked));
}

// Two frames in one burst that starts with no flow decided: both are prepared before the first
// is processed, so a frame is hashed only if it reads the flow table itself (`first_hashed`;
// datagrams and bare ACKs do not). The first decides its flow (an ip-listed destination, a
// blocked hello). Returns the reasons the two were counted under.
std::pair<std::string_view, std::string_view> two_in_a_burst(const ByteVector& first,
                                                             const ByteVector& second,
                                                             bool first_hashed = false) {
  TestRules rules;
  Harness h;
  WorkerStage::PreparedFrame p1, p2;
  h.stage.prepare(parse::Bytes(first.data(), first.size()), &p1);
  h.stage.prepare(parse::Bytes(second.data(), second.size()), &p2);
  EXPECT_EQ(p1.hashed, first_hashed);
  EXPECT_FALSE(p2.hashed);
  const std::string_view r1 = counter_reason(h.stage.process(p1, &rules, h.clock).reason);
  return {r1, counter_reason(h.stage.process(p2, &rules, h.clock).reason)};
}

// The second datagram of the decided flow must be found in the verdict cache (keyed at its
// turn) and dropped as part of that flow, as frame by frame.
TEST(WorkerStageBursts, AFlowDecidedEarlierInTheBurstIsFoundLater) {
  TestRules rules;
  const ByteVector d1 = udp("203.0.113.9", 45000, 9999).payload(text("one")).build();
  const ByteVector d2 = udp("203.0.113.9", 45000, 9999).payload(text("two")).build();
  EXPECT_EQ(two_in_a_burst(d1, d2),
            std::make_pair(counter_reason(kIpBlocked), counter_reason(kFlowBlocked)));
  Harness one;
  EXPECT_EQ(counter_reason(one.feed(d1, &rules).reason), counter_reason(kIpBlocked));
  EXPECT_EQ(counter_reason(one.feed(d2, &rules).reason), counter_reason(kFlowBlocked));
}

// A datagram of another flow, to a destination on no list, has its key made only when the
// verdict cache is asked. It must be its own key, not the decided flow's (nor an empty one both
// would share), so it passes.
TEST(WorkerStageBursts, AnotherFlowPreparedUnhashedKeepsItsOwnKey) {
  const ByteVector listed = udp("203.0.113.9", 45000, 9999).payload(text("one")).build();
  const ByteVector other = udp("198.51.100.7", 45001, 9999).payload(text("two")).build();
  EXPECT_EQ(two_in_a_burst(listed, other),
            std::make_pair(counter_reason(kIpBlocked), counter_reason(kPassed)));
}

// A bare ACK reads no flow, so it is prepared unhashed while no flow is decided; when its flow's
// hello, earlier in the same burst, is blocked, the ACK must still be keyed at its turn and
// dropped by the verdict cache.
TEST(WorkerStageBursts, ABareAckAfterItsBlockedHelloInTheBurstIsDropped) {
  TcpConversation conv(tcp(kServer, 49001, 443), 1000, 5000);
  const ByteVector hello = conv.client_send(tls_hello("cdn.blocked.example"));
  EXPECT_EQ(two_in_a_burst(hello, conv.server_ack(), true),
            std::make_pair(counter_reason(kBlocked), counter_reason(kFlowBlocked)));
}

}  // namespace
}  // namespace muhafiz::engine
