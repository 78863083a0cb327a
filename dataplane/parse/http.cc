#include "dataplane/parse/http.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>

namespace muhafiz::parse {
namespace {

constexpr std::string_view kHttp10 = "HTTP/1.0";
constexpr std::string_view kHttp11 = "HTTP/1.1";
// RFC 9112 §2.3: "HTTP/" is case-sensitive, but "http/1.1" is broken HTTP, not another protocol.
constexpr std::string_view kHttpName = "HTTP/";
constexpr std::string_view kHttp2Preface = "HTTP/2.0";  // RFC 9113 §3.4: "PRI * HTTP/2.0"
constexpr size_t kMaxPortDigits = 5;  // RFC 3986 §3.2.3 port, 0-65535 in practice

constexpr bool is_alpha(uint8_t c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_digit(uint8_t c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_hex(uint8_t c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr bool is_ows(uint8_t c) noexcept { return c == ' ' || c == '\t'; }
constexpr bool is_ctl(uint8_t c) noexcept { return c < 0x20 || c == 0x7f; }

// Byte classes as 256-entry tables: header names and hosts are checked byte by byte.
using ByteClass = std::array<bool, 256>;
constexpr ByteClass alnum_and(std::string_view symbols) noexcept {
  ByteClass t{};
  for (size_t c = 0; c < t.size(); ++c) {
    t[c] = is_alpha(static_cast<uint8_t>(c)) || is_digit(static_cast<uint8_t>(c));
  }
  for (const char c : symbols) t[static_cast<uint8_t>(c)] = true;
  return t;
}
constexpr ByteClass kTchar = alnum_and("!#$%&'*+-.^_`|~");     // RFC 9110 §5.6.2
constexpr ByteClass kRegName = alnum_and("-._~%!$&'()*+,;=");  // RFC 3986 §3.2.2 reg-name
constexpr bool is_tchar(uint8_t c) noexcept { return kTchar[c]; }
constexpr bool is_reg_name_char(uint8_t c) noexcept { return kRegName[c]; }

constexpr uint8_t byte_of(char c) noexcept { return static_cast<uint8_t>(c); }

template <class Pred>
bool all_of(std::string_view s, Pred pred) noexcept {
  return std::all_of(s.begin(), s.end(), [&](char c) { return pred(byte_of(c)); });
}
// The byte classes as function objects for all_of: a function passed by pointer was called,
// not inlined, once per byte (a tenth of the head parser's time).
constexpr auto kIsDigit = [](uint8_t c) noexcept { return is_digit(c); };
constexpr auto kIsTchar = [](uint8_t c) noexcept { return is_tchar(c); };
constexpr auto kIsRegNameChar = [](uint8_t c) noexcept { return is_reg_name_char(c); };

constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(byte_of(s.front()))) s.remove_prefix(1);
  while (!s.empty() && is_ows(byte_of(s.back()))) s.remove_suffix(1);
  return s;
}

// Where the first control byte (is_ctl: below 0x20, or DEL) of s is, npos when there is none;
// eight bytes at a time. Line ends are control bytes, so one pass finds the end of a line and
// tells whether the line has any other control byte. In each word the lowest flagged byte is
// exact (a borrow can only flag bytes above one that qualified).
size_t find_ctl(std::string_view s) noexcept {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    const uint64_t below_space = (w - 0x20 * kOnes) & ~w & kHigh;
    const uint64_t x = w ^ (0x7f * kOnes);
    const uint64_t del = (x - kOnes) & ~x & kHigh;
    if (const uint64_t m = below_space | del; m != 0) {
      return i + static_cast<size_t>(__builtin_ctzll(m)) / 8;
    }
  }
  for (; i < s.size(); ++i) {
    if (is_ctl(byte_of(s[i]))) return i;
  }
  return std::string_view::npos;
}

struct Line {
  std::string_view text;  // without the line end
  bool bare_lf = false;
  bool ctl = false;  // text holds a control byte
};

// Takes the next line (through its LF) off `r`; false when `r` holds no LF. The common line,
// with no control byte before its CRLF or LF, is found in one pass; any other goes through a
// search for the LF and is marked as holding a control byte.
bool take_line(ByteReader& r, Line* line) noexcept {
  const std::string_view rest = as_chars(r.rest());
  const size_t c = find_ctl(rest);
  if (c == std::string_view::npos) return false;  // LF is a control byte: there is none
  size_t lf = c;
  line->ctl = false;
  if (rest[c] == '\r' && c + 1 < rest.size() && rest[c + 1] == '\n') {
    lf = c + 1;
  } else if (rest[c] != '\n') {
    lf = rest.find('\n', c);
    if (lf == std::string_view::npos) return false;
    line->ctl = true;  // rest[c] lies inside the line (a CRLF at c was the case above)
  }
  std::string_view text = as_chars(r.bytes(lf + 1)).substr(0, lf);
  line->bare_lf = text.empty() || text.back() != '\r';
  if (!line->bare_lf) text.remove_suffix(1);
  line->text = text;
  return true;
}

// The method (RFC 9110 §9.1: a token) and its SP, looking at no more than kMaxHttpMethodLen + 1
// bytes, so non-HTTP flows are turned away at once.
ParseStatus scan_method(const ByteReader& r, size_t* len) noexcept {
  for (size_t i = 0; i <= kMaxHttpMethodLen; ++i) {
    if (!r.has(i + 1)) return ParseStatus::kNeedMore;
    const uint8_t c = r.peek_u8(i);
    if (c == ' ') {
      *len = i;
      return i == 0 ? ParseStatus::kNotApplicable : ParseStatus::kOk;
    }
    if (!is_tchar(c)) return ParseStatus::kNotApplicable;
  }
  return ParseStatus::kNotApplicable;
}

// RFC 9112 §2.2: empty lines before the request line are skipped, up to our cap.
ParseStatus skip_leading_empty_lines(ByteReader& r, HttpRequest* out) noexcept {
  for (size_t lines = 0;; ++lines) {
    if (!r.has(1)) return ParseStatus::kNeedMore;
    if (r.peek_u8() == '\r') {
      if (!r.has(2)) return ParseStatus::kNeedMore;
      if (r.peek_u8(1) != '\n') return ParseStatus::kNotApplicable;
      r.skip(2);
    } else if (r.peek_u8() == '\n') {
      out->anomalies |= kHttpBareLf;
      r.skip(1);
    } else {
      if (lines > 0) out->anomalies |= kHttpLeadingEmptyLine;
      return ParseStatus::kOk;
    }
    if (lines == kMaxHttpLeadingEmptyLines) return ParseStatus::kNotApplicable;
  }
}

bool starts_with_ci(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Request line after "method SP" (RFC 9112 §3). The version is the last word and the target
// everything before it: RFC 9112 §3 lets recipients split on whitespace, and nginx serves
// "GET /a b HTTP/1.1" with a space in the path, so such a request is read, not turned away.
// kNotApplicable when the last word is not an HTTP version: RTSP/1.0, SIP/2.0, HTTP/0.9's
// "GET /path", and line protocols that happen to start with a token and SP (SMTP "EHLO x",
// FTP "USER x", POP3, NNTP, ...). A version that is HTTP but not 1.0 or 1.1 is kMalformed.
ParseStatus parse_request_line_rest(std::string_view rest, HttpRequest* out) noexcept {
  const std::string_view words = trim_ows(rest);
  if (words.size() != rest.size()) out->anomalies |= kHttpLooseWhitespace;  // before or after
  const size_t version_sep = words.find_last_of(" \t");
  if (version_sep == std::string_view::npos) {  // two words: "GET /" (HTTP/0.9) or "GET HTTP/1.1"
    return starts_with_ci(words, kHttpName) ? ParseStatus::kMalformed : ParseStatus::kNotApplicable;
  }
  const std::string_view version = words.substr(version_sep + 1);
  std::string_view target = words.substr(0, version_sep);
  const size_t gap = target.size() - trim_ows(target).size() + 1;
  target = trim_ows(target);
  out->version = version;
  out->target = target;
  if (version == kHttp11 || version == kHttp10) {
    // fall through to the target checks
  } else if (version == kHttp2Preface && out->method == "PRI" && target == "*") {
    return ParseStatus::kNotApplicable;  // the HTTP/2 connection preface (RFC 9113 §3.4)
  } else {
    return starts_with_ci(version, kHttpName) ? ParseStatus::kMalformed
                                              : ParseStatus::kNotApplicable;
  }
  if (gap != 1 || words[version_sep] != ' ') out->anomalies |= kHttpLooseWhitespace;
  if (target.empty() || !all_of(target, [](uint8_t c) { return !is_ctl(c) || c == '\t'; })) {
    return ParseStatus::kMalformed;
  }
  if (target.find_first_of(" \t") != std::string_view::npos) {
    out->anomalies |= kHttpWhitespaceInTarget;
  }
  return ParseStatus::kOk;
}

// Content-Length (RFC 9110 §8.6): 1*DIGIT, or a list of identical values, which a recipient
// may take as one. Every header must agree with earlier ones (*value >= 0 when set).
bool merge_content_length(std::string_view v, int64_t* value) noexcept {
  bool any = false;
  for (size_t pass = 0; pass <= v.size(); ++pass) {  // one element per pass
    const size_t comma = v.find(',');
    const std::string_view elem = trim_ows(v.substr(0, comma));
    if (elem.empty() || elem.size() > kMaxHttpContentLengthDigits || !all_of(elem, kIsDigit)) {
      return false;
    }
    int64_t n = 0;
    for (const char c : elem) n = n * 10 + (c - '0');
    if (*value >= 0 && n != *value) return false;
    *value = n;
    any = true;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return any;
}

struct TransferCodings {
  bool seen = false;
  bool bad = false;
  bool last_chunked = false;
  size_t chunked_count = 0;
};

// Transfer-Encoding (RFC 9112 §6.1): #transfer-coding, each a token with optional parameters.
// Several header lines form one list (RFC 9110 §5.3).
void merge_transfer_encoding(std::string_view v, TransferCodings* tc) noexcept {
  tc->seen = true;
  size_t codings = 0;
  for (size_t pass = 0; pass <= v.size(); ++pass) {  // one element per pass
    const size_t comma = v.find(',');
    const std::string_view elem = trim_ows(v.substr(0, comma));
    if (!elem.empty()) {  // RFC 9110 §5.6.1: empty elements do not count
      const std::string_view name = trim_ows(elem.substr(0, elem.find(';')));
      if (name.empty() || !all_of(name, kIsTchar)) tc->bad = true;
      tc->last_chunked = iequals(name, "chunked");
      if (tc->last_chunked) ++tc->chunked_count;
      ++codings;
    }
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  if (codings == 0) tc->bad = true;
}

struct HostParts {
  std::string_view name;
  bool valid = true;
  bool has_port = false;
};

// uri-host [":" port] (RFC 9110 §7.2, RFC 3986 §3.2.2-3.2.3). An unbracketed name with several
// colons (a bare IPv6 address) is invalid; its name is then the whole value.
HostParts split_host(std::string_view h) noexcept {
  HostParts p;
  std::string_view port;
  bool colon = false;
  if (!h.empty() && h.front() == '[') {
    const size_t close = h.find(']');
    if (close == std::string_view::npos) {
      p.name = h;
      p.valid = false;
      return p;
    }
    p.name = h.substr(1, close - 1);
    const std::string_view after = h.substr(close + 1);
    if (!after.empty()) {
      colon = after.front() == ':';
      port = after.substr(1);
      if (!colon) p.valid = false;
    }
    if (p.name.empty() ||
        !all_of(p.name, [](uint8_t c) { return is_hex(c) || c == ':' || c == '.'; })) {
      p.valid = false;
    }
  } else {
    const size_t first = h.find(':');
    if (first != std::string_view::npos && h.find(':', first + 1) != std::string_view::npos) {
      p.name = h;
      p.valid = false;
      return p;
    }
    p.name = h.substr(0, first);
    if (first != std::string_view::npos) {
      colon = true;
      port = h.substr(first + 1);
    }
    if (!all_of(p.name, kIsRegNameChar)) p.valid = false;
  }
  if (colon && (port.size() > kMaxPortDigits || !all_of(port, kIsDigit))) p.valid = false;
  p.has_port = colon && !port.empty();
  return p;
}

HttpTargetForm target_form(std::string_view target) noexcept {
  if (target == "*") return HttpTargetForm::kAsterisk;
  if (target.front() == '/') return HttpTargetForm::kOrigin;
  // RFC 3986 §3.1 scheme, then "://": http(s) URIs always carry an authority (RFC 9110 §4.2).
  const size_t sep = target.find("://");
  if (sep != std::string_view::npos && sep > 0 && is_alpha(byte_of(target.front())) &&
      all_of(target.substr(0, sep), [](uint8_t c) {
        return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
      })) {
    return HttpTargetForm::kAbsolute;
  }
  return HttpTargetForm::kAuthority;
}

// Authority of an absolute-form target, userinfo removed (as WHATWG URL parsers do, after the
// last '@', so "http://good@evil/" names evil).
std::string_view absolute_authority(std::string_view target, HttpRequest* out) noexcept {
  std::string_view a = target.substr(target.find("://") + 3);
  a = a.substr(0, a.find_first_of("/?#"));
  const size_t at = a.rfind('@');
  if (at != std::string_view::npos) {
    out->anomalies |= kHttpUserinfo;
    a.remove_prefix(at + 1);
  }
  return a;
}

// RFC 9112 §3.2: authority form is for CONNECT only, asterisk form for OPTIONS; SSDP (UPnP
// Device Architecture 2.0 §1.3) also sends M-SEARCH and NOTIFY to "*".
bool form_fits_method(HttpTargetForm form, std::string_view method) noexcept {
  const bool connect = method == "CONNECT";
  if (form == HttpTargetForm::kAuthority) return connect;
  if (connect) return false;
  if (form == HttpTargetForm::kAsterisk) {
    return method == "OPTIONS" || method == "M-SEARCH" || method == "NOTIFY";
  }
  return true;
}

// Host, target authority and form checks once the whole head is read.
void resolve_host(HttpRequest* out) noexcept {
  out->form = target_form(out->target);
  if (out->form == HttpTargetForm::kAbsolute) {
    out->target_authority = absolute_authority(out->target, out);
  } else if (out->form == HttpTargetForm::kAuthority) {
    out->target_authority = out->target;
  }
  if (!form_fits_method(out->form, out->method)) out->anomalies |= kHttpUnexpectedForm;
  if (!out->has_host) out->host = out->target_authority;

  const HostParts host = split_host(out->host);
  out->host_name = host.name;
  if (!host.valid) out->anomalies |= kHttpBadHost;
  if (out->form == HttpTargetForm::kAbsolute || out->form == HttpTargetForm::kAuthority) {
    const HostParts auth = split_host(out->target_authority);
    // RFC 9110 §4.2.1: an http URI with an empty host is invalid; RFC 9112 §3.2.3: CONNECT
    // names a port.
    if (!auth.valid || auth.name.empty() ||
        (out->form == HttpTargetForm::kAuthority && !auth.has_port)) {
      out->anomalies |= kHttpBadHost;
    }
    if (out->has_host && !iequals(auth.name, host.name)) out->anomalies |= kHttpHostMismatch;
  }
  if (!out->has_host && out->version == kHttp11) out->anomalies |= kHttpMissingHost;
}

}  // namespace

ParseStatus parse_http_request_head(Bytes data, HttpRequest* out) noexcept {
  *out = HttpRequest{};
  ByteReader r(data.first(std::min(data.size(), kMaxHttpHeadLen)));
  const auto incomplete = [&]() noexcept {
    if (data.size() < kMaxHttpHeadLen) return ParseStatus::kNeedMore;
    out->anomalies |= kHttpHeadTooLong;
    return ParseStatus::kMalformed;
  };
  // Reads one line; kOk with *line set, or the status to return.
  const auto next_line = [&](Line* line) noexcept {
    if (!take_line(r, line)) return incomplete();
    if (line->bare_lf) out->anomalies |= kHttpBareLf;
    if (line->ctl && line->text.find('\r') != std::string_view::npos) {
      out->anomalies |= kHttpBareCr;  // RFC 9112 §2.2: a smuggling vector, reject
      return ParseStatus::kMalformed;
    }
    return ParseStatus::kOk;
  };

  ParseStatus st = skip_leading_empty_lines(r, out);
  if (st != ParseStatus::kOk) return st;
  size_t method_len = 0;
  st = scan_method(r, &method_len);
  if (st != ParseStatus::kOk) return st;
  Line line;
  st = next_line(&line);
  if (st != ParseStatus::kOk) return st;
  out->method = line.text.substr(0, method_len);
  st = parse_request_line_rest(line.text.substr(method_len + 1), out);
  if (st != ParseStatus::kOk) return st;

  TransferCodings te;
  bool bad_content_length = false;
  bool reject = false;              // a field line a server must refuse; read on for the host
  bool last_was_key_field = false;  // Host / Content-Length / Transfer-Encoding, for obs-fold
  size_t fields = 0;
  // Every pass takes one line off the capped input, so kMaxHttpHeadLen bounds the loop.
  for (;;) {
    st = next_line(&line);
    if (st != ParseStatus::kOk) {
      // Over the cap (or a line broken): what was read still names the host, as for a broken
      // field line below, so a caller that reports such heads reports the right name.
      if (st == ParseStatus::kMalformed && out->has_host) resolve_host(out);
      return st;
    }
    if (line.text.empty()) break;
    if (is_ows(byte_of(line.text.front()))) {
      // RFC 9112 §5.2 obs-fold, or §2.2 whitespace before the first field: servers join or
      // drop these lines. A folded key field would change meaning with that choice: reject.
      out->anomalies |= kHttpObsFold;
      if (last_was_key_field) reject = true;
      continue;
    }
    // Past the cap the lines are still read (kMaxHttpHeadLen bounds them), flagged: refusing
    // the head would let a run of junk fields, which a server without a count limit accepts,
    // hide the Host after them.
    if (++fields > kMaxHttpHeaders) out->anomalies |= kHttpTooManyHeaders;
    last_was_key_field = false;
    const size_t colon = line.text.find(':');
    const std::string_view name = line.text.substr(0, colon);
    const std::string_view value = colon == std::string_view::npos
                                       ? std::string_view()
                                       : trim_ows(line.text.substr(colon + 1));
    // RFC 9112 §5.1: a name is a token, with no whitespace before the colon. RFC 9110 §5.5: NUL
    // in a value must be rejected; other controls are invalid but widely tolerated.
    if (colon == std::string_view::npos || name.empty() || !all_of(name, kIsTchar) ||
        (line.ctl && value.find('\0') != std::string_view::npos)) {
      out->anomalies |= kHttpBadFieldLine;
      reject = true;
      continue;
    }
    if (line.ctl && !all_of(value, [](uint8_t c) { return c == '\t' || !is_ctl(c); })) {
      out->anomalies |= kHttpCtlInField;
    }

    last_was_key_field = true;
    if (iequals(name, "host")) {
      if (out->has_host) {
        out->anomalies |= kHttpDuplicateHost;
      } else {
        out->has_host = true;
        out->host = value;
      }
    } else if (iequals(name, "content-length")) {
      if (!merge_content_length(value, &out->content_length)) bad_content_length = true;
    } else if (iequals(name, "transfer-encoding")) {
      merge_transfer_encoding(value, &te);
    } else {
      last_was_key_field = false;
    }
  }

  resolve_host(out);
  bool framing_bad = false;
  if (te.seen) {
    // RFC 9112 §6.3 item 4: in a request, chunked must be the final coding, applied once.
    if (te.bad || !te.last_chunked || te.chunked_count != 1) {
      out->anomalies |= kHttpBadTransferEncoding;
      framing_bad = true;
    } else {
      out->chunked = true;
    }
    if (out->version == kHttp10) out->anomalies |= kHttpTeInHttp10;
    if (out->content_length >= 0 || bad_content_length) out->anomalies |= kHttpClAndChunked;
  }
  if (bad_content_length) {
    out->anomalies |= kHttpBadContentLength;
    out->content_length = -1;
    // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length; without it, framing is lost.
    if (!out->chunked) framing_bad = true;
  }
  if (framing_bad || reject) return ParseStatus::kMalformed;
  out->head_len = r.offset();
  return ParseStatus::kOk;
}

ParseStatus skip_http_chunked(HttpChunkState* st, Bytes data, size_t* consumed) noexcept {
  using Phase = HttpChunkState::Phase;
  ByteReader r(data);
  const auto fail = [&]() noexcept {
    *consumed = r.offset();
    return ParseStatus::kMalformed;
  };
  const auto end_size_line = [&]() noexcept {
    st->phase = st->size == 0 ? Phase::kTrailerStart : Phase::kData;
    st->line_len = 0;
    st->in_extension = false;
  };
  // Every pass consumes at least one byte of `data`.
  while (!r.empty() && st->phase != Phase::kDone) {
    if (st->phase == Phase::kData) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(st->size, r.remaining()));
      r.skip(n);
      st->size -= n;
      if (st->size == 0) st->phase = Phase::kDataCr;
      continue;
    }
    const uint8_t c = r.read_u8();
    switch (st->phase) {
      case Phase::kSize:
        if (is_hex(c)) {
          if (++st->line_len > kMaxHttpChunkLineLen) return fail();
          if (st->size > (std::numeric_limits<uint64_t>::max() >> 4)) return fail();
          const uint64_t digit = is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
          st->size = (st->size << 4) | digit;
          break;
        }
        if (st->line_len == 0) return fail();  // RFC 9112 §7.1: chunk-size = 1*HEXDIG
        st->phase = Phase::kSizeTail;
        [[fallthrough]];
      case Phase::kSizeTail:
        // RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ).
        if (++st->line_len > kMaxHttpChunkLineLen) return fail();
        if (c == '\r') {
          st->phase = Phase::kSizeLf;
        } else if (c == '\n') {
          end_size_line();
        } else if (c == ';') {
          st->in_extension = true;
        } else if (!is_ows(c) && !(st->in_extension && !is_ctl(c))) {
          return fail();
        }
        break;
      case Phase::kSizeLf:
        if (c != '\n') return fail();
        end_size_line();
        break;
      case Phase::kDataCr:
        if (c == '\r') {
          st->phase = Phase::kDataLf;
        } else if (c == '\n') {
          st->phase = Phase::kSize;
        } else {
          return fail();
        }
        break;
      case Phase::kDataLf:
        if (c != '\n') return fail();
        st->phase = Phase::kSize;
        break;
      case Phase::kTrailerStart:
        if (c == '\r') {
          st->phase = Phase::kEndLf;
          break;
        }
        if (c == '\n') {
          st->phase = Phase::kDone;
          break;
        }
        st->phase = Phase::kTrailerLine;
        [[fallthrough]];
      case Phase::kTrailerLine:
        if (++st->trailer_len > kMaxHttpTrailerLen) return fail();
        if (c == '\r') st->phase = Phase::kTrailerLf;
        if (c == '\n') st->phase = Phase::kTrailerStart;
        if (c == '\0') return fail();
        break;
      case Phase::kTrailerLf:
        if (c != '\n') return fail();
        st->phase = Phase::kTrailerStart;
        break;
      case Phase::kEndLf:
        if (c != '\n') return fail();
        st->phase = Phase::kDone;
        break;
      case Phase::kData:
      case Phase::kDone:
        break;
    }
  }
  if (st->phase != Phase::kDone) {
    *consumed = data.size();
    return ParseStatus::kNeedMore;
  }
  *consumed = r.offset();
  return ParseStatus::kOk;
}

}  // namespace muhafiz::parse
