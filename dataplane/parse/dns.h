// DNS message decoding for the filter: the header and the question section (RFC 1035 §4.1),
// plus DNS-over-TCP framing (RFC 1035 §4.2.2, RFC 7766). Answer sections are not decoded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

#include "dataplane/parse/byte_reader.h"
#include "dataplane/parse/status.h"

namespace muhafiz::parse {

inline constexpr size_t kDnsHeaderLen = 12;          // RFC 1035 §4.1.1
inline constexpr size_t kDnsTcpLengthPrefixLen = 2;  // RFC 1035 §4.2.2
// RFC 1035 §2.3.4; counted uncompressed, length bytes and the root byte included.
inline constexpr size_t kMaxDnsNameWireLen = 255;
inline constexpr size_t kMaxDnsLabelLen = 63;  // RFC 1035 §2.3.4
// A name of 255 wire bytes holds at most 127 labels (each takes at least 2 bytes). A conforming
// encoder only points at an earlier name suffix, which starts with a label, so no real name needs
// more jumps than it has labels. Our backward-only rule already rules out loops; this cap bounds
// the work an all-pointer chain can cost.
inline constexpr size_t kMaxDnsPointerJumps = (kMaxDnsNameWireLen - 1) / 2;
// Questions decoded per message; the rest are flagged, not walked. Unicast queries carry one
// (RFC 9619), but an mDNS browse lists every service type it wants (17 seen from an iPhone).
inline constexpr size_t kMaxDnsQuestions = 32;
// Text form worst case: every label byte becomes a 4-character "\ooo" escape, and the dots cost
// less than the length bytes they replace, so 4 characters per wire byte (minus the root) suffice.
inline constexpr size_t kMaxDnsNameTextLen = 4 * (kMaxDnsNameWireLen - 1);

// Header flag bits (RFC 1035 §4.1.1).
inline constexpr uint16_t kDnsFlagQr = 0x8000;
inline constexpr uint16_t kDnsFlagZ = 0x0040;  // must be zero
inline constexpr unsigned kDnsOpcodeShift = 11;
inline constexpr uint16_t kDnsOpcodeMask = 0x0f;
inline constexpr uint16_t kDnsRcodeMask = 0x000f;
// mDNS "QU" bit: the top bit of QCLASS asks for a unicast reply (RFC 6762 §5.4).
inline constexpr uint16_t kDnsQclassUnicastResponse = 0x8000;

// Message anomalies: one X-macro so the flag, its name and its counter come from one place.
#define MUHAFIZ_DNS_ANOMALIES(X)                                                                   \
  X(kDnsTooManyQuestions, "too_many_questions")    /* QDCOUNT > kMaxDnsQuestions: rest skipped */  \
  X(kDnsTruncatedQuestions, "truncated_questions") /* ends inside a later question */              \
  X(kDnsPointerInQuestion, "pointer_in_question")  /* compression in a query name (legal, rare) */ \
  X(kDnsMultipleQuestions, "multiple_questions")   /* QDCOUNT > 1: RFC 9619 limits QUERY to 1 */   \
  X(kDnsNoQuestion, "no_question")                 /* QDCOUNT == 0: nothing to match */            \
  X(kDnsNonLdhName, "non_ldh_name")                /* label byte not letter/digit/'-'/'_' */       \
  X(kDnsReservedZBit, "reserved_z_bit")            /* header Z bit set (RFC 1035 §4.1.1) */       \
  X(kDnsTrailingData, "trailing_data")             /* bytes after the questions, no RRs counted */

enum class DnsAnomalyIndex : uint8_t {
#define MUHAFIZ_X(name, text) name,
  MUHAFIZ_DNS_ANOMALIES(MUHAFIZ_X)
#undef MUHAFIZ_X
};

// Bit values, so `anomalies & kDnsTruncatedQuestions` reads naturally.
enum DnsAnomaly : uint32_t {
#define MUHAFIZ_X(name, text) name = 1u << static_cast<uint32_t>(DnsAnomalyIndex::name),
  MUHAFIZ_DNS_ANOMALIES(MUHAFIZ_X)
#undef MUHAFIZ_X
};

// Every anomaly once, in declaration order (for summaries and per-reason counters).
inline constexpr DnsAnomaly kDnsAnomalies[] = {
#define MUHAFIZ_X(name, text) name,
    MUHAFIZ_DNS_ANOMALIES(MUHAFIZ_X)
#undef MUHAFIZ_X
};
inline constexpr size_t kDnsAnomalyCount = std::size(kDnsAnomalies);
static_assert(kDnsAnomalyCount <= 32, "DnsMessage::anomalies is 32 bits");

// Name of one anomaly bit; "unknown" for zero or a combination of bits.
constexpr std::string_view to_string(DnsAnomaly a) noexcept {
  switch (a) {
#define MUHAFIZ_X(name, text) \
  case name:                  \
    return text;
    MUHAFIZ_DNS_ANOMALIES(MUHAFIZ_X)
#undef MUHAFIZ_X
  }
  return "unknown";
}

// A domain name in text form: ASCII A-Z lowered, labels joined by '.', no trailing dot, the root
// is "". Other bytes are shown as tshark 4.0 shows dns.qry.name, so the two can be compared:
// printable ASCII as is (so a '.' or '\' inside a label is not escaped), \a \b \t \n \v \f \r,
// other control bytes and DEL as "\ooo" octal; bytes >= 0x80 as UTF-8 where valid (C1 controls,
// format characters and noncharacters as \uXXXX or \UXXXXXXXX), U+FFFD where not.
// Known differences from tshark: it shows "<Root>" for the root, does not lower-case, decodes
// overlong UTF-8 forms (we replace them) and escapes code points unassigned in its Unicode
// version (we show them as UTF-8). The text is always valid UTF-8.
// `text` is not zeroed on purpose: only text[0, len) is ever read (bytes past it may hold what a
// label's fast path wrote before it fell back to the byte-wise one), and a DnsMessage built per
// packet would otherwise clear 8 KiB, more than the decode costs.
struct DnsName {  // NOLINT(cppcoreguidelines-pro-type-member-init)
  char text[kMaxDnsNameTextLen];
  uint16_t len = 0;
  uint8_t label_count = 0;
  bool compressed = false;  // a compression pointer was followed
  bool non_ldh = false;  // a label byte other than A-Z a-z 0-9 '-' '_' (RFC 1123 §2.1, RFC 8552)
  std::string_view view() const noexcept { return {text, len}; }
};

struct DnsQuestion {
  DnsName name;
  uint16_t qtype = 0;
  uint16_t qclass = 0;  // raw: mDNS keeps the QU bit here (kDnsQclassUnicastResponse)
};

struct DnsMessage {
  uint16_t id = 0;
  uint16_t flags = 0;  // raw header flags
  bool is_response = false;
  uint8_t opcode = 0;
  uint8_t rcode = 0;
  uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
  uint8_t question_count = 0;  // decoded questions, at most kMaxDnsQuestions
  DnsQuestion questions[kMaxDnsQuestions];
  uint32_t anomalies = 0;  // DnsAnomaly bits
  bool has(DnsAnomaly a) const noexcept { return (anomalies & a) != 0; }
};

// Decodes the name at the cursor of `in`, which must span the whole DNS message: compression
// pointers are offsets from its first byte (RFC 1035 §4.1.4). A pointer must point into the
// message body (past the header) and strictly before the start of the labels it ends, i.e. the
// name's start or the previous pointer's target; this rejects forward pointers and every loop.
// kOk: `in` is advanced past the name's bytes at the cursor. kNeedMore: the message ends inside
// those bytes. kMalformed: a rule above, a label type other than 00 (RFC 1035 §4.1.4, RFC 6891
// §5), more than kMaxDnsNameWireLen bytes or kMaxDnsPointerJumps jumps, or running out of bytes
// after a jump (earlier bytes that lead past the end are not a prior name). On failure `in` is
// left where it was.
ParseStatus read_dns_name(ByteReader& in, DnsName* out) noexcept;

// Decodes the header and up to kMaxDnsQuestions questions of one message. kMalformed when the
// message is shorter than the header, a name is broken, or it ends before the first question is
// complete. When it ends inside a later question: kOk with the complete ones and
// kDnsTruncatedQuestions. QDCOUNT 0 is kOk with no questions.
ParseStatus parse_dns_message(Bytes msg, DnsMessage* out) noexcept;

// DNS over TCP (RFC 1035 §4.2.2, RFC 7766 §8): each message is preceded by a 2-byte big-endian
// length and several may share a segment. kOk: *msg is the next message and *consumed = 2 + its
// length. kNeedMore: the prefix or the message is not complete yet. kMalformed: the length is
// shorter than a header. Callers loop, advancing by *consumed.
ParseStatus next_dns_tcp_message(Bytes stream, Bytes* msg, size_t* consumed) noexcept;

}  // namespace muhafiz::parse
