#include "rules/match/compiler.h"

#include <fcntl.h>
#include <hs/hs.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include "rules/match/fingerprint.h"
#include "rules/match/ip_address.h"
#include "rules/match/matcher.h"
#include "rules/match/pattern.h"
#include "rules/match/snapshot_format.h"

namespace muhafiz::rules {
namespace {

using namespace snapshot;  // NOLINT(google-build-using-namespace): the records are this file's
                           // vocabulary

// Keys per slot. At 0.75 a probe reads about two consecutive slots on average (a 16-byte host
// slot: one cache line), for 21 bytes of host table per name; 0.9 saved 3.5 bytes per name
// and cost a fifth more time per miss in perf/rules (longer scans, more mispredicted exits).
constexpr double kLoadFactor = 0.75;
// Entry and list indexes are 32 and 16 bits in the records; kNoIndex / kNoKeyGroup are reserved.
constexpr size_t kMaxEntries = UINT32_MAX - 1;
constexpr size_t kMaxLists = UINT16_MAX - 1;
constexpr size_t kDigestLen = 16;   // rules brief: BLAKE2b-128
constexpr size_t kHashKeyLen = 32;  // crypto_generichash_KEYBYTES

[[noreturn]] void fail_entry(const List& list, const Entry& e, const std::string& reason) {
  throw CompileError("list " + list.meta.id + ", entry " + e.id + " (" +
                     std::string(to_string(e.kind)) + " '" + e.value + "'): " + reason);
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Lower-case hex only: the canonical form of hashes and keys (rules brief).
bool decode_hex(std::string_view hex, uint8_t* out, size_t n) noexcept {
  if (hex.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    const int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

// A host as list entries must hold it: canonical_host() output (or host:port for urls).
std::string check_host(std::string_view h, size_t max_len) {
  if (h.empty()) return "empty host";
  if (h.size() > max_len) return "host longer than " + std::to_string(max_len) + " characters";
  if (h.front() == '.' || h.back() == '.') return "host starts or ends with '.' (not canonical)";
  for (const char c : h) {
    if (c >= 'A' && c <= 'Z') return "host has upper-case letters (not canonical)";
    if (c == '/' || c == ' ' || c == '\0') return "host has a '/', space or NUL";
  }
  return {};
}

// The strings section. add() stores each distinct string once (keys are views into the
// caller's lists, which outlive compile()); append() skips the lookup for strings the caller
// already knows to be distinct (host names, deduplicated by sorting).
class StringArena {
 public:
  StringArena() { bytes_.push_back(0); }  // offset 0: the empty string
  StrRef add(std::string_view s) {
    if (s.empty()) return 0;
    const auto it = index_.find(s);
    if (it != index_.end()) return it->second;
    const StrRef ref = append(s);
    index_.emplace(s, ref);
    return ref;
  }
  StrRef append(std::string_view s) {
    if (s.empty()) return 0;
    if (s.size() > kMaxStringLen) {
      throw CompileError("string longer than " + std::to_string(kMaxStringLen) +
                         " bytes: " + std::string(s.substr(0, 64)) + "...");
    }
    if (bytes_.size() + s.size() + 2 > UINT32_MAX) throw CompileError("string arena exceeds 4 GiB");
    const auto ref = static_cast<StrRef>(bytes_.size());
    if (s.size() < 0x80) {
      bytes_.push_back(static_cast<uint8_t>(s.size()));
    } else {
      bytes_.push_back(static_cast<uint8_t>(0x80 | (s.size() >> 8)));
      bytes_.push_back(static_cast<uint8_t>(s.size() & 0xff));
    }
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return ref;
  }
  const std::vector<uint8_t>& bytes() const noexcept { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
  std::unordered_map<std::string_view, StrRef> index_;
};

struct HostItem {
  uint64_t fp;
  std::string_view name;
  bool url;
  std::string_view path;  // url entries: path[?query]
  Hit hit;
};

struct HashedItem {
  HashedHit hit;
  uint32_t tag;
};

struct IpItem {
  std::array<uint8_t, 16> addr;
  uint8_t len;  // mapped
  uint32_t tag;
  IpHit hit;
};

struct PatternItem {
  PatternSpec spec;
  uint32_t entry;
  const List* list;
  const Entry* e;
};

// Where each key of a sorted-tag table goes: key i (tags sorted) at max(home, previous + 1).
struct Placement {
  std::vector<uint32_t> pos;  // per key
  uint32_t capacity = 1;      // home range
  size_t size = 1;            // slots, >= capacity (the last keys may run past it)
  uint32_t max_probe = 0;
};

Placement place(const std::vector<uint32_t>& tags) {
  Placement p;
  const double want = std::ceil(static_cast<double>(tags.size()) / kLoadFactor);
  if (want > static_cast<double>(UINT32_MAX / 2)) throw CompileError("table too large");
  p.capacity = std::max<uint32_t>(1, static_cast<uint32_t>(want));
  p.size = p.capacity;
  p.pos.reserve(tags.size());
  int64_t prev = -1;
  for (const uint32_t tag : tags) {
    const uint32_t home = fp::home_of(tag, p.capacity);
    const int64_t at = std::max<int64_t>(home, prev + 1);
    p.pos.push_back(static_cast<uint32_t>(at));
    p.max_probe = std::max(p.max_probe, static_cast<uint32_t>(at - home));
    p.size = std::max(p.size, static_cast<size_t>(at) + 1);
    prev = at;
  }
  return p;
}

// A Slot table whose key i names `records[i]`.
struct Table {
  std::vector<Slot> slots;
  uint32_t capacity = 1;
};
Table build_table(const std::vector<uint32_t>& tags, const std::vector<uint32_t>& records) {
  const Placement p = place(tags);
  Table t;
  t.capacity = p.capacity;
  t.slots.assign(p.size, Slot{0, kEmptySlot});
  for (size_t i = 0; i < tags.size(); ++i) t.slots[p.pos[i]] = Slot{tags[i], records[i]};
  return t;
}

template <typename T>
std::span<const uint8_t> as_bytes_of(const std::vector<T>& v) noexcept {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(T)};
}

struct HsDbFree {
  void operator()(hs_database_t* db) const noexcept { hs_free_database(db); }
};

// Compiles one scope's expressions; ids are global entry indexes.
std::vector<uint8_t> compile_patterns(const std::vector<PatternItem>& items, unsigned mode,
                                      bool portable) {
  if (items.empty()) return {};
  std::vector<const char*> exprs;
  std::vector<unsigned> flags;
  std::vector<unsigned> ids;
  for (const PatternItem& p : items) {
    exprs.push_back(p.spec.expression.c_str());
    flags.push_back(HS_FLAG_SINGLEMATCH | (p.spec.caseless ? HS_FLAG_CASELESS : 0u) |
                    (p.spec.dotall ? HS_FLAG_DOTALL : 0u));
    ids.push_back(p.entry);
  }
  hs_platform_info_t generic{};
  generic.tune = HS_TUNE_FAMILY_GENERIC;
  generic.cpu_features = 0;
  hs_database_t* raw = nullptr;
  hs_compile_error_t* err = nullptr;
  const hs_error_t rc =
      hs_compile_multi(exprs.data(), flags.data(), ids.data(), static_cast<unsigned>(exprs.size()),
                       mode, portable ? &generic : nullptr, &raw, &err);
  if (rc != HS_SUCCESS) {
    std::string msg = err && err->message ? err->message : "unknown error";
    const int at = err ? err->expression : -1;
    hs_free_compile_error(err);
    if (at >= 0 && static_cast<size_t>(at) < items.size()) {
      fail_entry(*items[static_cast<size_t>(at)].list, *items[static_cast<size_t>(at)].e,
                 "Hyperscan: " + msg);
    }
    throw CompileError("Hyperscan: " + msg);
  }
  std::unique_ptr<hs_database_t, HsDbFree> db(raw);
  char* ser = nullptr;
  size_t len = 0;
  if (hs_serialize_database(db.get(), &ser, &len) != HS_SUCCESS)
    throw CompileError("Hyperscan: cannot serialize database");
  std::vector<uint8_t> out(reinterpret_cast<uint8_t*>(ser), reinterpret_cast<uint8_t*>(ser) + len);
  free(ser);  // NOLINT(cppcoreguidelines-no-malloc): hs_serialize_database allocates with malloc
  return out;
}

struct HostTable {
  std::vector<HostSlot> slots;
  std::vector<Hit> hits;
  uint32_t capacity = 1;
  uint32_t max_probe = 0;
  uint32_t names = 0;
};

// One slot per distinct name, stored once in the arena (domain and exact entries take it as
// their value); its hit inline when there is one, else a run in `hits`: non-url hits first,
// then url hits sorted by path.
HostTable build_host_table(std::vector<HostItem> items, StringArena& arena,
                           std::vector<EntryRecord>& entries) {
  std::sort(items.begin(), items.end(), [](const HostItem& a, const HostItem& b) {
    if (fp::tag_of(a.fp) != fp::tag_of(b.fp)) return fp::tag_of(a.fp) < fp::tag_of(b.fp);
    if (a.fp != b.fp) return a.fp < b.fp;
    if (a.name != b.name) return a.name < b.name;
    if (a.url != b.url) return !a.url;
    if (a.path != b.path) return a.path < b.path;
    return a.hit.entry < b.hit.entry;
  });
  struct Name {
    uint32_t tag;
    size_t first, count;  // into items
  };
  std::vector<Name> names;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i == 0 || items[i].name != items[i - 1].name)
      names.push_back(Name{fp::tag_of(items[i].fp), i, 0});
    ++names.back().count;
  }
  std::vector<uint32_t> tags;
  tags.reserve(names.size());
  for (const Name& n : names) tags.push_back(n.tag);
  const Placement where = place(tags);
  HostTable t;
  t.capacity = where.capacity;
  t.max_probe = where.max_probe;
  t.names = static_cast<uint32_t>(names.size());
  t.slots.assign(where.size, HostSlot{0, kEmptySlot, 0, 0, 0, 0});
  for (size_t k = 0; k < names.size(); ++k) {
    const Name& n = names[k];
    const HostItem& first = items[n.first];
    HostSlot& slot = t.slots[where.pos[k]];
    slot.tag = n.tag;
    slot.name = arena.append(first.name);
    for (size_t i = n.first; i < n.first + n.count; ++i) {
      if (!items[i].url) entries[items[i].hit.entry].value = slot.name;
    }
    if (n.count == 1) {
      slot.entry = first.hit.entry;
      slot.list = first.hit.list;
      slot.kind = first.hit.kind;
      slot.action = first.hit.action;
      continue;
    }
    if (t.hits.size() + n.count + 1 > UINT32_MAX) throw CompileError("too many host hits");
    slot.entry = static_cast<uint32_t>(t.hits.size());
    slot.kind = kRunKind;
    t.hits.push_back(Hit{static_cast<uint32_t>(n.count), 0, kRunKind, 0});
    for (size_t i = n.first; i < n.first + n.count; ++i) t.hits.push_back(items[i].hit);
  }
  return t;
}

struct HashedTable {
  Table table;
  std::vector<HashedHit> hits;
  uint32_t digests = 0;
};

// Runs of equal digests; each hashed entry's value becomes the index of its hit.
HashedTable build_hashed_table(std::vector<HashedItem> items, std::vector<EntryRecord>& entries) {
  std::sort(items.begin(), items.end(), [](const HashedItem& a, const HashedItem& b) {
    if (a.tag != b.tag) return a.tag < b.tag;
    if (const int c = std::memcmp(a.hit.digest, b.hit.digest, kDigestLen); c != 0) return c < 0;
    return a.hit.entry < b.hit.entry;
  });
  HashedTable t;
  std::vector<uint32_t> tags, first;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i == 0 || std::memcmp(items[i].hit.digest, items[i - 1].hit.digest, kDigestLen) != 0) {
      tags.push_back(items[i].tag);
      first.push_back(static_cast<uint32_t>(i));
    }
    entries[items[i].hit.entry].value = static_cast<uint32_t>(i);
    t.hits.push_back(items[i].hit);
  }
  t.table = build_table(tags, first);
  t.digests = static_cast<uint32_t>(tags.size());
  return t;
}

struct IpTables {
  std::vector<IpTable> tables;
  std::vector<Slot> slots;
  std::vector<IpHit> hits;
};

// One table per prefix length present, longest first; runs of equal prefixes.
IpTables build_ip_tables(std::vector<IpItem> items) {
  std::sort(items.begin(), items.end(), [](const IpItem& a, const IpItem& b) {
    if (a.len != b.len) return a.len > b.len;
    if (a.tag != b.tag) return a.tag < b.tag;
    if (a.addr != b.addr) return a.addr < b.addr;
    return a.hit.entry < b.hit.entry;
  });
  IpTables out;
  for (size_t i = 0; i < items.size();) {
    size_t j = i;
    std::vector<uint32_t> tags, first;
    for (; j < items.size() && items[j].len == items[i].len; ++j) {
      if (j == i || items[j].addr != items[j - 1].addr) {
        tags.push_back(items[j].tag);
        first.push_back(static_cast<uint32_t>(out.hits.size()));
      }
      out.hits.push_back(items[j].hit);
    }
    const Table t = build_table(tags, first);
    IpTable it{};
    it.slot_begin = static_cast<uint32_t>(out.slots.size());
    it.slot_count = static_cast<uint32_t>(t.slots.size());
    it.capacity = t.capacity;
    it.prefix_len = items[i].len;
    out.slots.insert(out.slots.end(), t.slots.begin(), t.slots.end());
    out.tables.push_back(it);
    i = j;
  }
  return out;
}

}  // namespace

std::vector<uint8_t> compile(std::span<const List> lists, const CompileOptions& options,
                             CompileStats* stats) {
  const auto t0 = std::chrono::steady_clock::now();
  if (sodium_init() < 0) throw CompileError("libsodium failed to initialise");
  if (lists.size() > kMaxLists)
    throw CompileError("more than " + std::to_string(kMaxLists) + " lists");

  // Lists: unique ids, shadow ids known, hash keys grouped so equal keys hash once per lookup.
  std::unordered_set<std::string_view> ids;
  for (const List& l : lists) {
    if (l.meta.id.empty()) throw CompileError("a list has an empty id");
    if (!ids.insert(l.meta.id).second) throw CompileError("list " + l.meta.id + " given twice");
  }
  std::unordered_set<std::string_view> shadow;
  for (const std::string& s : options.shadow_lists) {
    if (!ids.contains(s))
      throw CompileError("shadow list " + s + " is not among the lists compiled");
    shadow.insert(s);
  }

  StringArena arena;
  std::vector<ListRecord> list_records;
  std::vector<uint8_t> key_groups;
  std::map<std::array<uint8_t, kHashKeyLen>, uint16_t> key_index;
  std::vector<EntryRecord> entries;
  std::vector<HostItem> host_items;
  std::vector<HashedItem> hashed_items;
  std::vector<IpItem> ip_items;
  std::vector<PatternItem> host_patterns, url_patterns;
  uint32_t kind_counts[8] = {};

  size_t total = 0;
  for (const List& l : lists) total += l.entries.size();
  if (total > kMaxEntries)
    throw CompileError("more than " + std::to_string(kMaxEntries) + " entries");
  entries.reserve(total);

  for (size_t li = 0; li < lists.size(); ++li) {
    const List& l = lists[li];
    const auto list_index = static_cast<uint16_t>(li);
    ListRecord lr{};
    lr.id = arena.add(l.meta.id);
    lr.publisher = arena.add(l.meta.publisher);
    lr.category = arena.add(l.meta.category);
    lr.entry_begin = static_cast<uint32_t>(entries.size());
    lr.entry_count = static_cast<uint32_t>(l.entries.size());
    lr.key_group = kNoKeyGroup;
    lr.default_action = static_cast<uint8_t>(l.meta.default_action);
    if (lr.default_action > static_cast<uint8_t>(Action::kAllow))
      throw CompileError("list " + l.meta.id + ": bad default action");
    lr.flags = static_cast<uint8_t>((l.meta.alert ? kListAlert : 0) |
                                    (shadow.contains(l.meta.id) ? kListShadow : 0));
    lr.version = l.meta.version;
    lr.created = l.meta.created;
    lr.expires = l.meta.expires;
    if (!l.meta.hash_key.empty()) {
      std::array<uint8_t, kHashKeyLen> key{};
      if (!decode_hex(l.meta.hash_key, key.data(), key.size())) {
        throw CompileError("list " + l.meta.id + ": hash_key is not 64 lower-case hex characters");
      }
      auto [it, fresh] = key_index.emplace(key, static_cast<uint16_t>(key_index.size()));
      if (fresh) key_groups.insert(key_groups.end(), key.begin(), key.end());
      lr.key_group = it->second;
    }
    list_records.push_back(lr);

    for (const Entry& e : l.entries) {
      const auto entry_index = static_cast<uint32_t>(entries.size());
      const Action action = e.action.value_or(l.meta.default_action);
      if (static_cast<uint8_t>(action) > static_cast<uint8_t>(Action::kAllow))
        fail_entry(l, e, "bad action");
      EntryRecord er{};
      er.list = list_index;
      er.kind = static_cast<uint8_t>(e.kind);
      er.action =
          static_cast<uint8_t>(static_cast<uint8_t>(action) | (e.action ? kActionOverride : 0));
      er.evidence = arena.add(e.evidence);
      if (er.kind >= 8) fail_entry(l, e, "unknown entry kind");
      ++kind_counts[er.kind];
      const Hit hit{entry_index, list_index, er.kind, static_cast<uint8_t>(action)};

      switch (e.kind) {
        case EntryKind::kDomain:
        case EntryKind::kExact: {
          if (const std::string why = check_host(e.value, kMaxHostLen); !why.empty())
            fail_entry(l, e, why);
          // er.value is set when the host table stores the name
          host_items.push_back(
              HostItem{fp::of_name(options.hash_seed, e.value), e.value, false, {}, hit});
          break;
        }
        case EntryKind::kUrl: {
          const size_t slash = e.value.find('/');
          if (slash == std::string::npos)
            fail_entry(l, e, "url entry without a path (host/path expected)");
          const std::string_view v = e.value;
          const std::string_view host = v.substr(0, slash);
          if (const std::string why = check_host(host, kMaxHostLen); !why.empty())
            fail_entry(l, e, why);
          er.value = arena.add(v);
          host_items.push_back(
              HostItem{fp::of_name(options.hash_seed, host), host, true, v.substr(slash), hit});
          break;
        }
        case EntryKind::kHashedDomain:
        case EntryKind::kHashedExact:
        case EntryKind::kHashedUrl: {
          if (lr.key_group == kNoKeyGroup)
            fail_entry(l, e, "hashed entry in a list without hash_key");
          HashedItem item{};
          if (!decode_hex(e.value, item.hit.digest, kDigestLen))
            fail_entry(l, e, "not 32 lower-case hex characters");
          item.hit.entry = entry_index;
          item.hit.list = list_index;
          item.hit.kind = er.kind;
          item.hit.action = static_cast<uint8_t>(action);
          uint64_t w;
          std::memcpy(&w, item.hit.digest, 8);
          item.tag = fp::tag_of(w);
          hashed_items.push_back(item);
          break;  // er.value is set once the hashed hits are sorted
        }
        case EntryKind::kIp: {
          std::string why;
          const auto prefix = parse_ip_prefix(e.value, &why);
          if (!prefix) fail_entry(l, e, why);
          er.value = arena.add(e.value);
          IpItem item{};
          item.addr = prefix->address.mapped();
          item.len = prefix->mapped_length();
          item.tag =
              fp::tag_of(fp::of_bytes(options.hash_seed, item.addr.data(), item.addr.size()));
          std::memcpy(item.hit.addr, item.addr.data(), 16);
          item.hit.entry = entry_index;
          item.hit.list = list_index;
          item.hit.prefix_len = item.len;
          item.hit.action = static_cast<uint8_t>(action);
          ip_items.push_back(item);
          break;
        }
        case EntryKind::kPattern: {
          std::string why;
          auto spec = parse_pattern(e.value, &why);
          if (!spec) fail_entry(l, e, why);
          er.value = arena.add(e.value);
          auto& dest = spec->scope == PatternScope::kUrl ? url_patterns : host_patterns;
          dest.push_back(PatternItem{std::move(*spec), entry_index, &l, &e});
          break;
        }
      }
      if (e.id == e.value) {
        er.id = kIdIsValue;
      } else if (e.id.size() == 16 && e.id == derived_entry_id(to_string(e.kind), e.value)) {
        er.id = kIdDerived;
      } else {
        er.id = arena.add(e.id);
      }
      entries.push_back(er);
    }
  }

  const HostTable host = build_host_table(std::move(host_items), arena, entries);
  const HashedTable hashed = build_hashed_table(std::move(hashed_items), entries);
  const IpTables ip = build_ip_tables(std::move(ip_items));

  const auto tp = std::chrono::steady_clock::now();
  const std::vector<uint8_t> host_db =
      compile_patterns(host_patterns, HS_MODE_BLOCK, options.portable_patterns);
  const std::vector<uint8_t> url_db =
      compile_patterns(url_patterns, HS_MODE_VECTORED, options.portable_patterns);
  const double pattern_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - tp).count();

  // Layout: header, then each section on a kSectionAlign boundary, in SectionId order.
  std::array<std::span<const uint8_t>, kSectionCount> parts;
  parts[static_cast<size_t>(SectionId::kStrings)] = as_bytes_of(arena.bytes());
  parts[static_cast<size_t>(SectionId::kLists)] = as_bytes_of(list_records);
  parts[static_cast<size_t>(SectionId::kKeyGroups)] = as_bytes_of(key_groups);
  parts[static_cast<size_t>(SectionId::kEntries)] = as_bytes_of(entries);
  parts[static_cast<size_t>(SectionId::kHostSlots)] = as_bytes_of(host.slots);
  parts[static_cast<size_t>(SectionId::kHostHits)] = as_bytes_of(host.hits);
  parts[static_cast<size_t>(SectionId::kHashedSlots)] = as_bytes_of(hashed.table.slots);
  parts[static_cast<size_t>(SectionId::kHashedHits)] = as_bytes_of(hashed.hits);
  parts[static_cast<size_t>(SectionId::kIpTables)] = as_bytes_of(ip.tables);
  parts[static_cast<size_t>(SectionId::kIpSlots)] = as_bytes_of(ip.slots);
  parts[static_cast<size_t>(SectionId::kIpHits)] = as_bytes_of(ip.hits);
  parts[static_cast<size_t>(SectionId::kPatternHost)] = as_bytes_of(host_db);
  parts[static_cast<size_t>(SectionId::kPatternUrl)] = as_bytes_of(url_db);

  Header h{};
  std::memcpy(h.magic, kMagic.data(), kMagic.size());
  h.format_version = kFormatVersion;
  h.header_size = sizeof(Header);
  h.hash_seed = options.hash_seed;
  h.list_count = static_cast<uint32_t>(list_records.size());
  h.entry_count = static_cast<uint32_t>(entries.size());
  h.host_capacity = host.capacity;
  h.hashed_capacity = hashed.table.capacity;
  std::copy(std::begin(kind_counts), std::end(kind_counts), h.kind_counts);
  uint64_t at = sizeof(Header);
  for (size_t s = 0; s < kSectionCount; ++s) {
    at = (at + kSectionAlign - 1) / kSectionAlign * kSectionAlign;
    h.sections[s] = Section{at, parts[s].size()};
    at += parts[s].size();
  }
  h.file_size = at;

  std::vector<uint8_t> out(at, 0);
  std::memcpy(out.data(), &h, sizeof h);
  for (size_t s = 0; s < kSectionCount; ++s) {
    if (!parts[s].empty())
      std::memcpy(out.data() + h.sections[s].offset, parts[s].data(), parts[s].size());
  }
  seal(out);

  if (stats) {
    stats->lists = h.list_count;
    stats->entries = h.entry_count;
    std::copy(std::begin(kind_counts), std::end(kind_counts), stats->kind_counts);
    stats->host_names = host.names;
    stats->hashed_digests = hashed.digests;
    stats->ip_prefix_lengths = static_cast<uint32_t>(ip.tables.size());
    stats->max_probe = host.max_probe;
    stats->bytes = out.size();
    stats->pattern_bytes = host_db.size() + url_db.size();
    stats->pattern_seconds = pattern_seconds;
    stats->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return out;
}

void write_snapshot(const std::string& path, std::span<const uint8_t> bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  auto fail = [&](const char* what) {
    const int err = errno;
    throw std::runtime_error(path + ": " + what + ": " + std::generic_category().message(err));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot create");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      fail("cannot write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    fail("cannot flush");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    fail("cannot rename into place");
  }
}

}  // namespace muhafiz::rules
