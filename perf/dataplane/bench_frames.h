// Frames for the extraction benchmark and the benchmark capture, built with the test packet
// builder, plus an in-place rewriter that turns one frame into many flows without rebuilding
// it (and so without allocating in a measured loop).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/packet_builder.h"

namespace muhafiz::perf {

namespace mt = muhafiz::testing;

// Documentation ranges (RFC 5737). Clients sit in 10.0.0.0/8 so that the client is always the
// lower endpoint of the canonical flow key, whatever its last two bytes.
inline constexpr const char* kBenchClient = "10.1.0.1";
inline constexpr const char* kBenchResolver = "198.51.100.53";
inline constexpr const char* kBenchWeb = "203.0.113.80";

// Realistic payloads: names and sizes are those of the cases in perf/RESULTS.md.
mt::ByteVector bench_dns_query(uint16_t id, const std::string& name);
// Browser-like hello: SNI, ALPN h2 + http/1.1, GREASE, padded to 512 bytes (RFC 7685), as
// clients pad to dodge middlebox bugs with 256..511-byte hellos.
mt::ByteVector bench_tls_hello(const std::string& sni, uint64_t seed);
// Chrome-like post-quantum hello (X25519MLKEM768 share), 1800 bytes of handshake message.
mt::ByteVector bench_pq_tls_hello(const std::string& sni, uint64_t seed);
mt::ByteVector bench_quic_hello(const std::string& sni, uint64_t seed);
std::string bench_http_get(const std::string& host, const std::string& path);

// A QUIC short-header packet (RFC 9000 §17.3: header form 0, fixed bit 1) of `len` bytes.
mt::ByteVector bench_quic_short(size_t len, uint64_t seed);
// The client Initial packets that carry a QUIC `hello` on the client's flow `up` (Ethernet, IP,
// UDP): one, or two when `split` (the CRYPTO data cut in half). CIDs of 8 bytes from the seeds.
std::vector<mt::ByteVector> bench_quic_initials(const mt::PacketBuilder& up,
                                                const mt::ByteVector& hello, bool split,
                                                uint64_t dcid_seed, uint64_t scid_seed);
// `packets` short-header packets after the handshake, cycling through `pool`: two from the
// server, then a 60-byte client acknowledgement.
std::vector<mt::ByteVector> bench_quic_short_exchange(const mt::PacketBuilder& up,
                                                      const std::vector<mt::ByteVector>& pool,
                                                      int packets);

// Rewrites the client address (last two bytes), client port and TCP sequence number of an
// Ethernet + IPv4 (+ TCP or UDP) frame in place, keeping the IP and L4 checksums right with
// the incremental update of RFC 1624 §3. The frame's own values are the defaults.
class FlowRewriter {
 public:
  // Throws std::invalid_argument when the frame is not Ethernet/IPv4/TCP-or-UDP from the client.
  explicit FlowRewriter(const mt::ByteVector& frame);

  // Flow number n -> client port 32768 + n % 28232, client address low word n / 28232: 1.8e9
  // distinct 5-tuples before one repeats.
  void set_flow(mt::ByteVector& frame, uint32_t n) const;
  void set_tcp_seq(mt::ByteVector& frame, uint32_t seq) const;
  bool is_tcp() const { return tcp_; }

 private:
  void put_word(mt::ByteVector& frame, size_t at, uint16_t value, bool in_ip_header,
                bool in_l4_sum) const;

  size_t ip_ = 0;
  size_t l4_ = 0;
  size_t l4_sum_ = 0;
  bool tcp_ = false;
};

// Fills a flow table of `capacity` flows with twice as many other flows, so that every new flow
// of a benchmark evicts one, as on a busy link: SYNs from 10.2.0.0/16 to kBenchWeb:443 with TCP
// sequence number `seq`, each a distinct 5-tuple (FlowRewriter), handed to `feed` one by one.
template <typename Feed>
void feed_prefill_syns(uint32_t capacity, uint32_t seq, Feed&& feed) {
  mt::TcpOptions opts;
  opts.seq = seq;
  opts.flags = mt::tcp_flags::kSyn;
  mt::ByteVector syn =
      mt::PacketBuilder().ethernet().ipv4("10.2.0.1", kBenchWeb).tcp(40000, 443, opts).build();
  const FlowRewriter rw(syn);
  for (uint32_t n = 0; n < 2 * capacity; ++n) {
    rw.set_flow(syn, n);
    feed(syn);
  }
}

}  // namespace muhafiz::perf
