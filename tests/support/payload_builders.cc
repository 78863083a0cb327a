// Application payloads: DNS messages, TLS ClientHello and records, HTTP request text.
#include <map>
#include <stdexcept>
#include <utility>

#include "tests/support/packet_builder.h"

namespace muhafiz::testing {

// ---------------------------------------------------------------------------------------
// DNS

namespace {

std::vector<std::string> split_labels(std::string_view name) {
  std::vector<std::string> labels;
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  while (!name.empty()) {
    const size_t dot = name.find('.');
    const std::string_view label = name.substr(0, dot);
    if (label.empty() || label.size() > 63) throw std::invalid_argument("dns: empty label or label over 63 bytes");
    labels.emplace_back(label);
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  return labels;
}

// Writes `name` at the end of `msg`; with `suffixes`, reuses any suffix already written
// via a pointer (RFC 1035 §4.1.4) and records the new ones.
void append_dns_name(ByteVector& msg, std::string_view name, std::map<std::string, size_t>* suffixes) {
  const std::vector<std::string> labels = split_labels(name);
  for (size_t i = 0; i < labels.size(); ++i) {
    std::string suffix;
    for (size_t j = i; j < labels.size(); ++j) suffix += labels[j] + (j + 1 < labels.size() ? "." : "");
    if (suffixes != nullptr) {
      if (auto it = suffixes->find(suffix); it != suffixes->end()) {
        append_u16be(msg, static_cast<uint16_t>(0xc000 | it->second));
        return;
      }
      if (msg.size() < 0x3fff) suffixes->emplace(suffix, msg.size());
    }
    append_u8(msg, static_cast<uint8_t>(labels[i].size()));
    append(msg, labels[i]);
  }
  append_u8(msg, 0);
}

}  // namespace

ByteVector dns_query(uint16_t id, std::span<const DnsQuestion> questions, DnsQueryOptions options) {
  ByteVector msg;
  append_u16be(msg, id);
  append_u16be(msg, options.recursion_desired ? 0x0100 : 0x0000);  // QR=0, opcode QUERY
  append_u16be(msg, static_cast<uint16_t>(questions.size()));
  append_u16be(msg, 0);                                 // ANCOUNT
  append_u16be(msg, 0);                                 // NSCOUNT
  append_u16be(msg, options.edns_udp_size != 0 ? 1 : 0);  // ARCOUNT
  std::map<std::string, size_t> suffixes;
  for (const DnsQuestion& q : questions) {
    append_dns_name(msg, q.name, options.compress ? &suffixes : nullptr);
    append_u16be(msg, q.qtype);
    append_u16be(msg, q.qclass);
  }
  if (options.edns_udp_size != 0) {
    append_u8(msg, 0);  // root owner
    append_u16be(msg, kDnsTypeOpt);
    append_u16be(msg, options.edns_udp_size);  // CLASS holds the requester's UDP payload size
    append_u32be(msg, 0);                      // extended RCODE, version 0, no DO
    if (options.edns_padding == 0) {
      append_u16be(msg, 0);  // RDLENGTH
    } else {
      append_u16be(msg, static_cast<uint16_t>(4 + options.edns_padding));
      append_u16be(msg, 12);  // OPTION-CODE Padding
      append_u16be(msg, options.edns_padding);
      msg.insert(msg.end(), options.edns_padding, 0);
    }
  }
  return msg;
}

ByteVector dns_query(uint16_t id, std::string_view name, uint16_t qtype) {
  const DnsQuestion q{std::string(name), qtype, 1};
  return dns_query(id, std::span<const DnsQuestion>(&q, 1));
}

ByteVector dns_response(uint16_t id, std::string_view name, std::string_view address) {
  const IpAddr addr = ip_address(address);
  ByteVector msg;
  append_u16be(msg, id);
  append_u16be(msg, 0x8180);  // QR, RD, RA, NOERROR
  append_u16be(msg, 1);
  append_u16be(msg, 1);
  append_u16be(msg, 0);
  append_u16be(msg, 0);
  append_dns_name(msg, name, nullptr);
  const uint16_t type = addr.v6 ? kDnsTypeAaaa : kDnsTypeA;
  append_u16be(msg, type);
  append_u16be(msg, 1);
  append_u16be(msg, 0xc00c);  // pointer to the question name at offset 12
  append_u16be(msg, type);
  append_u16be(msg, 1);
  append_u32be(msg, 300);
  append_u16be(msg, addr.v6 ? 16 : 4);
  append(msg, ByteView(addr.bytes.data(), addr.v6 ? 16 : 4));
  return msg;
}

ByteVector dns_tcp_frame(ByteView message) {
  if (message.size() > 0xffff) throw std::length_error("dns_tcp_frame: message over 65535 bytes");
  ByteVector out;
  append_u16be(out, static_cast<uint16_t>(message.size()));
  append(out, message);
  return out;
}

// ---------------------------------------------------------------------------------------
// TLS

namespace {

// RFC 8701 §2: 0x0A0A, 0x1A1A, ... 0xFAFA.
uint16_t grease_value(uint64_t seed, unsigned slot) {
  const auto nibble = static_cast<uint16_t>((seed + slot * 5u) % 16);
  return static_cast<uint16_t>(0x0a0a | nibble << 12 | nibble << 4);
}

void append_u8_prefixed(ByteVector& out, ByteView body) {
  if (body.size() > 0xff) throw std::length_error("tls: u8-prefixed vector over 255 bytes");
  append_u8(out, static_cast<uint8_t>(body.size()));
  append(out, body);
}

void append_u16_prefixed(ByteVector& out, ByteView body) {
  if (body.size() > 0xffff) throw std::length_error("tls: u16-prefixed vector over 65535 bytes");
  append_u16be(out, static_cast<uint16_t>(body.size()));
  append(out, body);
}

void append_extension(ByteVector& out, uint16_t type, ByteView body) {
  append_u16be(out, type);
  append_u16_prefixed(out, body);
}

void append_transport_parameter(ByteVector& out, uint64_t id, ByteView value) {
  append_quic_varint(out, id);
  append_quic_varint(out, value.size());
  append(out, value);
}

ByteVector varint_bytes(uint64_t v) {
  ByteVector out;
  append_quic_varint(out, v);
  return out;
}

}  // namespace

ByteVector client_hello(const ClientHelloSpec& spec) {
  const uint64_t seed = spec.seed;
  ByteVector body;
  append_u16be(body, 0x0303);  // legacy_version TLS 1.2
  append(body, pseudo_random_bytes(32, seed));
  // RFC 9001 §8.4: QUIC clients send an empty legacy_session_id; TCP clients a 32-byte one
  // for middlebox compatibility (RFC 8446 Appendix D.4).
  append_u8_prefixed(body, spec.quic ? ByteVector{} : pseudo_random_bytes(32, seed + 1));

  ByteVector suites;
  if (spec.grease) append_u16be(suites, grease_value(seed, 0));
  static constexpr uint16_t kTls13Suites[] = {0x1301, 0x1302, 0x1303};
  static constexpr uint16_t kTls12Suites[] = {0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
                                              0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
  for (uint16_t s : kTls13Suites) append_u16be(suites, s);
  if (!spec.quic) {
    for (uint16_t s : kTls12Suites) append_u16be(suites, s);
  }
  append_u16_prefixed(body, suites);
  append_u8_prefixed(body, ByteVector{0x00});  // null compression only

  ByteVector ext;
  if (spec.grease) append_extension(ext, grease_value(seed, 1), {});
  if (!spec.sni.empty()) {
    ByteVector entry;
    append_u8(entry, 0);  // host_name (RFC 6066 §3)
    ByteVector name = to_bytes(spec.sni);
    append_u16_prefixed(entry, name);
    ByteVector list;
    append_u16_prefixed(list, entry);
    append_extension(ext, 0x0000, list);
  }
  append_extension(ext, 0x0017, {});  // extended_master_secret
  if (!spec.quic) append_extension(ext, 0xff01, ByteVector{0x00});  // renegotiation_info, empty
  {
    ByteVector groups;
    if (spec.grease) append_u16be(groups, grease_value(seed, 2));
    if (spec.post_quantum) append_u16be(groups, kTlsGroupX25519MlKem768);
    static constexpr uint16_t kClassicGroups[] = {kTlsGroupX25519, 0x0017, 0x0018};  // x25519, P-256, P-384
    for (uint16_t g : kClassicGroups) append_u16be(groups, g);
    ByteVector list;
    append_u16_prefixed(list, groups);
    append_extension(ext, 0x000a, list);  // supported_groups
  }
  if (!spec.quic) {
    append_extension(ext, 0x000b, ByteVector{0x01, 0x00});  // ec_point_formats: uncompressed
    append_extension(ext, 0x0023, {});                  // session_ticket
  }
  if (!spec.alpn.empty()) {
    ByteVector names;
    for (const std::string& p : spec.alpn) append_u8_prefixed(names, to_bytes(p));
    ByteVector list;
    append_u16_prefixed(list, names);
    append_extension(ext, 0x0010, list);
  }
  append_extension(ext, 0x0005, ByteVector{0x01, 0x00, 0x00, 0x00, 0x00});  // status_request: OCSP
  {
    ByteVector algs;
    static constexpr uint16_t kAlgorithms[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
    for (uint16_t a : kAlgorithms) append_u16be(algs, a);
    ByteVector list;
    append_u16_prefixed(list, algs);
    append_extension(ext, 0x000d, list);  // signature_algorithms
  }
  append_extension(ext, 0x0012, {});  // signed_certificate_timestamp
  {
    ByteVector shares;
    if (spec.grease) {
      append_u16be(shares, grease_value(seed, 2));
      append_u16_prefixed(shares, ByteVector{0x00});
    }
    if (spec.post_quantum) {
      append_u16be(shares, kTlsGroupX25519MlKem768);
      append_u16_prefixed(shares, pseudo_random_bytes(kX25519MlKem768ShareLen, seed + 2));
    }
    append_u16be(shares, kTlsGroupX25519);
    append_u16_prefixed(shares, pseudo_random_bytes(32, seed + 3));
    ByteVector list;
    append_u16_prefixed(list, shares);
    append_extension(ext, 0x0033, list);  // key_share
  }
  append_extension(ext, 0x002d, ByteVector{0x01, 0x01});  // psk_key_exchange_modes: psk_dhe_ke
  {
    ByteVector versions;
    if (spec.grease) append_u16be(versions, grease_value(seed, 3));
    append_u16be(versions, 0x0304);
    if (!spec.quic) append_u16be(versions, 0x0303);
    ByteVector list;
    append_u8_prefixed(list, versions);
    append_extension(ext, 0x002b, list);  // supported_versions
  }
  append_extension(ext, 0x001b, ByteVector{0x02, 0x00, 0x02});  // compress_certificate: brotli
  if (spec.ech) {
    // ECHClientHello, outer variant (draft-ietf-tls-esni §5): the real name is in the
    // encrypted payload; only the outer SNI is visible.
    ByteVector ech;
    append_u8(ech, 0);         // outer
    append_u16be(ech, 0x0001);  // HKDF-SHA256
    append_u16be(ech, 0x0001);  // AES-128-GCM
    append_u8(ech, 0x2a);      // config_id
    append_u16_prefixed(ech, pseudo_random_bytes(32, seed + 4));   // enc: X25519 HPKE share
    append_u16_prefixed(ech, pseudo_random_bytes(208, seed + 5));  // payload
    append_extension(ext, kTlsExtEch, ech);
  }
  if (spec.quic) {
    ByteVector params;
    append_transport_parameter(params, 0x01, varint_bytes(30000));  // max_idle_timeout ms
    append_transport_parameter(params, 0x03, varint_bytes(1472));   // max_udp_payload_size
    append_transport_parameter(params, 0x04, varint_bytes(15728640));  // initial_max_data
    append_transport_parameter(params, 0x08, varint_bytes(100));    // initial_max_streams_bidi
    append_transport_parameter(params, 0x0f, pseudo_random_bytes(8, seed + 6));  // initial_source_connection_id
    append_extension(ext, kTlsExtQuicTransportParams, params);
  }
  if (spec.grease) append_extension(ext, grease_value(seed, 4), ByteVector{0x00});
  // Handshake header (4) + body so far + extensions length (2) + padding header (4).
  const size_t unpadded = 4 + body.size() + 2 + ext.size() + 4;
  if (spec.pad_to > unpadded) append_extension(ext, 0x0015, ByteVector(spec.pad_to - unpadded, 0));
  append_u16_prefixed(body, ext);

  ByteVector msg;
  append_u8(msg, 1);  // client_hello
  append_u24be(msg, static_cast<uint32_t>(body.size()));
  append(msg, body);
  return msg;
}

ByteVector tls_records(ByteView handshake, std::span<const size_t> record_starts) {
  ByteVector out;
  for (const ByteVector& fragment : split_at(handshake, record_starts)) {
    if (fragment.size() > 16384) throw std::length_error("tls_records: fragment over 2^14 (RFC 8446 §5.1)");
    append_u8(out, 22);         // handshake
    append_u16be(out, 0x0301);  // legacy_record_version of a first ClientHello
    append_u16_prefixed(out, fragment);
  }
  return out;
}

ByteVector tls_application_data(size_t length, uint64_t seed) {
  ByteVector out;
  append_u8(out, 23);
  append_u16be(out, 0x0303);
  append_u16_prefixed(out, pseudo_random_bytes(length, seed));
  return out;
}

// ---------------------------------------------------------------------------------------
// HTTP

std::string http_request(std::string_view method, std::string_view target, std::string_view host,
                         std::span<const HttpHeader> headers) {
  std::string out;
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  if (!host.empty()) out.append("Host: ").append(host).append("\r\n");
  for (const HttpHeader& h : headers) out.append(h.name).append(": ").append(h.value).append("\r\n");
  out.append("\r\n");
  return out;
}

}  // namespace muhafiz::testing
