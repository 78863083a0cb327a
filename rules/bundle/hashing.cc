#include "rules/bundle/hashing.h"

#include <sodium.h>

#include <stdexcept>

namespace muhafiz::rules {

static_assert(kHashKeyBytes == crypto_generichash_KEYBYTES);
static_assert(kEntryHashBytes >= crypto_generichash_BYTES_MIN &&
              kEntryHashBytes <= crypto_generichash_BYTES_MAX);

std::array<uint8_t, kEntryHashBytes> keyed_hash(std::span<const uint8_t, kHashKeyBytes> key,
                                                std::string_view canonical) noexcept {
  std::array<uint8_t, kEntryHashBytes> out{};
  // crypto_generichash cannot fail with these sizes (checked above).
  crypto_generichash(out.data(), out.size(),
                     reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(),
                     key.data(), key.size());
  return out;
}

std::string hashed_entry_value(const std::string& key_hex, std::string_view canonical) {
  const auto key = parse_hash_key(key_hex);
  const auto h = keyed_hash(key, canonical);
  return to_hex(h);
}

void init_sodium() {
  // sodium_init() is idempotent and thread-safe; it returns 1 when already initialised.
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (const uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool from_hex(std::string_view hex, std::span<uint8_t> out) noexcept {
  if (hex.size() != 2 * out.size()) return false;
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return true;
}

bool is_lower_hex(std::string_view s, size_t bytes) noexcept {
  if (s.size() != 2 * bytes) return false;
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::array<uint8_t, kHashKeyBytes> parse_hash_key(std::string_view key_hex) {
  std::array<uint8_t, kHashKeyBytes> key{};
  if (!from_hex(key_hex, key)) {
    throw std::invalid_argument("a list hash key is " + std::to_string(2 * kHashKeyBytes) +
                                " hex digits (32 bytes)");
  }
  return key;
}

std::string generate_hash_key_hex() {
  init_sodium();
  std::array<uint8_t, kHashKeyBytes> key{};
  randombytes_buf(key.data(), key.size());
  std::string hex = to_hex(key);
  sodium_memzero(key.data(), key.size());
  return hex;
}

}  // namespace muhafiz::rules
