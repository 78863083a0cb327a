// Blocking replies: complete frames that answer an offending packet in the name of the peer it
// was meant for (a DNS answer, a TCP reset, an HTTP redirect to the stop page).
//
// Every builder is pure, noexcept and allocation-free: it reads the offending frame (through
// parse::ByteReader) and what decode_packet made of it, writes one frame into the caller's
// buffer, and returns its size, or 0 and a counted reason. Link layers are mirrored: Ethernet
// (MACs swapped towards the client), 802.1Q/802.1ad tags and a PPPoE session are copied as
// received. MPLS (labels differ per direction), tunnels and link types other than Ethernet and
// raw IP are refused with kUnsupportedEncapsulation / kUnsupportedLink.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>
#include <string_view>

#include "dataplane/parse/byte_reader.h"
#include "dataplane/parse/packet.h"

namespace muhafiz::action {

// Why no reply was built: one X-macro so the enum, its name and its counter come from one place.
#define MUHAFIZ_REPLY_ERRORS(X)                                                                    \
  X(kNone, "none")                                          /* a reply was built */                \
  X(kBufferTooSmall, "buffer_too_small")                    /* out cannot hold the frame */        \
  X(kBadConfig, "bad_config")                               /* reply_config_problem() says why */  \
  X(kNoStopPageUrl, "no_stop_page_url")                     /* HTTP redirect without a URL */      \
  X(kUnsupportedLink, "unsupported_link")                   /* neither Ethernet nor raw IP */      \
  X(kUnsupportedEncapsulation, "unsupported_encapsulation") /* MPLS, tunnel, unknown EtherType */  \
  X(kPacketMismatch, "packet_mismatch")        /* frame does not hold the IP header decoded */     \
  X(kIpFragment, "ip_fragment")                /* the rest of the datagram is not here */          \
  X(kTruncatedPacket, "truncated_packet")      /* captured short: true lengths unknown */          \
  X(kWrongTransport, "wrong_transport")        /* e.g. a TCP reset asked for a UDP packet */       \
  X(kTcpReset, "tcp_reset")                    /* never answer a RST (RFC 9293 §3.10.7.1) */      \
  X(kTcpNotEstablished, "tcp_not_established") /* no ACK bit: no sequence to answer in */          \
  X(kDnsIncomplete, "dns_incomplete")          /* the segment does not start with a whole query */ \
  X(kDnsMalformed, "dns_malformed")            /* header, question or records do not decode */     \
  X(kNotDnsQuery, "not_dns_query")             /* a response, or an opcode other than QUERY */     \
  X(kDnsQuestionCount, "dns_question_count")   /* QDCOUNT != 1 (RFC 9619) */                       \
  X(kReplyTooLarge, "reply_too_large")         /* redirect over one segment, even without query */

enum class ReplyError : uint8_t {
#define MUHAFIZ_X(name, text) name,
  MUHAFIZ_REPLY_ERRORS(MUHAFIZ_X)
#undef MUHAFIZ_X
};

// Every reason once, in declaration order (for per-reason counters).
inline constexpr ReplyError kReplyErrors[] = {
#define MUHAFIZ_X(name, text) ReplyError::name,
    MUHAFIZ_REPLY_ERRORS(MUHAFIZ_X)
#undef MUHAFIZ_X
};
inline constexpr size_t kReplyErrorCount = std::size(kReplyErrors);

constexpr std::string_view to_string(ReplyError e) noexcept {
  switch (e) {
#define MUHAFIZ_X(name, text) \
  case ReplyError::name:      \
    return text;
    MUHAFIZ_REPLY_ERRORS(MUHAFIZ_X)
#undef MUHAFIZ_X
  }
  return "unknown";
}

struct ReplyResult {
  size_t size = 0;  // bytes written to out; 0 on failure
  ReplyError error = ReplyError::kNone;
  [[nodiscard]] bool ok() const noexcept { return error == ReplyError::kNone; }
};

// Where the filter sits; decides what the server has seen of the offending segment.
enum class Placement : uint8_t {
  kInline,  // bump in the wire: the offending segment is dropped, the server never gets it
  kTap,     // mirror port: the segment reaches the server, replies are injected beside it
};

enum class DnsBlockAnswer : uint8_t {
  kNxdomain,  // RCODE 3: the name does not exist
  kStopPage,  // NOERROR with the stop page's A or AAAA; other query types get NODATA
};

// RFC 8914 §5.2 INFO-CODEs for a blocked name.
enum class EdeCode : uint16_t {
  kBlocked = 15,   // by the operator's own policy
  kCensored = 16,  // because of an external requirement (a regulator or court list)
  kFiltered = 17,  // because the client asked for filtering
};

// Limits on the configuration, so every reply fits where it must.
inline constexpr size_t kMaxEdeExtraTextLen = 128;  // keeps a full reply under 512 bytes (below)
inline constexpr size_t kMaxStopPageUrlLen = 256;
// A Host longer than a DNS name (RFC 1035 §2.3.4) plus ":65535" is not a host.
inline constexpr size_t kMaxBlockedHostLen = 255 + 6;
// The redirect travels in one segment that every path carries: the IPv6 minimum MTU
// (RFC 8200 §5) less the IPv6 and TCP headers.
inline constexpr size_t kMaxRedirectPayloadLen = 1280 - 40 - 20;
// Ethernet, kMaxVlanDepth tags, PPPoE + PPP protocol; then IPv6 and TCP without options.
inline constexpr size_t kMaxReplyLinkLen = 14 + 4 * parse::kMaxVlanDepth + 6 + 2;
// A buffer of this size holds any reply (a DNS answer is much shorter than the redirect).
inline constexpr size_t kMaxReplyFrameLen = kMaxReplyLinkLen + 40 + 20 + kMaxRedirectPayloadLen;

// One flat struct, a default for every field; frozen by the control plane. The string views must
// outlive every call that uses them. Check it once with reply_config_problem(); builders re-check
// it and refuse with kBadConfig, so a bad value never reaches the wire.
struct ReplyConfig {
  uint8_t hop_limit = 64;  // IPv4 TTL / IPv6 hop limit of every reply
  Placement placement = Placement::kInline;

  DnsBlockAnswer dns_answer = DnsBlockAnswer::kNxdomain;
  parse::IpAddress stop_page_v4{};  // family kNone: A queries get NODATA
  parse::IpAddress stop_page_v6{};  // family kNone: AAAA queries get NODATA
  uint32_t dns_ttl = 300;           // TTL of the stop-page record, seconds
  uint16_t edns_udp_size = 1232;    // advertised in our OPT (RFC 6891 §6.2.5; DNS Flag Day 2020)
  EdeCode ede_code = EdeCode::kCensored;
  std::string_view ede_extra_text{};  // UTF-8, at most kMaxEdeExtraTextLen bytes, may be empty
  // DNS over TCP: set FIN on the answer. Once we have injected bytes the client's and the
  // server's views of the stream differ, so the connection cannot carry another query; FIN
  // makes the client open a new one (RFC 7766 §6.2.4 lets a server close any time).
  bool dns_tcp_fin = true;

  // Absolute http:// or https:// URL, RFC 3986 characters only, no fragment.
  std::string_view stop_page_url{};
  bool stop_page_query = true;  // append "?blocked=<percent-encoded host>" (or "&blocked=")
};

// Empty when the config is usable; otherwise what is wrong, for a person.
std::string_view reply_config_problem(const ReplyConfig& config) noexcept;

// The packet being answered: the frame as received and decode_packet's result for it
// (status kOk). Both are views; the builders read them and never keep them.
struct BlockedPacket {
  const parse::PacketInfo& info;
  parse::Bytes frame;
  parse::LinkType link = parse::LinkType::kEthernet;
};

// The answer to a DNS query over UDP, or over TCP (the segment must start with a whole
// length-prefixed query; only the first query of a segment is answered). Header: ID, opcode, RD
// and CD copied, QR and RA set, AA clear; the question copied byte for byte (0x20 case
// randomisation survives). NXDOMAIN, or the stop page's address, or NODATA. When the query
// carries an OPT record (RFC 6891 §7: only then), ours carries an Extended DNS Error option
// (RFC 8914) with config.ede_code; an EDNS version above 0 gets BADVERS (RFC 6891 §6.1.3).
// Over TCP: seq = the query's ACK, ack = its SEQ + length, PSH|ACK (+FIN, see dns_tcp_fin).
ReplyResult build_dns_reply(const BlockedPacket& pkt, const ReplyConfig& config,
                            std::span<uint8_t> out) noexcept;

enum class RstTarget : uint8_t {
  kClient,  // from the server's address to the sender of the offending segment
  kServer,  // from the sender's address to the server, as if the client reset
};

// A reset answering a client-to-server segment; sequence numbers per RFC 9293 §3.10.7 (see the
// source for which values each endpoint accepts).
ReplyResult build_tcp_rst(const BlockedPacket& pkt, RstTarget target, const ReplyConfig& config,
                          std::span<uint8_t> out) noexcept;

// "302 Found" to the stop page, sent to the client as the server: seq = the request's ACK,
// ack = its SEQ + length, PSH|ACK|FIN, "Connection: close", a short HTML body. blocked_host
// (as the client wrote it; may be empty) becomes the percent-encoded "blocked" query parameter
// when config.stop_page_query is set, unless it is longer than kMaxBlockedHostLen or would push
// the reply past kMaxRedirectPayloadLen. The caller resets the server side with
// build_tcp_rst(kServer).
ReplyResult build_http_redirect(const BlockedPacket& pkt, std::string_view blocked_host,
                                const ReplyConfig& config, std::span<uint8_t> out) noexcept;

}  // namespace muhafiz::action
