// One pass over a host's bytes for the matcher: where its dots are (bit i of `dots` set when
// byte i is '.') and whether it holds an upper-case ASCII letter. Two versions give the same
// answer: sixteen bytes at a time with SSE2 (every x86-64 CPU has it), and eight at a time in a
// 64-bit word (ascii_word.h) elsewhere. host_scan_test holds them to each other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "rules/match/ascii_word.h"
#include "rules/match/fingerprint.h"

namespace muhafiz::rules {

// dots holds (n + 63) / 64 words, zeroed by the caller. Reads only p[0, n).
inline bool scan_host_words(const char* p, size_t n, uint64_t* dots) noexcept {
  // Bytes above the end of a short word are zero: neither upper case nor a dot.
  uint64_t any_upper = 0;
  auto scan = [&](uint64_t w, size_t i) {
    any_upper |= ascii::upper_bytes(w);
    // Gather the eight dot flags (0x80 per byte) into one byte, bit k from byte k: the products
    // of distinct bits land on distinct positions, so nothing carries into the top byte.
    const uint64_t byte_bits = ((ascii::bytes_equal(w, '.') >> 7) * 0x0102040810204080ull) >> 56;
    dots[i / 64] |= byte_bits << (i % 64);
  };
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    scan(w, i);
  }
  if (i < n) scan(fp::load_tail_before(p, i, n), i);  // the last 1-7 bytes
  return any_upper != 0;
}

#if defined(__SSE2__)
inline bool scan_host_sse2(const char* p, size_t n, uint64_t* dots) noexcept {
  const __m128i dot = _mm_set1_epi8('.');
  // 'A'-'Z' moved to the bottom of the signed range: -128 to -103.
  const __m128i to_bottom = _mm_set1_epi8(static_cast<char>(0x80 - 'A'));
  const __m128i above_z = _mm_set1_epi8(static_cast<char>(-128 + 26));
  uint32_t any_upper = 0;
  // Chunks start at multiples of 16, so a chunk's 16 bits never straddle two words of `dots`.
  auto put = [&](__m128i v, size_t i, unsigned drop) {
    const auto d = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, dot))) >> drop;
    const auto u = static_cast<uint32_t>(
                       _mm_movemask_epi8(_mm_cmplt_epi8(_mm_add_epi8(v, to_bottom), above_z))) >>
                   drop;
    dots[i / 64] |= uint64_t{d} << (i % 64);
    any_upper |= u;
  };
  size_t i = 0;
  for (; i + 16 <= n; i += 16) put(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)), i, 0);
  if (i == n) return any_upper != 0;
  if (n >= 16) {
    // The last 16 bytes, of which those before i were seen: drop their bits.
    put(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16)), i,
        static_cast<unsigned>(i + 16 - n));
  } else {
    // A host under 16 bytes (i is 0): two words, zero past the end.
    uint64_t lo = 0, hi = 0;
    if (n >= 8) {
      std::memcpy(&lo, p, 8);
      if (n > 8) hi = fp::load_tail_before(p, 8, n);
    } else {
      lo = fp::load_tail_before(p, 0, n);
    }
    put(_mm_set_epi64x(static_cast<long long>(hi), static_cast<long long>(lo)), 0, 0);
  }
  return any_upper != 0;
}
#endif

// What the matcher calls.
inline bool scan_host(const char* p, size_t n, uint64_t* dots) noexcept {
#if defined(__SSE2__)
  return scan_host_sse2(p, n, dots);
#else
  return scan_host_words(p, n, dots);
#endif
}

}  // namespace muhafiz::rules
