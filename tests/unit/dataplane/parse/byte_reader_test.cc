#include "dataplane/parse/byte_reader.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

namespace muhafiz::parse {
namespace {

TEST(ByteReader, ReadsBigEndianIntegers) {
  const std::array<uint8_t, 15> d = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                     0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
  ByteReader r(d.data(), d.size());
  EXPECT_EQ(r.read_u8(), 0x01);
  EXPECT_EQ(r.read_u16be(), 0x0203);
  EXPECT_EQ(r.read_u24be(), 0x040506u);
  EXPECT_EQ(r.read_u32be(), 0x0708090au);
  EXPECT_EQ(r.offset(), 10u);
  EXPECT_EQ(r.remaining(), 5u);
  EXPECT_TRUE(r.ok());
  ByteReader w(d.data() + 2, 9);  // at an odd address: the loads are unaligned
  EXPECT_EQ(w.read_u64be(), 0x030405060708090aull);
  EXPECT_EQ(w.read_u8(), 0x0b);
  EXPECT_TRUE(w.ok());
}

// The same reads in a constant expression take the byte-by-byte path.
constexpr uint64_t kConstRead = [] {
  constexpr std::array<uint8_t, 8> d = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04};
  ByteReader r(d.data(), d.size());
  const uint64_t a = r.read_u16be();
  const uint64_t b = r.read_u16be();
  const uint64_t c = r.read_u32be();
  return (a << 48) | (b << 32) | c;
}();
static_assert(kConstRead == 0xdeadbeef01020304ull);

// Fields of a header taken whole: big-endian, at any offset, 0 when not wholly inside.
TEST(ByteReader, FieldsOfAWholeHeader) {
  const std::array<uint8_t, 7> d = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde};
  const Bytes h(d);
  EXPECT_EQ(be16_at(h, 0), 0x1234);
  EXPECT_EQ(be16_at(h, 5), 0xbcde);
  EXPECT_EQ(be32_at(h, 1), 0x3456789au);
  EXPECT_EQ(be32_at(h, 3), 0x789abcdeu);
  EXPECT_EQ(be16_at(h, 6), 0);  // one byte left
  EXPECT_EQ(be32_at(h, 4), 0u);
  EXPECT_EQ(be16_at(h, 8), 0);  // past the end
  EXPECT_EQ(be32_at(h, SIZE_MAX - 1), 0u);
  EXPECT_EQ(be16_at(Bytes{}, 0), 0);
}

TEST(ByteReader, ShortReadIsStickyAndReturnsZero) {
  const std::array<uint8_t, 3> d = {0xff, 0xff, 0xff};
  ByteReader r(d.data(), d.size());
  EXPECT_EQ(r.read_u32be(), 0u);  // 4 > 3
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.read_u8(), 0u);  // sticky: even a read that would fit fails
  EXPECT_TRUE(r.bytes(1).empty());
  EXPECT_TRUE(r.rest().empty());
}

TEST(ByteReader, SubReaderIsBoundedAndAdvancesParent) {
  const std::array<uint8_t, 6> d = {1, 2, 3, 4, 5, 6};
  ByteReader r(d.data(), d.size());
  ByteReader s = r.sub(2);
  EXPECT_EQ(r.read_u8(), 3);
  EXPECT_EQ(s.read_u16be(), 0x0102);
  EXPECT_EQ(s.read_u8(), 0);  // past the sub-range, not into the parent's bytes
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(r.ok());
  ByteReader too_long = r.sub(10);
  EXPECT_FALSE(too_long.ok());
  EXPECT_FALSE(r.ok());
}

TEST(ByteReader, QuicVarintAllLengths) {
  // RFC 9000 §A.1 sample encodings.
  struct Case {
    std::array<uint8_t, 8> bytes;
    size_t len;
    uint64_t value;
  };
  const Case cases[] = {
      {{0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c}, 8, 151288809941952652ull},
      {{0x9d, 0x7f, 0x3e, 0x7d}, 4, 494878333},
      {{0x7b, 0xbd}, 2, 15293},
      {{0x25}, 1, 37},
      {{0x40, 0x25}, 2, 37},
  };
  for (const Case& c : cases) {
    ByteReader r(c.bytes.data(), c.len);
    EXPECT_EQ(r.read_quic_varint(), c.value);
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.empty());
    // Every truncation of the encoding fails.
    for (size_t cut = 0; cut < c.len; ++cut) {
      ByteReader t(c.bytes.data(), cut);
      EXPECT_EQ(t.read_quic_varint(), 0u);
      EXPECT_FALSE(t.ok());
    }
  }
}

TEST(ByteReader, SeekAndPeek) {
  const std::array<uint8_t, 4> d = {9, 8, 7, 6};
  ByteReader r(d.data(), d.size());
  EXPECT_EQ(r.peek_u8(2), 7);
  EXPECT_EQ(r.peek_u8(4), 0);  // out of range: 0 and no failure
  EXPECT_TRUE(r.ok());
  r.seek(3);
  EXPECT_EQ(r.read_u8(), 6);
  r.seek(4);
  EXPECT_TRUE(r.ok());
  r.seek(5);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace muhafiz::parse
