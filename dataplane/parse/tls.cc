#include "dataplane/parse/tls.h"

#include <algorithm>
#include <array>

namespace muhafiz::parse {
namespace {

constexpr size_t kTlsRandomLen = 32;        // RFC 8446 §4.1.2
constexpr size_t kMaxTlsSessionIdLen = 32;  // RFC 8446 §4.1.2 legacy_session_id<0..32>
constexpr uint8_t kTlsMajorVersion = 3;     // SSL 3.0 (RFC 6101) through TLS 1.3 all use 3.x
constexpr uint16_t kTlsVersion10 = 0x0301;
constexpr uint16_t kTlsVersion12 = 0x0303;
constexpr uint8_t kSniHostName = 0;  // RFC 6066 §3 NameType host_name
// Each record carries at least one byte of the message (RFC 8446 §5.1 forbids zero-length
// handshake fragments), so this many records always complete any message we accept.
constexpr size_t kMaxHandshakeRecords = kTlsGatherScratchLen;

// What a host_name byte is: 0 not allowed, 1 a label byte, 2 a dot. '_' is allowed as DNS names
// carry it (RFC 8552).
constexpr std::array<uint8_t, 256> kSniByteClass = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool label = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_';
    t[static_cast<size_t>(c)] = label ? 1 : c == '.' ? 2 : 0;
  }
  return t;
}();

// RFC 6066 §3: a DNS host name, no trailing dot, no empty label. Without a branch per byte: a
// name's dots sit at varying places, so a branch on them mispredicts at nearly every label.
bool is_valid_sni(Bytes name) noexcept {
  if (name.size() > kMaxTlsSniLen) return false;
  unsigned bad = 0;
  unsigned after_dot = 1;  // the start counts as a dot: a leading dot is an empty label
  for (const uint8_t c : name) {
    const unsigned cls = kSniByteClass[c];
    const unsigned dot = cls >> 1;
    bad |= static_cast<unsigned>(cls == 0) | (dot & after_dot);
    after_dot = dot;
  }
  return (bad | after_dot) == 0;  // and not empty, nor ending in a dot
}

// server_name extension body (RFC 6066 §3): ServerNameList<1..2^16-1> of
// {NameType name_type; opaque HostName<1..2^16-1>}. Other name types are assumed to carry the
// same 16-bit length, as RFC 6066 §3 notes earlier implementations did.
ParseStatus parse_server_name(ByteReader e, ClientHello* out) noexcept {
  if (e.empty()) {
    out->anomalies |= kTlsSniEmpty;
    return ParseStatus::kOk;
  }
  const uint16_t list_len = e.read_u16be();
  if (!e.ok() || list_len != e.remaining()) return ParseStatus::kMalformed;
  if (list_len == 0) out->anomalies |= kTlsSniEmpty;
  size_t names = 0;
  while (!e.empty()) {
    if (++names > kMaxTlsServerNames) {
      out->anomalies |= kTlsOverLimit | kTlsSniMultipleNames;
      return ParseStatus::kMalformed;
    }
    const uint8_t type = e.read_u8();
    const uint16_t len = e.read_u16be();
    const Bytes name = e.bytes(len);
    if (!e.ok()) return ParseStatus::kMalformed;
    if (type != kSniHostName) {
      out->anomalies |= kTlsSniNonHostName;
    } else if (len == 0) {
      out->anomalies |= kTlsSniEmpty;
    } else if (!out->has_sni) {
      out->has_sni = true;
      out->sni = as_chars(name);
      if (!is_valid_sni(name)) out->anomalies |= kTlsSniInvalid;
    }
  }
  if (names > 1) out->anomalies |= kTlsSniMultipleNames;
  return ParseStatus::kOk;
}

// ALPN extension body (RFC 7301 §3.1): ProtocolNameList<2..2^16-1> of ProtocolName<1..2^8-1>.
ParseStatus parse_alpn(ByteReader e, ClientHello* out) noexcept {
  const uint16_t list_len = e.read_u16be();
  if (!e.ok() || list_len == 0 || list_len != e.remaining()) return ParseStatus::kMalformed;
  size_t protocols = 0;
  while (!e.empty()) {
    if (++protocols > kMaxTlsAlpnProtocols) {
      out->anomalies |= kTlsOverLimit;
      return ParseStatus::kMalformed;
    }
    const uint8_t len = e.read_u8();
    const Bytes name = e.bytes(len);
    if (!e.ok() || len == 0) return ParseStatus::kMalformed;  // RFC 7301 §3.1: no empty names
    if (protocols == 1) out->alpn_first = as_chars(name);
  }
  return ParseStatus::kOk;
}

// A bit for each extension type parse_extensions acts on, 0 for the others.
constexpr unsigned acted_bit(uint16_t type) noexcept {
  switch (type) {
    case tls_ext::kServerName:
      return 1;
    case tls_ext::kAlpn:
      return 2;
    case tls_ext::kEncryptedClientHello:
      return 4;
    case tls_ext::kPreSharedKey:
      return 8;
    default:
      return 0;
  }
}

// Walks the extensions block (RFC 8446 §4.2), which `e` spans exactly. A browser's hello carries
// 15-20 extensions and nearly all are skipped: each costs one bounds check on a raw cursor here
// (through ByteReader it cost ~78 instructions an extension by callgrind, most of them checks).
ParseStatus parse_extensions(ByteReader e, ClientHello* out) noexcept {
  const Bytes block = e.rest();
  const uint8_t* p = block.data();
  const uint8_t* const end = p + block.size();
  // The first kMaxTlsExtensions types, for the duplicate check; later ones are not kept.
  uint16_t seen[kMaxTlsExtensions];
  size_t count = 0;
  // A 128-bit summary of the types seen, so a type whose bit is clear (nearly every one in a
  // real hello) skips the scan of `seen`: the scan made duplicate detection quadratic, ~600
  // instructions for a browser's 16-20 extensions by callgrind. Two words in registers, picked
  // without a branch: an array indexed by the type kept each extension waiting on the store of
  // the one before.
  uint64_t seen_lo = 0, seen_hi = 0;
  unsigned acted = 0;  // acted_bit() of the types the switch below reads, once seen
  bool after_psk = false;
  // The list breaks: an extension header cut short, or an extension's data past the block. A
  // server answers that with decode_error, so no connection follows; but a name read before the
  // break is kept, flagged, as Wireshark reports it (blocking a hello that fails anyway costs
  // nothing, and fuzzed or cut hellos in captures still name their server).
  const auto broken = [out, &count]() noexcept {
    if (count > kMaxTlsExtensions) out->anomalies |= kTlsOverLimit;
    if (!out->has_sni) return ParseStatus::kMalformed;
    out->anomalies |= kTlsExtensionsBroken;
    out->extension_count = static_cast<uint16_t>(count);
    return ParseStatus::kOk;
  };
  // Past kMaxTlsExtensions the walk goes on (the block's length bounds it), flagged: refusing
  // the hello would let a client hide its name behind a run of unknown extensions that a
  // server simply ignores.
  while (p != end) {
    if (end - p < 4) return broken();  // extension_type, extension_data length
    const auto type = static_cast<uint16_t>((p[0] << 8) | p[1]);
    const size_t len = (size_t{p[2]} << 8) | p[3];
    p += 4;
    if (static_cast<size_t>(end - p) < len) return broken();
    const ByteReader body(p, len);
    p += len;

    if (after_psk) out->anomalies |= kTlsPskNotLast;
    const unsigned bit = static_cast<uint16_t>(type * 40503u) >> 9;  // 2^16 / golden ratio, odd
    const uint64_t mask = uint64_t{1} << (bit & 63);
    const bool upper = (bit & 64) != 0;
    bool duplicate = false;
    if (((upper ? seen_hi : seen_lo) & mask) != 0) {
      if (count < kMaxTlsExtensions) [[likely]] {
        const std::span<const uint16_t> earlier(seen, count);
        duplicate = std::ranges::find(earlier, type) != earlier.end();
      } else {
        // Past the cap the summary is full and a scan per extension would make a hello of
        // thousands of tiny extensions cost ~500k compares: only the types acted on below
        // are checked, through `acted`.
        duplicate = (acted & acted_bit(type)) != 0;
      }
    }
    seen_lo |= upper ? 0 : mask;
    seen_hi |= upper ? mask : 0;
    if (count < kMaxTlsExtensions) [[likely]]
      seen[count] = type;
    ++count;
    if (duplicate) {
      out->anomalies |= kTlsDuplicateExtension;
      continue;  // keep what the first copy said
    }
    acted |= acted_bit(type);
    ParseStatus st = ParseStatus::kOk;
    switch (type) {
      case tls_ext::kServerName:
        st = parse_server_name(body, out);
        break;
      case tls_ext::kAlpn:
        // Its own lengths broken (or past our cap) while the extension's framing holds: the
        // walk goes on, so the SNI is still read, as a server that never parses ALPN would
        // read it. Rejecting the hello would let a broken ALPN hide any name from the filter.
        if (parse_alpn(body, out) != ParseStatus::kOk) {
          out->anomalies |= kTlsAlpnMalformed;
          out->alpn_first = {};
        }
        break;
      case tls_ext::kEncryptedClientHello:
        out->has_ech = true;
        break;
      case tls_ext::kPreSharedKey:
        after_psk = true;
        break;
      default:
        break;
    }
    if (st != ParseStatus::kOk) {
      if (count > kMaxTlsExtensions) out->anomalies |= kTlsOverLimit;
      return st;
    }
  }
  if (count > kMaxTlsExtensions) [[unlikely]]
    out->anomalies |= kTlsOverLimit;
  out->extension_count = static_cast<uint16_t>(count);
  return ParseStatus::kOk;
}

}  // namespace

ParseStatus parse_client_hello(Bytes msg, ClientHello* out) noexcept {
  *out = ClientHello{};
  ByteReader in(msg);
  if (in.empty()) return ParseStatus::kNeedMore;
  if (in.read_u8() != kTlsClientHello) return ParseStatus::kNotApplicable;
  const uint32_t len = in.read_u24be();
  if (!in.ok()) return ParseStatus::kNeedMore;
  if (len > kMaxClientHelloLen) {
    out->anomalies |= kTlsTooLong;
    return ParseStatus::kMalformed;
  }
  if (!in.has(len)) return ParseStatus::kNeedMore;
  ByteReader body = in.sub(len);

  // RFC 8446 §4.1.2 ClientHello.
  out->legacy_version = body.read_u16be();
  body.skip(kTlsRandomLen);
  const uint8_t session_id_len = body.read_u8();
  if (session_id_len > kMaxTlsSessionIdLen) return ParseStatus::kMalformed;
  body.skip(session_id_len);
  const uint16_t suites_len = body.read_u16be();
  if (suites_len < 2 || suites_len % 2 != 0) return ParseStatus::kMalformed;  // <2..2^16-2>
  body.skip(suites_len);
  const uint8_t compression_len = body.read_u8();
  if (compression_len == 0) return ParseStatus::kMalformed;  // <1..2^8-1>
  body.skip(compression_len);
  if (!body.ok()) return ParseStatus::kMalformed;
  if ((out->legacy_version >> 8) != kTlsMajorVersion) return ParseStatus::kMalformed;
  if (out->legacy_version < kTlsVersion10 || out->legacy_version > kTlsVersion12) {
    out->anomalies |= kTlsUnusualVersion;
  }

  // Extensions are optional before TLS 1.3 (RFC 5246 §7.4.1.2); SSL 3.0 has none.
  if (body.empty()) return ParseStatus::kOk;
  const uint16_t ext_len = body.read_u16be();
  ByteReader exts = body.sub(ext_len);
  if (!body.ok()) return ParseStatus::kMalformed;
  if (!body.empty()) out->anomalies |= kTlsTrailingBytes;
  return parse_extensions(exts, out);
}

ParseStatus gather_tls_handshake(Bytes stream, std::span<uint8_t> scratch, Bytes* msg,
                                 size_t* consumed, bool* too_long) noexcept {
  *msg = {};
  *consumed = 0;
  if (too_long != nullptr) *too_long = false;
  const auto over_cap = [too_long]() noexcept {
    if (too_long != nullptr) *too_long = true;
    return ParseStatus::kMalformed;
  };
  ByteReader in(stream);
  size_t filled = 0;  // message bytes copied into scratch
  size_t total = 0;   // whole message length once its header is known; 0 before
  for (size_t record = 0; record < kMaxHandshakeRecords; ++record) {
    if (record == 0) {
      // Decide "not a ClientHello" from whatever is visible, before waiting for more.
      if (in.has(1) && in.peek_u8() != kTlsContentHandshake) return ParseStatus::kNotApplicable;
      if (in.has(2) && in.peek_u8(1) != kTlsMajorVersion) return ParseStatus::kNotApplicable;
    }
    if (!in.has(kTlsRecordHeaderLen)) return ParseStatus::kNeedMore;
    const uint8_t type = in.read_u8();
    const uint8_t major = in.read_u8();
    in.skip(1);  // the minor version: see below
    const uint16_t len = in.read_u16be();
    // RFC 8446 §5.1: handshake messages must not be interleaved with other record types.
    if (type != kTlsContentHandshake) return ParseStatus::kMalformed;
    // Only the major version: servers check no more before a version is agreed (RFC 8446
    // §5.1 has legacy_record_version ignored; OpenSSL and BoringSSL test the major alone), so
    // a hello in records of version 3.5 or 3.255 is still read by them, and so by us.
    if (major != kTlsMajorVersion) return ParseStatus::kMalformed;
    if (len == 0 || len > kMaxTlsRecordLen) return ParseStatus::kMalformed;
    if (record == 0 && in.has(1) && in.peek_u8() != kTlsClientHello) {
      return ParseStatus::kNotApplicable;  // a ServerHello, or another first message
    }
    // The message's length, once its header is in view in the first record: a hello over the
    // cap is refused now, not after waiting for up to a whole record of it.
    if (record == 0 && len >= kTlsHandshakeHeaderLen && in.has(kTlsHandshakeHeaderLen)) {
      const uint32_t declared =
          (uint32_t{in.peek_u8(1)} << 16) | (uint32_t{in.peek_u8(2)} << 8) | in.peek_u8(3);
      if (declared > kMaxClientHelloLen) return over_cap();
    }
    if (!in.has(len)) return ParseStatus::kNeedMore;
    ByteReader frag = in.sub(len);

    if (record == 0 && frag.has(kTlsHandshakeHeaderLen)) {
      ByteReader h = frag;
      h.skip(1);
      const uint32_t body_len = h.read_u24be();
      if (body_len > kMaxClientHelloLen) return over_cap();
      if (frag.has(kTlsHandshakeHeaderLen + body_len)) {  // common case: no copy
        *msg = frag.bytes(kTlsHandshakeHeaderLen + body_len);
        *consumed = in.offset();
        return ParseStatus::kOk;
      }
    }
    // At most two rounds per fragment: finish the header, then the body.
    while (!frag.empty()) {
      const size_t want = total != 0 ? total - filled : kTlsHandshakeHeaderLen - filled;
      const size_t n = std::min(want, frag.remaining());
      if (n > scratch.size() - filled) return ParseStatus::kMalformed;
      const Bytes piece = frag.bytes(n);
      std::copy(piece.begin(), piece.end(), scratch.subspan(filled).begin());
      filled += n;
      if (total == 0 && filled == kTlsHandshakeHeaderLen) {
        ByteReader h(Bytes(scratch.first(kTlsHandshakeHeaderLen)));
        h.skip(1);
        const uint32_t body_len = h.read_u24be();
        if (body_len > kMaxClientHelloLen) return over_cap();
        total = kTlsHandshakeHeaderLen + body_len;
        if (total > scratch.size()) return ParseStatus::kMalformed;
      }
      if (total != 0 && filled == total) {
        *msg = Bytes(scratch.first(total));
        *consumed = in.offset();
        return ParseStatus::kOk;
      }
    }
  }
  return ParseStatus::kMalformed;  // unreachable: every record adds at least one byte
}

bool looks_like_tls_client_hello(Bytes stream_start) noexcept {
  ByteReader r(stream_start);
  if (!r.has(3)) return false;
  if (r.read_u8() != kTlsContentHandshake) return false;
  if (r.read_u8() != kTlsMajorVersion) return false;
  r.skip(1);  // any minor: see gather_tls_handshake
  if (!r.has(2)) return true;
  const uint16_t len = r.read_u16be();
  if (len == 0 || len > kMaxTlsRecordLen) return false;
  return r.empty() || r.read_u8() == kTlsClientHello;
}

}  // namespace muhafiz::parse
