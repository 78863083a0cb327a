#include "dataplane/action/reply_frame.h"

#include <algorithm>

namespace muhafiz::action {
namespace {

using parse::ByteReader;
using parse::Bytes;
using parse::IpFamily;

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr uint16_t kEtherVlan = 0x8100;          // IEEE 802.1Q
constexpr uint16_t kEtherQinQ = 0x88a8;          // IEEE 802.1ad
constexpr uint16_t kEtherQinQOld = 0x9100;       // pre-standard QinQ
constexpr uint16_t kEtherPppoeSession = 0x8864;  // RFC 2516 §4
constexpr uint8_t kPppoeVerType = 0x11;          // RFC 2516 §4: version 1, type 1
constexpr uint16_t kPppIpv4 = 0x0021;            // RFC 1332
constexpr uint16_t kPppIpv6 = 0x0057;            // RFC 5072
constexpr uint16_t kIpv4DontFragment = 0x4000;   // RFC 791 §3.1
constexpr uint8_t kDscpMask = 0xfc;  // ECN bits (RFC 3168 §5) are not ours to echo: Not-ECT
constexpr size_t kIpv4AddressLen = 4, kIpv6AddressLen = 16;
// Window of our data replies: any non-zero value (a zero window draws ZeroWindow probes and
// holds back the client's FIN); the connection is closing, so it is never used up.
constexpr uint16_t kAnswerWindow = 8192;

constexpr bool is_vlan_tpid(uint16_t type) {
  return type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld;
}

size_t address_len(IpFamily family) {
  return family == IpFamily::kV4 ? kIpv4AddressLen : kIpv6AddressLen;
}

Bytes address_bytes(const parse::IpAddress& a) {
  return Bytes(a.bytes).first(address_len(a.family));
}

// RFC 1071 one's-complement sum, 16-bit big-endian words, an odd last byte padded with zero.
// Replies are under 2 KiB, so a 32-bit accumulator cannot overflow before fold().
uint32_t ones_sum(uint32_t sum, Bytes data) {
  ByteReader r(data);
  while (r.remaining() >= 2) sum += r.read_u16be();
  if (!r.empty()) sum += static_cast<uint32_t>(r.read_u8()) << 8;
  return sum;
}

uint16_t fold(uint32_t sum) {
  while ((sum >> 16) != 0) sum = (sum & 0xffffu) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// Walks Ethernet, VLAN tags and PPPoE to the IP header; kNone with r at the IP header.
ReplyError walk_ethernet(ByteReader& r, IpFamily family, LinkMirror* out) {
  r.skip(kEthernetAddressesLen);
  uint16_t type = r.read_u16be();
  for (size_t tags = 0; is_vlan_tpid(type); ++tags) {
    if (tags == parse::kMaxVlanDepth) return ReplyError::kUnsupportedEncapsulation;
    r.skip(2);  // TCI: priority, DEI and VLAN id are mirrored as received
    type = r.read_u16be();
  }
  if (!r.ok()) return ReplyError::kPacketMismatch;
  if (type == kEtherPppoeSession) {
    const uint8_t ver_type = r.read_u8();
    const uint8_t code = r.read_u8();
    r.skip(4);  // session id (mirrored), length (rewritten)
    if (!r.ok()) return ReplyError::kPacketMismatch;
    if (ver_type != kPppoeVerType || code != 0) return ReplyError::kPacketMismatch;
    out->pppoe = true;
    out->pppoe_payload_at = r.offset();
    // RFC 1661 §6.5: a 1-byte (compressed) protocol has its low bit set. PPPoE carries no
    // address/control bytes (RFC 2516 §7), but some peers send them; they are mirrored too.
    if (r.peek_u8() == 0xff && r.peek_u8(1) == 0x03) r.skip(2);
    uint16_t proto = r.read_u8();
    if ((proto & 1) == 0) proto = static_cast<uint16_t>((proto << 8) | r.read_u8());
    if (!r.ok()) return ReplyError::kPacketMismatch;
    if (proto != kPppIpv4 && proto != kPppIpv6) return ReplyError::kUnsupportedEncapsulation;
    return (proto == kPppIpv4) == (family == IpFamily::kV4) ? ReplyError::kNone
                                                            : ReplyError::kPacketMismatch;
  }
  if (type != kEtherIpv4 && type != kEtherIpv6) {
    return ReplyError::kUnsupportedEncapsulation;  // MPLS and everything else
  }
  return (type == kEtherIpv4) == (family == IpFamily::kV4) ? ReplyError::kNone
                                                           : ReplyError::kPacketMismatch;
}

}  // namespace

ReplyError check_packet(const BlockedPacket& pkt, uint8_t proto, LinkMirror* out) noexcept {
  const parse::PacketInfo& info = pkt.info;
  *out = LinkMirror{};
  if (info.family != IpFamily::kV4 && info.family != IpFamily::kV6) {
    return ReplyError::kPacketMismatch;
  }
  if (info.l4_proto != proto) return ReplyError::kWrongTransport;
  if (info.tunnel_depth != 0 || info.has(parse::kTunnelBit)) {
    return ReplyError::kUnsupportedEncapsulation;
  }
  if (info.has(parse::kIpFragmentBit) || info.has(parse::kIpLaterFragmentBit)) {
    return ReplyError::kIpFragment;
  }
  if (info.has(parse::kTruncatedBit)) return ReplyError::kTruncatedPacket;

  ByteReader r(pkt.frame);
  switch (pkt.link) {
    case parse::LinkType::kEthernet: {
      out->ethernet = true;
      const ReplyError e = walk_ethernet(r, info.family, out);
      if (e != ReplyError::kNone) return e;
      break;
    }
    case parse::LinkType::kRaw:
    case parse::LinkType::kRawDlt:
    case parse::LinkType::kRawDltOpenBsd:
    case parse::LinkType::kRawIpv4:
    case parse::LinkType::kRawIpv6:
      break;
    default:
      return ReplyError::kUnsupportedLink;
  }
  const size_t ip_at = r.offset();

  // The IP header must be the one decoded: right version and addresses.
  const uint8_t b0 = r.read_u8();
  const uint8_t b1 = r.read_u8();
  const bool v4 = info.family == IpFamily::kV4;
  r.skip(v4 ? 10 : 6);  // to the source address
  const Bytes src = r.bytes(address_len(info.family));
  const Bytes dst = r.bytes(address_len(info.family));
  const bool same_addresses = r.ok() && std::equal(src.begin(), src.end(), info.src.bytes) &&
                              std::equal(dst.begin(), dst.end(), info.dst.bytes);
  if (!same_addresses || (b0 >> 4) != (v4 ? 4 : 6)) {
    return ReplyError::kPacketMismatch;
  }
  out->traffic_class = v4 ? b1 : static_cast<uint8_t>(((b0 & 0x0f) << 4) | (b1 >> 4));
  out->header = pkt.frame.first(ip_at);
  return ReplyError::kNone;
}

uint32_t tcp_segment_length(const parse::PacketInfo& info) noexcept {
  uint32_t len = static_cast<uint32_t>(info.l4_payload.size());
  if ((info.tcp_flags & parse::tcp_flag::kSyn) != 0) ++len;
  if ((info.tcp_flags & parse::tcp_flag::kFin) != 0) ++len;
  return len;
}

TcpFields tcp_answer_to_client(const parse::PacketInfo& info, uint8_t flags) noexcept {
  return TcpFields{.seq = info.tcp_ack,
                   .ack = info.tcp_seq + tcp_segment_length(info),
                   .flags = flags,
                   .window = kAnswerWindow};
}

void ReplyFrame::begin(const LinkMirror& link, const parse::PacketInfo& info, uint8_t hop_limit,
                       Direction dir, uint8_t proto, const TcpFields& tcp) noexcept {
  link_ = &link;
  family_ = info.family;
  proto_ = proto;
  const bool to_client = dir == Direction::kToClient;
  src_ = to_client ? &info.dst : &info.src;
  dst_ = to_client ? &info.src : &info.dst;

  w_.bytes(link.header);
  if (link.ethernet && to_client) {
    const std::span<uint8_t> macs = w_.writable(0, kEthernetAddressesLen);
    if (!macs.empty()) std::swap_ranges(macs.begin(), macs.begin() + 6, macs.begin() + 6);
  }

  ip_at_ = w_.size();
  const uint8_t tc = link.traffic_class & kDscpMask;
  if (family_ == IpFamily::kV4) {
    w_.u8(0x45);  // version 4, 5 words
    w_.u8(tc);
    w_.u16be(0);  // total length: finish()
    w_.u16be(0);  // identification: any value for an atomic datagram (RFC 6864 §4.1)
    w_.u16be(kIpv4DontFragment);
    w_.u8(hop_limit);
    w_.u8(proto);
    w_.u16be(0);  // header checksum: finish()
  } else {
    w_.u32be(0x60000000u | (static_cast<uint32_t>(tc) << 20));  // version 6, flow label 0
    w_.u16be(0);                                                // payload length: finish()
    w_.u8(proto);
    w_.u8(hop_limit);
  }
  w_.bytes(address_bytes(*src_));
  w_.bytes(address_bytes(*dst_));

  l4_at_ = w_.size();
  w_.u16be(to_client ? info.dst_port : info.src_port);
  w_.u16be(to_client ? info.src_port : info.dst_port);
  if (proto == parse::kIpProtoTcp) {
    w_.u32be(tcp.seq);
    w_.u32be(tcp.ack);
    w_.u8(static_cast<uint8_t>((kTcpHeaderLen / 4) << 4));  // data offset, no options
    w_.u8(tcp.flags);
    w_.u16be(tcp.window);
    w_.u16be(0);  // checksum: finish()
    w_.u16be(0);  // urgent pointer
  } else {
    w_.u16be(0);  // length: finish()
    w_.u16be(0);  // checksum: finish()
  }
}

ReplyResult ReplyFrame::finish() noexcept {
  const size_t end = w_.size();
  if (link_->ethernet && end < kEthernetMinFrameLen) w_.zeros(kEthernetMinFrameLen - end);
  if (!w_.ok()) return {0, ReplyError::kBufferTooSmall};

  const size_t l4_len = end - l4_at_;
  const bool v4 = family_ == IpFamily::kV4;
  if (link_->pppoe) {
    w_.patch_u16be(link_->pppoe_payload_at - 2,
                   static_cast<uint16_t>(end - link_->pppoe_payload_at));
  }
  if (v4) {
    w_.patch_u16be(ip_at_ + 2, static_cast<uint16_t>(end - ip_at_));
    w_.patch_u16be(ip_at_ + 10, fold(ones_sum(0, w_.written(ip_at_, kIpv4HeaderLen))));
  } else {
    w_.patch_u16be(ip_at_ + 4, static_cast<uint16_t>(l4_len));
  }

  // Pseudo-header: the same fields for both families (RFC 9293 §3.1, RFC 768, RFC 8200 §8.1);
  // the IPv6 32-bit length sums to the same value as IPv4's 16-bit one.
  uint32_t sum = ones_sum(0, address_bytes(*src_));
  sum = ones_sum(sum, address_bytes(*dst_));
  sum += proto_;
  sum += static_cast<uint32_t>(l4_len);
  size_t checksum_at = l4_at_ + 16;  // TCP
  if (proto_ == parse::kIpProtoUdp) {
    w_.patch_u16be(l4_at_ + 4, static_cast<uint16_t>(l4_len));
    checksum_at = l4_at_ + 6;
  }
  uint16_t checksum = fold(ones_sum(sum, w_.written(l4_at_, l4_len)));
  // RFC 768: a computed zero is sent as all ones (zero means "no checksum", and IPv6 forbids it).
  if (checksum == 0 && proto_ == parse::kIpProtoUdp) checksum = 0xffff;
  w_.patch_u16be(checksum_at, checksum);
  return {w_.size(), ReplyError::kNone};
}

}  // namespace muhafiz::action
