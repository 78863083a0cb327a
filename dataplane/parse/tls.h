// TLS ClientHello decoding: the server name (SNI), first ALPN protocol and ECH presence a
// client sends in the clear, from a TCP byte stream (record layer, gather_tls_handshake) or
// from a QUIC CRYPTO stream (bare handshake messages, RFC 9001 §4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dataplane/parse/byte_reader.h"
#include "dataplane/parse/status.h"

namespace muhafiz::parse {

inline constexpr size_t kTlsRecordHeaderLen = 5;     // RFC 8446 §5.1: type, version, uint16 length
inline constexpr size_t kTlsHandshakeHeaderLen = 4;  // RFC 8446 §4: msg_type, uint24 length
// Handshake records are plaintext and may carry at most 2^14 bytes (RFC 8446 §5.1), but we
// accept up to the largest record any TLS version defines (TLSCiphertext, RFC 5246 §6.2.3) so a
// sloppy client still gets inspected; anything longer is not TLS at all.
inline constexpr size_t kMaxTlsRecordLen = 16384 + 2048;
// Our cap on a ClientHello body (the uint24 length). Chrome's X25519MLKEM768 hello is ~1.8 KB;
// adding ECH, a PSK ticket and a second post-quantum share stays under 8 KB. 2^14, one full
// plaintext record, leaves headroom and bounds per-flow reassembly. Longer: kMalformed.
inline constexpr size_t kMaxClientHelloLen = 16384;
// Scratch that gather_tls_handshake needs for the largest ClientHello it accepts.
inline constexpr size_t kTlsGatherScratchLen = kTlsHandshakeHeaderLen + kMaxClientHelloLen;
// Extensions checked for duplicates per ClientHello. Browsers send ~20 (GREASE included) out
// of ~60 registered types, and duplicates are forbidden (RFC 8446 §4.2), so 128 is generous.
// Past it the walk goes on, flagged kTlsOverLimit, and only the types the parse acts on
// (server_name, ALPN, ECH, pre_shared_key) are still checked for repeats.
inline constexpr size_t kMaxTlsExtensions = 128;
// RFC 6066 §3 allows one name per name_type and only host_name exists; real lists hold one.
inline constexpr size_t kMaxTlsServerNames = 8;
// ALPN protocols walked (RFC 7301 §3.1); browsers offer two or three.
inline constexpr size_t kMaxTlsAlpnProtocols = 64;
// Longest DNS name in text form, without the trailing dot (RFC 1035 §2.3.4: 255 on the wire).
inline constexpr size_t kMaxTlsSniLen = 253;

inline constexpr uint8_t kTlsContentHandshake = 22;  // RFC 8446 §5.1 ContentType
inline constexpr uint8_t kTlsClientHello = 1;        // RFC 8446 §4 HandshakeType

namespace tls_ext {
inline constexpr uint16_t kServerName = 0;                 // RFC 6066 §3
inline constexpr uint16_t kAlpn = 16;                      // RFC 7301 §3.1
inline constexpr uint16_t kPadding = 21;                   // RFC 7685
inline constexpr uint16_t kPreSharedKey = 41;              // RFC 8446 §4.2.11
inline constexpr uint16_t kSupportedVersions = 43;         // RFC 8446 §4.2.1
inline constexpr uint16_t kKeyShare = 51;                  // RFC 8446 §4.2.8
inline constexpr uint16_t kEncryptedClientHello = 0xfe0d;  // draft-ietf-tls-esni §5
}  // namespace tls_ext

// ClientHello anomalies: one X-macro so the flag, its name and its counter come from one place.
// Structural errors a server must answer with decode_error (RFC 8446 §6.2) are kMalformed
// without a bit; the bits mark oddities a lenient server may accept, and the caps we enforce.
// Two structural errors are only flagged: a broken ALPN inside an intact extension, which a
// server that does not parse ALPN never sees (alpn_malformed; the rest of the hello is read),
// and an extension list that breaks after the SNI was read (extensions_broken; the name is
// kept, as Wireshark keeps it).
#define MUHAFIZ_TLS_ANOMALIES(X)                                                               \
  X(kTlsSniMultipleNames, "sni_multiple_names")    /* several names: first host_name used */   \
  X(kTlsSniNonHostName, "sni_non_host_name")       /* name_type other than host_name(0) */     \
  X(kTlsSniEmpty, "sni_empty")                     /* empty server_name list or empty name */  \
  X(kTlsSniInvalid, "sni_invalid")                 /* odd bytes, empty label, over 253 */      \
  X(kTlsDuplicateExtension, "duplicate_extension") /* RFC 8446 §4.2; the first one is used */ \
  X(kTlsTrailingBytes, "trailing_bytes")           /* bytes after the extensions block */      \
  X(kTlsPskNotLast, "psk_not_last")                /* RFC 8446 §4.2.11: must be the last */   \
  X(kTlsUnusualVersion, "unusual_version")         /* legacy_version not 0x0301-0x0303 */      \
  X(kTlsTooLong, "too_long")                       /* over kMaxClientHelloLen: kMalformed */   \
  X(kTlsOverLimit, "over_limit")                   /* a cap; kMalformed unless ALPN, count */  \
  X(kTlsAlpnMalformed, "alpn_malformed")           /* ALPN broken or over cap: ignored */      \
  X(kTlsExtensionsBroken, "extensions_broken")     /* list breaks after the SNI: name kept */

enum class TlsAnomalyIndex : uint8_t {
#define MUHAFIZ_X(name, text) name,
  MUHAFIZ_TLS_ANOMALIES(MUHAFIZ_X)
#undef MUHAFIZ_X
      kCount
};
inline constexpr size_t kTlsAnomalyCount = static_cast<size_t>(TlsAnomalyIndex::kCount);
static_assert(kTlsAnomalyCount <= 32, "ClientHello::anomalies is 32 bits");

// Bit values, so `hello.anomalies & kTlsSniEmpty` reads naturally.
enum TlsAnomaly : uint32_t {
#define MUHAFIZ_X(name, text) name = 1u << static_cast<uint32_t>(TlsAnomalyIndex::name),
  MUHAFIZ_TLS_ANOMALIES(MUHAFIZ_X)
#undef MUHAFIZ_X
};

// Every anomaly once, in declaration order (for summaries and per-reason counters).
inline constexpr TlsAnomaly kTlsAnomalies[] = {
#define MUHAFIZ_X(name, text) name,
    MUHAFIZ_TLS_ANOMALIES(MUHAFIZ_X)
#undef MUHAFIZ_X
};

// Name of one anomaly bit; "unknown" for zero or a combination of bits.
constexpr std::string_view to_string(TlsAnomaly a) noexcept {
  switch (a) {
#define MUHAFIZ_X(name, text) \
  case name:                  \
    return text;
    MUHAFIZ_TLS_ANOMALIES(MUHAFIZ_X)
#undef MUHAFIZ_X
  }
  return "unknown";
}

struct ClientHello {
  uint16_t legacy_version = 0;
  std::string_view sni;  // first non-empty host_name of server_name, as sent (case kept)
  bool has_sni = false;
  // encrypted_client_hello present: the SNI is then the outer (public) name. Chrome sends a
  // GREASE ECH extension without any ECH config (draft-ietf-tls-esni §6.2), so this alone does
  // not prove the SNI is a cover name.
  bool has_ech = false;
  std::string_view alpn_first;  // first protocol of ALPN, empty when absent
  uint16_t extension_count = 0;
  uint32_t anomalies = 0;  // TlsAnomaly bits
  bool has(TlsAnomaly a) const noexcept { return (anomalies & a) != 0; }
};

// `msg` starts at the handshake header (msg_type 1, uint24 length) and holds at least the whole
// message; bytes after it are ignored. QUIC CRYPTO streams give exactly this form.
// kNotApplicable: msg_type is not ClientHello. kNeedMore: `msg` ends before the message does.
// kMalformed: a length or field is invalid, or a cap is exceeded (see the anomaly bits), except
// a broken or over-cap ALPN (kOk, alpn_malformed) and an extension list that breaks after the
// SNI (kOk, extensions_broken).
// A ClientHello without extensions (SSL 3.0, RFC 6101 §5.6.1.2) is valid, with has_sni false.
ParseStatus parse_client_hello(Bytes msg, ClientHello* out) noexcept;

// TLS over TCP: `stream` is the client's byte stream from a record boundary. Walks records of
// content type 22, concatenating their fragments (a ClientHello may span several records,
// RFC 8446 §5.1) into `scratch` until the first handshake message is complete.
// kOk: *msg is that message (a view into `stream` when one record held it whole, else into
// `scratch`), *consumed the bytes of the records used (the last one whole).
// kNeedMore: more stream bytes are needed. kNotApplicable: the stream does not start with a
// handshake record carrying a ClientHello (ServerHello, application data, SSLv2, not TLS).
// kMalformed: bad record length or version, another record type interleaved, or a message over
// kMaxClientHelloLen or `scratch` (size it kTlsGatherScratchLen); with `too_long`, *too_long
// says whether it was the message's declared length (wherever its header fell among records).
ParseStatus gather_tls_handshake(Bytes stream, std::span<uint8_t> scratch, Bytes* msg,
                                 size_t* consumed, bool* too_long = nullptr) noexcept;

// Cheap test for starting reassembly on a flow: record type 22, version 0x03 0x??, and,
// when visible, a plausible record length and msg_type 1. False with fewer than 3 bytes.
bool looks_like_tls_client_hello(Bytes stream_start) noexcept;

}  // namespace muhafiz::parse
