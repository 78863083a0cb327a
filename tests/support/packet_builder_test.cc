// Checks the test-support builder in memory (no tshark needed): lengths, next-protocol fields
// and checksums on the wire, TCP sequence bookkeeping, IPv4 fragmentation, DNS compression,
// ClientHello sizes, QUIC Initial protection (round trip through the project's decryptor) and
// the capture file layouts. check_with_tshark.py checks the same output against Wireshark.
#include "tests/support/packet_builder.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "dataplane/parse/quic.h"

namespace {

namespace mt = muhafiz::testing;
using mt::ByteVector;
using mt::PacketBuilder;

uint16_t u16_at(const ByteVector& b, size_t at) { return static_cast<uint16_t>(b.at(at) << 8 | b.at(at + 1)); }
uint32_t u32_at(const ByteVector& b, size_t at) {
  return static_cast<uint32_t>(u16_at(b, at)) << 16 | u16_at(b, at + 2);
}
uint32_t u32le_at(const ByteVector& b, size_t at) {
  return static_cast<uint32_t>(b.at(at) | b.at(at + 1) << 8 | b.at(at + 2) << 16) | static_cast<uint32_t>(b.at(at + 3)) << 24;
}
ByteVector slice(const ByteVector& b, size_t at, size_t n) {
  return ByteVector(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
}

// Independent L4 checksum check: the one's-complement sum over pseudo-header and segment,
// checksum field included, must come out as 0xffff (RFC 1071 §1).
bool l4_checksum_ok(const ByteVector& src, const ByteVector& dst, uint8_t proto, const ByteVector& segment) {
  ByteVector pseudo = src;
  mt::append(pseudo, dst);
  if (src.size() == 4) {
    mt::append_u8(pseudo, 0);
    mt::append_u8(pseudo, proto);
    mt::append_u16be(pseudo, static_cast<uint16_t>(segment.size()));
  } else {
    mt::append_u32be(pseudo, static_cast<uint32_t>(segment.size()));
    mt::append_u24be(pseudo, 0);
    mt::append_u8(pseudo, proto);
  }
  mt::append(pseudo, segment);
  return mt::internet_checksum(pseudo) == 0;
}

TEST(PacketBuilder, EthernetIpv4UdpLengthsAndChecksums) {
  const ByteVector f = PacketBuilder().ethernet().ipv4("192.0.2.1", "198.51.100.2").udp(1234, 53).payload("abc").build();
  ASSERT_EQ(f.size(), 60u);  // 14 + 20 + 8 + 3 = 45, padded to the Ethernet minimum
  EXPECT_EQ(u16_at(f, 12), mt::kEtherTypeIpv4);
  const ByteVector ip = slice(f, 14, 20);
  EXPECT_EQ(ip[0], 0x45);
  EXPECT_EQ(u16_at(ip, 2), 31);  // total length ignores the padding
  EXPECT_EQ(ip[9], mt::kIpProtocolUdp);
  EXPECT_EQ(mt::internet_checksum(ip), 0);
  const ByteVector udp = slice(f, 34, 11);
  EXPECT_EQ(u16_at(udp, 4), 11);
  EXPECT_TRUE(l4_checksum_ok(slice(ip, 12, 4), slice(ip, 16, 4), mt::kIpProtocolUdp, udp));
  EXPECT_TRUE(std::all_of(f.begin() + 45, f.end(), [](uint8_t b) { return b == 0; }));
}

TEST(PacketBuilder, Ipv4OptionsSetIhl) {
  mt::Ipv4Layer l;
  l.src = mt::ip_address("192.0.2.1");
  l.dst = mt::ip_address("192.0.2.2");
  l.options = {0x94, 0x04, 0x00};  // padded to 4 with End-of-Options
  const ByteVector f = PacketBuilder().ipv4(l).udp(1, 2).build();
  EXPECT_EQ(f[0], 0x46);
  EXPECT_EQ(f[23], 0x00);
  EXPECT_EQ(mt::internet_checksum(slice(f, 0, 24)), 0);
  EXPECT_EQ(PacketBuilder().ipv4(l).udp(1, 2).link_type(), mt::PcapLinkType::kRaw);
}

TEST(PacketBuilder, QinqPppoeIpv6Tcp) {
  const ByteVector f = PacketBuilder()
                           .ethernet()
                           .qinq(100, 200)
                           .pppoe(0x1234)
                           .ipv6("2001:db8::1", "2001:db8::2")
                           .tcp(40000, 443, {.seq = 7, .ack = 9, .flags = mt::tcp_flags::kAck, .window = 100, .options = {}})
                           .payload("hello")
                           .build();
  EXPECT_EQ(u16_at(f, 12), mt::kTpidQinQ);
  EXPECT_EQ(u16_at(f, 14), 100);
  EXPECT_EQ(u16_at(f, 16), mt::kTpidVlan);
  EXPECT_EQ(u16_at(f, 18), 200);
  EXPECT_EQ(u16_at(f, 20), mt::kEtherTypePppoeSession);
  EXPECT_EQ(f[22], 0x11);
  EXPECT_EQ(u16_at(f, 24), 0x1234);
  EXPECT_EQ(u16_at(f, 26), 2 + 40 + 20 + 5);  // PPP protocol + IPv6 + TCP + data
  EXPECT_EQ(u16_at(f, 28), 0x0057);
  const size_t ip = 30;
  EXPECT_EQ(f[ip] >> 4, 6);
  EXPECT_EQ(u16_at(f, ip + 4), 25);
  EXPECT_EQ(f[ip + 6], mt::kIpProtocolTcp);
  const ByteVector tcp = slice(f, ip + 40, 25);
  EXPECT_EQ(u32_at(tcp, 4), 7u);
  EXPECT_EQ(u32_at(tcp, 8), 9u);
  EXPECT_EQ(tcp[12], 0x50);
  EXPECT_TRUE(l4_checksum_ok(slice(f, ip + 8, 16), slice(f, ip + 24, 16), mt::kIpProtocolTcp, tcp));
}

TEST(PacketBuilder, MplsBottomOfStackOnlyOnLastLabel) {
  const ByteVector f = PacketBuilder().ethernet().mpls(16001).mpls(24002, 7).ipv4("192.0.2.1", "192.0.2.2").udp(1, 2).build();
  EXPECT_EQ(u16_at(f, 12), mt::kEtherTypeMpls);
  EXPECT_EQ(u32_at(f, 14), 16001u << 12 | 64u);
  EXPECT_EQ(u32_at(f, 18), 24002u << 12 | 1u << 8 | 7u);
  EXPECT_EQ(f[22], 0x45);
}

TEST(PacketBuilder, GtpuCarriesInnerPacket) {
  const ByteVector inner = PacketBuilder().ipv4("192.0.2.9", "198.51.100.1").udp(5, 53).payload("q").build();
  const ByteVector f = PacketBuilder()
                           .ipv4("198.51.100.1", "198.51.100.2")
                           .udp(mt::kGtpuUdpPort, mt::kGtpuUdpPort)
                           .gtpu(0xabcdef)
                           .ipv4("192.0.2.9", "198.51.100.1")
                           .udp(5, 53)
                           .payload("q")
                           .build();
  EXPECT_EQ(f[28], 0x30);
  EXPECT_EQ(f[29], 0xff);
  EXPECT_EQ(u16_at(f, 30), inner.size());
  EXPECT_EQ(u32_at(f, 32), 0xabcdefu);
  EXPECT_EQ(slice(f, 36, inner.size()), inner);
}

TEST(PacketBuilder, Ipv6ExtensionChain) {
  mt::Ipv6Layer v6;
  v6.src = mt::ip_address("2001:db8::1");
  v6.dst = mt::ip_address("2001:db8::2");
  const mt::IpAddr segs[] = {v6.dst};
  v6.extensions = {mt::ipv6_hop_by_hop_router_alert(), mt::ipv6_segment_routing(segs),
                   mt::ipv6_fragment_header(0, false, 77), mt::ipv6_options_header(mt::kIpv6DestOptions)};
  const ByteVector f = PacketBuilder().ipv6(v6).udp(1, 53).payload("x").build();
  EXPECT_EQ(f[6], mt::kIpv6HopByHop);
  size_t at = 40;
  struct Hop {
    uint8_t next;
    size_t len;
  };
  const Hop hops[] = {{mt::kIpv6Routing, 8}, {mt::kIpv6Fragment, 24}, {mt::kIpv6DestOptions, 8}, {mt::kIpProtocolUdp, 8}};
  for (const Hop& h : hops) {
    EXPECT_EQ(f[at], h.next) << "header at " << at;
    at += h.len;
  }
  EXPECT_EQ(u16_at(f, 4), at - 40 + 9);
  EXPECT_TRUE(l4_checksum_ok(slice(f, 8, 16), slice(f, 24, 16), mt::kIpProtocolUdp, slice(f, at, 9)));
}

TEST(PacketBuilder, Ipv4FragmentsReassemble) {
  const ByteVector payload = mt::pseudo_random_bytes(600, 3);
  PacketBuilder b = PacketBuilder().ethernet().ipv4("192.0.2.1", "192.0.2.2");
  b.innermost<mt::Ipv4Layer>().id = 0x4242;
  b.udp(1, 53).payload(payload);
  const ByteVector whole = b.build();
  const std::vector<ByteVector> frags = b.build_ipv4_fragments(250);  // rounded down to 248
  ASSERT_EQ(frags.size(), 3u);
  ByteVector reassembled;
  for (size_t i = 0; i < frags.size(); ++i) {
    const ByteVector& f = frags[i];
    EXPECT_EQ(u16_at(f, 18), 0x4242);
    EXPECT_EQ(static_cast<size_t>(u16_at(f, 20) & 0x1fff), i * 31);
    EXPECT_EQ((u16_at(f, 20) & 0x2000) != 0, i + 1 < frags.size());
    EXPECT_EQ(mt::internet_checksum(slice(f, 14, 20)), 0);
    mt::append(reassembled, slice(f, 34, u16_at(f, 16) - 20u));
  }
  EXPECT_EQ(reassembled, slice(whole, 34, 608));
}

TEST(PacketBuilder, ReversedSwapsEveryLayer) {
  const PacketBuilder b = PacketBuilder().ethernet().ipv4("192.0.2.1", "192.0.2.2").tcp(1000, 80);
  const ByteVector f = b.reversed().build();
  EXPECT_EQ(slice(f, 0, 6), ByteVector(mt::kClientMac.begin(), mt::kClientMac.end()));
  EXPECT_EQ(slice(f, 26, 4), slice(b.build(), 30, 4));
  EXPECT_EQ(u16_at(f, 34), 80);
  EXPECT_EQ(u16_at(f, 36), 1000);
}

TEST(PacketBuilder, LinkHeaders) {
  const ByteVector null4 = PacketBuilder().null_link().ipv4("192.0.2.1", "192.0.2.2").udp(1, 2).build();
  EXPECT_EQ(u32le_at(null4, 0), 2u);
  const ByteVector null6 = PacketBuilder().null_link().ipv6("2001:db8::1", "2001:db8::2").udp(1, 2).build();
  EXPECT_EQ(u32le_at(null6, 0), 24u);
  const ByteVector sll = PacketBuilder().linux_sll(4).ipv4("192.0.2.1", "192.0.2.2").udp(1, 2).build();
  EXPECT_EQ(u16_at(sll, 0), 4);
  EXPECT_EQ(u16_at(sll, 14), mt::kEtherTypeIpv4);
  EXPECT_EQ(sll[16], 0x45);
  const ByteVector sll2 = PacketBuilder().linux_sll2(0, 3).ipv6("2001:db8::1", "2001:db8::2").udp(1, 2).build();
  EXPECT_EQ(u16_at(sll2, 0), mt::kEtherTypeIpv6);
  EXPECT_EQ(u32_at(sll2, 4), 3u);
  EXPECT_EQ(sll2[20] >> 4, 6);
}

TEST(PacketBuilder, MisuseThrows) {
  EXPECT_THROW(mt::ip_address("192.0.2.256"), std::invalid_argument);
  EXPECT_THROW(PacketBuilder().ethernet().payload("x").build(), std::logic_error);  // no EtherType
  EXPECT_THROW(PacketBuilder().udp(1, 2).build(), std::logic_error);                // no IP layer
  EXPECT_THROW(PacketBuilder().vlan(4096), std::invalid_argument);
  EXPECT_THROW(mt::split_at(mt::to_bytes("abc"), std::vector<size_t>{3}), std::invalid_argument);
}

TEST(TcpConversation, SequenceNumbersFollowTheData) {
  mt::TcpConversation c(PacketBuilder().ipv4("192.0.2.1", "192.0.2.2").tcp(1000, 443), 100, 5000);
  const std::vector<ByteVector> hs = c.handshake();
  ASSERT_EQ(hs.size(), 3u);
  EXPECT_EQ(u32_at(hs[0], 24), 100u);
  EXPECT_EQ(hs[0][33], mt::tcp_flags::kSyn);
  EXPECT_EQ(u32_at(hs[1], 24), 5000u);
  EXPECT_EQ(u32_at(hs[1], 28), 101u);
  EXPECT_EQ(u16_at(hs[1], 20), 443);  // server to client
  EXPECT_EQ(u32_at(hs[2], 28), 5001u);
  const std::vector<ByteVector> pieces = mt::split_evenly(mt::pseudo_random_bytes(10, 1), 3);
  const std::vector<ByteVector> segs = c.client_send_pieces(pieces);
  const uint32_t expected_seq[] = {101, 104, 107};
  for (size_t i = 0; i < segs.size(); ++i) EXPECT_EQ(u32_at(segs[i], 24), expected_seq[i]);
  EXPECT_EQ(c.client_next_seq(), 111u);
  EXPECT_EQ(u32_at(c.server_ack(), 28), 111u);
}

TEST(Dns, CompressionPointsAtEarlierSuffix) {
  const mt::DnsQuestion qs[] = {{"www.example.org", mt::kDnsTypeA, 1}, {"mail.example.org", mt::kDnsTypeAaaa, 1}};
  const ByteVector m = mt::dns_query(0xbeef, qs, {.recursion_desired = true, .compress = true});
  EXPECT_EQ(u16_at(m, 4), 2);
  // Question 1 at 12: 3www7example3org0 (17) + type/class (4); question 2 at 33: 4mail then a
  // pointer to "example" at offset 16.
  EXPECT_EQ(m[33], 4);
  EXPECT_EQ(u16_at(m, 38), 0xc000 | 16);
  EXPECT_EQ(u16_at(m, 40), mt::kDnsTypeAaaa);
  EXPECT_EQ(m.size(), 44u);
  const ByteVector plain = mt::dns_query(0xbeef, qs);
  EXPECT_EQ(plain.size(), 12u + 21 + 22);
}

TEST(Tls, ClientHelloLengthsAndSizes) {
  mt::ClientHelloSpec spec;
  spec.sni = "pq.example.com";
  spec.post_quantum = true;
  ByteVector hello = mt::client_hello(spec);
  EXPECT_EQ(hello[0], 1);
  EXPECT_EQ(hello.size(), 4 + (static_cast<size_t>(hello[1]) << 16 | u16_at(hello, 2)));
  EXPECT_GT(hello.size(), 1216u + 32u + 200u);
  spec.pad_to = 1800;
  hello = mt::client_hello(spec);
  EXPECT_EQ(hello.size(), 1800u);
  const size_t starts[] = {100};
  const ByteVector records = mt::tls_records(hello, starts);
  EXPECT_EQ(records.size(), hello.size() + 10);
  EXPECT_EQ(u16_at(records, 3), 100);
  EXPECT_EQ(records[105], 22);
}

TEST(Quic, InitialIs1200BytesAndDecryptsToTheSameFrames) {
  mt::ClientHelloSpec hs;
  hs.sni = "quic.example.com";
  hs.quic = true;
  const ByteVector hello = mt::client_hello(hs);
  const uint32_t versions[] = {muhafiz::parse::kQuicVersion1, muhafiz::parse::kQuicVersion2};
  for (uint32_t version : versions) {
    mt::QuicInitialSpec spec;
    spec.version = version;
    spec.dcid = mt::pseudo_random_bytes(8, 1);
    spec.scid = mt::pseudo_random_bytes(8, 2);
    spec.packet_number = 3;
    const size_t cut[] = {200};
    spec.crypto = mt::quic_crypto_chunks(hello, cut);
    std::swap(spec.crypto[0], spec.crypto[1]);  // out of order on purpose
    const ByteVector packet = mt::quic_client_initial(spec);
    EXPECT_EQ(packet.size(), mt::kQuicMinInitialDatagram);

    muhafiz::parse::QuicLongHeader hdr;
    ASSERT_EQ(muhafiz::parse::parse_quic_long_header(packet, &hdr), muhafiz::parse::ParseStatus::kOk);
    EXPECT_EQ(hdr.type, muhafiz::parse::QuicPacketType::kInitial);
    muhafiz::parse::QuicInitialDecryptor dec;
    muhafiz::parse::QuicInitialKeys keys{};
    ASSERT_TRUE(dec.derive(version, spec.dcid, &keys));
    ByteVector plain(packet.size());
    muhafiz::parse::Bytes payload;
    uint64_t pn = 0;
    ASSERT_EQ(dec.decrypt(packet, hdr, keys, plain, &payload, &pn), muhafiz::parse::ParseStatus::kOk);
    EXPECT_EQ(pn, 3u);
    const ByteVector expected = mt::quic_initial_plaintext(spec);
    EXPECT_EQ(ByteVector(payload.begin(), payload.end()), expected);
  }
}

TEST(Pcap, ClassicAndNgLayouts) {
  mt::PcapWriter w(mt::PcapLinkType::kLinuxSll2);
  w.add(mt::to_bytes("abcde"), 1'700'000'000'000'123ULL);
  const ByteVector pcap = w.pcap_bytes();
  ASSERT_EQ(pcap.size(), 24u + 16 + 5);
  EXPECT_EQ(u32le_at(pcap, 0), 0xa1b2c3d4u);
  EXPECT_EQ(u32le_at(pcap, 20), 276u);
  EXPECT_EQ(u32le_at(pcap, 24), 1'700'000'000u);
  EXPECT_EQ(u32le_at(pcap, 28), 123u);
  EXPECT_EQ(u32le_at(pcap, 32), 5u);

  const ByteVector ng = w.pcapng_bytes();
  size_t at = 0;
  const uint32_t types[] = {0x0a0d0d0a, 1, 6};
  for (uint32_t type : types) {
    ASSERT_LE(at + 12, ng.size());
    EXPECT_EQ(u32le_at(ng, at), type);
    const uint32_t len = u32le_at(ng, at + 4);
    EXPECT_EQ(len % 4, 0u);
    EXPECT_EQ(u32le_at(ng, at + len - 4), len);
    at += len;
  }
  EXPECT_EQ(at, ng.size());
}

}  // namespace
