#include "rules/match/matcher.h"

#include <fcntl.h>
#include <hs/hs.h>
#include <sodium.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <new>
#include <system_error>

#include "rules/match/fingerprint.h"
#include "rules/match/host_scan.h"
#include "rules/match/prefetch.h"

namespace muhafiz::rules {

using namespace snapshot;  // NOLINT(google-build-using-namespace): the records are this file's
                           // vocabulary

namespace {

constexpr size_t kDigestLen = 16;         // rules brief: BLAKE2b-128
constexpr size_t kKeyLen = 32;            // crypto_generichash_KEYBYTES
constexpr size_t kMaxUrlOnlyReports = 8;  // url hits offered per host when the path is unknown

constexpr uint8_t kKindDomain = static_cast<uint8_t>(EntryKind::kDomain);
constexpr uint8_t kKindExact = static_cast<uint8_t>(EntryKind::kExact);
constexpr uint8_t kKindUrl = static_cast<uint8_t>(EntryKind::kUrl);
constexpr uint8_t kKindPattern = static_cast<uint8_t>(EntryKind::kPattern);
constexpr uint8_t kKindIp = static_cast<uint8_t>(EntryKind::kIp);
constexpr uint8_t kKindHashedDomain = static_cast<uint8_t>(EntryKind::kHashedDomain);
constexpr uint8_t kKindHashedExact = static_cast<uint8_t>(EntryKind::kHashedExact);
constexpr uint8_t kKindHashedUrl = static_cast<uint8_t>(EntryKind::kHashedUrl);
constexpr uint8_t kActionAllow = static_cast<uint8_t>(Action::kAllow);

// Specificity, highest wins: the class, then a length inside it (suffix, path, prefix bits).
enum RankClass : uint64_t {
  kRankIp = 0,
  kRankPattern = 1,
  kRankDomain = 2,
  kRankExact = 3,
  kRankUrl = 4
};
constexpr uint64_t rank_of(RankClass c, uint64_t major, uint64_t minor) noexcept {
  return static_cast<uint64_t>(c) << 56 | std::min<uint64_t>(major, 0xffffff) << 32 |
         std::min<uint64_t>(minor, 0xffffffff);
}

// Only `set` is initialised: the accumulator is built per lookup and the rest is written
// before it is read.
struct Best {
  uint64_t rank;
  uint32_t list;
  uint32_t entry;  // global
  uint8_t action;
  uint8_t kind;
  bool set = false;
  void offer(uint64_t r, uint32_t l, uint32_t e, uint8_t a, uint8_t k) noexcept {
    if (set && (r < rank || (r == rank && (l > list || (l == list && e >= entry))))) return;
    *this = Best{r, l, e, a, k, true};
  }
};

// The candidates a lookup may produce: "/", "/a/", "/a/b/" (at most max_prefixes), the path,
// and the path with its query. `out` holds max_prefixes + 2.
size_t path_candidates(std::string_view path, size_t max_prefixes, std::string_view* out) noexcept {
  const size_t q = path.find('?');
  const std::string_view base = path.substr(0, q);
  size_t n = 0;
  for (size_t pos = base.find('/'); pos != std::string_view::npos && n < max_prefixes;
       pos = base.find('/', pos + 1)) {
    out[n++] = base.substr(0, pos + 1);
  }
  if (!base.empty() && base.back() != '/') out[n++] = base;
  if (q != std::string_view::npos) out[n++] = path;
  return n;
}

// Cuts a host to at most kMaxHostPortLen (from the left, at a label boundary), drops one
// trailing dot, folds ASCII case, and marks where the dots are (bit i of the DotMask: byte i is a
// dot). Reads the caller's bytes in place (host_scan.h); only a host with an upper-case letter
// is copied, lower-cased, into buf (kMaxHostPortLen bytes).
std::string_view normalise_host(std::string_view in, char* buf, DotMask& dots) noexcept {
  dots.fill(0);
  if (!in.empty() && in.back() == '.') in.remove_suffix(1);
  if (in.size() > kMaxHostPortLen) {
    in = in.substr(in.size() - kMaxHostPortLen);
    const size_t dot = in.find('.');
    if (dot == std::string_view::npos) return {};
    in.remove_prefix(dot + 1);
  }
  const char* p = in.data();
  const size_t n = in.size();
  if (!scan_host(p, n, dots.data())) return in;
  for (size_t k = 0; k < n; ++k) {
    const char c = p[k];
    buf[k] = c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
  }
  return {buf, n};
}

// The position of the last dot before `end`, or -1 when there is none.
inline int prev_dot(const DotMask& dots, size_t end) noexcept {
  if (end < 64) [[likely]] {
    // m << 1 | 1 has its highest set bit one above m's, and bit 0 when m is empty: no branch.
    const uint64_t m = dots[0] & ((uint64_t{1} << end) - 1);
    return 62 - __builtin_clzll(m << 1 | 1);
  }
  size_t w = end / 64;
  uint64_t m = end % 64 != 0 ? dots[w] & ((uint64_t{1} << (end % 64)) - 1) : 0;
  while (m == 0) {
    if (w == 0) return -1;
    m = dots[--w];
  }
  return static_cast<int>(w * 64 + 63 - static_cast<size_t>(__builtin_clzll(m)));
}

// An HTTP Host may carry ":port"; IPv6 literals are bracketed, so a colon inside brackets is
// not a port.
std::string_view strip_port(std::string_view host) noexcept {
  const size_t colon = host.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == host.size()) return host;
  if (host.find(']', colon) != std::string_view::npos) return host;
  for (size_t i = colon + 1; i < host.size(); ++i) {
    if (host[i] < '0' || host[i] > '9') return host;
  }
  // A fully qualified name before the port ("example.com.:8080") loses its dot too.
  std::string_view bare = host.substr(0, colon);
  if (!bare.empty() && bare.back() == '.') bare.remove_suffix(1);
  return bare;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Storage, loading and validation

// The snapshot's bytes, in anonymous memory read from the file: 2 MiB aligned and advised for
// transparent huge pages, because lookups touch the tables at random and 4 KiB pages would add
// a TLB miss (a page walk, costly under virtualisation) to most probes. Read-only once loaded.
struct Matcher::Storage {
  static constexpr size_t kHugePage = size_t{2} << 20;
  uint8_t* data = nullptr;
  size_t size = 0;
  void* map = nullptr;
  size_t map_len = 0;

  explicit Storage(size_t n) : size(n) {
    const size_t rounded = (std::max<size_t>(n, 1) + kHugePage - 1) / kHugePage * kHugePage;
    map_len = rounded + kHugePage;  // slack to align the start
    map = ::mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
      map = nullptr;
      throw std::bad_alloc();
    }
    const auto addr = reinterpret_cast<uintptr_t>(map);
    data = reinterpret_cast<uint8_t*>((addr + kHugePage - 1) / kHugePage * kHugePage);
    ::madvise(data, rounded, MADV_HUGEPAGE);  // a hint: without THP the tables still work
  }
  void seal() noexcept { ::mprotect(data, std::max<size_t>(size, 1), PROT_READ); }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage() {
    if (map) ::munmap(map, map_len);
  }
};

struct Matcher::KeyState {
  crypto_generichash_state state;  // after init with the group's key
};

struct Matcher::Accumulator {
  std::span<const ListRecord> lists;
  Best allow, block, url_only, shadow_allow, shadow_block, alert;

  void offer(uint64_t rank, uint32_t entry, uint16_t list, uint8_t kind, uint8_t action,
             bool url_only_hit) noexcept {
    if (list >= lists.size()) return;
    const uint8_t flags = lists[list].flags;
    const bool is_allow = action == kActionAllow;
    if (flags & kListShadow) {
      if (!url_only_hit)
        (is_allow ? shadow_allow : shadow_block).offer(rank, list, entry, action, kind);
      return;
    }
    if (url_only_hit) {
      url_only.offer(rank, list, entry, action, kind);
    } else if (is_allow) {
      allow.offer(rank, list, entry, action, kind);
    } else {
      block.offer(rank, list, entry, action, kind);
      if (flags & kListAlert) alert.offer(rank, list, entry, action, kind);
    }
  }

  // Hits are validated at load to name an entry inside their list, so (list, local) is valid.
  uint32_t local(const Best& b) const noexcept { return b.entry - lists[b.list].entry_begin; }

  Verdict verdict() const noexcept {
    Verdict v;
    auto decide = [&](const Best& b) {
      v.matched = true;
      v.list = b.list;
      v.entry = local(b);
      v.action = static_cast<Action>(b.action);
      v.kind = static_cast<EntryKind>(b.kind);
    };
    const Best& shadow_best = shadow_allow.set ? shadow_allow : shadow_block;
    if (allow.set) {
      decide(allow);
    } else if (block.set) {
      decide(block);
      if (alert.set) {
        v.alert = true;
        v.alert_list = alert.list;
        v.alert_entry = local(alert);
      }
    } else if (url_only.set) {
      decide(url_only);
      v.url_not_enforceable = true;
    } else if (shadow_best.set) {
      decide(shadow_best);
      v.shadow = true;
    }
    if (shadow_best.set) {
      v.shadow_list = shadow_best.list;
      v.shadow_entry = local(shadow_best);
    }
    return v;
  }
};

void Matcher::HsDatabaseDeleter::operator()(hs_database* db) const noexcept {
  hs_free_database(db);
}

MatchScratch::MatchScratch(MatchScratch&& other) noexcept : hs_(other.hs_), owner_(other.owner_) {
  other.hs_ = nullptr;
  other.owner_ = nullptr;
}

MatchScratch& MatchScratch::operator=(MatchScratch&& other) noexcept {
  if (this != &other) {
    if (hs_) hs_free_scratch(hs_);
    hs_ = other.hs_;
    owner_ = other.owner_;
    other.hs_ = nullptr;
    other.owner_ = nullptr;
  }
  return *this;
}

MatchScratch::~MatchScratch() {
  if (hs_) hs_free_scratch(hs_);
}

Matcher::Matcher() = default;
Matcher::~Matcher() = default;

std::unique_ptr<const Matcher> Matcher::load(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw SnapshotError(path + ": cannot open: " + std::generic_category().message(errno));
  auto fail = [&](const std::string& what) {
    const int err = errno;
    ::close(fd);
    throw SnapshotError(path + ": " + what + ": " + std::generic_category().message(err));
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("cannot stat");
  auto storage = std::make_unique<Storage>(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < storage->size) {
    const ssize_t n =
        ::pread(fd, storage->data + done, storage->size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot read");
    if (n == 0) break;  // shrank while reading: the size checks below report it
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  storage->size = done;
  return open(std::move(storage), path);
}

std::unique_ptr<const Matcher> Matcher::from_bytes(std::span<const uint8_t> bytes,
                                                   std::string_view name) {
  auto storage = std::make_unique<Storage>(bytes.size());
  if (!bytes.empty()) std::memcpy(storage->data, bytes.data(), bytes.size());
  return open(std::move(storage), name);
}

std::unique_ptr<const Matcher> Matcher::open(std::unique_ptr<Storage> storage,
                                             std::string_view name) {
  storage->seal();
  std::unique_ptr<Matcher> m(new Matcher());
  m->base_ = storage->data;
  m->size_ = storage->size;
  m->storage_ = std::move(storage);
  m->validate_and_bind(name);
  return m;
}

namespace {

// Checks the order of a sorted-tag table: tags non-decreasing, every slot at or after its home
// with no empty slot in between (what the probe loop relies on to stop early and be right).
template <typename SlotT, typename Occupied, typename Fail>
void check_order(std::span<const SlotT> slots, uint32_t capacity, Occupied&& occupied,
                 const char* what, Fail&& fail) {
  if (capacity == 0 || capacity > slots.size())
    fail(std::string(what) + ": capacity outside the slot table");
  uint32_t prev_tag = 0;
  for (size_t i = 0; i < slots.size(); ++i) {
    if (!occupied(slots[i])) continue;
    const uint32_t home = fp::home_of(slots[i].tag, capacity);
    if (home > i || slots[i].tag < prev_tag || (home < i && !occupied(slots[i - 1]))) {
      fail(std::string(what) + ": slot " + std::to_string(i) + " out of order");
    }
    prev_tag = slots[i].tag;
  }
}

// A Slot table: ordered, and every record below `records`.
template <typename Fail>
void check_table(std::span<const Slot> slots, uint32_t capacity, size_t records, const char* what,
                 Fail&& fail) {
  auto occupied = [](const Slot& s) { return s.record != kEmptySlot; };
  check_order(slots, capacity, occupied, what, fail);
  for (size_t i = 0; i < slots.size(); ++i) {
    if (occupied(slots[i]) && slots[i].record >= records) {
      fail(std::string(what) + ": slot " + std::to_string(i) + " names a record out of range");
    }
  }
}

bool valid_action(uint8_t a) noexcept { return (a & kActionMask) <= kActionAllow; }

}  // namespace

void Matcher::validate_and_bind(std::string_view name) {
  auto fail = [&](const std::string& why) { throw SnapshotError(std::string(name) + ": " + why); };
  if (size_ < sizeof(Header)) {
    fail("truncated: " + std::to_string(size_) + " bytes, smaller than the " +
         std::to_string(sizeof(Header)) + "-byte header");
  }
  header_ = reinterpret_cast<const Header*>(base_);
  const Header& h = *header_;
  if (std::memcmp(h.magic, kMagic.data(), kMagic.size()) != 0)
    fail("not a Muhafiz ruleset (bad magic)");
  if (h.format_version != kFormatVersion) {
    fail("format version " + std::to_string(h.format_version) + ", this build reads version " +
         std::to_string(kFormatVersion) + ": recompile the lists with this muhafiz-list");
  }
  if (h.header_size != sizeof(Header))
    fail("header size " + std::to_string(h.header_size) + ", expected " +
         std::to_string(sizeof(Header)));
  if (h.file_size > size_) {
    fail("truncated: the header says " + std::to_string(h.file_size) + " bytes, the file has " +
         std::to_string(size_));
  }
  if (h.file_size < size_) {
    fail(std::to_string(size_ - h.file_size) + " bytes after the end the header gives (" +
         std::to_string(h.file_size) + ")");
  }
  const auto sum = compute_checksum({base_, size_});
  if (std::memcmp(sum.data(), h.checksum, kChecksumSize) != 0)
    fail("checksum mismatch: the file is corrupt");

  // Sections: inside the file, after the header, aligned, whole records.
  auto section = [&](SectionId id, size_t record_size) -> std::span<const uint8_t> {
    const Section& s = h.sections[static_cast<size_t>(id)];
    const std::string what = "section " + std::string(section_name(id));
    if (s.offset < sizeof(Header) || s.offset > size_ || s.size > size_ - s.offset)
      fail(what + ": outside the file");
    if (s.offset % kSectionAlign != 0) fail(what + ": misaligned");
    if (s.size % record_size != 0) fail(what + ": not a whole number of records");
    return {base_ + s.offset, static_cast<size_t>(s.size)};
  };
  auto records = [&]<typename T>(SectionId id, const T*) {
    const auto b = section(id, sizeof(T));
    return std::span<const T>(reinterpret_cast<const T*>(b.data()), b.size() / sizeof(T));
  };
  strings_ = section(SectionId::kStrings, 1);
  lists_ = records(SectionId::kLists, static_cast<const ListRecord*>(nullptr));
  key_groups_ = section(SectionId::kKeyGroups, kKeyLen);
  entries_ = records(SectionId::kEntries, static_cast<const EntryRecord*>(nullptr));
  host_slots_ = records(SectionId::kHostSlots, static_cast<const HostSlot*>(nullptr));
  host_hits_ = records(SectionId::kHostHits, static_cast<const Hit*>(nullptr));
  hashed_slots_ = records(SectionId::kHashedSlots, static_cast<const Slot*>(nullptr));
  hashed_hits_ = records(SectionId::kHashedHits, static_cast<const HashedHit*>(nullptr));
  ip_tables_ = records(SectionId::kIpTables, static_cast<const IpTable*>(nullptr));
  ip_slots_ = records(SectionId::kIpSlots, static_cast<const Slot*>(nullptr));
  ip_hits_ = records(SectionId::kIpHits, static_cast<const IpHit*>(nullptr));
  const auto host_db_bytes = section(SectionId::kPatternHost, 1);
  const auto url_db_bytes = section(SectionId::kPatternUrl, 1);
  // Sections do not overlap: no byte has two meanings.
  {
    std::array<std::pair<uint64_t, uint64_t>, kSectionCount> spans{};
    for (size_t s = 0; s < kSectionCount; ++s)
      spans[s] = {h.sections[s].offset, h.sections[s].size};
    std::sort(spans.begin(), spans.end());
    for (size_t s = 1; s < kSectionCount; ++s) {
      if (spans[s - 1].second > 0 && spans[s].second > 0 &&
          spans[s - 1].first + spans[s - 1].second > spans[s].first) {
        fail("sections overlap");
      }
    }
  }
  host_capacity_ = h.host_capacity;
  hashed_capacity_ = h.hashed_capacity;
  seed_ = h.hash_seed;
  key_group_count_ = key_groups_.size() / kKeyLen;

  // Every offset the lookup path or the metadata accessors follow is checked here, in
  // sequential passes (no random access, no allocation unless something is wrong), so a file
  // that passes cannot send a reader outside it. The checksum, not these checks, vouches that
  // the tables mean what the lists said.
  auto fail_at = [&](const char* what, size_t i, const char* why) {
    fail(std::string(what) + " " + std::to_string(i) + ": " + why);
  };
  auto str_ok = [&](StrRef ref) {
    std::string_view s;
    return read_string(strings_, ref, &s);
  };
  if (strings_.empty() || strings_[0] != 0) fail("strings: offset 0 is not the empty string");

  // Lists partition the entries in order.
  if (h.list_count != lists_.size())
    fail("lists: the header counts " + std::to_string(h.list_count) + ", the section holds " +
         std::to_string(lists_.size()));
  if (h.entry_count != entries_.size())
    fail("entries: the header counts " + std::to_string(h.entry_count) + ", the section holds " +
         std::to_string(entries_.size()));
  uint64_t next_entry = 0;
  for (size_t i = 0; i < lists_.size(); ++i) {
    const ListRecord& l = lists_[i];
    if (!str_ok(l.id) || !str_ok(l.publisher) || !str_ok(l.category))
      fail_at("list", i, "string reference out of bounds");
    if (l.entry_begin != next_entry) fail_at("list", i, "entries not contiguous");
    next_entry += l.entry_count;
    if (l.key_group != kNoKeyGroup && l.key_group >= key_group_count_)
      fail_at("list", i, "key group out of range");
    if (l.default_action > kActionAllow) fail_at("list", i, "unknown default action");
    if ((l.flags & ~(kListAlert | kListShadow)) != 0) fail_at("list", i, "unknown flags");
  }
  if (next_entry != entries_.size()) fail("lists do not cover the entries");

  uint32_t counts[8] = {};
  for (size_t i = 0; i < entries_.size(); ++i) {
    const EntryRecord& e = entries_[i];
    if (e.list >= lists_.size() || i < lists_[e.list].entry_begin ||
        i - lists_[e.list].entry_begin >= lists_[e.list].entry_count) {
      fail_at("entry", i, "list out of range");
    }
    if (e.kind >= 8) fail_at("entry", i, "unknown kind");
    if (!valid_action(e.action) || (e.action & ~(kActionMask | kActionOverride)) != 0)
      fail_at("entry", i, "unknown action");
    ++counts[e.kind];
    if ((e.id != kIdIsValue && e.id != kIdDerived && !str_ok(e.id)) || !str_ok(e.evidence))
      fail_at("entry", i, "string reference out of bounds");
    if (is_hashed(static_cast<EntryKind>(e.kind))) {
      if (e.value >= hashed_hits_.size()) fail_at("entry", i, "hashed value out of range");
    } else if (!str_ok(e.value)) {
      fail_at("entry", i, "string reference out of bounds");
    }
  }
  if (!std::equal(std::begin(counts), std::end(counts), std::begin(h.kind_counts)))
    fail("entries: kind counts disagree with the header");

  // A hit's entry lies in the list it names, so a verdict's (list, entry) is always valid.
  auto hit_ok = [&](uint32_t entry, uint16_t list, uint8_t action) {
    return list < lists_.size() && entry >= lists_[list].entry_begin &&
           entry - lists_[list].entry_begin < lists_[list].entry_count && action <= kActionAllow;
  };
  auto host_kind = [](uint8_t k) { return k == kKindDomain || k == kKindExact || k == kKindUrl; };
  // Hits partition into runs: a header (kRunKind, entry = length), then that many host hits.
  for (size_t j = 0; j < host_hits_.size();) {
    const Hit& head = host_hits_[j];
    if (head.kind != kRunKind || head.entry == 0 || head.entry > host_hits_.size() - j - 1)
      fail_at("host hit", j, "bad run header");
    bool in_urls = false;
    for (size_t k = j + 1; k <= j + head.entry; ++k) {
      const Hit& hit = host_hits_[k];
      if (!hit_ok(hit.entry, hit.list, hit.action))
        fail_at("host hit", k, "entry, list or action out of range");
      if (!host_kind(hit.kind)) fail_at("host hit", k, "hit of a non-host kind");
      if (hit.kind == kKindUrl) {
        in_urls = true;
      } else if (in_urls) {
        fail_at("host hit", k, "url hits not last");
      }
    }
    j += 1 + head.entry;
  }
  auto host_occupied = [](const HostSlot& s) { return s.name != kEmptySlot; };
  check_order(host_slots_, host_capacity_, host_occupied, "host slots", fail);
  for (size_t i = 0; i < host_slots_.size(); ++i) {
    const HostSlot& slot = host_slots_[i];
    if (!host_occupied(slot)) continue;
    if (!str_ok(slot.name)) fail_at("host slot", i, "string reference out of bounds");
    if (slot.kind == kRunKind) {
      if (slot.entry >= host_hits_.size() || host_hits_[slot.entry].kind != kRunKind)
        fail_at("host slot", i, "run out of range");
    } else if (!hit_ok(slot.entry, slot.list, slot.action) || !host_kind(slot.kind)) {
      fail_at("host slot", i, "entry, list, kind or action out of range");
    }
  }
  {
    size_t occupied = 0;
    for (const HostSlot& slot : host_slots_) occupied += host_occupied(slot);
    host_filter_ = TagFilter(occupied);
    host_depths_ = 0;
    for (const HostSlot& slot : host_slots_) {
      if (!host_occupied(slot)) continue;
      host_filter_.add(slot.tag);
      const std::string_view host = string_at(slot.name);
      const size_t labels = static_cast<size_t>(std::count(host.begin(), host.end(), '.')) + 1;
      host_depths_ |= uint64_t{1} << (std::min<size_t>(labels, kDepthBits) - 1);
    }
    host_max_depth_ = host_depths_ >> (kDepthBits - 1) != 0
                          ? SIZE_MAX
                          : static_cast<size_t>(64 - std::countl_zero(host_depths_));
  }

  check_table(hashed_slots_, hashed_capacity_, hashed_hits_.size(), "hashed slots", fail);
  for (size_t j = 0; j < hashed_hits_.size(); ++j) {
    const HashedHit& hit = hashed_hits_[j];
    if (!hit_ok(hit.entry, hit.list, hit.action))
      fail_at("hashed hit", j, "entry, list or action out of range");
    if (!is_hashed(static_cast<EntryKind>(hit.kind))) fail_at("hashed hit", j, "not a hashed kind");
  }

  uint32_t prev_len = 129;
  for (size_t t = 0; t < ip_tables_.size(); ++t) {
    const IpTable& it = ip_tables_[t];
    const std::string what = "ip table " + std::to_string(t);
    if (it.prefix_len > 128 || it.prefix_len >= prev_len)
      fail(what + ": prefix lengths not strictly decreasing");
    prev_len = it.prefix_len;
    if (it.slot_begin > ip_slots_.size() || it.slot_count > ip_slots_.size() - it.slot_begin)
      fail(what + ": slots out of range");
    check_table(ip_slots_.subspan(it.slot_begin, it.slot_count), it.capacity, ip_hits_.size(),
                what.c_str(), fail);
  }
  for (size_t j = 0; j < ip_hits_.size(); ++j) {
    const IpHit& hit = ip_hits_[j];
    if (!hit_ok(hit.entry, hit.list, hit.action))
      fail_at("ip hit", j, "entry, list or action out of range");
    if (hit.prefix_len > 128) fail_at("ip hit", j, "prefix length over 128");
  }
  ip_filter_ = IpPrefilter(ip_hits_);

  // Hyperscan checks its own header and platform; our checksum already covered the bytes.
  auto load_db = [&](std::span<const uint8_t> bytes, const char* what) {
    std::unique_ptr<hs_database, HsDatabaseDeleter> db;
    if (bytes.empty()) return db;
    hs_database_t* raw = nullptr;
    const hs_error_t rc =
        hs_deserialize_database(reinterpret_cast<const char*>(bytes.data()), bytes.size(), &raw);
    if (rc != HS_SUCCESS) {
      fail(std::string(what) + ": Hyperscan refused the database (error " + std::to_string(rc) +
           (rc == HS_DB_PLATFORM_ERROR  ? ", built for another CPU"
            : rc == HS_DB_VERSION_ERROR ? ", another Hyperscan version"
                                        : "") +
           ")");
    }
    db.reset(raw);
    return db;
  };
  host_db_ = load_db(host_db_bytes, "host patterns");
  url_db_ = load_db(url_db_bytes, "url patterns");
  hs_scratch_t* scratch = nullptr;
  for (hs_database* db : {host_db_.get(), url_db_.get()}) {
    if (db && hs_alloc_scratch(db, &scratch) != HS_SUCCESS) {
      if (scratch) hs_free_scratch(scratch);
      fail("cannot allocate Hyperscan scratch");
    }
  }
  proto_scratch_ = std::unique_ptr<hs_scratch, void (*)(hs_scratch*)>(scratch, [](hs_scratch* s) {
    if (s) hs_free_scratch(s);
  });

  if (sodium_init() < 0) fail("libsodium failed to initialise");
  key_states_ = std::make_unique<KeyState[]>(std::max<size_t>(key_group_count_, 1));
  for (size_t g = 0; g < key_group_count_; ++g) {
    crypto_generichash_init(&key_states_[g].state, key_groups_.data() + g * kKeyLen, kKeyLen,
                            kDigestLen);
  }
  has_hashed_host_ = h.kind_counts[kKindHashedDomain] + h.kind_counts[kKindHashedExact] > 0;
  has_hashed_url_ = h.kind_counts[kKindHashedUrl] > 0;
}

MatchScratch Matcher::make_scratch() const {
  MatchScratch s;
  s.owner_ = this;
  if (proto_scratch_ && hs_clone_scratch(proto_scratch_.get(), &s.hs_) != HS_SUCCESS) {
    throw SnapshotError("cannot allocate Hyperscan scratch");
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Metadata

std::string_view Matcher::string_at(StrRef ref) const noexcept {
  std::string_view s;
  return read_string(strings_, ref, &s) ? s : std::string_view();
}

ListInfo Matcher::list(uint32_t index) const noexcept {
  ListInfo info;
  if (index >= lists_.size()) return info;
  const ListRecord& l = lists_[index];
  info.id = string_at(l.id);
  info.publisher = string_at(l.publisher);
  info.category = string_at(l.category);
  info.version = l.version;
  info.created = l.created;
  info.expires = l.expires;
  info.default_action = static_cast<Action>(l.default_action);
  info.alert = (l.flags & kListAlert) != 0;
  info.shadow = (l.flags & kListShadow) != 0;
  info.entry_count = l.entry_count;
  return info;
}

EntryInfo Matcher::entry(uint32_t list, uint32_t entry) const {
  if (list >= lists_.size() || entry >= lists_[list].entry_count)
    throw std::out_of_range("no such entry");
  const EntryRecord& e = entries_[lists_[list].entry_begin + entry];
  EntryInfo info;
  info.kind = static_cast<EntryKind>(e.kind);
  if (is_hashed(info.kind)) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (const uint8_t b : hashed_hits_[e.value].digest) {
      info.value.push_back(kHex[b >> 4]);
      info.value.push_back(kHex[b & 15]);
    }
  } else {
    info.value = std::string(string_at(e.value));
  }
  info.id = e.id == kIdIsValue   ? info.value
            : e.id == kIdDerived ? derived_entry_id(to_string(info.kind), info.value)
                                 : std::string(string_at(e.id));
  info.action = static_cast<Action>(e.action & kActionMask);
  info.action_override = (e.action & kActionOverride) != 0;
  info.evidence = std::string(string_at(e.evidence));
  return info;
}

uint32_t Matcher::kind_count(EntryKind k) const noexcept {
  const auto i = static_cast<size_t>(k);
  return i < 8 ? header_->kind_counts[i] : 0;
}

size_t Matcher::pattern_bytes() const noexcept {
  size_t total = 0;
  for (const hs_database* db : {host_db_.get(), url_db_.get()}) {
    size_t n = 0;
    if (db && hs_database_size(db, &n) == HS_SUCCESS) total += n;
  }
  return total;
}

std::string_view to_string(ObservationKind k) noexcept {
  switch (k) {
    case ObservationKind::kDns:
      return "dns";
    case ObservationKind::kTlsSni:
      return "tls_sni";
    case ObservationKind::kQuicSni:
      return "quic_sni";
    case ObservationKind::kHttp:
      return "http";
    case ObservationKind::kIp:
      return "ip";
  }
  return "unknown";
}

std::optional<ObservationKind> observation_kind_from_string(std::string_view s) noexcept {
  for (const auto k : {ObservationKind::kDns, ObservationKind::kTlsSni, ObservationKind::kQuicSni,
                       ObservationKind::kHttp, ObservationKind::kIp}) {
    if (to_string(k) == s) return k;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// The hot path: no allocation, no exceptions, every loop bounded by a table or a named limit.

Verdict Matcher::match(const Observation& obs, MatchScratch& scratch) const noexcept {
  // The dataplane asks this for every packet's destination; nearly all are on no list.
  if (obs.kind == ObservationKind::kIp && !ip_filter_.may_match(obs.ip)) return Verdict{};
  Accumulator acc;
  acc.lists = lists_;
  bool patterns_ok = true;
  if (obs.kind == ObservationKind::kIp) {
    match_ip(obs.ip, acc);
  } else {
    char buf[kMaxHostPortLen];
    DotMask dots;
    const std::string_view host = normalise_host(obs.host, buf, dots);
    if (!host.empty()) {
      const bool http = obs.kind == ObservationKind::kHttp;
      // Lists hold no ports (CanonicalUrl drops them, Safe Browsing style): match on every port.
      // A port has no dots, so the dots found above all lie in `bare`.
      const std::string_view bare = http ? strip_port(host) : host;
      const std::string_view path =
          http ? (obs.path.empty() ? std::string_view("/") : obs.path) : std::string_view();
      walk_host(bare, dots, path, http, acc);
      if (has_hashed_host_) match_hashed_host(bare, dots, acc);
      if (http && has_hashed_url_) match_hashed_url(bare, path, acc);
      if (host_db_ || (http && url_db_))
        patterns_ok = match_patterns(bare, path, http, scratch, acc);
    }
  }
  Verdict v = acc.verdict();
  v.pattern_error = !patterns_ok;
  return v;
}

void Matcher::walk_host(std::string_view host, const DotMask& dots, std::string_view path,
                        bool http, Accumulator& acc) const noexcept {
  // Right to left: each label extends its parent's fingerprint. The filter's words are fetched
  // first for every suffix to be tested, by prefetches (which, unlike loads, never hold up the
  // pipeline while they wait), so their reads overlap; then only the suffixes the filter lets
  // through (all names in the table, and ~1% of the rest) probe the slot table. A host of n
  // bytes has at most n + 1 labels (all of them empty when it is all dots).
  uint32_t begins[kMaxHostPortLen + 1], tags[kMaxHostPortLen + 1], cand[kMaxHostPortLen + 1];
  TagFilter::Query queries[kMaxHostPortLen + 1];
  // Only suffixes with as many labels as some name in the table are tested, and the walk stops
  // at the deepest such name: most lists hold names of two to four labels, so the top-level
  // label and a long name's leftmost labels cost no filter read.
  if (host_depths_ == 0) return;  // no host names in the table
  uint64_t h = fp::root(seed_);
  size_t end = host.size(), n = 0;
  for (size_t depth = 1;; ++depth) {
    const int dot = prev_dot(dots, end);
    const auto begin = static_cast<size_t>(dot + 1);
    h = fp::extend_in(h, host, begin, end);
    if (host_depths_ >> (std::min(depth, kDepthBits) - 1) & 1) {
      const uint32_t tag = fp::tag_of(h);
      queries[n] = host_filter_.query(tag);
      host_filter_.prefetch(queries[n]);
      begins[n] = static_cast<uint32_t>(begin);
      tags[n++] = tag;
    }
    if (dot < 0 || depth == host_max_depth_) break;
    end = static_cast<size_t>(dot);
  }
  size_t nc = 0;
  for (size_t i = 0; i < n; ++i) {  // no branch per suffix: most fail the filter
    cand[nc] = static_cast<uint32_t>(i);
    nc += host_filter_.test(queries[i]);
  }
  for (size_t c = 0; c < nc; ++c)
    prefetch(&host_slots_[fp::home_of(tags[cand[c]], host_capacity_)]);
  for (size_t c = 0; c < nc; ++c) {
    const size_t i = cand[c];
    const std::string_view name = host.substr(begins[i]);
    const bool full = begins[i] == 0;
    for (size_t s = fp::home_of(tags[i], host_capacity_); s < host_slots_.size(); ++s) {
      const HostSlot& slot = host_slots_[s];
      if (slot.name == kEmptySlot || slot.tag > tags[i]) break;
      if (slot.tag != tags[i] || string_at(slot.name) != name) continue;
      // One entry: the hit is the slot. Several: a run, url hits last.
      const Hit inline_hit{slot.entry, slot.list, slot.kind, slot.action};
      const bool run = slot.kind == kRunKind;
      const Hit* hits = run ? host_hits_.data() + slot.entry + 1 : &inline_hit;
      const uint32_t stop = run ? host_hits_[slot.entry].entry : 1;
      uint32_t j = 0;
      for (; j < stop && hits[j].kind != kKindUrl; ++j) {
        const Hit& hit = hits[j];
        if (hit.kind == kKindDomain) {
          acc.offer(rank_of(kRankDomain, name.size(), 0), hit.entry, hit.list, hit.kind, hit.action,
                    false);
        } else if (hit.kind == kKindExact && full) {
          acc.offer(rank_of(kRankExact, name.size(), 0), hit.entry, hit.list, hit.kind, hit.action,
                    false);
        }
      }
      if (j < stop) {
        if (http) {
          match_url_paths(hits, j, stop, name.size(), path, acc);
        } else {
          // Host alone: report, never enforce (rules brief). Bounded: a host may carry many urls.
          for (uint32_t k = j; k < stop && k - j < kMaxUrlOnlyReports; ++k) {
            const Hit& hit = hits[k];
            acc.offer(rank_of(kRankDomain, name.size(), 0), hit.entry, hit.list, hit.kind,
                      hit.action, true);
          }
        }
      }
      break;  // one slot per distinct name
    }
  }
}

void Matcher::match_url_paths(const Hit* hits, uint32_t begin, uint32_t end, size_t host_len,
                              std::string_view path, Accumulator& acc) const noexcept {
  std::string_view cands[kMaxUrlPathPrefixes + 2];
  const size_t n = path_candidates(path, kMaxUrlPathPrefixes, cands);
  // A url entry's value is "host/path"; its host is the record's name, host_len long.
  auto path_of = [&](const Hit& hit) {
    const std::string_view v = string_at(entries_[hit.entry].value);
    return v.size() >= host_len ? v.substr(host_len) : std::string_view();
  };
  for (size_t c = 0; c < n; ++c) {
    const Hit* first = std::lower_bound(
        hits + begin, hits + end, cands[c],
        [&](const Hit& hit, std::string_view want) { return path_of(hit) < want; });
    for (const Hit* it = first; it != hits + end && path_of(*it) == cands[c]; ++it) {
      acc.offer(rank_of(kRankUrl, host_len, cands[c].size()), it->entry, it->list, it->kind,
                it->action, false);
    }
  }
}

namespace {

// Visits the run of hashed hits whose digest equals `digest`.
template <typename F>
void find_digest(std::span<const Slot> slots, std::span<const HashedHit> hits, uint32_t capacity,
                 const uint8_t* digest, F&& visit) noexcept {
  uint64_t w;
  std::memcpy(&w, digest, 8);
  const uint32_t tag = fp::tag_of(w);
  for (size_t s = fp::home_of(tag, capacity); s < slots.size(); ++s) {
    const Slot slot = slots[s];
    if (slot.record == kEmptySlot || slot.tag > tag) return;
    if (slot.tag != tag || std::memcmp(hits[slot.record].digest, digest, kDigestLen) != 0) continue;
    for (size_t j = slot.record;
         j < hits.size() && std::memcmp(hits[j].digest, digest, kDigestLen) == 0; ++j) {
      visit(hits[j]);
    }
    return;
  }
}

}  // namespace

void Matcher::match_hashed_host(std::string_view host, const DotMask& dots,
                                Accumulator& acc) const noexcept {
  for (size_t g = 0; g < key_group_count_; ++g) {
    for (size_t end = host.size();;) {  // every label-aligned suffix, right to left
      const int dot = prev_dot(dots, end);
      const auto begin = static_cast<size_t>(dot + 1);
      const std::string_view name = host.substr(begin);
      const bool full = begin == 0;
      crypto_generichash_state st = key_states_[g].state;
      uint8_t digest[kDigestLen];
      crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(name.data()), name.size());
      crypto_generichash_final(&st, digest, kDigestLen);
      find_digest(hashed_slots_, hashed_hits_, hashed_capacity_, digest, [&](const HashedHit& hit) {
        if (lists_[hit.list].key_group != g) return;
        if (hit.kind == kKindHashedDomain) {
          acc.offer(rank_of(kRankDomain, name.size(), 0), hit.entry, hit.list, hit.kind, hit.action,
                    false);
        } else if (hit.kind == kKindHashedExact && full) {
          acc.offer(rank_of(kRankExact, name.size(), 0), hit.entry, hit.list, hit.kind, hit.action,
                    false);
        }
      });
      if (dot < 0) break;
      end = static_cast<size_t>(dot);
    }
  }
}

void Matcher::match_hashed_url(std::string_view host, std::string_view path,
                               Accumulator& acc) const noexcept {
  // The full host, then its suffixes of 2..kMaxHashedUrlHostLabels labels.
  std::string_view hosts[kMaxHashedUrlHostLabels + 1];
  size_t nh = 0;
  hosts[nh++] = host;
  size_t labels = 1;
  for (size_t dot = host.rfind('.'); dot != std::string_view::npos && dot > 0;
       dot = host.rfind('.', dot - 1)) {
    const size_t prev = host.rfind('.', dot - 1);  // start of the suffix with one more label
    if (prev == std::string_view::npos || ++labels > kMaxHashedUrlHostLabels)
      break;  // full host: already in
    hosts[nh++] = host.substr(prev + 1);
  }
  std::string_view paths[kMaxHashedUrlPathPrefixes + 2];
  const size_t np = path_candidates(path, kMaxHashedUrlPathPrefixes, paths);
  for (size_t g = 0; g < key_group_count_; ++g) {
    for (size_t i = 0; i < nh; ++i) {
      for (size_t p = 0; p < np; ++p) {
        crypto_generichash_state st = key_states_[g].state;
        uint8_t digest[kDigestLen];
        crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(hosts[i].data()),
                                  hosts[i].size());
        crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(paths[p].data()),
                                  paths[p].size());
        crypto_generichash_final(&st, digest, kDigestLen);
        find_digest(hashed_slots_, hashed_hits_, hashed_capacity_, digest,
                    [&](const HashedHit& hit) {
                      if (lists_[hit.list].key_group != g || hit.kind != kKindHashedUrl) return;
                      acc.offer(rank_of(kRankUrl, hosts[i].size(), paths[p].size()), hit.entry,
                                hit.list, hit.kind, hit.action, false);
                    });
      }
    }
  }
}

void Matcher::match_ip(const IpAddress& ip, Accumulator& acc) const noexcept {
  if (ip.family == IpFamily::kNone) return;
  const std::array<uint8_t, 16> mapped = ip.mapped();
  for (const IpTable& t : ip_tables_) {
    // An IPv4 address only meets IPv4 prefixes (and IPv6 ones inside ::ffff:0:0/96).
    if (ip.family == IpFamily::kV4 && t.prefix_len < kIpv4MappedPrefix) break;
    std::array<uint8_t, 16> key = mapped;
    mask_prefix(&key, t.prefix_len);
    const uint32_t tag = fp::tag_of(fp::of_bytes(seed_, key.data(), key.size()));
    const std::span<const Slot> slots = ip_slots_.subspan(t.slot_begin, t.slot_count);
    const uint8_t family_len = ip.family == IpFamily::kV4
                                   ? static_cast<uint8_t>(t.prefix_len - kIpv4MappedPrefix)
                                   : t.prefix_len;
    for (size_t s = fp::home_of(tag, t.capacity); s < slots.size(); ++s) {
      const Slot slot = slots[s];
      if (slot.record == kEmptySlot || slot.tag > tag) break;
      if (slot.tag != tag || std::memcmp(ip_hits_[slot.record].addr, key.data(), 16) != 0) continue;
      for (size_t j = slot.record; j < ip_hits_.size() && ip_hits_[j].prefix_len == t.prefix_len &&
                                   std::memcmp(ip_hits_[j].addr, key.data(), 16) == 0;
           ++j) {
        const IpHit& hit = ip_hits_[j];
        acc.offer(rank_of(kRankIp, family_len, 0), hit.entry, hit.list, kKindIp, hit.action, false);
      }
      break;
    }
  }
}

bool Matcher::match_patterns(std::string_view host, std::string_view path, bool http,
                             MatchScratch& scratch, Accumulator& acc) const noexcept {
  if (scratch.owner_ != this || !scratch.hs_) return false;
  struct Ctx {
    const Matcher* m;
    Accumulator* acc;
  } ctx{this, &acc};
  auto on_match = [](unsigned int id, unsigned long long, unsigned long long, unsigned int,
                     void* p) -> int {
    const auto* c = static_cast<const Ctx*>(p);
    if (id >= c->m->entries_.size()) return 0;
    const EntryRecord& e = c->m->entries_[id];
    if (e.kind != kKindPattern) return 0;
    c->acc->offer(rank_of(kRankPattern, 0, 0), id, e.list, e.kind,
                  static_cast<uint8_t>(e.action & kActionMask), false);
    return 0;  // keep going: an allow may follow
  };
  bool ok = true;
  if (host_db_) {
    ok &= hs_scan(host_db_.get(), host.data(), static_cast<unsigned>(host.size()), 0, scratch.hs_,
                  on_match, &ctx) == HS_SUCCESS;
  }
  if (http && url_db_) {
    const char* parts[2] = {host.data(), path.data()};
    const unsigned lens[2] = {static_cast<unsigned>(host.size()),
                              static_cast<unsigned>(path.size())};
    ok &=
        hs_scan_vector(url_db_.get(), parts, lens, 2, 0, scratch.hs_, on_match, &ctx) == HS_SUCCESS;
  }
  return ok;
}

}  // namespace muhafiz::rules
