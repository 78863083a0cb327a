#include "dataplane/extract/extractor.h"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>

#include "dataplane/parse/http.h"
#include "rules/match/ascii_word.h"
#include "rules/match/prefetch.h"

namespace muhafiz::extract {

using flow::StreamApp;
using flow::TcpDirection;
using flow::TcpStream;
using parse::Bytes;
using parse::ParseStatus;

namespace {

constexpr uint16_t kDnsPort = 53;         // RFC 1035 §4.2
constexpr uint16_t kMdnsPort = 5353;      // RFC 6762: same message format
constexpr uint16_t kLlmnrPort = 5355;     // RFC 4795: same message format
constexpr uint16_t kSsdpPort = 1900;      // UPnP SSDP: HTTP requests over UDP
constexpr uint16_t kNetbiosNsPort = 137;  // RFC 1002: DNS-shaped, but NetBIOS names
constexpr uint16_t kNetbiosDgmPort = 138;

constexpr bool is_dns_port(uint16_t p) noexcept {
  return p == kDnsPort || p == kMdnsPort || p == kLlmnrPort;
}

// DNS queries also travel on other ports (DNSCrypt certificate queries on 443, resolvers on
// odd ports to dodge port-53 filtering). Off the DNS ports we only take a datagram whose header
// is that of a plain query: QR 0, opcode QUERY, 1..kMaxDnsQuestions questions, no answer or
// authority records, at most one additional record (EDNS OPT). Random payloads match these 8
// fixed bytes with a probability far below one in 2^48.
bool looks_like_dns_query(Bytes payload) noexcept {
  parse::ByteReader r(payload);
  r.skip(2);  // ID
  const uint16_t flags = r.read_u16be();
  const uint16_t qd = r.read_u16be();
  const uint16_t an = r.read_u16be();
  const uint16_t ns = r.read_u16be();
  const uint16_t ar = r.read_u16be();
  return r.ok() && (flags & 0xf800) == 0 && qd >= 1 && qd <= parse::kMaxDnsQuestions && an == 0 &&
         ns == 0 && ar <= 1 && !r.empty();
}

// At a point where we do not know the stream (the first segment we see, or after a gap) we
// only start reading HTTP on a method a client really sends: a resync in the middle of a
// request ("T /path HTTP/1.1" after a lost "GE") must not invent a request.
bool starts_with_known_method(Bytes data) noexcept {
  constexpr std::string_view kMethods[] = {
      "GET ",        "POST ",  "HEAD ",      "PUT ",         "DELETE ",          "OPTIONS ",
      "CONNECT ",    "PATCH ", "TRACE ",     "PROPFIND ",    "PROPPATCH ",       "MKCOL ",
      "COPY ",       "MOVE ",  "LOCK ",      "UNLOCK ",      "SEARCH ",          "REPORT ",
      "MKCALENDAR ", "ACL ",   "SUBSCRIBE ", "UNSUBSCRIBE ", "NOTIFY ",          "M-SEARCH ",
      "PURGE ",      "LINK ",  "UNLINK ",    "BIND ",        "VERSION-CONTROL ", "CHECKOUT ",
      "MERGE "};
  const std::string_view text = parse::as_chars(data);
  for (std::string_view m : kMethods) {
    if (text.substr(0, m.size()) == m) return true;
  }
  return false;
}

// HAProxy's PROXY protocol header (v1 text line, v2 binary) in front of a TLS or HTTP stream,
// as load balancers send it: returns its length, 0 when there is none (or it is incomplete).
constexpr size_t kMaxProxyV1Len = 107;  // PROXY protocol spec §2.1: the longest v1 line
constexpr uint8_t kProxyV2Signature[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                           0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
size_t proxy_protocol_header_len(Bytes data) noexcept {
  const std::string_view text = parse::as_chars(data);
  if (text.substr(0, 6) == "PROXY ") {
    const size_t end = text.substr(0, kMaxProxyV1Len).find("\r\n");
    return end == std::string_view::npos ? 0 : end + 2;
  }
  parse::ByteReader r(data);
  const Bytes sig = r.bytes(sizeof kProxyV2Signature);
  r.skip(2);  // version/command, family/protocol
  const uint16_t len = r.read_u16be();
  if (!r.ok() || !std::equal(sig.begin(), sig.end(), kProxyV2Signature)) return 0;
  return r.has(len) ? r.offset() + len : 0;
}

constexpr bool is_reserved_version(uint32_t v) noexcept {
  return (v & parse::kQuicReservedVersionMask) == 0x0a0a0a0au;
}

constexpr size_t kTlsRecordHeader = 5;
constexpr uint8_t kTlsChangeCipherSpec = 20, kTlsAlert = 21, kTlsHandshake = 22;
constexpr uint8_t kHandshakeClientHello = 1;
constexpr uint8_t kTlsApplicationData = 23;

// A direction that starts a segment with an HTTP response or with a TLS record other than a
// ClientHello is a server's, or a client's past its handshake: it will carry no request or
// ClientHello worth reading, so it need not be probed at every segment (bulk downloads are
// most of a link's packets).
bool ends_interest(parse::Bytes b) noexcept {
  constexpr std::string_view kHttpResponse = "HTTP/1.";
  if (b.size() >= kHttpResponse.size() &&
      std::memcmp(b.data(), kHttpResponse.data(), kHttpResponse.size()) == 0) {
    return true;
  }
  if (b.size() < kTlsRecordHeader + 1 || b[1] != 3) return false;  // any minor, as servers read
  switch (b[0]) {
    case kTlsChangeCipherSpec:
    case kTlsAlert:
    case kTlsApplicationData:
      return true;
    case kTlsHandshake:
      return b[5] != kHandshakeClientHello;
    default:
      return false;
  }
}

}  // namespace

struct Extractor::Ctx {
  const parse::PacketInfo& pkt;
  uint64_t frame_no;
  ObservationSink& sink;
  uint32_t base_flags;  // flags every observation from this packet carries
};

std::string_view observation_flag_name(ObservationFlag f) noexcept {
  switch (f) {
#define MUHAFIZ_X(name, text) \
  case name##Bit:             \
    return text;
    MUHAFIZ_OBSERVATION_FLAGS(MUHAFIZ_X)
#undef MUHAFIZ_X
    case kObservationFlagCount:
      break;
  }
  return "unknown";
}

std::string_view extract_counter_name(ExtractCounter c) noexcept {
  switch (c) {
#define MUHAFIZ_X(name, text) \
  case name:                  \
    return text;
    MUHAFIZ_EXTRACT_COUNTERS(MUHAFIZ_X)
#undef MUHAFIZ_X
    case kExtractCounterCount:
      break;
  }
  return "unknown";
}

Extractor::Extractor(const ExtractorConfig& cfg)
    : flows_(cfg.flows),
      dns_(std::make_unique<parse::DnsMessage>()),
      quic_plain_(std::make_unique<uint8_t[]>(kMaxUdpPayload)),
      tls_scratch_(std::make_unique<uint8_t[]>(flow::kStreamBufferSize)),
      host_(std::make_unique<char[]>(kMaxHostTextLen)) {}

void Extractor::emit(Ctx& ctx, Observation& obs) noexcept {
  obs.packet = &ctx.pkt;
  obs.frame = ctx.frame_no;
  obs.flags |= ctx.base_flags;
  count(kObservations);
  ++stats_.by_kind[static_cast<size_t>(obs.kind)];
  for (uint32_t bits = obs.flags; bits != 0; bits &= bits - 1) {  // the set bits only
    const auto f = static_cast<uint32_t>(std::countr_zero(bits));
    if (f < kObservationFlagCount) ++stats_.observation_flags[f];
  }
  ctx.sink.on_observation(obs);
}

// SNI and Host are case-insensitive (RFC 6066 §3, RFC 9110 §4.2.3): report them lower-cased.
std::string_view Extractor::lower_host(std::string_view host, uint32_t* flags) noexcept {
  if (host.size() > kMaxHostTextLen) {
    *flags |= observation_flag_mask(kAnomalyBit);
    return host;
  }
  // Eight bytes at a time (rules/match/ascii_word.h), the last 0-7 one by one.
  size_t i = 0;
  for (; i + 8 <= host.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, host.data() + i, 8);
    w = rules::ascii::lower(w);
    std::memcpy(host_.get() + i, &w, 8);
  }
  for (; i < host.size(); ++i) {
    const char c = host[i];
    host_[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return {host_.get(), host.size()};
}

void Extractor::process(parse::LinkType link, Bytes frame, uint64_t frame_no, uint64_t now,
                        ObservationSink& sink) noexcept {
  parse::PacketInfo pkt;
  const ParseStatus s = parse::decode_packet(link, frame, &pkt);
  for (uint32_t bits = pkt.anomalies; bits != 0; bits &= bits - 1) {  // most packets have none
    const auto a = static_cast<uint32_t>(std::countr_zero(bits));
    if (a < parse::kPacketAnomalyCount) ++stats_.packet_anomalies[a];
  }
  if (s != ParseStatus::kOk) {
    count(kPackets);
    count(s == ParseStatus::kMalformed ? kMalformedPacket : kNotInspectable);
    return;
  }
  process_packet(pkt, frame_no, now, sink);
}

void Extractor::prefetch(const parse::PacketInfo& pkt, const FlowRef* ref) const noexcept {
  const bool flow = uses_flow(pkt);
  if (flow && ref != nullptr) flows_.prefetch(ref->hash);
  const Bytes payload = pkt.l4_payload;
  if (payload.empty()) return;
  // Payloads that will be parsed: DNS-family and QUIC datagrams, and TCP segments towards the
  // lower port (a client's request or ClientHello; a server's bulk data flows the other way
  // and is never read). Only a hint: a guess that is wrong costs a fetch, never a verdict.
  const bool parsed = pkt.l4_proto == parse::kIpProtoUdp
                          ? flow || is_dns_port(pkt.src_port) || is_dns_port(pkt.dst_port)
                          : pkt.l4_proto == parse::kIpProtoTcp && pkt.dst_port <= pkt.src_port;
  if (!parsed) return;
  rules::prefetch(payload.data());
  rules::prefetch(payload.data() + std::min<size_t>(payload.size() - 1, 64));
}

void Extractor::prefetch_flow(const parse::PacketInfo& pkt, const FlowRef& ref) const noexcept {
  if (!uses_flow(pkt)) return;
  if (pkt.l4_proto == parse::kIpProtoTcp) {
    // A segment that opens a TLS handshake record (the first of a ClientHello, most likely):
    // its parse walks the extensions line after line, and browsers put the SNI anywhere among
    // them, so the rest of the record in this segment is fetched now, while the burst's other
    // misses are in flight. prefetch() already asked for the payload's first lines, read here.
    const Bytes payload = pkt.l4_payload;
    if (payload.size() > 128 && pkt.dst_port <= pkt.src_port && payload[0] == kTlsHandshake) {
      const size_t record = kTlsRecordHeader + ((size_t{payload[3]} << 8) | payload[4]);
      const size_t last = std::min(record, payload.size()) - 1;
      for (size_t at = 128; at < last; at += 64) rules::prefetch(payload.data() + at);
      rules::prefetch(payload.data() + last);  // the steps may stop short of its line
    }
    flows_.prefetch_flow(ref.hash, false);  // the flow's line: both directions
  } else {
    // And the whole cold state: FlowTable::cold() resets all of it at a new flow's first Initial.
    flows_.prefetch_flow(ref.hash, true);
  }
}

flow::Flow& Extractor::lookup_flow(const parse::PacketInfo& pkt, const FlowRef* ref, uint64_t now,
                                   uint8_t* dir) noexcept {
  if (ref != nullptr) {
    *dir = ref->dir;
    return flows_.lookup(ref->key, ref->hash, now);
  }
  uint64_t hash = 0;
  const flow::FlowKey key = flow::make_flow_key(pkt, dir, &hash);
  return flows_.lookup(key, hash, now);
}

bool Extractor::uses_flow(const parse::PacketInfo& pkt) noexcept {
  return (pkt.l4_proto == parse::kIpProtoTcp && carries_stream(pkt)) ||
         (pkt.l4_proto == parse::kIpProtoUdp && !pkt.l4_payload.empty() &&
          (pkt.l4_payload[0] & 0x80) != 0 && !is_dns_port(pkt.src_port) &&
          !is_dns_port(pkt.dst_port));
}

void Extractor::process_packet(const parse::PacketInfo& pkt, const FlowRef* ref, uint64_t frame_no,
                               uint64_t now, ObservationSink& sink) noexcept {
  count(kPackets);
  count(kDecoded);
  uint32_t base = 0;
  if (pkt.has(parse::kIpFragmentBit)) base |= observation_flag_mask(kIpFragmentBit);
  if (pkt.tunnel_depth > 0) base |= observation_flag_mask(kTunnelBit);
  if (pkt.has(parse::kTruncatedBit)) base |= observation_flag_mask(kTruncatedBit);
  Ctx ctx{pkt, frame_no, sink, base};

  if (pkt.l4_proto == parse::kIpProtoUdp) {
    const bool quic_candidate = !pkt.l4_payload.empty() && (pkt.l4_payload[0] & 0x80) != 0 &&
                                !is_dns_port(pkt.src_port) && !is_dns_port(pkt.dst_port);
    if (!quic_candidate) {
      on_udp(ctx);
      return;
    }
    // A long header with a version we know makes it QUIC; anything else is looked at as
    // other UDP (a DNS query ID can have the top bit set too).
    parse::QuicLongHeader hdr;
    if (parse::parse_quic_long_header(pkt.l4_payload, &hdr) != ParseStatus::kOk) {
      on_udp(ctx);
      return;
    }
    uint8_t dir = 0;
    flow::Flow& f = lookup_flow(pkt, ref, now, &dir);
    on_quic(ctx, f, dir);
    return;
  }
  if (pkt.l4_proto == parse::kIpProtoTcp && carries_stream(pkt)) {
    uint8_t dir = 0;
    flow::Flow& f = lookup_flow(pkt, ref, now, &dir);
    on_tcp(ctx, f, dir);
  }
}

void Extractor::emit_http(Ctx& ctx, const parse::HttpRequest& req, uint32_t flags) noexcept {
  Observation obs;
  obs.kind = ObservationKind::kHttp;
  obs.flags = flags;
  obs.host = lower_host(req.host_name, &obs.flags);
  obs.uri = req.target;
  obs.method = req.method;
  if (!req.has_host) obs.flags |= observation_flag_mask(kNoHostBit);
  if (req.anomalies != 0) obs.flags |= observation_flag_mask(kAnomalyBit);
  emit(ctx, obs);
}

void Extractor::on_dns_message(Ctx& ctx, Bytes msg, uint32_t flags) noexcept {
  parse::DnsMessage& m = *dns_;
  if (parse::parse_dns_message(msg, &m) != ParseStatus::kOk) {
    count(kDnsMalformed);
    return;
  }
  if (m.is_response) return;
  if (m.anomalies != 0) flags |= observation_flag_mask(kAnomalyBit);
  for (size_t i = 0; i < m.question_count; ++i) {
    const parse::DnsQuestion& q = m.questions[i];
    if (q.name.len == 0) continue;  // the root: nothing to match
    Observation obs;
    obs.kind = ObservationKind::kDns;
    obs.host = q.name.view();
    obs.qtype = q.qtype;
    obs.flags = flags;
    emit(ctx, obs);
  }
}

void Extractor::on_udp(Ctx& ctx) noexcept {
  const parse::PacketInfo& pkt = ctx.pkt;
  if (pkt.l4_payload.empty()) return;
  if (is_dns_port(pkt.dst_port) || is_dns_port(pkt.src_port)) {
    on_dns_message(ctx, pkt.l4_payload, 0);
    return;
  }
  const bool netbios = pkt.src_port == kNetbiosNsPort || pkt.dst_port == kNetbiosNsPort ||
                       pkt.src_port == kNetbiosDgmPort || pkt.dst_port == kNetbiosDgmPort;
  if (!netbios && looks_like_dns_query(pkt.l4_payload)) {
    on_dns_message(ctx, pkt.l4_payload, 0);
    return;
  }
  if (pkt.dst_port == kSsdpPort || pkt.src_port == kSsdpPort) {
    parse::HttpRequest req;
    const ParseStatus s = parse::parse_http_request_head(pkt.l4_payload, &req);
    if (s != ParseStatus::kOk) {
      if (s == ParseStatus::kMalformed) count(kHttpMalformed);
      return;
    }
    // SSDP NOTIFY is a device announcing itself to the LAN (UPnP 1.1 §1.2), not an access to
    // anything: only searches (M-SEARCH) are reported.
    if (req.method == "NOTIFY") return;
    emit_http(ctx, req, 0);
  }
}

void Extractor::on_quic(Ctx& ctx, flow::Flow& flow, uint8_t dir) noexcept {
  flow::QuicState& q = flows_.cold(flow).quic;
  Bytes dgram = ctx.pkt.l4_payload;
  for (size_t n = 0; n < kMaxCoalescedQuicPackets && !dgram.empty(); ++n) {
    parse::QuicLongHeader hdr;
    if (parse::parse_quic_long_header(dgram, &hdr) != ParseStatus::kOk) return;
    const Bytes packet = dgram.first(hdr.packet_len);
    dgram = dgram.subspan(hdr.packet_len);
    if (hdr.type != parse::QuicPacketType::kInitial) continue;
    if (!parse::quic_version_supported(hdr.version)) {
      count(kQuicUnsupportedVersion);
      return;
    }
    if (!q.active) {
      if (!quic_.ok() || !quic_.derive(hdr.version, hdr.dcid, &q.keys)) return;
      q.active = true;
      q.client_dir = dir;
      q.dcid_len = static_cast<uint8_t>(hdr.dcid.size());
      std::copy(hdr.dcid.begin(), hdr.dcid.end(), q.dcid);
    }
    if (dir != q.client_dir) continue;  // the server's Initial: not ours to read

    Bytes payload;
    uint64_t pn = 0;
    const std::span<uint8_t> plain(quic_plain_.get(), kMaxUdpPayload);
    ParseStatus s = quic_.decrypt(packet, hdr, q.keys, plain, &payload, &pn);
    const bool same_dcid =
        hdr.dcid.size() == q.dcid_len && std::equal(hdr.dcid.begin(), hdr.dcid.end(), q.dcid);
    if (s != ParseStatus::kOk && (!same_dcid || is_reserved_version(hdr.version))) {
      // A new connection attempt on the same 5-tuple (after a Retry, or a new DCID): its keys
      // come from its own DCID (RFC 9001 §5.2). A reserved (greased) version was protected
      // either like draft-29 (interop runners) or like v1 (current clients): try both.
      parse::QuicInitialKeys keys;
      if ((quic_.derive(hdr.version, hdr.dcid, &keys) &&
           quic_.decrypt(packet, hdr, keys, plain, &payload, &pn) == ParseStatus::kOk) ||
          (is_reserved_version(hdr.version) &&
           quic_.derive(parse::kQuicVersion1, hdr.dcid, &keys) &&
           quic_.decrypt(packet, hdr, keys, plain, &payload, &pn) == ParseStatus::kOk)) {
        s = ParseStatus::kOk;
        q.keys = keys;
        q.dcid_len = static_cast<uint8_t>(hdr.dcid.size());
        std::copy(hdr.dcid.begin(), hdr.dcid.end(), q.dcid);
        q.done = false;
        q.packets = 0;
        if (q.buffer != flow::kNoBuffer) flows_.pool().assembler(q.buffer).reset();
      }
    }
    if (s != ParseStatus::kOk) {
      count(kQuicUndecryptable);
      continue;
    }
    if (q.done) continue;  // retransmissions of a ClientHello already reported
    if (q.buffer == flow::kNoBuffer) {
      q.buffer = flows_.acquire_buffer(flow);
      if (q.buffer == flow::kNoBuffer) {
        count(kBufferExhausted);
        ++flows_.stats().buffer_exhausted;
        return;
      }
      flows_.pool().assembler(q.buffer).reset();
    }
    parse::QuicCryptoAssembler& assembler = flows_.pool().assembler(q.buffer);
    uint32_t crypto_anomalies = 0;
    const ParseStatus fs = parse::for_each_quic_crypto_frame(
        payload,
        [&](uint64_t offset, Bytes data) { crypto_anomalies |= assembler.add(offset, data); },
        nullptr, hdr.version);
    if (fs != ParseStatus::kOk) count(kQuicNotClientHello);
    ++q.packets;

    // The CRYPTO stream starts with the ClientHello handshake message (RFC 9001 §4.1.3).
    const Bytes stream = assembler.contiguous();
    if (stream.size() < 4) continue;
    if (stream[0] != kHandshakeClientHello) {
      count(kQuicNotClientHello);
      q.done = true;
      continue;
    }
    const size_t msg_len = 4 + ((size_t{stream[1]} << 16) | (size_t{stream[2]} << 8) | stream[3]);
    if (stream.size() < msg_len) continue;
    parse::ClientHello ch;
    q.done = true;
    if (parse::parse_client_hello(stream.first(msg_len), &ch) != ParseStatus::kOk) {
      count(kTlsMalformed);
    } else {
      Observation obs;
      obs.kind = ObservationKind::kQuicSni;
      if (q.packets > 1) obs.flags |= observation_flag_mask(kReassembledBit);
      if (ch.has_ech) obs.flags |= observation_flag_mask(kEchBit);
      if (!ch.has_sni) obs.flags |= observation_flag_mask(kNoHostBit);
      if (ch.anomalies != 0 || crypto_anomalies != 0)
        obs.flags |= observation_flag_mask(kAnomalyBit);
      obs.host = lower_host(ch.sni, &obs.flags);
      obs.alpn = ch.alpn_first;
      if (ch.has_sni) emit(ctx, obs);
    }
    flows_.pool().release(q.buffer);
    q.buffer = flow::kNoBuffer;
  }
}

void Extractor::drop_buffer(flow::Flow& flow, uint8_t dir) noexcept {
  TcpDirection& d = flow.tcp[dir];
  if (d.buffer != flow::kNoBuffer) flows_.pool().release(d.buffer);
  d.buffer = flow::kNoBuffer;
  d.buffered = 0;
}

void Extractor::on_tcp(Ctx& ctx, flow::Flow& flow, uint8_t dir) noexcept {
  const parse::PacketInfo& pkt = ctx.pkt;
  TcpDirection& d = flow.tcp[dir];
  uint32_t seq = pkt.tcp_seq;
  if ((pkt.tcp_flags & parse::tcp_flag::kSyn) != 0) {
    // A SYN starts the byte stream afresh (a reused 5-tuple is a new connection).
    if (!d.seq_known || d.next_seq != seq + 1) {
      drop_buffer(flow, dir);
      d = TcpDirection{};
      d.at_start = true;
    }
    seq += 1;  // the SYN occupies one sequence number; data (TCP Fast Open) follows it
    d.next_seq = seq;
    d.seq_known = true;
  }
  Bytes payload = pkt.l4_payload;
  if (payload.empty()) return;
  if (!d.seq_known) {
    d.next_seq = seq;  // picked up mid-stream
    d.seq_known = true;
  }
  const auto diff = static_cast<int32_t>(seq - d.next_seq);
  if (diff > 0) {
    // Bytes are missing (lost, or not captured): never guess across a gap. Drop any
    // partial message and resynchronise at this segment.
    count(kTcpGap);
    drop_buffer(flow, dir);
    d.app = StreamApp::kUnknown;
    d.after_gap = true;
    d.at_start = false;
  } else if (diff < 0) {
    const size_t old = static_cast<size_t>(-static_cast<int64_t>(diff));
    if (old >= payload.size()) {
      count(kTcpRetransmission);
      return;
    }
    count(kTcpOverlap);
    payload = payload.subspan(old);  // overlap: the old bytes are never trusted twice
    seq += static_cast<uint32_t>(old);
  }
  d.next_seq = seq + static_cast<uint32_t>(payload.size());
  if (d.app == StreamApp::kDone) return;
  // The first segment sees at_start in run_stream; later ones do not.
  struct ClearAtStart {
    TcpDirection& d;
    ~ClearAtStart() { d.at_start = false; }
  } clear_at_start{d};

  if (d.buffered == 0) {
    const size_t used = run_stream(ctx, flow, dir, payload, false);
    keep_leftover(flow, dir, payload.subspan(std::min(used, payload.size())));
    return;
  }
  const std::span<uint8_t> buf = flows_.pool().stream(d.buffer);
  if (d.buffered + payload.size() > buf.size()) {
    count(kReassemblyOverflow);
    drop_buffer(flow, dir);
    d.app = StreamApp::kUnknown;
    return;
  }
  std::memcpy(buf.data() + d.buffered, payload.data(), payload.size());
  d.buffered = static_cast<uint16_t>(d.buffered + payload.size());
  const Bytes data(buf.data(), d.buffered);
  const size_t used = run_stream(ctx, flow, dir, data, true);
  keep_leftover(flow, dir, data.subspan(std::min(used, data.size())));
}

void Extractor::keep_leftover(flow::Flow& flow, uint8_t dir, Bytes leftover) noexcept {
  TcpDirection& d = flow.tcp[dir];
  if (leftover.empty() || d.app == StreamApp::kDone || d.app == StreamApp::kUnknown) {
    drop_buffer(flow, dir);
    return;
  }
  if (d.buffer == flow::kNoBuffer) {
    d.buffer = flows_.acquire_buffer(flow);
    if (d.buffer == flow::kNoBuffer) {
      count(kBufferExhausted);
      ++flows_.stats().buffer_exhausted;
      d.app = StreamApp::kUnknown;
      return;
    }
  }
  const std::span<uint8_t> buf = flows_.pool().stream(d.buffer);
  if (leftover.size() > buf.size()) {
    count(kReassemblyOverflow);
    drop_buffer(flow, dir);
    d.app = StreamApp::kUnknown;
    return;
  }
  // memmove: the leftover may already sit inside this buffer.
  std::memmove(buf.data(), leftover.data(), leftover.size());
  d.buffered = static_cast<uint16_t>(leftover.size());
}

// Runs the direction's protocol over contiguous stream bytes; returns how many bytes were
// used. Unused bytes are an incomplete message the caller keeps for the next segment.
size_t Extractor::run_stream(Ctx& ctx, flow::Flow& flow, uint8_t dir, Bytes data,
                             bool from_buffer) noexcept {
  const parse::PacketInfo& pkt = ctx.pkt;
  TcpDirection& d = flow.tcp[dir];
  // HTTP bodies: the cold state, touched only by the flows that need it.
  auto stream = [&]() -> TcpStream& { return flows_.cold(flow).stream[dir]; };
  size_t off = 0;
  for (size_t iter = 0; iter < kMaxMessagesPerSegment && off < data.size(); ++iter) {
    const Bytes rest = data.subspan(off);
    // A message that starts at offset 0 of buffered data began in an earlier segment: buffered
    // data is only run once a later segment was appended to it.
    uint32_t flags = (from_buffer && off == 0) ? observation_flag_mask(kReassembledBit) : 0;
    if (d.after_gap) flags |= observation_flag_mask(kStreamGapBit);
    // Acts on one HTTP request head at `off`: kGoOn to carry on with the next message, else
    // what run_stream returns.
    constexpr size_t kGoOn = SIZE_MAX;
    auto on_http_head = [&](const parse::HttpRequest& req, ParseStatus s) -> size_t {
      if (s == ParseStatus::kNeedMore) return off;
      // A head with a broken field line still names its host, and lenient servers answer
      // it: report it (flagged), then resynchronise, as the body's length is unknown.
      const bool readable = s == ParseStatus::kMalformed && !req.target.empty() && req.has_host;
      if (s != ParseStatus::kOk && !readable) {
        // A head longer than kMaxHttpHeadLen is more than we reassemble: an overflow, so
        // fail_mode decides, as for a hello over its cap.
        if (s == ParseStatus::kMalformed)
          count((req.anomalies & parse::kHttpHeadTooLong) != 0 ? kReassemblyOverflow
                                                               : kHttpMalformed);
        d.app = StreamApp::kUnknown;
        return data.size();
      }
      emit_http(ctx, req, flags);
      d.after_gap = false;
      if (readable) {
        count(kHttpMalformed);
        d.app = StreamApp::kUnknown;
        return data.size();
      }
      off += req.head_len;
      if (req.form == parse::HttpTargetForm::kAuthority) {
        d.app = StreamApp::kUnknown;  // CONNECT: a tunnel (usually TLS) follows
      } else if (req.chunked) {
        stream().chunk = parse::HttpChunkState{};
        d.app = StreamApp::kHttpChunked;
      } else if (req.content_length > 0) {
        stream().body_left = static_cast<uint64_t>(req.content_length);
        d.app = StreamApp::kHttpBody;
      }
      return kGoOn;
    };
    switch (d.app) {
      case StreamApp::kUnknown: {
        parse::HttpRequest probe;
        ParseStatus head = ParseStatus::kNotApplicable;  // the probe's, once parsed
        if (const size_t proxy = proxy_protocol_header_len(rest); proxy != 0) {
          off += proxy;  // the stream proper starts after it
          break;
        }
        if (pkt.dst_port == kDnsPort || pkt.src_port == kDnsPort) {
          d.app = StreamApp::kDns;
        } else if (parse::looks_like_tls_client_hello(rest)) {
          d.app = StreamApp::kTls;
        } else if ((starts_with_known_method(rest) || d.at_start) &&
                   (head = parse::parse_http_request_head(rest, &probe)) !=
                       ParseStatus::kNotApplicable) {
          // Any method token at the real start of a stream (after its SYN): servers pass
          // methods they do not know to the application, which may serve the page anyway, so
          // a made-up method must not hide the Host. Elsewhere (a resync after a gap) only
          // methods clients really send start a request, so a cut line is not taken for one.
          // Not a request after all: the branches below end interest or retry next segment.
          d.app = StreamApp::kHttp;
          // The probe parsed the head already: act on it rather than parse it again.
          if (const size_t r = on_http_head(probe, head); r != kGoOn) return r;
        } else if (ends_interest(rest)) {
          d.app = StreamApp::kDone;
          return data.size();
        } else {
          return data.size();  // not at a message start we know: retry at the next segment
        }
        break;
      }
      case StreamApp::kTls: {
        Bytes msg;
        size_t used = 0;
        const std::span<uint8_t> scratch(tls_scratch_.get(), flow::kStreamBufferSize);
        bool too_long = false;
        const ParseStatus s = parse::gather_tls_handshake(rest, scratch, &msg, &used, &too_long);
        if (s == ParseStatus::kNeedMore) return off;
        if (s != ParseStatus::kOk) {
          // A hello that says it is longer than kMaxClientHelloLen is more than we reassemble:
          // counted as an overflow, like any message too large for the buffer, so fail_mode
          // decides (closed: the flow is dropped). Counted as malformed, it passed either way.
          if (s == ParseStatus::kMalformed) count(too_long ? kReassemblyOverflow : kTlsMalformed);
          d.app = StreamApp::kDone;
          return data.size();
        }
        parse::ClientHello ch;
        if (parse::parse_client_hello(msg, &ch) != ParseStatus::kOk) {
          count(kTlsMalformed);
          d.app = StreamApp::kDone;
          return data.size();
        }
        Observation obs;
        obs.kind = ObservationKind::kTlsSni;
        obs.flags = flags;
        if (ch.has_ech) obs.flags |= observation_flag_mask(kEchBit);
        if (ch.anomalies != 0) obs.flags |= observation_flag_mask(kAnomalyBit);
        obs.host = lower_host(ch.sni, &obs.flags);
        obs.alpn = ch.alpn_first;
        if (ch.has_sni) emit(ctx, obs);
        d.after_gap = false;
        off += used;
        d.app = StreamApp::kTlsAfterHello;
        break;
      }
      case StreamApp::kTlsAfterHello: {
        // After a HelloRetryRequest the client sends ChangeCipherSpec (compatibility mode)
        // and a second ClientHello (RFC 8446 §4.1.4). Anything else ends our interest.
        if (rest.size() < kTlsRecordHeader + 1) return off;
        const uint8_t type = rest[0];
        const size_t rec_len = kTlsRecordHeader + ((size_t{rest[3]} << 8) | rest[4]);
        if (type == kTlsHandshake && rest[5] == kHandshakeClientHello) {
          d.app = StreamApp::kTls;
        } else if ((type == kTlsChangeCipherSpec || type == kTlsAlert) && rest.size() >= rec_len) {
          off += rec_len;
        } else {
          d.app = StreamApp::kDone;
          return data.size();
        }
        break;
      }
      case StreamApp::kHttp: {
        parse::HttpRequest req;
        const ParseStatus s = parse::parse_http_request_head(rest, &req);
        if (const size_t r = on_http_head(req, s); r != kGoOn) return r;
        break;
      }
      case StreamApp::kHttpBody: {
        TcpStream& st = stream();
        const size_t n = static_cast<size_t>(std::min<uint64_t>(st.body_left, rest.size()));
        off += n;
        st.body_left -= n;
        if (st.body_left == 0) d.app = StreamApp::kHttp;
        break;
      }
      case StreamApp::kHttpChunked: {
        size_t used = 0;
        const ParseStatus s = parse::skip_http_chunked(&stream().chunk, rest, &used);
        off += std::min(used, rest.size());
        if (s == ParseStatus::kOk) {
          d.app = StreamApp::kHttp;
        } else if (s != ParseStatus::kNeedMore) {
          count(kHttpMalformed);
          d.app = StreamApp::kUnknown;
          return data.size();
        } else {
          return data.size();
        }
        break;
      }
      case StreamApp::kDns: {
        Bytes msg;
        size_t used = 0;
        const ParseStatus s = parse::next_dns_tcp_message(rest, &msg, &used);
        if (s == ParseStatus::kNeedMore) return off;
        if (s != ParseStatus::kOk) {
          count(kDnsMalformed);
          d.app = StreamApp::kDone;
          return data.size();
        }
        on_dns_message(ctx, msg, flags);
        d.after_gap = false;
        off += used;
        break;
      }
      case StreamApp::kDone:
        return data.size();
    }
  }
  return off;
}

}  // namespace muhafiz::extract
