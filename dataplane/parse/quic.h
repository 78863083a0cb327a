// QUIC client Initial decoding: long header parsing (RFC 9000 §17.2, RFC 9369 §3.2), Initial
// key derivation and packet unprotection (RFC 9001 §5), Initial frame walking (RFC 9000 §19)
// and CRYPTO stream reassembly, so the ClientHello can be handed to the TLS parser.
//
// Flow per UDP payload: parse_quic_long_header -> (Initial) QuicInitialDecryptor::derive once per
// client DCID -> decrypt -> for_each_quic_crypto_frame -> QuicCryptoAssembler::add -> contiguous().
// Step to the next coalesced packet with hdr.packet_len (RFC 9000 §12.2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dataplane/parse/byte_reader.h"
#include "dataplane/parse/status.h"

// OpenSSL handles stay opaque here so users of this header need not include OpenSSL.
struct evp_cipher_ctx_st;
struct evp_cipher_st;
struct evp_kdf_ctx_st;

namespace muhafiz::parse {

inline constexpr size_t kQuicMaxCidLen = 20;    // RFC 9000 §17.2: v1 (and v2, drafts >= 22) CIDs
inline constexpr size_t kQuicMaxPnLen = 4;      // RFC 9000 §17.1: 1..4 byte packet numbers
inline constexpr size_t kQuicHpSampleLen = 16;  // RFC 9001 §5.4.2: AES header protection sample
inline constexpr size_t kQuicAeadTagLen = 16;   // RFC 9001 §5.3: AEAD_AES_128_GCM expansion
inline constexpr size_t kQuicRetryTagLen = 16;  // RFC 9001 §5.8: Retry Integrity Tag
inline constexpr uint64_t kQuicMaxStreamOffset = (uint64_t{1} << 62) - 1;  // RFC 9000 §19.6
// CRYPTO bytes we reassemble per connection. RFC 9000 §7.5 only obliges endpoints to buffer
// 4096 out-of-order bytes; Chrome's post-quantum ClientHello is ~1.8 KB, and 2^14 is also the
// largest TLS plaintext record (RFC 8446 §5.1). Anything past this is flagged, not buffered.
inline constexpr size_t kMaxQuicCryptoBytes = 16384;
// Frames (a run of PADDING counts as one) walked per packet. Every frame is at least one byte,
// so no packet within a 1500-byte MTU can reach the cap; honest clients send a few dozen.
inline constexpr size_t kMaxQuicFramesPerPacket = 1500;
// ACK ranges accepted in one Initial ACK. The Initial space carries a handful of packets before
// the Handshake keys replace it (RFC 9001 §4.9.1), so an honest ACK there has one or two ranges.
inline constexpr uint64_t kMaxQuicAckRanges = 64;

inline constexpr uint32_t kQuicVersion1 = 0x00000001;  // RFC 9000 §15
inline constexpr uint32_t kQuicVersion2 = 0x6b3343cf;  // RFC 9369 §3.1
// draft-ietf-quic-transport-NN is version kQuicDraftVersionBase + NN.
inline constexpr uint32_t kQuicDraftVersionBase = 0xff000000;
inline constexpr uint32_t kQuicMvfstDraft22 = 0xfaceb001;       // mvfst "MVFST_D24": draft-22 salt
inline constexpr uint32_t kQuicMvfst = 0xfaceb002;              // mvfst: draft-23 salt
inline constexpr uint32_t kQuicMvfstExperimental = 0xfaceb00e;  // mvfst experimental: draft-23 salt
inline constexpr uint32_t kQuicGoogleT050 = 0x54303530;        // "T050": gQUIC invariants + TLS 1.3
inline constexpr uint32_t kQuicGoogleT051 = 0x54303531;        // "T051"
inline constexpr uint32_t kQuicReservedVersionMask = 0x0f0f0f0f;  // 0x?a?a?a?a (RFC 9000 §15)

// QUIC anomalies: one X-macro so the enum, its name and its counter come from one place.
#define MUHAFIZ_QUIC_ANOMALIES(X)                                                                  \
  X(kCryptoBeyondCap, "crypto_beyond_cap")             /* CRYPTO bytes past kMaxQuicCryptoBytes */ \
  X(kCryptoOverlapMismatch, "crypto_overlap_mismatch") /* resent bytes differ from the first */    \
  X(kNonMinimalFrameType, "non_minimal_frame_type")    /* RFC 9000 §12.4: longer type encoding */ \
  X(kConnectionClose, "connection_close")              /* client aborted inside its Initial */     \
  X(kReservedBitsSet, "reserved_bits_set")             /* RFC 9000 §17.2: must be 0 after HP */   \
  X(kFixedBitClear, "fixed_bit_clear")                 /* RFC 9287 greasing, or not QUIC at all */

enum QuicAnomaly : uint32_t {
#define MUHAFIZ_X(name, text) name##Bit,
  MUHAFIZ_QUIC_ANOMALIES(MUHAFIZ_X)
#undef MUHAFIZ_X
      kQuicAnomalyCount
};
inline constexpr uint32_t quic_anomaly_mask(QuicAnomaly a) noexcept { return 1u << a; }
std::string_view quic_anomaly_name(QuicAnomaly a) noexcept;

enum class QuicPacketType : uint8_t {
  kInitial,
  kZeroRtt,
  kHandshake,
  kRetry,
  kVersionNegotiation,
  kShort
};

struct QuicLongHeader {
  uint8_t first_byte = 0;  // as on the wire: the low four bits are still header-protected
  uint32_t version = 0;
  Bytes dcid, scid;
  Bytes token;  // Initial: the address validation token; Retry: the retry token
  QuicPacketType type = QuicPacketType::kShort;
  size_t pn_offset = 0;    // start of the protected packet number (Initial, 0-RTT, Handshake)
  size_t packet_len = 0;   // bytes of this packet inside the datagram
  uint32_t anomalies = 0;  // QuicAnomaly bits seen in the clear header
};

// Parses the long header at the start of `datagram` (the rest of a UDP payload).
// kNotApplicable: short header, or a version whose layout we cannot trust (not supported).
// kNeedMore: the input ends inside the header or before `Length` bytes; a UDP datagram is
// complete, so callers count this as a truncated packet. kMalformed: a CID longer than 20, or
// a Length too short to hold a header protection sample (RFC 9001 §5.4.2).
// Version Negotiation (version 0) follows the RFC 8999 invariants and takes the whole datagram.
ParseStatus parse_quic_long_header(Bytes datagram, QuicLongHeader* out) noexcept;

// v1, v2, draft-22..34 and the mvfst versions above: the ones whose Initial salt we know.
bool quic_version_supported(uint32_t version) noexcept;

struct QuicInitialKeys {
  uint8_t key[16];
  uint8_t iv[12];
  uint8_t hp[16];
  uint32_t version;
};

// One per worker thread: holds the OpenSSL contexts, created once and reused, so decrypting a
// packet does not allocate. Not copyable, not thread-safe.
class QuicInitialDecryptor {
 public:
  QuicInitialDecryptor() noexcept;
  ~QuicInitialDecryptor();
  QuicInitialDecryptor(const QuicInitialDecryptor&) = delete;
  QuicInitialDecryptor& operator=(const QuicInitialDecryptor&) = delete;

  // False if the OpenSSL contexts could not be created; every other call then fails.
  [[nodiscard]] bool ok() const noexcept;

  // Client Initial keys from the client's original DCID (RFC 9001 §5.2; v2 salt and labels from
  // RFC 9369 §3.3.1-3.3.2). Not per packet: on OpenSSL 3.0 EVP_KDF HKDF costs ~13 us and a few
  // hundred internal heap allocations, so derive once per new client DCID and keep the keys.
  bool derive(uint32_t version, Bytes original_dcid, QuicInitialKeys* out) noexcept;

  // Removes header protection and decrypts one client Initial packet (the hdr.packet_len bytes
  // at the start of `packet`) into `plain` (capacity >= hdr.packet_len). `plain` receives the
  // unprotected header followed by the plaintext; on kOk *payload views the frames inside it and
  // *packet_number is the truncated packet number (the Initial space starts at 0 and we keep no
  // largest-acknowledged state, so it is taken as is, RFC 9000 §17.1).
  // kNotApplicable: not an Initial. kMalformed: too short for a sample, authentication failure,
  // or `plain` too small. *anomalies (optional) gets kReservedBitsSet: servers close such
  // connections, but we still return the plaintext so a lenient server cannot hide a ClientHello.
  ParseStatus decrypt(Bytes packet, const QuicLongHeader& hdr, const QuicInitialKeys& keys,
                      std::span<uint8_t> plain, Bytes* payload, uint64_t* packet_number,
                      uint32_t* anomalies = nullptr) noexcept;

 private:
  evp_kdf_ctx_st* kdf_ = nullptr;
  evp_cipher_st* gcm_ = nullptr;
  evp_cipher_st* ecb_ = nullptr;
  evp_cipher_ctx_st* aead_ = nullptr;
  evp_cipher_ctx_st* hp_ = nullptr;
  bool ok_ = false;
};

namespace quic_frame {
inline constexpr uint64_t kPadding = 0x00, kPing = 0x01, kAck = 0x02, kAckEcn = 0x03,
                          kCrypto = 0x06, kConnectionClose = 0x1c, kApplicationClose = 0x1d;
}  // namespace quic_frame

namespace quic_detail {
// Bytes a varint of this value takes in its shortest form (RFC 9000 §16).
constexpr size_t quic_varint_min_len(uint64_t v) noexcept {
  return v < (uint64_t{1} << 6) ? 1 : v < (uint64_t{1} << 14) ? 2 : v < (uint64_t{1} << 30) ? 4 : 8;
}
// Skips the body of an ACK frame (RFC 9000 §19.3); false when malformed.
bool skip_quic_ack(ByteReader& r, bool ecn) noexcept;
// Skips the body of a CONNECTION_CLOSE frame (RFC 9000 §19.19); false when malformed.
bool skip_quic_connection_close(ByteReader& r, bool with_frame_type) noexcept;
}  // namespace quic_detail

// Walks the frames of a decrypted Initial payload (RFC 9000 §19), calling
// sink(uint64_t offset, Bytes data) for each CRYPTO frame, in packet order (frames may come in
// any stream order; Chrome scrambles them). Only PADDING, PING, ACK, CRYPTO and
// CONNECTION_CLOSE may appear in an Initial (RFC 9000 §12.4, Table 3); any other frame, a
// truncated frame or an empty payload is kMalformed. Frames seen before an error were already
// delivered. *anomalies (optional) gets kNonMinimalFrameType and kConnectionClose.
// `version` selects the frame types: Google's T050/T051 keep gQUIC's (PADDING 0x00, PING 0x07,
// CRYPTO 0x08 with IETF varints, as Chromium writes them); their other frames end the walk.
template <class Sink>
ParseStatus for_each_quic_crypto_frame(Bytes payload, Sink&& sink, uint32_t* anomalies = nullptr,
                                       uint32_t version = kQuicVersion1) noexcept {
  const bool google = version == kQuicGoogleT050 || version == kQuicGoogleT051;
  ByteReader r(payload);
  if (r.empty()) return ParseStatus::kMalformed;  // RFC 9000 §12.4: at least one frame
  uint32_t seen = 0;
  size_t frames = 0;
  ParseStatus status = ParseStatus::kOk;
  while (!r.empty()) {
    if (++frames > kMaxQuicFramesPerPacket) {
      status = ParseStatus::kMalformed;
      break;
    }
    const size_t type_start = r.offset();
    uint64_t type = r.read_quic_varint();
    if (!r.ok()) {
      status = ParseStatus::kMalformed;
      break;
    }
    if (google) {
      constexpr uint64_t kGooglePing = 0x07, kGoogleCrypto = 0x08;
      if (type == kGoogleCrypto) {
        type = quic_frame::kCrypto;
      } else if (type == kGooglePing) {
        type = quic_frame::kPing;
      } else if (type != quic_frame::kPadding) {
        status = ParseStatus::kMalformed;  // an ACK or STREAM frame in gQUIC's encoding
        break;
      }
    }
    if (r.offset() - type_start != quic_detail::quic_varint_min_len(type)) {
      seen |= quic_anomaly_mask(kNonMinimalFrameTypeBit);
    }
    bool good = true;
    switch (type) {
      case quic_frame::kPadding:
        while (!r.empty() && r.peek_u8() == 0) r.skip(1);  // bounded by the payload length
        break;
      case quic_frame::kPing:
        break;
      case quic_frame::kAck:
      case quic_frame::kAckEcn:
        good = quic_detail::skip_quic_ack(r, type == quic_frame::kAckEcn);
        break;
      case quic_frame::kCrypto: {
        const uint64_t offset = r.read_quic_varint();
        const uint64_t length = r.read_quic_varint();
        good = r.ok() && length <= r.remaining() && offset <= kQuicMaxStreamOffset - length;
        if (good) sink(offset, r.bytes(static_cast<size_t>(length)));
        break;
      }
      case quic_frame::kConnectionClose:
      case quic_frame::kApplicationClose:
        seen |= quic_anomaly_mask(kConnectionCloseBit);
        good = quic_detail::skip_quic_connection_close(r, type == quic_frame::kConnectionClose);
        break;
      default:
        good = false;  // RFC 9000 §12.4: not permitted in an Initial packet
        break;
    }
    if (!good || !r.ok()) {
      status = ParseStatus::kMalformed;
      break;
    }
  }
  if (anomalies != nullptr) *anomalies |= seen;
  return status;
}

// Per-connection reassembly of CRYPTO stream bytes by offset into a fixed buffer (no
// allocation). The first copy of a byte wins, as in most QUIC stacks; a retransmission that
// disagrees is flagged. About 18 KB: keep it in a per-flow slab, not on the stack.
class QuicCryptoAssembler {
 public:
  QuicCryptoAssembler() noexcept = default;
  void reset() noexcept;
  // Stores `data` at stream `offset`; returns QuicAnomaly bits (kCryptoBeyondCap,
  // kCryptoOverlapMismatch).
  uint32_t add(uint64_t offset, Bytes data) noexcept;
  // The bytes from offset 0 up to the first hole.
  [[nodiscard]] Bytes contiguous() const noexcept { return Bytes(data_).first(contiguous_len_); }

 private:
  static constexpr size_t kWordBits = 64;
  [[nodiscard]] bool have(size_t pos) const noexcept {
    return ((have_[pos / kWordBits] >> (pos % kWordBits)) & 1u) != 0;
  }

  uint8_t data_[kMaxQuicCryptoBytes] = {};               // only read where have_ is set
  uint64_t have_[kMaxQuicCryptoBytes / kWordBits] = {};  // bit per byte: received
  size_t contiguous_len_ = 0;
};

}  // namespace muhafiz::parse
