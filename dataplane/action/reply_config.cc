// reply_config_problem(): the one place that decides what a usable ReplyConfig is.
#include <string_view>

#include "dataplane/action/reply.h"

namespace muhafiz::action {
namespace {

constexpr uint16_t kMinEdnsUdpSize = 512;     // RFC 6891 §6.2.5: smaller values mean 512
constexpr uint32_t kMaxDnsTtl = 0x7fffffffu;  // RFC 2181 §8: the top bit must be zero
constexpr size_t kMaxUtf8SequenceLen = 4;     // RFC 3629 §3

// RFC 3629 §4 well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<uint8_t>(s[i]);
    size_t len = 0;
    uint8_t lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (b0 < 0x80) {
      len = 1;
    } else if (b0 >= 0xc2 && b0 <= 0xdf) {
      len = 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      len = 3;
      if (b0 == 0xe0) lo = 0xa0;
      if (b0 == 0xed) hi = 0x9f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      len = kMaxUtf8SequenceLen;
      if (b0 == 0xf0) lo = 0x90;
      if (b0 == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (len > s.size() - i) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<uint8_t>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf)) return false;
    }
    i += len;
  }
  return true;
}

// RFC 3986 §2.2-2.3 characters plus '%'. '#' is left out: a fragment would swallow the query we
// append. Space, quotes, '<' '>' and controls are out too, so the URL can go into a header line
// and an HTML attribute without escaping anything but '&'.
bool url_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-._~:/?[]@!$&'()*+,;=%").find(c) != std::string_view::npos;
}

std::string_view url_problem(std::string_view url) {
  constexpr std::string_view kHttp = "http://", kHttps = "https://";
  if (url.size() > kMaxStopPageUrlLen) return "stop_page_url is longer than 256 bytes";
  const bool http = url.starts_with(kHttp);
  if (!http && !url.starts_with(kHttps)) {
    return "stop_page_url must start with http:// or https://";
  }
  if (url.size() == (http ? kHttp : kHttps).size()) return "stop_page_url has no host";
  for (const char c : url) {
    if (!url_char(c)) return "stop_page_url has a character outside RFC 3986 (or a '#' fragment)";
  }
  return {};
}

}  // namespace

std::string_view reply_config_problem(const ReplyConfig& c) noexcept {
  if (c.hop_limit == 0) return "hop_limit must be 1-255";
  if (c.placement != Placement::kInline && c.placement != Placement::kTap) {
    return "placement must be inline or tap";
  }
  if (c.dns_answer != DnsBlockAnswer::kNxdomain && c.dns_answer != DnsBlockAnswer::kStopPage) {
    return "dns_answer must be nxdomain or stop_page";
  }
  if (c.stop_page_v4.family != parse::IpFamily::kNone &&
      c.stop_page_v4.family != parse::IpFamily::kV4) {
    return "stop_page_v4 is not an IPv4 address";
  }
  if (c.stop_page_v6.family != parse::IpFamily::kNone &&
      c.stop_page_v6.family != parse::IpFamily::kV6) {
    return "stop_page_v6 is not an IPv6 address";
  }
  if (c.dns_answer == DnsBlockAnswer::kStopPage &&
      c.stop_page_v4.family == parse::IpFamily::kNone &&
      c.stop_page_v6.family == parse::IpFamily::kNone) {
    return "dns_answer stop_page needs stop_page_v4 or stop_page_v6";
  }
  if (c.dns_ttl > kMaxDnsTtl) return "dns_ttl must be below 2^31 (RFC 2181 §8)";
  if (c.edns_udp_size < kMinEdnsUdpSize) return "edns_udp_size must be at least 512";
  if (c.ede_code != EdeCode::kBlocked && c.ede_code != EdeCode::kCensored &&
      c.ede_code != EdeCode::kFiltered) {
    return "ede_code must be 15 (blocked), 16 (censored) or 17 (filtered)";
  }
  if (c.ede_extra_text.size() > kMaxEdeExtraTextLen) {
    return "ede_extra_text is longer than 128 bytes";
  }
  if (!valid_utf8(c.ede_extra_text)) return "ede_extra_text is not UTF-8 (RFC 8914 §2)";
  if (!c.stop_page_url.empty()) return url_problem(c.stop_page_url);
  return {};
}

}  // namespace muhafiz::action
