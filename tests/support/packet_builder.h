// Test-only frame builder: assembles frames layer by layer (link, tunnels, IP, L4, payload)
// with lengths, next-protocol fields and checksums filled in, so tests and the capture
// generator never hand-compute them. Not parser code: it allocates and may throw on misuse.
//
//   ByteVector frame = PacketBuilder()
//                          .ethernet()
//                          .qinq(100, 200)
//                          .ipv4("192.0.2.1", "198.51.100.53")
//                          .udp(40000, 53)
//                          .payload(dns_query(0x1234, "www.example.com"))
//                          .build();
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace muhafiz::testing {

// Owned bytes (named apart from parse::Bytes, which is a view).
using ByteVector = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

// ---------------------------------------------------------------------------------------
// Byte helpers

void append(ByteVector& out, ByteView data);
void append(ByteVector& out, std::string_view text);
void append_u8(ByteVector& out, uint8_t v);
void append_u16be(ByteVector& out, uint16_t v);
void append_u24be(ByteVector& out, uint32_t v);
void append_u32be(ByteVector& out, uint32_t v);
void append_u16le(ByteVector& out, uint16_t v);
void append_u32le(ByteVector& out, uint32_t v);
void put_u16be(ByteVector& out, size_t at, uint16_t v);
ByteVector to_bytes(std::string_view text);
ByteVector concat(std::initializer_list<ByteView> parts);
// Deterministic filler (splitmix64), so generated captures are byte-for-byte reproducible.
ByteVector pseudo_random_bytes(size_t n, uint64_t seed);
// RFC 1071 one's-complement sum over data, folded and complemented.
uint16_t internet_checksum(ByteView data, uint32_t initial_sum = 0);
// Splits data at the given offsets (ascending, each in (0, size)): {a, b, c} pieces.
std::vector<ByteVector> split_at(ByteView data, std::span<const size_t> offsets);
// Splits data into n pieces of near-equal size (the last takes the remainder).
std::vector<ByteVector> split_evenly(ByteView data, size_t n);

// ---------------------------------------------------------------------------------------
// Addresses

using MacAddress = std::array<uint8_t, 6>;
inline constexpr MacAddress kClientMac{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};  // locally administered
inline constexpr MacAddress kServerMac{0x02, 0x00, 0x5e, 0x10, 0x00, 0x02};

struct IpAddr {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4
};
// Parses dotted-quad or RFC 4291 text; throws std::invalid_argument on bad text.
IpAddr ip_address(std::string_view text);

// ---------------------------------------------------------------------------------------
// Layers (outermost first). Fields that depend on inner layers (EtherType, IP protocol,
// lengths, checksums, MPLS bottom-of-stack, PPP protocol) are filled in by build().

inline constexpr uint16_t kTpidVlan = 0x8100;   // IEEE 802.1Q C-tag
inline constexpr uint16_t kTpidQinQ = 0x88a8;   // IEEE 802.1ad S-tag
inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr uint16_t kEtherTypeMpls = 0x8847;
inline constexpr uint16_t kEtherTypePppoeSession = 0x8864;
inline constexpr uint16_t kGtpuUdpPort = 2152;     // 3GPP TS 29.281

inline constexpr uint8_t kIpProtocolIcmp = 1;
inline constexpr uint8_t kIpProtocolTcp = 6;
inline constexpr uint8_t kIpProtocolUdp = 17;

namespace tcp_flags {
inline constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;
}

struct EthernetLayer {
  MacAddress src = kClientMac, dst = kServerMac;
  std::optional<uint16_t> ethertype;  // only needed when the next layer is a raw payload
};
struct VlanLayer {
  uint16_t tpid = kTpidVlan;  // of this tag, written by the layer before it
  uint16_t vid = 0;
  uint8_t pcp = 0;
  std::optional<uint16_t> ethertype;
};
struct MplsLayer {
  uint32_t label = 0;
  uint8_t traffic_class = 0;
  uint8_t ttl = 64;
};
// PPPoE session stage (RFC 2516 §5) plus the 2-byte PPP protocol field.
struct PppoeLayer {
  uint16_t session_id = 1;
  std::optional<uint16_t> ppp_protocol;
};
// BSD loopback: 4-byte address family in the capturing host's order (little-endian here).
struct NullLinkLayer {};
// Linux cooked capture v1 (LINKTYPE_LINUX_SLL) and v2 (LINKTYPE_LINUX_SLL2).
struct SllLayer {
  uint16_t packet_type = 0;  // 0 = to us, 4 = outgoing
  MacAddress address = kClientMac;
};
struct Sll2Layer {
  uint8_t packet_type = 0;
  uint32_t interface_index = 1;
  MacAddress address = kClientMac;
};

struct Ipv4Layer {
  IpAddr src, dst;
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint16_t id = 0;
  bool dont_fragment = false;
  bool more_fragments = false;
  uint16_t fragment_offset = 0;  // in 8-byte units
  ByteVector options;                 // padded to a multiple of 4 with End-of-Options
  std::optional<uint8_t> protocol;
};

// One IPv6 extension header (RFC 8200 §4). `body` is everything after the Next Header
// and Hdr Ext Len bytes; the helpers below build correctly padded bodies.
struct Ipv6ExtHeader {
  uint8_t type = 0;  // 0 hop-by-hop, 43 routing, 44 fragment, 60 destination options
  ByteVector body;
};
inline constexpr uint8_t kIpv6HopByHop = 0;
inline constexpr uint8_t kIpv6Routing = 43;
inline constexpr uint8_t kIpv6Fragment = 44;
inline constexpr uint8_t kIpv6DestOptions = 60;
// Options header (hop-by-hop or destination options) holding `options` (TLV bytes),
// padded with Pad1/PadN (RFC 8200 §4.2) to a multiple of 8 octets.
Ipv6ExtHeader ipv6_options_header(uint8_t type, ByteView options = {});
// Hop-by-hop header carrying a Router Alert option (RFC 2711), value 0 (MLD).
Ipv6ExtHeader ipv6_hop_by_hop_router_alert();
// Segment Routing Header (RFC 8754, routing type 4) with the given segments, Segments Left 0,
// so the IPv6 destination is the final one (the L4 pseudo-header uses it).
Ipv6ExtHeader ipv6_segment_routing(std::span<const IpAddr> segments);
// Fragment header (RFC 8200 §4.5); offset in 8-octet units. offset 0 + !more = atomic fragment.
Ipv6ExtHeader ipv6_fragment_header(uint16_t offset, bool more, uint32_t id);

struct Ipv6Layer {
  IpAddr src, dst;
  uint8_t hop_limit = 64;
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;
  std::vector<Ipv6ExtHeader> extensions;
  std::optional<uint8_t> next_header;  // only needed when the next layer is a raw payload
};

struct UdpLayer {
  uint16_t src_port = 0, dst_port = 0;
  bool zero_checksum = false;  // IPv4 only: "no checksum" (RFC 768)
};
struct TcpLayer {
  uint16_t src_port = 0, dst_port = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = tcp_flags::kAck;
  uint16_t window = 64240;
  ByteVector options;  // padded to a multiple of 4 with NOPs
};
// GTP-U G-PDU (3GPP TS 29.281 §5.1): 8-byte header, no optional fields.
struct GtpuLayer {
  uint32_t teid = 1;
};
struct PayloadLayer {
  ByteVector data;
};

using Layer = std::variant<EthernetLayer, VlanLayer, MplsLayer, PppoeLayer, NullLinkLayer, SllLayer,
                           Sll2Layer, Ipv4Layer, Ipv6Layer, UdpLayer, TcpLayer, GtpuLayer, PayloadLayer>;

// Link types as numbered in the tcpdump.org LINKTYPE_ registry.
enum class PcapLinkType : uint32_t {
  kNull = 0,
  kEthernet = 1,
  kRaw = 101,
  kLinuxSll = 113,
  kLinuxSll2 = 276,
};

struct TcpOptions {
  uint32_t seq = 0, ack = 0;
  uint8_t flags = tcp_flags::kAck;
  uint16_t window = 64240;
  ByteVector options;
};

class PacketBuilder {
 public:
  PacketBuilder& ethernet(MacAddress src = kClientMac, MacAddress dst = kServerMac);
  PacketBuilder& ethernet_type(uint16_t ethertype, MacAddress src = kClientMac, MacAddress dst = kServerMac);
  PacketBuilder& vlan(uint16_t vid, uint16_t tpid = kTpidVlan, uint8_t pcp = 0);
  // 802.1ad outer S-tag then 802.1Q inner C-tag.
  PacketBuilder& qinq(uint16_t outer_vid, uint16_t inner_vid);
  PacketBuilder& mpls(uint32_t label, uint8_t ttl = 64);
  PacketBuilder& pppoe(uint16_t session_id);
  PacketBuilder& null_link();
  PacketBuilder& linux_sll(uint16_t packet_type = 0, MacAddress address = kClientMac);
  PacketBuilder& linux_sll2(uint8_t packet_type = 0, uint32_t interface_index = 1, MacAddress address = kClientMac);
  PacketBuilder& ipv4(std::string_view src, std::string_view dst);
  PacketBuilder& ipv4(Ipv4Layer layer);
  PacketBuilder& ipv6(std::string_view src, std::string_view dst);
  PacketBuilder& ipv6(Ipv6Layer layer);
  // Either family by the text of src.
  PacketBuilder& ip(std::string_view src, std::string_view dst);
  PacketBuilder& udp(uint16_t src_port, uint16_t dst_port);
  PacketBuilder& tcp(uint16_t src_port, uint16_t dst_port, TcpOptions options = {});
  PacketBuilder& gtpu(uint32_t teid);
  PacketBuilder& payload(ByteView data);
  PacketBuilder& payload(std::string_view text);
  PacketBuilder& layer(Layer l);

  // Pads Ethernet frames to the 60-byte minimum (without FCS), as a receiving NIC shows
  // them; parsers must then trust the IP length, not the frame length. On by default.
  PacketBuilder& pad_ethernet(bool on);

  std::vector<Layer>& layers() { return layers_; }
  const std::vector<Layer>& layers() const { return layers_; }
  // The innermost layer of type T (throws std::logic_error when absent).
  template <typename T>
  T& innermost();

  // The pcap link type this frame needs, from its first layer.
  PcapLinkType link_type() const;

  ByteVector build() const;
  // Builds the datagram, then splits the payload of the innermost IPv4 layer into fragments
  // of at most max_fragment_payload bytes (rounded down to a multiple of 8, RFC 791), each
  // wrapped in the outer layers. The L4 checksum covers the whole datagram.
  std::vector<ByteVector> build_ipv4_fragments(size_t max_fragment_payload) const;
  // Same frame in the other direction: MACs, addresses and ports swapped in every layer.
  PacketBuilder reversed() const;

 private:
  ByteVector build_from(size_t index) const;
  ByteVector encode(size_t index, ByteVector inner, const Ipv4Layer* ipv4_override) const;
  // Pseudo-header sum for an L4 layer at index (RFC 768, RFC 793, RFC 8200 §8.1).
  uint32_t pseudo_header_sum(size_t l4_index, uint8_t protocol, size_t l4_length) const;
  std::optional<uint16_t> ethertype_of(size_t index) const;
  uint8_t ip_protocol_of(size_t index) const;

  std::vector<Layer> layers_;
  bool pad_ethernet_ = true;
};

template <typename T>
T& PacketBuilder::innermost() {
  for (size_t i = layers_.size(); i-- > 0;) {
    if (auto* p = std::get_if<T>(&layers_[i])) return *p;
  }
  throw std::logic_error("PacketBuilder: no such layer");
}

// ---------------------------------------------------------------------------------------
// TCP: a conversation that keeps sequence numbers right.

class TcpConversation {
 public:
  // `client_to_server` ends with a tcp() layer (ports from it) and no payload.
  TcpConversation(PacketBuilder client_to_server, uint32_t client_isn, uint32_t server_isn);

  // SYN (with MSS, SACK-permitted, window scale), SYN-ACK, ACK.
  std::vector<ByteVector> handshake();
  // One segment carrying data; PSH+ACK.
  ByteVector client_send(ByteView data);
  ByteVector server_send(ByteView data);
  // data split at the given offsets, one segment per piece, sequence numbers consecutive.
  std::vector<ByteVector> client_send_split(ByteView data, std::span<const size_t> offsets);
  std::vector<ByteVector> client_send_pieces(std::span<const ByteVector> pieces);
  // Pure ACKs of everything received so far.
  ByteVector client_ack();
  ByteVector server_ack();
  // FIN from the client, FIN-ACK from the server, last ACK.
  std::vector<ByteVector> close();

  uint32_t client_next_seq() const { return client_seq_; }
  uint32_t server_next_seq() const { return server_seq_; }

 private:
  ByteVector segment(bool from_client, uint8_t flags, ByteView data, ByteVector options = {});

  PacketBuilder c2s_;
  PacketBuilder s2c_;
  uint32_t client_seq_;
  uint32_t server_seq_;
};

// ---------------------------------------------------------------------------------------
// DNS (RFC 1035 §4)

inline constexpr uint16_t kDnsTypeA = 1;
inline constexpr uint16_t kDnsTypeAaaa = 28;
inline constexpr uint16_t kDnsTypeHttps = 65;
inline constexpr uint16_t kDnsTypeOpt = 41;

struct DnsQuestion {
  std::string name;
  uint16_t qtype = kDnsTypeA;
  uint16_t qclass = 1;  // IN
};
struct DnsQueryOptions {
  bool recursion_desired = true;
  // Emits a pointer (RFC 1035 §4.1.4) for any name suffix already written.
  bool compress = false;
  // Appends an OPT pseudo-RR (RFC 6891) with this UDP payload size when non-zero.
  uint16_t edns_udp_size = 0;
  // With EDNS: a Padding option (RFC 7830) of this many zero bytes, to make large queries.
  uint16_t edns_padding = 0;
};
ByteVector dns_query(uint16_t id, std::span<const DnsQuestion> questions, DnsQueryOptions options = {});
ByteVector dns_query(uint16_t id, std::string_view name, uint16_t qtype = kDnsTypeA);
// A response to a one-question query: QR set, the question echoed, one A or AAAA answer
// (by the address family) whose owner is a pointer to the question name.
ByteVector dns_response(uint16_t id, std::string_view name, std::string_view address);
// The 2-byte length prefix of DNS over TCP (RFC 1035 §4.2.2).
ByteVector dns_tcp_frame(ByteView message);

// ---------------------------------------------------------------------------------------
// TLS ClientHello (RFC 8446 §4.1.2)

inline constexpr uint16_t kTlsGroupX25519 = 0x001d;
inline constexpr uint16_t kTlsGroupX25519MlKem768 = 0x11ec;  // draft-kwiatkowski-tls-ecdhe-mlkem
inline constexpr size_t kX25519MlKem768ShareLen = 1184 + 32;  // ML-KEM-768 ek + X25519 share
inline constexpr uint16_t kTlsExtEch = 0xfe0d;                // draft-ietf-tls-esni
inline constexpr uint16_t kTlsExtQuicTransportParams = 0x0039;  // RFC 9001 §8.2

struct ClientHelloSpec {
  std::string sni;                   // empty: no server_name extension
  std::vector<std::string> alpn;     // empty: no ALPN extension
  bool grease = true;                // RFC 8701 values in suites, groups, versions, extensions
  bool ech = false;                  // ECH outer extension with filler enc/payload
  bool post_quantum = false;         // X25519MLKEM768 key share plus a plain X25519 one
  bool quic = false;                 // no session id, TLS 1.3 only, transport parameters
  uint64_t seed = 1;                 // random, session id, key shares
  // When the message would be shorter, a padding extension (RFC 7685) brings it to this many
  // bytes, as clients do to reach a fixed size.
  size_t pad_to = 0;
};
// The handshake message: type 1, 24-bit length, body.
ByteVector client_hello(const ClientHelloSpec& spec);
// Wraps a handshake byte stream in handshake records (content type 22), starting a new
// record at each offset in `record_starts` (ascending, in (0, size)).
ByteVector tls_records(ByteView handshake, std::span<const size_t> record_starts = {});
// A content type 23 record with filler, as a server's or client's encrypted data.
ByteVector tls_application_data(size_t length, uint64_t seed);

// ---------------------------------------------------------------------------------------
// HTTP/1.x request text

struct HttpHeader {
  std::string name, value;
};
// "METHOD target HTTP/1.1\r\nHost: host\r\n<headers>\r\n" (Host omitted when empty).
std::string http_request(std::string_view method, std::string_view target, std::string_view host,
                         std::span<const HttpHeader> headers = {});

// ---------------------------------------------------------------------------------------
// QUIC client Initial (RFC 9000 §17.2.2, protected per RFC 9001 §5)

inline constexpr size_t kQuicMinInitialDatagram = 1200;  // RFC 9000 §14.1

struct QuicCryptoChunk {
  uint64_t offset = 0;
  ByteVector data;
};
struct QuicInitialSpec {
  uint32_t version = 0x00000001;  // v1 (RFC 9000); v2 is 0x6b3343cf (RFC 9369)
  ByteVector dcid, scid, token;
  uint32_t packet_number = 0;
  size_t packet_number_length = 2;  // 1..4
  std::vector<QuicCryptoChunk> crypto;  // CRYPTO frames, in this order
  size_t datagram_size = kQuicMinInitialDatagram;  // PADDING up to this size
};
// RFC 9000 §16 variable-length integer in its shortest encoding (values below 2^30).
void append_quic_varint(ByteVector& out, uint64_t v);
// Cuts a ClientHello into CRYPTO chunks at the given offsets (ascending).
std::vector<QuicCryptoChunk> quic_crypto_chunks(ByteView hello, std::span<const size_t> offsets);
// The unprotected payload: CRYPTO frames then PADDING, sized so the whole packet is
// `datagram_size` once the 16-byte AEAD tag is added.
ByteVector quic_initial_plaintext(const QuicInitialSpec& spec);
// The protected packet (AES-128-GCM payload, AES-ECB header protection). Throws on
// OpenSSL failure.
ByteVector quic_client_initial(const QuicInitialSpec& spec);

// ---------------------------------------------------------------------------------------
// Capture files

enum class CaptureFormat : uint8_t { kPcap, kPcapng };

// Collects frames in memory and serialises them as classic pcap (magic a1b2c3d4, microsecond
// timestamps, little-endian) or pcapng (SHB, one IDB, EPBs).
class PcapWriter {
 public:
  explicit PcapWriter(PcapLinkType link_type, uint32_t snaplen = 262144);

  void add(ByteView frame, uint64_t timestamp_usec);
  size_t frame_count() const { return frames_.size(); }
  PcapLinkType link_type() const { return link_type_; }

  ByteVector pcap_bytes() const;
  ByteVector pcapng_bytes() const;
  ByteVector bytes(CaptureFormat format) const;
  // Writes the file; throws std::runtime_error on I/O failure.
  void save(const std::string& path, CaptureFormat format = CaptureFormat::kPcap) const;

 private:
  struct Record {
    uint64_t timestamp_usec;
    ByteVector data;
  };
  PcapLinkType link_type_;
  uint32_t snaplen_;
  std::vector<Record> frames_;
};

}  // namespace muhafiz::testing
