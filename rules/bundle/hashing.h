// Keyed hashing of list entries, so that an ISP's disk and memory never hold plaintext CSAM
// addresses. Publisher and filter compute the same function: BLAKE2b (libsodium
// crypto_generichash, RFC 7693) with a 16-byte output, keyed with the list's 32-byte key, over the
// canonical text (canonical_host() for domain/exact, CanonicalUrl::text() for url).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace muhafiz::rules {

inline constexpr size_t kHashKeyBytes = 32;    // crypto_generichash_KEYBYTES
inline constexpr size_t kEntryHashBytes = 16;  // crypto_generichash_BYTES_MIN: 128 bits
inline constexpr size_t kEntryHashHexChars = 2 * kEntryHashBytes;

// Safe on the lookup path: no allocation, no exception. Correct with or without init_sodium();
// sodium_init() only selects the fastest BLAKE2b implementation for the CPU.
std::array<uint8_t, kEntryHashBytes> keyed_hash(std::span<const uint8_t, kHashKeyBytes> key,
                                                std::string_view canonical) noexcept;

// Lower-case hex of keyed_hash(key, canonical): the value a hashed_* entry holds. Throws
// std::invalid_argument when key_hex is not 64 hex digits.
std::string hashed_entry_value(const std::string& key_hex, std::string_view canonical);

// Calls sodium_init() once; throws std::runtime_error when libsodium cannot start.
void init_sodium();

// Lower-case hex.
std::string to_hex(std::span<const uint8_t> bytes);
// Exactly 2 * out.size() hex digits (either case) into out; false otherwise (out unspecified).
bool from_hex(std::string_view hex, std::span<uint8_t> out) noexcept;
// True when s is exactly 2 * bytes lower-case hex digits: the canonical form of stored hashes.
bool is_lower_hex(std::string_view s, size_t bytes) noexcept;

// The list hash key from its hex form (ListMeta::hash_key). Throws std::invalid_argument.
std::array<uint8_t, kHashKeyBytes> parse_hash_key(std::string_view key_hex);
// A fresh random list hash key, lower-case hex.
std::string generate_hash_key_hex();

}  // namespace muhafiz::rules
