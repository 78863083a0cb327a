// Canonical forms of hosts and URLs, so that a list entry and an observed name compare equal
// exactly when they mean the same thing. URL canonicalisation follows Google Safe Browsing's
// published algorithm (Safe Browsing API v4, "URLs and Hashing"); rules/README.md ("List model
// and sources") lists what we add to it and where we are stricter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace muhafiz::rules {

inline constexpr size_t kMaxHostLabelLen = 63;  // RFC 1035 §2.3.4
// RFC 1035 §2.3.4 allows 255 wire octets: 253 text characters without the trailing dot.
inline constexpr size_t kMaxHostNameLen = 253;
// Input cap for one URL: longer ones are refused rather than unescaped (browsers and servers
// refuse far shorter request lines; lists never need more).
inline constexpr size_t kMaxUrlLen = 8192;

// Lower-case, IDN U-labels to A-labels (punycode, libidn2, UTS #46 non-transitional), leading,
// trailing and repeated dots removed, IPv4 literals in any form Safe Browsing accepts
// (decimal, octal, hex, fewer than four parts) to dotted quad, IPv6 literals (with or without
// brackets) to RFC 5952 text in brackets, IPv4-mapped and NAT64 (64:ff9b::/96) IPv6 to the
// IPv4 dotted quad. Only letters, digits, '-' and '_' are accepted in labels; labels of at most
// 63 octets, names of at most 253. A-labels given as such are kept as they are (registered
// IDNA2003 names exist that IDNA2008 rejects). nullopt with *error set when the host is not a
// valid name.
std::optional<std::string> canonical_host(std::string_view host, std::string* error);

struct CanonicalUrl {
  std::string host;  // canonical_host() form, never with a port
  // The port when one was given and is not the scheme's default (80 http, 443 https), else 0.
  // Not part of text(): Safe Browsing drops ports, so a URL entry matches on every port.
  uint16_t port = 0;
  std::string path;   // starts with '/', dot segments resolved, escaped as Safe Browsing does
  std::string query;  // without '?', empty when none
  bool has_query = false;
  std::string text() const;  // host + path + ("?" + query when present): the form lists hold
};

// Canonicalises "http://host/path?q", "host/path", "https://..." (scheme optional; only http
// and https accepted). Fragment removed; userinfo removed. The host must pass canonical_host().
std::optional<CanonicalUrl> canonical_url(std::string_view url, std::string* error);

// Canonical URL of an observed HTTP request: Host header (or the authority of an absolute-form
// target, which takes precedence per RFC 9112 §3.2.2) and the request-target as sent
// (origin-form or absolute-form; authority-form and asterisk-form have no URL and are errors).
std::optional<CanonicalUrl> canonical_request(std::string_view host, std::string_view target,
                                              std::string* error);

// The published Safe Browsing algorithm alone: "scheme://host/path[?query]" exactly as the
// reference vectors show it, with hosts that are not DNS names kept (escaped) instead of refused.
// For conformance tests and for showing a list manager what a hashing publisher would compute;
// lists and the matcher use canonical_url().
std::optional<std::string> safe_browsing_canonical_url(std::string_view url, std::string* error);

// "192.0.2.0/24", "2001:db8::/32", or a single address (given the full-length prefix): returns
// "address/length" with the address in inet_ntop form. Host bits set below the prefix are an
// error (the entry would not mean what it says). IPv4 must be dotted-quad decimal here.
std::optional<std::string> canonical_ip_prefix(std::string_view text, std::string* error);

}  // namespace muhafiz::rules
