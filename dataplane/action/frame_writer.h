// The one checked cursor for writing reply frames, the counterpart of parse::ByteReader.
// Reply code writes only through it; no other code in dataplane/action indexes the output.
//
// Overflow is sticky: once a write does not fit, ok() is false and nothing more is stored, but
// size() keeps counting, so the same code measures a text before writing it (a writer over an
// empty span) and reports how large a buffer would have been.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dataplane/parse/byte_reader.h"

namespace muhafiz::action {

class FrameWriter {
 public:
  constexpr explicit FrameWriter(std::span<uint8_t> out) noexcept : out_(out) {}

  [[nodiscard]] constexpr bool ok() const noexcept { return ok_; }
  // Bytes written, or that would have been written had the buffer been large enough.
  [[nodiscard]] constexpr size_t size() const noexcept { return pos_; }

  constexpr void u8(uint8_t v) noexcept {
    if (take(1)) out_[pos_ - 1] = v;
  }
  constexpr void u16be(uint16_t v) noexcept {
    u8(static_cast<uint8_t>(v >> 8));
    u8(static_cast<uint8_t>(v));
  }
  constexpr void u32be(uint32_t v) noexcept {
    u16be(static_cast<uint16_t>(v >> 16));
    u16be(static_cast<uint16_t>(v));
  }
  constexpr void bytes(parse::Bytes data) noexcept {
    if (!take(data.size())) return;
    for (size_t i = 0; i < data.size(); ++i) out_[pos_ - data.size() + i] = data[i];
  }
  constexpr void text(std::string_view s) noexcept {
    if (!take(s.size())) return;
    for (size_t i = 0; i < s.size(); ++i) out_[pos_ - s.size() + i] = static_cast<uint8_t>(s[i]);
  }
  constexpr void zeros(size_t n) noexcept {
    if (!take(n)) return;
    for (size_t i = pos_ - n; i < pos_; ++i) out_[i] = 0;
  }
  // Decimal digits of v, no leading zeros.
  constexpr void decimal(size_t v) noexcept {
    char digits[20] = {};
    size_t n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0) u8(static_cast<uint8_t>(digits[--n]));
  }

  // Overwrites two bytes written earlier (a length or checksum known only later). Ignored when
  // `at` was never stored: the writer has failed then and nothing it holds is used.
  constexpr void patch_u16be(size_t at, uint16_t v) noexcept {
    if (!ok_ || at + 2 > pos_) return;
    out_[at] = static_cast<uint8_t>(v >> 8);
    out_[at + 1] = static_cast<uint8_t>(v);
  }
  // The bytes written in [from, from + n); empty unless all of them were stored.
  [[nodiscard]] constexpr parse::Bytes written(size_t from, size_t n) const noexcept {
    if (!ok_ || from > pos_ || n > pos_ - from) return {};
    return parse::Bytes(out_).subspan(from, n);
  }
  // Same, for in-place edits of a header already written (MAC swap).
  [[nodiscard]] constexpr std::span<uint8_t> writable(size_t from, size_t n) noexcept {
    if (!ok_ || from > pos_ || n > pos_ - from) return {};
    return out_.subspan(from, n);
  }

 private:
  constexpr bool take(size_t n) noexcept {
    pos_ += n;
    if (!ok_ || pos_ > out_.size()) {
      ok_ = false;
      return false;
    }
    return true;
  }

  std::span<uint8_t> out_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace muhafiz::action
