#include "dataplane/parse/http.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace muhafiz::parse {
namespace {

using namespace std::string_view_literals;

Bytes bytes_of(std::string_view s) {
  return Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

ParseStatus parse(std::string_view s, HttpRequest* out) {
  return parse_http_request_head(bytes_of(s), out);
}

using Form = HttpTargetForm;
constexpr ParseStatus kOk = ParseStatus::kOk;
constexpr ParseStatus kMalformed = ParseStatus::kMalformed;
constexpr ParseStatus kNotApplicable = ParseStatus::kNotApplicable;

struct HeadCase {
  const char* description;
  std::string_view input;  // exactly one head
  ParseStatus status;
  std::string_view method, target;
  Form form;
  std::string_view host, host_name;
  int64_t content_length;
  bool chunked, has_host;
  uint32_t anomalies;
};

// Expected fields are checked for kOk, and for kMalformed cases that read the whole head
// (framing errors) where the host is still reported.
// clang-format off
constexpr HeadCase kHeadCases[] = {
    {"GET, origin form", "GET /index.html?q=1 HTTP/1.1\r\nHost: www.example.com\r\n"
     "User-Agent: test/1.0\r\nAccept: */*\r\n\r\n",
     kOk, "GET", "/index.html?q=1", Form::kOrigin, "www.example.com", "www.example.com", -1, false,
     true, 0},
    {"absolute form with the same Host", "GET http://www.example.com/a?b HTTP/1.1\r\n"
     "Host: www.example.com\r\n\r\n",
     kOk, "GET", "http://www.example.com/a?b", Form::kAbsolute, "www.example.com",
     "www.example.com", -1, false, true, 0},
    {"absolute form, host compared without port or case",
     "GET HTTP://WWW.Example.com:80/ HTTP/1.1\r\n"
     "Host: www.example.com\r\n\r\n",
     kOk, "GET", "HTTP://WWW.Example.com:80/", Form::kAbsolute, "www.example.com",
     "www.example.com", -1, false, true, 0},
    {"absolute form, HTTP/1.0 without Host: the URI authority",
     "GET http://proxy.example:8080/x HTTP/1.0\r\n\r\n",
     kOk, "GET", "http://proxy.example:8080/x", Form::kAbsolute, "proxy.example:8080",
     "proxy.example", -1, false, false, 0},
    {"absolute form, Host disagrees",
     "GET http://blocked.example/ HTTP/1.1\r\nHost: cover.example\r\n\r\n",
     kOk, "GET", "http://blocked.example/", Form::kAbsolute, "cover.example", "cover.example", -1,
     false, true, kHttpHostMismatch},
    {"absolute form, userinfo hides the host", "GET http://good.example@evil.example/ HTTP/1.1\r\n"
     "Host: evil.example\r\n\r\n",
     kOk, "GET", "http://good.example@evil.example/", Form::kAbsolute, "evil.example",
     "evil.example", -1, false, true, kHttpUserinfo},
    {"absolute form, empty host", "GET http:///x HTTP/1.0\r\n\r\n", kOk, "GET", "http:///x",
     Form::kAbsolute, "", "", -1, false, false, kHttpBadHost},
    {"CONNECT, authority form",
     "CONNECT www.example.com:443 HTTP/1.1\r\nHost: www.example.com:443\r\n"
     "Proxy-Connection: keep-alive\r\n\r\n",
     kOk, "CONNECT", "www.example.com:443", Form::kAuthority, "www.example.com:443",
     "www.example.com", -1, false, true, 0},
    {"CONNECT without Host: the target", "CONNECT 192.0.2.7:8443 HTTP/1.1\r\n\r\n", kOk, "CONNECT",
     "192.0.2.7:8443", Form::kAuthority, "192.0.2.7:8443", "192.0.2.7", -1, false, false,
     kHttpMissingHost},
    {"CONNECT to an IPv6 literal",
     "CONNECT [2001:db8::2]:443 HTTP/1.1\r\nHost: [2001:db8::2]:443\r\n\r\n",
     kOk, "CONNECT", "[2001:db8::2]:443", Form::kAuthority, "[2001:db8::2]:443", "2001:db8::2",
     -1, false, true, 0},
    {"CONNECT without a port", "CONNECT www.example.com HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
     kOk, "CONNECT", "www.example.com", Form::kAuthority, "www.example.com", "www.example.com", -1,
     false, true, kHttpBadHost},
    {"CONNECT with an origin-form target", "CONNECT / HTTP/1.1\r\nHost: x.example\r\n\r\n", kOk,
     "CONNECT", "/", Form::kOrigin, "x.example", "x.example", -1, false, true, kHttpUnexpectedForm},
    {"authority form on GET", "GET x.example:80 HTTP/1.1\r\nHost: x.example\r\n\r\n", kOk, "GET",
     "x.example:80", Form::kAuthority, "x.example", "x.example", -1, false, true,
     kHttpUnexpectedForm},
    {"OPTIONS, asterisk form", "OPTIONS * HTTP/1.1\r\nHost: www.example.com\r\n\r\n", kOk,
     "OPTIONS", "*", Form::kAsterisk, "www.example.com", "www.example.com", -1, false, true, 0},
    {"asterisk form on GET", "GET * HTTP/1.1\r\nHost: a.example\r\n\r\n", kOk, "GET", "*",
     Form::kAsterisk, "a.example", "a.example", -1, false, true, kHttpUnexpectedForm},
    {"SSDP M-SEARCH", "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
     "MAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n",
     kOk, "M-SEARCH", "*", Form::kAsterisk, "239.255.255.250:1900", "239.255.255.250", -1, false,
     true, 0},
    {"SSDP NOTIFY", "NOTIFY * HTTP/1.1\r\nHOST: [FF02::C]:1900\r\nCACHE-CONTROL: max-age=1800\r\n"
     "NT: upnp:rootdevice\r\nNTS: ssdp:alive\r\nUSN: uuid:1::upnp:rootdevice\r\n\r\n",
     kOk, "NOTIFY", "*", Form::kAsterisk, "[FF02::C]:1900", "FF02::C", -1, false, true, 0},
    {"WebDAV PROPFIND", "PROPFIND /dav/ HTTP/1.1\r\nHost: dav.example\r\nDepth: 1\r\n"
     "Content-Length: 0\r\n\r\n",
     kOk, "PROPFIND", "/dav/", Form::kOrigin, "dav.example", "dav.example", 0, false, true, 0},
    {"WebDAV MKCOL", "MKCOL /dav/new/ HTTP/1.1\r\nHost: dav.example\r\n\r\n", kOk, "MKCOL",
     "/dav/new/", Form::kOrigin, "dav.example", "dav.example", -1, false, true, 0},
    {"Host with port", "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", kOk, "GET", "/",
     Form::kOrigin, "example.com:8080", "example.com", -1, false, true, 0},
    {"Host with an empty port", "GET / HTTP/1.1\r\nHost: example.com:\r\n\r\n", kOk, "GET", "/",
     Form::kOrigin, "example.com:", "example.com", -1, false, true, 0},
    {"IPv6 literal Host with port",
     "GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n", kOk, "GET",
     "/", Form::kOrigin, "[2001:db8::1]:8080", "2001:db8::1", -1, false, true, 0},
    {"IPv6 literal Host", "GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n", kOk, "GET", "/", Form::kOrigin,
     "[::1]", "::1", -1, false, true, 0},
    {"unbracketed IPv6 Host", "GET / HTTP/1.1\r\nHost: ::1\r\n\r\n", kOk, "GET", "/", Form::kOrigin,
     "::1", "::1", -1, false, true, kHttpBadHost},
    {"unclosed bracket", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", kOk, "GET", "/", Form::kOrigin,
     "[::1", "[::1", -1, false, true, kHttpBadHost},
    {"junk after the bracket", "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", kOk, "GET", "/",
     Form::kOrigin, "[::1]x", "::1", -1, false, true, kHttpBadHost},
    {"Host port not digits", "GET / HTTP/1.1\r\nHost: example.com:http\r\n\r\n", kOk, "GET", "/",
     Form::kOrigin, "example.com:http", "example.com", -1, false, true, kHttpBadHost},
    {"Host with a space inside", "GET / HTTP/1.1\r\nHost: bad host\r\n\r\n", kOk, "GET", "/",
     Form::kOrigin, "bad host", "bad host", -1, false, true, kHttpBadHost},
    {"Host with userinfo", "GET / HTTP/1.1\r\nHost: user@x.example\r\n\r\n", kOk, "GET", "/",
     Form::kOrigin, "user@x.example", "user@x.example", -1, false, true, kHttpBadHost},
    {"empty Host is allowed", "GET / HTTP/1.1\r\nHost:\r\n\r\n", kOk, "GET", "/", Form::kOrigin, "",
     "", -1, false, true, 0},
    {"mixed-case names, OWS trimmed", "GET / HTTP/1.1\r\nhOsT: \t spaced.example \t\r\n"
     "CONTENT-length:  7 \r\n\r\n",
     kOk, "GET", "/", Form::kOrigin, "spaced.example", "spaced.example", 7, false, true, 0},
    {"LF-only line ends", "GET / HTTP/1.1\nHost: lf.example\n\n", kOk, "GET", "/", Form::kOrigin,
     "lf.example", "lf.example", -1, false, true, kHttpBareLf},
    {"one LF-only line", "GET / HTTP/1.1\r\nHost: mixed.example\n\r\n", kOk, "GET", "/",
     Form::kOrigin, "mixed.example", "mixed.example", -1, false, true, kHttpBareLf},
    {"HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", kOk, "GET", "/", Form::kOrigin, "", "", -1,
     false, false, 0},
    {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", kOk, "GET", "/",
     Form::kOrigin, "", "", -1, false, false, kHttpMissingHost},
    {"duplicate Host: the first is kept", "GET / HTTP/1.1\r\nHost: first.example\r\n"
     "host: second.example\r\n\r\n",
     kOk, "GET", "/", Form::kOrigin, "first.example", "first.example", -1, false, true,
     kHttpDuplicateHost},
    {"POST with Content-Length",
     "POST /form HTTP/1.1\r\nHost: p.example\r\nContent-Length: 12\r\n\r\n",
     kOk, "POST", "/form", Form::kOrigin, "p.example", "p.example", 12, false, true, 0},
    {"Content-Length list of equal values", "POST / HTTP/1.1\r\nHost: p.example\r\n"
     "Content-Length: 5, 5\r\nContent-Length: 5\r\n\r\n",
     kOk, "POST", "/", Form::kOrigin, "p.example", "p.example", 5, false, true, 0},
    {"Content-Length at 18 digits", "POST / HTTP/1.1\r\nHost: p.example\r\n"
     "Content-Length: 999999999999999999\r\n\r\n",
     kOk, "POST", "/", Form::kOrigin, "p.example", "p.example", 999999999999999999, false, true, 0},
    {"chunked after gzip",
     "POST / HTTP/1.1\r\nHost: c.example\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
     kOk, "POST", "/", Form::kOrigin, "c.example", "c.example", -1, true, true, 0},
    {"chunked over two header lines",
     "POST / HTTP/1.1\r\nHost: c.example\r\nTransfer-Encoding: gzip\r\n"
     "transfer-encoding: ,CHUNKED\r\n\r\n",
     kOk, "POST", "/", Form::kOrigin, "c.example", "c.example", -1, true, true, 0},
    {"Content-Length and chunked", "POST / HTTP/1.1\r\nHost: c.example\r\nContent-Length: 4\r\n"
     "Transfer-Encoding: chunked\r\n\r\n",
     kOk, "POST", "/", Form::kOrigin, "c.example", "c.example", 4, true, true, kHttpClAndChunked},
    {"bad Content-Length, chunked wins",
     "POST / HTTP/1.1\r\nHost: c.example\r\nContent-Length: x\r\n"
     "Transfer-Encoding: chunked\r\n\r\n",
     kOk, "POST", "/", Form::kOrigin, "c.example", "c.example", -1, true, true,
     kHttpClAndChunked | kHttpBadContentLength},
    {"Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", kOk,
     "POST", "/", Form::kOrigin, "", "", -1, true, false, kHttpTeInHttp10},
    {"obs-fold continues an ordinary field", "GET / HTTP/1.1\r\nHost: f.example\r\nX-Long: a\r\n"
     " b\r\n\r\n",
     kOk, "GET", "/", Form::kOrigin, "f.example", "f.example", -1, false, true, kHttpObsFold},
    {"whitespace-led line before the first field",
     "GET / HTTP/1.1\r\n X: y\r\nHost: w.example\r\n\r\n",
     kOk, "GET", "/", Form::kOrigin, "w.example", "w.example", -1, false, true, kHttpObsFold},
    {"leading empty lines", "\r\n\nGET / HTTP/1.1\r\nHost: l.example\r\n\r\n", kOk, "GET", "/",
     Form::kOrigin, "l.example", "l.example", -1, false, true,
     kHttpLeadingEmptyLine | kHttpBareLf},
    {"loose request-line whitespace", "GET  /x\tHTTP/1.1 \r\nHost: s.example\r\n\r\n", kOk, "GET",
     "/x", Form::kOrigin, "s.example", "s.example", -1, false, true, kHttpLooseWhitespace},
    {"control byte in a value", "GET / HTTP/1.1\r\nHost: c.example\r\nX-A: a\x01z\r\n\r\n", kOk,
     "GET", "/", Form::kOrigin, "c.example", "c.example", -1, false, true, kHttpCtlInField},
    {"method of 24 bytes", "ABCDEFGHIJKLMNOPQRSTUVWX / HTTP/1.1\r\nHost: m.example\r\n\r\n", kOk,
     "ABCDEFGHIJKLMNOPQRSTUVWX", "/", Form::kOrigin, "m.example", "m.example", -1, false, true, 0},
    {"space inside the target",
     "GET /a b HTTP/1.1\r\nHost: s.example\r\n\r\n", kOk, "GET", "/a b", Form::kOrigin, "s.example",
     "s.example", -1, false, true, kHttpWhitespaceInTarget},
    {"non-ASCII target bytes pass", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: u.example\r\n\r\n", kOk,
     "GET", "/caf\xc3\xa9", Form::kOrigin, "u.example", "u.example", -1, false, true, 0},

    // Malformed after the whole head was read: host fields are still reported.
    {"broken field lines around the Host",
     "GET / HTTP/1.1\r\nHost : evil.example\r\nno colon here\r\nHost: good.example\r\n\r\n",
     kMalformed, "GET", "/", Form::kOrigin, "good.example", "good.example", -1, false, true,
     kHttpBadFieldLine},
    {"folded Host",
     "GET / HTTP/1.1\r\nHost: a.example\r\n .evil\r\n\r\n", kMalformed, "GET", "/",
     Form::kOrigin, "a.example", "a.example", -1, false, true, kHttpObsFold},
    {"bad Content-Length", "POST / HTTP/1.1\r\nHost: b.example\r\nContent-Length: 12a\r\n\r\n",
     kMalformed, "POST", "/", Form::kOrigin, "b.example", "b.example", -1, false, true,
     kHttpBadContentLength},
    {"negative Content-Length", "POST / HTTP/1.1\r\nHost: b.example\r\nContent-Length: -1\r\n\r\n",
     kMalformed, "POST", "/", Form::kOrigin, "b.example", "b.example", -1, false, true,
     kHttpBadContentLength},
    {"Content-Length over 18 digits", "POST / HTTP/1.1\r\nHost: b.example\r\n"
     "Content-Length: 0000000000000000001\r\n\r\n",
     kMalformed, "POST", "/", Form::kOrigin, "b.example", "b.example", -1, false, true,
     kHttpBadContentLength},
    {"differing Content-Length", "POST / HTTP/1.1\r\nHost: b.example\r\nContent-Length: 5\r\n"
     "Content-Length: 6\r\n\r\n",
     kMalformed, "POST", "/", Form::kOrigin, "b.example", "b.example", -1, false, true,
     kHttpBadContentLength},
    {"empty Content-Length", "POST / HTTP/1.1\r\nHost: b.example\r\nContent-Length:\r\n\r\n",
     kMalformed, "POST", "/", Form::kOrigin, "b.example", "b.example", -1, false, true,
     kHttpBadContentLength},
    {"chunked not last",
     "POST / HTTP/1.1\r\nHost: t.example\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
     kMalformed, "POST", "/", Form::kOrigin, "t.example", "t.example", -1, false, true,
     kHttpBadTransferEncoding},
    {"chunked twice", "POST / HTTP/1.1\r\nHost: t.example\r\nTransfer-Encoding: chunked\r\n"
     "Transfer-Encoding: chunked\r\n\r\n",
     kMalformed, "POST", "/", Form::kOrigin, "t.example", "t.example", -1, false, true,
     kHttpBadTransferEncoding},
    {"empty Transfer-Encoding", "POST / HTTP/1.1\r\nHost: t.example\r\nTransfer-Encoding: \r\n\r\n",
     kMalformed, "POST", "/", Form::kOrigin, "t.example", "t.example", -1, false, true,
     kHttpBadTransferEncoding},
    {"Transfer-Encoding not a token", "POST / HTTP/1.1\r\nHost: t.example\r\n"
     "Transfer-Encoding: \"chunked\", chunked\r\n\r\n",
     kMalformed, "POST", "/", Form::kOrigin, "t.example", "t.example", -1, false, true,
     kHttpBadTransferEncoding},
};
// clang-format on

void expect_fields(const HeadCase& c, const HttpRequest& r) {
  EXPECT_EQ(r.method, c.method) << c.description;
  EXPECT_EQ(r.target, c.target) << c.description;
  EXPECT_EQ(r.form, c.form) << c.description;
  EXPECT_EQ(r.host, c.host) << c.description;
  EXPECT_EQ(r.host_name, c.host_name) << c.description;
  EXPECT_EQ(r.content_length, c.content_length) << c.description;
  EXPECT_EQ(r.chunked, c.chunked) << c.description;
  EXPECT_EQ(r.has_host, c.has_host) << c.description;
  EXPECT_EQ(r.anomalies, c.anomalies) << c.description;
}

TEST(HttpRequestHead, Table) {
  for (const HeadCase& c : kHeadCases) {
    HttpRequest r;
    ASSERT_EQ(parse(c.input, &r), c.status) << c.description;
    expect_fields(c, r);
    if (c.status == kOk) {
      EXPECT_EQ(r.head_len, c.input.size()) << c.description;
      EXPECT_TRUE(r.version == "HTTP/1.1" || r.version == "HTTP/1.0") << c.description;
    }
  }
}

// Every proper prefix of a head is kNeedMore, never a premature kOk or a false kMalformed.
TEST(HttpRequestHead, SplitAtEveryOffset) {
  for (const HeadCase& c : kHeadCases) {
    for (size_t n = 0; n < c.input.size(); ++n) {
      HttpRequest r;
      ASSERT_EQ(parse(c.input.substr(0, n), &r), ParseStatus::kNeedMore)
          << c.description << ", first " << n << " bytes";
    }
  }
}

TEST(HttpRequestHead, TargetAuthority) {
  HttpRequest r;
  ASSERT_EQ(parse("GET http://a:b@Host.example:81/p HTTP/1.1\r\nHost: host.example\r\n\r\n", &r),
            kOk);
  EXPECT_EQ(r.target_authority, "Host.example:81");
  EXPECT_EQ(r.anomalies, kHttpUserinfo);
  ASSERT_EQ(parse("CONNECT c.example:443 HTTP/1.1\r\nHost: c.example:443\r\n\r\n", &r), kOk);
  EXPECT_EQ(r.target_authority, "c.example:443");
  ASSERT_EQ(parse("GET https://q.example?x=1 HTTP/1.1\r\nHost: q.example\r\n\r\n", &r), kOk);
  EXPECT_EQ(r.target_authority, "q.example");
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: o.example\r\n\r\n", &r), kOk);
  EXPECT_EQ(r.target_authority, "");
}

TEST(HttpRequestHead, Rejected) {
  const struct {
    const char* description;
    std::string_view input;
    ParseStatus status;
    uint32_t anomalies;
  } cases[] = {
      {"non-token method", "GE(T / HTTP/1.1\r\n\r\n", kNotApplicable, 0},
      {"method then TAB", "GET\t/ HTTP/1.1\r\n\r\n", kNotApplicable, 0},
      {"no method", " / HTTP/1.1\r\n\r\n", kNotApplicable, 0},
      {"method of 25 bytes", "ABCDEFGHIJKLMNOPQRSTUVWXY / HTTP/1.1\r\n\r\n", kNotApplicable, 0},
      {"decided within the method cap", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", kNotApplicable, 0},
      {"HTTP response", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", kNotApplicable, 0},
      {"TLS record", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"sv, kNotApplicable, 0},
      {"SSH banner", "SSH-2.0-OpenSSH_9.6\r\n", kNotApplicable, 0},
      {"NUL bytes", "\0\0\0\0"sv, kNotApplicable, 0},
      {"five leading empty lines", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", kNotApplicable, 0},
      {"CR then not LF at the start", "\rGET / HTTP/1.1\r\n\r\n", kNotApplicable, 0},
      {"RTSP", "SETUP rtsp://cam.example/s RTSP/1.0\r\nCSeq: 1\r\n\r\n", kNotApplicable, 0},
      {"SIP", "INVITE sip:bob@example.com SIP/2.0\r\nVia: x\r\n\r\n", kNotApplicable, 0},
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", kNotApplicable, 0},
      {"HTTP/0.9", "GET /\r\n\r\n", kNotApplicable, 0},
      {"empty version", "GET / \r\n\r\n", kNotApplicable, kHttpLooseWhitespace},
      {"junk after the version", "GET / HTTP/1.1 x\r\n\r\n", kNotApplicable, 0},
      {"SMTP", "EHLO [192.0.2.1]\r\n", kNotApplicable, 0},
      {"FTP", "USER anonymous\r\n", kNotApplicable, 0},
      {"Gnutella", "GNUTELLA CONNECT/0.6\r\nNode: 192.0.2.1:6346\r\n\r\n", kNotApplicable, 0},
      {"no target", "GET HTTP/1.1\r\n\r\n", kMalformed, 0},
      {"HTTP/1.2", "GET / HTTP/1.2\r\n\r\n", kMalformed, 0},
      {"HTTP/2.0 outside the preface", "GET / HTTP/2.0\r\n\r\n", kMalformed, 0},
      {"lower-case version", "GET / http/1.1\r\n\r\n", kMalformed, 0},
      {"control byte in the target", "GET /a\x01 HTTP/1.1\r\n\r\n", kMalformed, 0},
      {"bare CR in the request line", "GET /\r HTTP/1.1\r\n\r\n", kMalformed, kHttpBareCr},
      {"bare CR in a field", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", kMalformed, kHttpBareCr},
      {"whitespace before the colon", "GET / HTTP/1.1\r\nHost : a.example\r\n\r\n", kMalformed,
       kHttpBadFieldLine | kHttpMissingHost},
      {"field without a colon", "GET / HTTP/1.1\r\nHost a.example\r\n\r\n", kMalformed,
       kHttpBadFieldLine | kHttpMissingHost},
      {"empty field name", "GET / HTTP/1.1\r\n: a\r\n\r\n", kMalformed,
       kHttpBadFieldLine | kHttpMissingHost},
      {"NUL in a value", "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n"sv, kMalformed,
       kHttpBadFieldLine | kHttpMissingHost},
      {"folded Content-Length", "POST / HTTP/1.1\r\nContent-Length: 1\r\n 0\r\n\r\n", kMalformed,
       kHttpObsFold | kHttpMissingHost},
  };
  for (const auto& c : cases) {
    HttpRequest r;
    EXPECT_EQ(parse(c.input, &r), c.status) << c.description;
    EXPECT_EQ(r.anomalies, c.anomalies) << c.description;
    EXPECT_EQ(r.head_len, 0u) << c.description;
  }
}

// Long lines are screened for control bytes eight at a time; a control byte anywhere in a long
// value or request line must still be found, with the outcome the short cases above give.
TEST(HttpRequestHead, ControlBytesAtEveryPositionOfLongLines) {
  const std::string value(45, 'v');
  for (size_t at = 0; at <= value.size(); ++at) {
    SCOPED_TRACE("position " + std::to_string(at));
    auto with = [&](char c) {
      std::string v = value;
      v.insert(at, 1, c);
      return "GET /a-long-enough-path/x HTTP/1.1\r\nHost: h.example\r\nX-Long: " + v + "\r\n\r\n";
    };
    HttpRequest r;
    EXPECT_EQ(parse(with('\0'), &r), ParseStatus::kMalformed);
    EXPECT_TRUE(r.anomalies & kHttpBadFieldLine);
    EXPECT_EQ(parse(with('\r'), &r), ParseStatus::kMalformed);
    EXPECT_TRUE(r.anomalies & kHttpBareCr);
    for (const char c : {'\x01', '\x1f', '\x7f'}) {
      EXPECT_EQ(parse(with(c), &r), ParseStatus::kOk);
      EXPECT_EQ(r.anomalies, uint32_t{kHttpCtlInField});
    }
    EXPECT_EQ(parse(with('\t'), &r), ParseStatus::kOk);  // TAB is allowed in a value
    EXPECT_EQ(r.anomalies, 0u);
    EXPECT_EQ(parse(with('\x80'), &r), ParseStatus::kOk);  // obs-text is not a control
    EXPECT_EQ(r.anomalies, 0u);
  }
  for (size_t at = 5; at < 24; ++at) {  // a bare CR inside a long request target
    std::string line = "GET /a-long-enough-path/x HTTP/1.1";
    line.insert(at, 1, '\r');
    HttpRequest r;
    EXPECT_EQ(parse(line + "\r\nHost: h.example\r\n\r\n", &r), ParseStatus::kMalformed) << at;
    EXPECT_TRUE(r.anomalies & kHttpBareCr) << at;
  }
}

TEST(HttpRequestHead, NeedMoreBeforeDeciding) {
  HttpRequest r;
  EXPECT_EQ(parse("", &r), ParseStatus::kNeedMore);
  EXPECT_EQ(parse("M-SEAR", &r), ParseStatus::kNeedMore);
  EXPECT_EQ(parse("\r", &r), ParseStatus::kNeedMore);
  EXPECT_EQ(parse("\r\n\r\n\r\n\r\n", &r), ParseStatus::kNeedMore);          // four: still allowed
  EXPECT_EQ(parse("ABCDEFGHIJKLMNOPQRSTUVWX", &r), ParseStatus::kNeedMore);  // 24: SP may follow
}

std::string head_of_len(size_t len) {
  const std::string start = "GET / HTTP/1.1\r\nHost: cap.example\r\nX-Pad: ";
  const std::string end = "\r\n\r\n";
  return start + std::string(len - start.size() - end.size(), 'p') + end;
}

TEST(HttpRequestHead, HeadLengthCap) {
  HttpRequest r;
  const std::string at_cap = head_of_len(kMaxHttpHeadLen);
  ASSERT_EQ(parse(at_cap, &r), kOk);
  EXPECT_EQ(r.head_len, kMaxHttpHeadLen);
  EXPECT_EQ(r.host, "cap.example");

  const std::string over = head_of_len(kMaxHttpHeadLen + 1);
  EXPECT_EQ(parse(over, &r), kMalformed);
  EXPECT_EQ(r.anomalies, kHttpHeadTooLong);
  // Under the cap and incomplete: wait. At the cap and incomplete: give up.
  EXPECT_EQ(parse(std::string_view(over).substr(0, kMaxHttpHeadLen - 1), &r),
            ParseStatus::kNeedMore);
  EXPECT_EQ(parse(std::string_view(over).substr(0, kMaxHttpHeadLen), &r), kMalformed);
}

std::string head_with_fields(size_t fields) {
  std::string s = "GET / HTTP/1.1\r\nHost: f.example\r\n";
  for (size_t i = 1; i < fields; ++i) s += "X-F" + std::to_string(i) + ": v\r\n";
  return s + "\r\n";
}

// Past kMaxHttpHeaders the head is still read, flagged: junk fields in front of the Host must
// not hide it.
TEST(HttpRequestHead, FieldsPastTheCountCapAreReadFlagged) {
  HttpRequest r;
  EXPECT_EQ(parse(head_with_fields(kMaxHttpHeaders), &r), kOk);
  EXPECT_EQ(r.anomalies, 0u);
  std::string junk_first = "GET /p HTTP/1.1\r\n";
  for (size_t i = 0; i < 3 * kMaxHttpHeaders; ++i)
    junk_first += "a" + std::to_string(i) + ": 1\r\n";
  junk_first += "Host: hidden.example\r\n\r\n";
  ASSERT_EQ(parse(junk_first, &r), kOk);
  EXPECT_EQ(r.host, "hidden.example");
  EXPECT_EQ(r.anomalies, kHttpTooManyHeaders);
}

TEST(HttpRequestHead, LeadingEmptyLineCap) {
  HttpRequest r;
  std::string s = "GET / HTTP/1.1\r\nHost: e.example\r\n\r\n";
  s.insert(0, kMaxHttpLeadingEmptyLines * 2, '\n');
  for (size_t i = 0; i < kMaxHttpLeadingEmptyLines; ++i) s[2 * i] = '\r';
  EXPECT_EQ(parse(s, &r), kOk);
  EXPECT_EQ(r.head_len, s.size());
  s.insert(0, "\r\n");
  EXPECT_EQ(parse(s, &r), kNotApplicable);
}

TEST(HttpRequestHead, PipelinedRequests) {
  const std::string_view stream =
      "GET /one HTTP/1.1\r\nHost: one.example\r\n\r\n"
      "POST /two HTTP/1.1\r\nHost: two.example\r\nContent-Length: 5\r\n\r\nhello"
      "GET /three HTTP/1.1\r\nHost: three.example\r\n\r\n";
  HttpRequest r;
  size_t at = 0;
  ASSERT_EQ(parse(stream.substr(at), &r), kOk);
  EXPECT_EQ(r.target, "/one");
  EXPECT_EQ(r.host, "one.example");
  at += r.head_len;
  ASSERT_EQ(parse(stream.substr(at), &r), kOk);
  EXPECT_EQ(r.target, "/two");
  EXPECT_EQ(r.host, "two.example");
  ASSERT_EQ(r.content_length, 5);
  at += r.head_len + static_cast<size_t>(r.content_length);
  ASSERT_EQ(parse(stream.substr(at), &r), kOk);
  EXPECT_EQ(r.target, "/three");
  EXPECT_EQ(r.host, "three.example");
  EXPECT_EQ(at + r.head_len, stream.size());
}

TEST(HttpRequestHead, AnomalyNamesAreDistinct) {
  std::set<std::string_view> names;
  uint32_t all = 0;
  for (const HttpAnomaly a : kHttpAnomalies) {
    EXPECT_NE(to_string(a), "unknown");
    names.insert(to_string(a));
    EXPECT_EQ(all & a, 0u);
    all |= a;
  }
  EXPECT_EQ(names.size(), kHttpAnomalyCount);
  EXPECT_EQ(to_string(static_cast<HttpAnomaly>(kHttpBareLf | kHttpObsFold)), "unknown");
}

// --- chunked bodies ---

// Three chunks (one with an extension), the last chunk, one trailer field, then the next request.
constexpr std::string_view kChunkedBody =
    "4\r\nWiki\r\n"
    "5;name=\"v a l\"\r\npedia\r\n"
    "E \t; ext\r\n in\r\n\r\nchunks.\r\n"
    "0\r\n"
    "Expires: never\r\n"
    "\r\n";
constexpr std::string_view kAfterBody = "GET /next HTTP/1.1\r\nHost: n.example\r\n\r\n";

TEST(HttpChunked, WholeBodyInOneCall) {
  const std::string data = std::string(kChunkedBody) + std::string(kAfterBody);
  HttpChunkState st;
  size_t consumed = 0;
  ASSERT_EQ(skip_http_chunked(&st, bytes_of(data), &consumed), kOk);
  EXPECT_EQ(consumed, kChunkedBody.size());
  HttpRequest r;
  ASSERT_EQ(parse(std::string_view(data).substr(consumed), &r), kOk);
  EXPECT_EQ(r.target, "/next");
  // A finished body consumes nothing more.
  EXPECT_EQ(skip_http_chunked(&st, bytes_of(kAfterBody), &consumed), kOk);
  EXPECT_EQ(consumed, 0u);
}

TEST(HttpChunked, SplitAtEveryOffset) {
  const std::string data = std::string(kChunkedBody) + std::string(kAfterBody);
  const std::string_view all(data);
  for (size_t k = 0; k <= data.size(); ++k) {
    HttpChunkState st;
    size_t consumed = 0;
    const ParseStatus first = skip_http_chunked(&st, bytes_of(all.substr(0, k)), &consumed);
    if (k < kChunkedBody.size()) {
      ASSERT_EQ(first, ParseStatus::kNeedMore) << "split at " << k;
      ASSERT_EQ(consumed, k);
      ASSERT_EQ(skip_http_chunked(&st, bytes_of(all.substr(k)), &consumed), kOk)
          << "split at " << k;
      EXPECT_EQ(consumed, kChunkedBody.size() - k) << "split at " << k;
    } else {
      ASSERT_EQ(first, kOk) << "split at " << k;
      EXPECT_EQ(consumed, kChunkedBody.size()) << "split at " << k;
    }
  }
}

TEST(HttpChunked, OneByteAtATime) {
  HttpChunkState st;
  size_t consumed = 0;
  for (size_t i = 0; i + 1 < kChunkedBody.size(); ++i) {
    ASSERT_EQ(skip_http_chunked(&st, bytes_of(kChunkedBody.substr(i, 1)), &consumed),
              ParseStatus::kNeedMore)
        << "byte " << i;
  }
  EXPECT_EQ(
      skip_http_chunked(&st, bytes_of(kChunkedBody.substr(kChunkedBody.size() - 1)), &consumed),
      kOk);
  EXPECT_EQ(consumed, 1u);
}

TEST(HttpChunked, Variants) {
  const std::string long_ext = "1;" + std::string(kMaxHttpChunkLineLen, 'x') + "\r\na\r\n0\r\n\r\n";
  const std::string ext_at_cap =
      "1;" + std::string(kMaxHttpChunkLineLen - 3, 'x') + "\r\na\r\n0\r\n\r\n";
  const std::string long_trailer = "0\r\nX: " + std::string(kMaxHttpTrailerLen, 't') + "\r\n\r\n";
  const struct {
    const char* description;
    std::string_view body;
    ParseStatus status;
    size_t consumed;  // for kOk
  } cases[] = {
      {"empty body", "0\r\n\r\n", kOk, 5},
      {"bare LF line ends", "1\na\n0\n\n", kOk, 7},
      {"leading zeros", "0000000000000000000001\r\nz\r\n0\r\n\r\n", kOk, 32},
      {"upper and lower hex: 171 bytes due", "aB\r\n", ParseStatus::kNeedMore, 0},
      {"chunk extension at the line cap", ext_at_cap, kOk, ext_at_cap.size()},
      {"no size digits", "\r\n", kMalformed, 0},
      {"not hex", "g\r\n", kMalformed, 0},
      {"junk after the size", "1x\r\na\r\n", kMalformed, 0},
      {"bare CR after the size", "1\rX", kMalformed, 0},
      {"data longer than its size", "1\r\nab\r\n", kMalformed, 0},
      {"size overflows 64 bits", "10000000000000000\r\n", kMalformed, 0},
      {"control byte in an extension", "1;a\x01\r\n", kMalformed, 0},
      {"chunk extension over the line cap", long_ext, kMalformed, 0},
      {"bare CR in a trailer", "0\r\nX: y\rZ\r\n\r\n", kMalformed, 0},
      {"NUL in a trailer", "0\r\nX: \0\r\n\r\n"sv, kMalformed, 0},
      {"CR then junk at the end", "0\r\n\rX", kMalformed, 0},
      {"trailer section over the cap", long_trailer, kMalformed, 0},
      {"largest size waits for data", "ffffffffffffffff\r\n", ParseStatus::kNeedMore, 0},
  };
  for (const auto& c : cases) {
    HttpChunkState st;
    size_t consumed = 0;
    EXPECT_EQ(skip_http_chunked(&st, bytes_of(c.body), &consumed), c.status) << c.description;
    if (c.status == kOk) {
      EXPECT_EQ(consumed, c.consumed) << c.description;
    }
  }
}

}  // namespace
}  // namespace muhafiz::parse
