// muhafiz-make-captures OUTDIR: writes the project's own test captures, each X.pcap (or
// X.pcapng) with an X.expected.jsonl manifest: one JSON object per observation a correct
// extractor reports, in frame order:
//
//   {"frame":7,"kind":"tls_sni","host":"pq.example.com"}
//   {"frame":4,"kind":"http","host":"www.allowed.example","uri":"/"}
//
// kind: dns | tls_sni | quic_sni | http. frame: 1-based record number of the frame that
// completes the observation. host: lower-case, without a port. flags (optional): "ech" (the
// host is the ECH outer name), "ip_fragment" (seen in the first IPv4 fragment alone).
// qtype (dns): the question's type. tshark (optional): where Wireshark's tshark legitimately
// reports otherwise, {"frame":N,"why":...} or {"absent":true,"why":...}; check_with_tshark.py
// uses it. Names are under example/example.com/.org/.net/test; addresses are documentation
// ranges (RFC 5737, RFC 3849), except the SSDP multicast group every M-SEARCH goes to.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/parse/quic.h"
#include "tests/support/packet_builder.h"

namespace {

namespace mt = muhafiz::testing;
using mt::ByteVector;
using mt::PacketBuilder;
using mt::TcpConversation;
using nlohmann::json;

constexpr uint64_t kStartUsec = 1700000000ULL * 1000000ULL;  // 2023-11-14T22:13:20Z
constexpr uint64_t kFrameGapUsec = 1250;

// Documentation addresses (RFC 5737, RFC 3849).
constexpr const char* kClient4 = "192.0.2.10";
constexpr const char* kResolver4 = "198.51.100.53";
constexpr const char* kWeb4 = "203.0.113.80";
constexpr const char* kClient6 = "2001:db8:1::10";
constexpr const char* kResolver6 = "2001:db8:53::53";
constexpr const char* kWeb6 = "2001:db8:2::443";

struct Observation {
  size_t frame = 0;
  std::string kind, host, uri;
  uint16_t qtype = 0;
  std::vector<std::string> flags;
  json tshark;  // null unless tshark legitimately differs
};

Observation dns(size_t frame, std::string host, uint16_t qtype = mt::kDnsTypeA) {
  return Observation{frame, "dns", std::move(host), "", qtype, {}, nullptr};
}
Observation tls(size_t frame, std::string host, std::vector<std::string> flags = {}) {
  return Observation{frame, "tls_sni", std::move(host), "", 0, std::move(flags), nullptr};
}
Observation quic(size_t frame, std::string host) {
  return Observation{frame, "quic_sni", std::move(host), "", 0, {}, nullptr};
}
Observation http(size_t frame, std::string host, std::string uri) {
  return Observation{frame, "http", std::move(host), std::move(uri), 0, {}, nullptr};
}

// One capture file and its manifest.
class Capture {
 public:
  Capture(std::string name, mt::PcapLinkType link, mt::CaptureFormat format = mt::CaptureFormat::kPcap)
      : name_(std::move(name)), writer_(link), format_(format) {}

  // Appends a frame; returns its 1-based record number.
  size_t add(const ByteVector& frame) {
    writer_.add(frame, kStartUsec + writer_.frame_count() * kFrameGapUsec);
    return writer_.frame_count();
  }
  // Appends frames; returns the number of the last one.
  size_t add(const std::vector<ByteVector>& frames) {
    size_t last = 0;
    for (const ByteVector& f : frames) last = add(f);
    return last;
  }
  void expect(Observation o) { observations_.push_back(std::move(o)); }
  size_t frame_count() const { return writer_.frame_count(); }

  void write(const std::filesystem::path& dir) const {
    const char* ext = format_ == mt::CaptureFormat::kPcapng ? ".pcapng" : ".pcap";
    writer_.save((dir / (name_ + ext)).string(), format_);
    std::vector<Observation> sorted = observations_;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const Observation& a, const Observation& b) { return a.frame < b.frame; });
    std::ofstream out(dir / (name_ + ".expected.jsonl"), std::ios::trunc);
    for (const Observation& o : sorted) {
      json j = {{"frame", o.frame}, {"kind", o.kind}, {"host", o.host}};
      if (!o.uri.empty()) j["uri"] = o.uri;
      if (o.qtype != 0) j["qtype"] = o.qtype;
      if (!o.flags.empty()) j["flags"] = o.flags;
      if (!o.tshark.is_null()) j["tshark"] = o.tshark;
      out << j.dump() << '\n';
    }
    out.close();
    if (!out) throw std::runtime_error("cannot write manifest for " + name_);
    std::printf("%-28s %4zu frames %3zu observations\n", (name_ + ext).c_str(), frame_count(), observations_.size());
  }

 private:
  std::string name_;
  mt::PcapWriter writer_;
  mt::CaptureFormat format_;
  std::vector<Observation> observations_;
};

// Frame templates -----------------------------------------------------------------------

PacketBuilder eth_ip(std::string_view src, std::string_view dst) { return PacketBuilder().ethernet().ip(src, dst); }

ByteVector udp_frame(PacketBuilder prefix, uint16_t sport, uint16_t dport, mt::ByteView payload) {
  return prefix.udp(sport, dport).payload(payload).build();
}

ByteVector dns_frame(PacketBuilder prefix, uint16_t sport, mt::ByteView query) {
  return udp_frame(std::move(prefix), sport, 53, query);
}

uint32_t next_isn() {
  static uint32_t isn = 0x1a2b3c4d;
  isn = isn * 1103515245u + 12345u;
  return isn;
}

TcpConversation conversation(PacketBuilder prefix, uint16_t sport, uint16_t dport) {
  return TcpConversation(prefix.tcp(sport, dport), next_isn(), next_isn());
}

ByteVector hello_records(const mt::ClientHelloSpec& spec) { return mt::tls_records(mt::client_hello(spec)); }

mt::ClientHelloSpec hello_spec(std::string sni, uint64_t seed) {
  mt::ClientHelloSpec s;
  s.sni = std::move(sni);
  s.alpn = {"h2", "http/1.1"};
  s.seed = seed;
  return s;
}

// A TLS connection: handshake, the ClientHello records cut at `cuts` into segments, the
// server's ACK. Returns the frame that completes the hello.
size_t add_tls_flow(Capture& cap, PacketBuilder prefix, uint16_t sport, const ByteVector& records,
                    std::vector<size_t> cuts = {}, uint16_t dport = 443) {
  TcpConversation c = conversation(std::move(prefix), sport, dport);
  cap.add(c.handshake());
  const size_t done = cap.add(c.client_send_split(records, cuts));
  cap.add(c.server_ack());
  return done;
}

// Captures ------------------------------------------------------------------------------

void make_dns_udp(const std::filesystem::path& dir) {
  Capture cap("dns_udp", mt::PcapLinkType::kEthernet);
  size_t f = cap.add(dns_frame(eth_ip(kClient4, kResolver4), 50001, mt::dns_query(0x1001, "www.example.com")));
  cap.expect(dns(f, "www.example.com"));
  cap.add(udp_frame(eth_ip(kResolver4, kClient4), 53, 50001, mt::dns_response(0x1001, "www.example.com", "203.0.113.7")));
  f = cap.add(dns_frame(eth_ip(kClient4, kResolver4), 50002,
                        mt::dns_query(0x1002, "www.example.com", mt::kDnsTypeAaaa)));
  cap.expect(dns(f, "www.example.com", mt::kDnsTypeAaaa));
  cap.add(udp_frame(eth_ip(kResolver4, kClient4), 53, 50002,
                    mt::dns_response(0x1002, "www.example.com", "2001:db8:2::7")));

  // Three questions in one message; the second and third reuse "example.org" through a
  // compression pointer (RFC 1035 §4.1.4). Rare in queries, but legal.
  const mt::DnsQuestion several[] = {{"www.example.org", mt::kDnsTypeA, 1},
                                     {"mail.example.org", mt::kDnsTypeAaaa, 1},
                                     {"example.org", mt::kDnsTypeHttps, 1}};
  f = cap.add(dns_frame(eth_ip(kClient4, kResolver4), 50003,
                        mt::dns_query(0x1003, several, {.recursion_desired = true, .compress = true})));
  cap.expect(dns(f, "www.example.org"));
  cap.expect(dns(f, "mail.example.org", mt::kDnsTypeAaaa));
  cap.expect(dns(f, "example.org", mt::kDnsTypeHttps));

  // DNS 0x20 mixed case: extractors report the name lower-cased.
  f = cap.add(dns_frame(eth_ip(kClient4, kResolver4), 50004, mt::dns_query(0x1004, "MiXeD.ExAmPlE.NeT")));
  cap.expect(dns(f, "mixed.example.net"));

  // IPv4 header with a Router Alert option (RFC 2113): IHL 6.
  mt::Ipv4Layer with_options;
  with_options.src = mt::ip_address(kClient4);
  with_options.dst = mt::ip_address(kResolver4);
  with_options.options = {0x94, 0x04, 0x00, 0x00};
  f = cap.add(PacketBuilder()
                  .ethernet()
                  .ipv4(with_options)
                  .udp(50005, 53)
                  .payload(mt::dns_query(0x1005, "options.example.com"))
                  .build());
  cap.expect(dns(f, "options.example.com"));

  // IPv6 transport, EDNS(0) OPT record in the additional section.
  const mt::DnsQuestion v6q[] = {{"v6.example.com", mt::kDnsTypeAaaa, 1}};
  f = cap.add(dns_frame(eth_ip(kClient6, kResolver6), 50006,
                        mt::dns_query(0x1006, v6q, {.recursion_desired = true, .compress = false, .edns_udp_size = 1232})));
  cap.expect(dns(f, "v6.example.com", mt::kDnsTypeAaaa));
  cap.write(dir);
}

void make_dns_tcp(const std::filesystem::path& dir) {
  Capture cap("dns_tcp_two_msgs", mt::PcapLinkType::kEthernet);
  TcpConversation c = conversation(eth_ip(kClient4, kResolver4), 51001, 53);
  cap.add(c.handshake());
  // Two length-prefixed queries in one segment (RFC 7766 §6.2.1.1 pipelining).
  const ByteVector two = mt::concat({mt::dns_tcp_frame(mt::dns_query(0x2001, "first.example.com")),
                                     mt::dns_tcp_frame(mt::dns_query(0x2002, "second.example.com", mt::kDnsTypeAaaa))});
  size_t f = cap.add(c.client_send(two));
  cap.expect(dns(f, "first.example.com"));
  cap.expect(dns(f, "second.example.com", mt::kDnsTypeAaaa));
  cap.add(c.server_ack());
  // One query split inside its question name.
  const ByteVector third = mt::dns_tcp_frame(mt::dns_query(0x2003, "split-query.example.org"));
  const size_t cut_in_name[] = {20};
  f = cap.add(c.client_send_split(third, cut_in_name));
  cap.expect(dns(f, "split-query.example.org"));
  cap.add(c.server_ack());
  // One query whose 2-byte length prefix itself is split.
  const ByteVector fourth = mt::dns_tcp_frame(mt::dns_query(0x2004, "split-prefix.example.net"));
  const size_t cut_in_prefix[] = {1};
  f = cap.add(c.client_send_split(fourth, cut_in_prefix));
  cap.expect(dns(f, "split-prefix.example.net"));
  cap.add(c.server_ack());
  cap.add(c.close());
  cap.write(dir);
}

void make_tls_one_segment(const std::filesystem::path& dir) {
  Capture cap("tls_one_segment", mt::PcapLinkType::kEthernet);
  size_t f = add_tls_flow(cap, eth_ip(kClient4, kWeb4), 52001, hello_records(hello_spec("www.example.com", 11)));
  cap.expect(tls(f, "www.example.com"));
  mt::ClientHelloSpec plain = hello_spec("v6.example.org", 12);
  plain.grease = false;
  plain.alpn.clear();
  f = add_tls_flow(cap, eth_ip(kClient6, kWeb6), 52002, hello_records(plain));
  cap.expect(tls(f, "v6.example.org"));
  // No SNI at all: nothing to report (tshark shows the hello with an empty name).
  mt::ClientHelloSpec anonymous = hello_spec("", 13);
  add_tls_flow(cap, eth_ip(kClient4, kWeb4), 52003, hello_records(anonymous));
  cap.write(dir);
}

ByteVector pq_records() {
  mt::ClientHelloSpec pq = hello_spec("pq.example.com", 21);
  pq.post_quantum = true;
  pq.pad_to = 1800;  // the size of a current Chrome hello with its ECH GREASE and ALPS
  return hello_records(pq);
}

void make_tls_pq(const std::filesystem::path& dir, mt::CaptureFormat format) {
  Capture cap(format == mt::CaptureFormat::kPcapng ? "tls_pq_two_segments_ng" : "tls_pq_two_segments",
              mt::PcapLinkType::kEthernet, format);
  const ByteVector records = pq_records();
  // A 1448-byte first segment, as with a 1500 MTU and TCP timestamps.
  const size_t f = add_tls_flow(cap, eth_ip(kClient4, kWeb4), 53001, records, {1448});
  cap.expect(tls(f, "pq.example.com"));
  cap.write(dir);
}

void make_tls_two_records(const std::filesystem::path& dir) {
  Capture cap("tls_two_records", mt::PcapLinkType::kEthernet);
  // Record boundary 60 bytes into the handshake message (inside the session id), both
  // records in one segment.
  const ByteVector hello = mt::client_hello(hello_spec("records.example.com", 31));
  const size_t boundary[] = {60};
  size_t f = add_tls_flow(cap, eth_ip(kClient4, kWeb4), 54001, mt::tls_records(hello, boundary));
  cap.expect(tls(f, "records.example.com"));
  // Record boundary inside the server name, each record in its own segment.
  const ByteVector hello2 = mt::client_hello(hello_spec("records-split.example.net", 32));
  const std::string name = "records-split";
  const auto it = std::search(hello2.begin(), hello2.end(), name.begin(), name.end());
  const auto name_at = static_cast<size_t>(it - hello2.begin()) + 4;
  const size_t in_name[] = {name_at};
  const ByteVector records2 = mt::tls_records(hello2, in_name);
  f = add_tls_flow(cap, eth_ip(kClient4, kWeb4), 54002, records2, {5 + name_at});
  cap.expect(tls(f, "records-split.example.net"));
  cap.write(dir);
}

void make_tls_ech(const std::filesystem::path& dir) {
  Capture cap("tls_ech", mt::PcapLinkType::kEthernet);
  mt::ClientHelloSpec ech = hello_spec("public.example", 41);
  ech.ech = true;
  size_t f = add_tls_flow(cap, eth_ip(kClient4, kWeb4), 55001, hello_records(ech));
  cap.expect(tls(f, "public.example", {"ech"}));
  // Chrome-like: ECH plus the post-quantum key share, split over two segments.
  mt::ClientHelloSpec both = hello_spec("public.example.net", 42);
  both.ech = true;
  both.post_quantum = true;
  f = add_tls_flow(cap, eth_ip(kClient6, kWeb6), 55002, hello_records(both), {1428});
  cap.expect(tls(f, "public.example.net", {"ech"}));
  cap.write(dir);
}

// QUIC ----------------------------------------------------------------------------------

ByteVector quic_hello(std::string sni, uint64_t seed, bool post_quantum) {
  mt::ClientHelloSpec s;
  s.sni = std::move(sni);
  s.alpn = {"h3"};
  s.quic = true;
  s.post_quantum = post_quantum;
  s.seed = seed;
  return mt::client_hello(s);
}

mt::QuicInitialSpec quic_spec(uint32_t version, uint64_t seed, uint32_t pn) {
  mt::QuicInitialSpec s;
  s.version = version;
  s.dcid = mt::pseudo_random_bytes(8, seed);
  s.scid = mt::pseudo_random_bytes(8, seed + 1);
  s.packet_number = pn;
  return s;
}

// Datagrams carrying `hello` in CRYPTO frames: `packets[i]` lists the [begin, end) byte ranges
// of the hello in packet i, in the order they are written.
std::vector<ByteVector> quic_datagrams(PacketBuilder prefix, uint16_t sport, uint32_t version, uint64_t seed,
                                       const ByteVector& hello,
                                       const std::vector<std::vector<std::pair<size_t, size_t>>>& packets) {
  std::vector<ByteVector> out;
  for (size_t i = 0; i < packets.size(); ++i) {
    mt::QuicInitialSpec s = quic_spec(version, seed, static_cast<uint32_t>(i));
    for (const auto& [begin, end] : packets[i]) {
      const size_t stop = std::min(end, hello.size());
      s.crypto.push_back({begin, ByteVector(hello.begin() + static_cast<std::ptrdiff_t>(begin),
                                            hello.begin() + static_cast<std::ptrdiff_t>(stop))});
    }
    out.push_back(PacketBuilder(prefix).udp(sport, 443).payload(mt::quic_client_initial(s)).build());
  }
  return out;
}

void make_quic_v1(const std::filesystem::path& dir) {
  Capture cap("quic_v1_two_packets", mt::PcapLinkType::kEthernet);
  const ByteVector hello = quic_hello("quic.example.com", 51, true);
  // Packet 1: bytes 600..1100 then 0..600 (out of order); packet 2: the rest.
  size_t f = cap.add(quic_datagrams(eth_ip(kClient4, kWeb4), 56001, muhafiz::parse::kQuicVersion1, 510, hello,
                                    {{{600, 1100}, {0, 600}}, {{1100, hello.size()}}}));
  cap.expect(quic(f, "quic.example.com"));
  // Chrome-style scrambling: the tail and the head first, the middle second.
  const ByteVector hello2 = quic_hello("quic-scrambled.example.org", 52, true);
  f = cap.add(quic_datagrams(eth_ip(kClient6, kWeb6), 56002, muhafiz::parse::kQuicVersion1, 520, hello2,
                             {{{1000, hello2.size()}, {0, 300}}, {{700, 1000}, {300, 700}}}));
  cap.expect(quic(f, "quic-scrambled.example.org"));
  cap.write(dir);
}

void make_quic_v2(const std::filesystem::path& dir) {
  Capture cap("quic_v2", mt::PcapLinkType::kEthernet);
  const ByteVector small = quic_hello("quic2.example.org", 61, false);
  size_t f = cap.add(quic_datagrams(eth_ip(kClient4, kWeb4), 57001, muhafiz::parse::kQuicVersion2, 610, small,
                                    {{{0, small.size()}}}));
  cap.expect(quic(f, "quic2.example.org"));
  const ByteVector big = quic_hello("quic2-pq.example.net", 62, true);
  f = cap.add(quic_datagrams(eth_ip(kClient6, kWeb6), 57002, muhafiz::parse::kQuicVersion2, 620, big,
                             {{{0, 1000}}, {{1000, big.size()}}}));
  cap.expect(quic(f, "quic2-pq.example.net"));
  cap.write(dir);
}

// HTTP ----------------------------------------------------------------------------------

const mt::HttpHeader kBrowserHeaders[] = {{"User-Agent", "muhafiz-test/1.0"}, {"Accept", "*/*"}};

std::string http_response(size_t body_len) {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " + std::to_string(body_len) + "\r\n\r\n" +
         std::string(body_len, 'x');
}

void make_http_pipelined(const std::filesystem::path& dir) {
  Capture cap("http_pipelined", mt::PcapLinkType::kEthernet);
  {
    TcpConversation c = conversation(eth_ip(kClient4, kWeb4), 58001, 80);
    cap.add(c.handshake());
    const std::string two = mt::http_request("GET", "/", "www.allowed.example", kBrowserHeaders) +
                            mt::http_request("GET", "/images/logo.png", "www.allowed.example", kBrowserHeaders);
    size_t f = cap.add(c.client_send(mt::to_bytes(two)));
    cap.expect(http(f, "www.allowed.example", "/"));
    cap.expect(http(f, "www.allowed.example", "/images/logo.png"));
    cap.add(c.server_send(mt::to_bytes(http_response(40) + http_response(60))));
    // The third request's head is cut inside the Host header value.
    const std::string third = mt::http_request("GET", "/search?q=split+head", "www.allowed.example", kBrowserHeaders);
    const size_t cut[] = {third.find("allowed")};
    f = cap.add(c.client_send_split(mt::to_bytes(third), cut));
    cap.expect(http(f, "www.allowed.example", "/search?q=split+head"));
    cap.add(c.server_send(mt::to_bytes(http_response(20))));
    cap.add(c.client_ack());
    cap.add(c.close());
  }
  {
    // Absolute-form to a forward proxy (RFC 9112 §3.2.2).
    TcpConversation c = conversation(eth_ip(kClient4, "203.0.113.8"), 58002, 8080);
    cap.add(c.handshake());
    const std::string req = mt::http_request("GET", "http://proxied.example.org/path/page.html?x=1",
                                             "proxied.example.org", kBrowserHeaders);
    const size_t f = cap.add(c.client_send(mt::to_bytes(req)));
    cap.expect(http(f, "proxied.example.org", "http://proxied.example.org/path/page.html?x=1"));
    cap.add(c.server_ack());
  }
  {
    // CONNECT in authority-form (RFC 9112 §3.2.3): host and port only.
    TcpConversation c = conversation(eth_ip(kClient4, "203.0.113.8"), 58003, 8080);
    cap.add(c.handshake());
    const std::string req = mt::http_request("CONNECT", "blocked.example:443", "blocked.example:443", kBrowserHeaders);
    const size_t f = cap.add(c.client_send(mt::to_bytes(req)));
    cap.expect(http(f, "blocked.example", "blocked.example:443"));
    cap.add(c.server_ack());
  }
  cap.write(dir);
}

void make_ssdp(const std::filesystem::path& dir) {
  Capture cap("ssdp_msearch", mt::PcapLinkType::kEthernet);
  // UPnP discovery is HTTP over UDP (UDA 2.0 §1.3.2); it goes to the SSDP multicast group.
  const mt::HttpHeader search[] = {{"MAN", "\"ssdp:discover\""}, {"MX", "2"}, {"ST", "ssdp:all"}};
  const std::string msearch = mt::http_request("M-SEARCH", "*", "239.255.255.250:1900", search);
  const mt::MacAddress multicast_mac{0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa};
  size_t f = cap.add(PacketBuilder()
                         .ethernet(mt::kClientMac, multicast_mac)
                         .ipv4("192.0.2.30", "239.255.255.250")
                         .udp(50900, 1900)
                         .payload(msearch)
                         .build());
  cap.expect(http(f, "239.255.255.250", "*"));
  // Unicast M-SEARCH to one device (UDA 2.0 §1.3.2.1).
  const std::string unicast = mt::http_request("M-SEARCH", "*", "192.0.2.1:1900", search);
  f = cap.add(udp_frame(eth_ip("192.0.2.30", "192.0.2.1"), 50901, 1900, mt::to_bytes(unicast)));
  cap.expect(http(f, "192.0.2.1", "*"));
  cap.write(dir);
}

// Encapsulations ------------------------------------------------------------------------

void make_vlan_pppoe(const std::filesystem::path& dir) {
  Capture cap("vlan_pppoe", mt::PcapLinkType::kEthernet);
  auto prefix = [](std::string_view src, std::string_view dst) {
    return PacketBuilder().ethernet().qinq(100, 200).pppoe(0x1234).ip(src, dst);
  };
  size_t f = cap.add(dns_frame(prefix(kClient4, kResolver4), 59001, mt::dns_query(0x3001, "pppoe.example.net")));
  cap.expect(dns(f, "pppoe.example.net"));
  f = add_tls_flow(cap, prefix(kClient6, kWeb6), 59002, hello_records(hello_spec("pppoe-tls.example.com", 71)));
  cap.expect(tls(f, "pppoe-tls.example.com"));
  cap.write(dir);
}

void make_mpls(const std::filesystem::path& dir) {
  Capture cap("mpls", mt::PcapLinkType::kEthernet);
  auto prefix = [](std::string_view src, std::string_view dst) {
    return PacketBuilder().ethernet().mpls(16001).mpls(24002).ip(src, dst);
  };
  size_t f = cap.add(dns_frame(prefix(kClient4, kResolver4), 60001, mt::dns_query(0x4001, "mpls.example.org")));
  cap.expect(dns(f, "mpls.example.org"));
  f = cap.add(dns_frame(prefix(kClient6, kResolver6), 60002,
                        mt::dns_query(0x4002, "mpls6.example.org", mt::kDnsTypeAaaa)));
  cap.expect(dns(f, "mpls6.example.org", mt::kDnsTypeAaaa));
  f = add_tls_flow(cap, prefix(kClient4, kWeb4), 60003, hello_records(hello_spec("mpls-tls.example.com", 81)));
  cap.expect(tls(f, "mpls-tls.example.com"));
  cap.write(dir);
}

void make_gtpu(const std::filesystem::path& dir) {
  Capture cap("gtpu", mt::PcapLinkType::kEthernet);
  // eNodeB/gNodeB to UPF over N3/S1-U; the subscriber's packet is inside.
  auto prefix = [](std::string_view src, std::string_view dst) {
    return PacketBuilder()
        .ethernet()
        .ipv4("198.51.100.1", "198.51.100.2")
        .udp(mt::kGtpuUdpPort, mt::kGtpuUdpPort)
        .gtpu(0x00abcdef)
        .ip(src, dst);
  };
  size_t f = cap.add(dns_frame(prefix("192.0.2.77", kResolver4), 61001, mt::dns_query(0x5001, "gtp.example.net")));
  cap.expect(dns(f, "gtp.example.net"));
  f = add_tls_flow(cap, prefix("2001:db8:77::1", kWeb6), 61002, hello_records(hello_spec("gtp-tls.example.com", 91)));
  cap.expect(tls(f, "gtp-tls.example.com"));
  cap.write(dir);
}

void make_ipv6_ext(const std::filesystem::path& dir) {
  Capture cap("ipv6_ext_headers", mt::PcapLinkType::kEthernet);
  auto prefix = [](std::string_view dst, bool atomic_fragment) {
    mt::Ipv6Layer v6;
    v6.src = mt::ip_address(kClient6);
    v6.dst = mt::ip_address(dst);
    const mt::IpAddr segments[] = {v6.dst};
    v6.extensions = {mt::ipv6_hop_by_hop_router_alert(), mt::ipv6_segment_routing(segments)};
    if (atomic_fragment) v6.extensions.push_back(mt::ipv6_fragment_header(0, false, 0x5eed));
    v6.extensions.push_back(mt::ipv6_options_header(mt::kIpv6DestOptions));
    return PacketBuilder().ethernet().ipv6(v6);
  };
  size_t f = add_tls_flow(cap, prefix(kWeb6, false), 62001, hello_records(hello_spec("ext6.example.com", 101)));
  cap.expect(tls(f, "ext6.example.com"));
  f = cap.add(dns_frame(prefix(kResolver6, false), 62002,
                        mt::dns_query(0x6001, "ext6-dns.example.org", mt::kDnsTypeAaaa)));
  cap.expect(dns(f, "ext6-dns.example.org", mt::kDnsTypeAaaa));
  // An atomic fragment (offset 0, M=0) is a whole datagram (RFC 8200 §4.5, RFC 6946).
  f = cap.add(dns_frame(prefix(kResolver6, true), 62003, mt::dns_query(0x6002, "atomic.example.net")));
  cap.expect(dns(f, "atomic.example.net"));
  cap.write(dir);
}

void make_ipv4_fragments(const std::filesystem::path& dir) {
  Capture cap("ipv4_fragments", mt::PcapLinkType::kEthernet);
  // A query made large with EDNS padding (RFC 7830), sent as 3 fragments of <= 256 bytes of
  // payload. The first carries the UDP header and the whole question, so Muhafiz reports it
  // from the first fragment alone; tshark reassembles and reports at the last fragment.
  const mt::DnsQuestion q1[] = {{"fragmented.example.com", mt::kDnsTypeA, 1}};
  const mt::DnsQueryOptions padded{.recursion_desired = true, .compress = false, .edns_udp_size = 4096, .edns_padding = 600};
  PacketBuilder b1 = eth_ip(kClient4, kResolver4);
  b1.innermost<mt::Ipv4Layer>().id = 0x7001;
  std::vector<ByteVector> frags = b1.udp(63001, 53).payload(mt::dns_query(0x7001, q1, padded)).build_ipv4_fragments(256);
  const size_t first = cap.add(frags.front());
  const size_t last = cap.add(std::vector<ByteVector>(frags.begin() + 1, frags.end()));
  Observation o = dns(first, "fragmented.example.com");
  o.flags = {"ip_fragment"};
  o.tshark = {{"frame", last}, {"why", "tshark reassembles IPv4 fragments and reports at the last one"}};
  cap.expect(o);

  // Fragments arriving in reverse order: the first fragment (with the question) comes last,
  // so both report at the same frame.
  const mt::DnsQuestion q2[] = {{"reverse-fragments.example.org", mt::kDnsTypeAaaa, 1}};
  PacketBuilder b2 = eth_ip(kClient4, kResolver4);
  b2.innermost<mt::Ipv4Layer>().id = 0x7002;
  frags = b2.udp(63002, 53).payload(mt::dns_query(0x7002, q2, padded)).build_ipv4_fragments(256);
  std::reverse(frags.begin(), frags.end());
  const size_t f = cap.add(frags);
  Observation o2 = dns(f, "reverse-fragments.example.org", mt::kDnsTypeAaaa);
  o2.flags = {"ip_fragment"};
  cap.expect(o2);
  cap.write(dir);
}

void make_linktypes(const std::filesystem::path& dir) {
  struct Variant {
    const char* name;
    mt::PcapLinkType link;
    PacketBuilder (*prefix)();
  };
  const Variant variants[] = {
      {"linktype_raw", mt::PcapLinkType::kRaw, [] { return PacketBuilder(); }},
      {"linktype_null", mt::PcapLinkType::kNull, [] { return PacketBuilder().null_link(); }},
      {"linktype_sll", mt::PcapLinkType::kLinuxSll, [] { return PacketBuilder().linux_sll(4); }},
      {"linktype_sll2", mt::PcapLinkType::kLinuxSll2, [] { return PacketBuilder().linux_sll2(4, 2); }},
  };
  uint16_t id = 0x8001;
  for (const Variant& v : variants) {
    Capture cap(v.name, v.link);
    const std::string name4 = std::string(v.name).substr(9) + ".linktype.test";
    size_t f = cap.add(dns_frame(v.prefix().ip(kClient4, kResolver4), 64001, mt::dns_query(id++, name4)));
    cap.expect(dns(f, name4));
    const std::string name6 = std::string(v.name).substr(9) + "-v6.linktype.test";
    f = cap.add(dns_frame(v.prefix().ip(kClient6, kResolver6), 64002, mt::dns_query(id++, name6, mt::kDnsTypeAaaa)));
    cap.expect(dns(f, name6, mt::kDnsTypeAaaa));
    cap.write(dir);
  }
}

// Link types whose headers wrap a whole IP packet: NFLOG (Linux iptables/nftables logging),
// 802.11 data frames bare, behind radiotap and behind PPI. Built by hand around raw IP frames.
void make_wrapped_linktypes(const std::filesystem::path& dir) {
  auto le16 = [](size_t v) {
    return ByteVector{static_cast<uint8_t>(v & 0xff), static_cast<uint8_t>((v >> 8) & 0xff)};
  };
  auto join = [](std::initializer_list<ByteVector> parts) {
    ByteVector out;
    for (const ByteVector& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  };
  // 802.11 QoS data, from DS (AP to station), unprotected: frame control, duration, receiver,
  // transmitter, source, sequence control, QoS control; then LLC/SNAP with the EtherType.
  auto wlan = [&](uint16_t ethertype) {
    return join({ByteVector{0x88, 0x02, 0x2c, 0x00}, ByteVector{0x02, 0, 0, 0, 0, 0x01},
                 ByteVector{0x02, 0, 0, 0, 0, 0x02}, ByteVector{0x02, 0, 0, 0, 0, 0x03},
                 ByteVector{0x10, 0x00}, ByteVector{0x00, 0x00},
                 ByteVector{0xaa, 0xaa, 0x03, 0, 0, 0,
                            static_cast<uint8_t>(ethertype >> 8), static_cast<uint8_t>(ethertype)}});
  };
  struct Variant {
    const char* name;
    uint32_t link;
    std::function<ByteVector(const ByteVector& ip, bool v6)> wrap;
  };
  const Variant variants[] = {
      {"linktype_nflog", 239,
       [&](const ByteVector& ip, bool v6) {
         // family, version 0, resource id 0 (big-endian); NFULA_PREFIX "muhafiz" then
         // NFULA_PAYLOAD; TLV length and type little-endian, each padded to 4 bytes.
         return join({ByteVector{static_cast<uint8_t>(v6 ? 10 : 2), 0, 0, 0}, le16(12), le16(10),
                      ByteVector{'m', 'u', 'h', 'a', 'f', 'i', 'z', 0}, le16(4 + ip.size()), le16(9), ip,
                      ByteVector((4 - ip.size() % 4) % 4, 0)});
       }},
      {"linktype_ieee80211", 105,
       [&](const ByteVector& ip, bool v6) { return join({wlan(v6 ? 0x86dd : 0x0800), ip}); }},
      {"linktype_radiotap", 127,
       [&](const ByteVector& ip, bool v6) {
         // version 0, pad, length 12; present: flags (bit 1) and rate (bit 2); flags 0, rate 2,
         // padding to the length.
         return join({ByteVector{0, 0}, le16(12), ByteVector{0x06, 0, 0, 0, 0x00, 0x02, 0, 0},
                      wlan(v6 ? 0x86dd : 0x0800), ip});
       }},
      {"linktype_ppi", 192,
       [&](const ByteVector& ip, bool v6) {
         return join({ByteVector{0, 0}, le16(8), ByteVector{105, 0, 0, 0}, wlan(v6 ? 0x86dd : 0x0800), ip});
       }},
  };
  uint16_t id = 0x8101;
  for (const Variant& v : variants) {
    Capture cap(v.name, static_cast<mt::PcapLinkType>(v.link));
    const std::string label = std::string(v.name).substr(9);
    const std::string name4 = label + ".linktype.test";
    size_t f = cap.add(v.wrap(dns_frame(PacketBuilder().ip(kClient4, kResolver4), 64001, mt::dns_query(id++, name4)),
                              false));
    cap.expect(dns(f, name4));
    const std::string name6 = label + "-v6.linktype.test";
    f = cap.add(v.wrap(
        dns_frame(PacketBuilder().ip(kClient6, kResolver6), 64002, mt::dns_query(id++, name6, mt::kDnsTypeAaaa)),
        true));
    cap.expect(dns(f, name6, mt::kDnsTypeAaaa));
    cap.write(dir);
  }
}

// A few hundred frames of mixed traffic for demos: allowed and listed names over DNS, TLS,
// QUIC and HTTP, plus traffic with nothing to report (responses, ARP, ICMP, NTP, SSH).
void make_mixed_sample(const std::filesystem::path& dir) {
  Capture cap("mixed_sample", mt::PcapLinkType::kEthernet);
  struct Visit {
    const char* host;
    const char* path;  // HTTP only
    char how;          // 't' TLS, 'q' QUIC, 'h' HTTP, 'd' DNS only
  };
  const Visit visits[] = {
      {"www.allowed.example", "", 't'},       {"csam-sample.example", "", 't'},
      {"news.example.org", "/today.html", 'h'}, {"blocked.example", "/gallery/1.jpg", 'h'},
      {"cdn.allowed.example", "", 'q'},       {"csam-sample.example", "", 'q'},
      {"api.example.com", "", 't'},           {"img.blocked.example", "", 't'},
      {"www.example.com", "/index.html", 'h'}, {"mail.example.net", "", 'd'},
      {"csam-sample.example", "/a/b/c.png", 'h'}, {"www.allowed.example", "", 'q'},
      {"static.example.net", "", 't'},        {"blocked.example", "", 'q'},
      {"video.example.org", "", 't'},         {"www.allowed.example", "/about", 'h'},
      {"blocked.example", "", 't'},           {"updates.example.com", "", 'd'},
      {"cdn.allowed.example", "", 't'},       {"csam-sample.example", "", 'd'},
  };
  uint16_t dns_id = 0x9000;
  uint16_t port = 40000;
  uint64_t seed = 1000;
  for (size_t round = 0; round < 2; ++round) {
    for (size_t i = 0; i < std::size(visits); ++i) {
      const Visit& v = visits[i];
      const bool v6 = (i + round) % 3 == 0;
      const std::string client = v6 ? "2001:db8:100::" + std::to_string(i + 1) : "192.0.2." + std::to_string(100 + i);
      const char* resolver = v6 ? kResolver6 : kResolver4;
      const std::string server = v6 ? "2001:db8:200::" + std::to_string(i + 1) : "203.0.113." + std::to_string(10 + i);
      const uint16_t qtype = v6 ? mt::kDnsTypeAaaa : mt::kDnsTypeA;

      const uint16_t dport = port++;
      size_t f = cap.add(dns_frame(eth_ip(client, resolver), dport, mt::dns_query(dns_id, v.host, qtype)));
      cap.expect(dns(f, v.host, qtype));
      cap.add(udp_frame(eth_ip(resolver, client), 53, dport, mt::dns_response(dns_id++, v.host, server)));

      if (v.how == 't') {
        mt::ClientHelloSpec spec = hello_spec(v.host, ++seed);
        spec.post_quantum = (i % 2) == 0;
        TcpConversation c = conversation(eth_ip(client, server), port++, 443);
        cap.add(c.handshake());
        const ByteVector records = hello_records(spec);
        f = records.size() > 1400 ? cap.add(c.client_send_split(records, std::vector<size_t>{1400}))
                                  : cap.add(c.client_send(records));
        cap.expect(tls(f, v.host));
        cap.add(c.server_send(mt::tls_application_data(900, ++seed)));
        cap.add(c.client_send(mt::tls_application_data(120, ++seed)));
        cap.add(c.server_send(mt::tls_application_data(1200, ++seed)));
        cap.add(c.client_ack());
        cap.add(c.close());
      } else if (v.how == 'q') {
        const ByteVector hello = quic_hello(v.host, ++seed, true);
        f = cap.add(quic_datagrams(eth_ip(client, server), port++, muhafiz::parse::kQuicVersion1, ++seed, hello,
                                   {{{0, 1100}}, {{1100, hello.size()}}}));
        cap.expect(quic(f, v.host));
        // Server flight: opaque to anyone without the keys; nothing to report.
        PacketBuilder back = eth_ip(server, client);
        ByteVector short_header = mt::pseudo_random_bytes(300, ++seed);
        short_header[0] = 0x43;  // short header, fixed bit set
        cap.add(back.udp(443, static_cast<uint16_t>(port - 1)).payload(short_header).build());
      } else if (v.how == 'h') {
        TcpConversation c = conversation(eth_ip(client, server), port++, 80);
        cap.add(c.handshake());
        f = cap.add(c.client_send(mt::to_bytes(mt::http_request("GET", v.path, v.host, kBrowserHeaders))));
        cap.expect(http(f, v.host, v.path));
        cap.add(c.server_send(mt::to_bytes(http_response(500))));
        cap.add(c.client_ack());
        cap.add(c.close());
      }

      if (i % 4 == 1) {
        // ARP who-has for the gateway (RFC 826).
        ByteVector arp = {0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01};
        mt::append(arp, mt::ByteView(mt::kClientMac));
        mt::append(arp, mt::ByteView(mt::ip_address("192.0.2.100").bytes.data(), 4));
        arp.insert(arp.end(), 6, 0);
        mt::append(arp, mt::ByteView(mt::ip_address("192.0.2.1").bytes.data(), 4));
        cap.add(PacketBuilder()
                    .ethernet_type(mt::kEtherTypeArp, mt::kClientMac, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
                    .payload(arp)
                    .build());
      } else if (i % 4 == 2) {
        // ICMP echo request with a valid checksum.
        ByteVector icmp = {8, 0, 0, 0, 0x12, 0x34, 0x00, static_cast<uint8_t>(i)};
        mt::append(icmp, mt::pseudo_random_bytes(32, ++seed));
        mt::put_u16be(icmp, 2, mt::internet_checksum(icmp));
        mt::Ipv4Layer l;
        l.src = mt::ip_address("192.0.2.100");
        l.dst = mt::ip_address(kWeb4);
        l.protocol = mt::kIpProtocolIcmp;
        cap.add(PacketBuilder().ethernet().ipv4(l).payload(icmp).build());
      } else if (i % 4 == 3) {
        // NTP client request (RFC 5905): mode 3, version 4.
        ByteVector ntp(48, 0);
        ntp[0] = 0x23;
        cap.add(udp_frame(eth_ip("192.0.2.100", "198.51.100.123"), 123, 123, ntp));
      } else {
        // SSH banner exchange: text over TCP that no extractor should report.
        TcpConversation c = conversation(eth_ip("192.0.2.100", "198.51.100.22"), port++, 22);
        cap.add(c.handshake());
        cap.add(c.server_send(mt::to_bytes("SSH-2.0-OpenSSH_9.2\r\n")));
        cap.add(c.client_send(mt::to_bytes("SSH-2.0-OpenSSH_9.2\r\n")));
      }
    }
  }
  cap.write(dir);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTDIR\nWrites the project's test captures and their .expected.jsonl manifests.\n",
                 argv[0]);
    return 2;
  }
  try {
    const std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    make_dns_udp(dir);
    make_dns_tcp(dir);
    make_tls_one_segment(dir);
    make_tls_pq(dir, mt::CaptureFormat::kPcap);
    make_tls_pq(dir, mt::CaptureFormat::kPcapng);
    make_tls_two_records(dir);
    make_tls_ech(dir);
    make_quic_v1(dir);
    make_quic_v2(dir);
    make_http_pipelined(dir);
    make_ssdp(dir);
    make_vlan_pppoe(dir);
    make_mpls(dir);
    make_gtpu(dir);
    make_ipv6_ext(dir);
    make_ipv4_fragments(dir);
    make_linktypes(dir);
    make_mixed_sample(dir);
    make_wrapped_linktypes(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "muhafiz-make-captures: %s\n", e.what());
    return 1;
  }
  return 0;
}
