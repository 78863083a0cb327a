// Extraction: decoded packet + flow state -> observations (DNS names, TLS/QUIC SNI, HTTP
// Host/URI). The same code runs in muhafiz-inspect (offline) and in the dataplane workers,
// so it follows the worker rules: no allocation after construction, no exceptions, no
// logging, every outcome counted.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "dataplane/extract/observation.h"
#include "dataplane/flow/flow_table.h"
#include "dataplane/parse/dns.h"
#include "dataplane/parse/http.h"
#include "dataplane/parse/packet.h"
#include "dataplane/parse/quic.h"
#include "dataplane/parse/tls.h"

namespace muhafiz::extract {

class ObservationSink {
 public:
  virtual ~ObservationSink() = default;
  virtual void on_observation(const Observation& obs) noexcept = 0;
};

// Extraction counters: one X-macro for the enum, its exported name, and the counter.
#define MUHAFIZ_EXTRACT_COUNTERS(X)                                                       \
  X(kPackets, "packets")                  /* frames offered */                            \
  X(kDecoded, "decoded")                  /* TCP/UDP header decoded */                    \
  X(kNotInspectable, "not_inspectable")   /* not IP, other L4, later fragment */          \
  X(kMalformedPacket, "malformed_packet") /* a link/IP/L4 header was broken */            \
  X(kDnsMalformed, "dns_malformed")                                                       \
  X(kTlsMalformed, "tls_malformed")   /* ClientHello or its records broken */             \
  X(kHttpMalformed, "http_malformed") /* request head broken or over cap */               \
  X(kQuicUnsupportedVersion, "quic_unsupported_version")                                  \
  X(kQuicUndecryptable, "quic_undecryptable") /* Initial failed authentication */         \
  X(kQuicNotClientHello, "quic_not_client_hello")                                         \
  X(kTcpGap, "tcp_gap")                         /* missing bytes: resynchronised */       \
  X(kTcpRetransmission, "tcp_retransmission")   /* bytes already seen: ignored */         \
  X(kTcpOverlap, "tcp_overlap")                 /* partly old bytes: only the new used */ \
  X(kReassemblyOverflow, "reassembly_overflow") /* message larger than the buffer */      \
  X(kBufferExhausted, "buffer_exhausted")       /* no free reassembly slot */             \
  X(kObservations, "observations")

enum ExtractCounter : uint32_t {
#define MUHAFIZ_X(name, text) name,
  MUHAFIZ_EXTRACT_COUNTERS(MUHAFIZ_X)
#undef MUHAFIZ_X
      kExtractCounterCount
};
std::string_view extract_counter_name(ExtractCounter c) noexcept;

struct ExtractStats {
  std::array<uint64_t, kExtractCounterCount> counters{};
  std::array<uint64_t, kObservationKindCount> by_kind{};
  std::array<uint64_t, parse::kPacketAnomalyCount> packet_anomalies{};
  std::array<uint64_t, kObservationFlagCount> observation_flags{};
};

struct ExtractorConfig {
  flow::FlowTableConfig flows;
};

inline constexpr size_t kMaxHostTextLen = 1024;        // longer names are reported as sent, flagged
inline constexpr size_t kMaxMessagesPerSegment = 64;   // pipelined messages handled per TCP segment
inline constexpr size_t kMaxCoalescedQuicPackets = 8;  // long-header packets walked per datagram
inline constexpr size_t kMaxUdpPayload = 65535;

class Extractor {
 public:
  explicit Extractor(const ExtractorConfig& cfg);
  Extractor(const Extractor&) = delete;
  Extractor& operator=(const Extractor&) = delete;

  // Decodes one frame and reports what it completes. `now` drives flow ageing (µs).
  void process(parse::LinkType link, parse::Bytes frame, uint64_t frame_no, uint64_t now,
               ObservationSink& sink) noexcept;
  // Same, for an already decoded packet.
  void process_packet(const parse::PacketInfo& pkt, uint64_t frame_no, uint64_t now,
                      ObservationSink& sink) noexcept {
    process_packet(pkt, nullptr, frame_no, now, sink);
  }
  // Same, with the packet's flow key, direction and hash already computed by the caller
  // (flow::make_flow_key and flow::hash_flow_key of pkt); nullptr: computed here when needed.
  struct FlowRef {
    flow::FlowKey key;
    uint8_t dir = 0;
    uint64_t hash = 0;
  };
  void process_packet(const parse::PacketInfo& pkt, const FlowRef* ref, uint64_t frame_no,
                      uint64_t now, ObservationSink& sink) noexcept;
  // Whether process_packet would look pkt's flow up (TCP that carries_stream(), and UDP that
  // may be QUIC).
  static bool uses_flow(const parse::PacketInfo& pkt) noexcept;
  // Whether a TCP segment changes what its flow's byte stream holds: it has a payload, or it is
  // a SYN (which sets where the stream starts). A bare ACK, FIN or RST does neither, so its flow
  // is not looked up: not created, not refreshed, not reset when idle (the next segment that
  // carries data does that). So a flow's idle time counts from its last data or SYN: keepalive
  // ACKs alone do not keep a partial message (or an HTTP body's position) past the timeout. On
  // a busy link about half the TCP segments are bare ACKs.
  static bool carries_stream(const parse::PacketInfo& pkt) noexcept {
    return !pkt.l4_payload.empty() || (pkt.tcp_flags & parse::tcp_flag::kSyn) != 0;
  }
  // Starts fetching what process_packet will read for a decoded packet, so a burst's misses
  // overlap: its flow's probe-window slots (with ref, when it uses a flow; prefetch_flow() then
  // fetches the flow itself) and the first two lines of a payload it will likely parse: UDP to
  // or from a DNS-family port, UDP that may be QUIC, and TCP towards the lower port (a client's
  // request). Bulk payloads (a server's data) are never read, so they are not fetched.
  void prefetch(const parse::PacketInfo& pkt, const FlowRef* ref) const noexcept;
  // The second stage, for a burst whose prefetch() calls have all been issued: the flow's line,
  // found through its slot (flow::FlowTable::prefetch_flow), and for QUIC its cold state too.
  // And the rest of a TCP segment that opens a TLS handshake record, up to the record's end: a
  // ClientHello's parse walks it line by line.
  void prefetch_flow(const parse::PacketInfo& pkt, const FlowRef& ref) const noexcept;

  const ExtractStats& stats() const noexcept { return stats_; }
  const flow::FlowTable& flows() const noexcept { return flows_; }

 private:
  struct Ctx;
  void count(ExtractCounter c) noexcept { ++stats_.counters[c]; }
  flow::Flow& lookup_flow(const parse::PacketInfo& pkt, const FlowRef* ref, uint64_t now,
                          uint8_t* dir) noexcept;
  void emit(Ctx& ctx, Observation& obs) noexcept;
  std::string_view lower_host(std::string_view host, uint32_t* flags) noexcept;

  void emit_http(Ctx& ctx, const parse::HttpRequest& req, uint32_t flags) noexcept;
  void on_udp(Ctx& ctx) noexcept;
  void on_dns_message(Ctx& ctx, parse::Bytes msg, uint32_t flags) noexcept;
  void on_quic(Ctx& ctx, flow::Flow& flow, uint8_t dir) noexcept;
  void on_tcp(Ctx& ctx, flow::Flow& flow, uint8_t dir) noexcept;
  size_t run_stream(Ctx& ctx, flow::Flow& flow, uint8_t dir, parse::Bytes data,
                    bool from_buffer) noexcept;
  void keep_leftover(flow::Flow& flow, uint8_t dir, parse::Bytes leftover) noexcept;
  void drop_buffer(flow::Flow& flow, uint8_t dir) noexcept;

  flow::FlowTable flows_;
  parse::QuicInitialDecryptor quic_;
  ExtractStats stats_;
  std::unique_ptr<parse::DnsMessage> dns_;
  std::unique_ptr<uint8_t[]> quic_plain_;
  std::unique_ptr<uint8_t[]> tls_scratch_;
  std::unique_ptr<char[]> host_;
};

}  // namespace muhafiz::extract
