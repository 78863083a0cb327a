// The bitmap in front of the ip tables: every address inside a listed prefix passes (no false
// negatives at any prefix length, either family), addresses elsewhere mostly do not, and the
// family rules are the full check's (an IPv4 address meets only IPv4-mapped prefixes).
#include "rules/match/ip_prefilter.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace muhafiz::rules {
namespace {

// A hit as the compiler stores it: mapped space, masked to its length.
snapshot::IpHit hit_of(const IpAddress& a, unsigned family_len) {
  snapshot::IpHit h{};
  std::array<uint8_t, 16> m = a.mapped();
  const unsigned len = a.family == IpFamily::kV4 ? family_len + kIpv4MappedPrefix : family_len;
  mask_prefix(&m, len);
  std::copy(m.begin(), m.end(), h.addr);
  h.prefix_len = static_cast<uint8_t>(len);
  return h;
}

IpAddress random_address(IpFamily f, std::mt19937_64& rng) {
  IpAddress a;
  a.family = f;
  for (size_t i = 0; i < (f == IpFamily::kV4 ? 4u : 16u); ++i)
    a.bytes[i] = static_cast<uint8_t>(rng());
  return a;
}

// `a` with its first `len` bits kept and the rest random: an address inside a/len.
IpAddress inside(const IpAddress& a, unsigned len, std::mt19937_64& rng) {
  IpAddress r = random_address(a.family, rng);
  for (unsigned bit = 0; bit < len; ++bit) {
    const uint8_t m = static_cast<uint8_t>(0x80u >> (bit % 8));
    r.bytes[bit / 8] = static_cast<uint8_t>((r.bytes[bit / 8] & ~m) | (a.bytes[bit / 8] & m));
  }
  return r;
}

IpAddress v4_as_v6(const IpAddress& a) {
  IpAddress r;
  r.family = IpFamily::kV6;
  r.bytes = a.mapped();
  return r;
}

TEST(IpPrefilter, EmptyPassesNothing) {
  const IpPrefilter none;
  std::mt19937_64 rng(1);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(none.may_match(random_address(IpFamily::kV4, rng)));
    EXPECT_FALSE(none.may_match(random_address(IpFamily::kV6, rng)));
  }
  EXPECT_FALSE(none.may_match(IpAddress{}));
}

// Every length of both families, addresses drawn inside each prefix (first and last of the
// range included): all pass, IPv4 ones also in their IPv4-mapped IPv6 form.
TEST(IpPrefilter, EveryAddressInsideAPrefixPasses) {
  std::mt19937_64 rng(7);
  for (const IpFamily f : {IpFamily::kV4, IpFamily::kV6}) {
    const unsigned max_len = f == IpFamily::kV4 ? 32 : 128;
    for (unsigned len = 0; len <= max_len; ++len) {
      for (int trial = 0; trial < 4; ++trial) {
        const IpAddress base = random_address(f, rng);
        const IpPrefilter filter(std::vector<snapshot::IpHit>{hit_of(base, len)});
        std::vector<IpAddress> probes;
        for (int i = 0; i < 200; ++i) probes.push_back(inside(base, len, rng));
        IpAddress lo = base, hi = base;  // the range's two ends
        for (unsigned bit = len; bit < max_len; ++bit) {
          lo.bytes[bit / 8] = static_cast<uint8_t>(lo.bytes[bit / 8] & ~(0x80u >> (bit % 8)));
          hi.bytes[bit / 8] = static_cast<uint8_t>(hi.bytes[bit / 8] | (0x80u >> (bit % 8)));
        }
        probes.push_back(lo);
        probes.push_back(hi);
        for (const IpAddress& a : probes) {
          ASSERT_TRUE(filter.may_match(a))
              << to_string(a) << " in " << to_string(base) << "/" << len;
          if (f == IpFamily::kV4) {
            ASSERT_TRUE(filter.may_match(v4_as_v6(a))) << to_string(a);
          }
        }
      }
    }
  }
}

// A few hundred long prefixes leave almost every other address out: the filter is worth its
// bit test. (IPv4: exact per /16, so only the /16s listed pass; IPv6: a hashed /32.)
TEST(IpPrefilter, AddressesElsewhereMostlyFail) {
  std::mt19937_64 rng(11);
  std::vector<snapshot::IpHit> hits;
  for (int i = 0; i < 256; ++i) hits.push_back(hit_of(random_address(IpFamily::kV4, rng), 24));
  for (int i = 0; i < 256; ++i) hits.push_back(hit_of(random_address(IpFamily::kV6, rng), 48));
  const IpPrefilter filter(hits);
  for (const IpFamily f : {IpFamily::kV4, IpFamily::kV6}) {
    int passed = 0;
    const int tries = 100'000;
    for (int i = 0; i < tries; ++i) passed += filter.may_match(random_address(f, rng));
    EXPECT_LT(passed, tries / 100) << "family " << static_cast<int>(f);  // expected ~0.4%
  }
}

// An IPv6 prefix never covers IPv4 addresses (the full check keeps families apart: ::/0 is
// not 0.0.0.0/0), and an IPv6 prefix shorter than /20 passes every IPv6 address.
TEST(IpPrefilter, FamiliesAndShortPrefixes) {
  std::mt19937_64 rng(3);
  IpAddress zero6;
  zero6.family = IpFamily::kV6;
  const IpPrefilter all6(std::vector<snapshot::IpHit>{hit_of(zero6, 0)});
  const IpPrefilter short6(std::vector<snapshot::IpHit>{
      hit_of(*parse_ip_address("2001:db8::"), IpPrefilter::kV6MinEnumerated - 1)});
  for (int i = 0; i < 1000; ++i) {
    const IpAddress v4 = random_address(IpFamily::kV4, rng);
    const IpAddress v6 = random_address(IpFamily::kV6, rng);
    EXPECT_FALSE(all6.may_match(v4)) << to_string(v4);
    EXPECT_TRUE(all6.may_match(v6)) << to_string(v6);
    EXPECT_TRUE(short6.may_match(v6)) << to_string(v6);
  }
  // 0.0.0.0/0 passes every IPv4 address.
  const IpPrefilter all4(std::vector<snapshot::IpHit>{hit_of(IpAddress::v4(0, 0, 0, 0), 0)});
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(all4.may_match(random_address(IpFamily::kV4, rng)));
}

// A hit whose host bits are set (the compiler masks; a forged snapshot may not) still keeps
// its range inside the bitmap and covers the masked prefix.
TEST(IpPrefilter, UnmaskedHitStaysInRange) {
  snapshot::IpHit h = hit_of(IpAddress::v4(255, 255, 0, 0), 8);
  h.addr[13] = 0xff;  // host bits of a /8 (mapped /104)
  const IpPrefilter filter(std::vector<snapshot::IpHit>{h});
  EXPECT_TRUE(filter.may_match(IpAddress::v4(255, 0, 0, 1)));
  EXPECT_TRUE(filter.may_match(IpAddress::v4(255, 255, 255, 255)));
  EXPECT_FALSE(filter.may_match(IpAddress::v4(254, 255, 255, 255)));
}

}  // namespace
}  // namespace muhafiz::rules
