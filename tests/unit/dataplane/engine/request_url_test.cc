// The worker's allocation-free request canonicalisation must give what the list side computes
// (rules::canonical_request), or url entries would silently stop matching. Differential over
// targets that exercise each Safe Browsing step, then the worker's own limits.
#include "dataplane/engine/request_url.h"

#include <gtest/gtest.h>

#include <string>

#include "rules/list/canon.h"

namespace muhafiz::engine {
namespace {

// The path + query part of the list side's canonical text for (host, target).
std::string expected_path(std::string_view target) {
  std::string error;
  const auto url = rules::canonical_request("example.com", target, &error);
  EXPECT_TRUE(url.has_value()) << target << ": " << error;
  if (!url) return {};
  return url->path + (url->has_query ? "?" + url->query : "");
}

TEST(RequestUrl, AgreesWithTheListSideCanonicalisation) {
  const char* targets[] = {
      "/",
      "/a/b/c.jpg",
      "/a/b/",
      "/a//b///c",
      "/a/./b/../c",
      "/a/b/..",
      "/a/b/.",
      "/../../x",
      "/..",
      "/.",
      "/%62ad/x.jpg",
      "/%2562ad",    // unescaped twice
      "/%25252562",  // three times
      "/a%2fb",      // an escaped slash becomes a separator
      "/a%3Fb?c",    // an escaped '?' starts the query
      "/a b",        // escaped again on output
      "/%00%01%7f%80%ff",
      "/a%",
      "/a%4",
      "/a%zz",
      "/x#frag",
      "/x%23frag",
      "/x\t\r\n/y",
      "/q?a=1&b=%41",
      "/q?",
      "/q?x#y",
      "/q?a b",
      "/%E4%BD%A0%E5%A5%BD",
      "/trailing/  ",
      "//double/leading",
      "http://other.example/abs/../path?q=1",
      "http://user:pw@other.example:8080/p",
      "HTTP://other.example",
      "https://other.example?only=query",
  };
  RequestUrlBuilder b;
  for (const char* t : targets) {
    SCOPED_TRACE(t);
    const RequestUrl url = b.build(t);
    EXPECT_EQ(std::string(url.path), expected_path(t));
    EXPECT_FALSE(url.truncated);
  }
}

TEST(RequestUrl, AbsoluteFormNamesTheAuthorityWithoutUserinfo) {
  RequestUrlBuilder b;
  EXPECT_EQ(b.build("http://user:pw@Other.Example:8080/p").authority_host, "Other.Example:8080");
  EXPECT_EQ(b.build("http://[2001:db8::1]:80/p").authority_host, "[2001:db8::1]:80");
  EXPECT_EQ(b.build("/origin/form").authority_host, "");
}

TEST(RequestUrl, AuthorityAndAsteriskFormsHaveNoPath) {
  RequestUrlBuilder b;
  EXPECT_EQ(b.build("example.com:443").path, "");
  EXPECT_EQ(b.build("*").path, "");
  EXPECT_EQ(b.build("").path, "");
}

TEST(RequestUrl, LongTargetsAreCutKeepingEveryDirectoryPrefix) {
  RequestUrlBuilder b;
  std::string target = "/bad/";
  target += std::string(kMaxUrlPath, 'a');
  const RequestUrl url = b.build(target);
  EXPECT_TRUE(url.truncated);
  EXPECT_TRUE(url.path.starts_with("/bad/aaa"));
  EXPECT_EQ(url.path.size(), kMaxUrlPath);
}

TEST(RequestUrl, WorstCaseEscapingFitsTheBuffer) {
  RequestUrlBuilder b;
  const std::string target = "/" + std::string(kMaxUrlPath - 1, '\x01');  // every byte becomes %01
  const RequestUrl url = b.build(target);
  EXPECT_FALSE(url.truncated);
  EXPECT_EQ(url.path.size(), 1 + 3 * (kMaxUrlPath - 1));
  EXPECT_TRUE(url.path.ends_with("%01%01"));
}

TEST(RequestUrl, UnescapingStopsAfterItsPassCapAndSaysSo) {
  RequestUrlBuilder b;
  // "A" escaped kMaxUnescapePasses + 1 times: "%41", "%2541", "%252541", ...
  std::string t = "%41";
  for (size_t i = 0; i < kMaxUnescapePasses; ++i) t = "%25" + t.substr(1);
  const RequestUrl capped = b.build("/" + t);
  EXPECT_TRUE(capped.unescape_capped);
  EXPECT_EQ(capped.path, "/%2541");  // one level left, its '%' escaped on output
  std::string fits = "%41";
  for (size_t i = 1; i < kMaxUnescapePasses; ++i) fits = "%25" + fits.substr(1);
  const RequestUrl ok = b.build("/" + fits);
  EXPECT_FALSE(ok.unescape_capped);
  EXPECT_EQ(ok.path, "/A");
}

}  // namespace
}  // namespace muhafiz::engine
