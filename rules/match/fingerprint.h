// Seeded 64-bit fingerprints for the compiled tables. Host names are hashed label by label
// from the right (fp(example.com) = mix(fp(com), "example")), so one right-to-left pass over
// an observed name yields the fingerprint of every suffix the walk needs. Not cryptographic:
// the tables confirm every candidate by comparing the stored bytes, so a collision costs one
// compare, never a false match.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace muhafiz::rules::fp {

// 64x64->128 multiply folded to 64 bits: cheap, and every input bit reaches every output bit.
__extension__ typedef unsigned __int128
    Uint128;  // GCC/Clang extension; __extension__ keeps -Wpedantic quiet
inline uint64_t fold_mul(uint64_t a, uint64_t b) noexcept {
  const Uint128 p = static_cast<Uint128>(a) * b;
  return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
}

inline constexpr uint64_t kMulA = 0x9e3779b97f4a7c15ull;  // 2^64 / golden ratio, odd
inline constexpr uint64_t kMulB = 0xd6e8feb86659fd93ull;  // odd constant with balanced bits

// The first n bytes (0-8) at p as a little-endian word, zero above them.
inline uint64_t load_upto8(const char* p, size_t n) noexcept {
  uint64_t w = 0;
  for (size_t k = 0; k < n; ++k) w |= static_cast<uint64_t>(static_cast<uint8_t>(p[k])) << (8 * k);
  return w;
}

// w with only its low n bytes (0-8) kept: a table, so no shift by 64 and no branch.
inline uint64_t keep_low(uint64_t w, size_t n) noexcept {
  static constexpr uint64_t kKeep[9] = {0,
                                        0xffull,
                                        0xffffull,
                                        0xffffffull,
                                        0xffffffffull,
                                        0xffffffffffull,
                                        0xffffffffffffull,
                                        0xffffffffffffffull,
                                        ~uint64_t{0}};
  return w & kKeep[n];
}

// A label is absorbed 16 bytes at a time (w0 = bytes 0-7, w1 = bytes 8-15 of the chunk, zero
// past the label's end), then its length is mixed in. Most labels are one chunk: two multiplies
// in all (wyhash's shape: Wang Yi, https://github.com/wangyi-fudan/wyhash). The running hash
// goes into both factors, so no label bytes alone can zero the product for every seed.
inline uint64_t absorb(uint64_t h, uint64_t w0, uint64_t w1) noexcept {
  return fold_mul(w0 ^ h ^ kMulA, w1 ^ h);
}
inline uint64_t finish(uint64_t h, size_t len) noexcept { return fold_mul(h ^ len, kMulB); }

// Fingerprint of the parent suffix extended by one more label on the left. Reads only
// label[0, len).
inline uint64_t extend(uint64_t parent, const char* label, size_t len) noexcept {
  uint64_t h = parent;
  size_t i = 0;
  do {
    const size_t left = len - i;  // 0 only for an empty label
    const uint64_t w0 = load_upto8(label + i, left < 8 ? left : 8);
    const uint64_t w1 = left > 8 ? load_upto8(label + i + 8, left < 16 ? left - 8 : 8) : 0;
    h = absorb(h, w0, w1);
    i += 16;
  } while (i < len);
  return finish(h, len);
}

// Bytes [i, end) of a string starting at p (1-7 of them) as load_upto8 gives them, reading only
// inside [p, p + end): one 8-byte load ending at `end` and shifted down, or byte by byte when the
// string is shorter than a word.
inline uint64_t load_tail_before(const char* p, size_t i, size_t end) noexcept {
  if (end < 8) return load_upto8(p + i, end - i);
  uint64_t w;
  std::memcpy(&w, p + end - 8, 8);
  return w >> (8 * (8 - (end - i)));
}

// Same value as extend(parent, s.data() + begin, end - begin) for the label s[begin, end), read
// where it lies in s with no copy and no padding. A label of 1-16 bytes in a string of at least
// 8 (nearly all of them) takes two 8-byte loads whose offsets are clamped to stay inside s, then
// shifts and masks, with no branch on where in that range its length falls. Others (empty,
// longer, or in a string under 8 bytes) take extend().
inline uint64_t extend_in(uint64_t parent, std::string_view s, size_t begin, size_t end) noexcept {
  const size_t n = s.size();
  const size_t len = end - begin;
  if (n >= 8 && len - 1 < 16) [[likely]] {  // 1 <= len <= 16, so begin <= n - 1
    const char* p = s.data();
    const size_t o0 = std::min(begin, n - 8);
    const size_t b1 = std::min(begin + 8, n - 1);  // bytes 8-15; any in-bounds byte when len <= 8
    const size_t o1 = std::min(b1, n - 8);
    uint64_t w0, w1;
    std::memcpy(&w0, p + o0, 8);
    std::memcpy(&w1, p + o1, 8);
    w0 = keep_low(w0 >> (8 * (begin - o0)), len < 8 ? len : 8);
    w1 = keep_low(w1 >> (8 * (b1 - o1)), len > 8 ? len - 8 : 0);
    return finish(absorb(parent, w0, w1), len);
  }
  return extend(parent, s.data() + begin, len);
}

// The root: what the rightmost label extends.
inline uint64_t root(uint64_t seed) noexcept { return fold_mul(seed ^ kMulB, kMulA); }

// Fingerprint of a whole name, label-aligned like the walk in the matcher.
inline uint64_t of_name(uint64_t seed, std::string_view name) noexcept {
  uint64_t h = root(seed);
  size_t end = name.size();
  while (true) {
    size_t begin = end;
    while (begin > 0 && name[begin - 1] != '.') --begin;
    h = extend(h, name.data() + begin, end - begin);
    if (begin == 0) return h;
    end = begin - 1;
  }
}

// Fingerprint of a fixed-size binary key (IP prefixes, one table per prefix length).
inline uint64_t of_bytes(uint64_t seed, const uint8_t* p, size_t n) noexcept {
  return extend(root(seed), reinterpret_cast<const char*>(p), n);
}

// The 32 bits the tables keep, and the home slot they imply (multiply-shift range reduction:
// monotonic in the tag, so slots are sorted by tag and a probe stops at the first larger tag).
inline uint32_t tag_of(uint64_t fingerprint) noexcept {
  return static_cast<uint32_t>(fingerprint >> 32);
}
inline uint32_t home_of(uint32_t tag, uint32_t capacity) noexcept {
  return static_cast<uint32_t>((static_cast<uint64_t>(tag) * capacity) >> 32);
}

}  // namespace muhafiz::rules::fp
