// Link, network and transport decoding: from a captured or received frame to the
// innermost IP 5-tuple and its L4 payload, through the encapsulations found on ISP links.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/parse/byte_reader.h"
#include "dataplane/parse/status.h"

namespace muhafiz::parse {

// Link types as numbered by tcpdump.org's LINKTYPE_ registry (pcap and pcapng share them).
enum class LinkType : uint16_t {
  kNull = 0,          // BSD loopback: 4-byte address family in the capturing host's byte order
  kEthernet = 1,
  kPpp = 9,           // RFC 1661 PPP, optionally with HDLC address/control bytes
  kRawDlt = 12,       // DLT_RAW: how libpcap reports LINKTYPE_RAW (101) files on Linux
  kRawDltOpenBsd = 14,  // DLT_RAW as numbered on OpenBSD
  kRaw = 101,         // raw IPv4 or IPv6, version from the first nibble
  kCiscoHdlc = 104,
  kIeee80211 = 105,   // 802.11 frames; data frames carry LLC/SNAP (unencrypted ones are read)
  kLoop = 108,        // OpenBSD loopback: family in network byte order
  kLinuxSll = 113,
  kRadiotap = 127,    // radiotap header, then an 802.11 frame
  kPpi = 192,         // Per-Packet Information header, then 802.11 or Ethernet
  kRawIpv4 = 228,
  kRawIpv6 = 229,
  kNflog = 239,       // Linux NFLOG: header, then TLVs; the packet is NFULA_PAYLOAD
  kLinuxSll2 = 276,
};
bool link_type_supported(uint32_t link_type) noexcept;

inline constexpr size_t kMaxVlanDepth = 4;        // 802.1Q/802.1ad tags; QinQ is 2, 4 leaves headroom
inline constexpr size_t kMaxMplsLabels = 8;       // label stack entries (RFC 3032); deep stacks are rare
inline constexpr size_t kMaxIpv6ExtHeaders = 8;   // RFC 8200 §4.1 lists 8 kinds, each at most once or twice
inline constexpr size_t kMaxTunnelDepth = 3;      // IP-in-IP, GRE, GTP-U, VXLAN nesting we follow
inline constexpr size_t kMaxLayers = 24;          // cap on all headers walked for one frame

inline constexpr uint16_t kGtpuPort = 2152;       // 3GPP TS 29.281
inline constexpr uint16_t kVxlanPort = 4789;      // RFC 7348 §5
inline constexpr uint16_t kCapwapDataPort = 5247;  // RFC 5415 §3.1: CAPWAP data channel

// Packet-level anomalies: one X-macro so the enum, its name and its counter come from one place.
#define MUHAFIZ_PACKET_ANOMALIES(X)                                                \
  X(kTruncated, "truncated")               /* frame shorter than a header says */ \
  X(kVlanDepth, "vlan_depth")              /* more than kMaxVlanDepth tags */      \
  X(kMplsDepth, "mpls_depth")              /* no bottom of stack within the cap */ \
  X(kIpv6ExtDepth, "ipv6_ext_depth")       /* extension chain over the cap */      \
  X(kTunnelDepth, "tunnel_depth")          /* encapsulation deeper than the cap */ \
  X(kBadIpHeader, "bad_ip_header")         /* IHL, version or length wrong */      \
  X(kBadL4Header, "bad_l4_header")         /* TCP data offset / UDP length wrong */ \
  X(kIpFragment, "ip_fragment")            /* first fragment: inspected alone */    \
  X(kIpLaterFragment, "ip_later_fragment") /* not the first: no L4 header */        \
  X(kTunnel, "tunnel")                     /* 5-tuple comes from an inner packet */ \
  X(kNotIp, "not_ip")                      /* ARP, LLDP, ... nothing to inspect */   \
  X(kUnsupportedLink, "unsupported_link")

enum PacketAnomaly : uint32_t {
#define MUHAFIZ_X(name, text) name##Bit,
  MUHAFIZ_PACKET_ANOMALIES(MUHAFIZ_X)
#undef MUHAFIZ_X
  kPacketAnomalyCount
};
inline constexpr uint32_t packet_anomaly_mask(PacketAnomaly a) noexcept { return 1u << a; }
std::string_view packet_anomaly_name(PacketAnomaly a) noexcept;

enum class IpFamily : uint8_t { kNone = 0, kV4 = 4, kV6 = 6 };

struct IpAddress {
  IpFamily family = IpFamily::kNone;
  uint8_t bytes[16] = {};  // IPv4 uses the first 4
};

inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;

namespace tcp_flag {
inline constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;
}

struct PacketInfo {
  IpFamily family = IpFamily::kNone;  // of the innermost IP header
  IpAddress src, dst;
  uint8_t l4_proto = 0;
  uint16_t src_port = 0, dst_port = 0;
  uint32_t tcp_seq = 0, tcp_ack = 0;
  uint8_t tcp_flags = 0;
  uint16_t outer_vlan = 0;  // first 802.1Q/802.1ad VLAN id seen (0: none)
  uint8_t tunnel_depth = 0;
  Bytes l4_payload;          // TCP/UDP payload, trimmed to the IP length (no Ethernet padding)
  uint32_t anomalies = 0;    // PacketAnomaly bits
  bool has(PacketAnomaly a) const noexcept { return (anomalies & packet_anomaly_mask(a)) != 0; }
};

// Decodes one frame. kOk: a TCP or UDP header was decoded (the payload may be empty or cut
// short by the capture: see kTruncated). kNotApplicable: decodable but nothing to inspect
// (not IP, other L4 protocol, a later fragment). kMalformed: a header is broken.
ParseStatus decode_packet(LinkType link, Bytes frame, PacketInfo* out) noexcept;
// decode_packet's two halves, for tests that hold them to the same result (the dataplane calls
// decode_packet). The fast path: most frames on a link are Ethernet II, IPv4 without options or
// fragmentation, and TCP or UDP that is no tunnel, with every header and the whole IP payload
// present; decode_packet_fast decodes exactly those, in one pass of fixed-offset reads, into a
// zeroed *out as the general decoder would, and returns false, having written nothing, for
// anything else. decode_packet_general sends every frame through the general layer-by-layer
// decoder.
bool decode_packet_fast(Bytes frame, PacketInfo* out) noexcept;
ParseStatus decode_packet_general(LinkType link, Bytes frame, PacketInfo* out) noexcept;

}  // namespace muhafiz::parse
