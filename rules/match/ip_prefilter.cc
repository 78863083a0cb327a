#include "rules/match/ip_prefilter.h"

#include <algorithm>

namespace muhafiz::rules {

IpPrefilter::IpPrefilter(std::span<const snapshot::IpHit> hits) noexcept {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  for (const snapshot::IpHit& hit : hits) {
    const unsigned len = hit.prefix_len;  // in the mapped space; the address is masked to it
    // IPv4 addresses meet only prefixes of /96 and longer inside ::ffff:0:0/96 (match_ip).
    if (len >= kIpv4MappedPrefix && std::equal(kMapped, kMapped + 12, hit.addr)) {
      const unsigned v4_len = len - kIpv4MappedPrefix;
      const unsigned count = v4_len >= 16 ? 1 : 1u << (16 - v4_len);
      // Masked again: validation does not promise a masked address, and the range must stay
      // inside the bitmap.
      const unsigned first = ((unsigned{hit.addr[12]} << 8) | hit.addr[13]) & ~(count - 1);
      for (unsigned k = 0; k < count; ++k) set(v4_, first + k);
    }
    // IPv6 addresses meet every prefix.
    if (len >= 32) {
      set(v6_, v6_key(v6_top(hit.addr)));
    } else if (len >= kV6MinEnumerated) {
      const uint32_t count = uint32_t{1} << (32 - len);
      const uint32_t first = v6_top(hit.addr) & ~(count - 1);
      for (uint32_t k = 0; k < count; ++k) set(v6_, v6_key(first + k));
    } else {
      v6_.fill(~uint64_t{0});
    }
  }
}

}  // namespace muhafiz::rules
