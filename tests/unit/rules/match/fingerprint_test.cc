// The lookup path's in-place label hashing (fp::extend_in) must give the compiler's value
// (fp::extend over a copied label) for every label of every host, whatever its length and
// position: a difference is a listed name that never matches.
#include "rules/match/fingerprint.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "rules/match/snapshot_format.h"

namespace muhafiz::rules::fp {
namespace {

TEST(Fingerprint, InPlaceLabelHashEqualsCopiedLabelHash) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20000; ++round) {
    // 1-5 labels of 0-40 bytes: hosts shorter and longer than one 8-byte word, labels of one,
    // two and three 16-byte chunks, and empty labels ("a..b").
    std::string host;
    const size_t labels = 1 + rng() % 5;
    for (size_t l = 0; l < labels; ++l) {
      if (l) host += '.';
      for (size_t k = rng() % 41; k > 0; --k) host += static_cast<char>('a' + rng() % 26);
    }
    // The string ends exactly at the host (a heap copy of its own size), so a read past the end
    // is caught under AddressSanitizer.
    const std::vector<char> exact(host.begin(), host.end());
    const std::string_view s(exact.data(), exact.size());
    uint64_t in_place = root(99), copied = root(99);
    size_t end = s.size();
    while (true) {
      size_t begin = end;
      while (begin > 0 && s[begin - 1] != '.') --begin;
      const std::string label(s.substr(begin, end - begin));
      in_place = extend_in(in_place, s, begin, end);
      copied = extend(copied, label.data(), label.size());
      ASSERT_EQ(in_place, copied) << host << " label at " << begin;
      if (begin == 0) break;
      end = begin - 1;
    }
    ASSERT_EQ(in_place, of_name(99, host)) << host;
  }
}

// The fingerprints are stored in snapshots (slot tags), so they are part of the file format:
// these values may change only together with snapshot::kFormatVersion (rules/README.md).
TEST(Fingerprint, ValuesArePinnedToTheFormatVersion) {
  static_assert(snapshot::kFormatVersion == 3, "new format: re-pin the values below");
  EXPECT_EQ(of_name(7, "www.example.com"), 0x500ecd826de4e68bull);
  EXPECT_EQ(of_name(7, "a-label-longer-than-sixteen-bytes.example.co.uk"), 0xb3cdd8ddae38670eull);
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(of_bytes(7, v6, sizeof v6), 0xec978b0839786df0ull);
}

}  // namespace
}  // namespace muhafiz::rules::fp
