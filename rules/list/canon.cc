#include "rules/list/canon.h"

#include <arpa/inet.h>
#include <idn2.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace muhafiz::rules {
namespace {

constexpr uint16_t kHttpDefaultPort = 80;    // RFC 9110 §4.2.1
constexpr uint16_t kHttpsDefaultPort = 443;  // RFC 9110 §4.2.2
constexpr size_t kMaxIpv4Parts = 4;          // inet_aton(3) forms: a, a.b, a.b.c, a.b.c.d

bool fail(std::string* error, std::string reason) {
  if (error != nullptr) *error = std::move(reason);
  return false;
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// Printable form of one byte for error messages.
std::string show_byte(char c) {
  const auto b = static_cast<unsigned char>(c);
  if (b > 0x20 && b < 0x7f) return std::string("'") + c + "'";
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string("0x") + kHex[b >> 4] + kHex[b & 0xf];
}

// Safe Browsing: escape bytes <= 0x20, >= 0x7f, '#' and '%' with upper-case hex.
void escape_into(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7f || c == '#' || c == '%') {
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    } else {
      out += c;
    }
  }
}

// One left-to-right pass; returns true when something was unescaped.
bool unescape_once(std::string& s) {
  std::string out;
  out.reserve(s.size());
  bool changed = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && is_hex_digit(s[i + 1]) && is_hex_digit(s[i + 2])) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
      changed = true;
    } else {
      out += s[i];
    }
  }
  s = std::move(out);
  return changed;
}

// "Repeatedly percent-unescape the URL until it has no more percent-escapes." Every pass that
// changes something shortens the text by two bytes, so size / 2 + 1 passes always suffice.
void unescape_fully(std::string& s) {
  const size_t max_passes = s.size() / 2 + 1;
  for (size_t pass = 0; pass < max_passes && unescape_once(s); ++pass) {
  }
}

// Leading and trailing dots removed, runs of dots collapsed to one.
std::string clean_dots(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '.' && (out.empty() || out.back() == '.')) continue;
    out += c;
  }
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(sep, start);
    parts.push_back(
        s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return parts;
}

// One part of an inet_aton-style IPv4 literal: "0x.." hex, "0.." octal, else decimal.
// nullopt when it is not a number; values above 2^32 are clamped (they fail the range check).
std::optional<uint64_t> ipv4_part(std::string_view p) {
  if (p.empty()) return std::nullopt;
  unsigned base = 10;
  if (p.size() >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
    base = 16;
    p.remove_prefix(2);  // "0x" alone is zero, as inet_aton takes it
  } else if (p.size() >= 2 && p[0] == '0') {
    base = 8;
    p.remove_prefix(1);
  }
  uint64_t v = 0;
  for (char c : p) {
    unsigned d = 0;
    if (c >= '0' && c <= '9') {
      d = static_cast<unsigned>(c - '0');
    } else if (base == 16 && is_hex_digit(c)) {
      d = static_cast<unsigned>(hex_value(c));
    } else {
      return std::nullopt;
    }
    if (d >= base) return std::nullopt;
    v = v * base + d;
    if (v > 0xffffffffull) v = 0x100000000ull;  // clamp: already out of range
  }
  return v;
}

// The host as an IPv4 address in any form Safe Browsing accepts, as a dotted quad.
std::optional<std::string> parse_loose_ipv4(std::string_view host) {
  const auto parts = split(host, '.');
  if (parts.empty() || parts.size() > kMaxIpv4Parts) return std::nullopt;
  uint64_t addr = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto v = ipv4_part(parts[i]);
    if (!v) return std::nullopt;
    if (i + 1 < parts.size()) {
      if (*v > 0xff) return std::nullopt;
      addr = (addr << 8) | *v;
    } else {
      // The last part fills the remaining bytes (inet_aton(3)).
      const unsigned rest_bits = static_cast<unsigned>(8 * (kMaxIpv4Parts - i));
      if (rest_bits < 32 && *v >= (1ull << rest_bits)) return std::nullopt;
      if (*v > 0xffffffffull) return std::nullopt;
      addr = (addr << rest_bits) | *v;
    }
  }
  return std::to_string((addr >> 24) & 0xff) + "." + std::to_string((addr >> 16) & 0xff) + "." +
         std::to_string((addr >> 8) & 0xff) + "." + std::to_string(addr & 0xff);
}

// True when the last label reads as a number (decimal, or 0x hex): such a host can only be an
// IPv4 literal, as no top-level domain is numeric (the WHATWG URL standard's rule too).
bool ends_in_number(std::string_view host) {
  const size_t dot = host.rfind('.');
  std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  if (last.empty()) return false;
  if (last.size() >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X')) {
    last.remove_prefix(2);
    for (char c : last) {
      if (!is_hex_digit(c)) return false;
    }
    return true;
  }
  for (char c : last) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// IPv6 literal (brackets optional) to RFC 5952 text in brackets; IPv4-mapped (::ffff:0:0/96,
// RFC 4291 §2.5.5.2) and NAT64 well-known-prefix (64:ff9b::/96, RFC 6052 §2.1) addresses name
// an IPv4 host, so they become its dotted quad (as the Safe Browsing reference does).
std::optional<std::string> canonical_ipv6(std::string_view host, std::string* error) {
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 2 || host.back() != ']') {
      fail(error, "unterminated IPv6 literal '" + std::string(host) + "'");
      return std::nullopt;
    }
    host = host.substr(1, host.size() - 2);
  }
  const std::string text(host);
  std::array<uint8_t, 16> a{};
  if (inet_pton(AF_INET6, text.c_str(), a.data()) != 1) {
    fail(error, "invalid IPv6 address '" + text + "'");
    return std::nullopt;
  }
  static constexpr std::array<uint8_t, 12> kMapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr std::array<uint8_t, 12> kNat64 = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(a.data(), kMapped.data(), kMapped.size()) == 0 ||
      std::memcmp(a.data(), kNat64.data(), kNat64.size()) == 0) {
    return std::to_string(a[12]) + "." + std::to_string(a[13]) + "." + std::to_string(a[14]) + "." +
           std::to_string(a[15]);
  }
  std::array<char, INET6_ADDRSTRLEN> buf{};
  inet_ntop(AF_INET6, a.data(), buf.data(), buf.size());
  return "[" + std::string(buf.data()) + "]";
}

// Non-ASCII labels to A-labels with libidn2 (UTS #46 non-transitional processing: "ß" stays,
// fullwidth forms and the ideographic full stop map to ASCII). ASCII labels are left alone so
// that libidn2's IDNA2008 hyphen rules do not reject names that exist in the DNS.
std::optional<std::string> labels_to_ascii(std::string_view host, std::string* error) {
  std::string out;
  bool first = true;
  for (std::string_view label : split(host, '.')) {
    if (!first) out += '.';
    first = false;
    if (is_ascii(label)) {
      out += label;
      continue;
    }
    const std::string in(label);
    char* converted = nullptr;
    const int rc = idn2_to_ascii_8z(in.c_str(), &converted, IDN2_NONTRANSITIONAL);
    const std::unique_ptr<char, decltype(&std::free)> owned(converted, &std::free);
    if (rc != IDN2_OK || converted == nullptr) {
      fail(error, "invalid IDN label '" + in + "': " + idn2_strerror(rc) +
                      " (give the A-label, xn--..., if the name is registered)");
      return std::nullopt;
    }
    out += lower(converted);
  }
  return out;
}

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool validate_name(std::string_view name, std::string* error) {
  if (name.empty()) return fail(error, "empty host");
  if (name.size() > kMaxHostNameLen) {
    return fail(error, "name longer than " + std::to_string(kMaxHostNameLen) + " octets (" +
                           std::to_string(name.size()) + ")");
  }
  for (std::string_view label : split(name, '.')) {
    if (label.empty()) return fail(error, "empty label in '" + std::string(name) + "'");
    if (label.size() > kMaxHostLabelLen) {
      return fail(error, "label longer than " + std::to_string(kMaxHostLabelLen) + " octets (" +
                             std::to_string(label.size()) + ")");
    }
    for (char c : label) {
      if (!is_host_char(c)) {
        return fail(error,
                    "invalid character " + show_byte(c) + " in host '" + std::string(name) + "'");
      }
    }
  }
  return true;
}

struct UrlParts {
  std::string scheme;
  std::string host;  // unescaped, as written
  std::string port;
  std::string path;  // unescaped, "" or starting with '/'
  std::string query;
  bool has_query = false;
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_scheme(std::string_view s) {
  if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// The Safe Browsing steps before the host and path are treated: trim, drop tab/CR/LF, drop the
// fragment, unescape until stable; then split scheme, authority, path and query.
std::optional<UrlParts> split_url(std::string_view url, std::string* error) {
  if (url.size() > kMaxUrlLen) {
    fail(error, "URL longer than " + std::to_string(kMaxUrlLen) + " bytes");
    return std::nullopt;
  }
  while (!url.empty() && is_space(url.front())) url.remove_prefix(1);
  while (!url.empty() && is_space(url.back())) url.remove_suffix(1);
  std::string s;
  s.reserve(url.size());
  for (char c : url) {
    if (c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '#') break;  // the fragment, before unescaping: "%23" is data
    s += c;
  }
  unescape_fully(s);

  UrlParts p;
  std::string_view rest = s;
  const size_t sep = rest.find("://");
  if (sep != std::string_view::npos && is_scheme(rest.substr(0, sep))) {
    p.scheme = lower(rest.substr(0, sep));
    rest.remove_prefix(sep + 3);
  } else {
    p.scheme = "http";
  }
  if (p.scheme != "http" && p.scheme != "https") {
    fail(error, "unsupported scheme '" + p.scheme + "' (only http and https)");
    return std::nullopt;
  }
  const size_t auth_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, auth_end);
  rest = auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end);
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);  // userinfo
  size_t colon = std::string_view::npos;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close != std::string_view::npos && close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        fail(error, "unexpected text after IPv6 literal in '" + std::string(authority) + "'");
        return std::nullopt;
      }
      colon = close + 1;
    }
  } else {
    colon = authority.rfind(':');
  }
  p.host = std::string(authority.substr(0, colon));
  if (colon != std::string_view::npos) p.port = std::string(authority.substr(colon + 1));
  const size_t q = rest.find('?');
  p.path = std::string(rest.substr(0, q));
  if (q != std::string_view::npos) {
    p.has_query = true;
    p.query = std::string(rest.substr(q + 1));
  }
  return p;
}

// "Resolve the sequences /../ and /./ ... replace runs of consecutive slashes with a single
// slash." Also applies to a trailing "/." or "/..", which name the directory.
std::string canonical_path(std::string_view path) {
  std::vector<std::string_view> segments;
  bool trailing_slash = true;
  for (std::string_view seg : split(path, '/')) {
    trailing_slash = true;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
      continue;
    }
    segments.push_back(seg);
    trailing_slash = false;
  }
  std::string out = "/";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out += '/';
    out += segments[i];
  }
  if (trailing_slash && !segments.empty()) out += '/';
  return out;
}

std::optional<uint16_t> parse_port(std::string_view port, std::string_view scheme,
                                   std::string* error) {
  if (port.empty()) return uint16_t{0};  // "host:" is allowed (RFC 3986 §3.2.3)
  uint32_t v = 0;
  for (char c : port) {
    if (c < '0' || c > '9' || v > 0xffff) {
      fail(error, "invalid port '" + std::string(port) + "'");
      return std::nullopt;
    }
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v == 0 || v > 0xffff) {
    fail(error, "invalid port '" + std::string(port) + "'");
    return std::nullopt;
  }
  const uint16_t default_port = scheme == "https" ? kHttpsDefaultPort : kHttpDefaultPort;
  return v == default_port ? uint16_t{0} : static_cast<uint16_t>(v);
}

// Safe Browsing host steps without our validity rules: unknown bytes are kept and escaped.
std::string safe_browsing_host(std::string_view raw) {
  if (!raw.empty() && raw.front() == '[') {
    if (auto v6 = canonical_ipv6(raw, nullptr)) return *v6;
  }
  std::string host = lower(clean_dots(raw));
  if (!is_ascii(host)) {
    if (auto ascii = labels_to_ascii(host, nullptr)) host = clean_dots(*ascii);
  }
  if (auto v4 = parse_loose_ipv4(host)) host = *v4;
  std::string out;
  escape_into(out, host);
  return out;
}

std::optional<CanonicalUrl> canonical_from_parts(const UrlParts& p, std::string* error) {
  CanonicalUrl u;
  if (p.host.empty()) {
    fail(error, "empty host");
    return std::nullopt;
  }
  auto host = canonical_host(p.host, error);
  if (!host) return std::nullopt;
  const auto port = parse_port(p.port, p.scheme, error);
  if (!port) return std::nullopt;
  u.host = std::move(*host);
  u.port = *port;
  escape_into(u.path, canonical_path(p.path));
  escape_into(u.query, p.query);
  u.has_query = p.has_query;
  return u;
}

}  // namespace

std::optional<std::string> canonical_host(std::string_view host, std::string* error) {
  const size_t colon = host.find(':');
  if (colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos &&
      (host.empty() || host.front() != '[')) {
    fail(error, "a host has no port: '" + std::string(host) + "'");
    return std::nullopt;
  }
  if (colon != std::string_view::npos || (!host.empty() && host.front() == '[')) {
    return canonical_ipv6(host, error);
  }
  std::string name = lower(clean_dots(host));
  if (name.empty()) {
    fail(error, "empty host");
    return std::nullopt;
  }
  if (!is_ascii(name)) {
    auto ascii = labels_to_ascii(name, error);
    if (!ascii) return std::nullopt;
    name = clean_dots(*ascii);  // UTS #46 maps some full stops to '.'
  }
  if (ends_in_number(name)) {
    auto v4 = parse_loose_ipv4(name);
    if (!v4) {
      fail(error, "'" + name + "' is not a valid IPv4 address (its last label is a number)");
      return std::nullopt;
    }
    return v4;
  }
  if (!validate_name(name, error)) return std::nullopt;
  return name;
}

std::string CanonicalUrl::text() const {
  std::string out = host + path;
  if (has_query) {
    out += '?';
    out += query;
  }
  return out;
}

std::optional<CanonicalUrl> canonical_url(std::string_view url, std::string* error) {
  const auto parts = split_url(url, error);
  if (!parts) return std::nullopt;
  return canonical_from_parts(*parts, error);
}

std::optional<CanonicalUrl> canonical_request(std::string_view host, std::string_view target,
                                              std::string* error) {
  if (target.empty()) {
    fail(error, "empty request-target");
    return std::nullopt;
  }
  if (target.front() == '/') {
    if (host.empty()) {
      fail(error, "origin-form request-target without a Host");
      return std::nullopt;
    }
    // Host and target are canonicalised as one URL so that escapes in either are treated
    // alike; '/', '?' and '@' cannot reach the host from the target (the target starts with '/').
    std::string url = "http://";
    url += host;
    url += target;
    return canonical_url(url, error);
  }
  const size_t sep = target.find("://");
  if (sep != std::string_view::npos && is_scheme(target.substr(0, sep))) {
    return canonical_url(target, error);  // absolute-form: its authority wins over Host
  }
  if (target == "*") {
    fail(error, "asterisk-form request-target has no URL");
  } else {
    fail(error,
         "request-target '" + std::string(target) + "' is neither origin-form nor absolute-form");
  }
  return std::nullopt;
}

std::optional<std::string> safe_browsing_canonical_url(std::string_view url, std::string* error) {
  const auto p = split_url(url, error);
  if (!p) return std::nullopt;
  if (p->host.empty()) {
    fail(error, "empty host");
    return std::nullopt;
  }
  std::string out = p->scheme + "://" + safe_browsing_host(p->host);
  escape_into(out, canonical_path(p->path));
  if (p->has_query) {
    out += '?';
    escape_into(out, p->query);
  }
  return out;
}

std::optional<std::string> canonical_ip_prefix(std::string_view text, std::string* error) {
  const size_t slash = text.find('/');
  const std::string addr_text(text.substr(0, slash));
  std::array<uint8_t, 16> a{};
  int family = AF_INET;
  size_t bits = 32;
  if (inet_pton(AF_INET, addr_text.c_str(), a.data()) != 1) {
    family = AF_INET6;
    bits = 128;
    if (inet_pton(AF_INET6, addr_text.c_str(), a.data()) != 1) {
      fail(error, "invalid IP address '" + addr_text + "'");
      return std::nullopt;
    }
  }
  size_t len = bits;
  if (slash != std::string_view::npos) {
    const std::string_view len_text = text.substr(slash + 1);
    if (len_text.empty() || len_text.size() > 3 || (len_text.size() > 1 && len_text[0] == '0')) {
      fail(error, "invalid prefix length '" + std::string(len_text) + "'");
      return std::nullopt;
    }
    len = 0;
    for (char c : len_text) {
      if (c < '0' || c > '9') {
        fail(error, "invalid prefix length '" + std::string(len_text) + "'");
        return std::nullopt;
      }
      len = len * 10 + static_cast<size_t>(c - '0');
    }
    if (len > bits) {
      fail(error, "prefix length " + std::to_string(len) + " exceeds " + std::to_string(bits));
      return std::nullopt;
    }
  }
  for (size_t bit = len; bit < bits; ++bit) {
    if ((a[bit / 8] >> (7 - bit % 8)) & 1) {
      fail(error,
           "host bits set below /" + std::to_string(len) + " in '" + std::string(text) + "'");
      return std::nullopt;
    }
  }
  std::array<char, INET6_ADDRSTRLEN> buf{};
  inet_ntop(family, a.data(), buf.data(), buf.size());
  return std::string(buf.data()) + "/" + std::to_string(len);
}

}  // namespace muhafiz::rules
