#include "rules/list/canon.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace muhafiz::rules {
namespace {

using namespace std::string_literals;

// The canonicalisation examples published with the Safe Browsing v4 "URLs and Hashing"
// documentation (section Canonicalization), every one, in the published order.
// `strict` is what canonical_url() gives for the same input (what lists hold: no scheme), or
// empty when canonical_url() refuses the host; `strict_error` is then part of its reason.
struct SbVector {
  std::string input;
  std::string expected;  // the published result
  std::string strict;
  std::string strict_error;
};

const SbVector kSafeBrowsingVectors[] = {
    {"http://host/%25%32%35", "http://host/%25", "host/%25", ""},
    {"http://host/%25%32%35%25%32%35", "http://host/%25%25", "host/%25%25", ""},
    {"http://host/%2525252525252525", "http://host/%25", "host/%25", ""},
    {"http://host/asdf%25%32%35asd", "http://host/asdf%25asd", "host/asdf%25asd", ""},
    {"http://host/%%%25%32%35asd%%", "http://host/%25%25%25asd%25%25", "host/%25%25%25asd%25%25",
     ""},
    {"http://www.google.com/", "http://www.google.com/", "www.google.com/", ""},
    {"http://%31%36%38%2e%31%38%38%2e%39%39%2e%32%36/%2E%73%65%63%75%72%65/"
     "%77%77%77%2E%65%62%61%79%2E%63%6F%6D/",
     "http://168.188.99.26/.secure/www.ebay.com/", "168.188.99.26/.secure/www.ebay.com/", ""},
    {"http://195.127.0.11/uploads/%20%20%20%20/.verify/"
     ".eBaysecure=updateuserdataxplimnbqmn-xplmvalidateinfoswqpcmlx=hgplmcx/",
     "http://195.127.0.11/uploads/%20%20%20%20/.verify/"
     ".eBaysecure=updateuserdataxplimnbqmn-xplmvalidateinfoswqpcmlx=hgplmcx/",
     "195.127.0.11/uploads/%20%20%20%20/.verify/"
     ".eBaysecure=updateuserdataxplimnbqmn-xplmvalidateinfoswqpcmlx=hgplmcx/",
     ""},
    {"http://host%23.com/"
     "%257Ea%2521b%2540c%2523d%2524e%25f%255E00%252611%252A22%252833%252944_55%252B",
     "http://host%23.com/~a!b@c%23d$e%25f^00&11*22(33)44_55+", "", "invalid character '#' in host"},
    {"http://3279880203/blah", "http://195.127.0.11/blah", "195.127.0.11/blah", ""},
    {"http://www.google.com/blah/..", "http://www.google.com/", "www.google.com/", ""},
    {"www.google.com/", "http://www.google.com/", "www.google.com/", ""},
    {"www.google.com", "http://www.google.com/", "www.google.com/", ""},
    {"http://www.evil.com/blah#frag", "http://www.evil.com/blah", "www.evil.com/blah", ""},
    {"http://www.GOOgle.com/", "http://www.google.com/", "www.google.com/", ""},
    {"http://www.google.com.../", "http://www.google.com/", "www.google.com/", ""},
    {"http://www.google.com/foo\tbar\rbaz\n2", "http://www.google.com/foobarbaz2",
     "www.google.com/foobarbaz2", ""},
    {"http://www.google.com/q?", "http://www.google.com/q?", "www.google.com/q?", ""},
    {"http://www.google.com/q?r?", "http://www.google.com/q?r?", "www.google.com/q?r?", ""},
    {"http://www.google.com/q?r?s", "http://www.google.com/q?r?s", "www.google.com/q?r?s", ""},
    {"http://evil.com/foo#bar#baz", "http://evil.com/foo", "evil.com/foo", ""},
    {"http://evil.com/foo;", "http://evil.com/foo;", "evil.com/foo;", ""},
    {"http://evil.com/foo?bar;", "http://evil.com/foo?bar;", "evil.com/foo?bar;", ""},
    {"http://\x01\x80.com/", "http://%01%80.com/", "", "invalid IDN label"},
    {"http://notrailingslash.com", "http://notrailingslash.com/", "notrailingslash.com/", ""},
    {"http://www.gotaport.com:1234/", "http://www.gotaport.com/", "www.gotaport.com/", ""},
    {"  http://www.google.com/  ", "http://www.google.com/", "www.google.com/", ""},
    {"http:// leadingspace.com/", "http://%20leadingspace.com/", "",
     "invalid character 0x20 in host"},
    {"http://%20leadingspace.com/", "http://%20leadingspace.com/", "",
     "invalid character 0x20 in host"},
    {"%20leadingspace.com/", "http://%20leadingspace.com/", "", "invalid character 0x20 in host"},
    {"https://www.securesite.com/", "https://www.securesite.com/", "www.securesite.com/", ""},
    {"http://host.com/ab%23cd", "http://host.com/ab%23cd", "host.com/ab%23cd", ""},
    {"http://host.com//twoslashes?more//slashes", "http://host.com/twoslashes?more//slashes",
     "host.com/twoslashes?more//slashes", ""},
};

TEST(SafeBrowsingVectorsTest, PublishedAlgorithmGivesThePublishedResults) {
  for (const SbVector& v : kSafeBrowsingVectors) {
    std::string error;
    const auto got = safe_browsing_canonical_url(v.input, &error);
    ASSERT_TRUE(got.has_value()) << v.input << ": " << error;
    EXPECT_EQ(*got, v.expected) << v.input;
  }
}

TEST(SafeBrowsingVectorsTest, ListFormAgreesExceptWhereTheHostIsNoDnsName) {
  for (const SbVector& v : kSafeBrowsingVectors) {
    std::string error;
    const auto got = canonical_url(v.input, &error);
    if (v.strict.empty()) {
      EXPECT_FALSE(got.has_value()) << v.input << " gave " << got->text();
      EXPECT_NE(error.find(v.strict_error), std::string::npos) << v.input << ": " << error;
    } else {
      ASSERT_TRUE(got.has_value()) << v.input << ": " << error;
      EXPECT_EQ(got->text(), v.strict) << v.input;
      // The list form is the published one without its scheme.
      const std::string published = v.expected.substr(v.expected.find("://") + 3);
      EXPECT_EQ(got->text(), published) << v.input;
    }
  }
}

struct HostCase {
  std::string input;
  std::string expected;  // empty: an error containing `error`
  std::string error;
};

std::string label(char c, size_t n) { return std::string(n, c); }

const HostCase kHostCases[] = {
    // Case and dots.
    {"Example.COM", "example.com", ""},
    {"example.com.", "example.com", ""},
    {".example.com", "example.com", ""},
    {"a..b...example", "a.b.example", ""},
    {"under_score.example", "under_score.example", ""},
    // ASCII labels are not put through IDNA2008's hyphen rules (such names exist).
    {"-lead.example", "-lead.example", ""},
    {"ab--cd.example", "ab--cd.example", ""},
    // IDN: U-labels to A-labels, UTS #46 non-transitional.
    {"bücher.example", "xn--bcher-kva.example", ""},
    {"BÜCHER.Example", "xn--bcher-kva.example", ""},
    {"www.bücher.example.", "www.xn--bcher-kva.example", ""},
    {"faß.de", "xn--fa-hia.de", ""},  // not "fass.de": non-transitional
    {"www.foo\xE3\x80\x82"
     "bar.com",
     "www.foo.bar.com", ""},                                 // U+3002 ideographic full stop
    {"\xEF\xBC\xA5\xEF\xBC\xB8.com", "ex.com", ""},          // fullwidth "EX"
    {"xn--bcher-kva.example", "xn--bcher-kva.example", ""},  // A-labels kept as given
    // IPv4 in every form Safe Browsing accepts.
    {"195.127.0.11", "195.127.0.11", ""},
    {"3279880203", "195.127.0.11", ""},
    {"0xC3.0x7F.0.11", "195.127.0.11", ""},
    {"0303.0177.0.013", "195.127.0.11", ""},
    {"195.127.11", "195.127.0.11", ""},
    {"195.8323083", "195.127.0.11", ""},
    {"0xc37f000b", "195.127.0.11", ""},
    {"195.127.0.11.", "195.127.0.11", ""},
    // IPv6.
    {"[2001:DB8:0::1]", "[2001:db8::1]", ""},
    {"2001:0db8::0001", "[2001:db8::1]", ""},
    {"[::ffff:192.0.2.1]", "192.0.2.1", ""},                 // IPv4-mapped
    {"[64:ff9b::c000:201]", "192.0.2.1", ""},                // NAT64 well-known prefix
    {"[64:ff9b:1::c000:201]", "[64:ff9b:1::c000:201]", ""},  // local-use NAT64: left alone
    // Limits: 63-octet labels and 253-octet names pass, one more fails.
    {label('a', 63) + ".example", label('a', 63) + ".example", ""},
    {label('a', 64) + ".example", "", "label longer than 63 octets (64)"},
    {label('a', 63) + "." + label('b', 63) + "." + label('c', 63) + "." + label('d', 61),
     label('a', 63) + "." + label('b', 63) + "." + label('c', 63) + "." + label('d', 61), ""},
    {label('a', 63) + "." + label('b', 63) + "." + label('c', 63) + "." + label('d', 62), "",
     "name longer than 253 octets (254)"},
    // Errors.
    {"", "", "empty host"},
    {"...", "", "empty host"},
    {"exa mple.com", "", "invalid character 0x20"},
    {"ex*ample.com", "", "invalid character '*'"},
    {"example.com/path", "", "invalid character '/'"},
    {"example.com:80", "", "a host has no port"},
    {"a\xFF"
     "b.example",
     "", "invalid IDN label"},                         // not UTF-8
    {"\xF0\x9F\x92\xA9.la", "", "invalid IDN label"},  // U+1F4A9: IDNA2008 disallows
    {"b\xC3\xBC"
     "cher" +
         label('x', 60) + ".example",
     "", "invalid IDN label"},  // > 63 as A-label
    {"256.1.1.1", "", "not a valid IPv4 address"},
    {"1.2.3.4.5", "", "not a valid IPv4 address"},
    {"example.0x1g", "example.0x1g", ""},  // "0x1g" is no number: an ordinary label
    {"[2001:db8::1", "", "unterminated IPv6 literal"},
    {"[2001:db8::g]", "", "invalid IPv6 address"},
};

TEST(CanonicalHostTest, Table) {
  for (const HostCase& c : kHostCases) {
    std::string error;
    const auto got = canonical_host(c.input, &error);
    if (c.expected.empty()) {
      EXPECT_FALSE(got.has_value()) << c.input << " gave " << *got;
      EXPECT_NE(error.find(c.error), std::string::npos) << c.input << ": " << error;
    } else {
      ASSERT_TRUE(got.has_value()) << c.input << ": " << error;
      EXPECT_EQ(*got, c.expected) << c.input;
      // Canonical forms are fixed points.
      EXPECT_EQ(canonical_host(*got, &error), *got) << c.input;
    }
  }
}

TEST(CanonicalHostTest, NullErrorPointerIsAllowed) {
  EXPECT_FALSE(canonical_host("", nullptr).has_value());
  EXPECT_EQ(canonical_host("Example.com", nullptr), "example.com");
}

struct UrlCase {
  std::string input;
  std::string host;  // empty: an error containing `error`
  uint16_t port;
  std::string path;
  bool has_query;
  std::string query;
  std::string error;
};

const UrlCase kUrlCases[] = {
    {"HTTPS://Bücher.Example:443/a/./b/../c?x=1#frag", "xn--bcher-kva.example", 0, "/a/c", true,
     "x=1", ""},
    {"http://example.com:80/", "example.com", 0, "/", false, "", ""},
    {"http://example.com:443/", "example.com", 443, "/", false, "", ""},  // default only for https
    {"https://example.com:8443/x", "example.com", 8443, "/x", false, "", ""},
    {"http://example.com:/x", "example.com", 0, "/x", false, "", ""},  // empty port
    {"http://[2001:DB8::1]:8080/p", "[2001:db8::1]", 8080, "/p", false, "", ""},
    {"http://[2001:db8::1]/p", "[2001:db8::1]", 0, "/p", false, "", ""},
    {"example.com", "example.com", 0, "/", false, "", ""},
    {"Example.com.", "example.com", 0, "/", false, "", ""},
    {"http://user:pass@example.com/", "example.com", 0, "/", false, "", ""},
    {"http://example.com/?", "example.com", 0, "/", true, "", ""},
    {"http://example.com/a?b=c/../d", "example.com", 0, "/a", true, "b=c/../d", ""},
    {"http://example.com/a/b/", "example.com", 0, "/a/b/", false, "", ""},
    {"http://example.com/a/b/.", "example.com", 0, "/a/b/", false, "", ""},
    {"http://example.com/../../a", "example.com", 0, "/a", false, "", ""},
    {"http://example.com/%7Euser/%e4", "example.com", 0, "/~user/%E4", false, "", ""},
    {"http://example.com/a%2Fb", "example.com", 0, "/a/b", false, "", ""},
    {"http://example.com/a b", "example.com", 0, "/a%20b", false, "", ""},
    {"http://example.com/\xC3\xBC", "example.com", 0, "/%C3%BC", false, "", ""},
    {"http://ex%61mple.com/", "example.com", 0, "/", false, "", ""},
    {"ftp://example.com/", "", 0, "", false, "", "unsupported scheme 'ftp'"},
    {"javascript://example.com/", "", 0, "", false, "", "unsupported scheme 'javascript'"},
    {"http:///path", "", 0, "", false, "", "empty host"},
    {"http://example.com:99999/", "", 0, "", false, "", "invalid port '99999'"},
    {"http://example.com:0/", "", 0, "", false, "", "invalid port '0'"},
    {"http://example.com:8o/", "", 0, "", false, "", "invalid port '8o'"},
    {"http://b\xFF.example/", "", 0, "", false, "", "invalid IDN label"},
    {"http://[2001:db8::1]x/", "", 0, "", false, "", "unexpected text after IPv6 literal"},
    {"http://" + label('a', 64) + ".example/", "", 0, "", false, "", "label longer than 63"},
    {"http://example.com/" + label('a', kMaxUrlLen), "", 0, "", false, "", "URL longer than"},
};

TEST(CanonicalUrlTest, Table) {
  for (const UrlCase& c : kUrlCases) {
    std::string error;
    const auto got = canonical_url(c.input, &error);
    if (c.host.empty()) {
      EXPECT_FALSE(got.has_value()) << c.input << " gave " << got->text();
      EXPECT_NE(error.find(c.error), std::string::npos) << c.input << ": " << error;
      continue;
    }
    ASSERT_TRUE(got.has_value()) << c.input << ": " << error;
    EXPECT_EQ(got->host, c.host) << c.input;
    EXPECT_EQ(got->port, c.port) << c.input;
    EXPECT_EQ(got->path, c.path) << c.input;
    EXPECT_EQ(got->has_query, c.has_query) << c.input;
    EXPECT_EQ(got->query, c.query) << c.input;
    // text() is what lists hold, and canonicalising it again changes nothing.
    const auto again = canonical_url(got->text(), &error);
    ASSERT_TRUE(again.has_value()) << got->text() << ": " << error;
    EXPECT_EQ(again->text(), got->text());
  }
}

TEST(CanonicalUrlTest, TextJoinsHostPathAndQuery) {
  CanonicalUrl u;
  u.host = "example.com";
  u.port = 8080;
  u.path = "/a";
  EXPECT_EQ(u.text(), "example.com/a");  // the port is never part of the text
  u.has_query = true;
  EXPECT_EQ(u.text(), "example.com/a?");
  u.query = "b=1";
  EXPECT_EQ(u.text(), "example.com/a?b=1");
}

TEST(CanonicalUrlTest, DeepEscapingTerminates) {
  // "%25" unescapes to "%", "%2525" to "%25" and so on: one pass per level, bounded by the size.
  std::string url = "http://host/%";
  while (url.size() + 2 < kMaxUrlLen) url += "25";
  const auto got = canonical_url(url, nullptr);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->text(), "host/%25");
}

struct RequestCase {
  std::string host;
  std::string target;
  std::string text;  // empty: an error containing `error`
  std::string error;
};

const RequestCase kRequestCases[] = {
    {"Example.com:80", "/a/../b?q", "example.com/b?q", ""},
    {"example.com:8080", "/x", "example.com/x", ""},
    {"b\xC3\xBC"
     "cher.example",
     "/", "xn--bcher-kva.example/", ""},
    // RFC 9112 §3.2.2: the authority of an absolute-form target replaces Host.
    {"ignored.example", "http://Other.example/x", "other.example/x", ""},
    {"", "HTTPS://other.example/x", "other.example/x", ""},
    // A target starting with "//" is a path: it cannot move the host.
    {"example.com", "//evil.com/x", "example.com/evil.com/x", ""},
    {"example.com", "/@evil.com/", "example.com/@evil.com/", ""},
    {"", "/x", "", "without a Host"},
    {"example.com", "", "", "empty request-target"},
    {"example.com", "*", "", "asterisk-form"},
    {"example.com", "example.com:443", "", "neither origin-form nor absolute-form"},
    {"exa mple.com", "/", "", "invalid character 0x20"},
};

TEST(CanonicalRequestTest, Table) {
  for (const RequestCase& c : kRequestCases) {
    std::string error;
    const auto got = canonical_request(c.host, c.target, &error);
    if (c.text.empty()) {
      EXPECT_FALSE(got.has_value()) << c.host << " " << c.target << " gave " << got->text();
      EXPECT_NE(error.find(c.error), std::string::npos) << c.target << ": " << error;
    } else {
      ASSERT_TRUE(got.has_value()) << c.host << " " << c.target << ": " << error;
      EXPECT_EQ(got->text(), c.text) << c.host << " " << c.target;
    }
  }
}

TEST(CanonicalRequestTest, MatchesTheListFormOfTheSameUrl) {
  const auto request = canonical_request("www.Example.com", "/img/../a.jpg?s=1", nullptr);
  const auto listed = canonical_url("http://www.example.com/a.jpg?s=1", nullptr);
  ASSERT_TRUE(request && listed);
  EXPECT_EQ(request->text(), listed->text());
}

struct PrefixCase {
  std::string input;
  std::string expected;  // empty: an error containing `error`
  std::string error;
};

const PrefixCase kPrefixCases[] = {
    {"192.0.2.1", "192.0.2.1/32", ""},
    {"192.0.2.0/24", "192.0.2.0/24", ""},
    {"0.0.0.0/0", "0.0.0.0/0", ""},
    {"2001:DB8::/32", "2001:db8::/32", ""},
    {"2001:0db8:0000::1", "2001:db8::1/128", ""},
    {"::1", "::1/128", ""},
    {"::/0", "::/0", ""},
    {"::ffff:192.0.2.1", "::ffff:192.0.2.1/128", ""},
    {"192.0.2.1/24", "", "host bits set below /24"},
    {"192.0.2.128/25", "192.0.2.128/25", ""},
    {"192.0.2.129/25", "", "host bits set below /25"},
    {"2001:db8::1/64", "", "host bits set below /64"},
    {"192.0.2.0/33", "", "prefix length 33 exceeds 32"},
    {"2001:db8::/129", "", "prefix length 129 exceeds 128"},
    {"192.0.2.0/", "", "invalid prefix length ''"},
    {"192.0.2.0/024", "", "invalid prefix length '024'"},
    {"192.0.2.0/2a", "", "invalid prefix length '2a'"},
    {"192.0.2.0/-1", "", "invalid prefix length '-1'"},
    {"1.2.3", "", "invalid IP address '1.2.3'"},  // strict here: no inet_aton short forms
    {"0x7f.0.0.1", "", "invalid IP address"},
    {"fe80::1%eth0", "", "invalid IP address"},
    {"example.com", "", "invalid IP address"},
    {"", "", "invalid IP address"},
};

TEST(CanonicalIpPrefixTest, Table) {
  for (const PrefixCase& c : kPrefixCases) {
    std::string error;
    const auto got = canonical_ip_prefix(c.input, &error);
    if (c.expected.empty()) {
      EXPECT_FALSE(got.has_value()) << c.input << " gave " << *got;
      EXPECT_NE(error.find(c.error), std::string::npos) << c.input << ": " << error;
    } else {
      ASSERT_TRUE(got.has_value()) << c.input << ": " << error;
      EXPECT_EQ(*got, c.expected) << c.input;
    }
  }
}

}  // namespace
}  // namespace muhafiz::rules
