// The compiled ruleset file ("snapshot"): one header, then sections of fixed-size records
// that the matcher uses in place (one read, no per-entry parsing). Layout in rules/README.md
// ("Compiler, snapshot and matcher"). Every record is trivially copyable, little-endian, and
// every section starts on a kSectionAlign boundary so the records can be read where they lie.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace muhafiz::rules::snapshot {

static_assert(std::endian::native == std::endian::little,
              "snapshots are little-endian and read in place; a big-endian port needs byte swaps");

inline constexpr std::array<char, 8> kMagic = {'M', 'U', 'H', 'A', 'F', 'I', 'Z', 'R'};
// Bump on any change of a record or of a section's meaning; old files are refused, not guessed.
inline constexpr uint32_t kFormatVersion = 3;
inline constexpr size_t kSectionAlign = 64;  // cache line: slots never straddle two lines
inline constexpr size_t kChecksumSize = 32;  // BLAKE2b-256

enum class SectionId : uint32_t {
  kStrings,      // length-prefixed strings (StrRef points here)
  kLists,        // ListRecord per list, in ruleset order
  kKeyGroups,    // 32-byte hash keys, one per distinct ListMeta::hash_key
  kEntries,      // EntryRecord per entry, lists back to back
  kHostSlots,    // HostSlot table over host names (domain, exact, url hosts)
  kHostHits,     // runs of Hit for names with several entries
  kHashedSlots,  // Slot table over 16-byte digests
  kHashedHits,   // HashedHit per (digest, entry)
  kIpTables,     // IpTable per prefix length present, longest first
  kIpSlots,      // the IpTables' Slot tables, back to back
  kIpHits,       // IpHit per (prefix, entry)
  kPatternHost,  // serialized Hyperscan block-mode database over the host (may be empty)
  kPatternUrl,   // serialized Hyperscan vectored database over {host, path} (may be empty)
  kCount
};
inline constexpr size_t kSectionCount = static_cast<size_t>(SectionId::kCount);
std::string_view section_name(SectionId id) noexcept;

struct Section {
  uint64_t offset = 0;  // from the start of the file
  uint64_t size = 0;    // bytes
};

struct Header {
  char magic[8];
  uint32_t format_version;
  uint32_t header_size;  // sizeof(Header)
  uint64_t file_size;
  uint8_t checksum[kChecksumSize];  // BLAKE2b-256 of the whole file with this field zeroed
  uint64_t hash_seed;               // seed of rules/match/fingerprint.h
  uint32_t list_count;
  uint32_t entry_count;
  uint32_t host_capacity;    // home range of the host slot table (slots may run past it)
  uint32_t hashed_capacity;  // same for the hashed table
  uint32_t kind_counts[8];   // entries per EntryKind
  uint32_t reserved[16];
  Section sections[kSectionCount];
};
static_assert(sizeof(Header) == 384 && std::is_trivially_copyable_v<Header>);

// Offset into kStrings of a string stored as a 1-byte length (< 0x80) or a 2-byte big-endian
// length with the top bit set (< 0x8000), then the bytes. Offset 0 is always the empty string.
using StrRef = uint32_t;
inline constexpr size_t kMaxStringLen = 0x7fff;
inline constexpr StrRef kIdIsValue = UINT32_MAX;  // EntryRecord::id: the id is the value text
// EntryRecord::id: the id is the one rules/list derives when a source gives none (first 8 bytes
// of SHA-256("<kind>:<value>") in hex); recomputed for display instead of stored.
inline constexpr StrRef kIdDerived = UINT32_MAX - 1;

// Decodes a StrRef; false (and *out untouched) when it does not lie inside the arena.
inline bool read_string(std::span<const uint8_t> arena, StrRef ref,
                        std::string_view* out) noexcept {
  if (ref >= arena.size()) return false;
  size_t len = arena[ref];
  size_t start = ref + 1;
  if (len & 0x80) {
    if (start >= arena.size()) return false;
    len = ((len & 0x7f) << 8) | arena[start];
    ++start;
  }
  if (len > arena.size() - start) return false;
  *out = std::string_view(reinterpret_cast<const char*>(arena.data() + start), len);
  return true;
}

inline constexpr uint16_t kNoKeyGroup = UINT16_MAX;
enum ListFlag : uint8_t { kListAlert = 1, kListShadow = 2 };

struct ListRecord {
  StrRef id, publisher, category;
  uint32_t entry_begin;  // global index of the list's first entry
  uint32_t entry_count;
  uint16_t key_group;  // index into kKeyGroups, kNoKeyGroup when the list has no hash key
  uint8_t default_action;
  uint8_t flags;  // ListFlag bits
  uint64_t version;
  int64_t created;
  int64_t expires;
};
static_assert(sizeof(ListRecord) == 48 && std::is_trivially_copyable_v<ListRecord>);

// Action byte of a record: low bits the Action, kActionOverride when the entry overrides the
// list's default.
inline constexpr uint8_t kActionMask = 0x0f;
inline constexpr uint8_t kActionOverride = 0x80;

struct EntryRecord {
  StrRef id;       // or kIdIsValue / kIdDerived
  uint32_t value;  // plain kinds: StrRef of the canonical value; hashed: index into kHashedHits
  StrRef evidence;
  uint16_t list;
  uint8_t kind;    // EntryKind
  uint8_t action;  // resolved Action | kActionOverride
};
static_assert(sizeof(EntryRecord) == 16 && std::is_trivially_copyable_v<EntryRecord>);

// Sorted-tag tables: each slot holds 32 bits of its key's fingerprint (the tag); slots are
// sorted by tag and each sits at or after its home (fp::home_of), with no empty slot in
// between, so a probe scans from the home until an empty slot or a larger tag.
inline constexpr uint32_t kEmptySlot = UINT32_MAX;

// Hashed and IP tables: the slot names the first hit of its key's run.
struct Slot {
  uint32_t tag;
  uint32_t record;  // kEmptySlot when empty
};
static_assert(sizeof(Slot) == 8);

// The host table holds the name and, for the common name with one entry, the hit itself, so
// a hit costs the slot and the name bytes and nothing else. A name with several entries (a
// domain in two lists, many urls on one host) points to a run in kHostHits: a header Hit whose
// `entry` is the run length, then the hits, url hits last and sorted by path (binary search).
inline constexpr uint8_t kRunKind = 0xff;
struct HostSlot {
  uint32_t tag;
  StrRef name;     // kEmptySlot when empty
  uint32_t entry;  // the entry (global index), or for kRunKind the index of the run's header
  uint16_t list;
  uint8_t kind;  // EntryKind, or kRunKind
  uint8_t action;
};
static_assert(sizeof(HostSlot) == 16);

// Kind, list and action repeated from the entry so ranking a hit touches no other record.
struct Hit {
  uint32_t entry;
  uint16_t list;
  uint8_t kind;
  uint8_t action;
};
static_assert(sizeof(Hit) == 8);

// Runs of equal digests are contiguous; a slot names the first hit of its run.
struct HashedHit {
  uint8_t digest[16];
  uint32_t entry;
  uint16_t list;
  uint8_t kind;
  uint8_t action;
};
static_assert(sizeof(HashedHit) == 24);

// IPv4 is stored IPv4-mapped (::ffff:a.b.c.d, prefix + 96) so both families share one path.
struct IpTable {
  uint32_t slot_begin;  // into kIpSlots
  uint32_t slot_count;
  uint32_t capacity;   // home range
  uint8_t prefix_len;  // 0..128 in the mapped space
  uint8_t reserved[3];
};
static_assert(sizeof(IpTable) == 16);

struct IpHit {
  uint8_t addr[16];  // masked to prefix_len
  uint32_t entry;
  uint16_t list;
  uint8_t prefix_len;
  uint8_t action;
};
static_assert(sizeof(IpHit) == 24);

// BLAKE2b-256 of `file` with the header's checksum field taken as zeros.
std::array<uint8_t, kChecksumSize> compute_checksum(std::span<const uint8_t> file) noexcept;
// The id rules/list derives for an entry without one (16 lower-case hex digits).
std::string derived_entry_id(std::string_view kind, std::string_view value);
// Rewrites the checksum of a file whose header is in place (compiler; tests that forge files).
void seal(std::span<uint8_t> file) noexcept;

}  // namespace muhafiz::rules::snapshot
