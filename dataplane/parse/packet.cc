#include "dataplane/parse/packet.h"

#include <algorithm>
#include <cstring>

namespace muhafiz::parse {
namespace {

enum class Layer : uint8_t { kEther, kVlan, kMpls, kPppoe, kPpp, kIpAuto, kIpv4, kIpv6, kGre };

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr uint16_t kEtherVlan = 0x8100;      // IEEE 802.1Q
constexpr uint16_t kEtherQinQ = 0x88a8;      // IEEE 802.1ad
constexpr uint16_t kEtherQinQOld = 0x9100;   // pre-standard QinQ still seen in the field
constexpr uint16_t kEtherMpls = 0x8847;
constexpr uint16_t kEtherMplsMulti = 0x8848;
constexpr uint16_t kEtherPppoeSession = 0x8864;  // RFC 2516 §4
constexpr uint16_t kEtherTeb = 0x6558;           // transparent Ethernet bridging (GRE)
constexpr uint16_t kPppIpv4 = 0x0021;            // RFC 1332
constexpr uint16_t kPppIpv6 = 0x0057;            // RFC 5072
constexpr uint16_t kPppMpls = 0x0281;            // RFC 3032 §4.3

constexpr uint8_t kIpProtoIpip = 4;    // RFC 2003
constexpr uint8_t kIpProtoIpv6 = 41;   // RFC 4213
constexpr uint8_t kIpProtoGre = 47;    // RFC 2784
constexpr uint8_t kIpv6HopByHop = 0, kIpv6Routing = 43, kIpv6Fragment = 44, kIpv6Esp = 50,
                  kIpv6Ah = 51, kIpv6NoNext = 59, kIpv6DestOpts = 60, kIpv6Mobility = 135,
                  kIpv6Hip = 139, kIpv6Shim6 = 140;

constexpr size_t kIpv4MinHeaderLen = 20;  // RFC 791 §3.1
constexpr size_t kIpv6HeaderLen = 40;     // RFC 8200 §3
constexpr size_t kTcpMinHeaderLen = 20;   // RFC 9293 §3.1
constexpr size_t kUdpHeaderLen = 8;       // RFC 768
constexpr size_t kMaxGtpuExtHeaders = 8;  // TS 29.281 §5.2: chained extension headers, capped

// BSD loopback address families (the value differs between systems).
constexpr uint32_t kAfInet = 2;
constexpr bool is_af_inet6(uint32_t af) { return af == 10 || af == 24 || af == 28 || af == 30; }

class Decoder {
 public:
  explicit Decoder(PacketInfo* out) noexcept : out_(out) {}

  ParseStatus run(LinkType link, Bytes frame) noexcept;

 private:
  void flag(PacketAnomaly a) noexcept { out_->anomalies |= packet_anomaly_mask(a); }
  ParseStatus truncated() noexcept {
    flag(kTruncatedBit);
    return ParseStatus::kMalformed;
  }
  ParseStatus not_ip() noexcept {
    flag(kNotIpBit);
    return ParseStatus::kNotApplicable;
  }
  void set_addresses(IpFamily family, Bytes src, Bytes dst) noexcept;
  // The next `declared` bytes of r (trimming link padding), or all of r when the header gives
  // no length (take_all); a declared length past the capture is cut and flagged.
  ByteReader bounded(ByteReader& r, size_t declared, bool take_all) noexcept;
  bool from_ethertype(uint16_t type, Layer* next) noexcept;
  bool from_ppp_protocol(uint16_t proto, Layer* next) noexcept;
  bool enter_tunnel() noexcept;
  ParseStatus ipv4(ByteReader& r, Layer* next) noexcept;
  ParseStatus ipv6(ByteReader& r, Layer* next) noexcept;
  ParseStatus transport(ByteReader& r, uint8_t proto, Layer* next) noexcept;
  ParseStatus udp_tunnels(ByteReader& r, Layer* next) noexcept;
  ParseStatus nflog(ByteReader& r, Layer* next) noexcept;
  ParseStatus ieee80211(ByteReader& r, Layer* next) noexcept;
  bool llc_snap(ByteReader& r, Layer* next) noexcept;

  PacketInfo* out_;
  size_t vlans_ = 0;
};

void Decoder::set_addresses(IpFamily family, Bytes src, Bytes dst) noexcept {
  out_->family = family;
  out_->src = IpAddress{family, {}};
  out_->dst = IpAddress{family, {}};
  // Fixed-size copies (the callers read exactly 4 or 16 bytes): no libc call per packet.
  if (src.size() == 4 && dst.size() == 4) {
    std::memcpy(out_->src.bytes, src.data(), 4);
    std::memcpy(out_->dst.bytes, dst.data(), 4);
  } else if (src.size() == 16 && dst.size() == 16) {
    std::memcpy(out_->src.bytes, src.data(), 16);
    std::memcpy(out_->dst.bytes, dst.data(), 16);
  }
}

ByteReader Decoder::bounded(ByteReader& r, size_t declared, bool take_all) noexcept {
  if (take_all) return r.sub(r.remaining());
  if (declared > r.remaining()) flag(kTruncatedBit);
  return r.sub(std::min(declared, r.remaining()));
}

bool Decoder::from_ethertype(uint16_t type, Layer* next) noexcept {
  switch (type) {
    case kEtherIpv4: *next = Layer::kIpv4; return true;
    case kEtherIpv6: *next = Layer::kIpv6; return true;
    case kEtherVlan:
    case kEtherQinQ:
    case kEtherQinQOld: *next = Layer::kVlan; return true;
    case kEtherMpls:
    case kEtherMplsMulti: *next = Layer::kMpls; return true;
    case kEtherPppoeSession: *next = Layer::kPppoe; return true;
    default: return false;
  }
}

bool Decoder::from_ppp_protocol(uint16_t proto, Layer* next) noexcept {
  switch (proto) {
    case kPppIpv4: *next = Layer::kIpv4; return true;
    case kPppIpv6: *next = Layer::kIpv6; return true;
    case kPppMpls: *next = Layer::kMpls; return true;
    default: return false;
  }
}

bool Decoder::enter_tunnel() noexcept {
  if (out_->tunnel_depth >= kMaxTunnelDepth) {
    flag(kTunnelDepthBit);
    return false;
  }
  ++out_->tunnel_depth;
  flag(kTunnelBit);
  return true;
}

ParseStatus Decoder::ipv4(ByteReader& r, Layer* next) noexcept {
  // The fixed header in one read: version/IHL, DSCP/ECN, total length, identification,
  // flags/fragment offset, TTL, protocol, checksum (not verified: NIC offload leaves it wrong in
  // captures), source, destination.
  const Bytes h = r.bytes(kIpv4MinHeaderLen);
  if (!r.ok()) return truncated();
  const uint8_t ver_ihl = h[0];
  const size_t header_len = size_t{ver_ihl & 0x0fu} * 4;
  const uint16_t total_len = be16_at(h, 2);
  const uint16_t frag = be16_at(h, 6);
  const uint8_t proto = h[9];
  const Bytes src = h.subspan(12, 4);
  const Bytes dst = h.subspan(16, 4);
  if ((ver_ihl >> 4) != 4 || header_len < kIpv4MinHeaderLen ||
      (total_len != 0 && total_len < header_len)) {
    flag(kBadIpHeaderBit);
    return ParseStatus::kMalformed;
  }
  r.skip(header_len - kIpv4MinHeaderLen);  // options
  if (!r.ok()) return truncated();
  set_addresses(IpFamily::kV4, src, dst);
  // Total length 0 is what TCP segmentation offload leaves in locally captured frames.
  ByteReader payload = bounded(r, total_len == 0 ? 0 : total_len - header_len, total_len == 0);

  const uint16_t frag_offset = frag & 0x1fff;
  const bool more_fragments = (frag & 0x2000) != 0;
  out_->l4_proto = proto;
  if (frag_offset != 0) {
    flag(kIpLaterFragmentBit);
    return ParseStatus::kNotApplicable;
  }
  if (more_fragments) flag(kIpFragmentBit);
  r = payload;
  return transport(r, proto, next);
}

ParseStatus Decoder::ipv6(ByteReader& r, Layer* next) noexcept {
  const uint32_t ver_tc_flow = r.read_u32be();
  const uint16_t payload_len_field = r.read_u16be();
  uint8_t proto = r.read_u8();
  r.skip(1);  // hop limit
  const Bytes src = r.bytes(16);
  const Bytes dst = r.bytes(16);
  if (!r.ok()) return truncated();
  if ((ver_tc_flow >> 28) != 6) {
    flag(kBadIpHeaderBit);
    return ParseStatus::kMalformed;
  }
  set_addresses(IpFamily::kV6, src, dst);
  // Payload length 0 means a jumbogram (RFC 2675) or TSO: take the frame.
  r = bounded(r, payload_len_field, payload_len_field == 0);

  // Extension header chain (RFC 8200 §4), capped.
  for (size_t n = 0;; ++n) {
    if (n > kMaxIpv6ExtHeaders) {
      flag(kIpv6ExtDepthBit);
      return ParseStatus::kMalformed;
    }
    switch (proto) {
      case kIpv6HopByHop:
      case kIpv6Routing:
      case kIpv6DestOpts:
      case kIpv6Mobility:
      case kIpv6Hip:
      case kIpv6Shim6: {
        proto = r.read_u8();
        const size_t len = (size_t{r.read_u8()} + 1) * 8;  // in 8-octet units, not counting the first
        r.skip(len - 2);
        break;
      }
      case kIpv6Ah: {  // RFC 4302 §2.2: length in 4-octet units, minus 2
        proto = r.read_u8();
        const size_t len = (size_t{r.read_u8()} + 2) * 4;
        r.skip(len - 2);
        break;
      }
      case kIpv6Fragment: {  // RFC 8200 §4.5
        proto = r.read_u8();
        r.skip(1);
        const uint16_t off_flags = r.read_u16be();
        r.skip(4);  // identification
        if (!r.ok()) return truncated();
        out_->l4_proto = proto;
        if ((off_flags >> 3) != 0) {
          flag(kIpLaterFragmentBit);
          return ParseStatus::kNotApplicable;
        }
        if ((off_flags & 1) != 0) flag(kIpFragmentBit);
        break;
      }
      case kIpv6Esp:
      case kIpv6NoNext:
        out_->l4_proto = proto;
        return ParseStatus::kNotApplicable;
      default:
        if (!r.ok()) return truncated();
        out_->l4_proto = proto;
        return transport(r, proto, next);
    }
    if (!r.ok()) return truncated();
  }
}

// TCP and UDP finish decoding (kOk); IP-in-IP and GRE continue with *next.
ParseStatus Decoder::transport(ByteReader& r, uint8_t proto, Layer* next) noexcept {
  switch (proto) {
    case kIpProtoTcp: {
      // Ports, sequence, acknowledgement, data offset and flags; then window, checksum and
      // urgent pointer, unused.
      const Bytes h = r.bytes(kTcpMinHeaderLen);
      if (!r.ok()) return truncated();
      out_->src_port = be16_at(h, 0);
      out_->dst_port = be16_at(h, 2);
      out_->tcp_seq = be32_at(h, 4);
      out_->tcp_ack = be32_at(h, 8);
      const uint16_t off_flags = be16_at(h, 12);
      const size_t header_len = static_cast<size_t>(off_flags >> 12) * 4;
      out_->tcp_flags = static_cast<uint8_t>(off_flags & 0xff);
      if (header_len < kTcpMinHeaderLen) {
        flag(kBadL4HeaderBit);
        return ParseStatus::kMalformed;
      }
      r.skip(header_len - kTcpMinHeaderLen);
      if (!r.ok()) return truncated();
      out_->l4_payload = r.rest();
      return ParseStatus::kOk;
    }
    case kIpProtoUdp: {
      const Bytes h = r.bytes(kUdpHeaderLen);  // ports, length, checksum (unused)
      if (!r.ok()) return truncated();
      out_->src_port = be16_at(h, 0);
      out_->dst_port = be16_at(h, 2);
      const uint16_t len = be16_at(h, 4);
      if (len != 0 && len < kUdpHeaderLen) {
        flag(kBadL4HeaderBit);
        return ParseStatus::kMalformed;
      }
      // Length 0: jumbogram (RFC 2675) or offload; take what the IP layer gave.
      r = bounded(r, len == 0 ? 0 : len - kUdpHeaderLen, len == 0);
      out_->l4_payload = r.rest();
      return udp_tunnels(r, next);
    }
    case kIpProtoIpip:
      if (!enter_tunnel()) return ParseStatus::kNotApplicable;
      *next = Layer::kIpv4;
      return ParseStatus::kNeedMore;
    case kIpProtoIpv6:
      if (!enter_tunnel()) return ParseStatus::kNotApplicable;
      *next = Layer::kIpv6;
      return ParseStatus::kNeedMore;
    case kIpProtoGre:
      if (!enter_tunnel()) return ParseStatus::kNotApplicable;
      *next = Layer::kGre;
      return ParseStatus::kNeedMore;
    default:
      return ParseStatus::kNotApplicable;
  }
}

// GTP-U and VXLAN ride on UDP. When the header checks out, decoding continues with the
// inner packet (kNeedMore); otherwise the UDP datagram itself is the result (kOk).
// IEEE 802.11-2020 §9.2.4: frame control, duration, three addresses, sequence control; a
// fourth address between two distribution systems; QoS control in QoS data subtypes, and an
// HT control field when the +HTC/order bit is set on them. Only data frames with a body that
// is not protected (encrypted) can carry a readable IP packet: true when r now stands at such
// a body (its LLC header); false otherwise, with r failed when the frame was cut short.
// `swapped`: the frame control's two bytes come in the other order (Cisco's CAPWAP).
bool skip_80211_header(ByteReader& r, bool swapped = false) noexcept {
  const uint16_t raw = r.read_u16le();
  const uint16_t fc = swapped ? static_cast<uint16_t>(raw >> 8 | raw << 8) : raw;
  if (!r.ok()) return false;
  const unsigned type = (fc >> 2) & 0x3;
  const unsigned subtype = (fc >> 4) & 0xf;
  const unsigned flags = fc >> 8;
  if (type != 2 || (subtype & 0x4) != 0) return false;  // not data, or a null (no body)
  if ((flags & 0x40) != 0) return false;                // protected: encrypted body
  size_t header = 24;
  if ((flags & 0x03) == 0x03) header += 6;  // to and from DS: address 4
  if ((subtype & 0x8) != 0) {
    header += 2;                           // QoS control
    if ((flags & 0x80) != 0) header += 4;  // HT control
  }
  r.skip(header - 2);
  return r.ok();
}

ParseStatus Decoder::udp_tunnels(ByteReader& r, Layer* next) noexcept {
  const bool gtpu = out_->dst_port == kGtpuPort || out_->src_port == kGtpuPort;
  const bool vxlan = out_->dst_port == kVxlanPort;
  const bool capwap = out_->dst_port == kCapwapDataPort || out_->src_port == kCapwapDataPort;
  if (!gtpu && !vxlan && !capwap) return ParseStatus::kOk;
  ByteReader t = r;
  if (capwap) {
    // RFC 5415 §4.3: preamble (version 0, type 0: not DTLS), then HLEN (the whole header in
    // 4-byte words), RID, WBID, T, F, L, W, M, K and flags. With T the payload is a native frame
    // of the binding (WBID 1: IEEE 802.11, RFC 5416), else an 802.3 frame. Fragments (F) and
    // anything not carrying IP are left as the outer datagram.
    const uint8_t preamble = t.read_u8();
    const uint32_t bits = t.read_u24be();
    const size_t hlen = size_t{bits >> 19} * 4;
    const unsigned wbid = (bits >> 9) & 0x1f;
    const bool native = ((bits >> 8) & 1) != 0;
    const bool fragment = ((bits >> 7) & 1) != 0;
    if (!t.ok() || preamble != 0 || hlen < 8 || fragment) return ParseStatus::kOk;
    t.skip(hlen - 4);
    Layer inner = Layer::kEther;
    if (native) {
      // Cisco access points send the 802.11 frame control with its bytes swapped (Wireshark's
      // capwap.swap_fc, on by default): try the standard order first, then that one.
      if (wbid != 1) return ParseStatus::kOk;
      ByteReader plain = t;
      ByteReader swapped = t;
      if (skip_80211_header(plain) && llc_snap(plain, &inner)) {
        t = plain;
      } else if (skip_80211_header(swapped, true) && llc_snap(swapped, &inner)) {
        t = swapped;
      } else {
        return ParseStatus::kOk;
      }
    }
    if (!t.ok() || !enter_tunnel()) return ParseStatus::kOk;
    *next = inner;
  } else if (gtpu) {
    // TS 29.281 §5.1: version 1, protocol type GTP, message type 255 (G-PDU) carries user data.
    const uint8_t flags = t.read_u8();
    const uint8_t type = t.read_u8();
    const uint16_t len = t.read_u16be();
    t.skip(4);  // TEID
    if (!t.ok() || (flags >> 5) != 1 || (flags & 0x10) == 0 || type != 0xff) return ParseStatus::kOk;
    t = t.sub(std::min<size_t>(len, t.remaining()));
    if ((flags & 0x07) != 0) {  // E, S or PN: sequence, N-PDU and next-extension fields follow
      t.skip(3);
      uint8_t ext = t.read_u8();
      for (size_t n = 0; ext != 0 && t.ok(); ++n) {
        if (n >= kMaxGtpuExtHeaders) return ParseStatus::kOk;
        const size_t ext_len = size_t{t.read_u8()} * 4;  // 4-octet units, including length and next-type
        if (ext_len == 0) return ParseStatus::kOk;
        t.skip(ext_len - 2);
        ext = t.read_u8();
      }
    }
    const uint8_t version = static_cast<uint8_t>(t.peek_u8() >> 4);
    if (!t.ok() || (version != 4 && version != 6)) return ParseStatus::kOk;
    if (!enter_tunnel()) return ParseStatus::kOk;
    *next = version == 4 ? Layer::kIpv4 : Layer::kIpv6;
  } else {
    // RFC 7348 §5: flags with the I bit, reserved, VNI, reserved; then an Ethernet frame.
    const uint8_t flags = t.read_u8();
    t.skip(7);
    if (!t.ok() || (flags & 0x08) == 0) return ParseStatus::kOk;
    if (!enter_tunnel()) return ParseStatus::kOk;
    *next = Layer::kEther;
  }
  r = t;
  return ParseStatus::kNeedMore;
}

// Linux NFLOG (nfnetlink_log): address family, version, resource id; then TLVs of
// {length, type} in the capturing host's byte order (little-endian in practice, as libpcap
// and Wireshark assume), each padded to 4 bytes. NFULA_PAYLOAD (9) is the network packet.
ParseStatus Decoder::nflog(ByteReader& r, Layer* next) noexcept {
  constexpr uint16_t kNfulaPayload = 9;
  constexpr size_t kMaxNflogTlvs = 32;  // a dozen attribute types exist
  const uint8_t family = r.read_u8();
  r.skip(3);
  if (!r.ok()) return truncated();
  for (size_t n = 0; n < kMaxNflogTlvs && r.remaining() >= 4; ++n) {
    const uint16_t len = r.read_u16le();
    const uint16_t type = r.read_u16le();
    if (len < 4) return truncated();
    if ((type & 0x7fff) == kNfulaPayload) {
      r = bounded(r, len - 4u, false);
      *next = family == kAfInet ? Layer::kIpv4 : family == 10 ? Layer::kIpv6 : Layer::kIpAuto;
      return ParseStatus::kNeedMore;
    }
    r.skip(((size_t{len} + 3) & ~size_t{3}) - 4);
  }
  if (!r.ok()) return truncated();
  return not_ip();  // no packet attribute: a log record without payload
}

// 802.2 LLC with a SNAP header of OUI 0 (RFC 1042): AA AA 03 00 00 00, then an EtherType.
bool Decoder::llc_snap(ByteReader& r, Layer* next) noexcept {
  const uint32_t llc = r.read_u24be();
  const uint32_t oui = r.read_u24be();
  const uint16_t type = r.read_u16be();
  return r.ok() && llc == 0xaaaa03 && (oui == 0 || oui == 0x0000f8) && from_ethertype(type, next);
}

ParseStatus Decoder::ieee80211(ByteReader& r, Layer* next) noexcept {
  if (!skip_80211_header(r) || !llc_snap(r, next)) return r.ok() ? not_ip() : truncated();
  return ParseStatus::kNeedMore;
}

ParseStatus Decoder::run(LinkType link, Bytes frame) noexcept {
  ByteReader r(frame);
  Layer next = Layer::kEther;
  switch (link) {
    case LinkType::kEthernet: next = Layer::kEther; break;
    case LinkType::kRaw:
    case LinkType::kRawDlt:
    case LinkType::kRawDltOpenBsd: next = Layer::kIpAuto; break;
    case LinkType::kRawIpv4: next = Layer::kIpv4; break;
    case LinkType::kRawIpv6: next = Layer::kIpv6; break;
    case LinkType::kPpp: next = Layer::kPpp; break;
    case LinkType::kNull:
    case LinkType::kLoop: {
      const uint32_t be = r.read_u32be();
      // NULL is in the capturing host's order: a small value read big-endian is big-endian.
      const uint32_t af = (link == LinkType::kLoop || be < 0x10000) ? be : __builtin_bswap32(be);
      if (!r.ok()) return truncated();
      if (af == kAfInet) {
        next = Layer::kIpv4;
      } else if (is_af_inet6(af)) {
        next = Layer::kIpv6;
      } else {
        return not_ip();
      }
      break;
    }
    case LinkType::kCiscoHdlc: {
      r.skip(2);  // address, control
      const uint16_t type = r.read_u16be();
      if (!r.ok()) return truncated();
      if (!from_ethertype(type, &next)) return not_ip();
      break;
    }
    case LinkType::kLinuxSll: {
      r.skip(14);  // packet type, ARPHRD type, address length, address
      const uint16_t type = r.read_u16be();
      if (!r.ok()) return truncated();
      if (!from_ethertype(type, &next)) return not_ip();
      break;
    }
    case LinkType::kLinuxSll2: {
      const uint16_t type = r.read_u16be();
      r.skip(18);  // reserved, ifindex, ARPHRD type, packet type, address length, address
      if (!r.ok()) return truncated();
      if (!from_ethertype(type, &next)) return not_ip();
      break;
    }
    case LinkType::kNflog:
      if (const ParseStatus st = nflog(r, &next); st != ParseStatus::kNeedMore) return st;
      break;
    case LinkType::kRadiotap: {
      // Version, pad, header length (little-endian), present flags...: skip the whole header.
      r.skip(2);
      const uint16_t len = r.read_u16le();
      if (!r.ok() || len < 8) return truncated();
      r.skip(len - 4u);
      if (const ParseStatus st = ieee80211(r, &next); st != ParseStatus::kNeedMore) return st;
      break;
    }
    case LinkType::kPpi: {
      // Version, flags, header length and the DLT of what follows (little-endian).
      r.skip(2);
      const uint16_t len = r.read_u16le();
      const uint32_t dlt = r.read_u32le();
      if (!r.ok() || len < 8) return truncated();
      r.skip(len - 8u);
      if (dlt == static_cast<uint32_t>(LinkType::kEthernet)) {
        next = Layer::kEther;
      } else if (dlt == static_cast<uint32_t>(LinkType::kIeee80211)) {
        if (const ParseStatus st = ieee80211(r, &next); st != ParseStatus::kNeedMore) return st;
      } else {
        flag(kUnsupportedLinkBit);
        return ParseStatus::kNotApplicable;
      }
      break;
    }
    case LinkType::kIeee80211:
      if (const ParseStatus st = ieee80211(r, &next); st != ParseStatus::kNeedMore) return st;
      break;
    default:
      flag(kUnsupportedLinkBit);
      return ParseStatus::kNotApplicable;
  }

  for (size_t layer = 0; layer < kMaxLayers; ++layer) {
    switch (next) {
      case Layer::kEther: {
        r.skip(12);  // destination, source MAC
        const uint16_t type = r.read_u16be();
        if (!r.ok()) return truncated();
        if (type <= 1500) {  // an 802.3 length: LLC follows, IP only behind SNAP (RFC 1042)
          if (!llc_snap(r, &next)) return r.ok() ? not_ip() : truncated();
          break;
        }
        if (!from_ethertype(type, &next)) return not_ip();
        break;
      }
      case Layer::kVlan: {
        const uint16_t tci = r.read_u16be();
        const uint16_t type = r.read_u16be();
        if (!r.ok()) return truncated();
        if (++vlans_ > kMaxVlanDepth) {
          flag(kVlanDepthBit);
          return ParseStatus::kMalformed;
        }
        if (out_->outer_vlan == 0) out_->outer_vlan = tci & 0x0fff;
        if (!from_ethertype(type, &next)) return not_ip();
        break;
      }
      case Layer::kMpls: {
        size_t labels = 0;
        for (;;) {
          const uint32_t entry = r.read_u32be();
          if (!r.ok()) return truncated();
          if (++labels > kMaxMplsLabels) {
            flag(kMplsDepthBit);
            return ParseStatus::kMalformed;
          }
          if ((entry & 0x100) != 0) break;  // bottom of stack (RFC 3032 §2.1)
        }
        // No protocol field: the first nibble tells IPv4/IPv6; 0 is a pseudowire control
        // word (RFC 4385) before an Ethernet frame.
        const uint8_t nibble = static_cast<uint8_t>(r.peek_u8() >> 4);
        if (r.empty()) return truncated();
        if (nibble == 4) {
          next = Layer::kIpv4;
        } else if (nibble == 6) {
          next = Layer::kIpv6;
        } else if (nibble == 0) {
          r.skip(4);
          next = Layer::kEther;
        } else {
          return not_ip();
        }
        break;
      }
      case Layer::kPppoe: {  // RFC 2516 §4: ver/type, code 0, session id, length, PPP protocol
        const uint8_t ver_type = r.read_u8();
        const uint8_t code = r.read_u8();
        r.skip(2);
        const uint16_t len = r.read_u16be();
        if (!r.ok()) return truncated();
        if (ver_type != 0x11 || code != 0 || len < 2) {
          flag(kBadIpHeaderBit);
          return ParseStatus::kMalformed;
        }
        r = bounded(r, len, false);
        next = Layer::kPpp;
        break;
      }
      case Layer::kPpp: {  // RFC 1661: optional HDLC address/control, 1- or 2-byte protocol
        if (r.peek_u8() == 0xff && r.peek_u8(1) == 0x03) r.skip(2);
        uint16_t proto = r.read_u8();
        if ((proto & 1) == 0) proto = static_cast<uint16_t>((proto << 8) | r.read_u8());
        if (!r.ok()) return truncated();
        if (!from_ppp_protocol(proto, &next)) return not_ip();
        break;
      }
      case Layer::kGre: {  // RFC 2784 / RFC 2890; version 1 is PPTP's enhanced GRE (RFC 2637)
        const uint16_t flags = r.read_u16be();
        const uint16_t type = r.read_u16be();
        if (!r.ok()) return truncated();
        const uint16_t version = flags & 0x7;
        if (version == 0) {
          if ((flags & 0xc000) != 0) r.skip(4);  // checksum (+ reserved) or routing present
          if ((flags & 0x2000) != 0) r.skip(4);  // key
          if ((flags & 0x1000) != 0) r.skip(4);  // sequence
          if (type == kEtherTeb) {
            next = Layer::kEther;
          } else if (!from_ethertype(type, &next)) {
            return not_ip();
          }
        } else if (version == 1) {
          r.skip(4);                             // payload length, call id
          if ((flags & 0x1000) != 0) r.skip(4);  // sequence
          if ((flags & 0x0080) != 0) r.skip(4);  // acknowledgment
          next = Layer::kPpp;
        } else {
          return not_ip();
        }
        if (!r.ok()) return truncated();
        break;
      }
      case Layer::kIpAuto: {
        const uint8_t nibble = static_cast<uint8_t>(r.peek_u8() >> 4);
        if (r.empty()) return truncated();
        if (nibble == 4) {
          next = Layer::kIpv4;
        } else if (nibble == 6) {
          next = Layer::kIpv6;
        } else {
          flag(kBadIpHeaderBit);
          return ParseStatus::kMalformed;
        }
        break;
      }
      case Layer::kIpv4:
      case Layer::kIpv6: {
        const ParseStatus s = next == Layer::kIpv4 ? ipv4(r, &next) : ipv6(r, &next);
        if (s != ParseStatus::kNeedMore) return s;  // kNeedMore: a tunnel, go on with *next
        break;
      }
    }
  }
  flag(kTunnelDepthBit);
  return ParseStatus::kMalformed;
}

}  // namespace

bool link_type_supported(uint32_t link_type) noexcept {
  if (link_type > 0xffff) return false;
  switch (static_cast<LinkType>(link_type)) {
    case LinkType::kNull:
    case LinkType::kEthernet:
    case LinkType::kPpp:
    case LinkType::kRaw:
    case LinkType::kRawDlt:
    case LinkType::kRawDltOpenBsd:
    case LinkType::kCiscoHdlc:
    case LinkType::kLoop:
    case LinkType::kLinuxSll:
    case LinkType::kRawIpv4:
    case LinkType::kRawIpv6:
    case LinkType::kLinuxSll2:
    case LinkType::kIeee80211:
    case LinkType::kRadiotap:
    case LinkType::kPpi:
    case LinkType::kNflog: return true;
  }
  return false;
}

std::string_view packet_anomaly_name(PacketAnomaly a) noexcept {
  switch (a) {
#define MUHAFIZ_X(name, text) \
  case name##Bit: return text;
    MUHAFIZ_PACKET_ANOMALIES(MUHAFIZ_X)
#undef MUHAFIZ_X
    case kPacketAnomalyCount: break;
  }
  return "unknown";
}

namespace {

// The general decoder over a zeroed *out.
ParseStatus decode_general(LinkType link, Bytes frame, PacketInfo* out) noexcept {
  Decoder d(out);
  return d.run(link, frame);
}

}  // namespace

bool decode_packet_fast(Bytes frame, PacketInfo* out) noexcept {
  constexpr size_t kEtherLen = 14;
  constexpr size_t kIpAt = kEtherLen, kL4At = kEtherLen + kIpv4MinHeaderLen;
  if (frame.size() < kL4At || be16_at(frame, 12) != kEtherIpv4 || frame[kIpAt] != 0x45) {
    return false;
  }
  const Bytes ip = frame.subspan(kIpAt, kIpv4MinHeaderLen);
  const size_t total_len = be16_at(ip, 2);
  // Total length 0 (offload) or past the frame (cut), MF set or an offset: the general path.
  if (total_len < kIpv4MinHeaderLen || (be16_at(ip, 6) & 0x3fff) != 0 ||
      total_len - kIpv4MinHeaderLen > frame.size() - kL4At) {
    return false;
  }
  const Bytes l4 = frame.subspan(kL4At, total_len - kIpv4MinHeaderLen);
  const uint8_t proto = ip[9];
  Bytes payload;
  if (proto == kIpProtoTcp) {
    if (l4.size() < kTcpMinHeaderLen) return false;
    const size_t header_len = size_t{l4[12]} / 16 * 4;
    if (header_len < kTcpMinHeaderLen || header_len > l4.size()) return false;
    out->tcp_seq = be32_at(l4, 4);
    out->tcp_ack = be32_at(l4, 8);
    out->tcp_flags = l4[13];
    payload = l4.subspan(header_len);
  } else if (proto == kIpProtoUdp) {
    if (l4.size() < kUdpHeaderLen) return false;
    const size_t len = be16_at(l4, 4);
    const uint16_t src = be16_at(l4, 0), dst = be16_at(l4, 2);
    if (len < kUdpHeaderLen || len > l4.size() || src == kGtpuPort || dst == kGtpuPort ||
        dst == kVxlanPort || src == kCapwapDataPort || dst == kCapwapDataPort) {
      return false;
    }
    payload = l4.subspan(kUdpHeaderLen, len - kUdpHeaderLen);
  } else {
    return false;
  }
  out->family = IpFamily::kV4;
  out->src = IpAddress{IpFamily::kV4, {}};
  out->dst = IpAddress{IpFamily::kV4, {}};
  std::memcpy(out->src.bytes, ip.subspan(12, 4).data(), 4);
  std::memcpy(out->dst.bytes, ip.subspan(16, 4).data(), 4);
  out->l4_proto = proto;
  out->src_port = be16_at(l4, 0);
  out->dst_port = be16_at(l4, 2);
  out->l4_payload = payload;
  return true;
}

ParseStatus decode_packet(LinkType link, Bytes frame, PacketInfo* out) noexcept {
  *out = PacketInfo{};
  if (link == LinkType::kEthernet && decode_packet_fast(frame, out)) return ParseStatus::kOk;
  return decode_general(link, frame, out);
}

ParseStatus decode_packet_general(LinkType link, Bytes frame, PacketInfo* out) noexcept {
  *out = PacketInfo{};
  return decode_general(link, frame, out);
}

}  // namespace muhafiz::parse
