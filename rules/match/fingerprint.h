// Seeded 64-bit fingerprints for the compiled tables. Host names are hashed label by label
// from the right (fp(example.com) = mix(fp(com), "example")), so one right-to-left pass over
// an observed name yields the fingerprint of every suffix the walk needs. Not cryptographic:
// the tables confirm every candidate by comparing the stored bytes, so a collision costs one
// compare, never a false match.
#pragma once

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

// The last 1-7 bytes of a label as a little-endian word, zero above them.
inline uint64_t load_tail(const char* p, size_t n) noexcept {
  uint64_t w = 0;
  for (size_t k = 0; k < n; ++k) w |= static_cast<uint64_t>(static_cast<uint8_t>(p[k])) << (8 * k);
  return w;
}

// Fingerprint of the parent suffix extended by one more label on the left.
inline uint64_t extend(uint64_t parent, const char* label, size_t len) noexcept {
  uint64_t h = fold_mul(parent ^ (len * kMulA), kMulB);
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    std::memcpy(&w, label + i, 8);
    h = fold_mul(h ^ w, kMulA);
  }
  if (i < len) h = fold_mul(h ^ load_tail(label + i, len - i), kMulA);
  return fold_mul(h, kMulB ^ parent);
}

// Bytes [i, end) of a string starting at p (1-7 of them) as load_tail gives them, reading only
// inside [p, p + end): one 8-byte load ending at `end` and shifted down, or byte by byte when the
// string is shorter than a word.
inline uint64_t load_tail_before(const char* p, size_t i, size_t end) noexcept {
  if (end < 8) return load_tail(p + i, end - i);
  uint64_t w;
  std::memcpy(&w, p + end - 8, 8);
  return w >> (8 * (8 - (end - i)));
}

// Same value as extend(parent, s.data() + begin, end - begin) for the label s[begin, end), with
// the last 1-7 bytes read by one 8-byte load that stays inside s: forward from the tail when 8
// bytes remain in s, else backward from the label's end, else (a host under 8 bytes) byte by
// byte. The lookup path uses this on the caller's string, with no copy and no padding (a
// variable-length copy costs a libc call and a store-forwarding stall per label).
inline uint64_t extend_in(uint64_t parent, std::string_view s, size_t begin, size_t end) noexcept {
  const char* p = s.data();
  uint64_t h = fold_mul(parent ^ ((end - begin) * kMulA), kMulB);
  size_t i = begin;
  for (; i + 8 <= end; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = fold_mul(h ^ w, kMulA);
  }
  if (i < end) {
    uint64_t w;
    if (i + 8 <= s.size()) {
      std::memcpy(&w, p + i, 8);
      w &= ~uint64_t{0} >> (64 - 8 * (end - i));  // end - i is 1..7
    } else {
      w = load_tail_before(p, i, end);
    }
    h = fold_mul(h ^ w, kMulA);
  }
  return fold_mul(h, kMulB ^ parent);
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
