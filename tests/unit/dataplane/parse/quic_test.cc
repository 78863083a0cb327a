// Tests for QUIC Initial decoding: RFC 9001 / RFC 9369 / draft-29 Appendix A vectors, header
// parsing (every truncation, bogus lengths, CID limits, v2 type bits, coalescing), frame walking
// and CRYPTO reassembly, plus Chrome-like split and scrambled ClientHellos built in this file.
#include "dataplane/parse/quic.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace muhafiz::parse {
namespace {

using Buf = std::vector<uint8_t>;

Buf from_hex(std::string_view hex) {
  Buf out;
  int hi = -1;
  for (const char c : hex) {
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) continue;  // spaces between groups
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

std::string fill_hex(size_t n, const char* byte = "00") {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += byte;
  return s;
}

Bytes view(const Buf& b) { return Bytes(b.data(), b.size()); }
Buf to_buf(Bytes b) { return Buf(b.begin(), b.end()); }

// The client's original DCID in every Appendix A example.
constexpr const char* kRfcDcid = "8394c8f03e515708";

// RFC 9001 Appendix A.2: the protected client Initial (1200 bytes, QUIC v1, PN 2).
constexpr const char* kRfc9001ClientInitial =
    "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
    "d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399"
    "1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
    "8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212"
    "30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
    "457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
    "4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec"
    "4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3"
    "485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
    "059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
    "7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8"
    "9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
    "be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74"
    "68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a"
    "c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
    "f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632"
    "291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964"
    "25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
    "14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff"
    "ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
    "e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
    "c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73"
    "203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f"
    "cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
    "fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
    "a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047"
    "90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
    "162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4"
    "40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0"
    "6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
    "8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0"
    "be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400"
    "54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
    "760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9"
    "f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
    "056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
    "7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241"
    "e221af44860018ab0856972e194cd934";

// RFC 9001 A.2 / RFC 9369 A.2: the unprotected payload is this CRYPTO frame (offset 0, 241
// bytes of ClientHello for example.com) followed by PADDING up to 1162 bytes.
constexpr const char* kRfcCryptoFrame =
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
    "04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
    "616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
    "04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
    "baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
    "0d0010000e0403050306030203080408050806002d00020101001c0002400100"
    "3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
    "75300901100f088394c8f03e51570806048000ffff";
constexpr size_t kRfcPayloadLen = 1162;

// RFC 9369 Appendix A.2: the same client Initial protected as QUIC v2.
constexpr const char* kRfc9369ClientInitial =
    "d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485"
    "dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04"
    "9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d"
    "250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a"
    "12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500"
    "cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68"
    "18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33"
    "12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3"
    "d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd"
    "6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520"
    "bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045"
    "636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f"
    "ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12"
    "16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5"
    "4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4"
    "fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b"
    "8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7"
    "14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9"
    "9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91"
    "abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd"
    "80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db"
    "848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18"
    "d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15"
    "c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc"
    "7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61"
    "f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710"
    "10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b"
    "3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e"
    "06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce"
    "8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1"
    "34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1"
    "e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd"
    "5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3"
    "8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89"
    "d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53"
    "6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19"
    "9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b"
    "a18b2faa745b6fe189cf772a9f84cbfc";

// draft-ietf-quic-tls-29 Appendix A.2: client Initial for version 0xff00001d (draft-29 salt).
constexpr const char* kDraft29ClientInitial =
    "c5ff00001d088394c8f03e5157080000449e4a95245bfb66bc5f93032b7ddd89"
    "fe0ff15d9c4f7050fccdb71c1cd80512d4431643a53aafa1b0b518b44968b18b"
    "8d3e7a4d04c30b3ed9410325b2abb2dafb1c12f8b70479eb8df98abcaf95dd8f"
    "3d1c78660fbc719f88b23c8aef6771f3d50e10fdfb4c9d92386d44481b6c52d5"
    "9e5538d3d3942de9f13a7f8b702dc31724180da9df22714d01003fc5e3d165c9"
    "50e630b8540fbd81c9df0ee63f94997026c4f2e1887a2def79050ac2d86ba318"
    "e0b3adc4c5aa18bcf63c7cf8e85f569249813a2236a7e72269447cd1c755e451"
    "f5e77470eb3de64c8849d292820698029cfa18e5d66176fe6e5ba4ed18026f90"
    "900a5b4980e2f58e39151d5cd685b10929636d4f02e7fad2a5a458249f5c0298"
    "a6d53acbe41a7fc83fa7cc01973f7a74d1237a51974e097636b6203997f921d0"
    "7bc1940a6f2d0de9f5a11432946159ed6cc21df65c4ddd1115f86427259a196c"
    "7148b25b6478b0dc7766e1c4d1b1f5159f90eabc61636226244642ee148b464c"
    "9e619ee50a5e3ddc836227cad938987c4ea3c1fa7c75bbf88d89e9ada642b2b8"
    "8fe8107b7ea375b1b64889a4e9e5c38a1c896ce275a5658d250e2d76e1ed3a34"
    "ce7e3a3f383d0c996d0bed106c2899ca6fc263ef0455e74bb6ac1640ea7bfedc"
    "59f03fee0e1725ea150ff4d69a7660c5542119c71de270ae7c3ecfd1af2c4ce5"
    "51986949cc34a66b3e216bfe18b347e6c05fd050f85912db303a8f054ec23e38"
    "f44d1c725ab641ae929fecc8e3cefa5619df4231f5b4c009fa0c0bbc60bc75f7"
    "6d06ef154fc8577077d9d6a1d2bd9bf081dc783ece60111bea7da9e5a9748069"
    "d078b2bef48de04cabe3755b197d52b32046949ecaa310274b4aac0d008b1948"
    "c1082cdfe2083e386d4fd84c0ed0666d3ee26c4515c4fee73433ac703b690a9f"
    "7bf278a77486ace44c489a0c7ac8dfe4d1a58fb3a730b993ff0f0d61b4d89557"
    "831eb4c752ffd39c10f6b9f46d8db278da624fd800e4af85548a294c1518893a"
    "8778c4f6d6d73c93df200960104e062b388ea97dcf4016bced7f62b4f062cb6c"
    "04c20693d9a0e3b74ba8fe74cc01237884f40d765ae56a51688d985cf0ceaef4"
    "3045ed8c3f0c33bced08537f6882613acd3b08d665fce9dd8aa73171e2d3771a"
    "61dba2790e491d413d93d987e2745af29418e428be34941485c93447520ffe23"
    "1da2304d6a0fd5d07d0837220236966159bef3cf904d722324dd852513df39ae"
    "030d8173908da6364786d3c1bfcb19ea77a63b25f1e7fc661def480c5d00d444"
    "56269ebd84efd8e3a8b2c257eec76060682848cbf5194bc99e49ee75e4d0d254"
    "bad4bfd74970c30e44b65511d4ad0e6ec7398e08e01307eeeea14e46ccd87cf3"
    "6b285221254d8fc6a6765c524ded0085dca5bd688ddf722e2c0faf9d0fb2ce7a"
    "0c3f2cee19ca0ffba461ca8dc5d2c8178b0762cf67135558494d2a96f1a139f0"
    "edb42d2af89a9c9122b07acbc29e5e722df8615c343702491098478a389c9872"
    "a10b0c9875125e257c7bfdf27eef4060bd3d00f4c14fd3e3496c38d3c5d1a566"
    "8c39350effbc2d16ca17be4ce29f02ed969504dda2a8c6b9ff919e693ee79e09"
    "089316e7d1d89ec099db3b2b268725d888536a4b8bf9aee8fb43e82a4d919d48"
    "43b1ca70a2d8d3f725ead1391377dcc0";
constexpr const char* kDraft29CryptoFrame =
    "060040c4010000c003036660261ff947cea49cce6cfad687f457cf1b14531ba1"
    "4131a0e8f309a1d0b9c4000006130113031302010000910000000b0009000006"
    "736572766572ff01000100000a00140012001d00170018001901000101010201"
    "03010400230000003300260024001d00204cfdfcd178b784bf328cae793b136f"
    "2aedce005ff183d7bb1495207236647037002b0003020304000d0020001e0403"
    "05030603020308040805080604010501060102010402050206020202002d0002"
    "0101001c00024001";

Buf rfc_payload(const char* crypto_frame_hex) {
  Buf p = from_hex(crypto_frame_hex);
  p.resize(kRfcPayloadLen, 0x00);  // PADDING frames
  return p;
}

QuicInitialKeys derive_or_die(QuicInitialDecryptor& d, uint32_t version, const Buf& dcid) {
  QuicInitialKeys keys{};
  EXPECT_TRUE(d.derive(version, view(dcid), &keys));
  return keys;
}

// Protects a client Initial as a sender would (RFC 9001 §5.3-5.4), written straight against
// OpenSSL so it shares no code with the decoder under test.
Buf protect_initial(const QuicInitialKeys& keys, uint8_t type_bits, uint32_t version,
                    const Buf& dcid, const Buf& scid, const Buf& token, uint64_t pn, size_t pn_len,
                    const Buf& payload, uint8_t reserved_bits = 0) {
  Buf pkt;
  pkt.push_back(static_cast<uint8_t>(0xc0 | type_bits << 4 | reserved_bits << 2 | (pn_len - 1)));
  for (int i = 3; i >= 0; --i) pkt.push_back(static_cast<uint8_t>(version >> (8 * i)));
  pkt.push_back(static_cast<uint8_t>(dcid.size()));
  pkt.insert(pkt.end(), dcid.begin(), dcid.end());
  pkt.push_back(static_cast<uint8_t>(scid.size()));
  pkt.insert(pkt.end(), scid.begin(), scid.end());
  EXPECT_LT(token.size(), 64u);
  pkt.push_back(static_cast<uint8_t>(token.size()));  // 1-byte varint
  pkt.insert(pkt.end(), token.begin(), token.end());
  const size_t length = pn_len + payload.size() + 16;
  EXPECT_LT(length, 16384u);
  pkt.push_back(static_cast<uint8_t>(0x40 | length >> 8));  // 2-byte varint
  pkt.push_back(static_cast<uint8_t>(length));
  const size_t pn_offset = pkt.size();
  for (size_t i = pn_len; i-- > 0;) pkt.push_back(static_cast<uint8_t>(pn >> (8 * i)));
  const size_t header_len = pkt.size();

  uint8_t nonce[12];
  std::memcpy(nonce, keys.iv, sizeof(nonce));
  for (size_t i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<uint8_t>(pn >> (8 * i));
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  Buf ct(payload.size() + 16);
  int len = 0;
  EXPECT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, keys.key, nonce), 1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, nullptr, &len, pkt.data(), static_cast<int>(header_len)), 1);
  EXPECT_EQ(
      EVP_EncryptUpdate(ctx, ct.data(), &len, payload.data(), static_cast<int>(payload.size())), 1);
  EXPECT_EQ(EVP_EncryptFinal_ex(ctx, ct.data() + len, &len), 1);
  EXPECT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, ct.data() + payload.size()), 1);
  EVP_CIPHER_CTX_free(ctx);
  pkt.insert(pkt.end(), ct.begin(), ct.end());

  uint8_t mask[16];
  ctx = EVP_CIPHER_CTX_new();
  EXPECT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), nullptr, keys.hp, nullptr), 1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, mask, &len, pkt.data() + pn_offset + 4, 16), 1);
  EVP_CIPHER_CTX_free(ctx);
  pkt[0] ^= mask[0] & 0x0f;
  for (size_t i = 0; i < pn_len; ++i) pkt[pn_offset + i] ^= mask[1 + i];
  return pkt;
}

struct CryptoPiece {
  uint64_t offset;
  Buf data;
  bool operator==(const CryptoPiece&) const = default;
};

ParseStatus walk(const Buf& payload, std::vector<CryptoPiece>* pieces,
                 uint32_t* anomalies = nullptr, uint32_t version = kQuicVersion1) {
  return for_each_quic_crypto_frame(
      view(payload),
      [&](uint64_t offset, Bytes data) {
        pieces->push_back({offset, to_buf(data)});
      },
      anomalies, version);
}

// CRYPTO frame: type 0x06, offset and length as 2-byte varints (offset < 16384).
Buf crypto_frame(uint64_t offset, const Buf& data) {
  Buf f = {0x06, static_cast<uint8_t>(0x40 | offset >> 8), static_cast<uint8_t>(offset),
           static_cast<uint8_t>(0x40 | data.size() >> 8), static_cast<uint8_t>(data.size())};
  f.insert(f.end(), data.begin(), data.end());
  return f;
}

Buf concat(std::initializer_list<Buf> parts) {
  Buf out;
  for (const Buf& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Buf text(std::string_view s) { return Buf(s.begin(), s.end()); }

// --- Versions and keys ------------------------------------------------------------------

TEST(QuicVersion, SupportedSet) {
  struct Case {
    uint32_t version;
    bool supported;
  } cases[] = {
      {0x00000001, true},  {0x6b3343cf, true},  {0xff000016, true}, {0xff000017, true},
      {0xff00001c, true},  {0xff00001d, true},  {0xff000020, true}, {0xff000021, true},
      {0xff000022, true},  {0xfaceb001, true},  {0xfaceb002, true}, {0xfaceb00e, true},
      {0x00000000, false},                       // Version Negotiation is not a version
      {0x00000002, false}, {0xff000015, false},  // draft-21: packed CID lengths
      {0xff000023, false}, {0x12345678, false},  // unknown
      {0x1a2a3a4a, true},  {0x0a0a0a0a, true},   // reserved for negotiation (RFC 9000 §15): read as draft-29
      {0x54303530, true},  {0x54303531, true},   // Google T050, T051 (TLS 1.3 in CRYPTO frames)
      {0xfaceb003, false}, {0x51303530, false},  // gQUIC Q050
  };
  for (const Case& c : cases) {
    EXPECT_EQ(quic_version_supported(c.version), c.supported) << std::hex << c.version;
  }
}

TEST(QuicKeys, AppendixVectors) {
  struct Case {
    const char* source;
    uint32_t version;
    const char *key, *iv, *hp;
  } cases[] = {
      {"RFC 9001 A.1", 0x00000001, "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c",
       "9f50449e04a0e810283a1e9933adedd2"},
      {"draft-34 uses the v1 salt", 0xff000022, "1f369613dd76d5467730efcbe3b1a22d",
       "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2"},
      {"draft-33 uses the v1 salt", 0xff000021, "1f369613dd76d5467730efcbe3b1a22d",
       "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2"},
      {"RFC 9369 A.1", 0x6b3343cf, "8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f",
       "45b95e15235d6f45a6b19cbcb0294ba9"},
      {"draft-ietf-quic-tls-23 A.1", 0xff000017, "af7fd7efebd21878ff66811248983694",
       "8681359410a70bb9c92f0420", "a980b8b4fb7d9fbc13e814c23164253d"},
      {"draft-28 keeps the draft-23 salt", 0xff00001c, "af7fd7efebd21878ff66811248983694",
       "8681359410a70bb9c92f0420", "a980b8b4fb7d9fbc13e814c23164253d"},
      {"mvfst 0xfaceb002: draft-23 salt", 0xfaceb002, "af7fd7efebd21878ff66811248983694",
       "8681359410a70bb9c92f0420", "a980b8b4fb7d9fbc13e814c23164253d"},
      {"mvfst 0xfaceb00e: draft-23 salt", 0xfaceb00e, "af7fd7efebd21878ff66811248983694",
       "8681359410a70bb9c92f0420", "a980b8b4fb7d9fbc13e814c23164253d"},
      // draft-ietf-quic-tls-22's own Appendix A was computed with the older draft-17..21 salt
      // (its initial_secret 4496d390... is HMAC(0xef4fb0ab..., DCID)), so these rows hold an
      // independent HKDF (Python hmac/hashlib) over the §5.2 salt 0x7fbcdb0e...
      {"draft-22 §5.2 salt", 0xff000016, "07863d9c083786bc86766ce0d02bf93f",
       "fb33da41a8f297d482df670e", "48dbcf44e335508f7f23fb2c3790a37c"},
      {"mvfst 0xfaceb001: draft-22 salt", 0xfaceb001, "07863d9c083786bc86766ce0d02bf93f",
       "fb33da41a8f297d482df670e", "48dbcf44e335508f7f23fb2c3790a37c"},
  };
  QuicInitialDecryptor d;
  ASSERT_TRUE(d.ok());
  for (const Case& c : cases) {
    SCOPED_TRACE(c.source);
    QuicInitialKeys keys{};
    ASSERT_TRUE(d.derive(c.version, view(from_hex(kRfcDcid)), &keys));
    EXPECT_EQ(Buf(std::begin(keys.key), std::end(keys.key)), from_hex(c.key));
    EXPECT_EQ(Buf(std::begin(keys.iv), std::end(keys.iv)), from_hex(c.iv));
    EXPECT_EQ(Buf(std::begin(keys.hp), std::end(keys.hp)), from_hex(c.hp));
    EXPECT_EQ(keys.version, c.version);
  }
}

TEST(QuicKeys, RejectsUnsupportedVersionAndLongCid) {
  QuicInitialDecryptor d;
  QuicInitialKeys keys{};
  EXPECT_FALSE(d.derive(0x12345678, view(from_hex(kRfcDcid)), &keys));
  EXPECT_FALSE(d.derive(0xff000015, view(from_hex(kRfcDcid)), &keys));
  EXPECT_FALSE(d.derive(1, view(Buf(kQuicMaxCidLen + 1, 0xaa)), &keys));
  EXPECT_TRUE(d.derive(1, view(Buf(kQuicMaxCidLen, 0xaa)), &keys));
  // After a Retry with an empty SCID the client's DCID is empty (RFC 9001 §5.2 note).
  EXPECT_TRUE(d.derive(1, Bytes{}, &keys));
}

// --- Appendix A packets -----------------------------------------------------------------

struct AppendixPacket {
  const char* source;
  uint32_t version;
  const char* packet;
  const char* crypto_frame;
  size_t crypto_len;  // ClientHello bytes inside the CRYPTO frame
};

constexpr AppendixPacket kAppendixPackets[] = {
    {"RFC 9001 A.2", 0x00000001, kRfc9001ClientInitial, kRfcCryptoFrame, 241},
    {"RFC 9369 A.2", 0x6b3343cf, kRfc9369ClientInitial, kRfcCryptoFrame, 241},
    {"draft-ietf-quic-tls-29 A.2", 0xff00001d, kDraft29ClientInitial, kDraft29CryptoFrame, 196},
};

TEST(QuicAppendix, HeaderDecryptAndFrames) {
  QuicInitialDecryptor d;
  ASSERT_TRUE(d.ok());
  for (const AppendixPacket& a : kAppendixPackets) {
    SCOPED_TRACE(a.source);
    const Buf pkt = from_hex(a.packet);
    ASSERT_EQ(pkt.size(), 1200u);

    QuicLongHeader hdr;
    ASSERT_EQ(parse_quic_long_header(view(pkt), &hdr), ParseStatus::kOk);
    EXPECT_EQ(hdr.type, QuicPacketType::kInitial);
    EXPECT_EQ(hdr.version, a.version);
    EXPECT_EQ(to_buf(hdr.dcid), from_hex(kRfcDcid));
    EXPECT_TRUE(hdr.scid.empty());
    EXPECT_TRUE(hdr.token.empty());
    EXPECT_EQ(hdr.pn_offset, 18u);     // 1 + 4 + 1 + 8 + 1 + 1 (token len) + 2 (Length 0x449e)
    EXPECT_EQ(hdr.packet_len, 1200u);  // 18 + 0x049e
    EXPECT_EQ(hdr.anomalies, 0u);

    const QuicInitialKeys keys = derive_or_die(d, a.version, to_buf(hdr.dcid));
    Buf plain(hdr.packet_len);
    Bytes payload;
    uint64_t pn = 0;
    uint32_t anomalies = 0;
    ASSERT_EQ(d.decrypt(view(pkt), hdr, keys, plain, &payload, &pn, &anomalies), ParseStatus::kOk);
    EXPECT_EQ(pn, 2u);
    EXPECT_EQ(anomalies, 0u);
    EXPECT_EQ(to_buf(payload), rfc_payload(a.crypto_frame));

    std::vector<CryptoPiece> pieces;
    ASSERT_EQ(walk(to_buf(payload), &pieces), ParseStatus::kOk);
    ASSERT_EQ(pieces.size(), 1u);
    EXPECT_EQ(pieces[0].offset, 0u);
    ASSERT_EQ(pieces[0].data.size(), a.crypto_len);
    EXPECT_EQ(pieces[0].data[0], 0x01);  // TLS handshake type client_hello

    // The same bytes under another version's salt do not authenticate.
    const uint32_t other = a.version == 1 ? 0x6b3343cf : 1;
    const QuicInitialKeys wrong = derive_or_die(d, other, to_buf(hdr.dcid));
    EXPECT_EQ(d.decrypt(view(pkt), hdr, wrong, plain, &payload, &pn), ParseStatus::kMalformed);
  }
}

TEST(QuicAppendix, ClientHelloNamesExampleCom) {
  QuicInitialDecryptor d;
  const Buf pkt = from_hex(kRfc9001ClientInitial);
  QuicLongHeader hdr;
  ASSERT_EQ(parse_quic_long_header(view(pkt), &hdr), ParseStatus::kOk);
  const QuicInitialKeys keys = derive_or_die(d, hdr.version, to_buf(hdr.dcid));
  Buf plain(hdr.packet_len);
  Bytes payload;
  uint64_t pn = 0;
  ASSERT_EQ(d.decrypt(view(pkt), hdr, keys, plain, &payload, &pn), ParseStatus::kOk);
  QuicCryptoAssembler assembler;
  ASSERT_EQ(for_each_quic_crypto_frame(payload,
                                       [&](uint64_t off, Bytes data) { assembler.add(off, data); }),
            ParseStatus::kOk);
  const std::string_view hello = as_chars(assembler.contiguous());
  EXPECT_EQ(hello.size(), 241u);
  EXPECT_NE(hello.find("example.com"), std::string_view::npos);
}

TEST(QuicDecrypt, FlippedByteFailsAuthentication) {
  QuicInitialDecryptor d;
  const Buf original = from_hex(kRfc9001ClientInitial);
  QuicLongHeader hdr;
  ASSERT_EQ(parse_quic_long_header(view(original), &hdr), ParseStatus::kOk);
  const QuicInitialKeys keys = derive_or_die(d, hdr.version, to_buf(hdr.dcid));
  struct Case {
    const char* what;
    size_t offset;
    uint8_t bit;
  } cases[] = {
      {"protected first-byte bit (reserved, under HP)", 0, 0x08},
      {"DCID byte (associated data)", 8, 0x01},
      {"Length byte (associated data)", 17, 0x01},
      {"protected packet number", 20, 0x10},
      {"ciphertext inside the HP sample", 30, 0x80},
      {"ciphertext after the sample", 600, 0x01},
      {"last ciphertext byte", 1183, 0x01},
      {"first tag byte", 1184, 0x01},
      {"last tag byte", 1199, 0x40},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Buf pkt = original;
    pkt[c.offset] ^= c.bit;
    Buf plain(pkt.size());
    Bytes payload;
    uint64_t pn = 0;
    EXPECT_EQ(d.decrypt(view(pkt), hdr, keys, plain, &payload, &pn), ParseStatus::kMalformed);
  }
}

TEST(QuicDecrypt, RejectsBadCallerInputs) {
  QuicInitialDecryptor d;
  const Buf pkt = from_hex(kRfc9001ClientInitial);
  QuicLongHeader hdr;
  ASSERT_EQ(parse_quic_long_header(view(pkt), &hdr), ParseStatus::kOk);
  const QuicInitialKeys keys = derive_or_die(d, hdr.version, to_buf(hdr.dcid));
  Buf plain(pkt.size());
  Bytes payload;
  uint64_t pn = 0;

  Buf small(pkt.size() - 1);
  EXPECT_EQ(d.decrypt(view(pkt), hdr, keys, small, &payload, &pn), ParseStatus::kMalformed);
  EXPECT_EQ(d.decrypt(view(pkt).first(pkt.size() - 1), hdr, keys, plain, &payload, &pn),
            ParseStatus::kMalformed);

  QuicLongHeader not_initial = hdr;
  not_initial.type = QuicPacketType::kHandshake;
  EXPECT_EQ(d.decrypt(view(pkt), not_initial, keys, plain, &payload, &pn),
            ParseStatus::kNotApplicable);

  QuicLongHeader no_sample = hdr;  // a hand-made header whose packet cannot hold a sample
  no_sample.packet_len = hdr.pn_offset + kQuicMaxPnLen + kQuicHpSampleLen - 1;
  EXPECT_EQ(d.decrypt(view(pkt), no_sample, keys, plain, &payload, &pn), ParseStatus::kMalformed);

  const QuicInitialKeys other = derive_or_die(d, 1, from_hex("0001020304050607"));
  EXPECT_EQ(d.decrypt(view(pkt), hdr, other, plain, &payload, &pn), ParseStatus::kMalformed);
}

// --- Header parsing ---------------------------------------------------------------------

TEST(QuicHeader, TruncationAtEveryOffsetNeverOk) {
  for (const AppendixPacket& a : kAppendixPackets) {
    SCOPED_TRACE(a.source);
    const Buf pkt = from_hex(a.packet);
    for (size_t n = 0; n < pkt.size(); ++n) {
      QuicLongHeader hdr;
      const ParseStatus s = parse_quic_long_header(view(pkt).first(n), &hdr);
      EXPECT_TRUE(s == ParseStatus::kNeedMore || s == ParseStatus::kMalformed) << "prefix " << n;
    }
  }
}

TEST(QuicHeader, Table) {
  const std::string dcid8 = kRfcDcid;
  const std::string body20 = fill_hex(20, "ab");  // PN + payload bytes, never decrypted here
  struct Case {
    const char* name;
    std::string hex;
    ParseStatus want;
    QuicPacketType type;
    size_t packet_len;
  } cases[] = {
      {"empty datagram", "", ParseStatus::kNeedMore, QuicPacketType::kShort, 0},
      {"short header (1-RTT)", "40" + dcid8 + "00", ParseStatus::kNotApplicable,
       QuicPacketType::kShort, 0},
      {"version cut short", "c0000000", ParseStatus::kNeedMore, QuicPacketType::kShort, 0},
      {"unknown version", "c01234567808" + dcid8 + "00", ParseStatus::kNotApplicable,
       QuicPacketType::kShort, 0},
      {"draft-21 (packed CID lengths)", "c0ff00001555" + dcid8, ParseStatus::kNotApplicable,
       QuicPacketType::kShort, 0},
      {"DCID length 21", "c00000000115" + fill_hex(21) + "00", ParseStatus::kMalformed,
       QuicPacketType::kShort, 0},
      {"SCID length 21", "c00000000108" + dcid8 + "15" + fill_hex(21), ParseStatus::kMalformed,
       QuicPacketType::kShort, 0},
      {"DCID length 20 is fine", "c00000000114" + fill_hex(20) + "000014" + body20,
       ParseStatus::kOk, QuicPacketType::kInitial, 1 + 4 + 1 + 20 + 1 + 1 + 1 + 20},
      {"Length (256) beyond the datagram", "c00000000108" + dcid8 + "00004100" + body20,
       ParseStatus::kNeedMore, QuicPacketType::kInitial, 0},
      {"8-byte Length near 2^62", "c00000000108" + dcid8 + "0000ffffffffffffffff" + body20,
       ParseStatus::kNeedMore, QuicPacketType::kInitial, 0},
      {"Length 19: no room for a 4-byte PN + sample",
       "c00000000108" + dcid8 + "000013" + fill_hex(19), ParseStatus::kMalformed,
       QuicPacketType::kInitial, 0},
      {"Length 20: the minimum", "c00000000108" + dcid8 + "000014" + body20, ParseStatus::kOk,
       QuicPacketType::kInitial, 1 + 4 + 1 + 8 + 1 + 1 + 1 + 20},
      {"token length (1024) beyond the datagram", "c00000000108" + dcid8 + "004400" + body20,
       ParseStatus::kNeedMore, QuicPacketType::kInitial, 0},
      {"token of 3 bytes", "c00000000108" + dcid8 + "0003aabbcc14" + body20, ParseStatus::kOk,
       QuicPacketType::kInitial, 1 + 4 + 1 + 8 + 1 + 1 + 3 + 1 + 20},
      {"Version Negotiation",
       "8000000000"
       "08" +
           dcid8 + "08" + dcid8 + "000000016b3343cf",
       ParseStatus::kOk, QuicPacketType::kVersionNegotiation, 1 + 4 + 1 + 8 + 1 + 8 + 8},
      {"v1 Retry (type 3): token then 16-byte tag",
       "f000000001"
       "00"
       "08" +
           dcid8 + "a1a2a3a4" + fill_hex(16),
       ParseStatus::kOk, QuicPacketType::kRetry, 1 + 4 + 1 + 1 + 8 + 4 + 16},
      {"Retry shorter than its tag", "f0000000010000" + fill_hex(15), ParseStatus::kNeedMore,
       QuicPacketType::kRetry, 0},
      {"v1 0-RTT (type 1)",
       "d00000000100"
       "00"
       "14" +
           body20,
       ParseStatus::kOk, QuicPacketType::kZeroRtt, 1 + 4 + 1 + 1 + 1 + 20},
      {"v1 Handshake (type 2)",
       "e00000000100"
       "00"
       "14" +
           body20,
       ParseStatus::kOk, QuicPacketType::kHandshake, 1 + 4 + 1 + 1 + 1 + 20},
      {"v2 Initial (type 1)",
       "d06b3343cf00"
       "00"
       "00"
       "14" +
           body20,
       ParseStatus::kOk, QuicPacketType::kInitial, 1 + 4 + 1 + 1 + 1 + 1 + 20},
      {"v2 0-RTT (type 2)",
       "e06b3343cf00"
       "00"
       "14" +
           body20,
       ParseStatus::kOk, QuicPacketType::kZeroRtt, 1 + 4 + 1 + 1 + 1 + 20},
      {"v2 Handshake (type 3)",
       "f06b3343cf00"
       "00"
       "14" +
           body20,
       ParseStatus::kOk, QuicPacketType::kHandshake, 1 + 4 + 1 + 1 + 1 + 20},
      {"v2 Retry (type 0)",
       "c06b3343cf00"
       "00" +
           fill_hex(16),
       ParseStatus::kOk, QuicPacketType::kRetry, 1 + 4 + 1 + 1 + 16},
      {"mvfst Initial", "c0faceb00208" + dcid8 + "000014" + body20, ParseStatus::kOk,
       QuicPacketType::kInitial, 1 + 4 + 1 + 8 + 1 + 1 + 1 + 20},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Buf bytes = from_hex(c.hex);
    QuicLongHeader hdr;
    ASSERT_EQ(parse_quic_long_header(view(bytes), &hdr), c.want);
    if (c.want != ParseStatus::kOk) continue;
    EXPECT_EQ(hdr.type, c.type);
    EXPECT_EQ(hdr.packet_len, c.packet_len);
    EXPECT_EQ(hdr.anomalies, 0u);
  }
}

TEST(QuicHeader, FixedBitClearIsDecodedAndFlagged) {
  // RFC 9287: a client may clear the QUIC bit; 0x80 = long header, fixed bit 0, Initial.
  const Buf bytes = from_hex(std::string("800000000108") + kRfcDcid + "000014" + fill_hex(20));
  QuicLongHeader hdr;
  ASSERT_EQ(parse_quic_long_header(view(bytes), &hdr), ParseStatus::kOk);
  EXPECT_EQ(hdr.type, QuicPacketType::kInitial);
  EXPECT_EQ(hdr.anomalies, quic_anomaly_mask(kFixedBitClearBit));
}

TEST(QuicHeader, CoalescedInitialThenHandshake) {
  // RFC 9000 §12.2: the RFC 9001 client Initial, then a Handshake packet (type 2, v1,
  // DCID 8394..., empty SCID, Length 0x4020 = 32), then a short-header packet.
  const std::string handshake =
      std::string("e000000001") + "08" + kRfcDcid + "00" + "4020" + fill_hex(32, "5a");
  const std::string short_header = std::string("41") + kRfcDcid + fill_hex(24, "77");
  const Buf datagram = from_hex(std::string(kRfc9001ClientInitial) + handshake + short_header);

  Bytes rest = view(datagram);
  QuicLongHeader hdr;
  ASSERT_EQ(parse_quic_long_header(rest, &hdr), ParseStatus::kOk);
  EXPECT_EQ(hdr.type, QuicPacketType::kInitial);
  ASSERT_EQ(hdr.packet_len, 1200u);
  rest = rest.subspan(hdr.packet_len);

  ASSERT_EQ(parse_quic_long_header(rest, &hdr), ParseStatus::kOk);
  EXPECT_EQ(hdr.type, QuicPacketType::kHandshake);
  EXPECT_EQ(to_buf(hdr.dcid), from_hex(kRfcDcid));
  EXPECT_EQ(hdr.pn_offset, 1u + 4 + 1 + 8 + 1 + 2);
  ASSERT_EQ(hdr.packet_len, hdr.pn_offset + 32);
  rest = rest.subspan(hdr.packet_len);

  EXPECT_EQ(parse_quic_long_header(rest, &hdr), ParseStatus::kNotApplicable);  // short header: stop
  EXPECT_EQ(rest.size(), 1u + 8 + 24);

  // The Initial is still decryptable when it is not alone in the datagram.
  ASSERT_EQ(parse_quic_long_header(view(datagram), &hdr), ParseStatus::kOk);
  QuicInitialDecryptor d;
  const QuicInitialKeys keys = derive_or_die(d, hdr.version, to_buf(hdr.dcid));
  Buf plain(hdr.packet_len);
  Bytes payload;
  uint64_t pn = 0;
  EXPECT_EQ(d.decrypt(view(datagram), hdr, keys, plain, &payload, &pn), ParseStatus::kOk);
}

// --- Frames -----------------------------------------------------------------------------

TEST(QuicFrames, ScrambledCryptoWithPaddingPingAck) {
  // The order Chrome's chaos protection can produce: later bytes first, PING and PADDING between.
  const Buf payload = concat({
      {0x00, 0x00, 0x00},              // PADDING x3 (one run)
      {0x01},                          // PING
      crypto_frame(5, text("world")),  // CRYPTO offset 5
      {0x02, 0x05, 0x00, 0x01, 0x00, 0x01,
       0x00},                          // ACK largest 5, delay 0, 1 range, first 0, gap 1, len 0
      crypto_frame(0, text("hello")),  // CRYPTO offset 0
      {0x03, 0x00, 0x00, 0x00, 0x00, 0x07, 0x08, 0x09},  // ACK_ECN, no ranges, ECT0/ECT1/CE counts
      {0x01},                                            // PING
      Buf(900, 0x00),                                    // PADDING to the end
  });
  std::vector<CryptoPiece> pieces;
  uint32_t anomalies = 0;
  ASSERT_EQ(walk(payload, &pieces, &anomalies), ParseStatus::kOk);
  const std::vector<CryptoPiece> want = {{5, text("world")}, {0, text("hello")}};
  EXPECT_EQ(pieces, want);
  EXPECT_EQ(anomalies, 0u);
}

// Google's T050/T051 keep gQUIC frame types: CRYPTO is 0x08 (IETF varints after it), PING 0x07;
// as seen in Chrome's T051 Initials (08 00 41 33 01 00 01 2f ...). In IETF QUIC 0x08 is a
// STREAM frame, which an Initial must not carry.
TEST(QuicFrames, GoogleT05xCryptoFrameType) {
  const Buf payload = concat({{0x07},                                       // PING
                              {0x08, 0x00, 0x40, 0x05}, text("hello"),      // CRYPTO 0, 5 bytes
                              {0x08, 0x45, 0x00, 0x03}, text("end"),        // CRYPTO 1280, 3 bytes
                              Buf(100, 0x00)});                             // PADDING
  for (const uint32_t v : {kQuicGoogleT050, kQuicGoogleT051}) {
    std::vector<CryptoPiece> pieces;
    ASSERT_EQ(walk(payload, &pieces, nullptr, v), ParseStatus::kOk);
    const std::vector<CryptoPiece> want = {{0, text("hello")}, {1280, text("end")}};
    EXPECT_EQ(pieces, want);
  }
  std::vector<CryptoPiece> pieces;
  EXPECT_EQ(walk(payload, &pieces, nullptr, kQuicVersion1), ParseStatus::kMalformed);
  EXPECT_TRUE(pieces.empty());
  // A gQUIC ACK (0x40-0x7f) ends the walk; CRYPTO frames before it were delivered.
  const Buf with_ack = concat({{0x08, 0x00, 0x40, 0x02}, text("hi"), {0x40, 0x01, 0x08}});
  pieces.clear();
  EXPECT_EQ(walk(with_ack, &pieces, nullptr, kQuicGoogleT051), ParseStatus::kMalformed);
  EXPECT_EQ(pieces, (std::vector<CryptoPiece>{{0, text("hi")}}));
}

TEST(QuicFrames, ConnectionCloseAndNonMinimalTypeAreFlagged) {
  struct Case {
    const char* name;
    Buf payload;
    uint32_t anomalies;
  } cases[] = {
      {"CONNECTION_CLOSE 0x1c with reason",
       {0x1c, 0x0a, 0x06, 0x03, 'b', 'a', 'd'},
       quic_anomaly_mask(kConnectionCloseBit)},
      {"CONNECTION_CLOSE 0x1d (no frame type)",
       {0x1d, 0x00, 0x00},
       quic_anomaly_mask(kConnectionCloseBit)},
      {"CRYPTO typed as 2-byte varint 0x40 0x06", concat({{0x40}, crypto_frame(0, text("x"))}),
       quic_anomaly_mask(kNonMinimalFrameTypeBit)},
      {"PING typed as 4-byte varint",
       {0x80, 0x00, 0x00, 0x01},
       quic_anomaly_mask(kNonMinimalFrameTypeBit)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<CryptoPiece> pieces;
    uint32_t anomalies = 0;
    EXPECT_EQ(walk(c.payload, &pieces, &anomalies), ParseStatus::kOk);
    EXPECT_EQ(anomalies, c.anomalies);
  }
}

TEST(QuicFrames, MalformedTable) {
  Buf too_many_ranges = {0x02, 0x00, 0x00, 0x40, kMaxQuicAckRanges + 1, 0x00};  // 65 ranges
  for (uint64_t i = 0; i <= kMaxQuicAckRanges; ++i)
    too_many_ranges.insert(too_many_ranges.end(), {0x00, 0x00});
  Buf max_ranges = {0x02, 0x00, 0x00, 0x40, kMaxQuicAckRanges, 0x00};
  for (uint64_t i = 0; i < kMaxQuicAckRanges; ++i)
    max_ranges.insert(max_ranges.end(), {0x00, 0x00});
  struct Case {
    const char* name;
    Buf payload;
    ParseStatus want;
  } cases[] = {
      {"empty payload (RFC 9000 §12.4)", {}, ParseStatus::kMalformed},
      // Frame types not allowed in Initial (RFC 9000 §12.4), each followed only by PADDING so
      // that a walker which skipped the type instead of rejecting it would return kOk.
      {"STREAM 0x08", {0x08, 0x00, 0x00}, ParseStatus::kMalformed},
      {"NEW_TOKEN 0x07", {0x07, 0x00}, ParseStatus::kMalformed},
      {"MAX_DATA 0x10", {0x10, 0x00}, ParseStatus::kMalformed},
      {"NEW_CONNECTION_ID 0x18", {0x18, 0x00}, ParseStatus::kMalformed},
      {"HANDSHAKE_DONE 0x1e", {0x1e}, ParseStatus::kMalformed},
      {"DATAGRAM 0x30 (RFC 9221)", {0x30, 0x00}, ParseStatus::kMalformed},
      {"unknown 0x21 after a good PING", {0x01, 0x21}, ParseStatus::kMalformed},
      {"frame type varint cut short", {0x40}, ParseStatus::kMalformed},
      {"CRYPTO data past the payload", {0x06, 0x00, 0x05, 'a', 'b'}, ParseStatus::kMalformed},
      {"CRYPTO offset varint cut short", {0x06, 0x80, 0x00}, ParseStatus::kMalformed},
      {"CRYPTO offset + length above 2^62-1",
       {0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 'a'},
       ParseStatus::kMalformed},
      {"CRYPTO ending exactly at 2^62-1",
       {0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x01, 'a'},
       ParseStatus::kOk},
      {"ACK cut inside its ranges", {0x02, 0x00, 0x00, 0x02, 0x00, 0x00}, ParseStatus::kMalformed},
      {"ACK_ECN missing its counts", {0x03, 0x00, 0x00, 0x00, 0x00, 0x01}, ParseStatus::kMalformed},
      {"ACK with kMaxQuicAckRanges ranges", max_ranges, ParseStatus::kOk},
      {"ACK with one range over the cap", too_many_ranges, ParseStatus::kMalformed},
      {"CONNECTION_CLOSE reason past the payload",
       {0x1c, 0x00, 0x00, 0x10, 'x'},
       ParseStatus::kMalformed},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<CryptoPiece> pieces;
    EXPECT_EQ(walk(c.payload, &pieces), c.want);
  }
}

TEST(QuicFrames, FrameCap) {
  std::vector<CryptoPiece> pieces;
  EXPECT_EQ(walk(Buf(kMaxQuicFramesPerPacket, 0x01), &pieces), ParseStatus::kOk);  // PINGs
  EXPECT_EQ(walk(Buf(kMaxQuicFramesPerPacket + 1, 0x01), &pieces), ParseStatus::kMalformed);
  EXPECT_EQ(walk(Buf(9000, 0x00), &pieces), ParseStatus::kOk);  // one PADDING run is one frame
  Buf alternating;  // PADDING, PING, PADDING, PING ... each a separate frame
  for (size_t i = 0; i <= kMaxQuicFramesPerPacket / 2; ++i)
    alternating.insert(alternating.end(), {0x00, 0x01});
  EXPECT_EQ(walk(alternating, &pieces), ParseStatus::kMalformed);
}

TEST(QuicFrames, FramesBeforeAnErrorAreDelivered) {
  const Buf payload = concat({crypto_frame(0, text("abc")), {0x08, 0x00}});
  std::vector<CryptoPiece> pieces;
  EXPECT_EQ(walk(payload, &pieces), ParseStatus::kMalformed);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0], (CryptoPiece{0, text("abc")}));
}

TEST(QuicFrames, TruncationAtEveryOffsetDeliversOnlyWholeFrames) {
  const Buf payload = concat({{0x01},
                              crypto_frame(3, text("defgh")),
                              {0x02, 0x01, 0x00, 0x00, 0x00},
                              crypto_frame(0, text("abc")),
                              {0x1c, 0x00, 0x00, 0x02, 'o', 'k'},
                              {0x00, 0x00}});
  std::vector<CryptoPiece> full;
  ASSERT_EQ(walk(payload, &full), ParseStatus::kOk);
  ASSERT_EQ(full.size(), 2u);
  for (size_t n = 0; n < payload.size(); ++n) {
    std::vector<CryptoPiece> pieces;
    const ParseStatus s =
        walk(Buf(payload.begin(), payload.begin() + static_cast<long>(n)), &pieces);
    EXPECT_TRUE(s == ParseStatus::kOk || s == ParseStatus::kMalformed) << "prefix " << n;
    ASSERT_LE(pieces.size(), full.size()) << "prefix " << n;
    for (size_t i = 0; i < pieces.size(); ++i) EXPECT_EQ(pieces[i], full[i]) << "prefix " << n;
  }
}

// --- Reassembly -------------------------------------------------------------------------

std::string contiguous_text(const QuicCryptoAssembler& a) {
  return std::string(as_chars(a.contiguous()));
}

TEST(QuicAssembler, OutOfOrderPieces) {
  QuicCryptoAssembler a;
  EXPECT_EQ(a.add(5, view(text("world"))), 0u);
  EXPECT_EQ(contiguous_text(a), "");  // hole at 0..4
  EXPECT_EQ(a.add(0, view(text("hello"))), 0u);
  EXPECT_EQ(contiguous_text(a), "helloworld");
}

TEST(QuicAssembler, DuplicateAndOverlap) {
  QuicCryptoAssembler a;
  EXPECT_EQ(a.add(0, view(text("hello"))), 0u);
  EXPECT_EQ(a.add(0, view(text("hello"))), 0u);  // identical retransmission
  EXPECT_EQ(a.add(3, view(text("loWOR"))), 0u);  // overlaps "lo" with the same bytes, extends
  EXPECT_EQ(contiguous_text(a), "helloWOR");
  EXPECT_EQ(a.add(1, view(text("EL"))), quic_anomaly_mask(kCryptoOverlapMismatchBit));
  EXPECT_EQ(contiguous_text(a), "helloWOR");  // the first copy wins
  EXPECT_EQ(a.add(6, view(text("Ox!"))),
            quic_anomaly_mask(kCryptoOverlapMismatchBit));  // 'O' kept, 'x' vs 'R'
  EXPECT_EQ(contiguous_text(a), "helloWOR!");
  EXPECT_EQ(a.add(9, Bytes{}), 0u);  // empty frame: nothing to do
}

TEST(QuicAssembler, HoleStopsContiguous) {
  QuicCryptoAssembler a;
  a.add(0, view(text("ab")));
  a.add(5, view(text("fg")));
  a.add(9, view(text("j")));
  EXPECT_EQ(contiguous_text(a), "ab");
  a.add(2, view(text("cde")));
  EXPECT_EQ(contiguous_text(a), "abcdefg");
  a.add(7, view(text("hi")));
  EXPECT_EQ(contiguous_text(a), "abcdefghij");
  a.reset();
  EXPECT_EQ(contiguous_text(a), "");
  a.add(1, view(text("x")));
  EXPECT_EQ(contiguous_text(a), "");  // reset forgot byte 0
}

TEST(QuicAssembler, BeyondCap) {
  QuicCryptoAssembler a;
  const uint32_t beyond = quic_anomaly_mask(kCryptoBeyondCapBit);
  EXPECT_EQ(a.add(0, view(Buf(kMaxQuicCryptoBytes - 2, 'a'))), 0u);
  EXPECT_EQ(a.add(kMaxQuicCryptoBytes - 2, view(text("bcde"))), beyond);  // "bc" fit, "de" do not
  EXPECT_EQ(a.contiguous().size(), kMaxQuicCryptoBytes);
  EXPECT_EQ(a.contiguous().back(), 'c');
  EXPECT_EQ(a.add(kMaxQuicCryptoBytes, view(text("x"))), beyond);
  EXPECT_EQ(a.add(kQuicMaxStreamOffset, view(text("x"))), beyond);
  EXPECT_EQ(a.add(kMaxQuicCryptoBytes - 1, view(text("c"))), 0u);  // duplicate of the last byte
}

// --- End to end: Chrome-like split, scrambled ClientHello ---------------------------------

TEST(QuicEndToEnd, ClientHelloSplitOverTwoDatagrams) {
  QuicInitialDecryptor d;
  ASSERT_TRUE(d.ok());
  const Buf dcid = from_hex("0a0b0c0d0e0f1011");
  const Buf scid = from_hex("c1c2c3");
  // ~1.8 KB ClientHello: handshake type 1, length 0x000704, then filler.
  Buf hello = {0x01, 0x00, 0x07, 0x04};
  for (size_t i = 4; i < 1800; ++i) hello.push_back(static_cast<uint8_t>(i * 7));
  const auto slice = [&](size_t from, size_t to) {
    return Buf(hello.begin() + static_cast<long>(from), hello.begin() + static_cast<long>(to));
  };

  struct Version {
    uint32_t version;
    uint8_t initial_type_bits;
  } versions[] = {{0x00000001, 0}, {0x6b3343cf, 1}, {0xff00001d, 0}, {0xfaceb002, 0}};
  for (const Version& v : versions) {
    SCOPED_TRACE(testing::Message() << std::hex << v.version);
    const QuicInitialKeys keys = derive_or_die(d, v.version, dcid);
    // Datagram 1: PN 0 in one byte; CRYPTO [700,1150) before [0,700), PING between.
    Buf p1 = concat({crypto_frame(700, slice(700, 1150)), {0x01}, crypto_frame(0, slice(0, 700))});
    p1.resize(1162, 0x00);
    // Datagram 2: PN 1 in two bytes; PADDING, the tail [1150,1800), PING, then a resent [0,100).
    Buf p2 = concat({{0x00, 0x00},
                     crypto_frame(1150, slice(1150, 1800)),
                     {0x01},
                     crypto_frame(0, slice(0, 100))});
    p2.resize(1162, 0x00);
    const Buf d1 = protect_initial(keys, v.initial_type_bits, v.version, dcid, scid, {}, 0, 1, p1);
    const Buf d2 =
        protect_initial(keys, v.initial_type_bits, v.version, dcid, scid, text("tok"), 1, 2, p2);

    QuicCryptoAssembler assembler;
    uint64_t want_pn = 0;
    for (const Buf* dgram : {&d2, &d1}) {  // the second datagram arrives first
      QuicLongHeader hdr;
      ASSERT_EQ(parse_quic_long_header(view(*dgram), &hdr), ParseStatus::kOk);
      ASSERT_EQ(hdr.type, QuicPacketType::kInitial);
      ASSERT_EQ(hdr.packet_len, dgram->size());
      Buf plain(hdr.packet_len);
      Bytes payload;
      uint64_t pn = 99;
      ASSERT_EQ(d.decrypt(view(*dgram), hdr, keys, plain, &payload, &pn), ParseStatus::kOk);
      EXPECT_EQ(pn, dgram == &d2 ? 1u : 0u);
      want_pn += pn;
      uint32_t anomalies = 0;
      ASSERT_EQ(
          for_each_quic_crypto_frame(
              payload, [&](uint64_t off, Bytes data) { anomalies |= assembler.add(off, data); }),
          ParseStatus::kOk);
      EXPECT_EQ(anomalies, 0u);
      if (dgram == &d2) {
        EXPECT_EQ(assembler.contiguous().size(), 100u);  // only the resent head so far
      }
    }
    EXPECT_EQ(want_pn, 1u);
    EXPECT_EQ(to_buf(assembler.contiguous()), hello);
  }
}

TEST(QuicEndToEnd, PacketNumberLengthsAndReservedBits) {
  QuicInitialDecryptor d;
  const Buf dcid = from_hex(kRfcDcid);
  const QuicInitialKeys keys = derive_or_die(d, 1, dcid);
  const Buf payload = concat({crypto_frame(0, text("hi")), Buf(40, 0x00)});
  struct Case {
    uint64_t pn;
    size_t pn_len;
    uint8_t reserved;
    uint32_t anomalies;
  } cases[] = {
      {0x00, 1, 0, 0},
      {0x1234, 2, 0, 0},
      {0x123456, 3, 0, 0},
      {0x12345678, 4, 0, 0},
      {0x07, 1, 0x2, quic_anomaly_mask(kReservedBitsSetBit)},  // RFC 9000 §17.2: must be zero
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "pn_len " << c.pn_len << " reserved " << int{c.reserved});
    const Buf pkt = protect_initial(keys, 0, 1, dcid, {}, {}, c.pn, c.pn_len, payload, c.reserved);
    QuicLongHeader hdr;
    ASSERT_EQ(parse_quic_long_header(view(pkt), &hdr), ParseStatus::kOk);
    Buf plain(hdr.packet_len);
    Bytes out;
    uint64_t pn = 0;
    uint32_t anomalies = 0;
    ASSERT_EQ(d.decrypt(view(pkt), hdr, keys, plain, &out, &pn, &anomalies), ParseStatus::kOk);
    EXPECT_EQ(pn, c.pn);
    EXPECT_EQ(anomalies, c.anomalies);
    EXPECT_EQ(to_buf(out), payload);
  }
}

TEST(QuicAnomaly, NamesAreDistinct) {
  std::vector<std::string_view> names;
  for (uint32_t i = 0; i < kQuicAnomalyCount; ++i)
    names.push_back(quic_anomaly_name(static_cast<QuicAnomaly>(i)));
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  EXPECT_EQ(quic_anomaly_name(kCryptoBeyondCapBit), "crypto_beyond_cap");
}

}  // namespace
}  // namespace muhafiz::parse
