// DNS RPZ sources (draft-vixie-dnsop-dns-rpz) through read_source_text.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "rules/list/sources.h"

namespace muhafiz::rules {
namespace {

SourceResult read_rpz(std::string_view text, bool skip_invalid = false) {
  SourceOptions opts;
  opts.skip_invalid = skip_invalid;
  return read_source_text(text, "policy.rpz", SourceFormat::kRpz, opts);
}

std::vector<SourceError> rpz_errors(std::string_view text) {
  try {
    read_rpz(text);
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

// Line numbers are in the comments: the notes below refer to them.
constexpr std::string_view kZone =
    "; Muhafiz test policy zone\n"                                        // 1
    "$TTL 1h30m\n"                                                        // 2
    "$ORIGIN rpz.example.\n"                                              // 3
    "@ IN SOA ns.rpz.example. hostmaster.rpz.example. (\n"                // 4
    "        2024050101 ; serial\n"                                       // 5
    "        3600 600 86400 60 )\n"                                       // 6
    "  IN NS ns.rpz.example.  ; the apex again: the line starts blank\n"  // 7
    "\n"                                                                  // 8
    "nx.example          CNAME .\n"                                       // 9
    "*.nx.example        CNAME .\n"                                       // 10
    "nodata.example  300 IN CNAME *.\n"                                   // 11
    "*.wild.example  IN 60 CNAME .\n"                                     // 12
    "pass.example        CNAME rpz-passthru.\n"                           // 13
    "legacy.example      CNAME legacy.example.\n"                         // 14
    "DROP.Example        cname RPZ-DROP.\n"                               // 15
    "redir.example       A 192.0.2.10\n"                                  // 16
    "                    AAAA 2001:DB8::10\n"                             // 17
    "                    TXT \"case 17;a\" second\n"                      // 18
    "cname.example       CNAME stop.isp.example.\n"                       // 19
    "B\xC3\xBC"
    "cher.example CNAME .\n"                 // 20
    "32.1.2.0.192.rpz-ip CNAME .\n"          // 21
    "24.0.2.0.192.rpz-ip CNAME rpz-drop.\n"  // 22
    "48.zz.1.db8.2001.rpz-ip CNAME .\n"      // 23
    "128.1.zz.rpz-ip CNAME rpz-passthru.\n"  // 24
    "multi.example (\n"                      // 25
    "    CNAME\n"                            // 26
    "    . )\n"                              // 27
    "$ORIGIN other.example.rpz.example.\n"   // 28
    "@  CNAME .\n"                           // 29
    "*  CNAME .\n";                          // 30

struct Expected {
  EntryKind kind;
  std::string value;
  Action action;
  std::string evidence;
};

const Expected kZoneEntries[] = {
    {EntryKind::kDomain, "nx.example", Action::kNxdomain, ""},
    {EntryKind::kExact, "nodata.example", Action::kNodata, ""},
    {EntryKind::kDomain, "wild.example", Action::kNxdomain, ""},
    {EntryKind::kExact, "pass.example", Action::kAllow, ""},
    {EntryKind::kExact, "legacy.example", Action::kAllow, ""},
    {EntryKind::kExact, "drop.example", Action::kDrop, ""},
    {EntryKind::kExact, "redir.example", Action::kRedirect,
     "local-data A 192.0.2.10; AAAA 2001:db8::10; TXT case 17;a second"},
    {EntryKind::kExact, "cname.example", Action::kRedirect, "local-data CNAME stop.isp.example."},
    {EntryKind::kExact, "xn--bcher-kva.example", Action::kNxdomain, ""},
    {EntryKind::kIp, "192.0.2.1/32", Action::kNxdomain, ""},
    {EntryKind::kIp, "192.0.2.0/24", Action::kDrop, ""},
    {EntryKind::kIp, "2001:db8:1::/48", Action::kNxdomain, ""},
    {EntryKind::kIp, "::1/128", Action::kAllow, ""},
    {EntryKind::kExact, "multi.example", Action::kNxdomain, ""},
    {EntryKind::kDomain, "other.example", Action::kNxdomain, ""},
};

void expect_zone(const SourceResult& r) {
  ASSERT_EQ(r.entries.size(), std::size(kZoneEntries));
  for (size_t i = 0; i < std::size(kZoneEntries); ++i) {
    const Expected& x = kZoneEntries[i];
    const Entry& e = r.entries[i];
    EXPECT_EQ(e.kind, x.kind) << x.value;
    EXPECT_EQ(e.value, x.value);
    EXPECT_EQ(e.action, x.action) << x.value;
    EXPECT_EQ(e.evidence, x.evidence) << x.value;
    EXPECT_EQ(e.id.size(), 16u) << x.value;  // derived: RPZ has no ids
  }
  EXPECT_TRUE(r.skipped.empty());
  ASSERT_EQ(r.notes.size(), 3u);
  EXPECT_EQ(r.notes[0].line, 9u);  // nx.example is covered by *.nx.example
  EXPECT_NE(r.notes[0].reason.find("'nx.example' is covered by '*.nx.example' at line 10"),
            std::string::npos)
      << r.notes[0].message();
  EXPECT_EQ(r.notes[1].line, 12u);  // *.wild.example has no wild.example policy
  EXPECT_NE(r.notes[1].reason.find("1 wildcard policy has no policy for the name itself"),
            std::string::npos)
      << r.notes[1].message();
  EXPECT_EQ(r.notes[2].line, 29u);
}

TEST(RpzTest, HappyPath) { expect_zone(read_rpz(kZone)); }

TEST(RpzTest, CrlfAndBom) {
  expect_zone(read_rpz(with_crlf(kZone)));
  expect_zone(read_rpz("\xEF\xBB\xBF" + with_crlf(kZone)));
}

TEST(RpzTest, ApexFromSoaWithoutOrigin) {
  const auto r = read_rpz(
      "rpz.example. 300 IN SOA ns.rpz.example. h.rpz.example. 1 3600 600 86400 60\n"
      "a.example.rpz.example. CNAME .\n");
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].value, "a.example");
}

TEST(RpzTest, ApexFromOriginWithoutSoa) {
  const auto r = read_rpz("$ORIGIN RPZ.Example.\nA.Example CNAME .\n");
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].kind, EntryKind::kExact);
  EXPECT_EQ(r.entries[0].value, "a.example");
}

TEST(RpzTest, ExactAndWildcardWithDifferentPoliciesStayApart) {
  const auto r = read_rpz(
      "$ORIGIN rpz.example.\na.example CNAME rpz-passthru.\n"
      "*.a.example CNAME .\n");
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].kind, EntryKind::kExact);
  EXPECT_EQ(r.entries[0].action, Action::kAllow);
  EXPECT_EQ(r.entries[1].kind, EntryKind::kDomain);
  EXPECT_EQ(r.entries[1].action, Action::kNxdomain);
  EXPECT_TRUE(r.notes.empty());
}

TEST(RpzTest, EmptyZoneIsAnEmptyList) {
  EXPECT_TRUE(read_rpz("").entries.empty());
  EXPECT_TRUE(read_rpz("$ORIGIN rpz.example.\n@ SOA ns. h. 1 1 1 1 1\n@ NS ns.\n").entries.empty());
}

struct LineError {
  std::string name;
  std::string body;  // after the two header lines
  size_t line;
  std::string reason;
};

const LineError kRpzErrors[] = {
    {"client-ip", "24.0.2.0.192.rpz-client-ip CNAME .\n", 3,
     "rpz-client-ip triggers are not supported"},
    {"nsdname", "ns.evil.example.rpz-nsdname CNAME .\n", 3, "rpz-nsdname triggers"},
    {"nsip", "32.1.2.0.192.rpz-nsip CNAME .\n", 3, "rpz-nsip triggers"},
    {"ip prefix too long", "ok.example CNAME .\n33.1.2.0.192.rpz-ip CNAME .\n", 4,
     "prefix length 33 exceeds 32"},
    {"ip host bits", "24.1.2.0.192.rpz-ip CNAME .\n", 3, "host bits set below /24"},
    {"ip no prefix", "rpz-ip CNAME .\n", 3, "must be prefix-length.address-in-reverse"},
    {"ip bad v6", "64.zz.zz.1.rpz-ip CNAME .\n", 3, "invalid IP address"},
    {"MX", "a.example MX 10 mail.example.\n", 3, "record type MX is not supported"},
    {"CNAME and A", "a.example CNAME .\na.example A 192.0.2.1\n", 3, "CNAME and other data"},
    {"two CNAMEs", "a.example CNAME .\na.example CNAME *.\n", 4, "second CNAME"},
    {"bad A", "a.example A 300.1.1.1\n", 3, "A record needs one IPv4 address"},
    {"bad AAAA", "a.example AAAA 192.0.2.1\n", 3, "AAAA record needs one IPv6 address"},
    {"class CH", "a.example CH CNAME .\n", 3, "class CH is not supported"},
    {"no type", "a.example 300 IN\n", 3, "missing record type"},
    {"outside", "a.example. CNAME .\n", 3, "outside the policy zone 'rpz.example.'"},
    {"at apex", "@ CNAME .\n", 3, "CNAME record at the zone apex"},
    {"delegation", "sub NS ns.example.\n", 3, "delegations are not supported"},
    {"inner wildcard", "a.*.example CNAME .\n", 3, "'*' is only allowed as the whole leftmost"},
    {"whole namespace", "* CNAME .\n", 3, "wildcard over the whole namespace"},
    {"tcp-only", "a.example CNAME rpz-tcp-only.\n", 3, "rpz-tcp-only. is not supported"},
    {"include", "$INCLUDE more.rpz\n", 3, "$INCLUDE is not supported"},
    {"generate", "$GENERATE 1-9 a$ CNAME .\n", 3, "unsupported directive '$GENERATE'"},
    {"bad $TTL", "$TTL soon\n", 3, "$TTL takes one TTL"},
    {"stray )", "a.example CNAME . )\n", 3, "')' without a matching '('"},
    {"open (", "ok.example CNAME .\na.example ( CNAME .\n", 4, "'(' without a matching ')'"},
    {"open string", "a.example TXT \"abc\n", 3, "unterminated quoted string"},
    {"bad owner", "ok.example CNAME .\nbad/name CNAME .\n", 4, "invalid character '/'"},
    {"escaped dot", "a\\.b.example CNAME .\n", 3, "escaped '.' inside a label"},
    {"big escape", "a\\300.example CNAME .\n", 3, "above 255"},
    {"ip as domain", "*.192.0.2.1 CNAME .\n", 3, "is an IP address, not a domain"},
    {"bad idn", "\xF0\x9F\x92\xA9.la CNAME .\n", 3, "invalid IDN label"},
    {"control in TXT", "a.example TXT \"a\\009b\"\n", 3, "control character in evidence"},
    {"second SOA", "@ SOA ns. h. 2 1 1 1 1\n", 3, "second SOA record (first at line 2)"},
    {"CNAME two targets", "a.example CNAME a. b.\n", 3, "CNAME takes one target name"},
    {"$ORIGIN two names", "$ORIGIN a.example. b.example.\n", 3, "$ORIGIN takes one name"},
    {"$ORIGIN no name", "ok.example CNAME .\n$ORIGIN\n", 4, "$ORIGIN takes one name"},
    {"unknown policy", "a.example CNAME rpz-garden.\n", 3,
     "policy CNAME rpz-garden. is not supported"},
    {"same owner spelled twice", "a.example CNAME .\nA.EXAMPLE.rpz.example. CNAME rpz-passthru.\n",
     4, "second CNAME"},
};

TEST(RpzTest, EveryErrorNamesItsLine) {
  for (const LineError& c : kRpzErrors) {
    const std::string zone = "$ORIGIN rpz.example.\n@ SOA ns. h. 1 1 1 1 1\n" + c.body;
    for (const std::string& text : {zone, with_crlf(zone)}) {
      const auto errors = rpz_errors(text);
      ASSERT_FALSE(errors.empty()) << c.name;
      EXPECT_EQ(errors[0].line, c.line) << c.name << ": " << errors[0].message();
      EXPECT_NE(errors[0].reason.find(c.reason), std::string::npos)
          << c.name << ": " << errors[0].message();
    }
  }
}

TEST(RpzTest, ZoneLevelErrors) {
  // No SOA and no $ORIGIN: the zone's name, and so every trigger, is unknown.
  auto errors = rpz_errors("a.example.rpz.example. CNAME .\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 1u);
  EXPECT_NE(errors[0].reason.find("no SOA record or $ORIGIN"), std::string::npos);
  errors = rpz_errors("a.example CNAME .\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].reason.find("relative name 'a.example' with no $ORIGIN"), std::string::npos);
  errors = rpz_errors("$ORIGIN rpz.example.\n  CNAME .\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 2u);
  EXPECT_NE(errors[0].reason.find("record without an owner name"), std::string::npos);
}

TEST(RpzTest, SkipInvalid) {
  const auto r = read_rpz(
      "$ORIGIN rpz.example.\na.example CNAME .\n"
      "b.example MX 10 m.\nc.example CNAME rpz-drop.\n",
      /*skip_invalid=*/true);
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[1].value, "c.example");
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].line, 3u);
  EXPECT_EQ(r.skipped[0].file, "policy.rpz");
}

}  // namespace
}  // namespace muhafiz::rules
