// Frame assembly: byte helpers, addresses, the layer encoder and the TCP conversation.
#include "tests/support/packet_builder.h"

#include <arpa/inet.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace muhafiz::testing {

// ---------------------------------------------------------------------------------------
// Byte helpers

void append(ByteVector& out, ByteView data) { out.insert(out.end(), data.begin(), data.end()); }

void append(ByteVector& out, std::string_view text) {
  for (char c : text) out.push_back(static_cast<uint8_t>(c));
}

void append_u8(ByteVector& out, uint8_t v) { out.push_back(v); }

void append_u16be(ByteVector& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void append_u24be(ByteVector& out, uint32_t v) {
  if (v > 0xffffff) throw std::length_error("append_u24be: value over 24 bits");
  out.push_back(static_cast<uint8_t>(v >> 16));
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void append_u32be(ByteVector& out, uint32_t v) {
  append_u16be(out, static_cast<uint16_t>(v >> 16));
  append_u16be(out, static_cast<uint16_t>(v));
}

void append_u16le(ByteVector& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
}

void append_u32le(ByteVector& out, uint32_t v) {
  append_u16le(out, static_cast<uint16_t>(v));
  append_u16le(out, static_cast<uint16_t>(v >> 16));
}

void put_u16be(ByteVector& out, size_t at, uint16_t v) {
  out.at(at) = static_cast<uint8_t>(v >> 8);
  out.at(at + 1) = static_cast<uint8_t>(v);
}

ByteVector to_bytes(std::string_view text) {
  ByteVector out;
  append(out, text);
  return out;
}

ByteVector concat(std::initializer_list<ByteView> parts) {
  ByteVector out;
  for (ByteView p : parts) append(out, p);
  return out;
}

ByteVector pseudo_random_bytes(size_t n, uint64_t seed) {
  ByteVector out;
  out.reserve(n);
  uint64_t state = seed;
  while (out.size() < n) {
    state += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (int i = 0; i < 8 && out.size() < n; ++i) out.push_back(static_cast<uint8_t>(z >> (8 * i)));
  }
  return out;
}

namespace {

uint32_t ones_complement_add(uint32_t sum, ByteView data) {
  for (size_t i = 0; i + 1 < data.size(); i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (data.size() % 2 != 0) sum += static_cast<uint32_t>(data.back() << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

}  // namespace

uint16_t internet_checksum(ByteView data, uint32_t initial_sum) {
  return static_cast<uint16_t>(~ones_complement_add(initial_sum, data) & 0xffff);
}

std::vector<ByteVector> split_at(ByteView data, std::span<const size_t> offsets) {
  std::vector<ByteVector> pieces;
  size_t start = 0;
  for (size_t cut : offsets) {
    if (cut <= start || cut >= data.size()) throw std::invalid_argument("split_at: offsets must ascend inside the data");
    pieces.emplace_back(data.begin() + static_cast<std::ptrdiff_t>(start), data.begin() + static_cast<std::ptrdiff_t>(cut));
    start = cut;
  }
  pieces.emplace_back(data.begin() + static_cast<std::ptrdiff_t>(start), data.end());
  return pieces;
}

std::vector<ByteVector> split_evenly(ByteView data, size_t n) {
  if (n == 0 || n > data.size()) throw std::invalid_argument("split_evenly: need 1..size pieces");
  std::vector<size_t> offsets;
  const size_t step = data.size() / n;
  for (size_t i = 1; i < n; ++i) offsets.push_back(i * step);
  return split_at(data, offsets);
}

// ---------------------------------------------------------------------------------------
// Addresses

IpAddr ip_address(std::string_view text) {
  const std::string s(text);
  IpAddr a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.v6 = true;
    return a;
  }
  throw std::invalid_argument("ip_address: not an IPv4 or IPv6 address: " + s);
}

// ---------------------------------------------------------------------------------------
// IPv6 extension headers

Ipv6ExtHeader ipv6_options_header(uint8_t type, ByteView options) {
  Ipv6ExtHeader h{type, ByteVector(options.begin(), options.end())};
  const size_t pad = (8 - (2 + h.body.size()) % 8) % 8;
  if (pad == 1) {
    h.body.push_back(0);  // Pad1
  } else if (pad > 1) {
    h.body.push_back(1);  // PadN, length then zeros
    h.body.push_back(static_cast<uint8_t>(pad - 2));
    h.body.insert(h.body.end(), pad - 2, 0);
  }
  return h;
}

Ipv6ExtHeader ipv6_hop_by_hop_router_alert() {
  const uint8_t router_alert[] = {0x05, 0x02, 0x00, 0x00};  // RFC 2711: type 5, len 2, value 0
  return ipv6_options_header(kIpv6HopByHop, router_alert);
}

Ipv6ExtHeader ipv6_segment_routing(std::span<const IpAddr> segments) {
  if (segments.empty() || segments.size() > 127) throw std::invalid_argument("ipv6_segment_routing: 1..127 segments");
  Ipv6ExtHeader h{kIpv6Routing, {}};
  append_u8(h.body, 4);  // routing type: SRH (RFC 8754 §2)
  append_u8(h.body, 0);  // segments left: the destination address is the final one
  append_u8(h.body, static_cast<uint8_t>(segments.size() - 1));  // last entry
  append_u8(h.body, 0);      // flags
  append_u16be(h.body, 0);   // tag
  for (const IpAddr& s : segments) append(h.body, ByteView(s.bytes));
  return h;
}

Ipv6ExtHeader ipv6_fragment_header(uint16_t offset, bool more, uint32_t id) {
  if (offset > 0x1fff) throw std::invalid_argument("ipv6_fragment_header: offset over 13 bits");
  Ipv6ExtHeader h{kIpv6Fragment, {}};
  append_u16be(h.body, static_cast<uint16_t>(offset << 3 | (more ? 1 : 0)));
  append_u32be(h.body, id);
  return h;
}

// ---------------------------------------------------------------------------------------
// PacketBuilder: fluent setters

PacketBuilder& PacketBuilder::ethernet(MacAddress src, MacAddress dst) {
  return layer(EthernetLayer{src, dst, std::nullopt});
}

PacketBuilder& PacketBuilder::ethernet_type(uint16_t ethertype, MacAddress src, MacAddress dst) {
  return layer(EthernetLayer{src, dst, ethertype});
}

PacketBuilder& PacketBuilder::vlan(uint16_t vid, uint16_t tpid, uint8_t pcp) {
  if (vid > 0xfff || pcp > 7) throw std::invalid_argument("vlan: vid over 12 bits or pcp over 3 bits");
  return layer(VlanLayer{tpid, vid, pcp, std::nullopt});
}

PacketBuilder& PacketBuilder::qinq(uint16_t outer_vid, uint16_t inner_vid) {
  vlan(outer_vid, kTpidQinQ);
  return vlan(inner_vid, kTpidVlan);
}

PacketBuilder& PacketBuilder::mpls(uint32_t label, uint8_t ttl) {
  if (label > 0xfffff) throw std::invalid_argument("mpls: label over 20 bits");
  return layer(MplsLayer{label, 0, ttl});
}

PacketBuilder& PacketBuilder::pppoe(uint16_t session_id) { return layer(PppoeLayer{session_id, std::nullopt}); }

PacketBuilder& PacketBuilder::null_link() { return layer(NullLinkLayer{}); }

PacketBuilder& PacketBuilder::linux_sll(uint16_t packet_type, MacAddress address) {
  return layer(SllLayer{packet_type, address});
}

PacketBuilder& PacketBuilder::linux_sll2(uint8_t packet_type, uint32_t interface_index, MacAddress address) {
  return layer(Sll2Layer{packet_type, interface_index, address});
}

PacketBuilder& PacketBuilder::ipv4(std::string_view src, std::string_view dst) {
  Ipv4Layer l;
  l.src = ip_address(src);
  l.dst = ip_address(dst);
  return ipv4(std::move(l));
}

PacketBuilder& PacketBuilder::ipv4(Ipv4Layer l) {
  if (l.src.v6 || l.dst.v6) throw std::invalid_argument("ipv4: IPv6 address given");
  if (l.options.size() > 40) throw std::invalid_argument("ipv4: options over 40 bytes (RFC 791)");
  return layer(std::move(l));
}

PacketBuilder& PacketBuilder::ipv6(std::string_view src, std::string_view dst) {
  Ipv6Layer l;
  l.src = ip_address(src);
  l.dst = ip_address(dst);
  return ipv6(std::move(l));
}

PacketBuilder& PacketBuilder::ipv6(Ipv6Layer l) {
  if (!l.src.v6 || !l.dst.v6) throw std::invalid_argument("ipv6: IPv4 address given");
  return layer(std::move(l));
}

PacketBuilder& PacketBuilder::ip(std::string_view src, std::string_view dst) {
  return ip_address(src).v6 ? ipv6(src, dst) : ipv4(src, dst);
}

PacketBuilder& PacketBuilder::udp(uint16_t src_port, uint16_t dst_port) {
  return layer(UdpLayer{src_port, dst_port, false});
}

PacketBuilder& PacketBuilder::tcp(uint16_t src_port, uint16_t dst_port, TcpOptions o) {
  return layer(TcpLayer{src_port, dst_port, o.seq, o.ack, o.flags, o.window, std::move(o.options)});
}

PacketBuilder& PacketBuilder::gtpu(uint32_t teid) { return layer(GtpuLayer{teid}); }

PacketBuilder& PacketBuilder::payload(ByteView data) { return layer(PayloadLayer{ByteVector(data.begin(), data.end())}); }

PacketBuilder& PacketBuilder::payload(std::string_view text) { return layer(PayloadLayer{to_bytes(text)}); }

PacketBuilder& PacketBuilder::layer(Layer l) {
  layers_.push_back(std::move(l));
  return *this;
}

PacketBuilder& PacketBuilder::pad_ethernet(bool on) {
  pad_ethernet_ = on;
  return *this;
}

PcapLinkType PacketBuilder::link_type() const {
  if (layers_.empty()) return PcapLinkType::kRaw;
  const Layer& first = layers_.front();
  if (std::holds_alternative<EthernetLayer>(first)) return PcapLinkType::kEthernet;
  if (std::holds_alternative<NullLinkLayer>(first)) return PcapLinkType::kNull;
  if (std::holds_alternative<SllLayer>(first)) return PcapLinkType::kLinuxSll;
  if (std::holds_alternative<Sll2Layer>(first)) return PcapLinkType::kLinuxSll2;
  return PcapLinkType::kRaw;
}

// ---------------------------------------------------------------------------------------
// PacketBuilder: encoding, innermost layer first

std::optional<uint16_t> PacketBuilder::ethertype_of(size_t index) const {
  if (index >= layers_.size()) return std::nullopt;
  const Layer& l = layers_[index];
  if (const auto* v = std::get_if<VlanLayer>(&l)) return v->tpid;
  if (std::holds_alternative<MplsLayer>(l)) return kEtherTypeMpls;
  if (std::holds_alternative<PppoeLayer>(l)) return kEtherTypePppoeSession;
  if (std::holds_alternative<Ipv4Layer>(l)) return kEtherTypeIpv4;
  if (std::holds_alternative<Ipv6Layer>(l)) return kEtherTypeIpv6;
  return std::nullopt;
}

uint8_t PacketBuilder::ip_protocol_of(size_t index) const {
  if (index < layers_.size()) {
    const Layer& l = layers_[index];
    if (std::holds_alternative<Ipv4Layer>(l)) return 4;
    if (std::holds_alternative<Ipv6Layer>(l)) return 41;
    if (std::holds_alternative<UdpLayer>(l)) return kIpProtocolUdp;
    if (std::holds_alternative<TcpLayer>(l)) return kIpProtocolTcp;
  }
  throw std::logic_error("PacketBuilder: IP layer needs an explicit protocol before a raw payload");
}

uint32_t PacketBuilder::pseudo_header_sum(size_t l4_index, uint8_t protocol, size_t l4_length) const {
  for (size_t i = l4_index; i-- > 0;) {
    ByteVector pseudo;
    if (const auto* v4 = std::get_if<Ipv4Layer>(&layers_[i])) {
      append(pseudo, ByteView(v4->src.bytes.data(), 4));
      append(pseudo, ByteView(v4->dst.bytes.data(), 4));
      append_u8(pseudo, 0);
      append_u8(pseudo, protocol);
      append_u16be(pseudo, static_cast<uint16_t>(l4_length));
    } else if (const auto* v6 = std::get_if<Ipv6Layer>(&layers_[i])) {
      // RFC 8200 §8.1: the final destination; SRH headers built here have Segments Left 0.
      append(pseudo, ByteView(v6->src.bytes));
      append(pseudo, ByteView(v6->dst.bytes));
      append_u32be(pseudo, static_cast<uint32_t>(l4_length));
      append_u24be(pseudo, 0);
      append_u8(pseudo, protocol);
    } else {
      continue;
    }
    return ones_complement_add(0, pseudo);
  }
  throw std::logic_error("PacketBuilder: L4 layer without an enclosing IP layer");
}

ByteVector PacketBuilder::build() const { return build_from(0); }

ByteVector PacketBuilder::build_from(size_t index) const {
  if (index >= layers_.size()) return {};
  return encode(index, build_from(index + 1), nullptr);
}

ByteVector PacketBuilder::encode(size_t index, ByteVector inner, const Ipv4Layer* ipv4_override) const {
  ByteVector out;
  const Layer& l = layers_[index];
  auto next_ethertype = [&](std::optional<uint16_t> explicit_type) -> uint16_t {
    if (explicit_type) return *explicit_type;
    if (auto t = ethertype_of(index + 1)) return *t;
    throw std::logic_error("PacketBuilder: link layer needs an explicit EtherType before a raw payload");
  };

  if (const auto* eth = std::get_if<EthernetLayer>(&l)) {
    append(out, ByteView(eth->dst));
    append(out, ByteView(eth->src));
    append_u16be(out, next_ethertype(eth->ethertype));
    append(out, inner);
    if (pad_ethernet_ && out.size() < 60) out.resize(60, 0);  // IEEE 802.3 minimum without FCS
  } else if (const auto* vlan = std::get_if<VlanLayer>(&l)) {
    append_u16be(out, static_cast<uint16_t>(vlan->pcp << 13 | vlan->vid));
    append_u16be(out, next_ethertype(vlan->ethertype));
    append(out, inner);
  } else if (const auto* mpls = std::get_if<MplsLayer>(&l)) {
    const bool bottom = index + 1 >= layers_.size() || !std::holds_alternative<MplsLayer>(layers_[index + 1]);
    append_u32be(out, mpls->label << 12 | static_cast<uint32_t>(mpls->traffic_class & 7) << 9 |
                          (bottom ? 1u : 0u) << 8 | mpls->ttl);
    append(out, inner);
  } else if (const auto* pppoe = std::get_if<PppoeLayer>(&l)) {
    uint16_t proto = 0;
    if (pppoe->ppp_protocol) {
      proto = *pppoe->ppp_protocol;
    } else if (ethertype_of(index + 1) == kEtherTypeIpv4) {
      proto = 0x0021;  // RFC 1332
    } else if (ethertype_of(index + 1) == kEtherTypeIpv6) {
      proto = 0x0057;  // RFC 5072
    } else {
      throw std::logic_error("PacketBuilder: PPPoE needs an explicit PPP protocol");
    }
    append_u8(out, 0x11);  // version 1, type 1
    append_u8(out, 0x00);  // code: session data
    append_u16be(out, pppoe->session_id);
    append_u16be(out, static_cast<uint16_t>(inner.size() + 2));  // PPP payload incl. protocol
    append_u16be(out, proto);
    append(out, inner);
  } else if (std::holds_alternative<NullLinkLayer>(l)) {
    const auto t = ethertype_of(index + 1);
    if (t != kEtherTypeIpv4 && t != kEtherTypeIpv6) throw std::logic_error("PacketBuilder: NULL link carries IP only");
    append_u32le(out, t == kEtherTypeIpv4 ? 2u : 24u);  // AF_INET; BSD AF_INET6
    append(out, inner);
  } else if (const auto* sll = std::get_if<SllLayer>(&l)) {
    append_u16be(out, sll->packet_type);
    append_u16be(out, 1);  // ARPHRD_ETHER
    append_u16be(out, 6);
    append(out, ByteView(sll->address));
    append_u16be(out, 0);  // address field is 8 bytes
    append_u16be(out, next_ethertype(std::nullopt));
    append(out, inner);
  } else if (const auto* sll2 = std::get_if<Sll2Layer>(&l)) {
    append_u16be(out, next_ethertype(std::nullopt));
    append_u16be(out, 0);  // reserved
    append_u32be(out, sll2->interface_index);
    append_u16be(out, 1);  // ARPHRD_ETHER
    append_u8(out, sll2->packet_type);
    append_u8(out, 6);
    append(out, ByteView(sll2->address));
    append_u16be(out, 0);
    append(out, inner);
  } else if (const auto* v4_layer = std::get_if<Ipv4Layer>(&l)) {
    const Ipv4Layer& v4 = ipv4_override != nullptr ? *ipv4_override : *v4_layer;
    ByteVector options = v4.options;
    while (options.size() % 4 != 0) options.push_back(0);  // End of Option List
    const size_t header_len = 20 + options.size();
    const size_t total = header_len + inner.size();
    if (total > 0xffff) throw std::length_error("ipv4: datagram over 65535 bytes");
    append_u8(out, static_cast<uint8_t>(0x40 | header_len / 4));
    append_u8(out, v4.tos);
    append_u16be(out, static_cast<uint16_t>(total));
    append_u16be(out, v4.id);
    append_u16be(out, static_cast<uint16_t>((v4.dont_fragment ? 0x4000 : 0) | (v4.more_fragments ? 0x2000 : 0) |
                                            (v4.fragment_offset & 0x1fff)));
    append_u8(out, v4.ttl);
    append_u8(out, v4.protocol ? *v4.protocol : ip_protocol_of(index + 1));
    append_u16be(out, 0);
    append(out, ByteView(v4.src.bytes.data(), 4));
    append(out, ByteView(v4.dst.bytes.data(), 4));
    append(out, options);
    put_u16be(out, 10, internet_checksum(out));
    append(out, inner);
  } else if (const auto* v6 = std::get_if<Ipv6Layer>(&l)) {
    ByteVector chain;
    for (size_t i = 0; i < v6->extensions.size(); ++i) {
      const Ipv6ExtHeader& h = v6->extensions[i];
      const uint8_t next = i + 1 < v6->extensions.size() ? v6->extensions[i + 1].type
                           : v6->next_header          ? *v6->next_header
                                                      : ip_protocol_of(index + 1);
      append_u8(chain, next);
      if (h.type == kIpv6Fragment) {
        if (h.body.size() != 6) throw std::logic_error("ipv6: fragment header body must be 6 bytes");
        append_u8(chain, 0);  // reserved
      } else {
        if ((h.body.size() + 2) % 8 != 0) throw std::logic_error("ipv6: extension header not a multiple of 8 bytes");
        append_u8(chain, static_cast<uint8_t>((h.body.size() + 2) / 8 - 1));
      }
      append(chain, h.body);
    }
    const uint8_t first_next = !v6->extensions.empty() ? v6->extensions.front().type
                               : v6->next_header        ? *v6->next_header
                                                        : ip_protocol_of(index + 1);
    const size_t payload_len = chain.size() + inner.size();
    if (payload_len > 0xffff) throw std::length_error("ipv6: payload over 65535 bytes (no jumbograms)");
    append_u32be(out, 6u << 28 | static_cast<uint32_t>(v6->traffic_class) << 20 | (v6->flow_label & 0xfffff));
    append_u16be(out, static_cast<uint16_t>(payload_len));
    append_u8(out, first_next);
    append_u8(out, v6->hop_limit);
    append(out, ByteView(v6->src.bytes));
    append(out, ByteView(v6->dst.bytes));
    append(out, chain);
    append(out, inner);
  } else if (const auto* udp = std::get_if<UdpLayer>(&l)) {
    const size_t len = 8 + inner.size();
    if (len > 0xffff) throw std::length_error("udp: datagram over 65535 bytes");
    append_u16be(out, udp->src_port);
    append_u16be(out, udp->dst_port);
    append_u16be(out, static_cast<uint16_t>(len));
    append_u16be(out, 0);
    append(out, inner);
    if (!udp->zero_checksum) {
      uint16_t sum = internet_checksum(out, pseudo_header_sum(index, kIpProtocolUdp, len));
      put_u16be(out, 6, sum == 0 ? 0xffff : sum);  // RFC 768: a computed zero is sent as all ones
    }
  } else if (const auto* tcp = std::get_if<TcpLayer>(&l)) {
    ByteVector options = tcp->options;
    while (options.size() % 4 != 0) options.push_back(1);  // NOP
    if (options.size() > 40) throw std::length_error("tcp: options over 40 bytes");
    const size_t header_len = 20 + options.size();
    append_u16be(out, tcp->src_port);
    append_u16be(out, tcp->dst_port);
    append_u32be(out, tcp->seq);
    append_u32be(out, tcp->ack);
    append_u8(out, static_cast<uint8_t>(header_len / 4 << 4));
    append_u8(out, tcp->flags);
    append_u16be(out, tcp->window);
    append_u16be(out, 0);  // checksum
    append_u16be(out, 0);  // urgent pointer
    append(out, options);
    append(out, inner);
    put_u16be(out, 16, internet_checksum(out, pseudo_header_sum(index, kIpProtocolTcp, out.size())));
  } else if (const auto* gtp = std::get_if<GtpuLayer>(&l)) {
    append_u8(out, 0x30);  // version 1, PT 1 (GTP), no E/S/PN
    append_u8(out, 0xff);  // G-PDU
    append_u16be(out, static_cast<uint16_t>(inner.size()));
    append_u32be(out, gtp->teid);
    append(out, inner);
  } else if (const auto* p = std::get_if<PayloadLayer>(&l)) {
    if (!inner.empty()) throw std::logic_error("PacketBuilder: payload must be the innermost layer");
    out = p->data;
  }
  return out;
}

std::vector<ByteVector> PacketBuilder::build_ipv4_fragments(size_t max_fragment_payload) const {
  size_t k = layers_.size();
  for (size_t i = layers_.size(); i-- > 0;) {
    if (std::holds_alternative<Ipv4Layer>(layers_[i])) {
      k = i;
      break;
    }
  }
  if (k == layers_.size()) throw std::logic_error("build_ipv4_fragments: no IPv4 layer");
  const size_t step = max_fragment_payload & ~static_cast<size_t>(7);
  if (step == 0) throw std::invalid_argument("build_ipv4_fragments: fragments carry at least 8 bytes");
  const ByteVector datagram_payload = build_from(k + 1);
  const auto& base = std::get<Ipv4Layer>(layers_[k]);

  std::vector<ByteVector> frames;
  for (size_t off = 0; off < datagram_payload.size(); off += step) {
    const size_t len = std::min(step, datagram_payload.size() - off);
    Ipv4Layer frag = base;
    frag.dont_fragment = false;
    frag.fragment_offset = static_cast<uint16_t>((base.fragment_offset * 8 + off) / 8);
    frag.more_fragments = base.more_fragments || off + len < datagram_payload.size();
    const auto first = datagram_payload.begin() + static_cast<std::ptrdiff_t>(off);
    ByteVector encoded = encode(k, ByteVector(first, first + static_cast<std::ptrdiff_t>(len)), &frag);
    for (size_t j = k; j-- > 0;) encoded = encode(j, std::move(encoded), nullptr);
    frames.push_back(std::move(encoded));
  }
  return frames;
}

PacketBuilder PacketBuilder::reversed() const {
  PacketBuilder r = *this;
  for (Layer& l : r.layers_) {
    if (auto* eth = std::get_if<EthernetLayer>(&l)) {
      std::swap(eth->src, eth->dst);
    } else if (auto* sll = std::get_if<SllLayer>(&l)) {
      sll->packet_type = sll->packet_type == 0 ? 4 : 0;  // to us <-> outgoing
    } else if (auto* sll2 = std::get_if<Sll2Layer>(&l)) {
      sll2->packet_type = sll2->packet_type == 0 ? 4 : 0;
    } else if (auto* v4 = std::get_if<Ipv4Layer>(&l)) {
      std::swap(v4->src, v4->dst);
    } else if (auto* v6 = std::get_if<Ipv6Layer>(&l)) {
      std::swap(v6->src, v6->dst);
      for (Ipv6ExtHeader& h : v6->extensions) {
        // A one-segment SRH from ipv6_segment_routing() names the final destination: keep it so.
        if (h.type == kIpv6Routing && h.body.size() == 6 + 16 && h.body[0] == 4 && h.body[1] == 0) {
          std::copy(v6->dst.bytes.begin(), v6->dst.bytes.end(), h.body.begin() + 6);
        }
      }
    } else if (auto* udp = std::get_if<UdpLayer>(&l)) {
      std::swap(udp->src_port, udp->dst_port);
    } else if (auto* tcp = std::get_if<TcpLayer>(&l)) {
      std::swap(tcp->src_port, tcp->dst_port);
    }
  }
  return r;
}

// ---------------------------------------------------------------------------------------
// TcpConversation

TcpConversation::TcpConversation(PacketBuilder client_to_server, uint32_t client_isn, uint32_t server_isn)
    : c2s_(std::move(client_to_server)), s2c_(c2s_.reversed()), client_seq_(client_isn), server_seq_(server_isn) {
  if (c2s_.layers().empty() || !std::holds_alternative<TcpLayer>(c2s_.layers().back())) {
    throw std::invalid_argument("TcpConversation: template must end with a tcp() layer");
  }
}

ByteVector TcpConversation::segment(bool from_client, uint8_t flags, ByteView data, ByteVector options) {
  PacketBuilder b = from_client ? c2s_ : s2c_;
  auto& tcp = b.innermost<TcpLayer>();
  uint32_t& seq = from_client ? client_seq_ : server_seq_;
  tcp.seq = seq;
  tcp.ack = (flags & tcp_flags::kAck) != 0 ? (from_client ? server_seq_ : client_seq_) : 0;
  tcp.flags = flags;
  tcp.options = std::move(options);
  if (!data.empty()) b.payload(data);
  seq += static_cast<uint32_t>(data.size()) + ((flags & tcp_flags::kSyn) != 0 ? 1u : 0u) +
         ((flags & tcp_flags::kFin) != 0 ? 1u : 0u);
  return b.build();
}

std::vector<ByteVector> TcpConversation::handshake() {
  // MSS 1460, SACK permitted, NOP, window scale 7 (RFC 9293 §3.2, RFC 2018, RFC 7323).
  const ByteVector syn_options = {0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x01, 0x03, 0x03, 0x07};
  std::vector<ByteVector> frames;
  frames.push_back(segment(true, tcp_flags::kSyn, {}, syn_options));
  frames.push_back(segment(false, tcp_flags::kSyn | tcp_flags::kAck, {}, syn_options));
  frames.push_back(segment(true, tcp_flags::kAck, {}));
  return frames;
}

ByteVector TcpConversation::client_send(ByteView data) { return segment(true, tcp_flags::kPsh | tcp_flags::kAck, data); }

ByteVector TcpConversation::server_send(ByteView data) { return segment(false, tcp_flags::kPsh | tcp_flags::kAck, data); }

std::vector<ByteVector> TcpConversation::client_send_split(ByteView data, std::span<const size_t> offsets) {
  return client_send_pieces(split_at(data, offsets));
}

std::vector<ByteVector> TcpConversation::client_send_pieces(std::span<const ByteVector> pieces) {
  std::vector<ByteVector> frames;
  for (const ByteVector& p : pieces) frames.push_back(client_send(p));
  return frames;
}

ByteVector TcpConversation::client_ack() { return segment(true, tcp_flags::kAck, {}); }

ByteVector TcpConversation::server_ack() { return segment(false, tcp_flags::kAck, {}); }

std::vector<ByteVector> TcpConversation::close() {
  std::vector<ByteVector> frames;
  frames.push_back(segment(true, tcp_flags::kFin | tcp_flags::kAck, {}));
  frames.push_back(segment(false, tcp_flags::kFin | tcp_flags::kAck, {}));
  frames.push_back(segment(true, tcp_flags::kAck, {}));
  return frames;
}

}  // namespace muhafiz::testing
