// Shared by the reply builders: checks the offending packet, finds the link layers to mirror,
// and assembles link + IP + TCP/UDP headers around a payload with lengths and checksums right.
// IPv4 and IPv6 go through the same code, chosen by the family of the offending packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/action/frame_writer.h"
#include "dataplane/action/reply.h"
#include "dataplane/parse/packet.h"

namespace muhafiz::action {

inline constexpr size_t kEthernetAddressesLen = 12;  // destination then source MAC
// IEEE 802.3 §4.4.2: 64-byte minimum frame, less the 4-byte FCS the NIC appends. Short replies
// (a reset is 54 bytes) are padded here rather than trusting every PMD and vdev to do it.
inline constexpr size_t kEthernetMinFrameLen = 60;
inline constexpr size_t kIpv4HeaderLen = 20;  // RFC 791 §3.1, no options
inline constexpr size_t kIpv6HeaderLen = 40;  // RFC 8200 §3
inline constexpr size_t kTcpHeaderLen = 20;   // RFC 9293 §3.1, no options
inline constexpr size_t kUdpHeaderLen = 8;    // RFC 768

// What a reply copies from the offending frame below IP.
struct LinkMirror {
  parse::Bytes header;          // every byte before the IP header
  bool ethernet = false;        // header starts with two MAC addresses
  bool pppoe = false;           // header holds a PPPoE session header
  size_t pppoe_payload_at = 0;  // offset of the PPPoE payload (PPP protocol field) in header
  uint8_t traffic_class = 0;    // IPv4 TOS / IPv6 traffic class of the offending packet
};

// Checks that the packet can be answered (decoded without tunnels, fragments or truncation, the
// transport is `proto`) and that the frame holds the IP header `pkt.info` describes, below link
// layers we can mirror. kNone and *out filled, or the reason.
ReplyError check_packet(const BlockedPacket& pkt, uint8_t proto, LinkMirror* out) noexcept;

enum class Direction : uint8_t {
  kToClient,  // addresses, ports and MACs swapped: from the server to the sender
  kToServer,  // as the offending packet went: from the sender to the server
};

struct TcpFields {
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
};

// Sequence space of a segment: its payload plus one for SYN and one for FIN (RFC 9293 §3.4).
uint32_t tcp_segment_length(const parse::PacketInfo& info) noexcept;

// A data segment "from the server" the client accepts: seq = the ACK the client just sent (its
// RCV.NXT), ack = everything the client sent (RFC 9293 §3.10.7.4, first check).
TcpFields tcp_answer_to_client(const parse::PacketInfo& info, uint8_t flags) noexcept;

// Writes one reply: begin() writes link, IP and transport headers, the caller appends the
// payload through payload(), finish() pads, then fills lengths and checksums.
class ReplyFrame {
 public:
  explicit ReplyFrame(std::span<uint8_t> out) noexcept : w_(out) {}

  // `tcp` is used when proto is TCP, ignored for UDP.
  void begin(const LinkMirror& link, const parse::PacketInfo& info, uint8_t hop_limit,
             Direction dir, uint8_t proto, const TcpFields& tcp) noexcept;
  FrameWriter& payload() noexcept { return w_; }
  ReplyResult finish() noexcept;

 private:
  FrameWriter w_;
  const LinkMirror* link_ = nullptr;
  parse::IpFamily family_ = parse::IpFamily::kNone;
  uint8_t proto_ = 0;
  const parse::IpAddress* src_ = nullptr;
  const parse::IpAddress* dst_ = nullptr;
  size_t ip_at_ = 0;
  size_t l4_at_ = 0;
};

}  // namespace muhafiz::action
