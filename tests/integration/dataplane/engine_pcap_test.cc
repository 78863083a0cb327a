// The whole engine under EAL (--no-huge --no-shconf -m 128, lcores 0-1) in inline mode between two
// net_pcap ports. A generated capture of subscriber traffic (blocked and allowed DNS over UDP
// and TCP, HTTP, TLS in one and two segments, QUIC, ip-listed destinations, IPv4 and IPv6) goes
// in on port 0, the server side's answers for allowed flows on port 1. The output captures are
// checked packet by packet: blocked packets absent, replies present and well formed (decoded
// here, and by tshark with checksum validation), allowed packets forwarded byte for byte and in
// order. Then the access events (over the real ZeroMQ channel) and /metrics.
//
// EAL initialises once per process: one environment runs the engine once, the tests read what
// it left.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <rte_eal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/api/messages.h"
#include "dataplane/engine/engine.h"
#include "dataplane/parse/dns.h"
#include "dataplane/parse/packet.h"
#include "tests/integration/dataplane/engine_test_support.h"
#include "tests/support/packet_builder.h"
#include "tests/unit/dataplane/engine/test_ruleset.h"

namespace muhafiz::engine {
namespace {

namespace mt = muhafiz::testing;
using mt::ByteVector;
using mt::PacketBuilder;
using mt::TcpConversation;
namespace fs = std::filesystem;

constexpr const char* kClient4 = "192.0.2.10";
constexpr const char* kClient6 = "2001:db8::10";
constexpr const char* kStopPageUrl = testing::kTestStopPageUrl;

using testing::kResolver4;
using testing::kResolver6;
using testing::kServer4;
using testing::kServer6;
using testing::Reply;

// One subscriber-side input frame and what must come of it.
struct Input {
  ByteVector frame;
  bool forwarded;
  std::vector<Reply> to_client;  // out of port 0, in this order
  std::vector<Reply> to_server;  // out of port 1, in this order
};

// What the generator put in, and what the engine left.
struct EngineOutput {
  fs::path dir;
  std::vector<Input> subscriber;     // port 0 input
  std::vector<ByteVector> upstream;  // port 1 input: all forwarded
  std::vector<ByteVector> out0, out1;
  std::vector<api::AccessEvent> events;
  std::string metrics;
  std::vector<uint64_t> packets;  // per EngineCounter, summed over workers
  bool ran = false;
};
EngineOutput* g_run = nullptr;

// ---- the capture ------------------------------------------------------------------------------

PacketBuilder l4(const char* src, const char* dst) {
  PacketBuilder b;
  b.ethernet().ip(src, dst);
  return b;
}

ByteVector dns_udp(const char* client, const char* resolver, const std::string& name, uint16_t id,
                   uint16_t qtype, bool edns) {
  std::vector<mt::DnsQuestion> q{{name, qtype}};
  mt::DnsQueryOptions opt;
  if (edns) opt.edns_udp_size = 1232;
  return l4(client, resolver)
      .udp(static_cast<uint16_t>(40000 + id), 53)
      .payload(mt::dns_query(id, q, opt))
      .build();
}

ByteVector hello(const std::string& sni, size_t pad_to = 0) {
  mt::ClientHelloSpec spec;
  spec.sni = sni;
  spec.pad_to = pad_to;
  return mt::tls_records(mt::client_hello(spec));
}

ByteVector quic(const std::string& sni, uint16_t sport) {
  mt::ClientHelloSpec spec;
  spec.sni = sni;
  spec.quic = true;
  spec.alpn = {"h3"};
  mt::QuicInitialSpec q;
  q.dcid = {8, 7, 6, 5, 4, 3, 2, 1};
  q.scid = {1};
  q.crypto = {{0, mt::client_hello(spec)}};
  return l4(kClient4, kServer4).udp(sport, 443).payload(mt::quic_client_initial(q)).build();
}

mt::TcpOptions syn() {
  mt::TcpOptions o;
  o.seq = 1;
  o.flags = mt::tcp_flags::kSyn;
  return o;
}

ByteVector bytes(std::string_view s) { return ByteVector(s.begin(), s.end()); }

class Generator {
 public:
  void add(ByteVector f, bool forwarded, std::vector<Reply> to_client = {},
           std::vector<Reply> to_server = {}) {
    run_.subscriber.push_back(
        {std::move(f), forwarded, std::move(to_client), std::move(to_server)});
  }
  void up(ByteVector f) { run_.upstream.push_back(std::move(f)); }

  // Handshake, then `data` in segments cut at `cuts`. Allowed flows get the server side too.
  void tcp_flow(const char* client, const char* server, uint16_t sport, uint16_t dport,
                const ByteVector& data, bool blocked, std::vector<size_t> cuts = {},
                std::vector<Reply> to_client = {}, std::vector<Reply> to_server = {},
                const ByteVector& answer = {}) {
    TcpConversation c(l4(client, server).tcp(sport, dport), 1000u + sport, 9000u + sport);
    const std::vector<ByteVector> hs = c.handshake();
    add(hs[0], true);
    if (!blocked) up(hs[1]);  // a blocked flow's server packets would race the block: left out
    add(hs[2], true);
    const std::vector<ByteVector> parts = cuts.empty()
                                              ? std::vector<ByteVector>{c.client_send(data)}
                                              : c.client_send_split(data, cuts);
    for (size_t i = 0; i < parts.size(); ++i) {
      const bool last = i + 1 == parts.size();
      if (last && blocked) {
        add(parts[i], false, to_client, to_server);
      } else {
        add(parts[i], true);
      }
    }
    if (!blocked && !answer.empty()) up(c.server_send(answer));
  }

  EngineOutput take() { return std::move(run_); }

 private:
  EngineOutput run_;
};

EngineOutput generate() {
  using R = Reply;
  Generator g;
  g.add(PacketBuilder().ethernet_type(mt::kEtherTypeArp).payload(ByteVector(28, 0)).build(), true);
  // DNS over UDP, both families.
  g.add(dns_udp(kClient4, kResolver4, "www.blocked.example", 1, mt::kDnsTypeA, true), false,
        {R::kDnsStopPage});
  g.add(dns_udp(kClient4, kResolver4, "www.example.org", 2, mt::kDnsTypeA, false), true);
  g.up(l4(kResolver4, kClient4)
           .udp(53, 40002)
           .payload(mt::dns_response(2, "www.example.org", "198.51.100.7"))
           .build());
  g.add(dns_udp(kClient4, kResolver4, "nx.example", 3, mt::kDnsTypeA, true), false,
        {R::kDnsNxdomain});
  g.add(dns_udp(kClient6, kResolver6, "www.blocked.example", 4, mt::kDnsTypeAaaa, true), false,
        {R::kDnsStopPage});
  g.add(dns_udp(kClient4, kResolver4, "shadowed.example", 5, mt::kDnsTypeA, false), true);
  // DNS over TCP.
  g.tcp_flow(kClient4, kResolver4, 40100, 53,
             mt::dns_tcp_frame(mt::dns_query(6, "a.blocked.example")), true, {}, {R::kDnsStopPage},
             {R::kRstToServer});
  g.tcp_flow(kClient4, kResolver4, 40101, 53, mt::dns_tcp_frame(mt::dns_query(7, "example.net")),
             false, {}, {}, {},
             mt::dns_tcp_frame(mt::dns_response(7, "example.net", "198.51.100.8")));
  // HTTP.
  g.tcp_flow(kClient4, kServer4, 41000, 80,
             bytes(mt::http_request("GET", "/index.html", "www.blocked.example")), true, {},
             {R::kRedirect}, {R::kRstToServer});
  g.tcp_flow(kClient4, kServer4, 41001, 80, bytes(mt::http_request("GET", "/", "www.example.org")),
             false, {}, {}, {}, bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  // TLS: one segment (then its retransmission), two segments, IPv6, allowed, a url entry's host.
  {
    TcpConversation c(l4(kClient4, kServer4).tcp(43000, 443), 7000, 8000);
    const std::vector<ByteVector> hs = c.handshake();
    g.add(hs[0], true);
    g.add(hs[2], true);
    const ByteVector h = c.client_send(hello("one.blocked.example"));
    g.add(h, false, {R::kRstToClient}, {R::kRstToServer});
    g.add(h, false);  // retransmitted: the flow is blocked, dropped without replies
  }
  g.tcp_flow(kClient4, kServer4, 43001, 443, hello("two.blocked.example", 1800), true, {900},
             {R::kRstToClient}, {R::kRstToServer});
  g.tcp_flow(kClient6, kServer6, 43002, 443, hello("v6.blocked.example"), true, {},
             {R::kRstToClient}, {R::kRstToServer});
  g.tcp_flow(kClient4, kServer4, 43003, 443, hello("www.example.org"), false, {}, {}, {},
             mt::tls_application_data(200, 3));
  g.tcp_flow(kClient4, kServer4, 43004, 443, hello("img.example"), false);
  // QUIC: the blocked flow's Initial and its next packet are dropped.
  g.add(quic("video.blocked.example", 42000), false);
  ByteVector short_header{0x41, 1, 2, 3, 4, 5, 6, 7, 8};
  short_header.resize(80, 0x5a);
  g.add(l4(kClient4, kServer4).udp(42000, 443).payload(short_header).build(), false);
  g.add(quic("www.example.org", 42001), true);
  // Destination prefix lists.
  g.add(l4(kClient4, "203.0.113.5").tcp(44000, 443, syn()).build(), false);
  g.add(l4(kClient4, "203.0.113.9").udp(45000, 9999).payload(bytes("hello")).build(), false);
  return g.take();
}

void write_pcap(const fs::path& path, const std::vector<ByteVector>& frames) {
  mt::PcapWriter w(mt::PcapLinkType::kEthernet);
  uint64_t t = 1'700'000'000'000'000;
  for (const ByteVector& f : frames) w.add(f, t += 1000);
  w.save(path.string());
}

std::vector<ByteVector> read_pcap(const fs::path& path) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  if (p == nullptr) {
    ADD_FAILURE() << path << ": " << err;
    return {};
  }
  std::vector<ByteVector> out;
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(p, &h, &data) == 1) out.emplace_back(data, data + h->caplen);
  pcap_close(p);
  return out;
}

// ---- the run ----------------------------------------------------------------------------------

uint16_t free_tcp_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

std::string http_get(uint16_t port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n = 0;
      while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return out;
}

class EngineRun : public ::testing::Environment {
 public:
  void SetUp() override {
    static EngineOutput run = generate();
    g_run = &run;
    char tmpl[] = "/tmp/muhafiz-engine-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    run.dir = tmpl;
    std::vector<ByteVector> sub;
    for (const Input& in : run.subscriber) sub.push_back(in.frame);
    write_pcap(run.dir / "subscriber.pcap", sub);
    write_pcap(run.dir / "upstream.pcap", run.upstream);
    rules::write_snapshot((run.dir / "ruleset.snapshot").string(), testing::test_snapshot());

    EngineConfig cfg = testing::test_engine_config("engine_pcap_test", run.dir,
                                                   (run.dir / "ruleset.snapshot").string());
    cfg.ports = {"net_pcap0,rx_pcap=" + (run.dir / "subscriber.pcap").string() +
                     ",tx_pcap=" + (run.dir / "out0.pcap").string(),
                 "net_pcap1,rx_pcap=" + (run.dir / "upstream.pcap").string() +
                     ",tx_pcap=" + (run.dir / "out1.pcap").string()};
    cfg.rx_descriptors = 256;
    cfg.tx_descriptors = 256;
    cfg.flow_capacity = 4096;
    cfg.flow_buffers = 64;
    cfg.event_ring_size = 256;
    const uint16_t metrics_port = free_tcp_port();
    cfg.metrics_listen = "127.0.0.1:" + std::to_string(metrics_port);
    ASSERT_TRUE(validate(cfg).empty()) << validate(cfg).front().message;

    // The control process's end of the event channel.
    void* zmq = zmq_ctx_new();
    void* pull = zmq_socket(zmq, ZMQ_PULL);
    ASSERT_EQ(zmq_bind(pull, cfg.events_endpoint.c_str()), 0);

    init_eal(eal_arguments(cfg, "engine_pcap_test"));
    {
      Engine engine(cfg);
      engine.start();
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while ((engine.rx_packets(0) < run.subscriber.size() ||
              engine.rx_packets(1) < run.upstream.size()) &&
             std::chrono::steady_clock::now() < deadline) {
        engine.housekeeping();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      engine.stop();
      run.packets.assign(kEngineCounterCount, 0);
      for (uint32_t w = 0; w < engine.workers(); ++w) {
        for (uint32_t c = 0; c < kEngineCounterCount; ++c) {
          run.packets[c] += engine.counters(w).get(static_cast<EngineCounter>(c));
        }
      }
      std::this_thread::sleep_for(
          std::chrono::milliseconds(1100));  // one main-lcore metrics refresh
      engine.housekeeping();
      run.metrics = http_get(metrics_port, "/metrics");
    }  // ports closed: net_pcap writes its files out
    run.out0 = read_pcap(run.dir / "out0.pcap");
    run.out1 = read_pcap(run.dir / "out1.pcap");

    // Until the channel has been quiet for a while after the last batch (or 5 s pass).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    auto last = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < deadline &&
           (run.events.empty() ||
            std::chrono::steady_clock::now() - last < std::chrono::milliseconds(300))) {
      zmq_msg_t head, body;
      zmq_msg_init(&head);
      zmq_msg_init(&body);
      if (zmq_msg_recv(&head, pull, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&head);
        zmq_msg_close(&body);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      zmq_msg_recv(&body, pull, 0);
      const auto batch = api::decode_event_batch(
          {static_cast<const uint8_t*>(zmq_msg_data(&head)), zmq_msg_size(&head)},
          {static_cast<const uint8_t*>(zmq_msg_data(&body)), zmq_msg_size(&body)});
      EXPECT_TRUE(batch) << batch.error;
      if (batch)
        run.events.insert(run.events.end(), batch.value->events.begin(), batch.value->events.end());
      zmq_msg_close(&head);
      zmq_msg_close(&body);
      last = std::chrono::steady_clock::now();
    }
    zmq_close(pull);
    zmq_ctx_term(zmq);
    run.ran = true;
  }

  void TearDown() override {
    rte_eal_cleanup();
    // Kept for a look when something failed, or when MUHAFIZ_KEEP_TEST_DIR is set.
    const bool keep = ::testing::UnitTest::GetInstance()->failed_test_count() > 0 ||
                      std::getenv("MUHAFIZ_KEEP_TEST_DIR");
    if (g_run != nullptr && !g_run->dir.empty()) {
      if (keep) {
        std::fprintf(stderr, "engine_pcap_test: captures kept in %s\n", g_run->dir.c_str());
      } else {
        fs::remove_all(g_run->dir);
      }
    }
  }
};

// ---- checks -----------------------------------------------------------------------------------

bool is_client(const parse::IpAddress& a) {
  const auto v4 = mt::ip_address(kClient4);
  const auto v6 = mt::ip_address(kClient6);
  if (a.family == parse::IpFamily::kV4)
    return std::equal(v4.bytes.begin(), v4.bytes.begin() + 4, a.bytes);
  return std::equal(v6.bytes.begin(), v6.bytes.end(), a.bytes);
}

// What a reply frame is, from its own bytes; "" when it is none of ours.
std::string classify(const ByteVector& f) {
  parse::PacketInfo info;
  if (parse::decode_packet(parse::LinkType::kEthernet, parse::Bytes(f.data(), f.size()), &info) !=
      parse::ParseStatus::kOk) {
    return "";
  }
  const bool to_client = is_client(info.dst);
  if ((info.tcp_flags & parse::tcp_flag::kRst) != 0)
    return name(to_client ? Reply::kRstToClient : Reply::kRstToServer);
  const std::string_view payload(reinterpret_cast<const char*>(info.l4_payload.data()),
                                 info.l4_payload.size());
  if (to_client && payload.starts_with("HTTP/1.1 302")) return name(Reply::kRedirect);
  if (!to_client || info.src_port != 53) return "";
  parse::Bytes msg = info.l4_payload;
  if (info.l4_proto == parse::kIpProtoTcp) msg = msg.subspan(std::min<size_t>(2, msg.size()));
  auto m = std::make_unique<parse::DnsMessage>();
  if (parse::parse_dns_message(msg, m.get()) != parse::ParseStatus::kOk || !m->is_response)
    return "";
  return name(m->rcode == 3 ? Reply::kDnsNxdomain : Reply::kDnsStopPage);
}

TEST(EnginePcap, EveryInputFrameWasReceived) {
  ASSERT_TRUE(g_run != nullptr && g_run->ran);
  const EngineOutput& r = *g_run;
  uint64_t counted = 0;
  for (uint32_t c = 0; c < kEngineCounterCount; ++c) {
    if (counter_family(static_cast<EngineCounter>(c)) == "packets") counted += r.packets[c];
  }
  EXPECT_EQ(counted, r.subscriber.size() + r.upstream.size())
      << "each frame counted under one reason";
  EXPECT_EQ(r.packets[kFlowBlocked], 2u);  // the TLS retransmission and the QUIC 1-RTT packet
  EXPECT_EQ(r.packets[kIpBlocked], 2u);
}

// Port 1 carries what port 0 received, in order: allowed frames byte for byte, resets to the
// server where a blocked packet was.
TEST(EnginePcap, TowardsTheServersAllowedFramesPassUntouchedAndBlockedOnesAreReplacedByResets) {
  ASSERT_TRUE(g_run != nullptr && g_run->ran);
  const EngineOutput& r = *g_run;
  struct Want {
    const ByteVector* frame;  // forwarded, or nullptr for a reply
    std::string reply;
  };
  std::vector<Want> want;
  for (const Input& in : r.subscriber) {
    for (Reply rep : in.to_server) want.push_back({nullptr, name(rep)});
    if (in.forwarded) want.push_back({&in.frame, ""});
  }
  ASSERT_EQ(r.out1.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE("port 1 frame " + std::to_string(i + 1));
    if (want[i].frame != nullptr) {
      EXPECT_EQ(r.out1[i], *want[i].frame);
    } else {
      EXPECT_EQ(classify(r.out1[i]), want[i].reply);
    }
  }
}

// Port 0 carries the server side (forwarded as received) and the replies to subscribers; the
// two come from different RX ports, so only each one's own order is fixed.
TEST(EnginePcap, TowardsTheSubscribersServerFramesPassAndRepliesArrive) {
  ASSERT_TRUE(g_run != nullptr && g_run->ran);
  const EngineOutput& r = *g_run;
  std::vector<std::string> replies_wanted;
  for (const Input& in : r.subscriber) {
    for (Reply rep : in.to_client) replies_wanted.push_back(name(rep));
  }
  size_t next_forward = 0;
  std::vector<std::string> replies_seen;
  for (const ByteVector& f : r.out0) {
    if (next_forward < r.upstream.size() && f == r.upstream[next_forward]) {
      ++next_forward;
    } else {
      replies_seen.push_back(classify(f));
    }
  }
  EXPECT_EQ(next_forward, r.upstream.size()) << "every server frame forwarded, in order, unchanged";
  EXPECT_EQ(replies_seen, replies_wanted);
}

// tshark decodes every output frame without complaint, checksums included, and reads the
// replies as intended.
TEST(EnginePcap, TsharkFindsTheRepliesWellFormed) {
  ASSERT_TRUE(g_run != nullptr && g_run->ran);
  if (std::system("tshark --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "tshark not installed";
  for (const char* out : {"out0.pcap", "out1.pcap"}) {
    SCOPED_TRACE(out);
    const std::string cmd =
        "tshark -n -r " + (g_run->dir / out).string() +
        " -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE"
        " -T fields -E separator='|' -e frame.number -e _ws.expert.severity -e _ws.malformed"
        " -e ip.checksum.status -e tcp.checksum.status -e udp.checksum.status"
        " -e dns.flags.rcode -e dns.opt.ext_error.info_code -e dns.a -e dns.aaaa"
        " -e http.response.code -e http.location -e tcp.flags.reset 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string text;
    char buf[4096];
    size_t n = 0;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
    ASSERT_EQ(pclose(p), 0);
    std::map<std::string, int> seen;
    size_t lines = 0;
    for (size_t start = 0; start < text.size();) {
      const size_t end = text.find('\n', start);
      const std::string line = text.substr(start, end - start);
      start = end == std::string::npos ? text.size() : end + 1;
      std::vector<std::string> f;
      for (size_t a = 0;;) {
        const size_t b = line.find('|', a);
        f.push_back(line.substr(a, b - a));
        if (b == std::string::npos) break;
        a = b + 1;
      }
      ASSERT_EQ(f.size(), 13u) << line;
      ++lines;
      SCOPED_TRACE(line);
      // Severity is a list; "error" level is 8388608 (0x00800000) in Wireshark's expert info.
      EXPECT_EQ(f[1].find("8388608"), std::string::npos);
      EXPECT_TRUE(f[2].empty());
      // Checksum status: 0 bad, 1 good, 2 unverified, 3 not present, 4 illegal (Wireshark's
      // proto.h).
      for (int i = 3; i <= 5; ++i)
        EXPECT_TRUE(f[i].empty() || f[i] == "1") << "checksum status " << f[i];
      if (!f[7].empty()) {
        EXPECT_EQ(f[7], "16");  // EDE INFO-CODE: censored
        ++seen["ede"];
      }
      if (f[6] == "3") ++seen["nxdomain"];
      if (f[8] == "192.0.2.80") ++seen["stop_a"];
      if (f[9] == "2001:db8::80") ++seen["stop_aaaa"];
      if (f[10] == "302") {
        EXPECT_EQ(f[11].rfind(kStopPageUrl, 0), 0u) << f[11];
        ++seen["redirect"];
      }
    }
    EXPECT_EQ(lines, std::string(out) == "out0.pcap" ? g_run->out0.size() : g_run->out1.size());
    if (std::string(out) == "out0.pcap") {
      EXPECT_EQ(seen["ede"], 3);  // the three queries with EDNS
      EXPECT_EQ(seen["nxdomain"], 1);
      EXPECT_EQ(seen["stop_a"], 2);  // www.blocked.example over UDP, a.blocked.example over TCP
      EXPECT_EQ(seen["stop_aaaa"], 1);
      EXPECT_EQ(seen["redirect"], 1);
    }
  }
}

TEST(EnginePcap, EveryMatchReachedTheControlProcessAsAnAccessEvent) {
  ASSERT_TRUE(g_run != nullptr && g_run->ran);
  std::multimap<std::string, uint8_t> got;
  for (const api::AccessEvent& ev : g_run->events) {
    EXPECT_EQ(api::validate(ev), "");
    got.emplace(std::string(api::to_string(ev.kind)) + " " + std::string(ev.name_view()), ev.flags);
  }
  const std::multimap<std::string, uint8_t> want{
      {"dns www.blocked.example", api::kEventEnforced},
      {"dns nx.example", api::kEventEnforced},
      {"dns www.blocked.example", api::kEventEnforced},
      {"dns shadowed.example", api::kEventShadow},
      {"dns a.blocked.example", api::kEventEnforced},
      {"http www.blocked.example/index.html", api::kEventEnforced},
      {"tls_sni one.blocked.example", api::kEventEnforced},
      {"tls_sni two.blocked.example", api::kEventEnforced},
      {"tls_sni v6.blocked.example", api::kEventEnforced},
      {"tls_sni img.example", api::kEventUrlNotEnforceable},
      {"quic_sni video.blocked.example", api::kEventEnforced},
      {"ip ", api::kEventEnforced},
      {"ip ", api::kEventEnforced},
  };
  EXPECT_EQ(got, want);
}

TEST(EnginePcap, MetricsAreServedWithLabels) {
  ASSERT_TRUE(g_run != nullptr && g_run->ran);
  const std::string& m = g_run->metrics;
  ASSERT_NE(m.find("200 OK"), std::string::npos) << m.substr(0, 200);
  const std::string rx0 = "muhafiz_dataplane_rx_packets_total{lcore=\"1\",port=\"net_pcap0\"} " +
                          std::to_string(g_run->subscriber.size());
  EXPECT_NE(m.find(rx0), std::string::npos) << rx0;
  EXPECT_NE(m.find("muhafiz_dataplane_packets_total{lcore=\"1\",reason=\"blocked\"} " +
                   std::to_string(g_run->packets[kBlocked])),
            std::string::npos);
  EXPECT_NE(m.find("muhafiz_dataplane_matches_total{list=\"pta-csam\",reason=\"enforced\"}"),
            std::string::npos);
  EXPECT_NE(m.find("muhafiz_dataplane_ruleset_version"), std::string::npos);
  EXPECT_EQ(m.find("_total_total"), std::string::npos);
}

}  // namespace
}  // namespace muhafiz::engine

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new muhafiz::engine::EngineRun);
  return RUN_ALL_TESTS();
}
