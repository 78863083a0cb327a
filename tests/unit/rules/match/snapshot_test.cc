// The snapshot file: loading refuses anything corrupt, truncated, of another format version or
// structurally unsound (even with a valid checksum), with a reason; compiling is deterministic
// and refuses bad input with the list and entry named.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "rules/match/compiler.h"
#include "rules/match/matcher.h"
#include "rules/match/snapshot_format.h"
#include "tests/unit/rules/match/ruleset_builder.h"

namespace muhafiz::rules {
namespace {

using snapshot::Header;
using snapshot::SectionId;
using testing::make_entry;
using testing::make_list;
using K = EntryKind;

// A ruleset with every kind, so every section is non-empty.
std::vector<List> every_kind() {
  List a = make_list(
      "pta", {make_entry(K::kDomain, "bad.example"), make_entry(K::kExact, "exact.example"),
              make_entry(K::kUrl, "pics.example/dir/"), make_entry(K::kUrl, "pics.example/other/"),
              make_entry(K::kIp, "192.0.2.0/24"), make_entry(K::kIp, "2001:db8::/32"),
              make_entry(K::kPattern, "^bad[0-9]+\\.test$", std::nullopt, "p1"),
              make_entry(K::kPattern, "url:^u\\.test/x", std::nullopt, "p2")});
  List b =
      make_list("fia",
                {make_entry(K::kHashedDomain, testing::keyed_hex(testing::kKeyA, "hidden.example"),
                            std::nullopt, "h1"),
                 make_entry(K::kHashedUrl, testing::keyed_hex(testing::kKeyA, "hidden.example/x/"),
                            std::nullopt, "h2")},
                Action::kBlock, true);
  b.meta.hash_key = std::string(testing::kKeyA);
  b.entries[0].evidence = "case 1";
  return {a, b};
}

std::string load_error(const std::vector<uint8_t>& bytes) {
  try {
    Matcher::from_bytes(bytes, "t.bin");
  } catch (const SnapshotError& e) {
    return e.what();
  }
  return "";
}

Header& header_of(std::vector<uint8_t>& bytes) { return *reinterpret_cast<Header*>(bytes.data()); }

template <typename T>
T* section_of(std::vector<uint8_t>& bytes, SectionId id) {
  return reinterpret_cast<T*>(bytes.data() +
                              header_of(bytes).sections[static_cast<size_t>(id)].offset);
}

snapshot::HostSlot* first_host_slot(std::vector<uint8_t>& bytes) {
  auto* slot = section_of<snapshot::HostSlot>(bytes, SectionId::kHostSlots);
  while (slot->name == snapshot::kEmptySlot || slot->kind == snapshot::kRunKind) ++slot;
  return slot;
}

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

TEST(Snapshot, LoadsAndMatchesEveryKind) {
  auto r = testing::build(every_kind());
  EXPECT_TRUE(r.dns("www.bad.example").enforce());
  EXPECT_TRUE(r.dns("exact.example").enforce());
  EXPECT_TRUE(r.http("pics.example", "/dir/1").enforce());
  EXPECT_TRUE(r.ip("192.0.2.9").enforce());
  EXPECT_TRUE(r.ip("2001:db8::9").enforce());
  EXPECT_TRUE(r.dns("bad1.test").enforce());
  EXPECT_TRUE(r.http("u.test", "/x1").enforce());
  EXPECT_TRUE(r.dns("a.hidden.example").alert);
  EXPECT_TRUE(r.http("hidden.example", "/x/y").enforce());
  for (size_t s = 0; s < snapshot::kSectionCount; ++s) {
    EXPECT_GT(header_of(r.bytes).sections[s].size, 0u)
        << snapshot::section_name(static_cast<SectionId>(s));
  }
}

TEST(Snapshot, CompileIsDeterministic) {
  EXPECT_EQ(compile(every_kind(), {}), compile(every_kind(), {}));
}

// Flip one byte anywhere: refused (magic, version, size or checksum), never loaded, never a crash.
TEST(Snapshot, AnyFlippedByteIsRefused) {
  const std::vector<uint8_t> good = compile(every_kind(), {});
  ASSERT_EQ(load_error(good), "");
  for (size_t i = 0; i < good.size(); ++i) {
    std::vector<uint8_t> bad = good;
    bad[i] ^= 0x20;
    const std::string err = load_error(bad);
    ASSERT_NE(err, "") << "flip at " << i << " was accepted";
    ASSERT_TRUE(contains(err, "t.bin: ")) << err;
  }
  std::vector<uint8_t> bad = good;
  bad[good.size() / 2] ^= 0x01;
  EXPECT_TRUE(contains(load_error(bad), "checksum mismatch")) << load_error(bad);
}

TEST(Snapshot, TruncatedAtSeveralSizesIsRefused) {
  const std::vector<uint8_t> good = compile(every_kind(), {});
  for (const size_t n : {size_t{0}, size_t{1}, size_t{8}, sizeof(Header) - 1, sizeof(Header),
                         sizeof(Header) + 1, good.size() / 2, good.size() - 64, good.size() - 1}) {
    const std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_TRUE(contains(load_error(cut), "truncated")) << n << ": " << load_error(cut);
  }
  std::vector<uint8_t> longer = good;
  longer.push_back(0);
  EXPECT_TRUE(contains(load_error(longer), "bytes after the end")) << load_error(longer);
}

TEST(Snapshot, WrongMagicOrFormatVersionIsRefused) {
  std::vector<uint8_t> bytes = compile(every_kind(), {});
  const std::string reads =
      ", this build reads version " + std::to_string(snapshot::kFormatVersion);
  header_of(bytes).format_version = snapshot::kFormatVersion + 1;
  snapshot::seal(bytes);
  EXPECT_TRUE(contains(load_error(bytes),
                       "format version " + std::to_string(snapshot::kFormatVersion + 1) + reads))
      << load_error(bytes);
  // Older versions hashed labels differently (1: eight bytes at a time; 2: the two-word hash
  // before the running hash went into both factors): refused, not guessed.
  for (uint32_t older = 1; older < snapshot::kFormatVersion; ++older) {
    header_of(bytes).format_version = older;
    snapshot::seal(bytes);
    EXPECT_TRUE(contains(load_error(bytes),
                         "format version " + std::to_string(older) + reads + ": recompile"))
        << load_error(bytes);
  }
  bytes = compile(every_kind(), {});
  std::memcpy(header_of(bytes).magic, "PK\3\4xxxx", 8);
  snapshot::seal(bytes);
  EXPECT_TRUE(contains(load_error(bytes), "not a Muhafiz ruleset")) << load_error(bytes);
}

// A forged file with a valid checksum still cannot point the matcher outside the file.
TEST(Snapshot, StructuralDamageUnderAValidChecksumIsRefused) {
  const std::vector<uint8_t> good = compile(every_kind(), {});
  struct Damage {
    const char* description;
    void (*apply)(std::vector<uint8_t>&);
    const char* reason;
  };
  const Damage damages[] = {
      {"section past the end",
       [](std::vector<uint8_t>& b) {
         header_of(b).sections[static_cast<size_t>(SectionId::kHostHits)].size += uint64_t{1} << 40;
       },
       "host hits: outside the file"},
      {"sections overlap",
       [](std::vector<uint8_t>& b) {
         header_of(b).sections[static_cast<size_t>(SectionId::kHostHits)].size += 64 * 8;
       },
       "overlap"},
      {"section offset misaligned",
       [](std::vector<uint8_t>& b) {
         header_of(b).sections[static_cast<size_t>(SectionId::kEntries)].offset += 8;
       },
       "entries: misaligned"},
      {"partial record",
       [](std::vector<uint8_t>& b) {
         header_of(b).sections[static_cast<size_t>(SectionId::kEntries)].size -= 4;
       },
       "not a whole number of records"},
      {"entry count", [](std::vector<uint8_t>& b) { header_of(b).entry_count += 1; },
       "entries: the header counts"},
      {"string reference",
       [](std::vector<uint8_t>& b) {
         section_of<snapshot::EntryRecord>(b, SectionId::kEntries)[0].evidence = 0x7fffffff;
       },
       "string reference out of bounds"},
      {"entry list index",
       [](std::vector<uint8_t>& b) {
         section_of<snapshot::EntryRecord>(b, SectionId::kEntries)[0].list = 9;
       },
       "list out of range"},
      {"entry kind",
       [](std::vector<uint8_t>& b) {
         section_of<snapshot::EntryRecord>(b, SectionId::kEntries)[0].kind = 200;
       },
       "unknown kind"},
      {"host slot name", [](std::vector<uint8_t>& b) { first_host_slot(b)->name = 0x7fffffff; },
       "string reference out of bounds"},
      {"host slot entry outside its list",
       [](std::vector<uint8_t>& b) { first_host_slot(b)->entry = 1000; }, "out of range"},
      {"host run header",
       [](std::vector<uint8_t>& b) {
         section_of<snapshot::Hit>(b, SectionId::kHostHits)[0].entry = 1000;
       },
       "bad run header"},
      {"host hit entry",
       [](std::vector<uint8_t>& b) {
         section_of<snapshot::Hit>(b, SectionId::kHostHits)[1].entry = 1000;
       },
       "entry, list or action out of range"},
      {"host hit kind",
       [](std::vector<uint8_t>& b) {
         section_of<snapshot::Hit>(b, SectionId::kHostHits)[1].kind = 4;
       },
       "hit of a non-host kind"},
      {"url hits not last",
       [](std::vector<uint8_t>& b) {
         section_of<snapshot::Hit>(b, SectionId::kHostHits)[2].kind = 0;
       },
       "url hits not last"},
      {"hashed value",
       [](std::vector<uint8_t>& b) {
         section_of<snapshot::EntryRecord>(b, SectionId::kEntries)[8].value = 99;
       },
       "hashed value out of range"},
      {"ip hit prefix",
       [](std::vector<uint8_t>& b) {
         section_of<snapshot::IpHit>(b, SectionId::kIpHits)[0].prefix_len = 200;
       },
       "prefix length over 128"},
      {"ip table slots",
       [](std::vector<uint8_t>& b) {
         section_of<snapshot::IpTable>(b, SectionId::kIpTables)[0].slot_count = 100000;
       },
       "slots out of range"},
      {"list flags",
       [](std::vector<uint8_t>& b) {
         section_of<snapshot::ListRecord>(b, SectionId::kLists)[0].flags = 0x80;
       },
       "unknown flags"},
      {"host pattern database",
       [](std::vector<uint8_t>& b) { section_of<uint8_t>(b, SectionId::kPatternHost)[0] ^= 0xff; },
       "Hyperscan refused"},
  };
  for (const auto& d : damages) {
    std::vector<uint8_t> bad = good;
    d.apply(bad);
    snapshot::seal(bad);
    const std::string err = load_error(bad);
    EXPECT_TRUE(contains(err, d.reason)) << d.description << ": " << err;
  }
}

// Random damage to the tables, resealed: either refused, or loaded and every lookup stays in
// bounds (run under ASan/UBSan in CI). Hyperscan's bytecode is outside this test: past our
// checksum it is trusted (rules/README.md).
TEST(Snapshot, RandomDamageUnderAValidChecksumNeverCrashes) {
  const std::vector<uint8_t> good = compile(every_kind(), {});
  Header h{};
  std::memcpy(&h, good.data(), sizeof h);
  const uint64_t tables_end = h.sections[static_cast<size_t>(SectionId::kPatternHost)].offset;
  std::mt19937_64 rng(7);
  int refused = 0, loaded = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<uint8_t> bad = good;
    for (int k = 0; k < 1 + round % 4; ++k) {
      const size_t at = sizeof(Header) + rng() % (tables_end - sizeof(Header));
      bad[at] = static_cast<uint8_t>(rng());
    }
    snapshot::seal(bad);
    std::unique_ptr<const Matcher> m;
    try {
      m = Matcher::from_bytes(bad);
    } catch (const SnapshotError&) {
      ++refused;
      continue;
    }
    ++loaded;
    MatchScratch s = m->make_scratch();
    for (const char* host : {"www.bad.example", "exact.example", "pics.example", "a.hidden.example",
                             "bad1.test", "x"}) {
      for (const auto kind : {ObservationKind::kDns, ObservationKind::kHttp}) {
        Observation o;
        o.kind = kind;
        o.host = host;
        o.path = "/dir/x/y?z";
        const Verdict v = m->match(o, s);
        if (v.matched) (void)m->entry(v.list, v.entry);
      }
    }
    for (const char* ip : {"192.0.2.1", "2001:db8::1"}) {
      Observation o;
      o.kind = ObservationKind::kIp;
      o.ip = parse_ip_address(ip).value();
      (void)m->match(o, s);
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(loaded, 0);  // bytes the validator cannot tell from real ones (e.g. inside strings)
}

TEST(Snapshot, FileRoundTripAndMissingFile) {
  const std::string path = ::testing::TempDir() + "/ruleset-" + std::to_string(getpid()) + ".bin";
  const std::vector<uint8_t> bytes = compile(every_kind(), {});
  write_snapshot(path, bytes);
  {
    auto m = Matcher::load(path);
    MatchScratch s = m->make_scratch();
    Observation o;
    o.host = "bad.example";
    EXPECT_TRUE(m->match(o, s).enforce());
    EXPECT_EQ(m->file_bytes(), bytes.size());
    EXPECT_GT(m->pattern_bytes(), 0u);
  }
  std::filesystem::resize_file(path, 100);
  try {
    Matcher::load(path);
    FAIL() << "loaded a truncated file";
  } catch (const SnapshotError& e) {
    EXPECT_TRUE(contains(e.what(), (path + ": truncated").c_str())) << e.what();
  }
  std::remove(path.c_str());
  try {
    Matcher::load(path);
    FAIL() << "loaded a missing file";
  } catch (const SnapshotError& e) {
    EXPECT_TRUE(contains(e.what(), (path + ": cannot open").c_str())) << e.what();
  }
}

struct BadInput {
  const char* description;
  Entry entry;
  const char* reason;
};

TEST(Compile, BadEntriesAreRefusedWithListAndEntryNamed) {
  const BadInput cases[] = {
      {"upper case host", make_entry(K::kDomain, "Bad.Example", std::nullopt, "e1"), "upper-case"},
      {"trailing dot", make_entry(K::kExact, "bad.example.", std::nullopt, "e1"),
       "starts or ends with '.'"},
      {"overlong host", make_entry(K::kDomain, std::string(254, 'a'), std::nullopt, "e1"),
       "longer than 253"},
      {"url without path", make_entry(K::kUrl, "bad.example", std::nullopt, "e1"),
       "without a path"},
      {"ip host bits", make_entry(K::kIp, "192.0.2.1/24", std::nullopt, "e1"), "host bits set"},
      {"ip garbage", make_entry(K::kIp, "300.1.2.3", std::nullopt, "e1"), "not an IPv4 or IPv6"},
      {"ip length", make_entry(K::kIp, "2001:db8::/129", std::nullopt, "e1"), "bad prefix length"},
      {"hash not hex", make_entry(K::kHashedDomain, std::string(32, 'g'), std::nullopt, "e1"),
       "hex"},
      {"empty pattern", make_entry(K::kPattern, "url:", std::nullopt, "e1"), "empty pattern"},
  };
  for (const auto& c : cases) {
    List l = make_list("pta", {c.entry});
    l.meta.hash_key = std::string(testing::kKeyA);
    try {
      compile(std::vector<List>{l}, {});
      ADD_FAILURE() << c.description << ": compiled";
    } catch (const CompileError& e) {
      EXPECT_TRUE(contains(e.what(), "list pta, entry e1")) << e.what();
      EXPECT_TRUE(contains(e.what(), c.reason)) << c.description << ": " << e.what();
    }
  }
}

TEST(Compile, BadListsAreRefused) {
  const auto hashed = make_entry(K::kHashedDomain, std::string(32, 'a'), std::nullopt, "h");
  EXPECT_THROW(compile(std::vector<List>{make_list("pta", {hashed})}, {}),
               CompileError);  // no hash_key
  List badkey = make_list("pta", {hashed});
  badkey.meta.hash_key = "abcd";
  EXPECT_THROW(compile(std::vector<List>{badkey}, {}), CompileError);
  EXPECT_THROW(compile(std::vector<List>{make_list("pta", {}), make_list("pta", {})}, {}),
               CompileError);
  EXPECT_THROW(compile(std::vector<List>{make_list("", {})}, {}), CompileError);
}

TEST(Compile, StatsCountWhatWasCompiled) {
  CompileStats stats;
  const auto bytes = compile(every_kind(), {}, &stats);
  EXPECT_EQ(stats.lists, 2u);
  EXPECT_EQ(stats.entries, 10u);
  EXPECT_EQ(stats.kind_counts[static_cast<size_t>(K::kIp)], 2u);
  EXPECT_EQ(stats.host_names, 3u);  // bad.example, exact.example, pics.example
  EXPECT_EQ(stats.hashed_digests, 2u);
  EXPECT_EQ(stats.ip_prefix_lengths, 2u);
  EXPECT_EQ(stats.bytes, bytes.size());
  EXPECT_GT(stats.pattern_bytes, 0u);
}

}  // namespace
}  // namespace muhafiz::rules
