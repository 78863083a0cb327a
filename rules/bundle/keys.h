// Publisher signing keys (Ed25519, RFC 8032, through libsodium) and their files. A filter pins a
// publisher's public key; the secret key stays with the publisher. File formats in
// rules/README.md ("Key files").
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace muhafiz::rules {

inline constexpr size_t kPublicKeyBytes = 32;  // crypto_sign_PUBLICKEYBYTES
inline constexpr size_t kSeedBytes = 32;       // crypto_sign_SEEDBYTES
inline constexpr size_t kSignatureBytes = 64;  // crypto_sign_BYTES
inline constexpr size_t kKeyIdBytes = 8;       // key id: BLAKE2b-256(public key)[0..8), in hex
inline constexpr size_t kMaxKeyFileBytes = 4096;

struct PublicKey {
  std::array<uint8_t, kPublicKeyBytes> bytes{};
  std::string id() const;  // 16 lower-case hex digits
  bool operator==(const PublicKey&) const = default;
};

// Holds the Ed25519 secret key; wiped when destroyed. Move-only.
class SecretKey {
 public:
  static SecretKey generate();
  static SecretKey from_seed(std::span<const uint8_t, kSeedBytes> seed);
  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();

  const PublicKey& public_key() const noexcept { return public_; }
  std::array<uint8_t, kSignatureBytes> sign(std::string_view message) const;

 private:
  friend std::string secret_key_file_text(const SecretKey& key);
  SecretKey() = default;
  std::array<uint8_t, 64> secret_{};  // libsodium layout: seed || public key
  PublicKey public_;
};

bool verify_signature(const PublicKey& key, std::string_view message,
                      std::span<const uint8_t, kSignatureBytes> signature) noexcept;

// Key file text (one key line, '#' comments).
std::string public_key_file_text(const PublicKey& key);
std::string secret_key_file_text(const SecretKey& key);
PublicKey parse_public_key_file(std::string_view text, std::string_view name);
SecretKey parse_secret_key_file(std::string_view text, std::string_view name);

// Writes both files, refusing to overwrite either; the secret key file is mode 0600.
void write_key_files(const SecretKey& key, const std::string& secret_path,
                     const std::string& public_path);
PublicKey read_public_key(const std::string& path);
// Refuses a secret key file that group or others may read, as ssh does.
SecretKey read_secret_key(const std::string& path);

// List hash key files (rules/bundle/hashing.h): one "muhafiz-hash-key 1 <64 hex>" line.
std::string hash_key_file_text(const std::string& key_hex);
void write_hash_key_file(const std::string& path, const std::string& key_hex);
std::string read_hash_key_file(const std::string& path);  // lower-case hex

}  // namespace muhafiz::rules
