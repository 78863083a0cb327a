// The host scan, sixteen and eight bytes at a time, against a byte-by-byte reading: every length
// the matcher can pass, random bytes weighted to dots and the edges of 'A'-'Z', each host in a
// buffer of exactly its size (so the sanitizer build catches a read past the end).
#include "rules/match/host_scan.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <random>
#include <vector>

#include "rules/match/matcher.h"

namespace muhafiz::rules {
namespace {

struct Expected {
  DotMask dots{};
  bool upper = false;
};

Expected by_bytes(const char* p, size_t n) {
  Expected e;
  for (size_t i = 0; i < n; ++i) {
    if (p[i] == '.') e.dots[i / 64] |= uint64_t{1} << (i % 64);
    if (p[i] >= 'A' && p[i] <= 'Z') e.upper = true;
  }
  return e;
}

using ScanFn = bool (*)(const char*, size_t, uint64_t*);

void check_all_lengths(ScanFn scan, const char* what) {
  // Dots, both ends of the upper-case range and their neighbours, lower case, digits, bytes
  // with the top bit set (signed compares must not take them for letters), and NUL.
  static constexpr std::array<char, 14> kBytes = {'.', 'A', 'Z',    '@',    '[',    'a',    'z',
                                                  '0', '-', '\x80', '\xc1', '\xda', '\xff', '\0'};
  std::mt19937_64 rng(29);
  for (size_t n = 0; n <= kMaxHostPortLen; ++n) {
    for (int round = 0; round < 40; ++round) {
      auto host = std::make_unique<char[]>(n);  // exactly n bytes
      for (size_t i = 0; i < n; ++i) {
        // Mostly lower case, so many hosts have no upper-case letter at all.
        host[i] =
            rng() % 4 == 0 ? kBytes[rng() % kBytes.size()] : static_cast<char>('a' + rng() % 26);
      }
      const Expected want = by_bytes(host.get(), n);
      DotMask got{};
      const bool upper = scan(host.get(), n, got.data());
      ASSERT_EQ(upper, want.upper) << what << ": length " << n << " round " << round;
      ASSERT_EQ(got, want.dots) << what << ": length " << n << " round " << round;
    }
  }
}

TEST(HostScan, WordsMatchBytes) { check_all_lengths(scan_host_words, "words"); }

#if defined(__SSE2__)
TEST(HostScan, Sse2MatchesBytes) { check_all_lengths(scan_host_sse2, "sse2"); }
#endif

// One upper-case letter, or one dot, at every position of every length: each tail path of each
// version puts its bit in the right place.
void check_single_byte_anywhere(ScanFn scan, const char* what) {
  for (size_t n = 1; n <= kMaxHostPortLen; ++n) {
    for (size_t at = 0; at < n; ++at) {
      std::vector<char> host(n, 'a');
      host[at] = 'Q';
      DotMask dots{};
      ASSERT_TRUE(scan(host.data(), n, dots.data())) << what << ": length " << n << " at " << at;
      ASSERT_EQ(dots, DotMask{}) << what << ": length " << n << " at " << at;
      host[at] = '.';
      DotMask want{};
      want[at / 64] = uint64_t{1} << (at % 64);
      ASSERT_FALSE(scan(host.data(), n, dots.data())) << what << ": length " << n << " at " << at;
      ASSERT_EQ(dots, want) << what << ": length " << n << " at " << at;
    }
  }
}

TEST(HostScan, WordsFindOneByteAnywhere) { check_single_byte_anywhere(scan_host_words, "words"); }

#if defined(__SSE2__)
TEST(HostScan, Sse2FindsOneByteAnywhere) { check_single_byte_anywhere(scan_host_sse2, "sse2"); }
#endif

}  // namespace
}  // namespace muhafiz::rules
