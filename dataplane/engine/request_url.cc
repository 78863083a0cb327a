#include "dataplane/engine/request_url.h"

#include <algorithm>

namespace muhafiz::engine {
namespace {

constexpr size_t kResolvedCap = kMaxUrlPath + 1;  // "" becomes "/"
constexpr size_t kOutCap = 3 * kResolvedCap;      // every byte may become %XX

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// RFC 3986 §3.1 scheme characters (canon.cc accepts the same set).
bool is_scheme(std::string_view s) noexcept {
  if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '-' || c == '.';
  });
}

// One left-to-right pass in place (the text only shrinks); returns the new length, or n when
// nothing was unescaped.
size_t unescape_once(char* s, size_t n, bool* changed) noexcept {
  size_t w = 0;
  *changed = false;
  for (size_t r = 0; r < n; ++r) {
    if (s[r] == '%' && r + 2 < n && is_hex(s[r + 1]) && is_hex(s[r + 2])) {
      s[w++] = static_cast<char>(hex_value(s[r + 1]) * 16 + hex_value(s[r + 2]));
      r += 2;
      *changed = true;
    } else {
      s[w++] = s[r];
    }
  }
  return w;
}

bool has_escape(std::string_view s) noexcept {
  for (size_t i = 0; i + 2 < s.size(); ++i) {
    if (s[i] == '%' && is_hex(s[i + 1]) && is_hex(s[i + 2])) return true;
  }
  return false;
}

// Safe Browsing: bytes <= 0x20, >= 0x7f, '#' and '%' become %XX (upper-case hex).
size_t escape_into(std::string_view s, char* out, size_t at) noexcept {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7f || c == '#' || c == '%') {
      out[at++] = '%';
      out[at++] = kHex[b >> 4];
      out[at++] = kHex[b & 0xf];
    } else {
      out[at++] = c;
    }
  }
  return at;
}

// "/./" and "/../" resolved, runs of '/' collapsed; a trailing "/." or "/.." names the directory
// (canon.cc canonical_path). Writes at most path.size() + 1 bytes.
size_t resolve_path(std::string_view path, char* out) noexcept {
  size_t len = 0;
  out[len++] = '/';
  size_t segments = 0;
  bool trailing_slash = true;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    const std::string_view seg = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    trailing_slash = true;
    if (seg == "..") {
      if (segments > 0) {
        --segments;
        len = segments == 0 ? 1 : std::string_view(out, len).rfind('/');
      }
    } else if (!seg.empty() && seg != ".") {
      if (segments > 0) out[len++] = '/';
      std::copy(seg.begin(), seg.end(), out + len);
      len += seg.size();
      ++segments;
      trailing_slash = false;
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (trailing_slash && segments > 0) out[len++] = '/';
  return len;
}

}  // namespace

RequestUrlBuilder::RequestUrlBuilder()
    : work_(std::make_unique<char[]>(kMaxUrlPath)),
      resolved_(std::make_unique<char[]>(kResolvedCap)),
      out_(std::make_unique<char[]>(kOutCap)) {}

RequestUrl RequestUrlBuilder::build(std::string_view target) noexcept {
  RequestUrl url;
  while (!target.empty() && is_space(target.back())) target.remove_suffix(1);
  if (target.empty()) return url;
  const size_t sep = target.find("://");
  const bool absolute =
      target.front() != '/' && sep != std::string_view::npos && is_scheme(target.substr(0, sep));
  if (target.front() != '/' && !absolute) return url;  // authority-form, asterisk-form

  // Tab, CR and LF removed; the fragment cut before unescaping ("%23" is data).
  char* w = work_.get();
  size_t n = 0;
  for (const char c : target) {
    if (c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '#') break;
    if (n == kMaxUrlPath) {
      url.truncated = true;
      break;
    }
    w[n++] = c;
  }
  bool changed = true;
  for (size_t pass = 0; pass < kMaxUnescapePasses && changed; ++pass)
    n = unescape_once(w, n, &changed);
  url.unescape_capped = changed && has_escape(std::string_view(w, n));

  std::string_view rest(w, n);
  if (absolute) {
    rest.remove_prefix(rest.find("://") + 3);
    const size_t auth_end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, auth_end);
    rest = auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end);
    const size_t at = authority.rfind('@');
    if (at != std::string_view::npos)
      authority.remove_prefix(at + 1);  // userinfo (RFC 9110 §4.2.4)
    url.authority_host = authority;
  }
  const size_t q = rest.find('?');
  const size_t resolved = resolve_path(rest.substr(0, q), resolved_.get());
  size_t len = escape_into(std::string_view(resolved_.get(), resolved), out_.get(), 0);
  if (q != std::string_view::npos) {
    out_[len++] = '?';
    len = escape_into(rest.substr(q + 1), out_.get(), len);
  }
  url.path = std::string_view(out_.get(), len);
  return url;
}

}  // namespace muhafiz::engine
