#include "dataplane/parse/quic.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>

namespace muhafiz::parse {

namespace {

using Salt = std::array<uint8_t, 20>;

// Initial salts, each from the document that introduced it.
// draft-ietf-quic-tls-22 §5.2 (draft-22 only)
constexpr Salt kSaltDraft22 = {0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb, 0xe9, 0x19, 0x3a,
                               0x96, 0xcd, 0x21, 0x51, 0x9e, 0xbd, 0x7a, 0x02, 0x64, 0x4a};
// draft-ietf-quic-tls-23 §5.2 (drafts 23-28)
constexpr Salt kSaltDraft23 = {0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
                               0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02};
// draft-ietf-quic-tls-29 §5.2 (drafts 29-32)
constexpr Salt kSaltDraft29 = {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
                               0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99};
// RFC 9001 §5.2 (v1, and drafts 33-34)
constexpr Salt kSaltV1 = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                          0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
// RFC 9369 §3.3.1 (v2)
constexpr Salt kSaltV2 = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                          0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};

// Google's TLS-based versions T050 and T051 (IETF invariants, TLS 1.3 in CRYPTO frames):
// salts as Chromium defines them (quic/core/quic_versions, ParsedQuicVersion::T050/T051).
constexpr Salt kSaltT050 = {0x7f, 0xf5, 0x79, 0xe5, 0xac, 0xd0, 0x72, 0x91, 0x55, 0x80,
                            0x30, 0x4c, 0x43, 0xa2, 0x36, 0x7c, 0x60, 0x48, 0x83, 0x10};
constexpr Salt kSaltT051 = {0x7a, 0x4e, 0xde, 0xf4, 0xe7, 0xcc, 0xee, 0x5f, 0xa4, 0x50,
                            0x6c, 0x19, 0x12, 0x4f, 0xc8, 0xcc, 0xda, 0x6e, 0x03, 0x3d};

// Oldest draft we decode: draft-22 moved to one-byte CID lengths (transport-22 Appendix B.1),
// which is the layout parse_quic_long_header knows.
inline constexpr uint32_t kOldestDraft = 22;
inline constexpr uint32_t kNewestDraft = 34;

constexpr uint32_t draft_number(uint32_t version) noexcept {
  const bool is_draft = version >= kQuicDraftVersionBase + kOldestDraft &&
                        version <= kQuicDraftVersionBase + kNewestDraft;
  return is_draft ? version - kQuicDraftVersionBase : 0;
}

const Salt* initial_salt(uint32_t version) noexcept {
  switch (version) {
    case kQuicVersion1:
      return &kSaltV1;
    case kQuicVersion2:
      return &kSaltV2;
    case kQuicMvfstDraft22:
      return &kSaltDraft22;  // mvfst kept the draft-22 salt for this version
    case kQuicMvfst:
    case kQuicMvfstExperimental:
      return &kSaltDraft23;
    case kQuicGoogleT050:
      return &kSaltT050;
    case kQuicGoogleT051:
      return &kSaltT051;
    default:
      break;
  }
  // RFC 9000 §15: 0x?a?a?a?a versions are reserved to exercise version negotiation. Clients
  // (and interop runners) protect such Initials like v1 and still name their server; read them
  // so a greased version cannot hide a ClientHello.
  if ((version & kQuicReservedVersionMask) == 0x0a0a0a0au) return &kSaltDraft29;
  const uint32_t draft = draft_number(version);
  if (draft == 0) return nullptr;
  if (draft == 22) return &kSaltDraft22;
  if (draft <= 28) return &kSaltDraft23;
  if (draft <= 32) return &kSaltDraft29;
  return &kSaltV1;  // drafts 33 and 34 already use the RFC 9001 salt
}

// Long header type bits (0x30 of the first byte) to packet types.
QuicPacketType long_packet_type(uint32_t version, uint8_t first_byte) noexcept {
  const uint8_t bits = static_cast<uint8_t>((first_byte >> 4) & 0x03);
  if (version == kQuicVersion2) {  // RFC 9369 §3.2
    constexpr QuicPacketType kV2[] = {QuicPacketType::kRetry, QuicPacketType::kInitial,
                                      QuicPacketType::kZeroRtt, QuicPacketType::kHandshake};
    return kV2[bits];
  }
  // RFC 9000 §17.2 (also the drafts and mvfst)
  constexpr QuicPacketType kV1[] = {QuicPacketType::kInitial, QuicPacketType::kZeroRtt,
                                    QuicPacketType::kHandshake, QuicPacketType::kRetry};
  return kV1[bits];
}

inline constexpr uint8_t kLongHeaderBit = 0x80;
inline constexpr uint8_t kFixedBit = 0x40;
inline constexpr uint8_t kLongProtectedBits = 0x0f;  // RFC 9001 §5.4.1: four bits under HP
inline constexpr uint8_t kLongReservedBits = 0x0c;   // RFC 9000 §17.2
inline constexpr uint8_t kPnLengthBits = 0x03;

inline constexpr size_t kSha256Len = 32;  // RFC 9001 §5.2: Initial secrets use SHA-256
inline constexpr std::string_view kTls13LabelPrefix = "tls13 ";  // RFC 8446 §7.1
inline constexpr size_t kMaxLabelLen = 10;  // longest label we expand: "quicv2 key"
inline constexpr size_t kMaxHkdfLabelLen = 2 + 1 + kTls13LabelPrefix.size() + kMaxLabelLen + 1;

struct PacketLabels {
  std::string_view key, iv, hp;
};
constexpr PacketLabels kLabelsV1{"quic key", "quic iv", "quic hp"};        // RFC 9001 §5.1
constexpr PacketLabels kLabelsV2{"quicv2 key", "quicv2 iv", "quicv2 hp"};  // RFC 9369 §3.3.2

// HKDF via the EVP_KDF context; `kdf` already has its digest set.
bool hkdf_extract(EVP_KDF_CTX* kdf, const Salt& salt, Bytes ikm,
                  uint8_t (&out)[kSha256Len]) noexcept {
  // OSSL_PARAM wants writable buffers; copying the small, public inputs avoids a const_cast.
  Salt salt_copy = salt;
  uint8_t ikm_copy[kQuicMaxCidLen] = {};
  if (ikm.size() > sizeof(ikm_copy)) return false;
  std::copy(ikm.begin(), ikm.end(), ikm_copy);
  int mode = EVP_KDF_HKDF_MODE_EXTRACT_ONLY;
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikm_copy, ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt_copy.data(), salt_copy.size()),
      OSSL_PARAM_construct_end(),
  };
  return EVP_KDF_derive(kdf, out, sizeof(out), params) == 1;
}

// HKDF-Expand-Label with an empty context (RFC 8446 §7.1).
bool hkdf_expand_label(EVP_KDF_CTX* kdf, const uint8_t (&secret)[kSha256Len],
                       std::string_view label, std::span<uint8_t> out) noexcept {
  if (label.size() > kMaxLabelLen || out.size() > 0xffff) return false;
  uint8_t info[kMaxHkdfLabelLen];
  size_t n = 0;
  info[n++] = static_cast<uint8_t>(out.size() >> 8);
  info[n++] = static_cast<uint8_t>(out.size());
  info[n++] = static_cast<uint8_t>(kTls13LabelPrefix.size() + label.size());
  for (const char c : kTls13LabelPrefix) info[n++] = static_cast<uint8_t>(c);
  for (const char c : label) info[n++] = static_cast<uint8_t>(c);
  info[n++] = 0;  // context length
  uint8_t key[kSha256Len];
  std::copy(std::begin(secret), std::end(secret), key);
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, key, sizeof(key)),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n),
      OSSL_PARAM_construct_end(),
  };
  return EVP_KDF_derive(kdf, out.data(), out.size(), params) == 1;
}

}  // namespace

std::string_view quic_anomaly_name(QuicAnomaly a) noexcept {
  switch (a) {
#define MUHAFIZ_X(name, text) \
  case name##Bit:             \
    return text;
    MUHAFIZ_QUIC_ANOMALIES(MUHAFIZ_X)
#undef MUHAFIZ_X
    case kQuicAnomalyCount:
      break;
  }
  return "unknown";
}

bool quic_version_supported(uint32_t version) noexcept { return initial_salt(version) != nullptr; }

ParseStatus parse_quic_long_header(Bytes datagram, QuicLongHeader* out) noexcept {
  *out = QuicLongHeader{};
  ByteReader r(datagram);
  const uint8_t first = r.read_u8();
  if (!r.ok()) return ParseStatus::kNeedMore;
  out->first_byte = first;
  if ((first & kLongHeaderBit) == 0) return ParseStatus::kNotApplicable;  // short header
  out->version = r.read_u32be();
  if (!r.ok()) return ParseStatus::kNeedMore;

  const bool negotiation = out->version == 0;  // RFC 9000 §17.2.1
  if (!negotiation && !quic_version_supported(out->version)) return ParseStatus::kNotApplicable;
  // RFC 8999 §5.1 lets other versions (and so Version Negotiation echoing them) use up to 255.
  const size_t max_cid = negotiation ? 255 : kQuicMaxCidLen;
  const size_t dcid_len = r.read_u8();
  if (r.ok() && dcid_len > max_cid) return ParseStatus::kMalformed;
  out->dcid = r.bytes(dcid_len);
  const size_t scid_len = r.read_u8();
  if (r.ok() && scid_len > max_cid) return ParseStatus::kMalformed;
  out->scid = r.bytes(scid_len);
  if (!r.ok()) return ParseStatus::kNeedMore;

  if (negotiation) {
    out->type = QuicPacketType::kVersionNegotiation;
    out->packet_len = datagram.size();  // the supported-version list runs to the end
    return ParseStatus::kOk;
  }
  // RFC 9287 lets a client clear the fixed bit when the server advertised grease_quic_bit;
  // servers that did not drop the packet. Decode it either way and let the caller decide.
  if ((first & kFixedBit) == 0) out->anomalies |= quic_anomaly_mask(kFixedBitClearBit);
  out->type = long_packet_type(out->version, first);

  if (out->type == QuicPacketType::kRetry) {
    // RFC 9000 §17.2.5: no Length field; the token runs up to the integrity tag at the end.
    // Drafts before 25 put an Original DCID here instead; it ends up inside `token`.
    if (r.remaining() < kQuicRetryTagLen) return ParseStatus::kNeedMore;
    out->token = r.bytes(r.remaining() - kQuicRetryTagLen);
    out->packet_len = datagram.size();
    return ParseStatus::kOk;
  }
  if (out->type == QuicPacketType::kInitial) {
    const uint64_t token_len = r.read_quic_varint();
    if (!r.ok() || token_len > r.remaining()) return ParseStatus::kNeedMore;
    out->token = r.bytes(static_cast<size_t>(token_len));
  }
  const uint64_t length = r.read_quic_varint();  // packet number + protected payload
  if (!r.ok()) return ParseStatus::kNeedMore;
  // RFC 9001 §5.4.2: a protected packet must hold a header protection sample after a 4-byte PN.
  if (length < kQuicMaxPnLen + kQuicHpSampleLen) return ParseStatus::kMalformed;
  if (length > r.remaining()) return ParseStatus::kNeedMore;
  out->pn_offset = r.offset();
  out->packet_len = r.offset() + static_cast<size_t>(length);
  return ParseStatus::kOk;
}

QuicInitialDecryptor::QuicInitialDecryptor() noexcept {
  if (EVP_KDF* hkdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr); hkdf != nullptr) {
    kdf_ = EVP_KDF_CTX_new(hkdf);  // holds its own reference to the algorithm
    EVP_KDF_free(hkdf);
  }
  gcm_ = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);  // RFC 9001 §5: Initial AEAD
  ecb_ = EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr);  // RFC 9001 §5.4.3: header protection
  aead_ = EVP_CIPHER_CTX_new();
  hp_ = EVP_CIPHER_CTX_new();
  if (kdf_ == nullptr || gcm_ == nullptr || ecb_ == nullptr || aead_ == nullptr || hp_ == nullptr) {
    return;
  }

  char digest[] = "SHA256";  // RFC 9001 §5.2
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  ok_ = EVP_KDF_CTX_set_params(kdf_, params) == 1 &&
        EVP_DecryptInit_ex(aead_, gcm_, nullptr, nullptr, nullptr) == 1 &&
        EVP_EncryptInit_ex(hp_, ecb_, nullptr, nullptr, nullptr) == 1 &&
        EVP_CIPHER_CTX_set_padding(hp_, 0) == 1;
}

QuicInitialDecryptor::~QuicInitialDecryptor() {
  EVP_CIPHER_CTX_free(hp_);
  EVP_CIPHER_CTX_free(aead_);
  EVP_CIPHER_free(ecb_);
  EVP_CIPHER_free(gcm_);
  EVP_KDF_CTX_free(kdf_);
}

bool QuicInitialDecryptor::ok() const noexcept { return ok_; }

bool QuicInitialDecryptor::derive(uint32_t version, Bytes original_dcid,
                                  QuicInitialKeys* out) noexcept {
  const Salt* salt = initial_salt(version);
  if (!ok_ || salt == nullptr || original_dcid.size() > kQuicMaxCidLen) return false;
  const PacketLabels& labels = version == kQuicVersion2 ? kLabelsV2 : kLabelsV1;
  uint8_t initial_secret[kSha256Len];
  uint8_t client_secret[kSha256Len];
  out->version = version;
  return hkdf_extract(kdf_, *salt, original_dcid, initial_secret) &&
         hkdf_expand_label(kdf_, initial_secret, "client in", client_secret) &&  // RFC 9001 §5.2
         hkdf_expand_label(kdf_, client_secret, labels.key, out->key) &&
         hkdf_expand_label(kdf_, client_secret, labels.iv, out->iv) &&
         hkdf_expand_label(kdf_, client_secret, labels.hp, out->hp);
}

ParseStatus QuicInitialDecryptor::decrypt(Bytes packet, const QuicLongHeader& hdr,
                                          const QuicInitialKeys& keys, std::span<uint8_t> plain,
                                          Bytes* payload, uint64_t* packet_number,
                                          uint32_t* anomalies) noexcept {
  if (!ok_ || hdr.type != QuicPacketType::kInitial) return ParseStatus::kNotApplicable;
  if (hdr.packet_len > packet.size() || plain.size() < hdr.packet_len) {
    return ParseStatus::kMalformed;
  }
  const size_t sample_offset = hdr.pn_offset + kQuicMaxPnLen;  // RFC 9001 §5.4.2
  if (hdr.pn_offset == 0 || hdr.pn_offset >= hdr.packet_len ||
      sample_offset + kQuicHpSampleLen > hdr.packet_len) {
    return ParseStatus::kMalformed;
  }

  ByteReader r(packet.first(hdr.packet_len));
  r.seek(sample_offset);
  const Bytes sample = r.bytes(kQuicHpSampleLen);
  if (!r.ok()) return ParseStatus::kMalformed;

  // RFC 9001 §5.4.3: mask = AES-ECB(hp_key, sample).
  uint8_t mask[kQuicHpSampleLen];
  const int sample_len = static_cast<int>(sample.size());
  int mask_len = 0;
  if (EVP_EncryptInit_ex(hp_, nullptr, nullptr, keys.hp, nullptr) != 1 ||
      EVP_EncryptUpdate(hp_, mask, &mask_len, sample.data(), sample_len) != 1 ||
      mask_len != static_cast<int>(sizeof(mask))) {
    return ParseStatus::kMalformed;
  }

  // RFC 9001 §5.4.1: unmask the first byte, which gives the packet number length, then the PN.
  r.seek(0);
  const uint8_t first = static_cast<uint8_t>(r.read_u8() ^ (mask[0] & kLongProtectedBits));
  const size_t pn_len = static_cast<size_t>(first & kPnLengthBits) + 1;
  const size_t header_len = hdr.pn_offset + pn_len;
  r.seek(0);
  const Bytes header = r.bytes(header_len);
  const Bytes ciphertext = r.bytes(hdr.packet_len - header_len - kQuicAeadTagLen);
  const Bytes tag = r.bytes(kQuicAeadTagLen);
  if (!r.ok()) return ParseStatus::kMalformed;

  std::copy(header.begin(), header.end(), plain.begin());
  plain[0] = first;
  uint64_t pn = 0;
  for (size_t i = 0; i < pn_len; ++i) {
    plain[hdr.pn_offset + i] ^= mask[1 + i];
    pn = (pn << 8) | plain[hdr.pn_offset + i];
  }

  // RFC 9001 §5.3: nonce = iv XOR the packet number, left-padded to the IV size.
  uint8_t nonce[sizeof(keys.iv)];
  std::copy(std::begin(keys.iv), std::end(keys.iv), nonce);
  for (size_t i = 0; i < sizeof(uint64_t); ++i) {
    nonce[sizeof(nonce) - 1 - i] ^= static_cast<uint8_t>(pn >> (8 * i));
  }
  uint8_t tag_copy[kQuicAeadTagLen];  // EVP_CTRL_GCM_SET_TAG takes a writable pointer
  std::copy(tag.begin(), tag.end(), tag_copy);

  const std::span<uint8_t> out = plain.subspan(header_len, ciphertext.size());
  int len = 0;
  int final_len = 0;
  if (EVP_DecryptInit_ex(aead_, nullptr, nullptr, keys.key, nonce) != 1 ||
      EVP_DecryptUpdate(aead_, nullptr, &len, plain.data(), static_cast<int>(header_len)) != 1 ||
      EVP_DecryptUpdate(aead_, out.data(), &len, ciphertext.data(),
                        static_cast<int>(ciphertext.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(aead_, EVP_CTRL_GCM_SET_TAG, static_cast<int>(sizeof(tag_copy)),
                          tag_copy) != 1 ||
      EVP_DecryptFinal_ex(aead_, out.subspan(static_cast<size_t>(len)).data(), &final_len) != 1) {
    return ParseStatus::kMalformed;  // authentication failed: not the client's Initial
  }

  if ((first & kLongReservedBits) != 0 && anomalies != nullptr) {
    *anomalies |= quic_anomaly_mask(kReservedBitsSetBit);
  }
  *payload = out;
  *packet_number = pn;
  return ParseStatus::kOk;
}

namespace quic_detail {

bool skip_quic_ack(ByteReader& r, bool ecn) noexcept {
  (void)r.read_quic_varint();  // Largest Acknowledged
  (void)r.read_quic_varint();  // ACK Delay
  const uint64_t ranges = r.read_quic_varint();
  (void)r.read_quic_varint();  // First ACK Range
  if (!r.ok() || ranges > kMaxQuicAckRanges) return false;
  for (uint64_t i = 0; i < ranges && r.ok(); ++i) {
    (void)r.read_quic_varint();  // Gap
    (void)r.read_quic_varint();  // ACK Range Length
  }
  if (ecn) {
    for (int i = 0; i < 3; ++i) (void)r.read_quic_varint();  // ECT0, ECT1, ECN-CE counts
  }
  return r.ok();
}

bool skip_quic_connection_close(ByteReader& r, bool with_frame_type) noexcept {
  (void)r.read_quic_varint();                       // Error Code
  if (with_frame_type) (void)r.read_quic_varint();  // Frame Type (0x1c only)
  const uint64_t reason_len = r.read_quic_varint();
  if (!r.ok() || reason_len > r.remaining()) return false;
  r.skip(static_cast<size_t>(reason_len));
  return r.ok();
}

}  // namespace quic_detail

void QuicCryptoAssembler::reset() noexcept {
  std::fill(std::begin(have_), std::end(have_), uint64_t{0});
  contiguous_len_ = 0;
}

uint32_t QuicCryptoAssembler::add(uint64_t offset, Bytes data) noexcept {
  if (data.empty()) return 0;
  if (offset >= kMaxQuicCryptoBytes) return quic_anomaly_mask(kCryptoBeyondCapBit);
  uint32_t found = 0;
  const size_t start = static_cast<size_t>(offset);
  size_t n = data.size();
  if (n > kMaxQuicCryptoBytes - start) {
    n = kMaxQuicCryptoBytes - start;
    found |= quic_anomaly_mask(kCryptoBeyondCapBit);
  }
  for (size_t i = 0; i < n; ++i) {
    const size_t pos = start + i;
    if (have(pos)) {
      if (data_[pos] != data[i]) found |= quic_anomaly_mask(kCryptoOverlapMismatchBit);
      continue;
    }
    data_[pos] = data[i];
    have_[pos / kWordBits] |= uint64_t{1} << (pos % kWordBits);
  }
  while (contiguous_len_ < kMaxQuicCryptoBytes && have(contiguous_len_)) ++contiguous_len_;
  return found;
}

}  // namespace muhafiz::parse
