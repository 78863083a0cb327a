// HTTP/1.x request heads (RFC 9112): method, target, Host and body framing, from TCP streams
// (pipelined, several per segment) or UDP datagrams (SSDP on port 1900). Transport-agnostic.
//
// Versions: HTTP/1.0 and HTTP/1.1 only. The version is the last word of the request line; when
// it is not "HTTP/..." the line is kNotApplicable: another protocol with the same shape (RTSP,
// SIP, SMTP "EHLO x", FTP "USER x") or HTTP/0.9 ("GET /path", no version, no Host to match, not
// sent by any client for decades). The HTTP/2 preface "PRI * HTTP/2.0" is kNotApplicable too;
// any other HTTP version (HTTP/1.2, "http/1.1") is kMalformed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/parse/byte_reader.h"
#include "dataplane/parse/status.h"

namespace muhafiz::parse {

// Our cap on request line + header fields + blank line. Common servers refuse heads past
// 8-16 KiB by default (Node.js 16 KiB, nginx 8 KiB per line), so a longer one would not be
// served anyway; the cap also bounds per-flow reassembly.
inline constexpr size_t kMaxHttpHeadLen = 16384;
inline constexpr size_t kMaxHttpHeaders = 128;  // field lines; browsers send ~20; past it: flagged
// Longest method in IANA's HTTP Method Registry is UPDATEREDIRECTREF (17, RFC 3253).
inline constexpr size_t kMaxHttpMethodLen = 24;
// RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line (some
// clients send CRLF after a POST body). More than this is not a request.
inline constexpr size_t kMaxHttpLeadingEmptyLines = 4;
// Content-Length digits: 18 fit int64_t. RFC 9110 §8.6 sets no limit; 10^18 bytes is absurd.
inline constexpr size_t kMaxHttpContentLengthDigits = 18;
// Chunk-size line incl. extensions (RFC 9112 §7.1.1 sets no limit; Go's net/http refuses lines
// over 4096 bytes, real ones are under 20).
inline constexpr size_t kMaxHttpChunkLineLen = 4096;
// Trailer section bytes (RFC 9112 §7.1.2), capped like a head.
inline constexpr size_t kMaxHttpTrailerLen = kMaxHttpHeadLen;

enum class HttpTargetForm : uint8_t {
  kOrigin,     // "/path?query"               RFC 9112 §3.2.1
  kAbsolute,   // "http://host:port/path"     RFC 9112 §3.2.2 (to proxies)
  kAuthority,  // "host:443"                  RFC 9112 §3.2.3 (CONNECT)
  kAsterisk,   // "*"                         RFC 9112 §3.2.4 (OPTIONS, SSDP)
};

// Request-head anomalies: one X-macro so the flag, its name and its counter come from one place.
// Where a server must reject but the head is still readable, the bit is set and parsing goes on;
// bits marked kMalformed make parse_http_request_head fail. § numbers are RFC 9112's.
#define MUHAFIZ_HTTP_ANOMALIES(X)                                                                 \
  X(kHttpBareLf, "bare_lf")   /* LF alone ends a line (§2.2 MAY accept) */                       \
  X(kHttpBareCr, "bare_cr")   /* CR not before LF (§2.2): kMalformed */                          \
  X(kHttpObsFold, "obs_fold") /* folded line (§5.2); of a key field: kMalformed */               \
  X(kHttpLooseWhitespace, "loose_whitespace")        /* request-line words not split by 1 SP */   \
  X(kHttpWhitespaceInTarget, "whitespace_in_target") /* "GET /a b HTTP/1.1" (nginx serves it) */  \
  X(kHttpLeadingEmptyLine, "leading_empty_line")     /* empty lines before the request (§2.2) */ \
  X(kHttpDuplicateHost, "duplicate_host")            /* §3.2: a 400; the first one is used */    \
  X(kHttpMissingHost, "missing_host")                /* HTTP/1.1 without Host (§3.2) */          \
  X(kHttpBadHost, "bad_host")                        /* Host or authority not uri-host[:port] */  \
  X(kHttpHostMismatch, "host_mismatch")              /* Host differs from the target authority */ \
  X(kHttpUserinfo, "userinfo")                       /* user@ in the target (RFC 9110 §4.2.4) */ \
  X(kHttpUnexpectedForm, "unexpected_form")          /* target form does not fit the method */    \
  X(kHttpBadFieldLine, "bad_field_line")             /* no colon, bad name or NUL: kMalformed */  \
  X(kHttpCtlInField, "ctl_in_field")             /* control byte in a value (RFC 9110 §5.5) */   \
  X(kHttpClAndChunked, "cl_and_chunked")         /* both headers: chunked wins (§6.3) */         \
  X(kHttpTeInHttp10, "te_in_http10")             /* §6.1: HTTP/1.0 framing is then faulty */     \
  X(kHttpBadContentLength, "bad_content_length") /* kMalformed unless chunked (§6.3) */          \
  X(kHttpBadTransferEncoding, "bad_transfer_encoding") /* chunked not last: kMalformed */         \
  X(kHttpTooManyHeaders, "too_many_headers")           /* over kMaxHttpHeaders: read on */        \
  X(kHttpHeadTooLong, "head_too_long")                 /* over kMaxHttpHeadLen: kMalformed */

enum class HttpAnomalyIndex : uint8_t {
#define MUHAFIZ_X(name, text) name,
  MUHAFIZ_HTTP_ANOMALIES(MUHAFIZ_X)
#undef MUHAFIZ_X
      kCount
};
inline constexpr size_t kHttpAnomalyCount = static_cast<size_t>(HttpAnomalyIndex::kCount);
static_assert(kHttpAnomalyCount <= 32, "HttpRequest::anomalies is 32 bits");

// Bit values, so `req.anomalies & kHttpBareLf` reads naturally.
enum HttpAnomaly : uint32_t {
#define MUHAFIZ_X(name, text) name = 1u << static_cast<uint32_t>(HttpAnomalyIndex::name),
  MUHAFIZ_HTTP_ANOMALIES(MUHAFIZ_X)
#undef MUHAFIZ_X
};

// Every anomaly once, in declaration order (for summaries and per-reason counters).
inline constexpr HttpAnomaly kHttpAnomalies[] = {
#define MUHAFIZ_X(name, text) name,
    MUHAFIZ_HTTP_ANOMALIES(MUHAFIZ_X)
#undef MUHAFIZ_X
};

// Name of one anomaly bit; "unknown" for zero or a combination of bits.
constexpr std::string_view to_string(HttpAnomaly a) noexcept {
  switch (a) {
#define MUHAFIZ_X(name, text) \
  case name:                  \
    return text;
    MUHAFIZ_HTTP_ANOMALIES(MUHAFIZ_X)
#undef MUHAFIZ_X
  }
  return "unknown";
}

struct HttpRequest {
  std::string_view method, target, version;
  HttpTargetForm form = HttpTargetForm::kOrigin;
  // Host header value as sent (OWS trimmed); without a Host header, the target's authority
  // (absolute or authority form). Empty when neither exists.
  std::string_view host;
  // `host` without port; brackets taken off IPv6 literals ("[::1]:80" -> "::1"). Case kept.
  std::string_view host_name;
  // Authority of an absolute-form (userinfo removed) or authority-form target; a server uses it
  // over Host (RFC 9112 §3.2.2), so matchers should check it when it differs (kHttpHostMismatch).
  std::string_view target_authority;
  int64_t content_length = -1;  // -1 when absent; ignore it when `chunked` (RFC 9112 §6.3)
  bool chunked = false;         // Transfer-Encoding ends in chunked: skip with skip_http_chunked
  bool has_host = false;
  size_t head_len = 0;     // bytes up to and including the blank line (kOk only)
  uint32_t anomalies = 0;  // HttpAnomaly bits
  bool has(HttpAnomaly a) const noexcept { return (anomalies & a) != 0; }
};

// `data` starts where a request should start (stream position or datagram start).
// kNotApplicable: the first bytes cannot start a request line (the method must be a token,
// RFC 9110 §9.1, of at most kMaxHttpMethodLen bytes followed by SP; decided within those bytes),
// or the first line is not HTTP/1.x (see above). kNeedMore: the head is not complete and `data`
// is shorter than kMaxHttpHeadLen. kMalformed: invalid, or no blank line within kMaxHttpHeadLen.
// CRLF and bare LF line ends are accepted (the latter flagged); field names are
// case-insensitive and values are OWS-trimmed.
// When kMalformed comes from a field line or framing (kHttpBadFieldLine, kHttpObsFold on a key
// field, kHttpBadContentLength, kHttpBadTransferEncoding), the whole head was read and the host
// fields are filled, so a caller may still match and count them; head_len stays 0 because the
// stream position after the body is unknown. When it comes from a line that cannot be read
// (kHttpHeadTooLong, a bare CR) after the Host line, the host fields are filled from what was
// read.
ParseStatus parse_http_request_head(Bytes data, HttpRequest* out) noexcept;

// Chunked body skipping across segments (RFC 9112 §7.1). Value-initialise at the start of a
// body; the caller keeps it between calls.
struct HttpChunkState {
  enum class Phase : uint8_t {
    kSize,          // chunk-size hex digits
    kSizeTail,      // BWS and chunk extensions up to the line end
    kSizeLf,        // CR seen, LF due
    kData,          // chunk-data, `remaining` bytes left
    kDataCr,        // CRLF after chunk-data due
    kDataLf,        // CR seen, LF due
    kTrailerStart,  // start of a trailer line or of the final empty line
    kTrailerLine,   // inside a trailer field line
    kTrailerLf,     // CR in a trailer line seen, LF due
    kEndLf,         // CR of the final empty line seen, LF due
    kDone,
  };
  Phase phase = Phase::kSize;
  uint64_t size = 0;          // chunk-size being read, then chunk-data bytes left
  size_t line_len = 0;        // bytes of the current chunk-size line
  size_t trailer_len = 0;     // bytes of the trailer section so far
  bool in_extension = false;  // a ';' was seen on the chunk-size line
};

// Consumes as much of `data` as belongs to the chunked body. kOk: the body (last chunk and
// trailers included) ended; *consumed bytes of `data` belonged to it and the next request
// starts right after. kNeedMore: all of `data` was consumed. kMalformed: bad chunk size, line
// end or extension, or a cap exceeded (*consumed is where it failed).
ParseStatus skip_http_chunked(HttpChunkState* st, Bytes data, size_t* consumed) noexcept;

}  // namespace muhafiz::parse
