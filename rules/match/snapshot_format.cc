#include "rules/match/snapshot_format.h"

#include <sodium.h>

#include <cstring>

namespace muhafiz::rules::snapshot {

std::string_view section_name(SectionId id) noexcept {
  switch (id) {
    case SectionId::kStrings:
      return "strings";
    case SectionId::kLists:
      return "lists";
    case SectionId::kKeyGroups:
      return "key groups";
    case SectionId::kEntries:
      return "entries";
    case SectionId::kHostSlots:
      return "host slots";
    case SectionId::kHostHits:
      return "host hits";
    case SectionId::kHashedSlots:
      return "hashed slots";
    case SectionId::kHashedHits:
      return "hashed hits";
    case SectionId::kIpTables:
      return "ip tables";
    case SectionId::kIpSlots:
      return "ip slots";
    case SectionId::kIpHits:
      return "ip hits";
    case SectionId::kPatternHost:
      return "host patterns";
    case SectionId::kPatternUrl:
      return "url patterns";
    case SectionId::kCount:
      break;
  }
  return "unknown";
}

std::array<uint8_t, kChecksumSize> compute_checksum(std::span<const uint8_t> file) noexcept {
  constexpr size_t at = offsetof(Header, checksum);
  static constexpr uint8_t kZeros[kChecksumSize] = {};
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, kChecksumSize);
  if (file.size() >= at + kChecksumSize) {
    crypto_generichash_update(&st, file.data(), at);
    crypto_generichash_update(&st, kZeros, kChecksumSize);
    crypto_generichash_update(&st, file.data() + at + kChecksumSize,
                              file.size() - at - kChecksumSize);
  } else {
    crypto_generichash_update(&st, file.data(), file.size());
  }
  std::array<uint8_t, kChecksumSize> out{};
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

std::string derived_entry_id(std::string_view kind, std::string_view value) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, reinterpret_cast<const uint8_t*>(kind.data()), kind.size());
  crypto_hash_sha256_update(&st, reinterpret_cast<const uint8_t*>(":"), 1);
  crypto_hash_sha256_update(&st, reinterpret_cast<const uint8_t*>(value.data()), value.size());
  uint8_t md[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, md);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (size_t i = 0; i < 8; ++i) {
    id += kHex[md[i] >> 4];
    id += kHex[md[i] & 0xf];
  }
  return id;
}

void seal(std::span<uint8_t> file) noexcept {
  if (file.size() < sizeof(Header)) return;
  const auto sum = compute_checksum(file);
  std::memcpy(file.data() + offsetof(Header, checksum), sum.data(), sum.size());
}

}  // namespace muhafiz::rules::snapshot
