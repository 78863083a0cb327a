// The matcher's view of an observed HTTP request, computed on the worker without allocating:
// the canonical path ("/a/b?q") and, for an absolute-form target, the authority a server uses
// over Host (RFC 9112 §3.2.2). Follows rules::canonical_request (rules/list/canon.h, Safe
// Browsing "URLs and Hashing") step by step; request_url_test.cc checks the two agree.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

namespace muhafiz::engine {

// Bytes of a request-target canonicalised; a longer one is cut here first (flagged), which
// keeps every directory prefix the matcher tries. rules::kMaxUrlLen has the same value.
inline constexpr size_t kMaxUrlPath = 8192;
// Percent-unescaping repeats until nothing changes (Safe Browsing); each pass is a full scan,
// so it is capped. A server decodes once, so deeper nesting names another resource anyway.
inline constexpr size_t kMaxUnescapePasses = 8;

struct RequestUrl {
  std::string_view path;            // canonical path, then "?query" when present; "" if none
  std::string_view authority_host;  // absolute-form: host[:port] of the target, userinfo removed
  bool truncated = false;           // target longer than kMaxUrlPath
  bool unescape_capped = false;     // still escaped after kMaxUnescapePasses
};

// One per worker: owns the two buffers the views point into (valid until the next call).
class RequestUrlBuilder {
 public:
  RequestUrlBuilder();
  // `target` as sent on the request line. Authority-form (CONNECT) and asterisk-form targets
  // name no path: the result is empty.
  RequestUrl build(std::string_view target) noexcept;

 private:
  std::unique_ptr<char[]> work_;      // kMaxUrlPath: cleaned and unescaped target
  std::unique_ptr<char[]> resolved_;  // kMaxUrlPath + 1: dot segments resolved
  std::unique_ptr<char[]> out_;       // 3 * (kMaxUrlPath + 1): escaped
};

}  // namespace muhafiz::engine
