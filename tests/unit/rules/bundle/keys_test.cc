#include "rules/bundle/keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <string>

#include "rules/bundle/file_io.h"
#include "rules/bundle/hashing.h"
#include "test_files.h"

namespace muhafiz::rules {
namespace {

using testing::TempDir;
using testing::write_text;

template <size_t N>
std::array<uint8_t, N> hex_bytes(std::string_view hex) {
  std::array<uint8_t, N> out{};
  EXPECT_TRUE(from_hex(hex, out)) << hex;
  return out;
}

// Throws BundleError whose message contains `needle`.
template <typename F>
void expect_error(F&& f, std::string_view needle) {
  try {
    f();
    ADD_FAILURE() << "no error, expected one containing: " << needle;
  } catch (const BundleError& e) {
    EXPECT_NE(std::string_view(e.what()).find(needle), std::string_view::npos)
        << "message: " << e.what() << "\nexpected to contain: " << needle;
  }
}

// RFC 8032 §7.1, TEST 1 (empty message): libsodium through SecretKey gives standard Ed25519.
TEST(Ed25519, Rfc8032Test1) {
  const auto seed =
      hex_bytes<32>("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  const SecretKey key = SecretKey::from_seed(seed);
  EXPECT_EQ(to_hex(key.public_key().bytes),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const auto sig = key.sign("");
  EXPECT_EQ(to_hex(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc6"
            "1e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(verify_signature(key.public_key(), "", sig));
  EXPECT_FALSE(verify_signature(key.public_key(), "x", sig));
}

// Key id = first 8 bytes of BLAKE2b-256(public key), computed outside libsodium (Python
// hashlib.blake2b(bytes(range(32)), digest_size=32)).
TEST(PublicKey, IdIsBlake2bPrefix) {
  PublicKey pk;
  for (size_t i = 0; i < pk.bytes.size(); ++i) pk.bytes[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(pk.id(), "cb2f5160fc1f7e05");
}

TEST(KeyFiles, RoundTripAndModes) {
  TempDir dir;
  const SecretKey key = SecretKey::generate();
  write_key_files(key, dir.file("pta.key"), dir.file("pta.pub"));
  struct stat st {};
  ASSERT_EQ(::stat(dir.file("pta.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir.file("pta.pub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);

  const PublicKey pub = read_public_key(dir.file("pta.pub"));
  EXPECT_EQ(pub, key.public_key());
  const SecretKey back = read_secret_key(dir.file("pta.key"));
  EXPECT_EQ(back.public_key(), key.public_key());
  EXPECT_EQ(back.sign("list"), key.sign("list"));

  // Never overwritten, the secret nor the public one.
  const SecretKey other = SecretKey::generate();
  expect_error([&] { write_key_files(other, dir.file("pta.key"), dir.file("new.pub")); },
               "already exists");
  expect_error([&] { write_key_files(other, dir.file("new.key"), dir.file("pta.pub")); },
               "already exists");
  EXPECT_EQ(read_public_key(dir.file("pta.pub")), key.public_key());
}

TEST(KeyFiles, RefusesAGroupReadableSecretKey) {
  TempDir dir;
  const SecretKey key = SecretKey::generate();
  write_key_files(key, dir.file("pta.key"), dir.file("pta.pub"));
  ASSERT_EQ(::chmod(dir.file("pta.key").c_str(), 0640), 0);
  expect_error([&] { read_secret_key(dir.file("pta.key")); }, "chmod 600");
}

TEST(KeyFiles, ParseErrorsNameTheProblem) {
  const SecretKey key = SecretKey::from_seed(std::array<uint8_t, 32>{7});
  const std::string pub = public_key_file_text(key.public_key());
  EXPECT_EQ(parse_public_key_file(pub, "p").bytes, key.public_key().bytes);

  // The id is checked against the key, so an edited key or id is caught.
  std::string edited = pub;
  edited[edited.size() - 2] = edited[edited.size() - 2] == '0' ? '1' : '0';
  expect_error([&] { parse_public_key_file(edited, "p.pub"); }, "does not match the key");
  expect_error([&] { parse_public_key_file("", "p.pub"); }, "no key line");
  expect_error([&] { parse_public_key_file("# only a comment\n", "p.pub"); }, "no key line");
  expect_error([&] { parse_public_key_file(pub + pub, "p.pub"); }, "one key line");
  expect_error([&] { parse_public_key_file(secret_key_file_text(key), "p.pub"); },
               "right kind of key file");
  expect_error([&] { parse_secret_key_file(pub, "p.key"); }, "right kind of key file");
  expect_error([&] { parse_public_key_file("muhafiz-public-key 2 ed25519 00 00\n", "p.pub"); },
               "version");
  expect_error(
      [&] { parse_public_key_file("muhafiz-public-key 1 rsa 0011223344556677 00\n", "p.pub"); },
      "only ed25519");
  expect_error(
      [&] {
        parse_public_key_file("muhafiz-public-key 1 ed25519 0011223344556677 abcd\n", "p.pub");
      },
      "64 hex digits");
  // Line numbers point at the key line.
  expect_error([&] { parse_public_key_file("# c\n\nmuhafiz-public-key 1 x\n", "p.pub"); },
               "p.pub:3:");
}

TEST(HashKeyFile, RoundTrip) {
  TempDir dir;
  const std::string key = generate_hash_key_hex();
  write_hash_key_file(dir.file("h.key"), key);
  EXPECT_EQ(read_hash_key_file(dir.file("h.key")), key);
  expect_error([&] { write_hash_key_file(dir.file("h.key"), key); }, "already exists");
  write_text(dir.file("bad.key"), "muhafiz-hash-key 1 abc\n");
  expect_error([&] { read_hash_key_file(dir.file("bad.key")); }, "64 hex digits");
  expect_error([&] { read_hash_key_file(dir.file("missing.key")); }, "cannot open");
}

}  // namespace
}  // namespace muhafiz::rules
