// The matcher: a loaded snapshot, read-only and shared by every worker. `match` never
// allocates, throws or locks; each worker brings its own MatchScratch (Hyperscan scratch),
// made when the ruleset is loaded. Semantics and precedence in rules/README.md
// ("Compiler, snapshot and matcher").
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "rules/list/model.h"
#include "rules/match/ip_address.h"
#include "rules/match/ip_prefilter.h"
#include "rules/match/snapshot_format.h"
#include "rules/match/tag_filter.h"

struct hs_database;
struct hs_scratch;

namespace muhafiz::rules {

// Hosts longer than this are cut from the left at a label boundary before the walk: no list
// entry can be longer, so only names nobody can resolve lose their leftmost labels.
inline constexpr size_t kMaxHostLen = 253;  // RFC 1035 §2.3.4 (255 octets on the wire)
inline constexpr size_t kMaxHostPortLen =
    kMaxHostLen + 6;  // HTTP Host with ":65535" (RFC 3986 §3.2.3)
// Where the dots of a host (at most kMaxHostPortLen bytes) are: bit i set when byte i is '.'.
using DotMask = std::array<uint64_t, (kMaxHostPortLen + 63) / 64>;
// Path prefixes tried per request for url entries: "/", "/a/", "/a/b/", ... then the path and
// the path with its query (Safe Browsing "URLs and Hashing"). Deeper directories are not tried.
inline constexpr size_t kMaxUrlPathPrefixes = 64;
// Hashed url entries cost one BLAKE2b per (host, path) combination, so fewer are tried: the
// full host and its suffixes of 2..6 labels, times the first 8 directory prefixes, the path and
// the path with its query (Safe Browsing's own bounds are 5 hosts x 6 paths).
inline constexpr size_t kMaxHashedUrlHostLabels = 6;
inline constexpr size_t kMaxHashedUrlPathPrefixes = 8;

enum class ObservationKind : uint8_t { kDns, kTlsSni, kQuicSni, kHttp, kIp };
std::string_view to_string(ObservationKind k) noexcept;
std::optional<ObservationKind> observation_kind_from_string(std::string_view s) noexcept;

// What a worker saw. Host kinds match host entries only; kIp matches ip entries only (the
// destination of a DNS query is the resolver, so addresses are the caller's choice to look up).
struct Observation {
  ObservationKind kind = ObservationKind::kDns;
  // Canonical host (rules/list/canon.h): lower-case ASCII, A-labels, no trailing dot. The
  // matcher folds ASCII case and drops one trailing dot itself; for HTTP it drops a ":port"
  // (lists hold no ports: an entry matches on every port).
  std::string_view host;
  // HTTP only: canonical path starting with '/', then "?query" when there is one.
  std::string_view path;
  IpAddress ip;  // kIp: the destination address
};

inline constexpr uint32_t kNoIndex = UINT32_MAX;

// The decision for one observation. Precedence (rules/README.md): an allow from an enforcing
// list wins; otherwise the most specific match (url > exact > longer domain suffix > pattern;
// ip: longer prefix), ties to the earlier list, then the earlier entry.
struct Verdict {
  // An entry decided: from an enforcing list; else a url entry seen by host alone
  // (url_not_enforceable); else a shadow list's match (shadow).
  bool matched = false;
  Action action = Action::kAllow;  // of the deciding entry (override or list default)
  EntryKind kind = EntryKind::kDomain;
  uint32_t list = kNoIndex;   // index in the ruleset
  uint32_t entry = kNoIndex;  // index in that list's entries, as given to compile()
  // The block comes from an alert list, or an alert list also matched (alert_list names it,
  // the most specific one): the FIA must hear of it even when a PTA entry was more specific.
  bool alert = false;
  uint32_t alert_list = kNoIndex, alert_entry = kNoIndex;
  bool shadow = false;               // the deciding entry is from a shadow list: report only
  bool url_not_enforceable = false;  // a url entry's host matched on DNS/TLS/QUIC: report only
  // The best shadow-list match, reported even when an enforcing list decided.
  uint32_t shadow_list = kNoIndex, shadow_entry = kNoIndex;
  bool pattern_error = false;  // a Hyperscan scan failed (wrong scratch): patterns unchecked

  // What the dataplane acts on.
  bool enforce() const noexcept {
    return matched && !shadow && !url_not_enforceable && action != Action::kAllow;
  }
};

class SnapshotError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ListInfo {
  std::string_view id, publisher, category;
  uint64_t version = 0;
  int64_t created = 0, expires = 0;
  Action default_action = Action::kBlock;
  bool alert = false;
  bool shadow = false;
  uint32_t entry_count = 0;
};

struct EntryInfo {
  std::string id;
  EntryKind kind = EntryKind::kDomain;
  std::string value;  // canonical text; hashed kinds: the lower-case hex digest
  Action action = Action::kBlock;
  bool action_override = false;
  std::string evidence;
};

class Matcher;

// One per worker, made by Matcher::make_scratch and used only with that matcher. Move-only.
class MatchScratch {
 public:
  MatchScratch() = default;
  MatchScratch(MatchScratch&& other) noexcept;
  MatchScratch& operator=(MatchScratch&& other) noexcept;
  MatchScratch(const MatchScratch&) = delete;
  MatchScratch& operator=(const MatchScratch&) = delete;
  ~MatchScratch();

 private:
  friend class Matcher;
  hs_scratch* hs_ = nullptr;
  const Matcher* owner_ = nullptr;
};

class Matcher {
 public:
  // Reads the file (one read into huge-page-advised memory, made read-only) and validates it:
  // magic, format version, size, checksum over the whole file,
  // the bounds of every section and of every offset inside them. Throws SnapshotError with
  // the path and the first problem found.
  static std::unique_ptr<const Matcher> load(const std::string& path);
  // Same checks over bytes in memory (copied). `name` prefixes the messages.
  static std::unique_ptr<const Matcher> from_bytes(std::span<const uint8_t> bytes,
                                                   std::string_view name = "snapshot");
  ~Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // Throws SnapshotError when Hyperscan cannot allocate a scratch.
  MatchScratch make_scratch() const;

  Verdict match(const Observation& obs, MatchScratch& scratch) const noexcept;
  // False when no ip entry can match `ip` (match() asks this first; ip_prefilter.h).
  bool may_match_ip(const IpAddress& ip) const noexcept { return ip_filter_.may_match(ip); }

  uint32_t list_count() const noexcept { return static_cast<uint32_t>(lists_.size()); }
  ListInfo list(uint32_t index) const noexcept;  // index < list_count()
  // Not for the hot path (builds strings). Throws std::out_of_range on a bad index.
  EntryInfo entry(uint32_t list, uint32_t entry) const;
  uint32_t entry_count() const noexcept { return static_cast<uint32_t>(entries_.size()); }
  uint32_t kind_count(EntryKind k) const noexcept;
  size_t file_bytes() const noexcept { return size_; }
  size_t pattern_bytes() const noexcept;  // deserialized Hyperscan databases
  size_t filter_bytes() const noexcept { return host_filter_.bytes(); }  // built at load

 private:
  struct Storage;
  struct Accumulator;
  Matcher();
  static std::unique_ptr<const Matcher> open(std::unique_ptr<Storage> storage,
                                             std::string_view name);
  void validate_and_bind(std::string_view name);

  // host is lower-case with no trailing dot (normalised by match()); its label-aligned suffixes
  // start at 0 and after each dot that `dots` marks.
  void walk_host(std::string_view host, const DotMask& dots, std::string_view path, bool http,
                 Accumulator& acc) const noexcept;
  void match_hashed_host(std::string_view host, const DotMask& dots,
                         Accumulator& acc) const noexcept;
  void match_hashed_url(std::string_view host, std::string_view path,
                        Accumulator& acc) const noexcept;
  void match_url_paths(const snapshot::Hit* hits, uint32_t begin, uint32_t end, size_t host_len,
                       std::string_view path, Accumulator& acc) const noexcept;
  void match_ip(const IpAddress& ip, Accumulator& acc) const noexcept;
  // Called only when there is a database to scan (host_db_, or url_db_ for HTTP).
  bool match_patterns(std::string_view host, std::string_view path, bool http,
                      MatchScratch& scratch, Accumulator& acc) const noexcept;
  std::string_view string_at(snapshot::StrRef ref) const noexcept;

  std::unique_ptr<Storage> storage_;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  const snapshot::Header* header_ = nullptr;
  std::span<const uint8_t> strings_;
  std::span<const snapshot::ListRecord> lists_;
  std::span<const uint8_t> key_groups_;  // 32 bytes each
  std::span<const snapshot::EntryRecord> entries_;
  std::span<const snapshot::HostSlot> host_slots_;
  std::span<const snapshot::Hit> host_hits_;
  std::span<const snapshot::Slot> hashed_slots_;
  std::span<const snapshot::HashedHit> hashed_hits_;
  std::span<const snapshot::IpTable> ip_tables_;
  std::span<const snapshot::Slot> ip_slots_;
  std::span<const snapshot::IpHit> ip_hits_;
  // Tags of every occupied host slot: most suffixes of most lookups stop here (tag_filter.h).
  TagFilter host_filter_;
  IpPrefilter ip_filter_;  // built at load from ip_hits_
  // Label counts of the host table's names, found at load: bit d-1 is set when some name has d
  // labels (bit 63: 64 or more). The walk tests only those depths and stops at the deepest.
  static constexpr size_t kDepthBits = 64;
  uint64_t host_depths_ = 0;
  size_t host_max_depth_ = 0;
  uint32_t host_capacity_ = 0;
  uint32_t hashed_capacity_ = 0;
  uint64_t seed_ = 0;
  bool has_hashed_url_ = false;
  bool has_hashed_host_ = false;
  struct HsDatabaseDeleter {
    void operator()(hs_database* db) const noexcept;
  };
  std::unique_ptr<hs_database, HsDatabaseDeleter> host_db_;
  std::unique_ptr<hs_database, HsDatabaseDeleter> url_db_;
  std::unique_ptr<hs_scratch, void (*)(hs_scratch*)> proto_scratch_{nullptr, nullptr};
  // Keyed BLAKE2b states after absorbing each key group's key: copied per hash.
  struct KeyState;
  std::unique_ptr<KeyState[]> key_states_;
  size_t key_group_count_ = 0;
};

}  // namespace muhafiz::rules
