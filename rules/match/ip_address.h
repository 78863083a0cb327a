// Addresses and prefixes for ip entries and ip observations. IPv4 and IPv6 share one
// representation: IPv4 is held IPv4-mapped (RFC 4291 §2.5.5.2, ::ffff:a.b.c.d) with its
// prefix length + 96, so the matcher has one code path for both families.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace muhafiz::rules {

enum class IpFamily : uint8_t { kNone, kV4, kV6 };

struct IpAddress {
  IpFamily family = IpFamily::kNone;
  std::array<uint8_t, 16> bytes{};  // IPv4 in the first 4 bytes
  static IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) noexcept;
  // The 16-byte form the tables use: IPv6 as is, IPv4 mapped.
  std::array<uint8_t, 16> mapped() const noexcept;
  bool operator==(const IpAddress&) const = default;
};

inline constexpr uint8_t kIpv4MappedPrefix = 96;  // RFC 4291 §2.5.5.2

// "192.0.2.1", "2001:db8::1" (inet_pton forms only).
std::optional<IpAddress> parse_ip_address(std::string_view text) noexcept;
std::string to_string(const IpAddress& a);

struct IpPrefix {
  IpAddress address;   // host bits zero
  uint8_t length = 0;  // in the address's own family (0..32 or 0..128)
  // Length in the mapped 128-bit space.
  uint8_t mapped_length() const noexcept {
    return address.family == IpFamily::kV4 ? static_cast<uint8_t>(length + kIpv4MappedPrefix)
                                           : length;
  }
};

// "192.0.2.0/24", "2001:db8::/32", or a bare address (full length). A prefix with host bits
// set is refused: it usually means a typo, and guessing would block the wrong range.
std::optional<IpPrefix> parse_ip_prefix(std::string_view text, std::string* error);

// Clears every bit after the first `length` bits of a 16-byte address.
void mask_prefix(std::array<uint8_t, 16>* addr, unsigned length) noexcept;

}  // namespace muhafiz::rules
