#include "rules/list/sources.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace muhafiz::rules {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

SourceResult read(std::string_view text, SourceFormat format, bool skip_invalid = false) {
  SourceOptions opts;
  opts.skip_invalid = skip_invalid;
  return read_source_text(text, "list.src", format, opts);
}

// The errors read_source_text throws; an empty vector (and a test failure) when it does not.
std::vector<SourceError> errors_of(std::string_view text, SourceFormat format,
                                   bool skip_invalid = false) {
  try {
    read(text, format, skip_invalid);
  } catch (const SourceException& e) {
    return e.errors();
  }
  ADD_FAILURE() << "no SourceException for:\n" << text;
  return {};
}

std::string with_crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Formats and names

TEST(SourceFormatTest, NamesRoundTrip) {
  for (SourceFormat f : {SourceFormat::kCsv, SourceFormat::kPlain, SourceFormat::kHosts,
                         SourceFormat::kRpz, SourceFormat::kYaml}) {
    EXPECT_EQ(source_format_from_string(to_string(f)), f);
  }
  EXPECT_FALSE(source_format_from_string("CSV").has_value());
  EXPECT_FALSE(source_format_from_string("zone").has_value());
}

TEST(SourceFormatTest, GuessFromFileName) {
  const std::pair<std::string_view, std::optional<SourceFormat>> cases[] = {
      {"fia.csv", SourceFormat::kCsv},
      {"/srv/lists/FIA.CSV", SourceFormat::kCsv},
      {"db.rpz", SourceFormat::kRpz},
      {"policy.zone", SourceFormat::kRpz},
      {"list.yaml", SourceFormat::kYaml},
      {"list.yml", SourceFormat::kYaml},
      {"/etc/hosts", SourceFormat::kHosts},
      {"hosts.txt", SourceFormat::kHosts},
      {"ads.hosts", SourceFormat::kHosts},
      {"domains.txt", SourceFormat::kPlain},
      {"domains.list", SourceFormat::kPlain},
      {"hostsfile.csv", SourceFormat::kCsv},
      {"README", std::nullopt},
      {"list.json", std::nullopt},
      {"dir.csv/list", std::nullopt},
  };
  for (const auto& [path, expected] : cases) {
    EXPECT_EQ(guess_source_format(path), expected) << path;
  }
}

// ---------------------------------------------------------------------------------------------
// Entry ids

TEST(EntryIdTest, DerivedFromKindAndValueWhenAbsent) {
  // First 16 hex of SHA-256("domain:example.com") and ("exact:xn--bcher-kva.example"),
  // as documented in rules/README.md.
  const auto r = read("example.com\n", SourceFormat::kPlain);
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].id, "ed152b32b035d8e8");
  const auto h = read("0.0.0.0 bücher.example\n", SourceFormat::kHosts);
  ASSERT_EQ(h.entries.size(), 1u);
  EXPECT_EQ(h.entries[0].id, "768e88187c96c6ff");
}

TEST(EntryIdTest, DerivedIdsAreTheSameWhateverTheSpelling) {
  const auto a = read("kind,value\ndomain,EXAMPLE.com.\n", SourceFormat::kCsv);
  const auto b = read("example.com\n", SourceFormat::kPlain);
  ASSERT_EQ(a.entries.size(), 1u);
  ASSERT_EQ(b.entries.size(), 1u);
  EXPECT_EQ(a.entries[0], b.entries[0]);
}

// ---------------------------------------------------------------------------------------------
// CSV

constexpr std::string_view kCsvHappy =
    "kind,value,action,id,evidence\n"
    "domain,Example.COM,,fia-1,case 17\n"
    "exact,bücher.example,nxdomain,,\n"
    "url,\"http://Example.com/a/./b.jpg?x=1#f\",block,u1,\"said \"\"hi\"\", twice\"\n"
    "pattern,^ab[0-9]+\\.example$,,,\n"
    "ip,192.0.2.0/24,drop,,\n"
    "ip,2001:DB8::1,,,\n"
    "hashed_domain,0123456789ABCDEF0123456789abcdef,,h1,\n"
    "hashed_exact,00000000000000000000000000000000,allow,,\n"
    "hashed_url,ffffffffffffffffffffffffffffffff,,,\n";

void expect_csv_happy(const SourceResult& r) {
  ASSERT_EQ(r.entries.size(), 9u);
  EXPECT_TRUE(r.skipped.empty());
  EXPECT_TRUE(r.notes.empty());
  const Entry& d = r.entries[0];
  EXPECT_EQ(d.kind, EntryKind::kDomain);
  EXPECT_EQ(d.value, "example.com");
  EXPECT_FALSE(d.action.has_value());
  EXPECT_EQ(d.id, "fia-1");
  EXPECT_EQ(d.evidence, "case 17");
  EXPECT_EQ(r.entries[1].kind, EntryKind::kExact);
  EXPECT_EQ(r.entries[1].value, "xn--bcher-kva.example");
  EXPECT_EQ(r.entries[1].action, Action::kNxdomain);
  EXPECT_EQ(r.entries[1].id.size(), 16u);  // derived
  EXPECT_EQ(r.entries[2].kind, EntryKind::kUrl);
  EXPECT_EQ(r.entries[2].value, "example.com/a/b.jpg?x=1");
  EXPECT_EQ(r.entries[2].action, Action::kBlock);
  EXPECT_EQ(r.entries[2].evidence, "said \"hi\", twice");
  EXPECT_EQ(r.entries[3].kind, EntryKind::kPattern);
  EXPECT_EQ(r.entries[3].value, "^ab[0-9]+\\.example$");  // kept as written
  EXPECT_EQ(r.entries[4].value, "192.0.2.0/24");
  EXPECT_EQ(r.entries[4].action, Action::kDrop);
  EXPECT_EQ(r.entries[5].value, "2001:db8::1/128");
  EXPECT_EQ(r.entries[6].kind, EntryKind::kHashedDomain);
  EXPECT_EQ(r.entries[6].value, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(r.entries[7].kind, EntryKind::kHashedExact);
  EXPECT_EQ(r.entries[7].action, Action::kAllow);
  EXPECT_EQ(r.entries[8].kind, EntryKind::kHashedUrl);
}

TEST(CsvTest, HappyPath) { expect_csv_happy(read(kCsvHappy, SourceFormat::kCsv)); }

TEST(CsvTest, CrlfAndBomReadTheSame) {
  expect_csv_happy(read(with_crlf(kCsvHappy), SourceFormat::kCsv));
  expect_csv_happy(read(std::string(kBom) + std::string(kCsvHappy), SourceFormat::kCsv));
  expect_csv_happy(read(std::string(kBom) + with_crlf(kCsvHappy), SourceFormat::kCsv));
}

TEST(CsvTest, HeaderIsCaseInsensitiveInAnyOrderWithOptionalColumns) {
  const auto r = read(
      "Value , KIND\nexample.com,domain\n\"b\xC3\xBC"
      "cher.example\",exact\n",
      SourceFormat::kCsv);
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].kind, EntryKind::kDomain);
  EXPECT_EQ(r.entries[0].value, "example.com");
  EXPECT_EQ(r.entries[1].value, "xn--bcher-kva.example");
  EXPECT_TRUE(r.entries[1].evidence.empty());
}

TEST(CsvTest, KindAndActionAreCaseInsensitive) {
  const auto r = read("kind,value,action\nDomain,example.com,NXDOMAIN\n", SourceFormat::kCsv);
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].kind, EntryKind::kDomain);
  EXPECT_EQ(r.entries[0].action, Action::kNxdomain);
}

TEST(CsvTest, UnquotedFieldsAreTrimmedQuotedOnesKept) {
  const auto r = read(
      "kind,value,evidence\n domain , example.com ,\"  two spaces \"\n"
      "pattern,\" ab \",\n",
      SourceFormat::kCsv);
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].value, "example.com");
  EXPECT_EQ(r.entries[0].evidence, "  two spaces ");
  EXPECT_EQ(r.entries[1].value, " ab ");
}

TEST(CsvTest, CommentsAndBlankLinesAreSkipped) {
  const auto r = read(
      "# FIA list, 2024-05\n\nkind,value\n# section\n\ndomain,a.example\n\n"
      "domain,b.example\n",
      SourceFormat::kCsv);
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[1].value, "b.example");
}

TEST(CsvTest, HeaderOnlyIsAnEmptyList) {
  EXPECT_TRUE(read("kind,value\n", SourceFormat::kCsv).entries.empty());
  EXPECT_TRUE(read("kind,value", SourceFormat::kCsv).entries.empty());
}

TEST(CsvTest, LastLineWithoutNewline) {
  const auto r = read("kind,value\ndomain,a.example", SourceFormat::kCsv);
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].value, "a.example");
}

TEST(CsvTest, DuplicatesAreDroppedWithANote) {
  const auto r = read("kind,value\ndomain,example.com\ndomain,EXAMPLE.com.\nexact,example.com\n",
                      SourceFormat::kCsv);
  ASSERT_EQ(r.entries.size(), 2u);  // (exact, example.com) is another entry
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0].line, 3u);
  EXPECT_EQ(r.notes[0].message(),
            "list.src:3: duplicate domain example.com (first at line 2), dropped");
}

struct LineError {
  std::string name;
  std::string body;  // after the header "kind,value,action,id,evidence\n" (line 1)
  size_t line;
  std::string reason;  // part of the message
};

const LineError kCsvLineErrors[] = {
    {"unknown kind", "domain,a.example,,,\nregex,a.example,,,\n", 3, "unknown kind 'regex'"},
    {"missing kind", ",a.example,,,\n", 2, "missing kind"},
    {"empty value", "domain,,,,\n", 2, "empty value"},
    {"bad host", "domain,a..b.example,,,\nexact,exa mple.com,,,\n", 3, "invalid character 0x20"},
    {"wildcard", "domain,*.example.com,,,\n", 2, "no wildcard needed"},
    {"ip as domain", "domain,192.0.2.1,,,\n", 2, "is an IP address, not a domain"},
    {"long label", "exact," + std::string(64, 'a') + ".example,,,\n", 2, "label longer than 63"},
    {"bad idn", "domain,\xF0\x9F\x92\xA9.la,,,\n", 2, "invalid IDN label"},
    {"url scheme", "url,ftp://example.com/x,,,\n", 2, "unsupported scheme 'ftp'"},
    {"url empty host", "url,http:///x,,,\n", 2, "empty host"},
    {"empty pattern", "pattern,\"\",,,\n", 2, "empty value"},
    {"long pattern", "pattern," + std::string(1025, 'a') + ",,,\n", 2, "pattern longer than 1024"},
    {"ip host bits", "ip,192.0.2.1/24,,,\n", 2, "host bits set below /24"},
    {"ip bad", "ip,192.0.2.300,,,\n", 2, "invalid IP address"},
    {"hash short", "hashed_url,0123456789abcdef,,,\n", 2, "exactly 32 hex digits"},
    {"hash not hex", "hashed_exact,0123456789abcdef0123456789abcdeg,,,\n", 2,
     "exactly 32 hex digits"},
    {"bad action", "domain,a.example,deny,,\n", 2, "unknown action 'deny'"},
    {"id with space", "domain,a.example,,a b,\n", 2, "printable ASCII without spaces"},
    {"id too long", "domain,a.example,," + std::string(129, 'i') + ",\n", 2, "id longer than 128"},
    {"evidence too long", "domain,a.example,,," + std::string(1025, 'e') + "\n", 2,
     "evidence longer than 1024"},
    {"evidence control", "domain,a.example,,,\"a\tb\"\n", 2, "control character in evidence"},
    {"evidence utf8", "domain,a.example,,,\xC3(\n", 2, "not valid UTF-8"},
    {"too few fields", "domain,a.example\n", 2, "2 fields, the header has 5"},
    {"too many fields", "domain,a.example,,,,\n", 2, "6 fields, the header has 5"},
    {"quote in field", "domain,a\"b.example,,,\n", 2, "quote inside an unquoted field"},
    {"after closing quote", "domain,\"a.example\"x,,,\n", 2, "after a closing quote"},
    {"unterminated quote", "domain,a.example,,,\ndomain,\"b.example,,,\n", 3,
     "unterminated quoted field"},
    {"conflicting duplicate", "domain,a.example,block,,\ndomain,a.example,allow,,\n", 3,
     "action allow conflicts with action block at line 2"},
    {"reused id", "domain,a.example,,x1,\ndomain,b.example,,x1,\n", 3,
     "id 'x1' already used at line 2"},
    {"multi-line record then error", "domain,a.example,,,\"two\nlines\"\ndomain,bad..,,,\nx,y,,,\n",
     2, "control character in evidence"},
    {"line count after multi-line record",
     "domain,a.example,,,\"ok\"\npattern,\"two\nlines\",,,\nregex,y,,,\n", 5, "unknown kind"},
};

TEST(CsvTest, EveryLineErrorNamesItsLine) {
  for (const LineError& c : kCsvLineErrors) {
    const std::string text = "kind,value,action,id,evidence\n" + c.body;
    const auto errors = errors_of(text, SourceFormat::kCsv);
    ASSERT_FALSE(errors.empty()) << c.name;
    EXPECT_EQ(errors[0].file, "list.src") << c.name;
    EXPECT_EQ(errors[0].line, c.line) << c.name << ": " << errors[0].message();
    EXPECT_NE(errors[0].reason.find(c.reason), std::string::npos)
        << c.name << ": " << errors[0].message();
    // The same line, CRLF-terminated, is reported at the same place.
    const auto crlf = errors_of(with_crlf(text), SourceFormat::kCsv);
    ASSERT_FALSE(crlf.empty()) << c.name;
    EXPECT_EQ(crlf[0].line, c.line) << c.name << " (CRLF)";
  }
}

const LineError kCsvHeaderErrors[] = {
    {"empty file", "", 1, "missing header row"},
    {"blank file", "\n\n# only a comment\n", 1, "missing header row"},
    {"data first", "domain,example.com\n", 1, "missing header row"},
    {"unknown column", "kind,value,comment\n", 1, "unknown column 'comment'"},
    {"duplicate column", "kind,value,Kind\n", 1, "column 'kind' appears twice"},
    {"no value column", "kind,action\n", 1, "header has no 'value' column"},
    {"no kind column", "\nvalue\n", 2, "header has no 'kind' column"},
};

TEST(CsvTest, HeaderErrorsStopReadingEvenWithSkipInvalid) {
  for (const LineError& c : kCsvHeaderErrors) {
    for (bool skip : {false, true}) {
      const auto errors = errors_of(c.body, SourceFormat::kCsv, skip);
      ASSERT_EQ(errors.size(), 1u) << c.name;
      EXPECT_EQ(errors[0].line, c.line) << c.name;
      EXPECT_NE(errors[0].reason.find(c.reason), std::string::npos)
          << c.name << ": " << errors[0].message();
    }
  }
}

TEST(CsvTest, AllErrorsAreCollectedSortedByLine) {
  try {
    read("kind,value\ndomain,ok.example\nbad,x\ndomain,ok2.example\ndomain,\nip,1.2.3.4/8\n",
         SourceFormat::kCsv);
    FAIL() << "no exception";
  } catch (const SourceException& e) {
    ASSERT_EQ(e.errors().size(), 3u);
    EXPECT_EQ(e.errors()[0].line, 3u);
    EXPECT_EQ(e.errors()[1].line, 5u);
    EXPECT_EQ(e.errors()[2].line, 6u);
    // what() is one line per error, each "file:line: reason".
    const std::string what = e.what();
    EXPECT_EQ(what.substr(0, what.find('\n')), e.errors()[0].message());
    EXPECT_EQ(std::count(what.begin(), what.end(), '\n'), 2);
  }
}

TEST(CsvTest, ErrorsAreCappedAt100) {
  std::string text = "kind,value\n";
  for (int i = 0; i < 150; ++i) text += "bad,x\n";
  const auto errors = errors_of(text, SourceFormat::kCsv);
  ASSERT_EQ(errors.size(), 101u);
  EXPECT_EQ(errors[99].line, 101u);
  EXPECT_EQ(errors[100].line, 0u);
  EXPECT_EQ(errors[100].reason, "50 more problems not listed");
}

TEST(CsvTest, SkipInvalidKeepsTheGoodLinesAndReportsTheBad) {
  const auto r = read("kind,value\ndomain,a.example\nbad,x\ndomain,b.example\nurl,ftp://x/\n",
                      SourceFormat::kCsv, /*skip_invalid=*/true);
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].value, "a.example");
  EXPECT_EQ(r.entries[1].value, "b.example");
  ASSERT_EQ(r.skipped.size(), 2u);
  EXPECT_EQ(r.skipped[0].line, 3u);
  EXPECT_EQ(r.skipped[1].line, 5u);
  EXPECT_NE(r.skipped[1].message().find("list.src:5: unsupported scheme 'ftp'"), std::string::npos);
}

TEST(CsvTest, SkipInvalidDropsAConflictingDuplicateOnly) {
  const auto r = read("kind,value,action\ndomain,a.example,block\ndomain,a.example,allow\n",
                      SourceFormat::kCsv, true);
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].action, Action::kBlock);
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].line, 3u);
}

// ---------------------------------------------------------------------------------------------
// Plain

constexpr std::string_view kPlainHappy =
    "# blocklist\n"
    "\n"
    "example.com\n"
    "  Bücher.Example.   # IDN, trailing dot, inline comment\n"
    "\tsub.example.org\n"
    "under_score.example\n";

void expect_plain_happy(const SourceResult& r) {
  ASSERT_EQ(r.entries.size(), 4u);
  for (const Entry& e : r.entries) {
    EXPECT_EQ(e.kind, EntryKind::kDomain);
    EXPECT_FALSE(e.action.has_value());
    EXPECT_TRUE(e.evidence.empty());
  }
  EXPECT_EQ(r.entries[0].value, "example.com");
  EXPECT_EQ(r.entries[1].value, "xn--bcher-kva.example");
  EXPECT_EQ(r.entries[2].value, "sub.example.org");
  EXPECT_EQ(r.entries[3].value, "under_score.example");
}

TEST(PlainTest, HappyPathCrlfBom) {
  expect_plain_happy(read(kPlainHappy, SourceFormat::kPlain));
  expect_plain_happy(read(with_crlf(kPlainHappy), SourceFormat::kPlain));
  expect_plain_happy(read(std::string(kBom) + with_crlf(kPlainHappy), SourceFormat::kPlain));
}

TEST(PlainTest, EmptySourceIsAnEmptyList) {
  EXPECT_TRUE(read("", SourceFormat::kPlain).entries.empty());
  EXPECT_TRUE(read(kBom, SourceFormat::kPlain).entries.empty());
  EXPECT_TRUE(read("# nothing\n\n", SourceFormat::kPlain).entries.empty());
}

TEST(PlainTest, Duplicates) {
  const auto r = read("a.example\nA.example.\n", SourceFormat::kPlain);
  ASSERT_EQ(r.entries.size(), 1u);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0].line, 2u);
}

const LineError kPlainLineErrors[] = {
    {"two words", "a.example\n0.0.0.0 b.example\n", 2, "expected one domain per line"},
    {"bad character", "a.example\n\nb/c.example\n", 3, "invalid character '/'"},
    {"url", "http://a.example/\n", 1, "is a URL, not a host name"},
    {"port", "a.example:8080\n", 1, "a host has no port"},
    {"wildcard", "*.a.example\n", 1, "no wildcard needed"},
    {"ip", "# x\n192.0.2.1\n", 2, "is an IP address"},
    {"bad idn", "ok.example\n\xF0\x9F\x92\xA9.la\n", 2, "invalid IDN label"},
    {"long label", std::string(64, 'a') + ".example\n", 1, "label longer than 63"},
    {"bad ipv4-like", "1.2.3.999\n", 1, "not a valid IPv4 address"},
};

TEST(PlainTest, EveryLineErrorNamesItsLine) {
  for (const LineError& c : kPlainLineErrors) {
    for (const std::string& text : {c.body, with_crlf(c.body), std::string(kBom) + c.body}) {
      const auto errors = errors_of(text, SourceFormat::kPlain);
      ASSERT_EQ(errors.size(), 1u) << c.name;
      EXPECT_EQ(errors[0].line, c.line) << c.name;
      EXPECT_NE(errors[0].reason.find(c.reason), std::string::npos)
          << c.name << ": " << errors[0].message();
    }
  }
}

TEST(PlainTest, SkipInvalid) {
  const auto r = read("a.example\nb c\nd.example\n", SourceFormat::kPlain, true);
  ASSERT_EQ(r.entries.size(), 2u);
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].line, 2u);
}

// ---------------------------------------------------------------------------------------------
// Hosts

constexpr std::string_view kHostsHappy =
    "# stock lines, ignored with a note\n"
    "127.0.0.1 localhost localhost.localdomain\n"
    "::1 localhost ip6-localhost ip6-loopback\n"
    "fe80::1%lo0 localhost\n"
    "255.255.255.255 broadcasthost\n"
    "ff02::1 ip6-allnodes\n"
    "0.0.0.0 0.0.0.0\n"
    "# blocks\n"
    "0.0.0.0 ads.example tracker.example # two names\n"
    "127.0.0.1\tBücher.Example\n"
    ":: v6.example\n"
    "::1 loop6.example\n"
    "127.0.0.2 other-loopback.example\n"
    "127.0.0.1 localhost mixed.example\n";

void expect_hosts_happy(const SourceResult& r) {
  ASSERT_EQ(r.entries.size(), 7u);
  for (const Entry& e : r.entries) EXPECT_EQ(e.kind, EntryKind::kExact) << e.value;
  EXPECT_EQ(r.entries[0].value, "ads.example");
  EXPECT_EQ(r.entries[1].value, "tracker.example");
  EXPECT_EQ(r.entries[2].value, "xn--bcher-kva.example");
  EXPECT_EQ(r.entries[3].value, "v6.example");
  EXPECT_EQ(r.entries[4].value, "loop6.example");
  EXPECT_EQ(r.entries[5].value, "other-loopback.example");
  EXPECT_EQ(r.entries[6].value, "mixed.example");
  ASSERT_EQ(r.notes.size(), 7u);
  const size_t note_lines[] = {2, 3, 4, 5, 6, 7, 14};
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(r.notes[i].line, note_lines[i]);
  EXPECT_EQ(r.notes[1].reason,
            "ignored local name(s) localhost, ip6-localhost, ip6-loopback (not blocks)");
  EXPECT_TRUE(r.skipped.empty());
}

TEST(HostsTest, HappyPathCrlfBom) {
  expect_hosts_happy(read(kHostsHappy, SourceFormat::kHosts));
  expect_hosts_happy(read(with_crlf(kHostsHappy), SourceFormat::kHosts));
  expect_hosts_happy(read(std::string(kBom) + std::string(kHostsHappy), SourceFormat::kHosts));
}

const LineError kHostsLineErrors[] = {
    {"elsewhere", "0.0.0.0 a.example\n192.168.1.10 printer.lan\n", 2,
     "'192.168.1.10' is not a blocking address"},
    {"public v6", "2001:db8::1 a.example\n", 1, "is not a blocking address"},
    {"not an address", "blocked a.example\n", 1, "'blocked' is not a blocking address"},
    {"address alone", "# x\n0.0.0.0\n", 2, "without a name"},
    {"bad name", "0.0.0.0 a.example\n0.0.0.0 b..c d/e\n", 2, "invalid character '/'"},
    {"bad idn", "0.0.0.0 \xF0\x9F\x92\xA9.la\n", 1, "invalid IDN label"},
};

TEST(HostsTest, EveryLineErrorNamesItsLine) {
  for (const LineError& c : kHostsLineErrors) {
    for (const std::string& text : {c.body, with_crlf(c.body)}) {
      const auto errors = errors_of(text, SourceFormat::kHosts);
      ASSERT_EQ(errors.size(), 1u) << c.name;
      EXPECT_EQ(errors[0].line, c.line) << c.name;
      EXPECT_NE(errors[0].reason.find(c.reason), std::string::npos)
          << c.name << ": " << errors[0].message();
    }
  }
}

TEST(HostsTest, SkipInvalidKeepsTheGoodNamesOfALine) {
  const auto r = read("0.0.0.0 a.example b/c d.example\n", SourceFormat::kHosts, true);
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[1].value, "d.example");
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].line, 1u);
}

// ---------------------------------------------------------------------------------------------
// YAML

constexpr std::string_view kYamlHappy =
    "# FIA list\n"
    "entries:\n"
    "  - kind: domain\n"
    "    value: Example.COM\n"
    "    id: fia-1\n"
    "    evidence: case 17\n"
    "  - {kind: exact, value: bücher.example, action: nxdomain}\n"
    "  - kind: url\n"
    "    value: 'http://example.com/a/../b.jpg'\n"
    "  - kind: ip\n"
    "    value: 192.0.2.0/24\n"
    "    action: drop\n"
    "  - kind: hashed_domain\n"
    "    value: 0123456789ABCDEF0123456789ABCDEF\n"
    "  - kind: pattern\n"
    "    value: \"^a.*\\\\.example$\"\n";

void expect_yaml_happy(const SourceResult& r) {
  ASSERT_EQ(r.entries.size(), 6u);
  EXPECT_EQ(r.entries[0].kind, EntryKind::kDomain);
  EXPECT_EQ(r.entries[0].value, "example.com");
  EXPECT_EQ(r.entries[0].id, "fia-1");
  EXPECT_EQ(r.entries[0].evidence, "case 17");
  EXPECT_EQ(r.entries[1].value, "xn--bcher-kva.example");
  EXPECT_EQ(r.entries[1].action, Action::kNxdomain);
  EXPECT_EQ(r.entries[2].value, "example.com/b.jpg");
  EXPECT_EQ(r.entries[3].value, "192.0.2.0/24");
  EXPECT_EQ(r.entries[3].action, Action::kDrop);
  EXPECT_EQ(r.entries[4].value, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(r.entries[5].value, "^a.*\\.example$");
}

TEST(YamlTest, HappyPathCrlfBom) {
  expect_yaml_happy(read(kYamlHappy, SourceFormat::kYaml));
  expect_yaml_happy(read(with_crlf(kYamlHappy), SourceFormat::kYaml));
  expect_yaml_happy(read(std::string(kBom) + with_crlf(kYamlHappy), SourceFormat::kYaml));
}

TEST(YamlTest, EmptyEntriesAndEmptyFile) {
  EXPECT_TRUE(read("entries: []\n", SourceFormat::kYaml).entries.empty());
  EXPECT_TRUE(read("entries:\n", SourceFormat::kYaml).entries.empty());
  EXPECT_TRUE(read("", SourceFormat::kYaml).entries.empty());
  EXPECT_TRUE(read("# nothing\n", SourceFormat::kYaml).entries.empty());
}

const LineError kYamlLineErrors[] = {
    {"unknown entry key", "entries:\n  - kind: domain\n    value: a.example\n    note: x\n", 4,
     "unknown key 'note'"},
    {"unknown top key", "version: 1\nentries: []\n", 1, "unknown key 'version'"},
    {"entries twice", "entries: []\nentries:\n  - {kind: domain, value: a.example}\n", 2,
     "key 'entries' appears twice"},
    {"duplicate key", "entries:\n  - kind: domain\n    value: a.example\n    value: b.example\n", 4,
     "key 'value' appears twice"},
    {"value not scalar", "entries:\n  - kind: domain\n    value:\n      - a.example\n", 4,
     "'value' must be a string"},
    {"item not a map", "entries:\n  - a.example\n", 2, "an entry must be a mapping"},
    {"bad value at its line", "entries:\n  - kind: domain\n\n    value: a..b/c\n", 4,
     "invalid character '/'"},
    {"bad action at its line",
     "entries:\n  - kind: domain\n    value: a.example\n"
     "    action: deny\n",
     4, "unknown action 'deny'"},
    {"bad kind at its line", "entries:\n  - value: a.example\n    kind: regex\n", 3,
     "unknown kind 'regex'"},
    {"missing value", "entries:\n  - kind: domain\n", 2, "empty value"},
    {"null value", "entries:\n  - kind: domain\n    value: ~\n", 3, "empty value"},
    {"second entry",
     "entries:\n  - {kind: domain, value: a.example}\n"
     "  - {kind: domain, value: 'b c'}\n",
     3, "invalid character 0x20"},
    {"conflict",
     "entries:\n  - {kind: domain, value: a.example}\n"
     "  - {kind: domain, value: a.example, action: allow}\n",
     3, "conflicts"},
};

TEST(YamlTest, EveryErrorNamesItsLine) {
  for (const LineError& c : kYamlLineErrors) {
    for (const std::string& text : {c.body, with_crlf(c.body)}) {
      const auto errors = errors_of(text, SourceFormat::kYaml);
      ASSERT_FALSE(errors.empty()) << c.name;
      EXPECT_EQ(errors[0].line, c.line) << c.name << ": " << errors[0].message();
      EXPECT_NE(errors[0].reason.find(c.reason), std::string::npos)
          << c.name << ": " << errors[0].message();
    }
  }
}

const LineError kYamlFatalErrors[] = {
    {"syntax", "entries:\n  - kind: domain\n  value: [a\n", 3, "YAML:"},
    {"not a mapping", "- a.example\n", 1, "expected a mapping with the key 'entries'"},
    {"no entries", "list: x\n", 1, "missing key 'entries'"},
    {"entries not a sequence", "entries:\n  kind: domain\n", 2, "'entries' must be a sequence"},
};

TEST(YamlTest, StructuralErrorsStopReadingEvenWithSkipInvalid) {
  for (const LineError& c : kYamlFatalErrors) {
    const auto errors = errors_of(c.body, SourceFormat::kYaml, /*skip_invalid=*/true);
    ASSERT_FALSE(errors.empty()) << c.name;
    EXPECT_EQ(errors.back().line, c.line) << c.name << ": " << errors.back().message();
    EXPECT_NE(errors.back().reason.find(c.reason), std::string::npos)
        << c.name << ": " << errors.back().message();
  }
}

TEST(YamlTest, SkipInvalid) {
  const auto r = read(
      "entries:\n  - {kind: domain, value: a.example}\n"
      "  - {kind: domain, value: 'b c', extra: 1}\n"
      "  - {kind: exact, value: c.example}\n",
      SourceFormat::kYaml, true);
  ASSERT_EQ(r.entries.size(), 2u);
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].line, 3u);
}

// ---------------------------------------------------------------------------------------------
// Files

TEST(ReadSourceTest, ReadsAFileAndNamesItInMessages) {
  char path[] = "/tmp/muhafiz_list_test_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path, std::ios::binary);
    out << "a.example\nb c\n";
  }
  try {
    read_source(path, SourceFormat::kPlain, {});
    ADD_FAILURE() << "no exception";
  } catch (const SourceException& e) {
    ASSERT_EQ(e.errors().size(), 1u);
    EXPECT_EQ(e.errors()[0].message().substr(0, std::string(path).size() + 3),
              std::string(path) + ":2:");
  }
  SourceOptions skip;
  skip.skip_invalid = true;
  EXPECT_EQ(read_source(path, SourceFormat::kPlain, skip).entries.size(), 1u);
  std::remove(path);
}

TEST(ReadSourceTest, MissingFileIsOneError) {
  try {
    read_source("/nonexistent/muhafiz/list.csv", SourceFormat::kCsv, {});
    FAIL() << "no exception";
  } catch (const SourceException& e) {
    ASSERT_EQ(e.errors().size(), 1u);
    EXPECT_EQ(std::string(e.what()),
              "/nonexistent/muhafiz/list.csv: cannot read: No such file or directory");
  }
}

}  // namespace
}  // namespace muhafiz::rules
