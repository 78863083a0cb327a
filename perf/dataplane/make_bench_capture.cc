// muhafiz-make-bench-capture OUT.pcap [--packets N] [--seed S] [--concurrent F]: writes the
// large capture that perf/run_dataplane_bench.sh feeds to muhafiz-inspect and to ndpiReader.
//
// A link-like mix, reproducible from the seed: F flows (default 512) are open at any time and
// their packets interleave at random; a flow that ends is replaced by a new one of a random
// kind. Kinds, by share of flows: DNS over UDP, query and response (30%); HTTPS (38%; 40% of
// them with a post-quantum ClientHello split over two segments), server records then bulk data
// with an ACK every second segment, and FIN; QUIC v1 (12%; half with a post-quantum hello over
// two Initials), then short-header packets both ways; HTTP/1.1 GET then a response body (8%);
// other TCP with opaque data both ways (12%). So most packets are TCP bulk data of established
// flows. 20% of flows are IPv6. Frames are Ethernet, full size (no snap length), pcap with
// microsecond timestamps ~10 us apart (a 100 kpps link). Addresses: clients in 100.64.0.0/10
// (RFC 6598) and 2001:db8:c::/48, servers in the RFC 5737 / RFC 3849 documentation ranges.
//
// Prints one JSON object: packets, bytes, flows by kind, and the observations a correct
// extractor reports (those whose completing frame was written), to check muhafiz-inspect.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "perf/dataplane/bench_frames.h"
#include "tests/support/packet_builder.h"

namespace {

namespace mt = muhafiz::testing;
using mt::ByteVector;
using mt::PacketBuilder;
using mt::TcpConversation;

constexpr uint64_t kStartUsec = 1700000000ULL * 1000000ULL;
constexpr size_t kBulkSegment = 1448;  // MSS with a 1500 MTU and TCP timestamps
constexpr size_t kQuicShortPacket = 1252;
constexpr uint32_t kSnapLen = 262144;
constexpr size_t kWriteBuffer = size_t{1} << 22;

enum Expect : int8_t { kNone = -1, kDns = 0, kTls = 1, kQuic = 2, kHttp = 3 };

// Classic pcap (little-endian, microseconds), written as it goes: a million frames do not
// have to sit in memory as with the test PcapWriter.
class PcapStream {
 public:
  explicit PcapStream(const std::string& path) : file_(std::fopen(path.c_str(), "wb")) {
    if (file_ == nullptr) throw std::runtime_error("cannot create " + path);
    buffer_ = std::make_unique<char[]>(kWriteBuffer);
    std::setvbuf(file_, buffer_.get(), _IOFBF, kWriteBuffer);
    ByteVector h;
    mt::append_u32le(h, 0xa1b2c3d4);
    mt::append_u16le(h, 2);
    mt::append_u16le(h, 4);
    mt::append_u32le(h, 0);  // thiszone
    mt::append_u32le(h, 0);  // sigfigs
    mt::append_u32le(h, kSnapLen);
    mt::append_u32le(h, static_cast<uint32_t>(mt::PcapLinkType::kEthernet));
    put(h);
  }
  PcapStream(const PcapStream&) = delete;
  PcapStream& operator=(const PcapStream&) = delete;
  ~PcapStream() {
    if (file_ != nullptr) std::fclose(file_);
  }

  void add(const ByteVector& frame, uint64_t usec) {
    ByteVector h;
    mt::append_u32le(h, static_cast<uint32_t>(usec / 1000000));
    mt::append_u32le(h, static_cast<uint32_t>(usec % 1000000));
    mt::append_u32le(h, static_cast<uint32_t>(frame.size()));
    mt::append_u32le(h, static_cast<uint32_t>(frame.size()));
    put(h);
    put(frame);
  }
  void close(const std::string& path) {
    const bool ok = std::fflush(file_) == 0 && std::ferror(file_) == 0;
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    if (!ok || !closed) throw std::runtime_error("writing " + path + " failed");
  }
  uint64_t bytes() const { return bytes_; }

 private:
  void put(const ByteVector& b) {
    if (std::fwrite(b.data(), 1, b.size(), file_) != b.size())
      throw std::runtime_error("short write");
    bytes_ += b.size();
  }
  std::FILE* file_;
  std::unique_ptr<char[]> buffer_;
  uint64_t bytes_ = 0;
};

struct FlowFrames {
  std::vector<ByteVector> frames;
  std::vector<Expect> completes;  // per frame: the observation it completes, if any
  size_t next = 0;
  void add(ByteVector f, Expect e = kNone) {
    frames.push_back(std::move(f));
    completes.push_back(e);
  }
  void add(std::vector<ByteVector> fs, Expect last = kNone) {
    for (size_t i = 0; i < fs.size(); ++i) add(std::move(fs[i]), i + 1 == fs.size() ? last : kNone);
  }
};

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {
    for (uint64_t i = 0; i < 4; ++i)
      bulk_.push_back(mt::tls_application_data(kBulkSegment - 5, 100 + i));
    for (uint64_t i = 0; i < 4; ++i)
      opaque_.push_back(mt::pseudo_random_bytes(kBulkSegment, 200 + i));
    for (uint64_t i = 0; i < 4; ++i)
      quic_short_.push_back(muhafiz::perf::bench_quic_short(kQuicShortPacket, 300 + i));
  }

  FlowFrames next_flow() {
    ++flow_id_;
    const int pick = uniform(0, 99);
    if (pick < 30) return dns_flow();
    if (pick < 68) return tls_flow();
    if (pick < 80) return quic_flow();
    if (pick < 88) return http_flow();
    return opaque_tcp_flow();
  }

  nlohmann::ordered_json flow_counts() const {
    return {{"dns", flows_[0]},
            {"tls", flows_[1]},
            {"tls_post_quantum", pq_tls_},
            {"quic", flows_[2]},
            {"quic_post_quantum", pq_quic_},
            {"http", flows_[3]},
            {"other_tcp", flows_[4]}};
  }

 private:
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  bool v6() { return uniform(0, 99) < 20; }
  std::string client(bool six) {
    const uint32_t n = flow_id_ % 60000;
    if (six) return "2001:db8:c::" + hex(n);
    return "100." + std::to_string(64 + n / 65536 % 64) + "." + std::to_string(n / 256 % 256) +
           "." + std::to_string(n % 256);
  }
  std::string server(bool six) {
    static const char* const v4[] = {"192.0.2.", "198.51.100.", "203.0.113."};
    const int s = uniform(1, 254);
    if (six) return "2001:db8:5::" + hex(static_cast<uint32_t>(s));
    return v4[s % 3] + std::to_string(s);
  }
  static std::string hex(uint32_t n) {
    char b[16];
    std::snprintf(b, sizeof b, "%x", n);
    return b;
  }
  uint16_t client_port() { return static_cast<uint16_t>(uniform(32768, 60999)); }
  std::string host() {
    static const char* const prefixes[] = {"www", "cdn",   "api",  "static",
                                           "img", "video", "mail", "login"};
    static const char* const domains[] = {"example.com", "example.net", "example.org", "example"};
    const int site = uniform(0, 4999);
    return std::string(prefixes[uniform(0, 7)]) + "." + "site" + std::to_string(site) + "." +
           domains[uniform(0, 3)];
  }
  PacketBuilder eth_ip(bool six) { return PacketBuilder().ethernet().ip(client(six), server(six)); }
  TcpConversation conversation(bool six, uint16_t dport) {
    return TcpConversation(eth_ip(six).tcp(client_port(), dport), static_cast<uint32_t>(rng_()),
                           static_cast<uint32_t>(rng_()));
  }
  // Server bulk data, the client ACKing every second segment.
  void bulk(FlowFrames& f, TcpConversation& c, int segments, const std::vector<ByteVector>& pool) {
    for (int i = 0; i < segments; ++i) {
      f.add(c.server_send(pool[static_cast<size_t>(i) % pool.size()]));
      if (i % 2 == 1) f.add(c.client_ack());
    }
  }

  FlowFrames dns_flow() {
    ++flows_[0];
    const bool six = v6();
    FlowFrames f;
    const std::string name = host();
    const auto id = static_cast<uint16_t>(rng_());
    PacketBuilder q =
        PacketBuilder().ethernet().ip(client(six), six ? "2001:db8:53::53" : "198.51.100.53");
    q.udp(client_port(), 53);
    f.add(PacketBuilder(q).payload(muhafiz::perf::bench_dns_query(id, name)).build(), kDns);
    f.add(q.reversed()
              .payload(mt::dns_response(id, name, six ? "2001:db8:5::80" : "203.0.113.80"))
              .build());
    return f;
  }

  FlowFrames tls_flow() {
    ++flows_[1];
    const bool six = v6();
    const bool pq = uniform(0, 99) < 40;
    FlowFrames f;
    TcpConversation c = conversation(six, 443);
    f.add(c.handshake());
    if (pq) {
      ++pq_tls_;
      const ByteVector records = mt::tls_records(muhafiz::perf::bench_pq_tls_hello(host(), rng_()));
      const size_t cut[] = {kBulkSegment};
      f.add(c.client_send_split(records, cut), kTls);
    } else {
      f.add(c.client_send(mt::tls_records(muhafiz::perf::bench_tls_hello(host(), rng_()))), kTls);
    }
    f.add(c.server_send(
        mt::tls_application_data(kBulkSegment - 5, rng_() % 4)));  // hello, certificate...
    f.add(c.client_send(mt::tls_application_data(80, 7)));         // Finished, request
    bulk(f, c, uniform(10, 110), bulk_);
    f.add(c.close());
    return f;
  }

  FlowFrames quic_flow() {
    ++flows_[2];
    const bool six = v6();
    const bool pq = uniform(0, 99) < 50;
    FlowFrames f;
    mt::ClientHelloSpec spec;
    spec.sni = host();
    spec.alpn = {"h3"};
    spec.quic = true;
    spec.post_quantum = pq;
    spec.seed = rng_();
    const ByteVector hello = mt::client_hello(spec);
    PacketBuilder up = eth_ip(six);
    up.udp(client_port(), 443);
    const uint64_t dcid_seed = rng_();
    const uint64_t scid_seed = rng_();
    if (pq) ++pq_quic_;
    f.add(muhafiz::perf::bench_quic_initials(up, hello, pq, dcid_seed, scid_seed), kQuic);
    f.add(muhafiz::perf::bench_quic_short_exchange(up, quic_short_, uniform(5, 60)));
    return f;
  }

  FlowFrames http_flow() {
    ++flows_[3];
    const bool six = v6();
    FlowFrames f;
    TcpConversation c = conversation(six, 80);
    f.add(c.handshake());
    const std::string path = "/article/" + std::to_string(uniform(1, 999999)) + "?ref=home";
    f.add(c.client_send(mt::to_bytes(muhafiz::perf::bench_http_get(host(), path))), kHttp);
    f.add(c.server_send(mt::to_bytes(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 40000\r\n\r\n")));
    bulk(f, c, uniform(2, 30), opaque_);
    f.add(c.close());
    return f;
  }

  FlowFrames opaque_tcp_flow() {
    ++flows_[4];
    static const uint16_t ports[] = {22, 993, 5222, 8443, 1194, 3389};
    const bool six = v6();
    FlowFrames f;
    TcpConversation c = conversation(six, ports[uniform(0, 5)]);
    f.add(c.handshake());
    f.add(c.client_send(mt::ByteView(opaque_[0]).first(40)));
    bulk(f, c, uniform(10, 100), opaque_);
    f.add(c.close());
    return f;
  }

  std::mt19937_64 rng_;
  uint32_t flow_id_ = 0;
  uint64_t flows_[5] = {};
  uint64_t pq_tls_ = 0, pq_quic_ = 0;
  std::vector<ByteVector> bulk_, opaque_, quic_short_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string out;
  uint64_t packets = 1'000'000;
  uint64_t seed = 1;
  size_t concurrent = 512;
  CLI::App app{"Writes the large, reproducible traffic-mix capture of the extraction benchmark.",
               "muhafiz-make-bench-capture"};
  app.add_option("out", out, "pcap file to write")->required();
  app.add_option("--packets", packets, "number of frames")
      ->default_val(packets)
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "mix seed")->default_val(seed);
  app.add_option("--concurrent", concurrent, "flows open at once")
      ->default_val(concurrent)
      ->check(CLI::Range(1, 100000));
  CLI11_PARSE(app, argc, argv);

  try {
    Generator gen(seed);
    std::mt19937_64 pick(seed ^ 0x9e3779b97f4a7c15ULL);
    std::vector<FlowFrames> open;
    for (size_t i = 0; i < concurrent; ++i) open.push_back(gen.next_flow());
    PcapStream pcap(out);
    uint64_t expected[4] = {};
    uint64_t usec = kStartUsec;
    for (uint64_t n = 0; n < packets; ++n) {
      const size_t i = std::uniform_int_distribution<size_t>(0, open.size() - 1)(pick);
      FlowFrames& f = open[i];
      pcap.add(f.frames[f.next], usec);
      if (f.completes[f.next] != kNone) ++expected[f.completes[f.next]];
      usec += 1 + pick() % 19;
      if (++f.next == f.frames.size()) f = gen.next_flow();
    }
    pcap.close(out);
    nlohmann::ordered_json j;
    j["capture"] = out;
    j["packets"] = packets;
    j["bytes"] = pcap.bytes();
    j["seed"] = seed;
    j["flows_started"] = gen.flow_counts();
    j["expected_observations"] = {{"dns", expected[kDns]},
                                  {"tls_sni", expected[kTls]},
                                  {"quic_sni", expected[kQuic]},
                                  {"http", expected[kHttp]}};
    std::cout << j.dump() << '\n';
  } catch (const std::exception& e) {
    std::cerr << "muhafiz-make-bench-capture: " << e.what() << '\n';
    return 2;
  }
  return 0;
}
