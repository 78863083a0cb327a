// The matcher's host filter: never a false negative, few false positives, empty when empty.
#include "rules/match/tag_filter.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <unordered_set>
#include <utility>

namespace muhafiz::rules {
namespace {

TEST(TagFilter, EmptyFilterContainsNothing) {
  const TagFilter none;
  EXPECT_FALSE(none.maybe_contains(0));
  EXPECT_EQ(none.bytes(), 0u);
  const TagFilter zero(0);
  EXPECT_FALSE(zero.maybe_contains(12345));
  zero.prefetch(zero.query(1));  // harmless on an empty filter
  EXPECT_FALSE(zero.test(zero.query(1)));
}

// Every tag added is found, at sizes from one key to past the huge-page threshold; tags never
// added pass rarely (the design point is ~1.1%: 4 bits in one 64-bit word, 12 bits per key).
TEST(TagFilter, NoFalseNegativesAndFewFalsePositives) {
  for (const size_t n : {size_t{1}, size_t{7}, size_t{1000}, size_t{300'000}, size_t{1'200'000}}) {
    std::mt19937 rng(static_cast<unsigned>(n));
    std::unordered_set<uint32_t> added;
    TagFilter f(n);
    EXPECT_GE(f.bytes() * 8, n * TagFilter::kMemoryBitsPerKey);
    while (added.size() < n) {
      const auto t = static_cast<uint32_t>(rng());
      added.insert(t);
      f.add(t);
    }
    for (const uint32_t t : added) ASSERT_TRUE(f.maybe_contains(t)) << "n=" << n << " tag=" << t;
    size_t passed = 0, tried = 0;
    while (tried < 200'000) {
      const auto t = static_cast<uint32_t>(rng());
      if (added.contains(t)) continue;
      ++tried;
      passed += f.maybe_contains(t);
    }
    const double rate = static_cast<double>(passed) / static_cast<double>(tried);
    if (n >= 1000) {
      EXPECT_LT(rate, 0.016) << "n=" << n;  // 1.1% by simulation of this layout
      std::printf("n=%zu: %.2f%% of tags never added pass\n", n, 100 * rate);
      EXPECT_GT(rate, 0.0) << "n=" << n;  // not a filter that sets every bit
    }
  }
}

TEST(TagFilter, MovedFilterKeepsItsKeys) {
  TagFilter a(100);
  a.add(42);
  TagFilter b(std::move(a));
  EXPECT_TRUE(b.maybe_contains(42));
  EXPECT_FALSE(a.maybe_contains(42));  // NOLINT(bugprone-use-after-move): moved-from is empty
  TagFilter c;
  c = std::move(b);
  EXPECT_TRUE(c.maybe_contains(42));
}

}  // namespace
}  // namespace muhafiz::rules
