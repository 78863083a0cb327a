// Matching semantics of rules/match: suffix vs exact, url entries (HTTP only, reported but never
// enforced on host alone), hashed entries, IP prefixes, patterns, precedence across lists, shadow.
#include "rules/match/matcher.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "rules/list/canon.h"
#include "rules/match/compiler.h"
#include "tests/unit/rules/match/ruleset_builder.h"

namespace muhafiz::rules {
namespace {

using testing::build;
using testing::make_entry;
using testing::make_list;
using K = EntryKind;

// ---- domain vs exact ---------------------------------------------------------------------------

struct HostCase {
  const char* description;
  const char* host;
  bool matched;
  const char* entry;  // id of the deciding entry
};

TEST(MatcherDomain, SuffixAndExactSemantics) {
  auto r = build({make_list("pta", {
                                       make_entry(K::kDomain, "example.com"),
                                       make_entry(K::kExact, "exact.example.org"),
                                       make_entry(K::kDomain, "a.b.example.net"),
                                       make_entry(K::kDomain, "xn--bcher-kva.example"),
                                   })});
  const HostCase cases[] = {
      {"the domain itself", "example.com", true, "example.com"},
      {"one label below", "www.example.com", true, "example.com"},
      {"several labels below", "a.b.c.example.com", true, "example.com"},
      {"not label-aligned", "notexample.com", false, ""},
      {"domain as a prefix of another name", "example.com.evil", false, ""},
      {"the parent of a domain entry", "com", false, ""},
      {"exact: the name", "exact.example.org", true, "exact.example.org"},
      {"exact: a subdomain is not matched", "www.exact.example.org", false, ""},
      {"exact: the parent is not matched", "example.org", false, ""},
      {"deep domain: its parent is not matched", "b.example.net", false, ""},
      {"deep domain: below it", "x.a.b.example.net", true, "a.b.example.net"},
      {"case folded, trailing dot dropped", "WWW.Example.COM.", true, "example.com"},
      {"A-label entry", "shop.xn--bcher-kva.example", true, "xn--bcher-kva.example"},
      {"empty host", "", false, ""},
      {"lone dot", ".", false, ""},
      {"empty labels do not reach the entry", "example..com", false, ""},
  };
  for (const auto& c : cases) {
    for (const auto kind : {ObservationKind::kDns, ObservationKind::kTlsSni,
                            ObservationKind::kQuicSni, ObservationKind::kHttp}) {
      const Verdict v = r.look(kind, c.host, kind == ObservationKind::kHttp ? "/" : "");
      EXPECT_EQ(v.matched, c.matched) << c.description << " (" << to_string(kind) << ")";
      EXPECT_EQ(v.enforce(), c.matched) << c.description;
      EXPECT_EQ(r.id_of(v), c.entry) << c.description;
    }
  }
}

TEST(MatcherDomain, HostPortIgnoredOnHttpOnly) {
  auto r = build({make_list("pta", {make_entry(K::kDomain, "example.com")})});
  EXPECT_TRUE(r.http("www.example.com:8080", "/").enforce());
  EXPECT_TRUE(r.http("example.com:80", "/").enforce());
  EXPECT_TRUE(r.http("www.example.com.:8080", "/").enforce());  // trailing dot before the port
  EXPECT_FALSE(r.http("example.com:http", "/").matched);  // not a port: the label is "com:http"
  EXPECT_FALSE(r.dns("example.com:8080").matched);        // DNS names carry no port
}

TEST(MatcherDomain, OverlongHostKeepsItsRightmostLabels) {
  auto r = build({make_list("pta", {make_entry(K::kDomain, "bad.example")})});
  std::string host;
  while (host.size() < 400) host += "abcdefgh.";
  host += "bad.example";
  EXPECT_TRUE(r.dns(host).enforce());
  std::string many;
  for (int i = 0; i < 200; ++i) many += "a.";
  EXPECT_TRUE(r.dns(many + "bad.example").enforce());
  EXPECT_FALSE(r.dns(std::string(400, 'x')).matched);  // one giant label: nothing to keep
}

// The walk asks the filter only at label counts some listed name has and stops at the deepest
// (rules/README.md, "Depths with names"). Here names have 1, 2 and 7 labels (a url entry's host
// has 5, with dots in its path), so the walk stops at 7.
TEST(MatcherDomain, NamesAtSomeDepthsOnly) {
  auto r = build({make_list("pta", {
                                       make_entry(K::kExact, "intranet"),
                                       make_entry(K::kDomain, "example.com"),
                                       make_entry(K::kDomain, "a.b.c.d.e.example.org"),
                                       make_entry(K::kUrl, "x.y.z.example.net/v1.2/a.b"),
                                   })});
  const HostCase cases[] = {
      {"one label", "intranet", true, "intranet"},
      {"two labels", "example.com", true, "example.com"},
      {"three labels, found at two", "www.example.com", true, "example.com"},
      {"nine labels, found at two", "a.b.c.d.e.f.g.example.com", true, "example.com"},
      {"seven labels", "a.b.c.d.e.example.org", true, "a.b.c.d.e.example.org"},
      {"eight labels, found at seven", "z.a.b.c.d.e.example.org", true, "a.b.c.d.e.example.org"},
      {"six labels, no name that deep", "b.c.d.e.example.org", false, ""},
      {"below the deepest, a different name", "z.a.b.c.d.x.example.org", false, ""},
  };
  for (const auto& c : cases) {
    const Verdict v = r.dns(c.host);
    EXPECT_EQ(v.matched, c.matched) << c.description;
    EXPECT_EQ(r.id_of(v), c.entry) << c.description;
  }
  EXPECT_FALSE(r.dns("a.intranet").matched) << "exact, one label";
  EXPECT_TRUE(r.http("q.a.b.c.d.e.example.org:8443", "/").enforce()) << "HTTP host with a port";
  // The url entry's host has five labels, a depth no other name has; its path's dots are not
  // labels.
  EXPECT_TRUE(r.http("x.y.z.example.net", "/v1.2/a.b").enforce()) << "url, five labels";
  EXPECT_TRUE(r.http("w.x.y.z.example.net:81", "/v1.2/a.b?q=1").enforce()) << "url, below it";
  EXPECT_FALSE(r.http("x.y.z.example.net", "/v1.3/").matched) << "url, another path";
  const Verdict by_host = r.tls("x.y.z.example.net");
  EXPECT_TRUE(by_host.url_not_enforceable) << "url host seen by TLS";
  EXPECT_FALSE(by_host.enforce());
}

// Past 64 labels the depths share one bit, and the walk then goes to the host's first label.
std::string labels_deep(size_t n, const std::string& under) {
  std::string s = under;
  for (size_t i = 0; i < n; ++i) s = "l" + std::to_string(i % 10) + (s.empty() ? "" : ".") + s;
  return s;
}

TEST(MatcherDomain, NamesPast64Labels) {
  const std::string deep66 = labels_deep(64, "deep.example");  // 66 labels
  const std::string deep70 = labels_deep(68, "far.example");   // 70 labels
  auto r = build({make_list("pta", {
                                       make_entry(K::kDomain, "example.com"),
                                       make_entry(K::kDomain, deep66),
                                       make_entry(K::kExact, deep70),
                                   })});
  EXPECT_TRUE(r.dns("www.example.com").matched) << "three labels, found at two";
  EXPECT_TRUE(r.dns(deep66).matched) << "66 labels";
  EXPECT_TRUE(r.dns("x.y." + deep66).matched) << "68 labels, found at 66";
  EXPECT_FALSE(r.dns(deep66.substr(deep66.find('.') + 1)).matched) << "65 labels";
  EXPECT_TRUE(r.dns(deep70).matched) << "70 labels, exact";
  EXPECT_FALSE(r.dns("x." + deep70).matched) << "71 labels: exact does not cover it";
}

// Reference: a std::set suffix walk over the same names, on random hosts.
TEST(MatcherDomain, AgreesWithAReferenceWalkOnRandomNames) {
  std::mt19937_64 rng(42);
  const char* tlds[] = {"com", "net", "org", "pk", "co.uk"};
  auto label = [&] {
    std::string s;
    const size_t n = 1 + rng() % 8;
    for (size_t i = 0; i < n; ++i)
      s += static_cast<char>('a' + rng() % 6);  // small alphabet: many near misses
    return s;
  };
  std::set<std::string> domains, exacts;
  std::vector<Entry> entries;
  for (int i = 0; i < 20000; ++i) {
    std::string name = label() + "." + tlds[rng() % 5];
    if (rng() % 2) name = label() + "." + name;
    const bool exact = rng() % 4 == 0;
    if (!(exact ? exacts : domains).insert(name).second) continue;
    entries.push_back(make_entry(exact ? K::kExact : K::kDomain, name, std::nullopt,
                                 (exact ? "e:" : "d:") + name));
  }
  auto r = build({make_list("pta", entries)});
  int hits = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string host = label() + "." + tlds[rng() % 5];
    for (size_t k = rng() % 3; k > 0; --k) host = label() + "." + host;
    bool want = exacts.contains(host);
    for (size_t pos = 0; !want; pos = host.find('.', pos) + 1) {
      want = domains.contains(host.substr(pos));
      if (host.find('.', pos) == std::string::npos) break;
    }
    const Verdict v = r.dns(host);
    ASSERT_EQ(v.matched, want) << host;
    hits += want;
  }
  EXPECT_GT(hits, 1000);  // the test exercises both outcomes
  for (const std::string& d : domains) ASSERT_TRUE(r.dns(d).matched) << d;
  for (const std::string& e : exacts) ASSERT_TRUE(r.dns(e).matched) << e;
}

// The same agreement where the fast paths end: labels of 1-40 bytes (one, two and three 16-byte
// chunks of the label hash), hosts past 64 bytes (a second word of dot bits), upper-case
// letters, a trailing dot, and each host handed over in a buffer of its own size, so a read past
// its end is caught under AddressSanitizer.
TEST(MatcherDomain, AgreesWithAReferenceOnLongMixedCaseNames) {
  std::mt19937_64 rng(4242);
  auto label = [&](size_t max_len) {
    std::string s;
    for (size_t n = 1 + rng() % max_len; n > 0; --n)
      s += static_cast<char>(rng() % 8 == 0 ? '0' + rng() % 10 : 'a' + rng() % 4);
    return s;
  };
  std::set<std::string> domains, exacts;
  std::vector<Entry> entries;
  std::vector<std::string> names;
  for (int i = 0; i < 4000; ++i) {
    std::string name = label(40) + "." + (rng() % 2 ? "com" : "co.uk");
    for (size_t k = rng() % 4; k > 0; --k) name = label(40) + "." + name;
    if (name.size() > kMaxHostLen) continue;
    const bool exact = rng() % 4 == 0;
    if (!(exact ? exacts : domains).insert(name).second) continue;
    names.push_back(name);
    entries.push_back(make_entry(exact ? K::kExact : K::kDomain, name, std::nullopt,
                                 (exact ? "e:" : "d:") + name));
  }
  auto r = build({make_list("pta", entries)});
  int hits = 0, long_hosts = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string host = rng() % 2 ? names[rng() % names.size()] : label(40) + ".com";
    for (size_t k = rng() % 5; k > 0; --k) host = label(rng() % 2 ? 8 : 40) + "." + host;
    if (host.size() > kMaxHostLen) continue;
    bool want = exacts.contains(host);
    for (size_t pos = 0; !want; pos = host.find('.', pos) + 1) {
      want = domains.contains(host.substr(pos));
      if (host.find('.', pos) == std::string::npos) break;
    }
    // Half the hosts get upper-case letters (copied and folded into the matcher's own buffer);
    // the others are read in place, where a read past the end would be caught.
    std::string asked = host;
    if (rng() % 2 == 0) {
      for (char& c : asked) {
        if (c >= 'a' && c <= 'z' && rng() % 5 == 0) c = static_cast<char>(c - 'a' + 'A');
      }
    }
    if (rng() % 4 == 0) asked += '.';
    const std::vector<char> exact_size(asked.begin(), asked.end());
    const Verdict v = r.dns(std::string_view(exact_size.data(), exact_size.size()));
    ASSERT_EQ(v.matched, want) << asked;
    hits += want;
    long_hosts += host.size() > 64;
  }
  EXPECT_GT(hits, 4000);        // both outcomes are exercised
  EXPECT_GT(long_hosts, 4000);  // and hosts past the first 64 bytes
}

// ---- url entries -------------------------------------------------------------------------------

TEST(MatcherUrl, HostAloneIsReportedNeverEnforced) {
  auto r = build({make_list("fia", {make_entry(K::kUrl, "bad.example/gallery/"),
                                    make_entry(K::kUrl, "bad.example/a/b.jpg")})});
  for (const auto kind :
       {ObservationKind::kDns, ObservationKind::kTlsSni, ObservationKind::kQuicSni}) {
    for (const char* host : {"bad.example", "cdn.bad.example"}) {
      const Verdict v = r.look(kind, host);
      EXPECT_TRUE(v.matched) << host;
      EXPECT_TRUE(v.url_not_enforceable) << host;
      EXPECT_FALSE(v.enforce()) << host;
      EXPECT_EQ(v.kind, K::kUrl);
    }
    EXPECT_FALSE(r.look(kind, "example").matched);
  }
}

TEST(MatcherUrl, DomainEntryOnTheSameHostStillEnforces) {
  auto r = build({make_list("fia", {make_entry(K::kUrl, "bad.example/gallery/")}),
                  make_list("pta", {make_entry(K::kDomain, "bad.example")})});
  const Verdict v = r.tls("bad.example");
  EXPECT_TRUE(v.enforce());
  EXPECT_EQ(v.kind, K::kDomain);
  EXPECT_FALSE(v.url_not_enforceable);
}

struct UrlCase {
  const char* description;
  const char* host;
  const char* path;
  const char* entry;  // "" = no match
};

TEST(MatcherUrl, HostSuffixTimesPathPrefixOverHttp) {
  auto r = build({make_list("fia", {
                                       make_entry(K::kUrl, "bad.example/gallery/"),
                                       make_entry(K::kUrl, "bad.example/a/b.jpg"),
                                       make_entry(K::kUrl, "bad.example/q.php?id=7"),
                                       make_entry(K::kUrl, "img.test/"),
                                   })});
  const UrlCase cases[] = {
      {"directory prefix", "bad.example", "/gallery/x.jpg", "bad.example/gallery/"},
      {"directory itself", "bad.example", "/gallery/", "bad.example/gallery/"},
      {"deep below the directory", "bad.example", "/gallery/2024/01/x.jpg?s=1",
       "bad.example/gallery/"},
      {"no trailing slash: not the directory", "bad.example", "/gallery", ""},
      {"sibling directory", "bad.example", "/galleryx/1.jpg", ""},
      {"file: exact path", "bad.example", "/a/b.jpg", "bad.example/a/b.jpg"},
      {"file: any query", "bad.example", "/a/b.jpg?x=1", "bad.example/a/b.jpg"},
      {"file: not a byte prefix", "bad.example", "/a/b.jpg.exe", ""},
      {"file: the directory above", "bad.example", "/a/", ""},
      {"query entry: same query", "bad.example", "/q.php?id=7", "bad.example/q.php?id=7"},
      {"query entry: other query", "bad.example", "/q.php?id=8", ""},
      {"query entry: no query", "bad.example", "/q.php", ""},
      {"host suffix", "www.bad.example", "/gallery/1.jpg", "bad.example/gallery/"},
      {"host not label-aligned", "notbad.example", "/gallery/1.jpg", ""},
      {"port ignored", "bad.example:8080", "/gallery/1.jpg", "bad.example/gallery/"},
      {"root entry: every path", "img.test", "/anything?at=all", "img.test/"},
      {"root entry: empty path is /", "img.test", "", "img.test/"},
  };
  for (const auto& c : cases) {
    const Verdict v = r.http(c.host, c.path);
    EXPECT_EQ(r.id_of(v), c.entry) << c.description;
    EXPECT_EQ(v.enforce(), *c.entry != '\0') << c.description;
    EXPECT_FALSE(v.url_not_enforceable) << c.description;  // over HTTP the path is known
  }
}

TEST(MatcherUrl, CanonicalRequestOutsideTheHotPath) {
  auto r = build({make_list("fia", {make_entry(K::kUrl, "bad.example/gallery/")})});
  std::string err;
  const auto url = canonical_request("BAD.example", "/x/../gallery/./1.jpg", &err);
  ASSERT_TRUE(url) << err;
  const std::string path = url->path + (url->has_query ? "?" + url->query : "");
  EXPECT_TRUE(r.http(url->host, path).enforce());
}

TEST(MatcherUrl, ManyUrlsOnOneHostFoundByPath) {
  std::vector<Entry> entries;
  for (int i = 0; i < 5000; ++i)
    entries.push_back(make_entry(K::kUrl, "img.test/p/" + std::to_string(i) + ".jpg"));
  auto r = build({make_list("fia", entries)});
  for (int i = 0; i < 5000; i += 7) {
    ASSERT_EQ(r.id_of(r.http("img.test", "/p/" + std::to_string(i) + ".jpg")),
              entries[static_cast<size_t>(i)].id);
  }
  EXPECT_FALSE(r.http("img.test", "/p/5000.jpg").matched);
  const Verdict v = r.tls("img.test");
  EXPECT_TRUE(v.url_not_enforceable);
  EXPECT_FALSE(v.enforce());
}

// ---- hashed entries ----------------------------------------------------------------------------

TEST(MatcherHashed, DomainExactAndUrlByKeyedHash) {
  using testing::keyed_hex;
  List l = make_list("fia-hashed",
                     {
                         make_entry(K::kHashedDomain, keyed_hex(testing::kKeyA, "hidden.example"),
                                    std::nullopt, "h1"),
                         make_entry(K::kHashedExact, keyed_hex(testing::kKeyA, "exact.hidden.test"),
                                    std::nullopt, "h2"),
                         make_entry(K::kHashedUrl, keyed_hex(testing::kKeyA, "pics.example/dir/"),
                                    std::nullopt, "h3"),
                         make_entry(K::kHashedUrl, keyed_hex(testing::kKeyA, "pics.example/f.jpg"),
                                    std::nullopt, "h4"),
                     });
  l.meta.hash_key = std::string(testing::kKeyA);
  auto r = build({l});
  const struct {
    ObservationKind kind;
    const char* host;
    const char* path;
    const char* entry;
  } cases[] = {
      {ObservationKind::kDns, "hidden.example", "", "h1"},
      {ObservationKind::kDns, "a.b.hidden.example", "", "h1"},
      {ObservationKind::kTlsSni, "HIDDEN.example", "", "h1"},
      {ObservationKind::kDns, "hidden.examples", "", ""},
      {ObservationKind::kDns, "exact.hidden.test", "", "h2"},
      {ObservationKind::kDns, "x.exact.hidden.test", "", ""},
      {ObservationKind::kHttp, "www.pics.example", "/dir/x.jpg", "h3"},
      {ObservationKind::kHttp, "pics.example", "/dir/", "h3"},
      {ObservationKind::kHttp, "pics.example", "/f.jpg?q=1", "h4"},
      {ObservationKind::kHttp, "pics.example", "/other/x.jpg", ""},
      {ObservationKind::kTlsSni, "pics.example", "", ""},  // a hashed url cannot be seen by host
  };
  for (const auto& c : cases) {
    const Verdict v = r.look(c.kind, c.host, c.path);
    EXPECT_EQ(r.id_of(v), c.entry) << c.host << c.path;
    EXPECT_EQ(v.enforce(), *c.entry != '\0') << c.host << c.path;
  }
  const EntryInfo info = r.matcher->entry(0, 0);
  EXPECT_EQ(info.kind, K::kHashedDomain);
  EXPECT_EQ(info.value, keyed_hex(testing::kKeyA, "hidden.example"));
}

TEST(MatcherHashed, EachListHashesWithItsOwnKey) {
  using testing::keyed_hex;
  // List b holds a digest made with key A while its own key is B: it must not match.
  List a = make_list("a", {make_entry(K::kHashedDomain, keyed_hex(testing::kKeyA, "one.example"),
                                      std::nullopt, "a1")});
  a.meta.hash_key = std::string(testing::kKeyA);
  List b = make_list("b", {make_entry(K::kHashedDomain, keyed_hex(testing::kKeyA, "two.example"),
                                      std::nullopt, "b1"),
                           make_entry(K::kHashedDomain, keyed_hex(testing::kKeyB, "three.example"),
                                      std::nullopt, "b2")});
  b.meta.hash_key = std::string(testing::kKeyB);
  auto r = build({a, b});
  EXPECT_EQ(r.id_of(r.dns("one.example")), "a1");
  EXPECT_FALSE(r.dns("two.example").matched);
  EXPECT_EQ(r.id_of(r.dns("www.three.example")), "b2");
}

// ---- IP prefixes -------------------------------------------------------------------------------

TEST(MatcherIp, LongestPrefixIpv4AndIpv6) {
  auto r =
      build({make_list("pta", {
                                  make_entry(K::kIp, "192.0.2.0/24", std::nullopt, "v4/24"),
                                  make_entry(K::kIp, "192.0.2.128/25", Action::kDrop, "v4/25"),
                                  make_entry(K::kIp, "198.51.100.7/32", std::nullopt, "v4/32"),
                                  make_entry(K::kIp, "2001:db8::/32", std::nullopt, "v6/32"),
                                  make_entry(K::kIp, "2001:db8:1::/48", std::nullopt, "v6/48"),
                                  make_entry(K::kIp, "2001:db8:1::1/128", std::nullopt, "v6/128"),
                              })});
  const struct {
    const char* ip;
    const char* entry;
  } cases[] = {
      {"192.0.2.1", "v4/24"},        {"192.0.2.127", "v4/24"},    {"192.0.2.128", "v4/25"},
      {"192.0.2.255", "v4/25"},      {"192.0.3.1", ""},           {"198.51.100.7", "v4/32"},
      {"198.51.100.8", ""},          {"2001:db8::1", "v6/32"},    {"2001:db8:ffff::1", "v6/32"},
      {"2001:db8:1::5", "v6/48"},    {"2001:db8:1::1", "v6/128"}, {"2001:db9::1", ""},
      {"::ffff:192.0.2.1", "v4/24"},  // IPv4-mapped IPv6 is the same host
  };
  for (const auto& c : cases) {
    const Verdict v = r.ip(c.ip);
    EXPECT_EQ(r.id_of(v), c.entry) << c.ip;
    EXPECT_EQ(v.kind, *c.entry ? K::kIp : K::kDomain) << c.ip;
  }
  EXPECT_EQ(r.ip("192.0.2.200").action, Action::kDrop);
  // Hosts do not meet ip entries, addresses do not meet host entries.
  EXPECT_FALSE(r.dns("192.0.2.1").matched);
  Observation none;
  none.kind = ObservationKind::kIp;
  EXPECT_FALSE(r.matcher->match(none, r.scratch).matched);
}

TEST(MatcherIp, DefaultRoutesStayInTheirFamily) {
  auto r = build({make_list("pta", {make_entry(K::kIp, "::/0", std::nullopt, "all6")}),
                  make_list("pta4", {make_entry(K::kIp, "0.0.0.0/0", std::nullopt, "all4")})});
  EXPECT_EQ(r.id_of(r.ip("2001:db8::1")), "all6");
  EXPECT_EQ(r.id_of(r.ip("203.0.113.9")), "all4");
}

// Compiled prefixes of random lengths in both families, each looked up at random addresses
// inside it through match() (which asks the ip prefilter first) and, for IPv4, in the
// IPv4-mapped IPv6 form too: every one matches, so the prefilter stops none of them.
TEST(MatcherIp, RandomPrefixesThroughThePrefilter) {
  std::mt19937_64 rng(5);
  std::vector<Entry> entries;
  std::vector<std::pair<IpAddress, unsigned>> prefixes;
  for (int i = 0; i < 96; ++i) {
    const bool v4 = i % 2 == 0;
    IpAddress a;
    a.family = v4 ? IpFamily::kV4 : IpFamily::kV6;
    for (size_t b = 0; b < (v4 ? 4u : 16u); ++b) a.bytes[b] = static_cast<uint8_t>(rng());
    const auto len = static_cast<unsigned>(v4 ? 8 + rng() % 25 : 16 + rng() % 113);
    std::array<uint8_t, 16> m = a.mapped();
    mask_prefix(&m, v4 ? len + kIpv4MappedPrefix : len);
    if (v4) {
      std::copy(m.begin() + 12, m.end(), a.bytes.begin());
    } else {
      a.bytes = m;
    }
    prefixes.emplace_back(a, len);
    entries.push_back(make_entry(K::kIp, to_string(a) + "/" + std::to_string(len)));
  }
  auto r = build({make_list("pta", std::move(entries))});
  for (const auto& [base, len] : prefixes) {
    for (int i = 0; i < 50; ++i) {
      IpAddress a = base;
      const unsigned bits = base.family == IpFamily::kV4 ? 32 : 128;
      for (unsigned bit = len; bit < bits; ++bit) {
        if (rng() & 1)
          a.bytes[bit / 8] = static_cast<uint8_t>(a.bytes[bit / 8] ^ (0x80u >> (bit % 8)));
      }
      Observation o;
      o.kind = ObservationKind::kIp;
      o.ip = a;
      ASSERT_TRUE(r.matcher->match(o, r.scratch).matched) << to_string(a) << " in /" << len;
      ASSERT_TRUE(r.matcher->may_match_ip(a)) << to_string(a);
      if (base.family == IpFamily::kV4) {
        o.ip.family = IpFamily::kV6;
        o.ip.bytes = a.mapped();
        ASSERT_TRUE(r.matcher->match(o, r.scratch).matched) << to_string(o.ip);
      }
    }
  }
}

// ---- patterns ----------------------------------------------------------------------------------

TEST(MatcherPattern, HostAndUrlExpressions) {
  auto r = build({make_list(
      "pta",
      {
          make_entry(K::kPattern, R"(^([a-z0-9-]+\.)*bad[0-9]+\.example$)", std::nullopt, "host"),
          make_entry(K::kPattern, R"(url:/^([^\/]*\.)?pics\.test\/gallery\/[0-9]+\.JPG$/i)",
                     std::nullopt, "url"),
      })});
  EXPECT_EQ(r.id_of(r.dns("cdn.bad42.example")), "host");
  EXPECT_EQ(r.id_of(r.tls("bad7.example")), "host");
  EXPECT_FALSE(r.dns("bad.example").matched);
  EXPECT_FALSE(r.dns("bad42.example.com").matched);
  EXPECT_EQ(r.id_of(r.http("www.pics.test", "/gallery/12.jpg")), "url");
  EXPECT_FALSE(r.http("pics.test", "/gallery/ab.jpg").matched);
  EXPECT_FALSE(r.tls("pics.test").matched);  // a url pattern needs the path
  EXPECT_EQ(r.http("x.bad1.example", "/").kind, K::kPattern);
}

TEST(MatcherPattern, ScratchProblemsAreFlaggedNotFatal) {
  auto r = build({make_list("pta", {make_entry(K::kPattern, "bad[0-9]+", std::nullopt, "p"),
                                    make_entry(K::kDomain, "plain.example")})});
  MatchScratch empty;
  Observation o;
  o.host = "bad1.example";
  Verdict v = r.matcher->match(o, empty);
  EXPECT_TRUE(v.pattern_error);
  EXPECT_FALSE(v.matched);
  o.host = "plain.example";
  v = r.matcher->match(o, empty);
  EXPECT_TRUE(v.pattern_error);
  EXPECT_TRUE(v.enforce());  // the tables still answer
  auto other = build({make_list("x", {make_entry(K::kPattern, "zzz")})});
  EXPECT_TRUE(r.matcher->match(o, other.scratch).pattern_error);
  // No patterns in the ruleset: no scratch needed.
  auto plain = build({make_list("pta", {make_entry(K::kDomain, "plain.example")})});
  EXPECT_FALSE(plain.matcher->match(o, empty).pattern_error);
}

TEST(MatcherPattern, BadExpressionNamesTheEntry) {
  try {
    compile(std::vector<List>{make_list(
                "pta", {make_entry(K::kPattern, "(unclosed", std::nullopt, "p7")})},
            {});
    FAIL() << "compiled";
  } catch (const CompileError& e) {
    EXPECT_NE(std::string(e.what()).find("list pta, entry p7"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Hyperscan"), std::string::npos) << e.what();
  }
  EXPECT_THROW(compile(std::vector<List>{make_list("pta", {make_entry(K::kPattern, "/x/q")})}, {}),
               CompileError);
}

// ---- precedence --------------------------------------------------------------------------------

TEST(MatcherPrecedence, AllowWinsAnywhere) {
  auto r = build({make_list("pta", {make_entry(K::kDomain, "example.com"),
                                    make_entry(K::kExact, "deep.a.example.com")}),
                  make_list("pass",
                            {make_entry(K::kExact, "www.example.com"),
                             make_entry(K::kDomain, "a.example.com")},
                            Action::kAllow)});
  Verdict v = r.dns("www.example.com");
  EXPECT_TRUE(v.matched);
  EXPECT_EQ(v.action, Action::kAllow);
  EXPECT_FALSE(v.enforce());
  EXPECT_EQ(r.id_of(v), "www.example.com");
  // The allow is less specific than the exact block, and still wins.
  v = r.dns("deep.a.example.com");
  EXPECT_EQ(v.action, Action::kAllow);
  EXPECT_EQ(r.id_of(v), "a.example.com");
  // Outside the allow: the block.
  v = r.dns("x.www.example.com");
  EXPECT_TRUE(v.enforce());
  EXPECT_EQ(r.id_of(v), "example.com");
}

TEST(MatcherPrecedence, MostSpecificThenListOrder) {
  auto r = build({make_list("one", {make_entry(K::kDomain, "example.com", Action::kNxdomain),
                                    make_entry(K::kDomain, "tie.example", Action::kNxdomain),
                                    make_entry(K::kPattern, "^pat\\.example\\.org$",
                                               Action::kRedirect, "pat")}),
                  make_list("two", {make_entry(K::kDomain, "sub.example.com", Action::kDrop),
                                    make_entry(K::kExact, "x.sub.example.com", Action::kRedirect),
                                    make_entry(K::kDomain, "tie.example", Action::kDrop),
                                    make_entry(K::kDomain, "example.org", Action::kNodata)})});
  const struct {
    const char* host;
    const char* list;
    Action action;
  } cases[] = {
      {"www.example.com", "one", Action::kNxdomain},    // only the shorter suffix
      {"y.sub.example.com", "two", Action::kDrop},      // longer suffix beats shorter
      {"x.sub.example.com", "two", Action::kRedirect},  // exact beats any domain
      {"tie.example", "one", Action::kNxdomain},        // equal: the earlier list
      {"pat.example.org", "two", Action::kNodata},      // a domain beats a pattern
  };
  for (const auto& c : cases) {
    const Verdict v = r.dns(c.host);
    ASSERT_TRUE(v.matched) << c.host;
    EXPECT_EQ(r.matcher->list(v.list).id, c.list) << c.host;
    EXPECT_EQ(v.action, c.action) << c.host;
  }
  // Reversed order: the tie goes the other way.
  auto rev = build({make_list("two", {make_entry(K::kDomain, "tie.example", Action::kDrop)}),
                    make_list("one", {make_entry(K::kDomain, "tie.example", Action::kNxdomain)})});
  EXPECT_EQ(rev.dns("tie.example").action, Action::kDrop);
}

TEST(MatcherPrecedence, UrlBeatsDomainOverHttp) {
  auto r = build({make_list("pta", {make_entry(K::kDomain, "example.com", Action::kBlock)}),
                  make_list("fia", {make_entry(K::kUrl, "example.com/bad/", Action::kDrop)})});
  EXPECT_EQ(r.http("example.com", "/bad/1").kind, K::kUrl);
  EXPECT_EQ(r.http("example.com", "/good/1").kind, K::kDomain);
  EXPECT_EQ(r.tls("example.com").kind, K::kDomain);  // host only: the url entry cannot decide
}

TEST(MatcherPrecedence, AlertListIsReportedEvenWhenLessSpecific) {
  auto r = build(
      {make_list("pta", {make_entry(K::kExact, "www.example.com")}),
       make_list("fia", {make_entry(K::kDomain, "example.com")}, Action::kBlock, /*alert=*/true)});
  Verdict v = r.dns("www.example.com");
  EXPECT_EQ(r.matcher->list(v.list).id, "pta");
  EXPECT_TRUE(v.alert);
  EXPECT_EQ(r.matcher->list(v.alert_list).id, "fia");
  EXPECT_EQ(v.alert_entry, 0u);
  v = r.dns("other.example.com");
  EXPECT_TRUE(v.alert);
  EXPECT_EQ(v.list, v.alert_list);
  // An allow exempts: no alert.
  auto allow =
      build({make_list("fia", {make_entry(K::kDomain, "example.com")}, Action::kBlock, true),
             make_list("pass", {make_entry(K::kExact, "ok.example.com")}, Action::kAllow)});
  EXPECT_FALSE(allow.dns("ok.example.com").alert);
}

TEST(MatcherPrecedence, ActionOverrideAndDefault) {
  auto r = build({make_list(
      "rpz",
      {make_entry(K::kDomain, "a.example", Action::kNxdomain), make_entry(K::kDomain, "b.example")},
      Action::kRedirect)});
  EXPECT_EQ(r.dns("a.example").action, Action::kNxdomain);
  EXPECT_EQ(r.dns("b.example").action, Action::kRedirect);
  EXPECT_TRUE(r.matcher->entry(0, 0).action_override);
  EXPECT_FALSE(r.matcher->entry(0, 1).action_override);
}

// ---- shadow ------------------------------------------------------------------------------------

TEST(MatcherShadow, ReportedNeverEnforced) {
  CompileOptions opts;
  opts.shadow_lists = {"trial"};
  auto r = build(
      {make_list("pta",
                 {make_entry(K::kDomain, "both.example"), make_entry(K::kDomain, "live.example")}),
       make_list("trial",
                 {make_entry(K::kDomain, "both.example"), make_entry(K::kDomain, "new.example"),
                  make_entry(K::kExact, "ok.live.example", Action::kAllow)},
                 Action::kBlock, /*alert=*/true)},
      opts);
  EXPECT_TRUE(r.matcher->list(1).shadow);
  Verdict v = r.dns("new.example");
  EXPECT_TRUE(v.matched);
  EXPECT_TRUE(v.shadow);
  EXPECT_FALSE(v.enforce());
  EXPECT_FALSE(v.alert);  // shadow lists never raise FIA alerts
  EXPECT_EQ(v.shadow_list, 1u);
  v = r.dns("both.example");  // the enforcing list decides, the shadow match is still reported
  EXPECT_TRUE(v.enforce());
  EXPECT_EQ(v.list, 0u);
  EXPECT_EQ(v.shadow_list, 1u);
  EXPECT_EQ(v.shadow_entry, 0u);
  v = r.dns("ok.live.example");  // a shadow allow exempts nothing
  EXPECT_TRUE(v.enforce());
  EXPECT_EQ(v.shadow_list, 1u);
  v = r.dns("live.example");
  EXPECT_EQ(v.shadow_list, kNoIndex);
  CompileOptions unknown;
  unknown.shadow_lists = {"nope"};
  EXPECT_THROW(compile(std::vector<List>{make_list("pta", {})}, unknown), CompileError);
}

// ---- empty, metadata, threads ------------------------------------------------------------------

TEST(MatcherEmpty, EmptyRulesetMatchesNothing) {
  for (auto lists : {std::vector<List>{}, std::vector<List>{make_list("empty", {})}}) {
    auto r = build(lists);
    EXPECT_EQ(r.matcher->entry_count(), 0u);
    EXPECT_FALSE(r.dns("example.com").matched);
    EXPECT_FALSE(r.http("example.com", "/x").matched);
    EXPECT_FALSE(r.ip("192.0.2.1").matched);
    EXPECT_FALSE(r.ip("2001:db8::1").matched);
  }
}

TEST(MatcherMeta, ListsAndEntriesRoundTrip) {
  List l = make_list("fia-csam",
                     {make_entry(K::kDomain, "a.example", Action::kNxdomain, "case-17"),
                      make_entry(K::kIp, "192.0.2.0/24"),
                      make_entry(K::kUrl, "b.example/x/", std::nullopt, "0123456789abcdef")});
  l.meta.publisher = "fia";
  l.meta.category = "csam";
  l.meta.version = 42;
  l.meta.created = 1700000000;
  l.meta.expires = 1800000000;
  l.entries[0].evidence = "FIA/2024/17";
  // A derived id (rules/list: SHA-256("<kind>:<value>"), 8 bytes hex) is recomputed, not stored;
  // the example is rules/README.md's ("List model and sources").
  EXPECT_EQ(snapshot::derived_entry_id("domain", "example.com"), "ed152b32b035d8e8");
  l.entries[1].id = snapshot::derived_entry_id("ip", "192.0.2.0/24");
  auto r = build({l});
  const ListInfo info = r.matcher->list(0);
  EXPECT_EQ(info.id, "fia-csam");
  EXPECT_EQ(info.publisher, "fia");
  EXPECT_EQ(info.category, "csam");
  EXPECT_EQ(info.version, 42u);
  EXPECT_EQ(info.created, 1700000000);
  EXPECT_EQ(info.expires, 1800000000);
  EXPECT_EQ(info.entry_count, 3u);
  for (uint32_t i = 0; i < 3; ++i) {
    const EntryInfo e = r.matcher->entry(0, i);
    EXPECT_EQ(e.id, l.entries[i].id);
    EXPECT_EQ(e.value, l.entries[i].value);
    EXPECT_EQ(e.kind, l.entries[i].kind);
    EXPECT_EQ(e.evidence, l.entries[i].evidence);
  }
  EXPECT_EQ(r.matcher->kind_count(K::kIp), 1u);
  EXPECT_THROW(r.matcher->entry(0, 3), std::out_of_range);
  EXPECT_THROW(r.matcher->entry(1, 0), std::out_of_range);
}

TEST(MatcherThreads, ConcurrentLookupsWithOwnScratch) {
  std::vector<Entry> entries;
  for (int i = 0; i < 1000; ++i)
    entries.push_back(make_entry(K::kDomain, "d" + std::to_string(i) + ".example"));
  entries.push_back(make_entry(K::kPattern, "^p[0-9]+\\.example$", std::nullopt, "pat"));
  auto r = build({make_list("pta", entries)});
  std::vector<std::thread> workers;
  std::vector<int> found(4, 0);
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&, t] {
      MatchScratch s = r.matcher->make_scratch();
      for (int i = 0; i < 2000; ++i) {
        Observation o;
        const std::string host = (i % 2 ? "d" : "p") + std::to_string(i % 1000) + ".example";
        o.host = host;
        found[static_cast<size_t>(t)] += r.matcher->match(o, s).enforce();
      }
    });
  }
  for (auto& w : workers) w.join();
  for (const int f : found) EXPECT_EQ(f, 2000);
}

}  // namespace
}  // namespace muhafiz::rules
