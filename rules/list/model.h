// The list model: what a PTA or FIA list says. Semantics in rules/README.md
// ("Matching semantics"): domain = name and every subdomain, exact = the name only,
// url = host-suffix x path-prefix (HTTP only), pattern = Hyperscan expression,
// ip = destination address or prefix; domain/exact/url may come hashed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace muhafiz::rules {

enum class EntryKind : uint8_t {
  kDomain,
  kExact,
  kUrl,
  kPattern,
  kIp,
  kHashedDomain,
  kHashedExact,
  kHashedUrl,
};
std::string_view to_string(EntryKind k) noexcept;
std::optional<EntryKind> entry_kind_from_string(std::string_view s) noexcept;
constexpr bool is_hashed(EntryKind k) noexcept {
  return k == EntryKind::kHashedDomain || k == EntryKind::kHashedExact || k == EntryKind::kHashedUrl;
}

// What a match does. kBlock is the standard answer for what was seen (DNS: stop-page answer,
// HTTP: 302 to the stop page, TLS: reset, QUIC and IP: drop). The DNS-specific ones come from
// RPZ (NXDOMAIN, NODATA, local-data redirect) and act like kBlock on other protocols.
// kAllow (RPZ PASSTHRU) exempts a name from every list.
enum class Action : uint8_t { kBlock, kNxdomain, kNodata, kRedirect, kDrop, kAllow };
std::string_view to_string(Action a) noexcept;
std::optional<Action> action_from_string(std::string_view s) noexcept;

struct Entry {
  std::string id;              // unique within its list; derived from the value when the source has none
  EntryKind kind = EntryKind::kDomain;
  std::string value;           // canonical form (hashed kinds: lower-case hex of the keyed hash)
  std::optional<Action> action;  // overrides the list's default action
  std::string evidence;        // opaque reference for the publisher (case number, ...)
  bool operator==(const Entry&) const = default;
};

struct ListMeta {
  std::string id;         // e.g. "fia-csam"
  std::string publisher;  // e.g. "fia", "pta"
  std::string category;   // e.g. "csam"
  uint64_t version = 0;   // monotonic per list id: a lower one is a rollback
  int64_t created = 0;    // unix seconds
  int64_t expires = 0;    // unix seconds; 0 = never
  Action default_action = Action::kBlock;
  bool alert = false;     // matches raise FIA alerts (only lists marked so)
  // Lower-case hex of the 32-byte key of the list's hashed entries (rules/bundle/hashing.h);
  // empty when the list has none.
  std::string hash_key;
  bool operator==(const ListMeta&) const = default;
};

struct List {
  ListMeta meta;
  std::vector<Entry> entries;
};

// The source position of a problem, for messages a list manager can act on.
struct SourceError {
  std::string file;
  size_t line = 0;
  std::string reason;
  std::string message() const;  // "file:line: reason"
};

}  // namespace muhafiz::rules
