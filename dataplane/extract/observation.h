// What extraction produces: a name (and for HTTP a request-target) seen on a flow, with
// the frame that completed it. Views point into the packet or a flow buffer and are valid
// only during the sink callback.
#pragma once

#include <cstdint>
#include <string_view>

#include "dataplane/parse/packet.h"

namespace muhafiz::extract {

enum class ObservationKind : uint8_t { kDns, kTlsSni, kQuicSni, kHttp };
inline constexpr size_t kObservationKindCount = 4;

constexpr std::string_view to_string(ObservationKind k) noexcept {
  switch (k) {
    case ObservationKind::kDns: return "dns";
    case ObservationKind::kTlsSni: return "tls_sni";
    case ObservationKind::kQuicSni: return "quic_sni";
    case ObservationKind::kHttp: return "http";
  }
  return "unknown";
}

// Observation flags: one X-macro for the bit, its name and its counter.
#define MUHAFIZ_OBSERVATION_FLAGS(X)                                                   \
  X(kEch, "ech")                   /* ECH offered: the SNI is the outer public name */ \
  X(kReassembled, "reassembled")   /* spanned several segments / packets */            \
  X(kIpFragment, "ip_fragment")    /* from the first fragment of a datagram */         \
  X(kTunnel, "tunnel")             /* inner packet of GTP-U / GRE / IP-in-IP / VXLAN */ \
  X(kStreamGap, "stream_gap")      /* a TCP gap preceded it: resynchronised */         \
  X(kTruncated, "truncated")       /* the capture cut the packet short */              \
  X(kAnomaly, "anomaly")           /* the message had protocol anomalies */            \
  X(kNoHost, "no_host")            /* HTTP request without Host / hello without SNI */

enum ObservationFlag : uint32_t {
#define MUHAFIZ_X(name, text) name##Bit,
  MUHAFIZ_OBSERVATION_FLAGS(MUHAFIZ_X)
#undef MUHAFIZ_X
  kObservationFlagCount
};
inline constexpr uint32_t observation_flag_mask(ObservationFlag f) noexcept { return 1u << f; }
std::string_view observation_flag_name(ObservationFlag f) noexcept;

struct Observation {
  ObservationKind kind = ObservationKind::kDns;
  std::string_view host;  // lower-case name (DNS), SNI, or HTTP Host without port
  std::string_view uri;   // HTTP request-target as sent
  std::string_view method;  // HTTP method
  std::string_view alpn;  // first ALPN protocol offered (TLS/QUIC)
  uint16_t qtype = 0;     // DNS question type
  uint32_t flags = 0;     // ObservationFlag bits
  const parse::PacketInfo* packet = nullptr;  // the completing packet (addresses, ports)
  uint64_t frame = 0;     // 1-based capture record number (0 when not from a capture)
  bool has(ObservationFlag f) const noexcept { return (flags & observation_flag_mask(f)) != 0; }
};

}  // namespace muhafiz::extract
