#include "rules/bundle/hashing.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <cctype>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "rules/bundle/utc_time.h"

namespace muhafiz::rules {
namespace {

// Key 00 01 02 ... 1f: easy to recompute anywhere.
std::array<uint8_t, kHashKeyBytes> counting_key() {
  std::array<uint8_t, kHashKeyBytes> key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);
  return key;
}

constexpr const char* kCountingKeyHex =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

TEST(KeyedHash, MatchesLibsodiumCalledDirectly) {
  init_sodium();
  const auto key = counting_key();
  for (const std::string name : {"example.com", "bad.example", "img.example.org/b/c.jpg", ""}) {
    std::array<uint8_t, 16> direct{};
    ASSERT_EQ(crypto_generichash(direct.data(), direct.size(),
                                 reinterpret_cast<const unsigned char*>(name.data()), name.size(),
                                 key.data(), key.size()),
              0);
    EXPECT_EQ(keyed_hash(key, name), direct) << name;
  }
}

// Fixed answers, computed outside libsodium (Python hashlib.blake2b(name, key=00..1f,
// digest_size=16)): a change of output length, key use or input form breaks every list.
TEST(KeyedHash, FixedValues) {
  struct Case {
    const char* canonical;
    const char* hex;
  };
  const Case cases[] = {
      {"example.com", "40a841d5da7b7aeea41ab5ac8de117b0"},
      {"bad.example", "b2a74ea7ffd56db1a49684c577aec23e"},
      {"img.example.org/b/c.jpg", "c84db630dbaa4c5da95d5fe62b89f282"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(to_hex(keyed_hash(counting_key(), c.canonical)), c.hex) << c.canonical;
    EXPECT_EQ(hashed_entry_value(kCountingKeyHex, c.canonical), c.hex) << c.canonical;
  }
}

TEST(KeyedHash, KeyAndInputBothMatter) {
  auto other = counting_key();
  other[31] ^= 1;
  EXPECT_NE(keyed_hash(counting_key(), "example.com"), keyed_hash(other, "example.com"));
  EXPECT_NE(keyed_hash(counting_key(), "example.com"), keyed_hash(counting_key(), "example.com."));
}

TEST(HashedEntryValue, RefusesBadKeys) {
  EXPECT_THROW(hashed_entry_value("", "example.com"), std::invalid_argument);
  EXPECT_THROW(hashed_entry_value(std::string(62, 'a'), "example.com"), std::invalid_argument);
  EXPECT_THROW(hashed_entry_value(std::string(66, 'a'), "example.com"), std::invalid_argument);
  EXPECT_THROW(hashed_entry_value(std::string(63, 'a') + "g", "example.com"),
               std::invalid_argument);
  // Upper-case hex is the same key.
  std::string upper = kCountingKeyHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(hashed_entry_value(upper, "example.com"), "40a841d5da7b7aeea41ab5ac8de117b0");
}

TEST(Hex, RoundTripAndStrictness) {
  const std::array<uint8_t, 4> bytes{0x00, 0x7f, 0xa0, 0xff};
  EXPECT_EQ(to_hex(bytes), "007fa0ff");
  std::array<uint8_t, 4> back{};
  ASSERT_TRUE(from_hex("007fa0ff", back));
  EXPECT_EQ(back, bytes);
  ASSERT_TRUE(from_hex("007FA0FF", back));
  EXPECT_EQ(back, bytes);
  EXPECT_FALSE(from_hex("007fa0f", back));     // odd length
  EXPECT_FALSE(from_hex("007fa0ff00", back));  // too long
  EXPECT_FALSE(from_hex("007fa0fg", back));    // not hex
  EXPECT_FALSE(from_hex("007fa0f ", back));
  EXPECT_TRUE(is_lower_hex("007fa0ff", 4));
  EXPECT_FALSE(is_lower_hex("007FA0FF", 4));  // stored hashes are lower-case only
  EXPECT_FALSE(is_lower_hex("007fa0ff", 3));
}

TEST(HashKey, GeneratedKeysAreFreshAndValid) {
  const std::string a = generate_hash_key_hex();
  const std::string b = generate_hash_key_hex();
  EXPECT_TRUE(is_lower_hex(a, kHashKeyBytes));
  EXPECT_NE(a, b);
  EXPECT_NO_THROW(parse_hash_key(a));
}

TEST(UtcTime, ParsesAndFormatsDates) {
  EXPECT_EQ(parse_utc("1970-01-01"), 0);
  EXPECT_EQ(parse_utc("2027-01-01"), 1798761600);
  EXPECT_EQ(parse_utc("2027-01-01T00:00:01Z"), 1798761601);
  EXPECT_EQ(parse_utc("2024-02-29"), 1709164800);  // leap day
  EXPECT_EQ(format_utc(1798761600), "2027-01-01");
  EXPECT_EQ(format_utc(1798761601), "2027-01-01T00:00:01Z");
  for (const char* bad :
       {"", "2027", "2027-1-1", "2027-13-01", "2023-02-29", "2027-01-01T24:00:00Z",
        "2027-01-01T00:00:00", "2027-01-01 ", "27-01-01", "2027-01-01T00:60:00Z"}) {
    EXPECT_FALSE(parse_utc(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace muhafiz::rules
