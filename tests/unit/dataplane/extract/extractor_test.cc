// Extraction over flows: hand-built frames through Extractor::process, table-driven
// ({description, frames, expected observations}), plus the counters a stage must keep.
#include "dataplane/extract/extractor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "tests/support/packet_builder.h"

namespace muhafiz::extract {
namespace {

using testing::ByteVector;
using testing::PacketBuilder;
using testing::TcpConversation;

struct Seen {
  uint64_t frame;
  std::string kind, host, uri;
  uint32_t flags;
  bool operator==(const Seen&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Seen& s) {
  return os << "{" << s.frame << " " << s.kind << " " << s.host << " " << s.uri
            << " flags=" << s.flags << "}";
}

class Collect final : public ObservationSink {
 public:
  void on_observation(const Observation& o) noexcept override {
    seen.push_back({o.frame, std::string(to_string(o.kind)), std::string(o.host),
                    std::string(o.uri), o.flags});
  }
  std::vector<Seen> seen;
};

struct Outcome {
  std::vector<Seen> seen;
  ExtractStats stats;
};

// Frames fed one by one, numbered from 1, the clock 1 ms a frame.
struct Feeder {
  explicit Feeder(const ExtractorConfig& cfg) : ex(cfg) {}
  void operator()(const ByteVector& f) {
    ++n;
    ex.process(parse::LinkType::kEthernet, parse::Bytes(f.data(), f.size()), n, n * 1000, sink);
  }
  Extractor ex;
  Collect sink;
  uint64_t n = 0;
};

Outcome run(const std::vector<ByteVector>& frames) {
  Feeder feed(ExtractorConfig{{1024, 16, 120'000'000}});
  for (const ByteVector& f : frames) feed(f);
  return {feed.sink.seen, feed.ex.stats()};
}

constexpr uint32_t kReassembled = 1u << kReassembledBit;
constexpr uint32_t kEch = 1u << kEchBit;
constexpr uint32_t kGap = 1u << kStreamGapBit;
constexpr uint32_t kAnomaly = 1u << kAnomalyBit;

PacketBuilder tcp_base(uint16_t sport, uint16_t dport) {
  PacketBuilder b;
  b.ethernet().ipv4("192.0.2.10", "198.51.100.20").tcp(sport, dport);
  return b;
}
PacketBuilder udp_frame(uint16_t sport, uint16_t dport, const ByteVector& payload) {
  PacketBuilder b;
  b.ethernet().ipv4("192.0.2.10", "198.51.100.53").udp(sport, dport).payload(payload);
  return b;
}
ByteVector hello(std::string sni, bool post_quantum = false, bool ech = false, bool quic = false) {
  testing::ClientHelloSpec spec;
  spec.sni = std::move(sni);
  spec.post_quantum = post_quantum;
  if (post_quantum) spec.pad_to = 1800;  // Chrome's ML-KEM hellos are ~1.8 KB
  spec.ech = ech;
  spec.quic = quic;
  if (quic) spec.alpn = {"h3"};
  return testing::client_hello(spec);
}
testing::QuicInitialSpec initial(ByteVector dcid, uint32_t pn, uint64_t offset, ByteVector data) {
  testing::QuicInitialSpec spec;
  spec.dcid = std::move(dcid);
  spec.scid = {9};
  spec.packet_number = pn;
  spec.crypto = {{offset, std::move(data)}};
  return spec;
}
ByteVector bytes(std::string_view s) { return ByteVector(s.begin(), s.end()); }
void append(std::vector<ByteVector>& out, const std::vector<ByteVector>& more) {
  out.insert(out.end(), more.begin(), more.end());
}

TEST(Extractor, TlsHelloSplitOverTwoSegmentsCompletesOnTheSecond) {
  TcpConversation c(tcp_base(40000, 443), 1000, 5000);
  std::vector<ByteVector> frames = c.handshake();  // frames 1-3
  const ByteVector records = testing::tls_records(hello("PQ.Example.com", true));
  ASSERT_GT(records.size(), 1700u);
  const size_t cut[] = {900};
  append(frames, c.client_send_split(records, cut));  // frames 4, 5
  const Outcome r = run(frames);
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0], (Seen{5, "tls_sni", "pq.example.com", "", kReassembled}));
}

// A hello whose ALPN list length overruns its extension (as in nDPI's tls_invalid_reads
// capture) still names its server: the observation carries the anomaly flag, and the hello is
// not counted malformed.
TEST(Extractor, HelloWithABrokenAlpnIsReportedFlagged) {
  testing::ClientHelloSpec spec;
  spec.sni = "broken.example";
  spec.alpn = {"h2"};
  ByteVector ch = testing::client_hello(spec);
  // ALPN: type 16, 5 bytes, list of 3 = "h2". The list length becomes 47,241.
  const ByteVector alpn = {0x00, 0x10, 0x00, 0x05, 0x00, 0x03, 0x02, 'h', '2'};
  const auto at = std::search(ch.begin(), ch.end(), alpn.begin(), alpn.end());
  ASSERT_NE(at, ch.end());
  at[4] = 0xb8;
  at[5] = 0x89;
  TcpConversation c(tcp_base(40002, 443), 1000, 5000);
  std::vector<ByteVector> frames = c.handshake();
  frames.push_back(c.client_send(testing::tls_records(ch)));
  const Outcome r = run(frames);
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0], (Seen{4, "tls_sni", "broken.example", "", kAnomaly}));
  EXPECT_EQ(r.stats.counters[kTlsMalformed], 0u);
}

// A hello, or an HTTP head, longer than we reassemble cannot be read: it is counted as an
// overflow (a resource failure, so fail_mode decides: closed drops the flow), not as malformed
// (which passed even fail-closed). A head whose Host came before its cap is still reported.
TEST(Extractor, AHelloOrHeadOverItsCapIsAnOverflow) {
  testing::ClientHelloSpec spec;
  spec.sni = "huge.example";
  spec.pad_to = 20000;
  // Its records: 16,000 bytes and the rest (a record carries at most 2^14), or the handshake
  // header spread over two tiny records first.
  const std::vector<size_t> layouts[] = {{16000}, {1, 2, 16000}};
  const size_t cuts[] = {1400, 2800};
  uint16_t port = 40003;
  for (const std::vector<size_t>& starts : layouts) {
    const ByteVector records = testing::tls_records(testing::client_hello(spec), starts);
    ASSERT_GT(records.size(), 20000u);
    TcpConversation tls(tcp_base(port++, 443), 1000, 5000);
    std::vector<ByteVector> frames = tls.handshake();
    append(frames, tls.client_send_split(records, cuts));
    const Outcome r = run(frames);
    EXPECT_TRUE(r.seen.empty());
    EXPECT_EQ(r.stats.counters[kReassemblyOverflow], 1u);
    EXPECT_EQ(r.stats.counters[kTlsMalformed], 0u);
  }
  // A hello of normal size in tiny records is read, not taken for a long one.
  const size_t small_starts[] = {1, 2, 3};
  TcpConversation small(tcp_base(40007, 443), 1000, 5000);
  std::vector<ByteVector> frames = small.handshake();
  frames.push_back(small.client_send(testing::tls_records(hello("tiny.example"), small_starts)));
  Outcome r = run(frames);
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].host, "tiny.example");
  EXPECT_EQ(r.stats.counters[kReassemblyOverflow], 0u);

  const std::string long_field = "X-Big: " + std::string(parse::kMaxHttpHeadLen, 'a') + "\r\n";
  const std::string head_host_last =
      "GET / HTTP/1.1\r\n" + long_field + "Host: late.example\r\n\r\n";
  const std::string head_host_first =
      "GET / HTTP/1.1\r\nHost: early.example\r\n" + long_field + "\r\n";
  for (const std::string* head : {&head_host_last, &head_host_first}) {
    TcpConversation c(tcp_base(head == &head_host_last ? 40004 : 40005, 80), 1000, 5000);
    frames = c.handshake();
    const size_t at[] = {1400, 9000};
    append(frames, c.client_send_split(bytes(*head), at));
    r = run(frames);
    if (head == &head_host_last) {
      EXPECT_TRUE(r.seen.empty());
      EXPECT_EQ(r.stats.counters[kReassemblyOverflow], 1u);
      EXPECT_EQ(r.stats.counters[kHttpMalformed], 0u);
    } else {
      ASSERT_EQ(r.seen.size(), 1u);
      EXPECT_EQ(r.seen[0].host, "early.example");
      EXPECT_EQ(r.stats.counters[kReassemblyOverflow], 0u);
    }
  }
}

// Bare ACKs, FINs and RSTs carry no stream bytes and start no stream, so they look no flow up:
// a conversation seen only from its ACKs and FINs creates no flow, and ACKs from the server
// between the two halves of a split hello leave its reassembly alone.
TEST(Extractor, SegmentsWithoutStreamBytesTouchNoFlow) {
  Feeder feed(ExtractorConfig{{1024, 16, 120'000'000}});
  Extractor& ex = feed.ex;
  const uint64_t& n = feed.n;
  const std::vector<Seen>& seen = feed.sink.seen;
  TcpConversation quiet(tcp_base(40001, 443), 1000, 5000);
  feed(quiet.client_ack());
  feed(quiet.server_ack());
  for (const ByteVector& f : quiet.close()) feed(f);
  EXPECT_EQ(ex.flows().stats().created, 0u);
  EXPECT_EQ(ex.stats().counters[kPackets], n);  // counted all the same

  TcpConversation c(tcp_base(40000, 443), 1000, 5000);
  for (const ByteVector& f : c.handshake()) feed(f);  // the SYN creates the flow
  EXPECT_EQ(ex.flows().stats().created, 1u);
  const ByteVector records = testing::tls_records(hello("pq.example.com", true));
  const size_t cut[] = {900};
  const std::vector<ByteVector> halves = c.client_send_split(records, cut);
  feed(halves[0]);
  feed(c.server_ack());
  feed(c.server_ack());
  feed(halves[1]);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], (Seen{n, "tls_sni", "pq.example.com", "", kReassembled}));
  EXPECT_EQ(ex.flows().stats().created, 1u);
}

// A flow evicted while it holds a partial message returns its reassembly buffer: the table
// knows which flows the extractor lent one (a TCP stream buffer, a QUIC assembler) without
// reading every victim.
TEST(Extractor, EvictedFlowsHoldingPartialMessagesReturnTheirBuffers) {
  Feeder feed(ExtractorConfig{{8, 4, 120'000'000}});  // 8 flows: one probe window
  Extractor& ex = feed.ex;
  const std::vector<Seen>& seen = feed.sink.seen;
  TcpConversation c(tcp_base(40000, 443), 1000, 5000);
  for (const ByteVector& f : c.handshake()) feed(f);
  const ByteVector records = testing::tls_records(hello("pq.example.com", true));
  const size_t cut[] = {900};
  feed(c.client_send_split(records, cut)[0]);  // the first 900 bytes: kept in a buffer
  const ByteVector ch = hello("quic.example", true, false, true);
  const auto first =
      initial({1, 2, 3, 4, 5, 6, 7, 8}, 0, 0,
              ByteVector(ch.begin(), ch.begin() + static_cast<ptrdiff_t>(ch.size() / 2)));
  feed(udp_frame(50001, 443, testing::quic_client_initial(first)).build());  // half a hello
  ASSERT_EQ(ex.flows().pool().in_use(), 2u);
  ASSERT_TRUE(seen.empty());
  for (uint16_t port = 1; port <= 16; ++port) {  // new flows push the two out
    TcpConversation other(tcp_base(static_cast<uint16_t>(41000 + port), 80), port, port);
    feed(other.handshake()[0]);
  }
  EXPECT_GE(ex.flows().stats().evicted, 2u);
  EXPECT_EQ(ex.flows().pool().in_use(), 0u) << "an evicted flow kept its buffer";
}

// SNI is reported with ASCII A-Z folded to a-z and every other byte kept, at every length: the
// fold runs eight bytes at a time, so lengths on both sides of each word and the bytes next to
// the letter ranges (and bytes above 0x7f whose low seven bits are letters) are checked against
// a byte-wise fold.
TEST(Extractor, SniFoldedToLowerCaseAtEveryLength) {
  std::mt19937 rng(29);
  const char pool[] = {'A', 'Z', 'M', 'a', 'z',    '@',    '[',    '`',    '{',
                       '.', '-', '0', '9', '\xc1', '\xda', '\xe1', '\x80', '\xff'};
  std::vector<ByteVector> frames;
  std::vector<std::string> want;
  for (size_t len = 1; len <= 70; ++len) {
    std::string sni;
    for (size_t i = 0; i < len; ++i) sni += pool[rng() % sizeof pool];
    TcpConversation c(tcp_base(static_cast<uint16_t>(20000 + len), 443), 1000, 5000);
    append(frames, c.handshake());
    frames.push_back(c.client_send(testing::tls_records(hello(sni))));
    for (char& ch : sni) {
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    }
    want.push_back(sni);
  }
  const Outcome r = run(frames);
  ASSERT_EQ(r.seen.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(r.seen[i].host, want[i]) << "length " << i + 1;
}

TEST(Extractor, RetransmittedAndOverlappingSegmentsAreNotReadTwice) {
  TcpConversation c(tcp_base(40001, 443), 1000, 5000);
  std::vector<ByteVector> frames = c.handshake();
  const ByteVector records = testing::tls_records(hello("a.example"));
  const size_t cut[] = {100};
  const std::vector<ByteVector> parts = c.client_send_split(records, cut);
  frames.push_back(parts[0]);  // 4
  frames.push_back(parts[0]);  // 5: retransmission of the first piece
  frames.push_back(parts[1]);  // 6: completes
  frames.push_back(parts[1]);  // 7: retransmission of the whole rest
  const Outcome r = run(frames);
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].frame, 6u);
  EXPECT_EQ(r.stats.counters[kTcpRetransmission], 2u);
}

TEST(Extractor, GapNeverStitchesAcrossMissingBytes) {
  TcpConversation c(tcp_base(40002, 443), 1000, 5000);
  std::vector<ByteVector> frames = c.handshake();
  const ByteVector records = testing::tls_records(hello("gap.example"));
  const size_t cuts[] = {100, 200};
  const std::vector<ByteVector> parts = c.client_send_split(records, cuts);
  frames.push_back(parts[0]);
  frames.push_back(parts[2]);  // the middle piece is lost
  const Outcome r = run(frames);
  EXPECT_TRUE(r.seen.empty());
  EXPECT_EQ(r.stats.counters[kTcpGap], 1u);
  EXPECT_EQ(r.stats.counters[kTlsMalformed], 0u) << "a gap is not a malformed hello";
}

TEST(Extractor, HelloAfterAGapIsFlagged) {
  TcpConversation c(tcp_base(40003, 443), 1000, 5000);
  std::vector<ByteVector> frames = c.handshake();
  frames.push_back(c.client_send(bytes("junk-before")));
  c.client_send(bytes("lost"));  // never captured
  frames.push_back(c.client_send(testing::tls_records(hello("after.example"))));
  const Outcome r = run(frames);
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0], (Seen{6 - 1, "tls_sni", "after.example", "", kGap}));
}

TEST(Extractor, EchIsFlagged) {
  TcpConversation c(tcp_base(40004, 443), 1000, 5000);
  std::vector<ByteVector> frames = c.handshake();
  frames.push_back(c.client_send(testing::tls_records(hello("public.example", false, true))));
  const Outcome r = run(frames);
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].flags & kEch, kEch);
}

TEST(Extractor, HttpPipelinedWithBodiesAndSplitHead) {
  TcpConversation c(tcp_base(40005, 8081), 1000, 5000);  // any port: HTTP is found by content
  std::vector<ByteVector> frames = c.handshake();
  const std::string post =
      "POST /upload HTTP/1.1\r\nHost: Up.Example:8081\r\nContent-Length: 5\r\n\r\nGET /";
  const std::string chunked =
      "POST /c HTTP/1.1\r\nHost: c.example\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3\r\nGET\r\n0\r\n\r\n";
  const std::string get = "GET /a/b.jpg?x=1 HTTP/1.1\r\nHost: pics.example\r\n\r\n";
  frames.push_back(
      c.client_send(bytes(post + chunked)));  // 4: body "GET /" must not look like a request
  const std::string split = get;
  const size_t cut[] = {20};
  append(frames, c.client_send_split(bytes(split), cut));  // 5, 6
  const Outcome r = run(frames);
  const std::vector<Seen> want = {
      {4, "http", "up.example", "/upload", 0},
      {4, "http", "c.example", "/c", 0},
      {6, "http", "pics.example", "/a/b.jpg?x=1", kReassembled},
  };
  EXPECT_EQ(r.seen, want);
}

// A method no client of ours sends still starts a request at the real start of a stream (its
// SYN seen): a server passes it to an application that may answer, so it must not hide the
// Host. Picked up mid-stream, or after a gap, such a line is not taken for a request. The
// server's answer at the start of its own direction is not a request either.
TEST(Extractor, AnyMethodAtTheStartOfAStreamIsARequest) {
  const std::string request = "FETCHX /p HTTP/1.1\r\nHost: made-up.example\r\n\r\n";
  TcpConversation c(tcp_base(40020, 80), 1000, 5000);
  std::vector<ByteVector> frames = c.handshake();
  frames.push_back(c.client_send(bytes(request)));  // 4
  frames.push_back(c.server_send(bytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")));
  frames.push_back(c.client_send(bytes(request)));  // 6: a second request on the same stream
  Outcome r = run(frames);
  ASSERT_EQ(r.seen.size(), 2u);
  EXPECT_EQ(r.seen[0], (Seen{4, "http", "made-up.example", "/p", 0}));
  EXPECT_EQ(r.seen[1], (Seen{6, "http", "made-up.example", "/p", 0}));

  TcpConversation mid(tcp_base(40021, 80), 1000, 5000);
  mid.handshake();  // not fed: the flow is picked up mid-stream
  r = run({mid.client_send(bytes(request))});
  EXPECT_TRUE(r.seen.empty());
}

TEST(Extractor, ConnectTunnelThenTls) {
  TcpConversation c(tcp_base(40006, 3128), 1000, 5000);
  std::vector<ByteVector> frames = c.handshake();
  frames.push_back(c.client_send(
      bytes("CONNECT tunnel.example:443 HTTP/1.1\r\nHost: tunnel.example:443\r\n\r\n")));
  frames.push_back(c.server_send(bytes("HTTP/1.1 200 Connection established\r\n\r\n")));
  frames.push_back(c.client_send(testing::tls_records(hello("inner.example"))));
  const Outcome r = run(frames);
  ASSERT_EQ(r.seen.size(), 2u);
  EXPECT_EQ(r.seen[0], (Seen{4, "http", "tunnel.example", "tunnel.example:443", 0}));
  EXPECT_EQ(r.seen[1], (Seen{6, "tls_sni", "inner.example", "", 0}));
}

// A direction that opens with an HTTP response or a TLS record other than a ClientHello is
// not probed again (a download's segments are most of a link's packets): later bytes that look
// like a request there are not read. A plain-text start (SMTP before STARTTLS) keeps probing.
TEST(Extractor, ServerDirectionsStopBeingProbed) {
  TcpConversation http(tcp_base(40010, 80), 1000, 5000);
  std::vector<ByteVector> frames = http.handshake();
  frames.push_back(http.client_send(bytes("GET /a HTTP/1.1\r\nHost: h.example\r\n\r\n")));
  frames.push_back(http.server_send(bytes("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n")));
  frames.push_back(
      http.server_send(bytes("GET /b HTTP/1.1\r\nHost: not-a-request.example\r\n\r\n")));

  TcpConversation tls(tcp_base(40011, 443), 1000, 5000);
  append(frames, tls.handshake());
  frames.push_back(tls.client_send(testing::tls_records(hello("client.example"))));
  const ByteVector server_hello = {0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00};
  frames.push_back(tls.server_send(server_hello));
  frames.push_back(tls.server_send(testing::tls_records(hello("server-side.example"))));

  TcpConversation smtp(tcp_base(40012, 25), 1000, 5000);
  append(frames, smtp.handshake());
  frames.push_back(smtp.client_send(bytes("EHLO client.example\r\nSTARTTLS\r\n")));
  frames.push_back(smtp.client_send(testing::tls_records(hello("mail.example"))));

  const Outcome r = run(frames);
  ASSERT_EQ(r.seen.size(), 3u);
  EXPECT_EQ(r.seen[0].host, "h.example");
  EXPECT_EQ(r.seen[1].host, "client.example");
  EXPECT_EQ(r.seen[2].host, "mail.example");
}

TEST(Extractor, MidRequestResyncDoesNotInventARequest) {
  // Picked up mid-stream: the segment starts inside a request line ("T /x" after a lost "GE").
  TcpConversation c(tcp_base(40007, 80), 1000, 5000);
  const std::vector<ByteVector> frames = {
      c.client_send(bytes("T /x HTTP/1.1\r\nHost: h.example\r\n\r\n"))};
  EXPECT_TRUE(run(frames).seen.empty());
}

TEST(Extractor, ProxyProtocolHeaderBeforeTls) {
  TcpConversation c(tcp_base(40008, 443), 1000, 5000);
  std::vector<ByteVector> frames = c.handshake();
  ByteVector data = bytes("PROXY TCP4 192.0.2.1 198.51.100.2 51000 443\r\n");
  const ByteVector records = testing::tls_records(hello("behind.example"));
  data.insert(data.end(), records.begin(), records.end());
  frames.push_back(c.client_send(data));
  const Outcome r = run(frames);
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0].host, "behind.example");
}

TEST(Extractor, DnsOverTcpTwoMessagesInOneSegmentAndOneSplit) {
  TcpConversation c(tcp_base(40009, 53), 1000, 5000);
  std::vector<ByteVector> frames = c.handshake();
  ByteVector two = testing::dns_tcp_frame(testing::dns_query(1, "one.example"));
  const ByteVector second = testing::dns_tcp_frame(testing::dns_query(2, "Two.Example"));
  two.insert(two.end(), second.begin(), second.end());
  frames.push_back(c.client_send(two));  // 4
  const size_t cut[] = {1};              // even the length prefix is split
  append(frames,
         c.client_send_split(testing::dns_tcp_frame(testing::dns_query(3, "three.example")), cut));
  const Outcome r = run(frames);
  const std::vector<Seen> want = {{4, "dns", "one.example", "", 0},
                                  {4, "dns", "two.example", "", 0},
                                  {6, "dns", "three.example", "", kReassembled}};
  EXPECT_EQ(r.seen, want);
}

TEST(Extractor, UdpDnsPortsHeuristicAndNetbios) {
  const std::vector<ByteVector> frames = {
      udp_frame(40000, 53, testing::dns_query(1, "port53.example")).build(),
      udp_frame(40000, 443, testing::dns_query(0x8001, "dnscrypt.example"))
          .build(),                                                           // QUIC-looking ID
      udp_frame(137, 137, testing::dns_query(2, "netbios.example")).build(),  // NBNS: not DNS
      udp_frame(40000, 53, testing::dns_response(3, "answer.example", "192.0.2.1")).build(),
      udp_frame(40000, 9999, bytes("not dns at all, just bytes")).build(),
  };
  const Outcome r = run(frames);
  const std::vector<Seen> want = {{1, "dns", "port53.example", "", 0},
                                  {2, "dns", "dnscrypt.example", "", 0}};
  EXPECT_EQ(r.seen, want);
}

TEST(Extractor, SsdpSearchReportedNotifyIgnored) {
  const std::vector<ByteVector> frames = {
      udp_frame(50000, 1900,
                bytes("M-SEARCH * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\nMAN: "
                      "\"ssdp:discover\"\r\n\r\n"))
          .build(),
      udp_frame(1900, 1900,
                bytes("NOTIFY * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\nNTS: ssdp:alive\r\n\r\n"))
          .build(),
  };
  const Outcome r = run(frames);
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0], (Seen{1, "http", "239.255.255.250", "*", 0}));
}

TEST(Extractor, QuicHelloOverTwoInitialsInReverseOrder) {
  const ByteVector ch = hello("quic.example", true, false, true);
  const size_t half = ch.size() / 2;
  const ByteVector dcid = {1, 2, 3, 4, 5, 6, 7, 8};
  const auto first =
      initial(dcid, 0, 0, ByteVector(ch.begin(), ch.begin() + static_cast<ptrdiff_t>(half)));
  const auto second =
      initial(dcid, 1, half, ByteVector(ch.begin() + static_cast<ptrdiff_t>(half), ch.end()));
  const std::vector<ByteVector> frames = {
      udp_frame(50001, 443, testing::quic_client_initial(second)).build(),
      udp_frame(50001, 443, testing::quic_client_initial(first)).build(),
      udp_frame(50001, 443, testing::quic_client_initial(first)).build(),  // retransmission
  };
  const Outcome r = run(frames);
  ASSERT_EQ(r.seen.size(), 1u);
  EXPECT_EQ(r.seen[0], (Seen{2, "quic_sni", "quic.example", "", kReassembled}));
}

TEST(Extractor, QuicWithAnotherDcidOnTheSameTupleIsANewAttempt) {
  const ByteVector ch = hello("retry.example", false, false, true);
  const std::vector<ByteVector> frames = {
      udp_frame(50002, 443,
                testing::quic_client_initial(initial({1, 1, 1, 1, 1, 1, 1, 1}, 0, 0, ch)))
          .build(),
      udp_frame(50002, 443,
                testing::quic_client_initial(initial({2, 2, 2, 2, 2, 2, 2, 2}, 0, 0, ch)))
          .build()};
  const Outcome r = run(frames);
  ASSERT_EQ(r.seen.size(), 2u);
  EXPECT_EQ(r.seen[1].frame, 2u);
}

TEST(Extractor, GarbageNeverCrashesAndIsCounted) {
  std::vector<ByteVector> frames;
  for (uint8_t seed = 0; seed < 64; ++seed) {
    frames.push_back(testing::pseudo_random_bytes(seed * 7u, seed));
    frames.push_back(udp_frame(1000 + seed, 443, testing::pseudo_random_bytes(1200, seed)).build());
    ByteVector quicish = testing::pseudo_random_bytes(1200, seed + 1000u);
    quicish[0] = 0xc0;  // long header, Initial
    quicish[1] = 0;
    quicish[2] = 0;
    quicish[3] = 0;
    quicish[4] = 1;  // version 1
    frames.push_back(udp_frame(2000 + seed, 443, quicish).build());
  }
  const Outcome r = run(frames);
  EXPECT_TRUE(r.seen.empty());
  EXPECT_EQ(r.stats.counters[kPackets], frames.size());
}

}  // namespace
}  // namespace muhafiz::extract
