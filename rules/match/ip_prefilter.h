// A small bitmap in front of the ip prefix tables. The dataplane checks the destination of every
// packet against the ip lists, and nearly every destination is on none, so the full check (one
// masked fingerprint and one slot probe per prefix length) is mostly wasted. The prefilter says
// "certainly on no list" from one bit:
//   - IPv4: one bit per /16 (8 KB), set for every /16 an IPv4 prefix overlaps. Exact at /16.
//   - IPv6: one bit per hash of the first 32 bits (8 KB), set for every /32 a prefix of /20 or
//     longer overlaps; a shorter IPv6 prefix sets every bit (the filter then passes all IPv6).
// Built when a snapshot is loaded, from the tables' own hits, with the same family rules as the
// full check (an IPv4 address meets only IPv4-mapped prefixes; an IPv6 address meets all), so
// it cannot disagree with them: no false negatives by construction.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "rules/match/ip_address.h"
#include "rules/match/snapshot_format.h"

namespace muhafiz::rules {

class IpPrefilter {
 public:
  static constexpr unsigned kV6MinEnumerated = 20;  // shorter IPv6 prefixes set every bit

  IpPrefilter() = default;  // empty: passes nothing
  explicit IpPrefilter(std::span<const snapshot::IpHit> hits) noexcept;

  // False: no ip entry can match `ip`. True: one may (or ip is not an address: never).
  bool may_match(const IpAddress& ip) const noexcept {
    if (ip.family == IpFamily::kV4) return test(v4_, (ip.bytes[0] << 8) | ip.bytes[1]);
    if (ip.family == IpFamily::kV6) return test(v6_, v6_key(v6_top(ip.bytes.data())));
    return false;
  }

 private:
  using Bits = std::array<uint64_t, 65536 / 64>;
  static bool test(const Bits& b, unsigned k) noexcept { return (b[k >> 6] >> (k & 63)) & 1; }
  static void set(Bits& b, unsigned k) noexcept { b[k >> 6] |= uint64_t{1} << (k & 63); }
  // The first 32 bits of an address, big-endian.
  static uint32_t v6_top(const uint8_t* a) noexcept {
    return (uint32_t{a[0]} << 24) | (uint32_t{a[1]} << 16) | (uint32_t{a[2]} << 8) | a[3];
  }
  // Those 32 bits hashed to 16 (multiply-shift: every input bit counts).
  static unsigned v6_key(uint32_t top) noexcept {
    return static_cast<unsigned>((top * 0x9e3779b1u) >> 16);
  }

  Bits v4_{};
  Bits v6_{};
};

}  // namespace muhafiz::rules
