// The eight-bytes-at-a-time byte classes against their one-byte definitions: every byte value
// at every position of the word, with the other seven bytes random.
#include "rules/match/ascii_word.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace muhafiz::rules::ascii {
namespace {

uint8_t byte_at(uint64_t w, int k) { return static_cast<uint8_t>(w >> (8 * k)); }

TEST(AsciiWord, EveryByteAtEveryPosition) {
  std::mt19937_64 rng(11);
  for (int pos = 0; pos < 8; ++pos) {
    for (int v = 0; v < 256; ++v) {
      for (int round = 0; round < 8; ++round) {
        uint64_t w = rng();
        w = (w & ~(uint64_t{0xff} << (8 * pos))) | (static_cast<uint64_t>(v) << (8 * pos));
        const uint64_t up = upper_bytes(w), dot = bytes_equal(w, '.'), low = lower(w);
        for (int k = 0; k < 8; ++k) {
          const uint8_t b = byte_at(w, k);
          const bool is_upper = b >= 'A' && b <= 'Z';
          ASSERT_EQ(byte_at(up, k), is_upper ? 0x80 : 0) << "byte " << int{b} << " at " << k;
          ASSERT_EQ(byte_at(dot, k), b == '.' ? 0x80 : 0) << "byte " << int{b} << " at " << k;
          ASSERT_EQ(byte_at(low, k), is_upper ? b + ('a' - 'A') : b) << "byte " << int{b};
        }
      }
    }
  }
  static_assert(lower(0x5a41'2e7a'615b'4060ull) == 0x7a61'2e7a'615b'4060ull);  // "`@[az.AZ"
}

}  // namespace
}  // namespace muhafiz::rules::ascii
