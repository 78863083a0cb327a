#include "dataplane/parse/tls.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace muhafiz::parse {
namespace {

using Buf = std::vector<uint8_t>;

// A TLS 1.3 ClientHello as a browser sends it (GREASE left out), written out byte by byte so
// the lengths are checked by hand rather than by a builder that might share the parser's bugs.
// Offsets in the comments are from the start of the handshake message.
// clang-format off
constexpr uint8_t kRealisticHello[] = {
    0x01, 0x00, 0x00, 0xd2,  // 0: msg_type client_hello, uint24 length 210
    0x03, 0x03,              // 4: legacy_version TLS 1.2 (RFC 8446 §4.1.2)
    // 6: random, 32 bytes
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
    0x20,  // 38: legacy_session_id length 32 (middlebox compatibility mode, RFC 8446 §D.4)
    0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
    0x00, 0x0a,              // 71: cipher_suites length 10 (five suites)
    0x13, 0x01, 0x13, 0x02,  //     TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384
    0x13, 0x03, 0xc0, 0x2b,  //     TLS_CHACHA20_POLY1305_SHA256, ECDHE_ECDSA_AES_128_GCM
    0xc0, 0x2f,              //     ECDHE_RSA_AES_128_GCM
    0x01, 0x00,              // 83: compression_methods length 1: null
    0x00, 0x7f,              // 85: extensions length 127
    // 87: server_name (RFC 6066 §3), 20 bytes: list of 18 = host_name, 15-byte name
    0x00, 0x00, 0x00, 0x14, 0x00, 0x12, 0x00, 0x00, 0x0f,
    'w', 'w', 'w', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm',
    0x00, 0x17, 0x00, 0x00,  // 111: extended_master_secret, empty
    // 115: supported_groups, 8 bytes: list of 6 = x25519, secp256r1, secp384r1
    0x00, 0x0a, 0x00, 0x08, 0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18,
    // 127: ALPN (RFC 7301), 14 bytes: list of 12 = "h2", "http/1.1"
    0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 'h', '2',
    0x08, 'h', 't', 't', 'p', '/', '1', '.', '1',
    // 145: signature_algorithms, 8 bytes: list of 6 = ecdsa_p256_sha256, rsa_pss_sha256, rsa_sha256
    0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01,
    // 157: key_share (RFC 8446 §4.2.8), 38 bytes: shares of 36 = x25519 with a 32-byte key
    0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20,
    0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
    0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
    0x00, 0x2d, 0x00, 0x02, 0x01, 0x01,  // 199: psk_key_exchange_modes: psk_dhe_ke
    // 205: supported_versions, 5 bytes: list of 4 = TLS 1.3, TLS 1.2
    0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03,
};
// clang-format on
static_assert(sizeof(kRealisticHello) == 214);
constexpr size_t kOffVersion = 4;
constexpr size_t kOffSessionIdLen = 38;
constexpr size_t kOffSuitesLen = 71;
constexpr size_t kOffCompressionLen = 83;
constexpr size_t kOffExtensionsLen = 85;
constexpr size_t kOffSniExtLen = 89;
constexpr size_t kOffSniListLen = 91;
constexpr size_t kOffSniNameType = 93;
constexpr size_t kOffSniNameLen = 94;
constexpr size_t kOffAlpnListLen = 131;
constexpr size_t kOffAlpnFirstLen = 133;
constexpr size_t kOffSupportedVersions = 205;

Bytes view(const Buf& b) { return Bytes(b.data(), b.size()); }

void put_u16(Buf& b, size_t off, uint16_t v) {
  b[off] = static_cast<uint8_t>(v >> 8);
  b[off + 1] = static_cast<uint8_t>(v);
}
void put_u24(Buf& b, size_t off, uint32_t v) {
  b[off] = static_cast<uint8_t>(v >> 16);
  put_u16(b, off + 1, static_cast<uint16_t>(v));
}

// Appends big-endian fields and length-prefixed blocks (open.../close patch the length).
class Wire {
 public:
  Wire& u8(uint8_t v) {
    bytes.push_back(v);
    return *this;
  }
  Wire& u16(uint16_t v) { return u8(static_cast<uint8_t>(v >> 8)).u8(static_cast<uint8_t>(v)); }
  Wire& u24(uint32_t v) { return u8(static_cast<uint8_t>(v >> 16)).u16(static_cast<uint16_t>(v)); }
  Wire& str(std::string_view s) {
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  Wire& raw(const Buf& b) {
    bytes.insert(bytes.end(), b.begin(), b.end());
    return *this;
  }
  Wire& fill(size_t n, uint8_t v) {
    bytes.insert(bytes.end(), n, v);
    return *this;
  }
  Wire& open8() { return open(1); }
  Wire& open16() { return open(2); }
  Wire& open24() { return open(3); }
  Wire& close() {
    const auto [at, width] = open_.back();
    open_.pop_back();
    const size_t len = bytes.size() - at - width;
    for (size_t i = 0; i < width; ++i) {
      bytes[at + i] = static_cast<uint8_t>(len >> (8 * (width - 1 - i)));
    }
    return *this;
  }
  Buf bytes;

 private:
  Wire& open(size_t width) {
    open_.emplace_back(bytes.size(), width);
    return fill(width, 0);
  }
  std::vector<std::pair<size_t, size_t>> open_;
};

Buf extension(uint16_t type, const Buf& data) {
  return Wire().u16(type).open16().raw(data).close().bytes;
}

// server_name body from (name_type, name) entries.
Buf server_name(std::initializer_list<std::pair<uint8_t, std::string_view>> names) {
  Wire w;
  w.open16();
  for (const auto& [type, name] : names) w.u8(type).open16().str(name).close();
  return extension(tls_ext::kServerName, w.close().bytes);
}

Buf alpn(std::initializer_list<std::string_view> protocols) {
  Wire w;
  w.open16();
  for (const auto p : protocols) w.open8().str(p).close();
  return extension(tls_ext::kAlpn, w.close().bytes);
}

struct HelloSpec {
  uint16_t legacy_version = 0x0303;
  Buf session_id = Buf(32, 0xbb);
  Buf cipher_suites = {0x13, 0x01, 0x13, 0x02, 0x13, 0x03};
  Buf compression_methods = {0x00};  // null
  std::vector<Buf> extensions;
  bool extensions_block = true;  // false: SSL 3.0 style, nothing after compression methods
  Buf trailing;                  // bytes after the extensions block, inside the message
};

// A ClientHello handshake message (RFC 8446 §4.1.2).
Buf client_hello(const HelloSpec& spec) {
  Wire w;
  w.u8(kTlsClientHello).open24();
  w.u16(spec.legacy_version).fill(32, 0xaa);  // version, random
  w.open8().raw(spec.session_id).close();
  w.open16().raw(spec.cipher_suites).close();
  w.open8().raw(spec.compression_methods).close();
  if (spec.extensions_block) {
    w.open16();
    for (const Buf& e : spec.extensions) w.raw(e);
    w.close();
  }
  w.raw(spec.trailing);
  return w.close().bytes;
}

// Wraps a handshake message in handshake records with the given fragment sizes (the last
// fragment takes the rest).
Buf records(const Buf& msg, std::initializer_list<size_t> sizes = {}) {
  Wire w;
  size_t at = 0;
  auto emit = [&](size_t n) {
    w.u8(kTlsContentHandshake).u16(0x0301).u16(static_cast<uint16_t>(n));
    w.bytes.insert(w.bytes.end(), msg.begin() + static_cast<std::ptrdiff_t>(at),
                   msg.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
  };
  for (const size_t n : sizes) emit(n);
  if (at < msg.size()) emit(msg.size() - at);
  return w.bytes;
}

// Chrome-like post-quantum ClientHello: X25519MLKEM768 (0x11ec) share of 1216 bytes
// (draft-ietf-tls-ecdhe-mlkem: ML-KEM-768 encapsulation key 1184 + X25519 32) plus x25519.
Buf post_quantum_hello() {
  HelloSpec spec;
  // clang-format off
  spec.extensions = {
      extension(0x0a0a, {}),  // GREASE (RFC 8701)
      server_name({{0, "pq.example.org"}}),
      extension(0x0017, {}),  // extended_master_secret
      extension(0x000a, Wire().open16().u16(0x11ec).u16(0x001d).u16(0x0017).close().bytes),
      alpn({"h2", "http/1.1"}),
      extension(0x000d, Wire().open16().u16(0x0403).u16(0x0804).close().bytes),
      extension(tls_ext::kKeyShare, Wire()
                                        .open16()
                                        .u16(0x11ec).open16().fill(1216, 0x5a).close()
                                        .u16(0x001d).open16().fill(32, 0x3c).close()
                                        .close()
                                        .bytes),
      extension(0x002d, {0x01, 0x01}),  // psk_key_exchange_modes
      extension(tls_ext::kSupportedVersions, {0x04, 0x03, 0x04, 0x03, 0x03}),
      extension(0x001b, {0x02, 0x00, 0x02}),  // compress_certificate: brotli
      extension(0x4469, Wire().open16().open8().str("h2").close().close().bytes),  // ALPS
      extension(0x0005, {0x01, 0x00, 0x00, 0x00, 0x00}),  // status_request: OCSP
      extension(0x0012, {}),                              // signed_certificate_timestamp
      extension(0xff01, {0x00}),                          // renegotiation_info
      extension(0x0023, {}),                              // session_ticket
      // GREASE ECH (draft-ietf-tls-esni §6.2): Chrome sends it with no ECH config at hand.
      extension(tls_ext::kEncryptedClientHello, Wire()
                                                    .u8(0)
                                                    .u16(0x0001).u16(0x0001)
                                                    .u8(0x7f)
                                                    .open16().fill(32, 0x61).close()
                                                    .open16().fill(239, 0x62).close()
                                                    .bytes),
      extension(0x1a1a, {0x00}),  // GREASE
  };
  // clang-format on
  return client_hello(spec);
}

ParseStatus parse(const Buf& msg, ClientHello* out) { return parse_client_hello(view(msg), out); }
// The results view the message: a temporary would leave them dangling.
ParseStatus parse(Buf&& msg, ClientHello* out) = delete;

TEST(TlsClientHello, RealisticHello) {
  const Buf hello(std::begin(kRealisticHello), std::end(kRealisticHello));
  ClientHello ch;
  ASSERT_EQ(parse(hello, &ch), ParseStatus::kOk);
  EXPECT_EQ(ch.legacy_version, 0x0303);
  EXPECT_TRUE(ch.has_sni);
  EXPECT_EQ(ch.sni, "www.example.com");
  EXPECT_FALSE(ch.has_ech);
  EXPECT_EQ(ch.alpn_first, "h2");
  EXPECT_EQ(ch.extension_count, 8);
  EXPECT_EQ(ch.anomalies, 0u);
  // The views point into the message, not at a copy.
  EXPECT_EQ(static_cast<const void*>(ch.sni.data()), &hello[kOffSniNameLen + 2]);
}

TEST(TlsClientHello, BytesAfterTheMessageAreIgnored) {
  const Buf hello(std::begin(kRealisticHello), std::end(kRealisticHello));
  Buf msg = hello;
  msg.push_back(0x14);  // e.g. the start of whatever follows in a QUIC CRYPTO stream
  ClientHello ch;
  EXPECT_EQ(parse(msg, &ch), ParseStatus::kOk);
  EXPECT_EQ(ch.anomalies, 0u);
}

TEST(TlsClientHello, TruncatedAtEveryOffsetNeedsMore) {
  const Buf hello(std::begin(kRealisticHello), std::end(kRealisticHello));
  for (size_t n = 0; n < hello.size(); ++n) {
    ClientHello ch;
    EXPECT_EQ(parse_client_hello(view(hello).first(n), &ch), ParseStatus::kNeedMore)
        << "length " << n;
  }
}

// The body cut short and the handshake length rewritten to match: every cut is malformed except
// right after the compression methods, which is a valid hello without extensions.
TEST(TlsClientHello, ShortenedBodyAtEveryOffset) {
  const Buf hello(std::begin(kRealisticHello), std::end(kRealisticHello));
  const size_t body_len = hello.size() - kTlsHandshakeHeaderLen;
  const size_t no_extensions_len = kOffExtensionsLen - kTlsHandshakeHeaderLen;
  for (size_t cut = 0; cut < body_len; ++cut) {
    Buf msg(hello.begin(),
            hello.begin() + static_cast<std::ptrdiff_t>(kTlsHandshakeHeaderLen + cut));
    put_u24(msg, 1, static_cast<uint32_t>(cut));
    ClientHello ch;
    const ParseStatus st = parse(msg, &ch);
    if (cut == no_extensions_len) {
      EXPECT_EQ(st, ParseStatus::kOk);
      EXPECT_FALSE(ch.has_sni);
      EXPECT_EQ(ch.extension_count, 0);
    } else {
      EXPECT_EQ(st, ParseStatus::kMalformed) << "body cut at " << cut;
    }
  }
}

struct Mutation {
  const char* description;
  size_t offset;
  int width;  // 1, 2 or 3 bytes written big-endian at offset
  uint32_t value;
  ParseStatus expected;
  uint32_t anomalies;
};

TEST(TlsClientHello, LengthsAndFieldsAtEachLevel) {
  const Buf hello(std::begin(kRealisticHello), std::end(kRealisticHello));
  const Mutation cases[] = {
      {"msg_type ServerHello", 0, 1, 2, ParseStatus::kNotApplicable, 0},
      {"handshake length one more than sent", 1, 3, 211, ParseStatus::kNeedMore, 0},
      {"handshake length at our cap, not sent", 1, 3, kMaxClientHelloLen, ParseStatus::kNeedMore,
       0},
      {"handshake length over our cap", 1, 3, kMaxClientHelloLen + 1, ParseStatus::kMalformed,
       kTlsTooLong},
      {"handshake length 2^24-1", 1, 3, 0xffffff, ParseStatus::kMalformed, kTlsTooLong},
      {"legacy_version SSL 2", kOffVersion, 2, 0x0200, ParseStatus::kMalformed, 0},
      {"legacy_version 0x0304", kOffVersion, 2, 0x0304, ParseStatus::kOk, kTlsUnusualVersion},
      {"session id 33 bytes", kOffSessionIdLen, 1, 33, ParseStatus::kMalformed, 0},
      {"session id 255 bytes", kOffSessionIdLen, 1, 255, ParseStatus::kMalformed, 0},
      {"session id 0: suites read from the id", kOffSessionIdLen, 1, 0, ParseStatus::kMalformed, 0},
      {"cipher suites odd length", kOffSuitesLen, 2, 9, ParseStatus::kMalformed, 0},
      {"cipher suites empty", kOffSuitesLen, 2, 0, ParseStatus::kMalformed, 0},
      {"cipher suites past the message", kOffSuitesLen, 2, 0xfffe, ParseStatus::kMalformed, 0},
      {"compression methods empty", kOffCompressionLen, 1, 0, ParseStatus::kMalformed, 0},
      {"compression methods past the message", kOffCompressionLen, 1, 0xff, ParseStatus::kMalformed,
       0},
      {"extensions past the message", kOffExtensionsLen, 2, 0xffff, ParseStatus::kMalformed, 0},
      {"extensions one byte over", kOffExtensionsLen, 2, 128, ParseStatus::kMalformed, 0},
      // A list that breaks after the SNI keeps the name, flagged; before it, nothing is read.
      {"extensions one byte short: last one overruns", kOffExtensionsLen, 2, 126, ParseStatus::kOk,
       kTlsTrailingBytes | kTlsExtensionsBroken},
      {"extensions end before supported_versions", kOffExtensionsLen, 2, 118, ParseStatus::kOk,
       kTlsTrailingBytes},
      {"extensions end 1 byte into a header", kOffExtensionsLen, 2, 119, ParseStatus::kOk,
       kTlsTrailingBytes | kTlsExtensionsBroken},
      {"extensions end 3 bytes into a header", kOffExtensionsLen, 2, 121, ParseStatus::kOk,
       kTlsTrailingBytes | kTlsExtensionsBroken},
      {"server_name data past the block", kOffSniExtLen, 2, 0xffff, ParseStatus::kMalformed, 0},
      {"server_name list one over", kOffSniListLen, 2, 19, ParseStatus::kMalformed, 0},
      {"server_name list one short", kOffSniListLen, 2, 17, ParseStatus::kMalformed, 0},
      {"server_name list past everything", kOffSniListLen, 2, 0xffff, ParseStatus::kMalformed, 0},
      {"host_name one over the list", kOffSniNameLen, 2, 16, ParseStatus::kMalformed, 0},
      {"host_name one short of the list", kOffSniNameLen, 2, 14, ParseStatus::kMalformed, 0},
      {"host_name past everything", kOffSniNameLen, 2, 0xffff, ParseStatus::kMalformed, 0},
      {"name_type 1 instead of host_name", kOffSniNameType, 1, 1, ParseStatus::kOk,
       kTlsSniNonHostName},
      // A broken ALPN inside an intact extension is flagged and skipped: the hello is read.
      {"ALPN list empty", kOffAlpnListLen, 2, 0, ParseStatus::kOk, kTlsAlpnMalformed},
      {"ALPN list one over", kOffAlpnListLen, 2, 13, ParseStatus::kOk, kTlsAlpnMalformed},
      {"ALPN list past everything", kOffAlpnListLen, 2, 0xb889, ParseStatus::kOk,
       kTlsAlpnMalformed},
      {"ALPN empty protocol name", kOffAlpnFirstLen, 1, 0, ParseStatus::kOk, kTlsAlpnMalformed},
      {"ALPN protocol past the list", kOffAlpnFirstLen, 1, 0xff, ParseStatus::kOk,
       kTlsAlpnMalformed},
      {"supported_versions data past the block", kOffSupportedVersions + 2, 2, 6, ParseStatus::kOk,
       kTlsExtensionsBroken},
  };
  for (const Mutation& m : cases) {
    Buf msg = hello;
    if (m.width == 1) msg[m.offset] = static_cast<uint8_t>(m.value);
    if (m.width == 2) put_u16(msg, m.offset, static_cast<uint16_t>(m.value));
    if (m.width == 3) put_u24(msg, m.offset, m.value);
    ClientHello ch;
    EXPECT_EQ(parse(msg, &ch), m.expected) << m.description;
    EXPECT_EQ(ch.anomalies, m.anomalies) << m.description;
  }
}

TEST(TlsClientHello, PostQuantumHelloInOneMessage) {
  const Buf msg = post_quantum_hello();
  EXPECT_GT(msg.size(), 1700u);  // ~1.8 KB, larger than a QUIC Initial or a 1500-byte MTU
  EXPECT_LT(msg.size(), 1900u);
  ClientHello ch;
  ASSERT_EQ(parse(msg, &ch), ParseStatus::kOk);
  EXPECT_EQ(ch.sni, "pq.example.org");
  EXPECT_EQ(ch.alpn_first, "h2");
  EXPECT_TRUE(ch.has_ech);  // GREASE: the SNI is still the real name
  EXPECT_EQ(ch.extension_count, 17);
  EXPECT_EQ(ch.anomalies, 0u);
}

TEST(TlsClientHello, EncryptedClientHelloOuter) {
  // ECHClientHello outer (draft-ietf-tls-esni §5): type 0, HPKE KDF/AEAD, config_id, enc, payload.
  // clang-format off
  const Buf ech = Wire()
                      .u8(0)
                      .u16(0x0001).u16(0x0001)  // HKDF-SHA256, AES-128-GCM
                      .u8(0x42)                 // config_id
                      .open16().fill(32, 0x11).close()
                      .open16().fill(208, 0x22).close()
                      .bytes;
  // clang-format on
  HelloSpec spec;
  spec.extensions = {server_name({{0, "public.example.net"}}),
                     extension(tls_ext::kEncryptedClientHello, ech), alpn({"h2"})};
  ClientHello ch;
  Buf held = client_hello(spec);  // the results view it
  ASSERT_EQ(parse(held, &ch), ParseStatus::kOk);
  EXPECT_TRUE(ch.has_ech);
  EXPECT_TRUE(ch.has_sni);
  EXPECT_EQ(ch.sni, "public.example.net");  // the outer, public name
  EXPECT_EQ(ch.anomalies, 0u);
}

struct SniCase {
  const char* description;
  std::vector<Buf> extensions;
  ParseStatus expected;
  bool has_sni;
  std::string_view sni;
  uint32_t anomalies;
};

TEST(TlsClientHello, ServerNameVariants) {
  std::initializer_list<std::pair<uint8_t, std::string_view>> too_many = {
      {0, "a.example"}, {0, "b.example"}, {0, "c.example"}, {0, "d.example"}, {0, "e.example"},
      {0, "f.example"}, {0, "g.example"}, {0, "h.example"}, {0, "i.example"}};
  ASSERT_EQ(too_many.size(), kMaxTlsServerNames + 1);
  // clang-format off
  const SniCase cases[] = {
      {"no server_name", {alpn({"http/1.1"})}, ParseStatus::kOk, false, "", 0},
      {"several names: the first is used",
       {server_name({{0, "first.example"}, {0, "second.example"}})}, ParseStatus::kOk, true,
       "first.example", kTlsSniMultipleNames},
      {"other name_type before host_name", {server_name({{1, "opaque"}, {0, "host.example"}})},
       ParseStatus::kOk, true, "host.example", kTlsSniMultipleNames | kTlsSniNonHostName},
      {"empty extension", {extension(tls_ext::kServerName, {})}, ParseStatus::kOk, false, "",
       kTlsSniEmpty},
      {"empty list", {extension(tls_ext::kServerName, {0x00, 0x00})}, ParseStatus::kOk, false, "",
       kTlsSniEmpty},
      {"zero-length host_name", {server_name({{0, ""}})}, ParseStatus::kOk, false, "",
       kTlsSniEmpty},
      {"zero-length then a real name", {server_name({{0, ""}, {0, "real.example"}})},
       ParseStatus::kOk, true, "real.example", kTlsSniEmpty | kTlsSniMultipleNames},
      {"names at the cap",
       {server_name({{0, "a.example"}, {0, "b.example"}, {0, "c.example"}, {0, "d.example"},
                     {0, "e.example"}, {0, "f.example"}, {0, "g.example"}, {0, "h.example"}})},
       ParseStatus::kOk, true, "a.example", kTlsSniMultipleNames},
      {"names over the cap", {server_name(too_many)}, ParseStatus::kMalformed, true, "a.example",
       kTlsOverLimit | kTlsSniMultipleNames},
      {"mixed case kept as sent", {server_name({{0, "WWW.Example.COM"}})}, ParseStatus::kOk, true,
       "WWW.Example.COM", 0},
      {"underscore is a DNS byte", {server_name({{0, "_srv.example"}})}, ParseStatus::kOk, true,
       "_srv.example", 0},
      {"trailing dot", {server_name({{0, "example.com."}})}, ParseStatus::kOk, true,
       "example.com.", kTlsSniInvalid},
      {"empty label", {server_name({{0, "a..example"}})}, ParseStatus::kOk, true, "a..example",
       kTlsSniInvalid},
      {"leading dot", {server_name({{0, ".example"}})}, ParseStatus::kOk, true, ".example",
       kTlsSniInvalid},
      {"a lone dot", {server_name({{0, "."}})}, ParseStatus::kOk, true, ".", kTlsSniInvalid},
      {"space and NUL", {server_name({{0, std::string_view("a b\0c", 5)}})}, ParseStatus::kOk,
       true, std::string_view("a b\0c", 5), kTlsSniInvalid},
      {"IPv6 literal", {server_name({{0, "::1"}})}, ParseStatus::kOk, true, "::1", kTlsSniInvalid},
      {"duplicate server_name: first kept",
       {server_name({{0, "one.example"}}), server_name({{0, "two.example"}})}, ParseStatus::kOk,
       true, "one.example", kTlsDuplicateExtension},
      {"extension after pre_shared_key",
       {extension(tls_ext::kPreSharedKey, {0x00}), server_name({{0, "late.example"}})},
       ParseStatus::kOk, true, "late.example", kTlsPskNotLast},
  };
  // clang-format on
  for (const SniCase& c : cases) {
    HelloSpec spec;
    spec.extensions = c.extensions;
    ClientHello ch;
    Buf held = client_hello(spec);  // the results view it
    EXPECT_EQ(parse(held, &ch), c.expected) << c.description;
    EXPECT_EQ(ch.has_sni, c.has_sni) << c.description;
    EXPECT_EQ(ch.sni, c.sni) << c.description;
    EXPECT_EQ(ch.anomalies, c.anomalies) << c.description;
  }
}

// Duplicates among many extension types, against a plain set: flagged exactly when a type
// repeats, whatever its position (types drawn from a small range so repeats are common, or
// from the whole 16-bit space so they are rare), and never for distinct types.
TEST(TlsClientHello, DuplicateExtensionsAmongMany) {
  std::mt19937 rng(23);
  for (int trial = 0; trial < 2000; ++trial) {
    const size_t n = 1 + rng() % 40;
    const bool narrow = trial % 2 == 0;
    HelloSpec spec;
    std::set<uint16_t> types;
    bool repeated = false;
    for (size_t i = 0; i < n; ++i) {
      auto type = static_cast<uint16_t>(narrow ? 100 + rng() % 48 : rng());
      if (type == tls_ext::kServerName || type == tls_ext::kAlpn ||
          type == tls_ext::kPreSharedKey || type == tls_ext::kEncryptedClientHello) {
        type = 0xfe0b;  // not one the parser reads; keeps bodies uninterpreted
      }
      repeated |= !types.insert(type).second;
      spec.extensions.push_back(extension(type, {}));
    }
    ClientHello ch;
    Buf held = client_hello(spec);  // the results view it
    ASSERT_EQ(parse(held, &ch), ParseStatus::kOk) << trial;
    ASSERT_EQ((ch.anomalies & kTlsDuplicateExtension) != 0, repeated) << trial << " n=" << n;
  }
}

// The host_name check against a plain reading of RFC 6066 §3 on random names: every byte a
// letter, digit, '-', '_' or a dot, no empty label, no trailing dot. Names are drawn mostly from
// those bytes, with dots placed anywhere (leading, doubled, last) and now and then a byte that
// is not allowed, so every rule is met and broken many times.
TEST(TlsClientHello, SniValidityMatchesAPlainReading) {
  auto reference = [](const std::string& name) {
    if (name.empty() || name.size() > kMaxTlsSniLen) return false;
    size_t label = 0;
    for (const char ch : name) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '.') {
        if (label == 0) return false;
        label = 0;
      } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_') {
        ++label;
      } else {
        return false;
      }
    }
    return label != 0;
  };
  static constexpr std::string_view kCommon = "abcXYZ09-_....";
  std::mt19937 rng(20261207);
  size_t valid = 0;
  for (int trial = 0; trial < 4000; ++trial) {
    const size_t len = 1 + rng() % (trial % 10 == 0 ? 260 : 24);
    std::string name;
    for (size_t i = 0; i < len; ++i) {
      name += rng() % 40 == 0 ? static_cast<char>(rng() % 256) : kCommon[rng() % kCommon.size()];
    }
    HelloSpec spec;
    spec.extensions = {server_name({{0, name}})};
    ClientHello ch;
    Buf held = client_hello(spec);  // the results view it
    ASSERT_EQ(parse(held, &ch), ParseStatus::kOk) << trial;
    const bool ok = reference(name);
    valid += ok ? 1 : 0;
    ASSERT_EQ((ch.anomalies & kTlsSniInvalid) == 0, ok) << trial << " '" << name << "'";
  }
  // Both answers come up often enough for the comparison to mean something.
  EXPECT_GT(valid, 400u);
  EXPECT_LT(valid, 3600u);
}

TEST(TlsClientHello, LongestValidSniIsNotFlagged) {
  std::string name;
  while (name.size() < kMaxTlsSniLen) name += name.empty() ? "a" : ".a";
  ASSERT_EQ(name.size(), kMaxTlsSniLen);
  HelloSpec spec;
  spec.extensions = {server_name({{0, name}})};
  ClientHello ch;
  Buf held = client_hello(spec);  // the results view it
  ASSERT_EQ(parse(held, &ch), ParseStatus::kOk);
  EXPECT_EQ(ch.anomalies, 0u);
  spec.extensions = {server_name({{0, name + "a"}})};
  held = client_hello(spec);
  ASSERT_EQ(parse(held, &ch), ParseStatus::kOk);
  EXPECT_EQ(ch.anomalies, kTlsSniInvalid);
}

TEST(TlsClientHello, Ssl3HelloWithoutExtensions) {
  HelloSpec spec;
  spec.legacy_version = 0x0300;
  spec.extensions_block = false;
  ClientHello ch;
  Buf held = client_hello(spec);  // the results view it
  ASSERT_EQ(parse(held, &ch), ParseStatus::kOk);
  EXPECT_EQ(ch.legacy_version, 0x0300);
  EXPECT_FALSE(ch.has_sni);
  EXPECT_EQ(ch.extension_count, 0);
  EXPECT_EQ(ch.anomalies, kTlsUnusualVersion);
}

// Fixed-part vectors with every other length consistent, so only the rule under test can fail.
TEST(TlsClientHello, FixedPartVectorLimits) {
  const struct {
    const char* description;
    Buf session_id, cipher_suites, compression_methods;
    ParseStatus expected;
  } cases[] = {
      {"empty session id", {}, {0x13, 0x01}, {0x00}, ParseStatus::kOk},
      {"session id of 32", Buf(32, 1), {0x13, 0x01}, {0x00}, ParseStatus::kOk},
      {"session id of 33", Buf(33, 1), {0x13, 0x01}, {0x00}, ParseStatus::kMalformed},
      {"one cipher suite", {}, {0x13, 0x01}, {0x00}, ParseStatus::kOk},
      {"no cipher suite", {}, {}, {0x00}, ParseStatus::kMalformed},
      {"odd cipher suites", {}, {0x13, 0x01, 0x13}, {0x00}, ParseStatus::kMalformed},
      {"several compression methods", {}, {0x13, 0x01}, {0x01, 0x00}, ParseStatus::kOk},
      {"no compression method", {}, {0x13, 0x01}, {}, ParseStatus::kMalformed},
  };
  for (const auto& c : cases) {
    HelloSpec spec;
    spec.session_id = c.session_id;
    spec.cipher_suites = c.cipher_suites;
    spec.compression_methods = c.compression_methods;
    spec.extensions = {server_name({{0, "v.example"}})};
    ClientHello ch;
    const Buf held = client_hello(spec);  // the results view it
    EXPECT_EQ(parse(held, &ch), c.expected) << c.description;
    EXPECT_EQ(ch.has_sni, c.expected == ParseStatus::kOk) << c.description;
  }
}

TEST(TlsClientHello, TrailingBytesAfterExtensions) {
  HelloSpec spec;
  spec.extensions = {server_name({{0, "t.example"}})};
  spec.trailing = {0xde, 0xad};
  ClientHello ch;
  Buf held = client_hello(spec);  // the results view it
  ASSERT_EQ(parse(held, &ch), ParseStatus::kOk);
  EXPECT_EQ(ch.sni, "t.example");
  EXPECT_EQ(ch.anomalies, kTlsTrailingBytes);
  spec.trailing = {0xde};  // one byte is not even an extensions length
  spec.extensions_block = false;
  held = client_hello(spec);
  EXPECT_EQ(parse(held, &ch), ParseStatus::kMalformed);
}

// Past kMaxTlsExtensions the walk goes on, flagged: a run of unknown extensions (which a
// server ignores) in front of the server_name must not hide it. Duplicates of a type seen
// before the cap are still found.
TEST(TlsClientHello, ExtensionsPastTheCapAreWalkedFlagged) {
  HelloSpec spec;
  for (uint16_t t = 0; spec.extensions.size() < kMaxTlsExtensions; ++t) {
    spec.extensions.push_back(extension(static_cast<uint16_t>(0x7000 + t), {}));
  }
  ClientHello ch;
  Buf held = client_hello(spec);  // the results view it
  ASSERT_EQ(parse(held, &ch), ParseStatus::kOk);
  EXPECT_EQ(ch.extension_count, kMaxTlsExtensions);
  EXPECT_EQ(ch.anomalies, 0u);
  // 300 more unknown ones, then the name, a repeat of the first unknown type (past the cap only
  // the types the parse acts on are checked for repeats), and a second server_name, which is.
  for (uint16_t t = 0; t < 300; ++t)
    spec.extensions.push_back(extension(static_cast<uint16_t>(0x7100 + t), {1, 2}));
  spec.extensions.push_back(server_name({{0, "hidden.example"}}));
  spec.extensions.push_back(extension(0x7000, {}));
  held = client_hello(spec);
  ASSERT_EQ(parse(held, &ch), ParseStatus::kOk);
  EXPECT_EQ(ch.sni, "hidden.example");
  EXPECT_EQ(ch.extension_count, kMaxTlsExtensions + 302);
  EXPECT_EQ(ch.anomalies, kTlsOverLimit);
  spec.extensions.push_back(server_name({{0, "other.example"}}));
  held = client_hello(spec);
  ASSERT_EQ(parse(held, &ch), ParseStatus::kOk);
  EXPECT_EQ(ch.sni, "hidden.example");  // the first copy counts
  EXPECT_EQ(ch.anomalies, kTlsOverLimit | kTlsDuplicateExtension);
}

TEST(TlsClientHello, AlpnProtocolCap) {
  std::vector<std::string> names;
  for (size_t i = 0; i <= kMaxTlsAlpnProtocols; ++i) names.push_back("p" + std::to_string(i));
  auto alpn_of = [&](size_t n) {
    Wire w;
    w.open16();
    for (size_t i = 0; i < n; ++i) w.open8().str(names[i]).close();
    return extension(tls_ext::kAlpn, w.close().bytes);
  };
  HelloSpec spec;
  spec.extensions = {alpn_of(kMaxTlsAlpnProtocols)};
  ClientHello ch;
  Buf held = client_hello(spec);  // the results view it
  ASSERT_EQ(parse(held, &ch), ParseStatus::kOk);
  EXPECT_EQ(ch.alpn_first, "p0");
  spec.extensions = {server_name({{0, "cap.example"}}), alpn_of(kMaxTlsAlpnProtocols + 1)};
  held = client_hello(spec);
  EXPECT_EQ(parse(held, &ch), ParseStatus::kOk);  // over the cap: the ALPN is dropped, not the SNI
  EXPECT_EQ(ch.anomalies, kTlsOverLimit | kTlsAlpnMalformed);
  EXPECT_EQ(ch.sni, "cap.example");
  EXPECT_TRUE(ch.alpn_first.empty());
}

// A hello whose ALPN lengths do not hold inside an intact extension (nDPI's tls_invalid_reads
// capture has one, after the SNI) still names its server, on either side of the ALPN: a server
// that never parses ALPN answers it, so the filter must read the name.
TEST(TlsClientHello, BrokenAlpnHidesNoName) {
  const Buf broken = {0xb8, 0x89, 0x02, 'h', '2', 0x08, 'h', 't', 't', 'p', '/'};  // list: 47,241
  for (const bool alpn_before : {true, false}) {
    HelloSpec spec;
    spec.extensions = {server_name({{0, "hidden.example"}}), extension(tls_ext::kAlpn, broken),
                       extension(tls_ext::kPadding, Buf(3, 0))};
    if (alpn_before) std::swap(spec.extensions[0], spec.extensions[1]);
    const Buf held = client_hello(spec);
    ClientHello ch;
    ASSERT_EQ(parse(held, &ch), ParseStatus::kOk) << alpn_before;
    EXPECT_EQ(ch.sni, "hidden.example") << alpn_before;
    EXPECT_EQ(ch.anomalies, kTlsAlpnMalformed) << alpn_before;
    EXPECT_TRUE(ch.alpn_first.empty()) << alpn_before;
    EXPECT_EQ(ch.extension_count, 3) << alpn_before;  // the walk went on past it
  }
}

// The shape of nDPI's tls_invalid_reads capture: the SNI, a broken ALPN, then bytes that break
// the extension list itself. No server would answer it, but Wireshark reports the name and so
// do we, flagged. The same break before the SNI leaves no name: the hello is malformed.
TEST(TlsClientHello, AListThatBreaksAfterTheSniKeepsTheName) {
  const Buf alpn_broken = extension(tls_ext::kAlpn, {0xb8, 0x89, 0xa5, 0x2f, 0x56, 0x35});
  const Buf cut = {0x47, 0xe3, 0x4f, 0xc6, 0x94, 0x35};  // type 0x47e3, 20,422 bytes, 2 sent
  HelloSpec spec;
  spec.extensions = {server_name({{0, "e.crashlytics.example"}}), alpn_broken, cut};
  Buf held = client_hello(spec);
  ClientHello ch;
  ASSERT_EQ(parse(held, &ch), ParseStatus::kOk);
  EXPECT_EQ(ch.sni, "e.crashlytics.example");
  EXPECT_EQ(ch.anomalies, kTlsAlpnMalformed | kTlsExtensionsBroken);
  EXPECT_EQ(ch.extension_count, 2);  // the two whole ones
  spec.extensions = {alpn_broken, cut, server_name({{0, "e.crashlytics.example"}})};
  held = client_hello(spec);
  EXPECT_EQ(parse(held, &ch), ParseStatus::kMalformed);
  EXPECT_FALSE(ch.has_sni);
}

TEST(TlsClientHello, AlpnEmptyNamesAndLists) {
  HelloSpec spec;
  ClientHello ch;
  spec.extensions = {alpn({"h2", ""})};  // RFC 7301 §3.1: empty names are not allowed
  Buf held = client_hello(spec);
  EXPECT_EQ(parse(held, &ch), ParseStatus::kOk);
  EXPECT_EQ(ch.anomalies, kTlsAlpnMalformed);
  EXPECT_TRUE(ch.alpn_first.empty());  // "h2" came from a list that does not hold
  spec.extensions = {alpn({})};        // ProtocolNameList<2..2^16-1>
  held = client_hello(spec);
  EXPECT_EQ(parse(held, &ch), ParseStatus::kOk);
  EXPECT_EQ(ch.anomalies, kTlsAlpnMalformed);
  spec.extensions = {alpn({"http/1.1"})};
  held = client_hello(spec);
  ASSERT_EQ(parse(held, &ch), ParseStatus::kOk);
  EXPECT_EQ(ch.alpn_first, "http/1.1");
}

// A hello padded (RFC 7685) to exactly kMaxClientHelloLen is accepted, one byte more is not.
Buf padded_hello(size_t body_len) {
  HelloSpec spec;
  spec.extensions = {server_name({{0, "big.example"}}), extension(tls_ext::kPadding, {})};
  const size_t base = client_hello(spec).size() - kTlsHandshakeHeaderLen;
  spec.extensions[1] = extension(tls_ext::kPadding, Buf(body_len - base, 0));
  Buf msg = client_hello(spec);
  EXPECT_EQ(msg.size(), kTlsHandshakeHeaderLen + body_len);
  return msg;
}

TEST(TlsClientHello, MessageLengthCap) {
  ClientHello ch;
  Buf held = padded_hello(kMaxClientHelloLen);  // the results view it
  ASSERT_EQ(parse(held, &ch), ParseStatus::kOk);
  EXPECT_EQ(ch.sni, "big.example");
  held = padded_hello(kMaxClientHelloLen + 1);
  EXPECT_EQ(parse(held, &ch), ParseStatus::kMalformed);
  EXPECT_EQ(ch.anomalies, kTlsTooLong);
}

TEST(TlsClientHello, AnomalyNamesAreDistinct) {
  std::set<std::string_view> names;
  uint32_t all = 0;
  for (const TlsAnomaly a : kTlsAnomalies) {
    EXPECT_NE(to_string(a), "unknown");
    names.insert(to_string(a));
    EXPECT_EQ(all & a, 0u);
    all |= a;
  }
  EXPECT_EQ(names.size(), kTlsAnomalyCount);
  EXPECT_EQ(to_string(static_cast<TlsAnomaly>(kTlsSniEmpty | kTlsTooLong)), "unknown");
}

// --- record layer ---

struct Gathered {
  ParseStatus status;
  Bytes msg;
  size_t consumed;
};

Gathered gather(Bytes stream, std::span<uint8_t> scratch) {
  Gathered g{};
  g.status = gather_tls_handshake(stream, scratch, &g.msg, &g.consumed);
  return g;
}

TEST(TlsGather, OneRecordIsAViewIntoTheStream) {
  const Buf hello(std::begin(kRealisticHello), std::end(kRealisticHello));
  const Buf stream = records(hello);
  ASSERT_EQ(stream.size(), kTlsRecordHeaderLen + hello.size());
  std::array<uint8_t, 16> tiny{};  // not needed when one record holds the message
  const Gathered g = gather(view(stream), tiny);
  ASSERT_EQ(g.status, ParseStatus::kOk);
  EXPECT_EQ(g.consumed, stream.size());
  EXPECT_EQ(static_cast<const void*>(g.msg.data()), &stream[kTlsRecordHeaderLen]);
  EXPECT_EQ(Buf(g.msg.begin(), g.msg.end()), hello);
  EXPECT_TRUE(looks_like_tls_client_hello(view(stream)));
}

TEST(TlsGather, OneRecordTruncatedAtEveryOffset) {
  const Buf hello(std::begin(kRealisticHello), std::end(kRealisticHello));
  const Buf stream = records(hello);
  std::array<uint8_t, kTlsGatherScratchLen> scratch{};
  for (size_t n = 0; n < stream.size(); ++n) {
    const Gathered g = gather(view(stream).first(n), scratch);
    EXPECT_EQ(g.status, ParseStatus::kNeedMore) << "length " << n;
    EXPECT_EQ(g.consumed, 0u);
  }
}

TEST(TlsGather, PostQuantumHelloOverTwoRecords) {
  const Buf msg = post_quantum_hello();
  Buf stream = records(msg, {1000});  // record 1: 1000 bytes, record 2: the rest
  const size_t records_len = stream.size();
  stream.insert(stream.end(), {0x14, 0x03, 0x03, 0x00, 0x01, 0x01});  // change_cipher_spec next
  std::array<uint8_t, kTlsGatherScratchLen> scratch{};
  const Gathered g = gather(view(stream), scratch);
  ASSERT_EQ(g.status, ParseStatus::kOk);
  EXPECT_EQ(g.consumed, records_len);
  EXPECT_EQ(static_cast<const void*>(g.msg.data()), scratch.data());
  ASSERT_EQ(Buf(g.msg.begin(), g.msg.end()), msg);
  ClientHello ch;
  ASSERT_EQ(parse_client_hello(g.msg, &ch), ParseStatus::kOk);
  EXPECT_EQ(ch.sni, "pq.example.org");

  for (size_t n = 0; n < records_len; ++n) {
    EXPECT_EQ(gather(view(stream).first(n), scratch).status, ParseStatus::kNeedMore)
        << "length " << n;
  }
}

TEST(TlsGather, HandshakeHeaderSplitAcrossRecords) {
  const Buf hello(std::begin(kRealisticHello), std::end(kRealisticHello));
  // Fragments of 1, 2 and 3 bytes: the uint24 length itself arrives in pieces.
  const Buf stream = records(hello, {1, 2, 3});
  std::array<uint8_t, kTlsGatherScratchLen> scratch{};
  const Gathered g = gather(view(stream), scratch);
  ASSERT_EQ(g.status, ParseStatus::kOk);
  EXPECT_EQ(g.consumed, stream.size());
  EXPECT_EQ(Buf(g.msg.begin(), g.msg.end()), hello);
  for (size_t n = 0; n < stream.size(); ++n) {
    EXPECT_EQ(gather(view(stream).first(n), scratch).status, ParseStatus::kNeedMore) << n;
  }
}

TEST(TlsGather, LargestHelloOverTwoRecordsFitsTheScratch) {
  const Buf msg = padded_hello(kMaxClientHelloLen);
  const Buf stream = records(msg, {kMaxClientHelloLen / 2});
  std::array<uint8_t, kTlsGatherScratchLen> scratch{};
  const Gathered g = gather(view(stream), scratch);
  ASSERT_EQ(g.status, ParseStatus::kOk);
  EXPECT_EQ(g.msg.size(), msg.size());
  // One byte of scratch less and the message no longer fits.
  EXPECT_EQ(
      gather(view(stream), std::span<uint8_t>(scratch).first(kTlsGatherScratchLen - 1)).status,
      ParseStatus::kMalformed);
  // Over the cap: refused as soon as the length is visible, before the rest arrives.
  const Buf over = records(padded_hello(kMaxClientHelloLen + 1), {100});
  EXPECT_EQ(gather(view(over).first(200), scratch).status, ParseStatus::kMalformed);
}

TEST(TlsGather, ScratchTooSmallForTheHeader) {
  // The handshake header itself is split, so even its four bytes need scratch.
  const Buf hello(std::begin(kRealisticHello), std::end(kRealisticHello));
  const Buf stream = records(hello, {1, 2, 3});
  std::array<uint8_t, 2> tiny{};
  EXPECT_EQ(gather(view(stream), tiny).status, ParseStatus::kMalformed);
  EXPECT_EQ(gather(view(stream), std::span<uint8_t>()).status, ParseStatus::kMalformed);
}

TEST(TlsGather, NotAClientHello) {
  const struct {
    const char* description;
    Buf stream;
  } cases[] = {
      {"ServerHello", {0x16, 0x03, 0x03, 0x00, 0x4a, 0x02, 0x00, 0x00, 0x46, 0x03, 0x03}},
      {"ServerHello header only visible", {0x16, 0x03, 0x03, 0x00, 0x4a, 0x02}},
      {"application data", {0x17, 0x03, 0x03, 0x00, 0x20, 0x8f, 0x11}},
      {"alert", {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28}},
      {"change_cipher_spec", {0x14, 0x03, 0x03, 0x00, 0x01, 0x01}},
      // SSLv2-compatible ClientHello (RFC 5246 §E.2): 2-byte length with the top bit, type 1.
      {"SSLv2 ClientHello", {0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10}},
      {"HTTP request", {'G', 'E', 'T', ' ', '/', ' ', 'H'}},
      {"first byte alone decides", {0x17}},
      {"handshake type but not version 3", {0x16, 0x01}},
  };
  std::array<uint8_t, kTlsGatherScratchLen> scratch{};
  for (const auto& c : cases) {
    EXPECT_EQ(gather(view(c.stream), scratch).status, ParseStatus::kNotApplicable) << c.description;
    EXPECT_FALSE(looks_like_tls_client_hello(view(c.stream))) << c.description;
  }
}

TEST(TlsGather, BadRecords) {
  const Buf hello(std::begin(kRealisticHello), std::end(kRealisticHello));
  std::array<uint8_t, kTlsGatherScratchLen> scratch{};
  const Buf two = records(hello, {100});
  const size_t second = kTlsRecordHeaderLen + 100;  // offset of the second record header
  struct Case {
    const char* description;
    size_t offset;
    Buf bytes;
  };
  const Case cases[] = {
      {"first record length 0", 3, {0x00, 0x00}},
      {"first record over the TLS limit", 3, {0x48, 0x01}},  // 18433
      {"alert interleaved in the handshake", second, {0x15}},
      {"application data interleaved", second, {0x17}},
      {"second record version 2.0", second + 1, {0x02, 0x00}},
      {"second record length 0", second + 3, {0x00, 0x00}},
      {"second record over the TLS limit", second + 3, {0xff, 0xff}},
  };
  // RFC 8446 §5.1: no zero-length handshake fragments, even when a good record follows.
  const Buf empty_first = records(hello, {0});
  EXPECT_EQ(gather(view(empty_first), scratch).status, ParseStatus::kMalformed);
  const Buf empty_middle = records(hello, {100, 0});
  EXPECT_EQ(gather(view(empty_middle), scratch).status, ParseStatus::kMalformed);
  for (const Case& c : cases) {
    Buf stream = two;
    std::copy(c.bytes.begin(), c.bytes.end(),
              stream.begin() + static_cast<std::ptrdiff_t>(c.offset));
    EXPECT_EQ(gather(view(stream), scratch).status, ParseStatus::kMalformed) << c.description;
  }
  // The largest record the TLS limit allows is accepted (here it holds a hello and padding bytes
  // after it, which belong to the next handshake message and are not ours to judge).
  Buf big = records(hello);
  big.resize(kTlsRecordHeaderLen + kMaxTlsRecordLen, 0);
  put_u16(big, 3, static_cast<uint16_t>(kMaxTlsRecordLen));
  const Gathered g = gather(view(big), scratch);
  EXPECT_EQ(g.status, ParseStatus::kOk);
  EXPECT_EQ(g.msg.size(), hello.size());
  EXPECT_EQ(g.consumed, big.size());
}

// Servers check only the record's major version before a version is agreed (OpenSSL's and
// BoringSSL's record layers; RFC 8446 §5.1 has legacy_record_version ignored), so a hello in
// records of version 3.5 and 3.255 reaches them and must be read here too.
TEST(TlsGather, AnyRecordMinorVersionIsRead) {
  HelloSpec spec;
  spec.extensions = {server_name({{0, "minor.example"}})};
  const Buf hello = client_hello(spec);
  Buf stream = records(hello, {60});
  const size_t second = kTlsRecordHeaderLen + 60;
  stream[2] = 0x05;
  stream[second + 2] = 0xff;
  ASSERT_TRUE(looks_like_tls_client_hello(view(stream)));
  std::array<uint8_t, kTlsGatherScratchLen> scratch{};
  const Gathered g = gather(view(stream), scratch);
  ASSERT_EQ(g.status, ParseStatus::kOk);
  const Buf msg(g.msg.begin(), g.msg.end());  // the results view it
  ClientHello ch;
  ASSERT_EQ(parse(msg, &ch), ParseStatus::kOk);
  EXPECT_EQ(ch.sni, "minor.example");
}

// A message longer than the cap is refused as soon as its declared length is in view, and
// says so through too_long, wherever its header falls among the records; other refusals do not.
TEST(TlsGather, TooLongIsReportedWhereverTheHeaderFalls) {
  HelloSpec spec;
  spec.extensions = {server_name({{0, "long.example"}}), extension(0x15, Buf(17000, 0))};
  const Buf hello = client_hello(spec);
  ASSERT_GT(hello.size(), kMaxClientHelloLen + kTlsHandshakeHeaderLen);
  std::array<uint8_t, kTlsGatherScratchLen> scratch{};
  const auto too_long = [&](const Buf& stream) {
    Bytes msg;
    size_t used = 0;
    bool flag = false;
    const ParseStatus s = gather_tls_handshake(view(stream), scratch, &msg, &used, &flag);
    return s == ParseStatus::kMalformed && flag;
  };
  const Buf one = records(hello, {16000});
  EXPECT_TRUE(too_long(Buf(one.begin(), one.begin() + 9)));  // the first record's start only
  EXPECT_TRUE(too_long(records(hello, {1, 16000})));         // header over two records
  EXPECT_TRUE(too_long(records(hello, {2, 3, 16000})));
  Buf bad = records(hello, {16000});
  bad[1] = 0x02;  // another refusal: not too_long
  bool flag = true;
  Bytes msg;
  size_t used = 0;
  EXPECT_EQ(gather_tls_handshake(view(bad), scratch, &msg, &used, &flag),
            ParseStatus::kNotApplicable);
  EXPECT_FALSE(flag);
}

TEST(TlsGather, LooksLikeClientHello) {
  // clang-format off
  const struct {
    Buf start;
    bool expected;
  } cases[] = {
      {{}, false},
      {{0x16, 0x03}, false},                          // too short to tell
      {{0x16, 0x03, 0x01}, true},                     // TLS 1.0 record version
      {{0x16, 0x03, 0x00}, true},                     // SSL 3.0
      {{0x16, 0x03, 0x04}, true},                     // 0x0304, seen from some stacks
      {{0x16, 0x03, 0x05}, true},                     // servers check the major only
      {{0x16, 0x03, 0xff}, true},
      {{0x16, 0x02, 0x01}, false},
      {{0x16, 0x03, 0x01, 0x00}, true},               // length half visible
      {{0x16, 0x03, 0x01, 0x00, 0x00}, false},        // empty record
      {{0x16, 0x03, 0x01, 0x48, 0x01}, false},        // 18433: over the limit
      {{0x16, 0x03, 0x01, 0x48, 0x00}, true},         // 18432: at the limit
      {{0x16, 0x03, 0x01, 0x02, 0x00, 0x01}, true},   // ClientHello
      {{0x16, 0x03, 0x03, 0x02, 0x00, 0x02}, false},  // ServerHello
  };
  // clang-format on
  for (const auto& c : cases) {
    EXPECT_EQ(looks_like_tls_client_hello(view(c.start)), c.expected)
        << "first " << c.start.size() << " bytes";
  }
}

}  // namespace
}  // namespace muhafiz::parse
