// Byte classes of eight ASCII bytes at once, in a 64-bit word: what the matcher's host
// normalisation and the dataplane extractor's case folding both test per byte, without a branch
// per byte. Each function returns 0x80 in every byte of the class and 0 elsewhere. Adding to
// the low seven bits of a byte never carries into the next, so the bytes do not interfere.
#pragma once

#include <cstdint>

namespace muhafiz::rules::ascii {

inline constexpr uint64_t kOnes = 0x0101010101010101ull;
inline constexpr uint64_t kHigh = 0x8080808080808080ull;
inline constexpr uint64_t kLow7 = ~kHigh;

// Bytes 'A'-'Z': the low seven bits are >= 'A' and <= 'Z', and the top bit is clear.
constexpr uint64_t upper_bytes(uint64_t w) noexcept {
  const uint64_t low7 = w & kLow7;
  return (low7 + (0x80 - 'A') * kOnes) & ~(low7 + (0x7f - 'Z') * kOnes) & ~w & kHigh;
}

// Bytes equal to c: they XOR to zero with it.
constexpr uint64_t bytes_equal(uint64_t w, char c) noexcept {
  const uint64_t x = w ^ (static_cast<uint8_t>(c) * kOnes);
  return ~(((x & kLow7) + kLow7) | x) & kHigh;
}

// The word with 'A'-'Z' lowered ('a' - 'A' is 0x20, which is 0x80 >> 2).
constexpr uint64_t lower(uint64_t w) noexcept { return w | upper_bytes(w) >> 2; }

}  // namespace muhafiz::rules::ascii
