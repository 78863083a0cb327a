// Signed list bundles: one list at one version, full or as a delta from an earlier version,
// signed with the publisher's Ed25519 key. Format, digest and every check in rules/README.md
// ("Bundles"). Everything here throws BundleError with a message a list manager can act on,
// starting with the bundle's name ("pta-csam-7.bundle:5: ...").
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/bundle/file_io.h"
#include "rules/bundle/keys.h"
#include "rules/list/model.h"

namespace muhafiz::rules {

inline constexpr std::string_view kBundleMagic = "MUHAFIZ-BUNDLE";
inline constexpr uint32_t kBundleFormatVersion = 1;
inline constexpr std::string_view kSignaturePrefix = "SIGNATURE ";
inline constexpr size_t kDigestBytes = 32;  // BLAKE2b-256 list digest
// Caps on what a bundle may claim, checked before anything is allocated for it.
inline constexpr size_t kMaxBundleBytes = size_t{1} << 30;  // 1 GiB
inline constexpr size_t kMaxBundleLineBytes =
    size_t{32} * 1024;  // one entry at its field caps, escaped
inline constexpr uint64_t kMaxBundleEntries = 20'000'000;
inline constexpr size_t kMaxEntryIdBytes = 128;  // printable ASCII, as rules/list reads them
inline constexpr size_t kMaxEntryValueBytes =
    size_t{8} * 1024;  // long URLs fit, a line stays bounded
inline constexpr size_t kMaxEvidenceBytes = 1024;
inline constexpr size_t kMaxPatternBytes = 1024;  // the cap rules/list applies when reading
inline constexpr size_t kMaxMetaNameBytes = 128;  // list id, publisher, category

enum class BundleType : uint8_t { kFull, kDelta };

struct Bundle {
  BundleType type = BundleType::kFull;
  ListMeta meta;                     // the list at meta.version (a delta's new version)
  std::string digest;                // list_digest() of the full list at meta.version, hex
  uint64_t base_version = 0;         // delta only: the version it applies to
  std::string base_digest;           // delta only: list_digest() of the list it applies to
  std::vector<Entry> entries;        // full: every entry; delta: entries added or changed
  std::vector<std::string> removed;  // delta only: ids of removed entries
  std::string signer_key_id;         // from the signature line (set by verify/inspect)
};

// BLAKE2b-256 over the list's canonical text (meta but `created`, then entries sorted by id):
// equal exactly when two lists hold the same meta and entries, whatever their entry order, build
// time or transport (full or delta). Anti-rollback compares it within one version.
std::string list_digest(const List& list);

// The checks a bundle's content must pass, also run by `build` before signing: meta fields,
// unique ids, each value canonical for its kind, hashed entries only with a hash key.
void validate_list(const List& list, std::string_view name);

Bundle make_full_bundle(const List& list);
// Entries added or changed (same id, other content) and ids removed from old_list to new_list.
// Refuses different list ids and a new version not above the old one.
Bundle make_delta(const List& old_list, const List& new_list);
// The full list at the delta's version. Refuses a base of another list, version or content.
List apply_delta(const List& base, const Bundle& delta, std::string_view delta_name);
// A full bundle's list; throws for a delta.
List bundle_list(const Bundle& full, std::string_view name);

// Unsigned bundle text (every line but the signature) and the signed file content.
std::string bundle_body(const Bundle& bundle);
std::string sign_bundle_body(std::string body, const SecretKey& key);
std::string write_bundle_text(const Bundle& bundle, const SecretKey& key);

struct VerifyOptions {
  std::optional<std::string> expected_list_id;  // the list this filter subscribed to
  uint64_t min_version = 0;                     // anti-rollback: a lower version is refused
  std::string known_digest;  // the digest accepted at min_version; empty when unknown
  int64_t now = 0;           // for the expiry check; 0 = the current time
  // For history only (a delta's base, the last accepted version), never for loading a list.
  bool allow_expired = false;
};

// Checks, in order: format line, signature line, signature against the pinned key, header and
// entry schema (unknown or duplicate fields are errors), counts, entries, digest (full bundles),
// list id, expiry, rollback. Returns the bundle only when every check passed.
Bundle verify_bundle(std::string_view bytes, std::string_view name, const PublicKey& key,
                     const VerifyOptions& opts);
Bundle read_bundle(const std::string& path, const PublicKey& key, const VerifyOptions& opts);

// Every check except the signature, expiry and rollback: for display (show, diff) when no key is
// at hand. Never feed the result to a filter.
Bundle inspect_bundle(std::string_view bytes, std::string_view name);
Bundle inspect_bundle_file(const std::string& path);

struct ListDiff {
  std::vector<Entry> added;
  std::vector<Entry> removed;
  std::vector<std::pair<Entry, Entry>> changed;  // {old, new}, same id
};
ListDiff diff_lists(const List& old_list, const List& new_list);

}  // namespace muhafiz::rules
