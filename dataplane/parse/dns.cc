#include "dataplane/parse/dns.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <iterator>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace muhafiz::parse {
namespace {

// The two top bits of a label length byte give its type (RFC 1035 §4.1.4).
constexpr uint8_t kLabelTypeMask = 0xc0;
constexpr uint8_t kLabelTypeNormal = 0x00;
constexpr uint8_t kLabelTypePointer = 0xc0;
constexpr uint8_t kPointerHighMask = 0x3f;
// A normal label's length is the 6 bits the type leaves, so 64+ can only be a bad label type.
static_assert(kMaxDnsLabelLen == static_cast<uint8_t>(~kLabelTypeMask));
constexpr size_t kQuestionFixedLen = 4;  // QTYPE + QCLASS (RFC 1035 §4.1.2)

// Each step of a name walk reads a label (at least 2 of the 255 wire bytes), follows a pointer
// (capped) or ends the name; this bounds the walk even if the checks below were to change.
constexpr size_t kMaxNameSteps = kMaxDnsNameWireLen / 2 + kMaxDnsPointerJumps + 1;

constexpr uint32_t kReplacementChar = 0xfffd;  // U+FFFD for bytes that are not UTF-8
constexpr uint32_t kMaxCodePoint = 0x10ffff;   // RFC 3629 §3

// Unicode general category Cf (format characters, Unicode 15.0). tshark escapes them, and they
// are how log lines get spoofed (U+202E reverses the text after it). 2060-206F also covers the
// unassigned U+2065, which tshark escapes too.
struct CodePointRange {
  uint32_t first, last;
};
constexpr CodePointRange kFormatChars[] = {
    {0x00ad, 0x00ad},   {0x0600, 0x0605},   {0x061c, 0x061c},   {0x06dd, 0x06dd},
    {0x070f, 0x070f},   {0x0890, 0x0891},   {0x08e2, 0x08e2},   {0x180e, 0x180e},
    {0x200b, 0x200f},   {0x202a, 0x202e},   {0x2060, 0x206f},   {0xfeff, 0xfeff},
    {0xfff9, 0xfffb},   {0x110bd, 0x110bd}, {0x110cd, 0x110cd}, {0x13430, 0x1343f},
    {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a}, {0xe0001, 0xe0001}, {0xe0020, 0xe007f},
};

bool needs_unicode_escape(uint32_t cp) noexcept {
  if (cp >= 0x80 && cp <= 0x9f) return true;                                   // C1 controls
  if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe) return true;  // noncharacters
  return std::any_of(std::begin(kFormatChars), std::end(kFormatChars),
                     [cp](const CodePointRange& r) { return cp >= r.first && cp <= r.last; });
}

// RFC 1123 §2.1 host name bytes, plus '_' for service labels (RFC 8552).
constexpr bool is_ldh(uint8_t b) noexcept {
  return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '-' ||
         b == '_';
}

// Writes a name's text form into DnsName::text. kMaxDnsNameTextLen is a proven bound; the
// overflow flag only keeps a future change from writing past the buffer. The length is kept
// here while the name is written (a char store may alias DnsName::len, so updating it in place
// costs a store and a reload per byte) and stored when the writer goes away.
class NameText {
 public:
  explicit NameText(DnsName* name) noexcept : name_(name) {}
  NameText(const NameText&) = delete;
  NameText& operator=(const NameText&) = delete;
  ~NameText() { name_->len = len_; }

  [[nodiscard]] bool overflowed() const noexcept { return overflowed_; }
  size_t room() const noexcept { return kMaxDnsNameTextLen - len_; }
  // Where the next byte goes; advance() takes bytes written there (at most room()).
  char* end() noexcept { return name_->text + len_; }
  void advance(size_t n) noexcept { len_ = static_cast<uint16_t>(len_ + n); }

  void put(char c) noexcept {
    if (len_ >= kMaxDnsNameTextLen) {
      overflowed_ = true;
      return;
    }
    name_->text[len_++] = c;
  }

  // One byte below 0x80: lower-cased if A-Z, escaped like tshark if not printable.
  void put_ascii(uint8_t b) noexcept {
    static constexpr char kCEscapes[] = "abtnvfr";  // 0x07 .. 0x0d
    if (b >= 'A' && b <= 'Z') {
      put(static_cast<char>(b - 'A' + 'a'));
    } else if (b >= 0x20 && b < 0x7f) {
      put(static_cast<char>(b));
    } else if (b >= 0x07 && b <= 0x0d) {
      put('\\');
      put(kCEscapes[b - 0x07]);
    } else {
      put('\\');
      put(static_cast<char>('0' + ((b >> 6) & 7)));
      put(static_cast<char>('0' + ((b >> 3) & 7)));
      put(static_cast<char>('0' + (b & 7)));
    }
  }

  void put_utf8(uint32_t cp) noexcept {
    if (cp < 0x80) {
      put(static_cast<char>(cp));
    } else if (cp < 0x800) {
      put(static_cast<char>(0xc0 | (cp >> 6)));
      put(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      put(static_cast<char>(0xe0 | (cp >> 12)));
      put(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      put(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      put(static_cast<char>(0xf0 | (cp >> 18)));
      put(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      put(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      put(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  // "\uXXXX" or "\UXXXXXXXX", upper-case hex, as tshark writes them.
  void put_unicode_escape(uint32_t cp) noexcept {
    static constexpr char kHex[] = "0123456789ABCDEF";
    const int digits = cp > 0xffff ? 8 : 4;
    put('\\');
    put(cp > 0xffff ? 'U' : 'u');
    for (int i = digits - 1; i >= 0; --i) put(kHex[(cp >> (4 * i)) & 0xf]);
  }

 private:
  DnsName* name_;
  uint16_t len_ = 0;
  bool overflowed_ = false;
};

// The common case without a branch per byte: a label of printable ASCII (0x20-0x7e), whose text
// form is each byte with A-Z folded to a-z (put_ascii). kFold gives that form, kClass what the
// byte is: kNotLdh, and kSlow for a byte the byte-wise path must write (an escape, UTF-8).
constexpr uint8_t kNotLdh = 1, kSlow = 2;
constexpr auto kFold = [] {
  std::array<char, 256> t{};
  for (int b = 0; b < 256; ++b) {
    t[b] = static_cast<char>(b >= 'A' && b <= 'Z' ? b - 'A' + 'a' : b);
  }
  return t;
}();
constexpr auto kClass = [] {
  std::array<uint8_t, 256> t{};
  for (int b = 0; b < 256; ++b) {
    const bool ldh = is_ldh(static_cast<uint8_t>(b));
    t[b] = static_cast<uint8_t>((ldh ? 0 : kNotLdh) | (b >= 0x20 && b < 0x7f ? 0 : kSlow));
  }
  return t;
}();

// Writes the label through the tables; false, with nothing kept, when a byte needs the
// byte-wise path. The bytes written past the text's end then stay there until overwritten: a
// label decoded byte-wise may be shorter as text (an invalid UTF-8 sequence of four bytes
// becomes one three-byte U+FFFD), and DnsName::view() stops at len.
bool append_printable(Bytes label, NameText& text, bool* non_ldh) noexcept {
  if (text.room() < label.size()) return false;
  char* out = text.end();
  uint8_t cls = 0;
  for (size_t i = 0; i < label.size(); ++i) {
    out[i] = kFold[label[i]];
    cls |= kClass[label[i]];
  }
  if ((cls & kSlow) != 0) return false;
  if ((cls & kNotLdh) != 0) *non_ldh = true;
  text.advance(label.size());
  return true;
}

#if defined(__SSE2__)
// The same for a label of at most 16 bytes with 16 bytes readable from its start (the message
// goes on past it): one load, fold and class test, one store. A loop over the label's bytes
// mispredicts its exit at nearly every label, as real labels vary in length. Bytes 0x80-0xff
// are negative in the signed compares, so they fall outside every range and count as slow.
bool append_printable16(const uint8_t* p, size_t n, NameText& text, bool* non_ldh) noexcept {
  const auto ch = [](char c) { return _mm_set1_epi8(c); };
  const auto in = [](__m128i v, char lo, char hi) {
    return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(lo - 1))),
                         _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(hi + 1))));
  };
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i label =
      _mm_cmplt_epi8(_mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                     _mm_set1_epi8(static_cast<char>(n)));
  const __m128i slow = _mm_or_si128(_mm_cmplt_epi8(v, ch(0x20)), _mm_cmpeq_epi8(v, ch(0x7f)));
  if (_mm_movemask_epi8(_mm_and_si128(slow, label)) != 0) return false;
  const __m128i folded = _mm_add_epi8(v, _mm_and_si128(in(v, 'A', 'Z'), ch(0x20)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(text.end()), folded);
  const __m128i ldh =
      _mm_or_si128(_mm_or_si128(in(folded, 'a', 'z'), in(folded, '0', '9')),
                   _mm_or_si128(_mm_cmpeq_epi8(folded, ch('-')), _mm_cmpeq_epi8(folded, ch('_'))));
  if (_mm_movemask_epi8(_mm_andnot_si128(ldh, label)) != 0) *non_ldh = true;
  text.advance(n);
  return true;
}
#endif

// Appends one label (at most 63 bytes) in the text form described in dns.h. `readable`: the
// message's bytes from the label's start on, the label included.
void append_label(ByteReader label, size_t readable, NameText& text, bool* non_ldh) noexcept {
  const Bytes bytes = label.rest();
  bool done = false;
#if defined(__SSE2__)
  if (bytes.size() <= 16 && readable >= 16 && text.room() >= 16) {
    done = append_printable16(bytes.data(), bytes.size(), text, non_ldh);
  } else {
    done = append_printable(bytes, text, non_ldh);
  }
#else
  (void)readable;
  done = append_printable(bytes, text, non_ldh);
#endif
  if (done) return;
  while (!label.empty()) {
    const uint8_t b = label.read_u8();
    if (!is_ldh(b)) *non_ldh = true;
    if (b < 0x80) {
      text.put_ascii(b);
      continue;
    }
    // UTF-8 (RFC 3629 §3): the lead byte says how many continuation bytes follow.
    size_t want = 0;
    uint32_t cp = 0;
    uint32_t min_cp = 0;  // smaller values are overlong forms
    if (b >= 0xc0 && b <= 0xdf) {
      want = 1;
      cp = b & 0x1fu;
      min_cp = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      want = 2;
      cp = b & 0x0fu;
      min_cp = 0x800;
    } else if (b >= 0xf0 && b <= 0xf7) {
      want = 3;
      cp = b & 0x07u;
      min_cp = 0x10000;
    } else {
      text.put_utf8(kReplacementChar);  // a stray continuation byte or 0xf8-0xff
      continue;
    }
    size_t got = 0;
    while (got < want && (label.peek_u8() & 0xc0) == 0x80) {
      cp = (cp << 6) | (label.read_u8() & 0x3fu);
      ++got;
    }
    // One U+FFFD per broken sequence, as tshark does; the byte that broke it is read next.
    const bool valid =
        got == want && cp >= min_cp && cp <= kMaxCodePoint && !(cp >= 0xd800 && cp <= 0xdfff);
    if (!valid) {
      text.put_utf8(kReplacementChar);
    } else if (needs_unicode_escape(cp)) {
      text.put_unicode_escape(cp);
    } else {
      text.put_utf8(cp);
    }
  }
}

}  // namespace

ParseStatus read_dns_name(ByteReader& in, DnsName* out) noexcept {
  NameText text(out);
  out->label_count = 0;
  out->compressed = false;
  out->non_ldh = false;

  ByteReader cur = in;
  size_t segment_start = in.offset();  // where the labels being read began
  size_t resume = 0;                   // where `in` continues once a pointer was followed
  size_t wire_len = 0;                 // uncompressed length, including the root byte
  size_t jumps = 0;
  // Short data before any jump may be a cut message; after a jump it is a bad pointer.
  const auto short_data = [&jumps] {
    return jumps == 0 ? ParseStatus::kNeedMore : ParseStatus::kMalformed;
  };

  for (size_t step = 0; step < kMaxNameSteps; ++step) {
    if (!cur.has(1)) return short_data();
    const uint8_t len = cur.read_u8();
    switch (len & kLabelTypeMask) {
      case kLabelTypeNormal: {
        wire_len += 1 + size_t{len};
        if (wire_len > kMaxDnsNameWireLen) return ParseStatus::kMalformed;
        if (len == 0) {
          if (text.overflowed()) return ParseStatus::kMalformed;
          in.seek(jumps == 0 ? cur.offset() : resume);
          return ParseStatus::kOk;
        }
        if (!cur.has(len)) return short_data();
        if (out->label_count > 0) text.put('.');
        const size_t readable = cur.remaining();
        append_label(cur.sub(len), readable, text, &out->non_ldh);
        ++out->label_count;
        break;
      }
      case kLabelTypePointer: {
        if (!cur.has(1)) return short_data();
        const size_t target = (static_cast<size_t>(len & kPointerHighMask) << 8) | cur.read_u8();
        if (jumps == 0) resume = cur.offset();
        // Strictly backwards of where the current labels began: no loop can form, since each
        // segment starts before the previous one. Names never start inside the header.
        if (target < kDnsHeaderLen || target >= segment_start) return ParseStatus::kMalformed;
        if (++jumps > kMaxDnsPointerJumps) return ParseStatus::kMalformed;
        segment_start = target;
        cur.seek(target);
        out->compressed = true;
        break;
      }
      default:
        return ParseStatus::kMalformed;  // 01: extended label (RFC 6891 §5), 10: reserved
    }
  }
  return ParseStatus::kMalformed;
}

ParseStatus parse_dns_message(Bytes msg, DnsMessage* out) noexcept {
  out->question_count = 0;
  out->anomalies = 0;
  ByteReader in(msg);
  if (!in.has(kDnsHeaderLen)) return ParseStatus::kMalformed;
  out->id = in.read_u16be();
  out->flags = in.read_u16be();
  out->qdcount = in.read_u16be();
  out->ancount = in.read_u16be();
  out->nscount = in.read_u16be();
  out->arcount = in.read_u16be();
  out->is_response = (out->flags & kDnsFlagQr) != 0;
  out->opcode = static_cast<uint8_t>((out->flags >> kDnsOpcodeShift) & kDnsOpcodeMask);
  out->rcode = static_cast<uint8_t>(out->flags & kDnsRcodeMask);

  uint32_t anomalies = 0;
  if ((out->flags & kDnsFlagZ) != 0) anomalies |= kDnsReservedZBit;
  if (out->qdcount == 0) anomalies |= kDnsNoQuestion;
  if (out->qdcount > 1) anomalies |= kDnsMultipleQuestions;
  if (out->qdcount > kMaxDnsQuestions) anomalies |= kDnsTooManyQuestions;

  const size_t wanted = std::min<size_t>(out->qdcount, kMaxDnsQuestions);
  for (size_t i = 0; i < wanted; ++i) {
    DnsQuestion& q = out->questions[i];
    ParseStatus status = read_dns_name(in, &q.name);
    if (status == ParseStatus::kOk) {
      if (in.has(kQuestionFixedLen)) {
        q.qtype = in.read_u16be();
        q.qclass = in.read_u16be();
      } else {
        status = ParseStatus::kNeedMore;
      }
    }
    if (status == ParseStatus::kMalformed) return ParseStatus::kMalformed;
    if (status == ParseStatus::kNeedMore) {
      // A UDP message that ends early will not grow; keep what is complete, if anything.
      if (i == 0) return ParseStatus::kMalformed;
      anomalies |= kDnsTruncatedQuestions;
      break;
    }
    if (q.name.compressed) anomalies |= kDnsPointerInQuestion;
    if (q.name.non_ldh) anomalies |= kDnsNonLdhName;
    ++out->question_count;
  }

  // Questions beyond the cap were not walked, so their end (and anything after) is unknown.
  const bool all_questions_read =
      out->question_count == out->qdcount && (anomalies & kDnsTruncatedQuestions) == 0;
  const bool no_records = out->ancount == 0 && out->nscount == 0 && out->arcount == 0;
  if (all_questions_read && no_records && !in.empty()) anomalies |= kDnsTrailingData;

  out->anomalies = anomalies;
  return ParseStatus::kOk;
}

ParseStatus next_dns_tcp_message(Bytes stream, Bytes* msg, size_t* consumed) noexcept {
  *msg = {};
  *consumed = 0;
  ByteReader in(stream);
  if (!in.has(kDnsTcpLengthPrefixLen)) return ParseStatus::kNeedMore;
  const uint16_t len = in.read_u16be();
  if (len < kDnsHeaderLen) return ParseStatus::kMalformed;
  if (!in.has(len)) return ParseStatus::kNeedMore;
  *msg = in.bytes(len);
  *consumed = kDnsTcpLengthPrefixLen + len;
  return ParseStatus::kOk;
}

}  // namespace muhafiz::parse
