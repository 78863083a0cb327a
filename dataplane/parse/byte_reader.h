// The one checked cursor over packet bytes. Every decoder reads through it; no other
// code in dataplane/parse does pointer arithmetic on packet data.
//
// Errors are sticky: once a read runs past the end, ok() is false, every later read
// returns zero / an empty span, and the caller checks ok() once at a convenient point.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

namespace muhafiz::parse {

using Bytes = std::span<const uint8_t>;

// A big-endian value loaded from memory, in host order.
template <typename T>
T be_to_host(T v) noexcept {
  if constexpr (std::endian::native == std::endian::big) {
    return v;
  } else if constexpr (sizeof(T) == 2) {
    return __builtin_bswap16(v);
  } else if constexpr (sizeof(T) == 4) {
    return __builtin_bswap32(v);
  } else {
    return __builtin_bswap64(v);
  }
}

// A big-endian field at `off` inside a header the caller took whole (ByteReader::bytes), so a
// fixed header costs one bounds check instead of one per field; 0 when the field is not inside.
template <typename T>
T be_at(Bytes h, size_t off) noexcept {
  if (off > h.size() || h.size() - off < sizeof(T)) return 0;
  T v;
  std::memcpy(&v, h.data() + off, sizeof(T));
  return be_to_host(v);
}
inline uint16_t be16_at(Bytes h, size_t off) noexcept { return be_at<uint16_t>(h, off); }
inline uint32_t be32_at(Bytes h, size_t off) noexcept { return be_at<uint32_t>(h, off); }

class ByteReader {
 public:
  constexpr ByteReader() noexcept = default;
  constexpr explicit ByteReader(Bytes data) noexcept : data_(data) {}
  constexpr ByteReader(const uint8_t* data, size_t len) noexcept : data_(data, len) {}

  [[nodiscard]] constexpr bool ok() const noexcept { return ok_; }
  [[nodiscard]] constexpr size_t offset() const noexcept { return pos_; }
  [[nodiscard]] constexpr size_t size() const noexcept { return data_.size(); }
  [[nodiscard]] constexpr size_t remaining() const noexcept { return data_.size() - pos_; }
  [[nodiscard]] constexpr bool empty() const noexcept { return remaining() == 0; }
  [[nodiscard]] constexpr bool has(size_t n) const noexcept { return ok_ && remaining() >= n; }
  // The whole buffer this reader walks (for decoders that follow offsets, e.g. DNS pointers).
  [[nodiscard]] constexpr Bytes whole() const noexcept { return data_; }

  // Marks the reader failed (a decoder found a semantic error it wants to be sticky).
  constexpr void fail() noexcept { ok_ = false; }

  constexpr uint8_t read_u8() noexcept {
    if (!take(1)) return 0;
    return data_[pos_ - 1];
  }
  constexpr uint16_t read_u16be() noexcept { return static_cast<uint16_t>(read_be<2>()); }
  constexpr uint32_t read_u24be() noexcept { return static_cast<uint32_t>(read_be<3>()); }
  constexpr uint32_t read_u32be() noexcept { return static_cast<uint32_t>(read_be<4>()); }
  constexpr uint64_t read_u64be() noexcept { return read_be<8>(); }
  constexpr uint16_t read_u16le() noexcept {
    const uint16_t lo = read_u8();
    const uint16_t hi = read_u8();
    return static_cast<uint16_t>(lo | (hi << 8));
  }
  constexpr uint32_t read_u32le() noexcept {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(read_u8()) << (8 * i);
    return v;
  }

  // QUIC variable-length integer (RFC 9000 §16): two high bits give the length.
  constexpr uint64_t read_quic_varint() noexcept {
    if (!has(1)) {
      ok_ = false;
      return 0;
    }
    const size_t len = size_t{1} << (data_[pos_] >> 6);
    if (!has(len)) {
      ok_ = false;
      return 0;
    }
    uint64_t v = data_[pos_] & 0x3fu;
    for (size_t i = 1; i < len; ++i) v = (v << 8) | data_[pos_ + i];
    pos_ += len;
    return v;
  }

  // Returns the next n bytes and advances; an empty span (and failure) when short.
  constexpr Bytes bytes(size_t n) noexcept {
    if (!take(n)) return {};
    return data_.subspan(pos_ - n, n);
  }
  // A reader over the next n bytes (advancing this one past them).
  constexpr ByteReader sub(size_t n) noexcept {
    ByteReader r(bytes(n));
    if (!ok_) r.ok_ = false;
    return r;
  }
  constexpr void skip(size_t n) noexcept { (void)take(n); }
  // Everything not read yet, without advancing.
  [[nodiscard]] constexpr Bytes rest() const noexcept {
    return ok_ ? data_.subspan(pos_) : Bytes{};
  }
  // The byte `ahead` positions from the cursor, without advancing; 0 when out of range.
  [[nodiscard]] constexpr uint8_t peek_u8(size_t ahead = 0) const noexcept {
    return (ok_ && ahead < remaining()) ? data_[pos_ + ahead] : 0;
  }
  // Moves the cursor to an absolute offset (fails when past the end).
  constexpr void seek(size_t off) noexcept {
    if (off > data_.size()) {
      ok_ = false;
      return;
    }
    pos_ = off;
  }

 private:
  constexpr bool take(size_t n) noexcept {
    if (!ok_ || n > remaining()) {
      ok_ = false;
      return false;
    }
    pos_ += n;
    return true;
  }
  // Every decoder reads its header fields through this, so a 2-, 4- or 8-byte field is one
  // load and one byte swap rather than a loop of shifts (decode_packet spent ~100 instructions
  // a packet here by callgrind).
  template <size_t N>
  constexpr uint64_t read_be() noexcept {
    if (!take(N)) return 0;
    if constexpr (N == 2 || N == 4 || N == 8) {
      using T =
          std::conditional_t<N == 2, uint16_t, std::conditional_t<N == 4, uint32_t, uint64_t>>;
      if (!std::is_constant_evaluated()) return be_at<T>(data_, pos_ - N);
    }
    const uint8_t* p = data_.data() + (pos_ - N);
    uint64_t v = 0;
    for (size_t i = 0; i < N; ++i) v = (v << 8) | p[i];
    return v;
  }

  Bytes data_{};
  size_t pos_ = 0;
  bool ok_ = true;
};

// Views bytes as characters (packet text such as HTTP headers or SNI).
inline std::string_view as_chars(Bytes b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace muhafiz::parse
