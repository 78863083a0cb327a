#include "rules/match/ip_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace muhafiz::rules {

IpAddress IpAddress::v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) noexcept {
  IpAddress r;
  r.family = IpFamily::kV4;
  r.bytes[0] = a;
  r.bytes[1] = b;
  r.bytes[2] = c;
  r.bytes[3] = d;
  return r;
}

std::array<uint8_t, 16> IpAddress::mapped() const noexcept {
  if (family != IpFamily::kV4) return bytes;
  std::array<uint8_t, 16> m{};
  m[10] = 0xff;
  m[11] = 0xff;
  std::memcpy(m.data() + 12, bytes.data(), 4);
  return m;
}

std::optional<IpAddress> parse_ip_address(std::string_view text) noexcept {
  char buf[64];  // longer than any textual IPv6 address (RFC 4291 §2.2: at most 45 chars)
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress a;
  if (inet_pton(AF_INET, buf, a.bytes.data()) == 1) {
    a.family = IpFamily::kV4;
    return a;
  }
  if (inet_pton(AF_INET6, buf, a.bytes.data()) == 1) {
    a.family = IpFamily::kV6;
    return a;
  }
  return std::nullopt;
}

std::string to_string(const IpAddress& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.family == IpFamily::kNone) return "";
  inet_ntop(a.family == IpFamily::kV4 ? AF_INET : AF_INET6, a.bytes.data(), buf, sizeof buf);
  return buf;
}

void mask_prefix(std::array<uint8_t, 16>* addr, unsigned length) noexcept {
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned bit = i * 8;
    if (bit >= length) {
      (*addr)[i] = 0;
    } else if (length - bit < 8) {
      (*addr)[i] &= static_cast<uint8_t>(0xff00u >> (length - bit));
    }
  }
}

std::optional<IpPrefix> parse_ip_prefix(std::string_view text, std::string* error) {
  const size_t slash = text.find('/');
  const auto addr = parse_ip_address(text.substr(0, slash));
  if (!addr) {
    *error = "not an IPv4 or IPv6 address: " + std::string(text.substr(0, slash));
    return std::nullopt;
  }
  const unsigned max_len = addr->family == IpFamily::kV4 ? 32 : 128;
  unsigned len = max_len;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
        len > max_len) {
      *error = "bad prefix length: " + std::string(text);
      return std::nullopt;
    }
  }
  IpPrefix p;
  p.address = *addr;
  p.length = static_cast<uint8_t>(len);
  std::array<uint8_t, 16> masked = p.address.bytes;
  mask_prefix(&masked, len);  // IPv4 sits in the first 4 bytes, the rest are zero already
  if (masked != p.address.bytes) {
    *error = "host bits set after the prefix: " + std::string(text);
    return std::nullopt;
  }
  return p;
}

}  // namespace muhafiz::rules
