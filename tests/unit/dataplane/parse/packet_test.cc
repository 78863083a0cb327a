// Link/network/transport decoding: hand-built frames, table-driven.
#include "dataplane/parse/packet.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

namespace muhafiz::parse {
namespace {

using B = std::vector<uint8_t>;

B cat(std::initializer_list<B> parts) {
  B out;
  for (const B& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
B u16(uint16_t v) { return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)}; }

// Ethernet II: destination and source MAC, then the EtherType.
B eth(uint16_t type) { return cat({B(6, 0x02), B(6, 0x04), u16(type)}); }
// 802.1Q / 802.1ad tag: TCI (VLAN id), then the inner EtherType.
B vlan(uint16_t id, uint16_t inner) { return cat({u16(id), u16(inner)}); }
// IPv4 from 192.0.2.1 to 198.51.100.2; `l4_len` is what follows the header.
B ipv4(uint8_t proto, size_t l4_len, uint16_t frag = 0, size_t option_words = 0) {
  const size_t hl = 20 + option_words * 4;
  B h = {static_cast<uint8_t>(0x40 | (hl / 4)), 0};
  h = cat({h, u16(static_cast<uint16_t>(hl + l4_len)), u16(0x1234), u16(frag), B{64, proto}, u16(0),
           B{192, 0, 2, 1}, B{198, 51, 100, 2}, B(option_words * 4, 0x01 /* NOP */)});
  return h;
}
// IPv6 from 2001:db8::1 to 2001:db8::2.
B ipv6(uint8_t next, size_t payload_len) {
  B src(16, 0), dst(16, 0);
  src[0] = dst[0] = 0x20;
  src[1] = dst[1] = 0x01;
  src[2] = dst[2] = 0x0d;
  src[3] = dst[3] = 0xb8;
  src[15] = 1;
  dst[15] = 2;
  return cat({B{0x60, 0, 0, 0}, u16(static_cast<uint16_t>(payload_len)), B{next, 64}, src, dst});
}
// A generic IPv6 extension header of 8 bytes: next header, length 0, 6 bytes of padding.
B ext8(uint8_t next) { return cat({B{next, 0}, B(6, 0)}); }
B udp(uint16_t sport, uint16_t dport, size_t payload_len) {
  return cat({u16(sport), u16(dport), u16(static_cast<uint16_t>(8 + payload_len)), u16(0)});
}
B tcp(uint16_t sport, uint16_t dport, uint32_t seq, uint8_t data_offset_words = 5) {
  B h = cat({u16(sport), u16(dport), B{static_cast<uint8_t>(seq >> 24), static_cast<uint8_t>(seq >> 16),
                                       static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq)},
             B(4, 0), B{static_cast<uint8_t>(data_offset_words << 4), 0x18 /* PSH|ACK */}, u16(65535),
             u16(0), u16(0)});
  if (data_offset_words > 5) h.resize(data_offset_words * 4u, 0x01);
  return h;
}
const B kPayload = {'h', 'e', 'l', 'l', 'o'};
uint16_t be16(const B& b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }

struct Case {
  std::string name;
  LinkType link;
  B frame;
  ParseStatus status;
  uint8_t proto;
  uint16_t sport, dport;
  size_t payload_len;
  uint32_t anomalies;  // exact set expected
  uint8_t tunnel_depth = 0;
};

uint32_t bit(PacketAnomaly a) { return packet_anomaly_mask(a); }

std::vector<Case> cases() {
  const B udp_pl = cat({udp(40000, 53, 5), kPayload});
  const B tcp_pl = cat({tcp(40000, 443, 1000), kPayload});
  const B v4_udp = cat({ipv4(17, udp_pl.size()), udp_pl});
  const B v4_tcp = cat({ipv4(6, tcp_pl.size()), tcp_pl});
  const B v6_tcp = cat({ipv6(6, tcp_pl.size()), tcp_pl});
  B gtp = cat({B{0x30, 0xff}, u16(static_cast<uint16_t>(v4_udp.size())), B{0, 0, 0, 7}, v4_udp});
  B gtp_ext = cat({B{0x34, 0xff}, u16(static_cast<uint16_t>(v4_udp.size() + 8)), B{0, 0, 0, 7},
                   B{0, 0, 0, 0x85},   // sequence, N-PDU, next extension: PDU session container
                   B{1, 0x10, 0x05, 0},  // length 1 (4 octets), content, next: none
                   v4_udp});
  const B outer_gtp = cat({udp(2152, 2152, gtp.size()), gtp});
  const B outer_gtp_ext = cat({udp(2152, 2152, gtp_ext.size()), gtp_ext});
  const B v6_ext = cat({ext8(43), ext8(60), ext8(6), tcp_pl});
  B deep_ext;
  for (int i = 0; i < 9; ++i) deep_ext = cat({deep_ext, ext8(0)});
  deep_ext = cat({deep_ext, ext8(6), tcp_pl});
  const B v6_frag_first = cat({B{6, 0}, u16(0x0001) /* offset 0, M */, B{0, 0, 0, 9}, tcp_pl});
  const B v6_frag_later = cat({B{6, 0}, u16(0x0008) /* offset 1 */, B{0, 0, 0, 9}, tcp_pl});
  B sll = cat({u16(0), u16(1), u16(6), B(8, 0), u16(0x0800)});
  B sll2 = cat({u16(0x86dd), u16(0), B{0, 0, 0, 2}, u16(1), B{0, 6}, B(8, 0)});
  B pppoe = cat({B{0x11, 0x00}, u16(0x0042), u16(static_cast<uint16_t>(2 + v6_tcp.size())), u16(0x0057)});
  B gre = cat({u16(0x0000), u16(0x0800)});
  const B v4_padded = cat({v4_udp, B(12, 0)});  // Ethernet pads short frames to 60 bytes
  auto le16 = [](uint16_t v) { return B{static_cast<uint8_t>(v & 0xff), static_cast<uint8_t>(v >> 8)}; };
  auto snap = [](uint16_t type) { return cat({B{0xaa, 0xaa, 0x03, 0, 0, 0}, u16(type)}); };
  // Frame control 0x88 0x02: data, QoS data subtype, from DS; then duration, 3 addresses,
  // sequence control (22 bytes) and QoS control (2).
  const B wlan_qos_data = cat({B{0x88, 0x02}, B(22, 0x11), B{0, 0}});
  // CAPWAP data (RFC 5415 §4.3): preamble 0, HLEN 2 words, WBID 1, T set; fragment id/offset.
  const B capwap_native = {0x00, 0x10, 0x03, 0x00, 0, 0, 0, 0};
  const B capwap_8023 = {0x00, 0x10, 0x02, 0x00, 0, 0, 0, 0};      // T clear: an 802.3 frame
  const B wlan_swapped = cat({B{0x02, 0x88}, B(wlan_qos_data.begin() + 2, wlan_qos_data.end())});
  auto capwap = [&](const B& header, const B& body) {
    const B payload = cat({header, body});
    return cat({eth(0x0800), ipv4(17, 8 + payload.size()), udp(41264, 5247, payload.size()), payload});
  };

  return {
      {"eth ipv4 udp", LinkType::kEthernet, cat({eth(0x0800), v4_udp}), ParseStatus::kOk, 17, 40000, 53, 5, 0},
      {"eth padding trimmed", LinkType::kEthernet, cat({eth(0x0800), v4_padded}), ParseStatus::kOk, 17, 40000,
       53, 5, 0},
      {"ipv4 options", LinkType::kEthernet,
       cat({eth(0x0800), ipv4(6, tcp_pl.size(), 0, 2), tcp_pl}), ParseStatus::kOk, 6, 40000, 443, 5, 0},
      {"tcp options", LinkType::kEthernet,
       cat({eth(0x0800), ipv4(6, 32 + 5), tcp(1, 2, 3, 8), kPayload}), ParseStatus::kOk, 6, 1, 2, 5, 0},
      {"vlan", LinkType::kEthernet, cat({eth(0x8100), vlan(100, 0x0800), v4_tcp}), ParseStatus::kOk, 6, 40000,
       443, 5, 0},
      {"qinq", LinkType::kEthernet, cat({eth(0x88a8), vlan(10, 0x8100), vlan(20, 0x0800), v4_tcp}),
       ParseStatus::kOk, 6, 40000, 443, 5, 0},
      {"five vlan tags", LinkType::kEthernet,
       cat({eth(0x8100), vlan(1, 0x8100), vlan(2, 0x8100), vlan(3, 0x8100), vlan(4, 0x8100), vlan(5, 0x0800),
            v4_tcp}),
       ParseStatus::kMalformed, 0, 0, 0, 0, bit(kVlanDepthBit)},
      {"mpls two labels", LinkType::kEthernet,
       cat({eth(0x8847), B{0, 1, 0x00, 64}, B{0, 2, 0x01, 64} /* bottom of stack */, v4_tcp}),
       ParseStatus::kOk, 6, 40000, 443, 5, 0},
      {"pppoe ipv6", LinkType::kEthernet, cat({eth(0x8864), pppoe, v6_tcp}), ParseStatus::kOk, 6, 40000, 443, 5,
       0},
      {"vlan pppoe", LinkType::kEthernet, cat({eth(0x8100), vlan(7, 0x8864), pppoe, v6_tcp}), ParseStatus::kOk,
       6, 40000, 443, 5, 0},
      {"gtp-u inner ipv4", LinkType::kEthernet,
       cat({eth(0x0800), ipv4(17, outer_gtp.size()), outer_gtp}), ParseStatus::kOk, 17, 40000, 53, 5,
       bit(kTunnelBit), 1},
      {"gtp-u with extension header", LinkType::kEthernet,
       cat({eth(0x0800), ipv4(17, outer_gtp_ext.size()), outer_gtp_ext}), ParseStatus::kOk, 17, 40000, 53, 5,
       bit(kTunnelBit), 1},
      {"ipv6 extension chain", LinkType::kEthernet, cat({eth(0x86dd), ipv6(0, v6_ext.size()), v6_ext}),
       ParseStatus::kOk, 6, 40000, 443, 5, 0},
      {"ipv6 extension chain over cap", LinkType::kEthernet,
       cat({eth(0x86dd), ipv6(0, deep_ext.size()), deep_ext}), ParseStatus::kMalformed, 0, 0, 0, 0,
       bit(kIpv6ExtDepthBit)},
      {"ipv6 first fragment", LinkType::kEthernet,
       cat({eth(0x86dd), ipv6(44, v6_frag_first.size()), v6_frag_first}), ParseStatus::kOk, 6, 40000, 443, 5,
       bit(kIpFragmentBit)},
      {"ipv6 later fragment", LinkType::kEthernet,
       cat({eth(0x86dd), ipv6(44, v6_frag_later.size()), v6_frag_later}), ParseStatus::kNotApplicable, 6, 0, 0,
       0, bit(kIpLaterFragmentBit)},
      {"ipv4 first fragment", LinkType::kEthernet, cat({eth(0x0800), ipv4(17, udp_pl.size(), 0x2000), udp_pl}),
       ParseStatus::kOk, 17, 40000, 53, 5, bit(kIpFragmentBit)},
      {"ipv4 later fragment", LinkType::kEthernet, cat({eth(0x0800), ipv4(17, udp_pl.size(), 0x0010), udp_pl}),
       ParseStatus::kNotApplicable, 17, 0, 0, 0, bit(kIpLaterFragmentBit)},
      {"ip in ip", LinkType::kEthernet, cat({eth(0x0800), ipv4(4, v4_tcp.size()), v4_tcp}), ParseStatus::kOk, 6,
       40000, 443, 5, bit(kTunnelBit), 1},
      {"gre", LinkType::kEthernet, cat({eth(0x0800), ipv4(47, 4 + v4_tcp.size()), gre, v4_tcp}),
       ParseStatus::kOk, 6, 40000, 443, 5, bit(kTunnelBit), 1},
      {"raw ipv6", LinkType::kRaw, v6_tcp, ParseStatus::kOk, 6, 40000, 443, 5, 0},
      {"null little endian", LinkType::kNull, cat({B{2, 0, 0, 0}, v4_tcp}), ParseStatus::kOk, 6, 40000, 443, 5,
       0},
      {"null big endian ipv6 (darwin 30)", LinkType::kNull, cat({B{0, 0, 0, 30}, v6_tcp}), ParseStatus::kOk, 6,
       40000, 443, 5, 0},
      {"linux sll", LinkType::kLinuxSll, cat({sll, v4_tcp}), ParseStatus::kOk, 6, 40000, 443, 5, 0},
      {"linux sll2", LinkType::kLinuxSll2, cat({sll2, v6_tcp}), ParseStatus::kOk, 6, 40000, 443, 5, 0},
      // 802.3 length field, then LLC/SNAP (RFC 1042) carrying IPv4.
      {"802.3 llc snap", LinkType::kEthernet,
       cat({eth(static_cast<uint16_t>(8 + v4_tcp.size())), snap(0x0800), v4_tcp}), ParseStatus::kOk, 6, 40000,
       443, 5, 0},
      {"802.3 llc without snap (stp)", LinkType::kEthernet, cat({eth(38), B{0x42, 0x42, 0x03}, B(35, 0)}),
       ParseStatus::kNotApplicable, 0, 0, 0, 0, bit(kNotIpBit)},
      // NFLOG: AF_INET6 header, a prefix TLV (5 bytes + 3 padding), then the payload TLV.
      {"nflog ipv6", LinkType::kNflog,
       cat({B{10, 0, 0, 0}, B{9, 0, 10, 0, 'p', 'f', 'x', 0, 0, 0, 0, 0},
            le16(static_cast<uint16_t>(4 + v6_tcp.size())), le16(9), v6_tcp}),
       ParseStatus::kOk, 6, 40000, 443, 5, 0},
      {"nflog without payload", LinkType::kNflog, cat({B{2, 0, 0, 0}, B{8, 0, 1, 0, 0, 0, 0, 0}}),
       ParseStatus::kNotApplicable, 0, 0, 0, 0, bit(kNotIpBit)},
      // 802.11 QoS data frame (subtype 8), from DS, unprotected, LLC/SNAP IPv4.
      {"802.11 qos data", LinkType::kIeee80211, cat({wlan_qos_data, snap(0x0800), v4_tcp}), ParseStatus::kOk, 6,
       40000, 443, 5, 0},
      {"802.11 protected data", LinkType::kIeee80211,
       cat({B{0x88, 0x42}, B(wlan_qos_data.begin() + 2, wlan_qos_data.end()), snap(0x0800), v4_tcp}),
       ParseStatus::kNotApplicable, 0, 0, 0, 0, bit(kNotIpBit)},
      {"802.11 beacon", LinkType::kIeee80211, cat({B{0x80, 0x00}, B(34, 0)}), ParseStatus::kNotApplicable, 0, 0,
       0, 0, bit(kNotIpBit)},
      // Radiotap: version 0, length 12 (present word + 4 bytes of fields), then 802.11.
      {"radiotap 802.11", LinkType::kRadiotap,
       cat({B{0, 0}, le16(12), B{0x02, 0, 0, 0, 0x10, 0x02, 0, 0}, wlan_qos_data, snap(0x86dd), v6_tcp}),
       ParseStatus::kOk, 6, 40000, 443, 5, 0},
      // PPI: version 0, flags 0, length 8, DLT 105 (802.11).
      {"ppi 802.11", LinkType::kPpi, cat({B{0, 0}, le16(8), B{105, 0, 0, 0}, wlan_qos_data, snap(0x0800), v4_tcp}),
       ParseStatus::kOk, 6, 40000, 443, 5, 0},
      {"capwap 802.11", LinkType::kEthernet, capwap(capwap_native, cat({wlan_qos_data, snap(0x0800), v4_tcp})),
       ParseStatus::kOk, 6, 40000, 443, 5, bit(kTunnelBit), 1},
      {"capwap 802.11 frame control swapped (cisco)", LinkType::kEthernet,
       capwap(capwap_native, cat({wlan_swapped, snap(0x0800), v4_tcp})), ParseStatus::kOk, 6, 40000, 443, 5,
       bit(kTunnelBit), 1},
      {"capwap 802.3", LinkType::kEthernet, capwap(capwap_8023, cat({eth(0x86dd), v6_tcp})), ParseStatus::kOk, 6,
       40000, 443, 5, bit(kTunnelBit), 1},
      {"arp", LinkType::kEthernet, cat({eth(0x0806), B(28, 0)}), ParseStatus::kNotApplicable, 0, 0, 0, 0,
       bit(kNotIpBit)},
      {"tcp data offset 4", LinkType::kEthernet, cat({eth(0x0800), ipv4(6, 25), tcp(1, 2, 3, 4), kPayload}),
       ParseStatus::kMalformed, 6, 1, 2, 0, bit(kBadL4HeaderBit)},
      {"ipv4 ihl 4", LinkType::kEthernet, cat({eth(0x0800), B{0x44}, B(19, 0)}), ParseStatus::kMalformed, 0, 0,
       0, 0, bit(kBadIpHeaderBit)},
      {"snaplen cut inside payload", LinkType::kEthernet,
       [&] {
         B f = cat({eth(0x0800), v4_tcp});
         f.resize(f.size() - 2);
         return f;
       }(),
       ParseStatus::kOk, 6, 40000, 443, 3, bit(kTruncatedBit)},
  };
}

TEST(DecodePacket, Table) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    PacketInfo p;
    const ParseStatus s = decode_packet(c.link, Bytes(c.frame.data(), c.frame.size()), &p);
    EXPECT_EQ(s, c.status);
    EXPECT_EQ(p.anomalies, c.anomalies);
    EXPECT_EQ(p.tunnel_depth, c.tunnel_depth);
    if (s == ParseStatus::kOk) {
      EXPECT_EQ(p.l4_proto, c.proto);
      EXPECT_EQ(p.src_port, c.sport);
      EXPECT_EQ(p.dst_port, c.dport);
      ASSERT_EQ(p.l4_payload.size(), c.payload_len);
      EXPECT_EQ(p.l4_payload[0], 'h');
    }
  }
}

TEST(DecodePacket, AddressesAndVlan) {
  const B pl = cat({tcp(1, 2, 3), kPayload});
  const B f = cat({eth(0x8100), vlan(0x2064 /* PCP 1, VLAN 100 */, 0x0800), ipv4(6, pl.size()), pl});
  PacketInfo p;
  ASSERT_EQ(decode_packet(LinkType::kEthernet, Bytes(f.data(), f.size()), &p), ParseStatus::kOk);
  EXPECT_EQ(p.family, IpFamily::kV4);
  EXPECT_EQ(p.src.bytes[0], 192);
  EXPECT_EQ(p.dst.bytes[3], 2);
  EXPECT_EQ(p.outer_vlan, 100);
  EXPECT_EQ(p.tcp_seq, 3u);
  EXPECT_EQ(p.tcp_flags, 0x18);
}

// Every prefix of a deeply encapsulated frame decodes without reading out of bounds
// (ASan checks the reads) and never reports a payload longer than what is there.
TEST(DecodePacket, TruncationAtEveryOffset) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    for (size_t cut = 0; cut < c.frame.size(); ++cut) {
      const B prefix(c.frame.begin(), c.frame.begin() + static_cast<ptrdiff_t>(cut));
      PacketInfo p;
      const ParseStatus s = decode_packet(c.link, Bytes(prefix.data(), prefix.size()), &p);
      // A GTP-U header cut short is not followed: the outer UDP datagram is the result.
      if (s == ParseStatus::kOk && p.tunnel_depth == c.tunnel_depth) {
        EXPECT_LE(p.l4_payload.size(), c.payload_len) << "cut " << cut;
        EXPECT_TRUE(p.has(kTruncatedBit) || p.l4_payload.size() == c.payload_len) << "cut " << cut;
      }
    }
  }
}

// A CAPWAP fragment (F set), a DTLS-protected datagram (preamble type 1) and an 802.11
// management frame are left as the outer datagram: UDP to 5247, the CAPWAP bytes its payload.
TEST(DecodePacket, CapwapNotFollowed) {
  const B inner = cat({eth(0x0800), ipv4(6, 25), tcp(40000, 443, 1), kPayload});
  const B beacon = cat({B{0x80, 0x00}, B(34, 0)});
  const B headers[] = {
      cat({B{0x00, 0x10, 0x02, 0x80, 0, 0, 0, 0}, inner}),   // fragment
      cat({B{0x01, 0x10, 0x02, 0x00, 0, 0, 0, 0}, inner}),   // DTLS
      cat({B{0x00, 0x10, 0x03, 0x00, 0, 0, 0, 0}, beacon}),  // native 802.11, not data
  };
  for (const B& payload : headers) {
    const B f = cat({eth(0x0800), ipv4(17, 8 + payload.size()), udp(41264, 5247, payload.size()), payload});
    PacketInfo p;
    ASSERT_EQ(decode_packet(LinkType::kEthernet, Bytes(f.data(), f.size()), &p), ParseStatus::kOk);
    EXPECT_EQ(p.l4_proto, 17);
    EXPECT_EQ(p.dst_port, 5247);
    EXPECT_EQ(p.tunnel_depth, 0);
    EXPECT_EQ(p.l4_payload.size(), payload.size());
  }
}

TEST(DecodePacket, UnsupportedLinkType) {
  const B f(40, 0);
  PacketInfo p;
  EXPECT_EQ(decode_packet(static_cast<LinkType>(147), Bytes(f.data(), f.size()), &p), ParseStatus::kNotApplicable);
  EXPECT_TRUE(p.has(kUnsupportedLinkBit));
  EXPECT_FALSE(link_type_supported(147));  // DLT_USER0
  EXPECT_TRUE(link_type_supported(239));   // NFLOG
  EXPECT_TRUE(link_type_supported(1));
  EXPECT_FALSE(link_type_supported(0x10001));
}

// decode_packet's fast path for plain Ethernet/IPv4/TCP-or-UDP frames must give exactly what
// the general decoder gives, for every frame: the same status and every PacketInfo field, the
// payload as the same bytes of the frame. Compared on frames of each shape the fast path takes
// or hands over (options, fragments, tunnel ports, offload lengths, padding, IPv6, VLAN), on
// each cut at every length, and on random byte changes in the headers, length fields above all.
void expect_same_as_general(const B& frame, const std::string& what) {
  PacketInfo probe;
  if (!decode_packet_fast(Bytes(frame), &probe)) {  // declined: nothing written
    EXPECT_EQ(probe.family, IpFamily::kNone) << what;
    EXPECT_EQ(probe.l4_proto, 0) << what;
    EXPECT_EQ(probe.src_port + probe.dst_port + probe.tcp_seq + probe.tcp_ack + probe.tcp_flags, 0u)
        << what;
    EXPECT_EQ(probe.l4_payload.data(), nullptr) << what;
  }
  PacketInfo fast, general;
  const ParseStatus sf = decode_packet(LinkType::kEthernet, Bytes(frame), &fast);
  const ParseStatus sg = decode_packet_general(LinkType::kEthernet, Bytes(frame), &general);
  ASSERT_EQ(sf, sg) << what;
  EXPECT_EQ(fast.family, general.family) << what;
  EXPECT_EQ(fast.src.family, general.src.family) << what;
  EXPECT_EQ(fast.dst.family, general.dst.family) << what;
  EXPECT_EQ(B(fast.src.bytes, fast.src.bytes + 16), B(general.src.bytes, general.src.bytes + 16))
      << what;
  EXPECT_EQ(B(fast.dst.bytes, fast.dst.bytes + 16), B(general.dst.bytes, general.dst.bytes + 16))
      << what;
  EXPECT_EQ(fast.l4_proto, general.l4_proto) << what;
  EXPECT_EQ(fast.src_port, general.src_port) << what;
  EXPECT_EQ(fast.dst_port, general.dst_port) << what;
  EXPECT_EQ(fast.tcp_seq, general.tcp_seq) << what;
  EXPECT_EQ(fast.tcp_ack, general.tcp_ack) << what;
  EXPECT_EQ(fast.tcp_flags, general.tcp_flags) << what;
  EXPECT_EQ(fast.outer_vlan, general.outer_vlan) << what;
  EXPECT_EQ(fast.tunnel_depth, general.tunnel_depth) << what;
  EXPECT_EQ(fast.l4_payload.data(), general.l4_payload.data()) << what;
  EXPECT_EQ(fast.l4_payload.size(), general.l4_payload.size()) << what;
  EXPECT_EQ(fast.anomalies, general.anomalies) << what;
}

TEST(DecodePacket, FastPathAgreesWithTheGeneralDecoder) {
  B tcp_ack = tcp(443, 40000, 0x01020304);
  tcp_ack[8] = 0xa1;  // a non-zero acknowledgement number
  tcp_ack[11] = 0x5e;
  std::vector<B> frames = {
      cat({eth(0x0800), ipv4(6, 20 + kPayload.size()), tcp(40000, 443, 7), kPayload}),
      cat({eth(0x0800), ipv4(6, 20), tcp_ack}),  // a bare ACK
      cat({eth(0x0800), ipv4(6, 32 + kPayload.size()), tcp(40000, 443, 7, 8), kPayload}),
      cat({eth(0x0800), ipv4(6, 20 + kPayload.size()), tcp(40000, 443, 7), kPayload, B(12, 0)}),
      cat({eth(0x0800), ipv4(17, 8 + kPayload.size()), udp(5353, 53, kPayload.size()), kPayload}),
      cat({eth(0x0800), ipv4(17, 8), udp(1, 2, 0)}),
      cat({eth(0x0800), ipv4(17, 8 + kPayload.size()), udp(1, 2, kPayload.size()), kPayload,
           B(20, 0)}),  // Ethernet padding
      cat({eth(0x0800), ipv4(17, 8 + kPayload.size(), 0x4000 /* DF */),
           udp(1, 2, kPayload.size()), kPayload}),
      cat({eth(0x0800), ipv4(17, 8 + kPayload.size(), 0x2000 /* MF */),
           udp(1, 2, kPayload.size()), kPayload}),
      cat({eth(0x0800), ipv4(17, 8 + kPayload.size(), 0x0010 /* offset */),
           udp(1, 2, kPayload.size()), kPayload}),
      cat({eth(0x0800), ipv4(6, 20 + kPayload.size(), 0, 2), tcp(1, 2, 3), kPayload}),
      cat({eth(0x0800), ipv4(1, 8), B(8, 0)}),  // ICMP
      cat({eth(0x86dd), ipv6(17, 8 + kPayload.size()), udp(1, 53, kPayload.size()), kPayload}),
      cat({eth(0x8100), vlan(10, 0x0800), ipv4(17, 8 + kPayload.size()),
           udp(1, 53, kPayload.size()), kPayload}),
  };
  for (const uint16_t port : {kGtpuPort, kVxlanPort, kCapwapDataPort}) {  // GTP-U, VXLAN, CAPWAP: tunnels
    const B gtp = {0x30, 0xff, 0x00, 0x05, 0, 0, 0, 1, 'x', 'y', 'z', 'z', 'y'};
    frames.push_back(cat({eth(0x0800), ipv4(17, 8 + gtp.size()), udp(1, port, gtp.size()), gtp}));
    frames.push_back(cat({eth(0x0800), ipv4(17, 8 + gtp.size()), udp(port, 1, gtp.size()), gtp}));
  }
  B zero_lengths = frames[0];
  zero_lengths[16] = zero_lengths[17] = 0;  // IPv4 total length 0: segmentation offload
  frames.push_back(zero_lengths);
  B udp_zero = frames[4];
  udp_zero[38] = udp_zero[39] = 0;  // UDP length 0
  frames.push_back(udp_zero);

  // Which of them the fast path takes: plain TCP and UDP (with TCP options, padding or DF), and
  // UDP from port 4789 (VXLAN is recognised by its destination port only).
  for (size_t f = 0; f < frames.size(); ++f) {
    const bool want = f <= 7 || f == 17;
    PacketInfo probe;
    EXPECT_EQ(decode_packet_fast(Bytes(frames[f]), &probe), want) << "frame " << f;
  }
  ASSERT_EQ(be16(frames[17], 34), kVxlanPort) << "frame 17 is the one from port 4789";

  std::mt19937 rng(11);
  size_t compared = 0;
  for (size_t f = 0; f < frames.size(); ++f) {
    const B& frame = frames[f];
    expect_same_as_general(frame, "frame " + std::to_string(f));
    for (size_t len = 0; len < frame.size(); ++len) {
      expect_same_as_general(B(frame.begin(), frame.begin() + static_cast<long>(len)),
                             "frame " + std::to_string(f) + " cut to " + std::to_string(len));
    }
    // The length, fragment, header-length and port fields, then any header byte.
    const std::vector<size_t> fields = {12, 13, 14, 16, 17, 20, 21, 23, 34, 35, 36, 37, 38, 39, 46};
    for (int i = 0; i < 400; ++i) {
      B m = frame;
      const size_t at = i < 200 ? fields[rng() % fields.size()] : rng() % std::min<size_t>(m.size(), 60);
      if (at >= m.size()) continue;
      m[at] = static_cast<uint8_t>(i % 3 == 0 ? rng() : m[at] + (i % 2 == 0 ? 1 : -1));
      expect_same_as_general(m, "frame " + std::to_string(f) + " byte " + std::to_string(at) +
                                    " = " + std::to_string(m[at]));
      ++compared;
    }
  }
  EXPECT_GT(compared, 5000u);
}

}  // namespace
}  // namespace muhafiz::parse
