// Blocking replies, table-driven. Every reply is decoded back with the project's own decoders
// (decode_packet, parse_dns_message, read_dns_name) and, when tshark is installed, written to a
// pcap after the packet it answers and checked field by field by Wireshark.
#include "dataplane/action/reply.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "dataplane/parse/byte_reader.h"
#include "dataplane/parse/dns.h"
#include "dataplane/parse/packet.h"
#include "tests/support/packet_builder.h"

namespace muhafiz::action {
namespace {

using parse::ByteReader;
using parse::Bytes;
using parse::IpAddress;
using parse::IpFamily;
using parse::LinkType;
using parse::PacketInfo;
using parse::ParseStatus;
using testing::ByteVector;
using testing::ByteView;
using testing::DnsQuestion;
using testing::PacketBuilder;
using testing::TcpOptions;
namespace tf = parse::tcp_flag;

constexpr std::string_view kClient4 = "192.0.2.10", kServer4 = "198.51.100.53";
constexpr std::string_view kClient6 = "2001:db8::10", kServer6 = "2001:db8:53::53";
constexpr std::string_view kStop4 = "203.0.113.80", kStop6 = "2001:db8:80::80";
// Client sequence numbers close to 2^32, so SEQ + LEN wraps in the cases that use it.
constexpr uint32_t kClientSeq = 0x1000'0000u, kServerSeq = 0x2000'0000u, kWrapSeq = 0xffff'fff0u;
constexpr uint8_t kTagPcp = 5;  // a priority on the 802.1Q tag, to see it mirrored

IpAddress address(std::string_view text) {
  const testing::IpAddr a = testing::ip_address(text);
  IpAddress out{a.v6 ? IpFamily::kV6 : IpFamily::kV4, {}};
  std::copy(a.bytes.begin(), a.bytes.end(), out.bytes);
  return out;
}

// ---- offending frames ----

enum class Encap { kPlain, kVlan, kQinQ, kPppoe, kVlanPppoe };

PacketBuilder link(Encap e) {
  PacketBuilder b;
  b.ethernet();
  switch (e) {
    case Encap::kPlain:
      break;
    case Encap::kVlan:
      b.vlan(100, testing::kTpidVlan, kTagPcp);
      break;
    case Encap::kQinQ:
      b.qinq(10, 20);
      break;
    case Encap::kPppoe:
      b.pppoe(0x1234);
      break;
    case Encap::kVlanPppoe:
      b.vlan(7).pppoe(0x42);
      break;
  }
  return b;
}

PacketBuilder& ip(PacketBuilder& b, bool v6) {
  return b.ip(v6 ? kClient6 : kClient4, v6 ? kServer6 : kServer4);
}

ByteVector udp_frame(Encap e, bool v6, uint16_t port, ByteView payload) {
  PacketBuilder b = link(e);
  return ip(b, v6).udp(port, 53).payload(payload).build();
}

TcpOptions segment(uint32_t seq, uint8_t flags) {
  TcpOptions o;
  o.seq = seq;
  o.ack = (flags & tf::kAck) != 0 ? kServerSeq : 0;
  o.flags = flags;
  return o;
}

ByteVector tcp_frame(Encap e, bool v6, uint16_t sport, uint16_t dport, uint8_t flags,
                     ByteView payload, uint32_t seq = kClientSeq) {
  PacketBuilder b = link(e);
  ip(b, v6).tcp(sport, dport, segment(seq, flags));
  if (!payload.empty()) b.payload(payload);
  return b.build();
}

ByteVector query(std::string_view name, uint16_t qtype, bool edns, uint16_t id = 0x4d55) {
  const DnsQuestion q{std::string(name), qtype, 1};
  return testing::dns_query(id, std::span(&q, 1),
                            {.edns_udp_size = static_cast<uint16_t>(edns ? 1232 : 0)});
}

// An EDNS query with the OPT TTL set: extended RCODE 0, `version`, DO bit (RFC 6891 §6.1.3).
ByteVector query_edns(std::string_view name, uint8_t version, bool dnssec_ok) {
  ByteVector q = query(name, testing::kDnsTypeA, true);
  const size_t ttl_at = q.size() - 6;  // the OPT is last: ..., TTL (4), RDLENGTH 0 (2)
  q[ttl_at + 1] = version;
  q[ttl_at + 2] = dnssec_ok ? 0x80 : 0x00;
  return q;
}

// Valid, but each '&' takes 5 bytes in the HTML body: the redirect outgrows one segment.
const std::string kAmpersandUrl = "http://s/" + std::string(240, '&');

const ByteVector kHttpGet =
    testing::to_bytes(testing::http_request("GET", "/images/a.jpg", "www.blocked.example"));

// ---- configurations (string views into literals) ----

ReplyConfig nxdomain() { return ReplyConfig{}; }

ReplyConfig stop_page(EdeCode code = EdeCode::kCensored) {
  ReplyConfig c;
  c.dns_answer = DnsBlockAnswer::kStopPage;
  c.stop_page_v4 = address(kStop4);
  c.stop_page_v6 = address(kStop6);
  c.dns_ttl = 60;
  c.ede_code = code;
  c.ede_extra_text = "blocked: PTA list";
  return c;
}

ReplyConfig web(std::string_view url = "http://stop.example.pk/blocked") {
  ReplyConfig c;
  c.stop_page_url = url;
  return c;
}

ReplyConfig tap() {
  ReplyConfig c;
  c.placement = Placement::kTap;
  return c;
}

ReplyConfig no_fin() {
  ReplyConfig c = stop_page();
  c.dns_tcp_fin = false;
  return c;
}

// ---- the table ----

enum class Kind { kDns, kRstClient, kRstServer, kHttp };

std::string_view to_string(Kind k) {
  switch (k) {
    case Kind::kDns:
      return "Dns";
    case Kind::kRstClient:
      return "RstToClient";
    case Kind::kRstServer:
      return "RstToServer";
    case Kind::kHttp:
      return "Redirect";
  }
  return "";
}

struct Want {
  uint32_t seq = 0, ack = 0;  // TCP replies
  uint8_t tcp_flags = 0;
  int rcode = -1;        // DNS replies: the 12-bit RCODE (header + OPT)
  std::string answer{};  // the A/AAAA address, "" for none
  int ede = -1;          // EDE INFO-CODE; -1: no OPT at all
  bool dnssec_ok = false;
  std::string location{};  // HTTP
};

struct Case {
  std::string name;
  Kind kind;
  std::function<ByteVector(uint16_t client_port)> frame;
  ReplyConfig config = nxdomain();
  std::string host{};  // HTTP: the blocked Host
  LinkType link = LinkType::kEthernet;
  std::function<void(PacketInfo&)> tamper{};  // edits the decoded packet before the build
  ReplyError error = ReplyError::kNone;
  Want want{};
  size_t cut_frame_to = 0;  // hands the builder only this many bytes of the frame (0: all)
};

constexpr uint16_t kA = testing::kDnsTypeA, kAaaa = testing::kDnsTypeAaaa,
                   kHttps = testing::kDnsTypeHttps;
constexpr uint8_t kPshAck = tf::kPsh | tf::kAck, kRstAck = tf::kRst | tf::kAck;
constexpr uint8_t kPshAckFin = tf::kPsh | tf::kAck | tf::kFin;

std::function<ByteVector(uint16_t)> dns_udp(Encap e, bool v6, ByteVector msg) {
  return [=](uint16_t port) { return udp_frame(e, v6, port, msg); };
}
std::function<ByteVector(uint16_t)> dns_tcp(Encap e, bool v6, ByteVector msg,
                                            uint32_t seq = kClientSeq) {
  return [=](uint16_t port) {
    return tcp_frame(e, v6, port, 53, kPshAck, testing::dns_tcp_frame(msg), seq);
  };
}
std::function<ByteVector(uint16_t)> http(Encap e, bool v6, uint8_t flags = kPshAck,
                                         uint32_t seq = kClientSeq) {
  return [=](uint16_t port) { return tcp_frame(e, v6, port, 80, flags, kHttpGet, seq); };
}

const uint32_t kGetLen = static_cast<uint32_t>(kHttpGet.size());
uint32_t tcp_len(const ByteVector& msg) { return static_cast<uint32_t>(msg.size() + 2); }

using FrameFn = std::function<ByteVector(uint16_t client_port)>;

// Row helpers: one line of the table each.
Case dns(std::string name, FrameFn frame, ReplyConfig config, Want want) {
  return Case{.name = std::move(name),
              .kind = Kind::kDns,
              .frame = std::move(frame),
              .config = config,
              .want = std::move(want)};
}
Case rst(std::string name, RstTarget target, FrameFn frame, ReplyConfig config, Want want) {
  return Case{.name = std::move(name),
              .kind = target == RstTarget::kClient ? Kind::kRstClient : Kind::kRstServer,
              .frame = std::move(frame),
              .config = config,
              .want = std::move(want)};
}
Case redirect(std::string name, FrameFn frame, ReplyConfig config, std::string host, Want want) {
  return Case{.name = std::move(name),
              .kind = Kind::kHttp,
              .frame = std::move(frame),
              .config = config,
              .host = std::move(host),
              .want = std::move(want)};
}
Case refused(std::string name, Kind kind, FrameFn frame, ReplyError error,
             ReplyConfig config = nxdomain()) {
  return Case{.name = std::move(name),
              .kind = kind,
              .frame = std::move(frame),
              .config = config,
              .host = "www.blocked.example",
              .error = error};
}
Want tcp_want(uint32_t seq, uint32_t ack, uint8_t flags) {
  return Want{.seq = seq, .ack = ack, .tcp_flags = flags};
}
Want http_want(std::string location) {
  return Want{.seq = kServerSeq,
              .ack = kClientSeq + kGetLen,
              .tcp_flags = kPshAckFin,
              .location = std::move(location)};
}

std::vector<Case> cases() {
  const ByteVector q_a = query("www.blocked.example", kA, false);
  const ByteVector q_a_edns = query("www.blocked.example", kA, true);
  const ByteVector q_aaaa_edns = query("www.blocked.example", kAaaa, true);
  const ByteVector q_https = query("www.blocked.example", kHttps, true);
  const ByteVector q_0x20 = query("wWw.BloCKed.eXAMple", kA, true);
  const std::string a4(kStop4), a6(kStop6);
  const std::string stop_url = "http://stop.example.pk/blocked";
  const Encap plain = Encap::kPlain;
  std::vector<Case> v;

  // DNS over UDP
  v.push_back(
      dns("nxdomain, no EDNS: no OPT", dns_udp(plain, false, q_a), nxdomain(), {.rcode = 3}));
  v.push_back(dns("nxdomain with EDNS: EDE 16", dns_udp(plain, false, q_a_edns), nxdomain(),
                  {.rcode = 3, .ede = 16}));
  v.push_back(dns("stop page A, EDE with text", dns_udp(plain, false, q_a_edns), stop_page(),
                  {.rcode = 0, .answer = a4, .ede = 16}));
  v.push_back(dns("stop page A without EDNS", dns_udp(plain, false, q_a), stop_page(),
                  {.rcode = 0, .answer = a4}));
  v.push_back(dns("ipv6 AAAA, EDE 15", dns_udp(plain, true, q_aaaa_edns),
                  stop_page(EdeCode::kBlocked), {.rcode = 0, .answer = a6, .ede = 15}));
  v.push_back(dns("HTTPS qtype: NODATA, EDE 17", dns_udp(plain, false, q_https),
                  stop_page(EdeCode::kFiltered), {.rcode = 0, .ede = 17}));
  v.push_back(dns("0x20 mixed case copied", dns_udp(plain, false, q_0x20), stop_page(),
                  {.rcode = 0, .answer = a4, .ede = 16}));
  v.push_back(dns("DO bit copied", dns_udp(plain, false, query_edns("a.example", 0, true)),
                  nxdomain(), {.rcode = 3, .ede = 16, .dnssec_ok = true}));
  v.push_back(dns("EDNS version 1: BADVERS",
                  dns_udp(plain, false, query_edns("a.example", 1, false)), stop_page(),
                  {.rcode = 16, .ede = 16}));
  v.push_back(dns("vlan with priority 5", dns_udp(Encap::kVlan, false, q_a_edns), stop_page(),
                  {.rcode = 0, .answer = a4, .ede = 16}));
  v.push_back(dns("qinq ipv6", dns_udp(Encap::kQinQ, true, q_aaaa_edns), stop_page(),
                  {.rcode = 0, .answer = a6, .ede = 16}));
  v.push_back(dns("pppoe ipv4", dns_udp(Encap::kPppoe, false, q_a_edns), stop_page(),
                  {.rcode = 0, .answer = a4, .ede = 16}));
  v.push_back(dns("vlan + pppoe ipv6", dns_udp(Encap::kVlanPppoe, true, q_aaaa_edns), stop_page(),
                  {.rcode = 0, .answer = a6, .ede = 16}));
  v.push_back(dns("ipv4 options and DSCP EF + ECT(1): options dropped, DSCP kept, ECN cleared",
                  [=](uint16_t port) {
                    testing::Ipv4Layer l;
                    l.src = testing::ip_address(kClient4);
                    l.dst = testing::ip_address(kServer4);
                    l.tos = 0xb9;                          // DSCP 46, ECT(1)
                    l.options = {0x94, 0x04, 0x00, 0x00};  // Router Alert (RFC 2113)
                    return PacketBuilder().ethernet().ipv4(l).udp(port, 53).payload(q_a).build();
                  },
                  nxdomain(), {.rcode = 3}));
  v.push_back(
      dns("raw IP link",
          [=](uint16_t port) {
            return PacketBuilder().ipv4(kClient4, kServer4).udp(port, 53).payload(q_a).build();
          },
          nxdomain(), {.rcode = 3}));
  v.back().link = LinkType::kRaw;

  // DNS over TCP: seq = the query's ACK, ack = its SEQ + 2 + message length.
  Want tcp_a = tcp_want(kServerSeq, kClientSeq + tcp_len(q_a_edns), kPshAckFin);
  tcp_a.rcode = 0;
  tcp_a.answer = a4;
  tcp_a.ede = 16;
  v.push_back(dns("tcp ipv4", dns_tcp(plain, false, q_a_edns), stop_page(), tcp_a));
  Want tcp_aaaa = tcp_want(kServerSeq, kWrapSeq + tcp_len(q_aaaa_edns), kPshAck);
  tcp_aaaa.rcode = 0;
  tcp_aaaa.answer = a6;
  tcp_aaaa.ede = 16;
  v.push_back(dns("tcp ipv6 qinq, no FIN, ack wraps past 2^32",
                  dns_tcp(Encap::kQinQ, true, q_aaaa_edns, kWrapSeq), no_fin(), tcp_aaaa));
  Want tcp_nx = tcp_want(kServerSeq, kClientSeq + tcp_len(q_a), kPshAckFin);
  tcp_nx.rcode = 3;
  v.push_back(dns("tcp pppoe", dns_tcp(Encap::kPppoe, false, q_a), nxdomain(), tcp_nx));

  // TCP resets (values explained in tcp_reset.cc).
  const auto syn = [](uint16_t port) {
    return tcp_frame(Encap::kPlain, false, port, 443, tf::kSyn, {});
  };
  v.push_back(rst("to client", RstTarget::kClient, http(plain, false), nxdomain(),
                  tcp_want(kServerSeq, kClientSeq + kGetLen, kRstAck)));
  v.push_back(rst("to server, inline: the server never got the segment", RstTarget::kServer,
                  http(plain, false), nxdomain(), tcp_want(kClientSeq, kServerSeq, kRstAck)));
  v.push_back(rst("to server, tap: the server got the segment", RstTarget::kServer,
                  http(plain, false), tap(), tcp_want(kClientSeq + kGetLen, kServerSeq, kRstAck)));
  v.push_back(rst("to client answering a SYN: seq 0, ack ISN + 1", RstTarget::kClient, syn,
                  nxdomain(), tcp_want(0, kClientSeq + 1, kRstAck)));
  v.push_back(rst("to server answering a SYN on a tap: no ACK bit", RstTarget::kServer, syn, tap(),
                  tcp_want(kClientSeq + 1, 0, tf::kRst)));
  v.push_back(rst("to client, a FIN in the segment counts one", RstTarget::kClient,
                  http(plain, false, kPshAck | tf::kFin), nxdomain(),
                  tcp_want(kServerSeq, kClientSeq + kGetLen + 1, kRstAck)));
  v.push_back(rst("to client ipv6 qinq, ack wraps past 2^32", RstTarget::kClient,
                  http(Encap::kQinQ, true, kPshAck, kWrapSeq), nxdomain(),
                  tcp_want(kServerSeq, kWrapSeq + kGetLen, kRstAck)));
  v.push_back(rst("to server vlan + pppoe ipv6", RstTarget::kServer, http(Encap::kVlanPppoe, true),
                  nxdomain(), tcp_want(kClientSeq, kServerSeq, kRstAck)));
  v.push_back(rst(
      "ipv6 extension headers and traffic class: headers dropped, DSCP kept", RstTarget::kClient,
      [](uint16_t port) {
        testing::Ipv6Layer l;
        l.src = testing::ip_address(kClient6);
        l.dst = testing::ip_address(kServer6);
        l.traffic_class = 0x2a;  // DSCP 10, ECT(0)
        l.extensions = {testing::ipv6_options_header(testing::kIpv6HopByHop),
                        testing::ipv6_options_header(testing::kIpv6DestOptions)};
        return PacketBuilder()
            .ethernet()
            .ipv6(l)
            .tcp(port, 443, segment(kClientSeq, kPshAck))
            .payload(kHttpGet)
            .build();
      },
      nxdomain(), tcp_want(kServerSeq, kClientSeq + kGetLen, kRstAck)));

  // HTTP redirects
  ReplyConfig no_query = web();
  no_query.stop_page_query = false;
  v.push_back(redirect("ipv4", http(plain, false), web(), "www.blocked.example",
                       http_want(stop_url + "?blocked=www.blocked.example")));
  v.push_back(redirect(
      "ipv6 vlan, URL with a query, host percent-encoded", http(Encap::kVlan, true),
      web("https://stop.example.pk/p?lang=ur&x=1"), "Www.Blocked.example:8080",
      http_want("https://stop.example.pk/p?lang=ur&x=1&blocked=Www.Blocked.example%3A8080")));
  v.push_back(redirect("pppoe, hostile Host bytes encoded", http(Encap::kPppoe, false), web(),
                       "a\r\nSet-Cookie: x=<\"y\">",
                       http_want(stop_url + "?blocked=a%0D%0ASet-Cookie%3A%20x%3D%3C%22y%22%3E")));
  v.push_back(redirect("qinq, query turned off", http(Encap::kQinQ, false), no_query,
                       "www.blocked.example", http_want(stop_url)));
  v.push_back(redirect("empty host: no query", http(plain, true), web(), "", http_want(stop_url)));
  v.push_back(redirect("host longer than a host: no query", http(plain, false), web(),
                       std::string(kMaxBlockedHostLen + 1, 'h'), http_want(stop_url)));

  // Refused: no reply, a reason.
  ByteVector notify = q_a;
  notify[2] |= 0x20;  // opcode 4 NOTIFY (RFC 1996)
  const DnsQuestion two[] = {{"a.example", kA, 1}, {"b.example", kA, 1}};
  ByteVector no_question = q_a;
  no_question[5] = 0;  // QDCOUNT 0
  ByteVector bad_rdlength = q_a_edns;
  bad_rdlength.back() = 9;  // OPT RDLENGTH 9, no data
  ByteVector two_opts = q_a_edns;
  two_opts.insert(two_opts.end(), q_a_edns.end() - 11, q_a_edns.end());  // the OPT again
  two_opts[11] = 2;                                                      // ARCOUNT 2
  ByteVector tcp_partial = testing::dns_tcp_frame(q_a);
  tcp_partial.resize(tcp_partial.size() - 4);
  ReplyConfig zero_hops;
  zero_hops.hop_limit = 0;
  const auto tcp_to = [](uint16_t dport, uint8_t flags, ByteVector payload) {
    return
        [=](uint16_t port) { return tcp_frame(Encap::kPlain, false, port, dport, flags, payload); };
  };

  v.push_back(
      refused("a DNS response is not a query", Kind::kDns,
              dns_udp(plain, false, testing::dns_response(1, "www.blocked.example", "192.0.2.99")),
              ReplyError::kNotDnsQuery));
  v.push_back(refused("NOTIFY is not a query", Kind::kDns, dns_udp(plain, false, notify),
                      ReplyError::kNotDnsQuery));
  v.push_back(refused("two questions", Kind::kDns,
                      dns_udp(plain, false, testing::dns_query(7, two)),
                      ReplyError::kDnsQuestionCount));
  v.push_back(refused("no question", Kind::kDns, dns_udp(plain, false, no_question),
                      ReplyError::kDnsQuestionCount));
  v.push_back(refused("question cut short", Kind::kDns,
                      dns_udp(plain, false, ByteVector(q_a.begin(), q_a.end() - 3)),
                      ReplyError::kDnsMalformed));
  v.push_back(refused("header cut short", Kind::kDns,
                      dns_udp(plain, false, ByteVector(q_a.begin(), q_a.begin() + 11)),
                      ReplyError::kDnsMalformed));
  v.push_back(refused("OPT rdata past the end", Kind::kDns, dns_udp(plain, false, bad_rdlength),
                      ReplyError::kDnsMalformed));
  v.push_back(refused("two OPT records (RFC 6891 §6.1.1)", Kind::kDns,
                      dns_udp(plain, false, two_opts), ReplyError::kDnsMalformed));
  v.push_back(refused("tcp: the query goes on in the next segment", Kind::kDns,
                      tcp_to(53, kPshAck, tcp_partial), ReplyError::kDnsIncomplete));
  v.push_back(refused("tcp: length prefix shorter than a header", Kind::kDns,
                      tcp_to(53, kPshAck, {0, 3, 1, 2, 3}), ReplyError::kDnsMalformed));
  v.push_back(refused("dns on a SYN", Kind::kDns, tcp_to(53, tf::kSyn, {}),
                      ReplyError::kTcpNotEstablished));
  v.push_back(refused(
      "mpls is not mirrored", Kind::kDns,
      [=](uint16_t port) {
        return PacketBuilder()
            .ethernet()
            .mpls(100)
            .ipv4(kClient4, kServer4)
            .udp(port, 53)
            .payload(q_a)
            .build();
      },
      ReplyError::kUnsupportedEncapsulation));
  v.push_back(refused(
      "gtp-u tunnel", Kind::kRstClient,
      [](uint16_t port) {
        return PacketBuilder()
            .ethernet()
            .ipv4("10.0.0.1", "10.0.0.2")
            .udp(2152, 2152)
            .gtpu(9)
            .ipv4(kClient4, kServer4)
            .tcp(port, 80, segment(kClientSeq, kPshAck))
            .payload(kHttpGet)
            .build();
      },
      ReplyError::kUnsupportedEncapsulation));
  v.push_back(refused(
      "linux cooked capture", Kind::kDns,
      [=](uint16_t port) {
        return PacketBuilder()
            .linux_sll()
            .ipv4(kClient4, kServer4)
            .udp(port, 53)
            .payload(q_a)
            .build();
      },
      ReplyError::kUnsupportedLink));
  v.back().link = LinkType::kLinuxSll;
  v.push_back(refused(
      "first fragment", Kind::kDns,
      [=](uint16_t port) {
        PacketBuilder b;
        b.ethernet().ipv4(kClient4, kServer4).udp(port, 53).payload(q_a);
        return b.build_ipv4_fragments(24).front();
      },
      ReplyError::kIpFragment));
  v.push_back(refused(
      "captured short", Kind::kRstClient,
      [](uint16_t port) {
        ByteVector f = tcp_frame(Encap::kPlain, false, port, 80, kPshAck, kHttpGet);
        f.resize(f.size() - 10);
        return f;
      },
      ReplyError::kTruncatedPacket));
  v.push_back(refused("rst for a udp packet", Kind::kRstClient, dns_udp(plain, false, q_a),
                      ReplyError::kWrongTransport));
  v.push_back(refused("http for a udp packet", Kind::kHttp, dns_udp(plain, false, q_a),
                      ReplyError::kWrongTransport, web()));
  v.push_back(refused("never answer a RST", Kind::kRstServer, tcp_to(80, kRstAck, {}),
                      ReplyError::kTcpReset));
  v.push_back(refused("http on a SYN", Kind::kHttp, tcp_to(80, tf::kSyn, {}),
                      ReplyError::kTcpNotEstablished, web()));
  v.push_back(refused("http without a stop page URL", Kind::kHttp, http(plain, false),
                      ReplyError::kNoStopPageUrl));
  v.push_back(refused("http reply over one segment", Kind::kHttp, http(plain, false),
                      ReplyError::kReplyTooLarge, web(kAmpersandUrl)));
  v.push_back(refused("bad config", Kind::kDns, dns_udp(plain, false, q_a), ReplyError::kBadConfig,
                      zero_hops));
  v.push_back(refused("bad config refuses resets too", Kind::kRstClient, http(plain, false),
                      ReplyError::kBadConfig, web("ftp://x/")));
  v.push_back(refused("packet info of another frame", Kind::kRstClient, http(plain, false),
                      ReplyError::kPacketMismatch));
  v.back().tamper = [](PacketInfo& p) { p.src.bytes[3] ^= 1; };
  v.push_back(refused("packet info of another family", Kind::kRstClient, http(plain, false),
                      ReplyError::kPacketMismatch));
  v.back().tamper = [](PacketInfo& p) { p.family = IpFamily::kV6; };
  v.push_back(refused("frame cut inside the link header", Kind::kRstClient,
                      http(Encap::kQinQ, false), ReplyError::kPacketMismatch));
  v.back().cut_frame_to = 16;  // inside the first of the two VLAN tags
  return v;
}

const std::vector<Case>& all_cases() {
  static const std::vector<Case> v = cases();
  return v;
}

// ---- building ----

ReplyResult build(const Case& c, const BlockedPacket& pkt, std::span<uint8_t> out) {
  switch (c.kind) {
    case Kind::kDns:
      return build_dns_reply(pkt, c.config, out);
    case Kind::kRstClient:
      return build_tcp_rst(pkt, RstTarget::kClient, c.config, out);
    case Kind::kRstServer:
      return build_tcp_rst(pkt, RstTarget::kServer, c.config, out);
    case Kind::kHttp:
      return build_http_redirect(pkt, c.host, c.config, out);
  }
  return {};
}

struct Built {
  const Case* c = nullptr;
  ByteVector query;
  PacketInfo info;
  ReplyResult result;
  ByteVector reply;
};

Built run(const Case& c, uint16_t port, size_t buffer_size = kMaxReplyFrameLen) {
  Built b;
  b.c = &c;
  b.query = c.frame(port);
  EXPECT_EQ(parse::decode_packet(c.link, b.query, &b.info), ParseStatus::kOk);
  if (c.tamper) c.tamper(b.info);
  Bytes frame = b.query;
  if (c.cut_frame_to != 0) frame = frame.first(c.cut_frame_to);
  ByteVector out(buffer_size, 0xee);
  b.result = build(c, BlockedPacket{b.info, frame, c.link}, out);
  b.reply.assign(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(b.result.size));
  return b;
}

uint16_t port_of(size_t index) { return static_cast<uint16_t>(40000 + index); }

// ---- decoding replies back ----

bool same(const IpAddress& a, const IpAddress& b) {
  return a.family == b.family && std::equal(a.bytes, a.bytes + 16, b.bytes);
}

// The layers below IP, as a test reads them.
struct LinkView {
  std::vector<std::pair<uint16_t, uint16_t>> tags;  // TPID, TCI
  std::optional<uint16_t> pppoe_session, pppoe_length, ppp_protocol;
  size_t ip_at = 0;
};

LinkView read_link(LinkType link, Bytes f) {
  LinkView v;
  if (link != LinkType::kEthernet) return v;
  ByteReader r(f);
  r.skip(12);
  uint16_t type = r.read_u16be();
  while (type == 0x8100 || type == 0x88a8) {
    const uint16_t tci = r.read_u16be();
    v.tags.emplace_back(type, tci);
    type = r.read_u16be();
  }
  if (type == 0x8864) {
    r.skip(2);
    v.pppoe_session = r.read_u16be();
    v.pppoe_length = r.read_u16be();
    v.ppp_protocol = r.read_u16be();
  }
  EXPECT_TRUE(r.ok());
  v.ip_at = r.offset();
  return v;
}

struct Record {
  uint16_t type = 0, klass = 0;
  uint32_t ttl = 0;
  ByteVector owner_wire;
  ByteVector rdata;
};

// Answer and additional records of a reply (questions skipped), with the project's name reader.
void read_records(Bytes msg, const parse::DnsMessage& m, std::vector<Record>* answers,
                  std::vector<Record>* additional) {
  ByteReader r(msg);
  r.skip(parse::kDnsHeaderLen);
  auto name = std::make_unique<parse::DnsName>();
  for (size_t i = 0; i < m.qdcount; ++i) {
    ASSERT_EQ(parse::read_dns_name(r, name.get()), ParseStatus::kOk);
    r.skip(4);
  }
  const size_t total = size_t{m.ancount} + m.nscount + m.arcount;
  for (size_t i = 0; i < total; ++i) {
    Record rec;
    const size_t owner_at = r.offset();
    ASSERT_EQ(parse::read_dns_name(r, name.get()), ParseStatus::kOk);
    const Bytes owner = msg.subspan(owner_at, r.offset() - owner_at);
    rec.owner_wire.assign(owner.begin(), owner.end());
    rec.type = r.read_u16be();
    rec.klass = r.read_u16be();
    rec.ttl = r.read_u32be();
    const Bytes rd = r.bytes(r.read_u16be());
    ASSERT_TRUE(r.ok());
    rec.rdata.assign(rd.begin(), rd.end());
    if (i < m.ancount) answers->push_back(rec);
    if (i >= size_t{m.ancount} + m.nscount) additional->push_back(rec);
  }
  EXPECT_TRUE(r.empty()) << "bytes after the last record";
}

// Bytes of the question section of a one-question message, as written.
Bytes question_bytes(Bytes msg) {
  ByteReader r(msg);
  r.skip(parse::kDnsHeaderLen);
  const size_t at = r.offset();
  parse::DnsName name;
  EXPECT_EQ(parse::read_dns_name(r, &name), ParseStatus::kOk);
  r.skip(4);
  return r.ok() ? msg.subspan(at, r.offset() - at) : Bytes{};
}

Bytes dns_message(const PacketInfo& p) {
  if (p.l4_proto == parse::kIpProtoUdp) return p.l4_payload;
  Bytes msg;
  size_t consumed = 0;
  EXPECT_EQ(parse::next_dns_tcp_message(p.l4_payload, &msg, &consumed), ParseStatus::kOk);
  return msg;
}

void check_dns(const Case& c, const PacketInfo& q, const PacketInfo& r) {
  const Bytes msg = dns_message(r);
  const Bytes qmsg = dns_message(q);
  if (r.l4_proto == parse::kIpProtoTcp) {
    EXPECT_EQ(msg.size() + 2, r.l4_payload.size()) << "TCP length prefix";
  }
  auto m = std::make_unique<parse::DnsMessage>();
  auto qm = std::make_unique<parse::DnsMessage>();
  ASSERT_EQ(parse::parse_dns_message(msg, m.get()), ParseStatus::kOk);
  ASSERT_EQ(parse::parse_dns_message(qmsg, qm.get()), ParseStatus::kOk);
  EXPECT_EQ(m->id, qm->id);
  EXPECT_TRUE(m->is_response);
  EXPECT_EQ(m->opcode, 0);
  EXPECT_EQ(m->flags & 0x0400, 0) << "AA must be clear";
  EXPECT_EQ(m->flags & 0x0200, 0) << "TC must be clear";
  EXPECT_NE(m->flags & 0x0080, 0) << "RA must be set";
  EXPECT_EQ(m->flags & 0x0100, qm->flags & 0x0100) << "RD copied";
  EXPECT_EQ(m->rcode, c.want.rcode & 0x0f);
  ASSERT_EQ(m->question_count, 1);
  EXPECT_EQ(m->questions[0].name.view(), qm->questions[0].name.view());
  EXPECT_EQ(m->questions[0].qtype, qm->questions[0].qtype);
  const Bytes qq = question_bytes(qmsg), rq = question_bytes(msg);
  EXPECT_TRUE(std::equal(qq.begin(), qq.end(), rq.begin(), rq.end()))
      << "question copied byte for byte";

  std::vector<Record> answers, additional;
  read_records(msg, *m, &answers, &additional);
  EXPECT_EQ(m->nscount, 0);
  if (c.want.answer.empty()) {
    EXPECT_TRUE(answers.empty());
  } else {
    ASSERT_EQ(answers.size(), 1u);
    const testing::IpAddr a = testing::ip_address(c.want.answer);
    EXPECT_EQ(answers[0].owner_wire, (ByteVector{0xc0, 0x0c}));
    EXPECT_EQ(answers[0].type, a.v6 ? kAaaa : kA);
    EXPECT_EQ(answers[0].klass, 1);
    EXPECT_EQ(answers[0].ttl, c.config.dns_ttl);
    EXPECT_EQ(answers[0].rdata, ByteVector(a.bytes.begin(), a.bytes.begin() + (a.v6 ? 16 : 4)));
  }
  if (c.want.ede < 0) {
    EXPECT_TRUE(additional.empty()) << "no OPT without one in the query (RFC 6891 §7)";
    return;
  }
  ASSERT_EQ(additional.size(), 1u);
  const Record& opt = additional[0];
  EXPECT_EQ(opt.owner_wire, ByteVector{0});
  EXPECT_EQ(opt.type, testing::kDnsTypeOpt);
  EXPECT_EQ(opt.klass, c.config.edns_udp_size);
  EXPECT_EQ(opt.ttl >> 24, static_cast<uint32_t>(c.want.rcode >> 4)) << "extended RCODE";
  EXPECT_EQ((opt.ttl >> 16) & 0xff, 0u) << "version";
  EXPECT_EQ((opt.ttl & 0x8000) != 0, c.want.dnssec_ok) << "DO";
  ByteReader o(opt.rdata);
  EXPECT_EQ(o.read_u16be(), 15) << "EDE option code";
  const uint16_t len = o.read_u16be();
  EXPECT_EQ(o.read_u16be(), c.want.ede);
  EXPECT_EQ(parse::as_chars(o.bytes(len - 2)), c.config.ede_extra_text);
  EXPECT_TRUE(o.ok() && o.empty());
}

std::string html_escaped(std::string_view s) {
  std::string out;
  for (const char ch : s) out += ch == '&' ? std::string("&amp;") : std::string(1, ch);
  return out;
}

void check_http(const Case& c, const PacketInfo& r) {
  const std::string text(parse::as_chars(r.l4_payload));
  const size_t head_end = text.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  const std::string head = text.substr(0, head_end + 2);
  const std::string body = text.substr(head_end + 4);
  EXPECT_TRUE(head.starts_with("HTTP/1.1 302 Found\r\n")) << head;
  EXPECT_NE(head.find("\r\nLocation: " + c.want.location + "\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nConnection: close\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n"),
            std::string::npos)
      << head;
  EXPECT_NE(body.find("href=\"" + html_escaped(c.want.location) + "\""), std::string::npos) << body;
  EXPECT_LE(r.l4_payload.size(), kMaxRedirectPayloadLen);
}

// RFC 1071: a correct checksum makes the one's-complement sum of the covered bytes all ones.
void check_checksums(const PacketInfo& r, Bytes f, size_t ip_at) {
  const bool v4 = r.family == IpFamily::kV4;
  const size_t ip_len = v4 ? 20 : 40;
  const size_t l4_at = ip_at + ip_len;
  const size_t l4_len = r.l4_payload.size() + (r.l4_proto == parse::kIpProtoTcp ? 20 : 8);
  if (v4) {
    EXPECT_EQ(testing::internet_checksum(f.subspan(ip_at, ip_len)), 0) << "IPv4 header checksum";
  }
  ByteVector pseudo;
  const size_t alen = v4 ? 4 : 16;
  testing::append(pseudo, ByteView(r.src.bytes, alen));
  testing::append(pseudo, ByteView(r.dst.bytes, alen));
  testing::append_u16be(pseudo, r.l4_proto);
  testing::append_u16be(pseudo, static_cast<uint16_t>(l4_len));
  testing::append(pseudo, f.subspan(l4_at, l4_len));
  EXPECT_EQ(testing::internet_checksum(pseudo), 0) << "L4 checksum";
  if (r.l4_proto == parse::kIpProtoUdp) {
    EXPECT_NE(f[l4_at + 6] | f[l4_at + 7], 0) << "UDP checksum present";
  }
}

void check_reply(const Built& b) {
  const Case& c = *b.c;
  const PacketInfo& q = b.info;
  const Bytes f = b.reply;
  PacketInfo r;
  ASSERT_EQ(parse::decode_packet(c.link, f, &r), ParseStatus::kOk);
  EXPECT_EQ(r.anomalies, 0u);
  EXPECT_EQ(r.family, q.family);
  EXPECT_EQ(r.l4_proto, q.l4_proto);
  const bool to_server = c.kind == Kind::kRstServer;
  EXPECT_TRUE(same(r.src, to_server ? q.src : q.dst));
  EXPECT_TRUE(same(r.dst, to_server ? q.dst : q.src));
  EXPECT_EQ(r.src_port, to_server ? q.src_port : q.dst_port);
  EXPECT_EQ(r.dst_port, to_server ? q.dst_port : q.src_port);
  EXPECT_LE(f.size(), kMaxReplyFrameLen);

  const LinkView ql = read_link(c.link, b.query), rl = read_link(c.link, f);
  if (c.link == LinkType::kEthernet) {
    EXPECT_GE(f.size(), 60u) << "padded to the Ethernet minimum";
    const Bytes qf = b.query;
    const Bytes want_dst = to_server ? qf.subspan(0, 6) : qf.subspan(6, 6);
    const Bytes want_src = to_server ? qf.subspan(6, 6) : qf.subspan(0, 6);
    EXPECT_TRUE(std::equal(want_dst.begin(), want_dst.end(), f.begin())) << "destination MAC";
    EXPECT_TRUE(std::equal(want_src.begin(), want_src.end(), f.begin() + 6)) << "source MAC";
    EXPECT_EQ(rl.tags, ql.tags) << "VLAN tags mirrored (TPID, PCP, DEI, VID)";
    EXPECT_EQ(rl.pppoe_session, ql.pppoe_session);
    EXPECT_EQ(rl.ppp_protocol, ql.ppp_protocol);
    if (rl.pppoe_length) {
      const size_t ip_len = (r.family == IpFamily::kV4 ? 20 : 40) +
                            (r.l4_proto == parse::kIpProtoTcp ? 20 : 8) + r.l4_payload.size();
      EXPECT_EQ(*rl.pppoe_length, ip_len + 2) << "PPPoE length: PPP protocol + IP packet";
    }
  }
  check_checksums(r, f, rl.ip_at);
  // DSCP mirrored, ECN not (RFC 3168: only an ECN-capable sender marks ECT).
  const auto traffic_class = [](Bytes frame, size_t ip_at, IpFamily family) {
    return family == IpFamily::kV4
               ? frame[ip_at + 1]
               : static_cast<uint8_t>((frame[ip_at] & 0x0f) << 4 | frame[ip_at + 1] >> 4);
  };
  EXPECT_EQ(traffic_class(f, rl.ip_at, r.family),
            traffic_class(b.query, ql.ip_at, q.family) & 0xfc);
  if (r.l4_proto == parse::kIpProtoTcp) {
    EXPECT_EQ(r.tcp_seq, c.want.seq);
    EXPECT_EQ(r.tcp_ack, c.want.ack);
    EXPECT_EQ(r.tcp_flags, c.want.tcp_flags);
  }
  switch (c.kind) {
    case Kind::kDns:
      check_dns(c, q, r);
      break;
    case Kind::kHttp:
      check_http(c, r);
      break;
    case Kind::kRstClient:
    case Kind::kRstServer:
      EXPECT_TRUE(r.l4_payload.empty());
      break;
  }
}

// One test per row, named after it.
class ReplyCase : public ::testing::TestWithParam<size_t> {
 protected:
  const Case& row() const { return all_cases()[GetParam()]; }
  uint16_t port() const { return port_of(GetParam()); }
};

std::string row_name(const ::testing::TestParamInfo<size_t>& info) {
  const Case& c = all_cases()[info.param];
  std::string name = std::string(to_string(c.kind)) + "_";
  for (const char ch : c.name) {
    const bool alnum =
        (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    if (alnum) {
      name += ch;
    } else if (name.back() != '_') {
      name += '_';
    }
  }
  while (name.back() == '_') name.pop_back();
  return name;
}

INSTANTIATE_TEST_SUITE_P(Table, ReplyCase, ::testing::Range<size_t>(0, all_cases().size()),
                         row_name);

TEST_P(ReplyCase, BuildsTheReplyOrRefusesWithTheReason) {
  const Case& c = row();
  const Built b = run(c, port());
  ASSERT_EQ(b.result.error, c.error) << to_string(b.result.error);
  if (c.error != ReplyError::kNone) {
    EXPECT_EQ(b.result.size, 0u);
    return;
  }
  ASSERT_GT(b.result.size, 0u);
  check_reply(b);
}

// A reply needs exactly its size: that size gives the same bytes, one byte less is
// kBufferTooSmall. A refusal does not depend on the buffer: it comes before any write.
TEST_P(ReplyCase, NeedsExactlyItsSize) {
  const Case& c = row();
  if (c.error != ReplyError::kNone) {
    EXPECT_EQ(run(c, port(), 0).result.error, c.error);
    return;
  }
  const Built full = run(c, port());
  ASSERT_TRUE(full.result.ok());
  const Built exact = run(c, port(), full.result.size);
  EXPECT_EQ(exact.result.error, ReplyError::kNone);
  EXPECT_EQ(exact.reply, full.reply);
  const Built short_by_one = run(c, port(), full.result.size - 1);
  EXPECT_EQ(short_by_one.result.error, ReplyError::kBufferTooSmall);
  EXPECT_EQ(short_by_one.result.size, 0u);
  EXPECT_EQ(run(c, port(), 0).result.error, ReplyError::kBufferTooSmall);
}

// ---- tshark ----

std::optional<std::string> find_tshark() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::filesystem::path p = std::filesystem::path(dir.empty() ? "." : dir) / "tshark";
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return std::nullopt;
}

const std::vector<std::string> kFields = {"frame.number",
                                          "eth.src",
                                          "eth.dst",
                                          "vlan.id",
                                          "pppoe.session_id",
                                          "ip.src",
                                          "ip.dst",
                                          "ipv6.src",
                                          "ipv6.dst",
                                          "ip.ttl",
                                          "ipv6.hlim",
                                          "ip.checksum.status",
                                          "tcp.checksum.status",
                                          "udp.checksum.status",
                                          "tcp.stream",
                                          "udp.stream",
                                          "tcp.seq",
                                          "tcp.ack",
                                          "tcp.flags.reset",
                                          "tcp.flags.fin",
                                          "tcp.flags.push",
                                          "tcp.flags.ack",
                                          "dns.id",
                                          "dns.flags.response",
                                          "dns.flags.rcode",
                                          "dns.flags.authoritative",
                                          "dns.flags.recavail",
                                          "dns.qry.name",
                                          "dns.a",
                                          "dns.aaaa",
                                          "dns.opt.code",
                                          "dns.opt.ext_error.info_code",
                                          "dns.opt.ext_error.extra_text",
                                          "dns.resp.ext_rcode",
                                          "dns.resp.z.do",
                                          "dns.response_to",
                                          "http.response.code",
                                          "http.location",
                                          "http.content_length",
                                          "_ws.malformed",
                                          "_ws.expert.severity"};

using Row = std::map<std::string, std::string>;

std::vector<Row> tshark_rows(const std::string& tshark, const std::string& pcap,
                             const std::string& err) {
  std::string cmd =
      tshark + " -r " + pcap +
      " -n -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE"
      " -o tcp.relative_sequence_numbers:FALSE -T fields -E separator=/t -E occurrence=a"
      " -E aggregator=,";
  for (const std::string& f : kFields) cmd += " -e " + f;
  cmd += " 2>" + err;
  std::vector<Row> rows;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return rows;
  std::string out;
  std::array<char, 4096> buf{};
  while (const size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = ::pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << cmd;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    Row row;
    size_t start = 0;
    for (const std::string& f : kFields) {
      const size_t tab = line.find('\t', start);
      row[f] = line.substr(start, tab == std::string::npos ? std::string::npos : tab - start);
      start = tab == std::string::npos ? line.size() : tab + 1;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

constexpr uint32_t kExpertError = 0x00800000;  // PI_ERROR in Wireshark's expert.h

void check_with_tshark(const Built& b, const Row& q, const Row& r) {
  const Case& c = *b.c;
  const bool to_server = c.kind == Kind::kRstServer;
  const bool v4 = b.info.family == IpFamily::kV4;
  const bool tcp = b.info.l4_proto == parse::kIpProtoTcp;
  EXPECT_EQ(r.at("eth.src"), q.at(to_server ? "eth.src" : "eth.dst"));
  EXPECT_EQ(r.at("eth.dst"), q.at(to_server ? "eth.dst" : "eth.src"));
  EXPECT_EQ(r.at("vlan.id"), q.at("vlan.id"));
  EXPECT_EQ(r.at("pppoe.session_id"), q.at("pppoe.session_id"));
  const std::string src = v4 ? "ip.src" : "ipv6.src", dst = v4 ? "ip.dst" : "ipv6.dst";
  EXPECT_FALSE(r.at(src).empty());
  EXPECT_EQ(r.at(src), q.at(to_server ? src : dst));
  EXPECT_EQ(r.at(dst), q.at(to_server ? dst : src));
  EXPECT_EQ(r.at(v4 ? "ip.ttl" : "ipv6.hlim"), std::to_string(c.config.hop_limit));
  // Checksum status 1 is "Good" (proto_checksum_enum_e).
  if (v4) {
    EXPECT_EQ(r.at("ip.checksum.status"), "1");
  }
  EXPECT_EQ(r.at(tcp ? "tcp.checksum.status" : "udp.checksum.status"), "1");
  EXPECT_EQ(r.at(tcp ? "tcp.stream" : "udp.stream"), q.at(tcp ? "tcp.stream" : "udp.stream"))
      << "same conversation";
  if (tcp) {
    EXPECT_EQ(r.at("tcp.seq"), std::to_string(c.want.seq));
    EXPECT_EQ(r.at("tcp.ack"), std::to_string(c.want.ack));
    EXPECT_EQ(r.at("tcp.flags.reset"), (c.want.tcp_flags & tf::kRst) ? "1" : "0");
    EXPECT_EQ(r.at("tcp.flags.fin"), (c.want.tcp_flags & tf::kFin) ? "1" : "0");
    EXPECT_EQ(r.at("tcp.flags.push"), (c.want.tcp_flags & tf::kPsh) ? "1" : "0");
    EXPECT_EQ(r.at("tcp.flags.ack"), (c.want.tcp_flags & tf::kAck) ? "1" : "0");
  }
  if (c.kind == Kind::kDns) {
    EXPECT_EQ(r.at("dns.id"), q.at("dns.id"));
    EXPECT_EQ(r.at("dns.flags.response"), "1");
    EXPECT_EQ(r.at("dns.flags.rcode"), std::to_string(c.want.rcode & 0x0f));
    EXPECT_EQ(r.at("dns.flags.authoritative"), "0");
    EXPECT_EQ(r.at("dns.flags.recavail"), "1");
    EXPECT_EQ(r.at("dns.qry.name"), q.at("dns.qry.name"));
    EXPECT_EQ(r.at("dns.response_to"), q.at("frame.number"))
        << "tshark pairs the answer with the query";
    const bool answer_v6 = c.want.answer.find(':') != std::string::npos;
    EXPECT_EQ(r.at("dns.a"), answer_v6 ? "" : c.want.answer);
    EXPECT_EQ(r.at("dns.aaaa"), answer_v6 ? c.want.answer : "");
    if (c.want.ede < 0) {
      EXPECT_EQ(r.at("dns.opt.code"), "");
    } else {
      EXPECT_EQ(r.at("dns.opt.code"), "15");
      EXPECT_EQ(r.at("dns.opt.ext_error.info_code"), std::to_string(c.want.ede));
      EXPECT_EQ(r.at("dns.opt.ext_error.extra_text"), c.config.ede_extra_text);
      char ext_rcode[8];
      std::snprintf(ext_rcode, sizeof ext_rcode, "0x%02x",
                    c.want.rcode >> 4);  // tshark shows it in hex
      EXPECT_EQ(r.at("dns.resp.ext_rcode"), ext_rcode);
      EXPECT_EQ(r.at("dns.resp.z.do"), c.want.dnssec_ok ? "1" : "0");
    }
  }
  if (c.kind == Kind::kHttp) {
    EXPECT_EQ(r.at("http.response.code"), "302");
    EXPECT_EQ(r.at("http.location"), c.want.location);
    EXPECT_FALSE(r.at("http.content_length").empty());
  }
  EXPECT_EQ(r.at("_ws.malformed"), "");
  std::istringstream severities(r.at("_ws.expert.severity"));
  for (std::string s; std::getline(severities, s, ',');) {
    if (!s.empty()) {
      EXPECT_LT(std::stoul(s), kExpertError) << "expert error in the reply";
    }
  }
}

TEST(Reply, TsharkReadsTheRepliesAsIntended) {
  const std::optional<std::string> tshark = find_tshark();
  if (!tshark) GTEST_SKIP() << "tshark not installed";
  const std::string dir = ::testing::TempDir() + "muhafiz-reply-test-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  // Removed when the test passes, kept for a look when it does not.
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
    }
  } cleanup{dir};
  const std::string pcap = dir + "/replies.pcap", err = dir + "/tshark.err";

  // Each query followed by its reply; every case on its own client port, so conversations and
  // DNS transactions do not mix.
  std::vector<Built> built;
  testing::PcapWriter writer(testing::PcapLinkType::kEthernet);
  const std::vector<Case>& v = all_cases();
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i].error != ReplyError::kNone || v[i].link != LinkType::kEthernet) continue;
    built.push_back(run(v[i], port_of(i)));
    ASSERT_TRUE(built.back().result.ok()) << v[i].name;
    writer.add(built.back().query, 1'000'000 * i);
    writer.add(built.back().reply, 1'000'000 * i + 1000);
  }
  writer.save(pcap);
  const std::vector<Row> rows = tshark_rows(*tshark, pcap, err);
  ASSERT_EQ(rows.size(), 2 * built.size()) << "see " << pcap << " and " << err;
  for (size_t i = 0; i < built.size(); ++i) {
    SCOPED_TRACE(built[i].c->name + " (frames in " + pcap + ")");
    check_with_tshark(built[i], rows[2 * i], rows[2 * i + 1]);
  }
}

// ---- adversarial inputs ----

// Every prefix of every offending frame, and every single-byte change of its payload: the
// builders never read out of bounds (ASan), and whatever they accept decodes back.
TEST(Reply, CutAndFlippedFramesNeverYieldBrokenReplies) {
  const std::vector<Case>& v = all_cases();
  ByteVector out(kMaxReplyFrameLen);
  size_t built = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const Case& c = v[i];
    if (c.error != ReplyError::kNone) continue;
    SCOPED_TRACE(c.name);
    const ByteVector frame = c.frame(port_of(i));
    std::vector<ByteVector> variants;
    for (size_t n = 0; n < frame.size(); ++n)
      variants.emplace_back(frame.begin(), frame.begin() + n);
    for (size_t k = 0; k < frame.size(); ++k) {
      for (const uint8_t x : std::array<uint8_t, 3>{0x01, 0x80, 0xff}) {
        ByteVector f = frame;
        f[k] ^= x;
        variants.push_back(std::move(f));
      }
    }
    for (const ByteVector& f : variants) {
      PacketInfo info;
      if (parse::decode_packet(c.link, f, &info) != ParseStatus::kOk) continue;
      const ReplyResult res = build(c, BlockedPacket{info, f, c.link}, out);
      if (!res.ok()) {
        EXPECT_EQ(res.size, 0u);
        continue;
      }
      ++built;
      PacketInfo r;
      ASSERT_EQ(parse::decode_packet(c.link, Bytes(out).first(res.size), &r), ParseStatus::kOk);
      EXPECT_EQ(r.anomalies, 0u);
      if (c.kind == Kind::kDns) {
        auto m = std::make_unique<parse::DnsMessage>();
        EXPECT_EQ(parse::parse_dns_message(dns_message(r), m.get()), ParseStatus::kOk);
        EXPECT_TRUE(m->is_response);
      }
    }
  }
  EXPECT_GT(built, 0u);
}

// ---- configuration ----

TEST(ReplyConfigProblem, DefaultsAreUsable) {
  EXPECT_EQ(reply_config_problem(ReplyConfig{}), "");
  EXPECT_EQ(reply_config_problem(stop_page()), "");
  EXPECT_EQ(reply_config_problem(web("https://stop.example.pk/a?b=c&d=%20")), "");
}

TEST(ReplyConfigProblem, EachRuleRejects) {
  struct Bad {
    std::string what;
    std::function<void(ReplyConfig&)> edit;
  };
  const std::string long_url = "http://s/" + std::string(kMaxStopPageUrlLen, 'a');
  const std::string long_text(kMaxEdeExtraTextLen + 1, 'x');
  const std::vector<Bad> bad = {
      {"hop limit 0", [](ReplyConfig& c) { c.hop_limit = 0; }},
      {"placement out of range", [](ReplyConfig& c) { c.placement = static_cast<Placement>(7); }},
      {"dns_answer out of range",
       [](ReplyConfig& c) { c.dns_answer = static_cast<DnsBlockAnswer>(7); }},
      {"v6 address as v4", [](ReplyConfig& c) { c.stop_page_v4 = address(kStop6); }},
      {"v4 address as v6", [](ReplyConfig& c) { c.stop_page_v6 = address(kStop4); }},
      {"stop page without address",
       [](ReplyConfig& c) {
         c.dns_answer = DnsBlockAnswer::kStopPage;
         c.stop_page_v4 = {};
         c.stop_page_v6 = {};
       }},
      {"ttl with top bit", [](ReplyConfig& c) { c.dns_ttl = 0x80000000u; }},
      {"edns size under 512", [](ReplyConfig& c) { c.edns_udp_size = 511; }},
      {"EDE code 18", [](ReplyConfig& c) { c.ede_code = static_cast<EdeCode>(18); }},
      {"extra text too long", [&](ReplyConfig& c) { c.ede_extra_text = long_text; }},
      {"extra text not UTF-8", [](ReplyConfig& c) { c.ede_extra_text = "\xc0\xaf"; }},
      {"extra text surrogate", [](ReplyConfig& c) { c.ede_extra_text = "\xed\xa0\x80"; }},
      {"extra text cut sequence", [](ReplyConfig& c) { c.ede_extra_text = "ok\xe2\x82"; }},
      {"url too long", [&](ReplyConfig& c) { c.stop_page_url = long_url; }},
      {"url scheme", [](ReplyConfig& c) { c.stop_page_url = "ftp://stop.example/"; }},
      {"url without host", [](ReplyConfig& c) { c.stop_page_url = "https://"; }},
      {"url with CRLF", [](ReplyConfig& c) { c.stop_page_url = "http://a/\r\nX: y"; }},
      {"url with a quote", [](ReplyConfig& c) { c.stop_page_url = "http://a/\"onload=x"; }},
      {"url with a fragment", [](ReplyConfig& c) { c.stop_page_url = "http://a/#top"; }},
  };
  for (const Bad& b : bad) {
    ReplyConfig c = stop_page();
    b.edit(c);
    EXPECT_NE(reply_config_problem(c), "") << b.what;
  }
  ReplyConfig ok = stop_page();
  ok.ede_extra_text =
      "\xd8\xa8\xd9\x84\xd8\xa7\xda\xa9 \xf0\x9f\x9a\xab";  // Urdu word and an emoji
  EXPECT_EQ(reply_config_problem(ok), "");
}

TEST(ReplyError, EveryReasonHasItsOwnName) {
  std::vector<std::string_view> names;
  for (const ReplyError e : kReplyErrors) names.push_back(to_string(e));
  EXPECT_EQ(names.size(), kReplyErrorCount);
  EXPECT_EQ(names.front(), "none");
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  EXPECT_EQ(std::count(names.begin(), names.end(), "unknown"), 0);
}

}  // namespace
}  // namespace muhafiz::action
