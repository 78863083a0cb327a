#include "perf/dataplane/bench_frames.h"

#include <stdexcept>

namespace muhafiz::perf {
namespace {

constexpr size_t kEthernetHeader = 14;
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr size_t kIpv4ChecksumAt = 10;
constexpr size_t kIpv4SrcAt = 12;
constexpr size_t kTcpSeqAt = 4;
constexpr size_t kTcpChecksumAt = 16;  // RFC 9293 §3.1
constexpr size_t kUdpChecksumAt = 6;   // RFC 768
// Client ports from Linux's default ephemeral range (ip_local_port_range 32768..60999): it
// stays clear of the ports the extractor treats specially (53, 137/138, 1900, 5353, 5355).
constexpr uint32_t kFirstClientPort = 32768;
constexpr uint32_t kPortsPerAddress = 28232;

uint16_t get16(const mt::ByteVector& f, size_t at) {
  return static_cast<uint16_t>((f[at] << 8) | f[at + 1]);
}
void set16(mt::ByteVector& f, size_t at, uint16_t v) {
  f[at] = static_cast<uint8_t>(v >> 8);
  f[at + 1] = static_cast<uint8_t>(v);
}

// RFC 1624 §3, eqn. 3: HC' = ~(~HC + ~m + m').
uint16_t updated_checksum(uint16_t sum, uint16_t old_word, uint16_t new_word) {
  uint32_t s = static_cast<uint16_t>(~sum) +
               static_cast<uint32_t>(static_cast<uint16_t>(~old_word)) + new_word;
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s);
}

}  // namespace

mt::ByteVector bench_dns_query(uint16_t id, const std::string& name) {
  const mt::DnsQuestion q[] = {{name, mt::kDnsTypeA, 1}};
  // EDNS with a 1232-byte payload size, as current stub resolvers send (DNS Flag Day 2020).
  return mt::dns_query(id, q,
                       {.recursion_desired = true, .compress = false, .edns_udp_size = 1232});
}

mt::ByteVector bench_tls_hello(const std::string& sni, uint64_t seed) {
  mt::ClientHelloSpec s;
  s.sni = sni;
  s.alpn = {"h2", "http/1.1"};
  s.seed = seed;
  s.pad_to = 512;
  return mt::client_hello(s);
}

mt::ByteVector bench_pq_tls_hello(const std::string& sni, uint64_t seed) {
  mt::ClientHelloSpec s;
  s.sni = sni;
  s.alpn = {"h2", "http/1.1"};
  s.post_quantum = true;
  s.seed = seed;
  s.pad_to = 1800;
  return mt::client_hello(s);
}

mt::ByteVector bench_quic_hello(const std::string& sni, uint64_t seed) {
  mt::ClientHelloSpec s;
  s.sni = sni;
  s.alpn = {"h3"};
  s.quic = true;
  s.seed = seed;
  return mt::client_hello(s);
}

mt::ByteVector bench_quic_short(size_t len, uint64_t seed) {
  mt::ByteVector p = mt::pseudo_random_bytes(len, seed);
  p[0] = static_cast<uint8_t>(0x40 | (p[0] & 0x3f));
  return p;
}

std::vector<mt::ByteVector> bench_quic_initials(const mt::PacketBuilder& up, const mt::ByteVector& hello,
                                                bool split, uint64_t dcid_seed, uint64_t scid_seed) {
  const mt::ByteVector dcid = mt::pseudo_random_bytes(8, dcid_seed);
  const mt::ByteVector scid = mt::pseudo_random_bytes(8, scid_seed);
  std::vector<mt::QuicCryptoChunk> chunks;
  if (split) {
    const size_t cut[] = {hello.size() / 2};
    chunks = mt::quic_crypto_chunks(hello, cut);
  } else {
    chunks = mt::quic_crypto_chunks(hello, {});
  }
  std::vector<mt::ByteVector> out;
  for (size_t i = 0; i < chunks.size(); ++i) {
    mt::QuicInitialSpec s;
    s.dcid = dcid;
    s.scid = scid;
    s.packet_number = static_cast<uint32_t>(i);
    s.crypto = {chunks[i]};
    out.push_back(mt::PacketBuilder(up).payload(mt::quic_client_initial(s)).build());
  }
  return out;
}

std::vector<mt::ByteVector> bench_quic_short_exchange(const mt::PacketBuilder& up,
                                                      const std::vector<mt::ByteVector>& pool,
                                                      int packets) {
  const mt::PacketBuilder down = up.reversed();
  std::vector<mt::ByteVector> out;
  for (int i = 0; i < packets; ++i) {
    const mt::ByteVector& p = pool[static_cast<size_t>(i) % pool.size()];
    if (i % 3 == 2) {
      out.push_back(mt::PacketBuilder(up).payload(mt::ByteView(p).first(60)).build());
    } else {
      out.push_back(mt::PacketBuilder(down).payload(p).build());
    }
  }
  return out;
}

std::string bench_http_get(const std::string& host, const std::string& path) {
  const mt::HttpHeader headers[] = {
      {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
      {"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
      {"Accept-Language", "en-US,en;q=0.5"},
      {"Accept-Encoding", "gzip, deflate"},
      {"Connection", "keep-alive"},
      {"Upgrade-Insecure-Requests", "1"},
  };
  return mt::http_request("GET", path, host, headers);
}

FlowRewriter::FlowRewriter(const mt::ByteVector& frame) {
  if (frame.size() < kEthernetHeader + 20 || get16(frame, 12) != kEtherTypeIpv4) {
    throw std::invalid_argument("FlowRewriter: not an Ethernet/IPv4 frame");
  }
  ip_ = kEthernetHeader;
  l4_ = ip_ + size_t{frame[ip_] & 0x0fu} * 4;
  const uint8_t proto = frame[ip_ + 9];
  if (proto != mt::kIpProtocolTcp && proto != mt::kIpProtocolUdp) {
    throw std::invalid_argument("FlowRewriter: neither TCP nor UDP");
  }
  tcp_ = proto == mt::kIpProtocolTcp;
  l4_sum_ = l4_ + (tcp_ ? kTcpChecksumAt : kUdpChecksumAt);
  if (frame.size() < l4_sum_ + 2) throw std::invalid_argument("FlowRewriter: frame too short");
}

void FlowRewriter::put_word(mt::ByteVector& frame, size_t at, uint16_t value, bool in_ip_header,
                            bool in_l4_sum) const {
  const uint16_t old = get16(frame, at);
  if (old == value) return;
  set16(frame, at, value);
  if (in_ip_header) {
    set16(frame, ip_ + kIpv4ChecksumAt,
          updated_checksum(get16(frame, ip_ + kIpv4ChecksumAt), old, value));
  }
  if (in_l4_sum) {
    uint16_t sum = updated_checksum(get16(frame, l4_sum_), old, value);
    if (!tcp_ && sum == 0) sum = 0xffff;  // RFC 768: zero means "no checksum"
    set16(frame, l4_sum_, sum);
  }
}

void FlowRewriter::set_flow(mt::ByteVector& frame, uint32_t n) const {
  // The source address is in the L4 pseudo-header too (RFC 768, RFC 9293 §3.1).
  put_word(frame, ip_ + kIpv4SrcAt + 2, static_cast<uint16_t>(n / kPortsPerAddress), true, true);
  put_word(frame, l4_, static_cast<uint16_t>(kFirstClientPort + n % kPortsPerAddress), false, true);
}

void FlowRewriter::set_tcp_seq(mt::ByteVector& frame, uint32_t seq) const {
  put_word(frame, l4_ + kTcpSeqAt, static_cast<uint16_t>(seq >> 16), false, true);
  put_word(frame, l4_ + kTcpSeqAt + 2, static_cast<uint16_t>(seq), false, true);
}

}  // namespace muhafiz::perf
