// The forged answer to a blocked DNS query (RFC 1035 §4.1), over UDP or TCP.
#include "dataplane/action/reply.h"
#include "dataplane/action/reply_frame.h"
#include "dataplane/parse/dns.h"

namespace muhafiz::action {
namespace {

using parse::ByteReader;
using parse::Bytes;
using parse::ParseStatus;

// RFC 1035 §4.1.1 header bits (QR, opcode and Z come from dataplane/parse/dns.h).
constexpr uint16_t kFlagRd = 0x0100;
constexpr uint16_t kFlagRa = 0x0080;
constexpr uint16_t kFlagCd = 0x0010;  // RFC 4035 §3.2.2: copied into the response
constexpr uint8_t kOpcodeQuery = 0;
constexpr uint16_t kRcodeNxdomain = 3;
constexpr uint16_t kRcodeBadvers = 16;  // RFC 6891 §6.1.3: 12-bit RCODE, upper 8 bits in the OPT
constexpr unsigned kExtendedRcodeShift = 4;

constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeAaaa = 28;  // RFC 3596
constexpr uint16_t kTypeOpt = 41;   // RFC 6891 §6.1.1
constexpr uint16_t kClassIn = 1;
constexpr uint16_t kPointerToQuestion = 0xc000 | parse::kDnsHeaderLen;  // RFC 1035 §4.1.4
constexpr uint16_t kOptionEde = 15;                                     // RFC 8914 §2
constexpr uint16_t kEdeInfoCodeLen = 2;      // RFC 8914 §2: INFO-CODE, then EXTRA-TEXT
constexpr uint32_t kEdnsDoBit = 0x8000;      // RFC 3225 §3: copied into the response
constexpr uint16_t kDnsRecordFixedLen = 10;  // type, class, TTL, RDLENGTH after the owner name
// Records walked after the question to find the OPT. Queries carry OPT and perhaps a TSIG or
// SIG(0) (RFC 8945, RFC 2931); anything past this is not a query a stub or resolver sends.
constexpr size_t kMaxDnsQueryRecords = 8;

// The longest reply: header, the longest question, an AAAA record, an OPT with the longest EDE.
// It must fit the 512 bytes every client takes (RFC 1035 §4.2.1; RFC 6891 §6.2.5 treats smaller
// EDNS sizes as 512), so no answer is ever truncated.
constexpr size_t kMaxReplyMessageLen =
    parse::kDnsHeaderLen + parse::kMaxDnsNameWireLen + 4 + (2 + kDnsRecordFixedLen + 16) +
    (1 + kDnsRecordFixedLen + 4 + kEdeInfoCodeLen + kMaxEdeExtraTextLen);
static_assert(kMaxReplyMessageLen <= 512, "a blocked answer must fit a DNS/UDP message");

struct DnsQuery {
  uint16_t id = 0;
  uint16_t flags = 0;
  Bytes question;  // name, QTYPE and QCLASS as the client wrote them
  uint16_t qtype = 0, qclass = 0;
  bool edns = false;
  uint8_t edns_version = 0;
  bool dnssec_ok = false;
};

// Decodes what the answer needs from the query: header, the one question, and an OPT record in
// the additional section.
ReplyError read_query(Bytes msg, DnsQuery* q) {
  ByteReader r(msg);
  q->id = r.read_u16be();
  q->flags = r.read_u16be();
  const uint16_t qdcount = r.read_u16be();
  const uint16_t ancount = r.read_u16be();
  const uint16_t nscount = r.read_u16be();
  const uint16_t arcount = r.read_u16be();
  if (!r.ok()) return ReplyError::kDnsMalformed;
  const auto opcode =
      static_cast<uint8_t>((q->flags >> parse::kDnsOpcodeShift) & parse::kDnsOpcodeMask);
  if ((q->flags & parse::kDnsFlagQr) != 0 || opcode != kOpcodeQuery) {
    return ReplyError::kNotDnsQuery;
  }
  if (qdcount != 1) return ReplyError::kDnsQuestionCount;

  parse::DnsName name;  // decoded for its length; the text is not needed
  ByteReader at_question = r;
  if (parse::read_dns_name(r, &name) != ParseStatus::kOk) return ReplyError::kDnsMalformed;
  q->qtype = r.read_u16be();
  q->qclass = r.read_u16be();
  if (!r.ok()) return ReplyError::kDnsMalformed;
  q->question = at_question.bytes(r.offset() - at_question.offset());

  const size_t records = size_t{ancount} + nscount + arcount;
  if (records > kMaxDnsQueryRecords) return ReplyError::kDnsMalformed;
  for (size_t i = 0; i < records; ++i) {
    if (parse::read_dns_name(r, &name) != ParseStatus::kOk) return ReplyError::kDnsMalformed;
    const uint16_t type = r.read_u16be();
    r.skip(2);  // class (the OPT's is the client's UDP size, not needed: our reply is small)
    const uint32_t ttl = r.read_u32be();
    r.skip(r.read_u16be());
    if (!r.ok()) return ReplyError::kDnsMalformed;
    if (type != kTypeOpt || i < size_t{ancount} + nscount) continue;
    if (q->edns || name.len != 0) return ReplyError::kDnsMalformed;  // RFC 6891 §6.1.1
    q->edns = true;
    q->edns_version = static_cast<uint8_t>(ttl >> 16);  // TTL: extended RCODE, VERSION, DO, Z
    q->dnssec_ok = (ttl & kEdnsDoBit) != 0;
  }
  return ReplyError::kNone;
}

void write_message(FrameWriter& w, const DnsQuery& q, const ReplyConfig& c) {
  const bool badvers = q.edns && q.edns_version != 0;
  uint16_t rcode = c.dns_answer == DnsBlockAnswer::kNxdomain ? kRcodeNxdomain : 0;
  if (badvers) rcode = kRcodeBadvers;
  const parse::IpAddress* address = nullptr;
  if (!badvers && c.dns_answer == DnsBlockAnswer::kStopPage && q.qclass == kClassIn) {
    if (q.qtype == kTypeA && c.stop_page_v4.family == parse::IpFamily::kV4) {
      address = &c.stop_page_v4;
    }
    if (q.qtype == kTypeAaaa && c.stop_page_v6.family == parse::IpFamily::kV6) {
      address = &c.stop_page_v6;
    }
  }

  w.u16be(q.id);
  w.u16be(static_cast<uint16_t>(parse::kDnsFlagQr | (q.flags & (kFlagRd | kFlagCd)) | kFlagRa |
                                (rcode & parse::kDnsRcodeMask)));
  w.u16be(1);                           // QDCOUNT
  w.u16be(address != nullptr ? 1 : 0);  // ANCOUNT
  w.u16be(0);                           // NSCOUNT: no SOA, so resolvers do not cache the block
  w.u16be(q.edns ? 1 : 0);              // ARCOUNT
  w.bytes(q.question);

  if (address != nullptr) {
    const bool v4 = address->family == parse::IpFamily::kV4;
    const Bytes rdata = Bytes(address->bytes).first(v4 ? 4 : 16);
    w.u16be(kPointerToQuestion);
    w.u16be(v4 ? kTypeA : kTypeAaaa);
    w.u16be(kClassIn);
    w.u32be(c.dns_ttl);
    w.u16be(static_cast<uint16_t>(rdata.size()));
    w.bytes(rdata);
  }

  if (q.edns) {  // RFC 6891 §7: an OPT only when the query had one
    const auto text_len = static_cast<uint16_t>(c.ede_extra_text.size());
    w.u8(0);  // owner: the root
    w.u16be(kTypeOpt);
    w.u16be(c.edns_udp_size);
    w.u8(static_cast<uint8_t>(rcode >> kExtendedRcodeShift));
    w.u8(0);  // VERSION: we speak EDNS(0)
    w.u16be(q.dnssec_ok ? static_cast<uint16_t>(kEdnsDoBit) : 0);
    w.u16be(static_cast<uint16_t>(4 + kEdeInfoCodeLen + text_len));  // RDLENGTH
    w.u16be(kOptionEde);
    w.u16be(static_cast<uint16_t>(kEdeInfoCodeLen + text_len));
    w.u16be(static_cast<uint16_t>(c.ede_code));
    w.text(c.ede_extra_text);  // RFC 8914 §2: UTF-8, not NUL-terminated
  }
}

}  // namespace

ReplyResult build_dns_reply(const BlockedPacket& pkt, const ReplyConfig& config,
                            std::span<uint8_t> out) noexcept {
  if (!reply_config_problem(config).empty()) return {0, ReplyError::kBadConfig};
  const parse::PacketInfo& info = pkt.info;
  const bool tcp = info.l4_proto == parse::kIpProtoTcp;
  LinkMirror link;
  if (const ReplyError e = check_packet(pkt, tcp ? parse::kIpProtoTcp : parse::kIpProtoUdp, &link);
      e != ReplyError::kNone) {
    return {0, e};
  }

  Bytes msg = info.l4_payload;
  TcpFields tcp_fields;
  if (tcp) {
    if ((info.tcp_flags & parse::tcp_flag::kRst) != 0) return {0, ReplyError::kTcpReset};
    if ((info.tcp_flags & parse::tcp_flag::kAck) == 0) return {0, ReplyError::kTcpNotEstablished};
    size_t consumed = 0;
    const ParseStatus s = parse::next_dns_tcp_message(info.l4_payload, &msg, &consumed);
    if (s == ParseStatus::kNeedMore) return {0, ReplyError::kDnsIncomplete};
    if (s != ParseStatus::kOk) return {0, ReplyError::kDnsMalformed};
    uint8_t flags = parse::tcp_flag::kPsh | parse::tcp_flag::kAck;
    if (config.dns_tcp_fin) flags |= parse::tcp_flag::kFin;
    tcp_fields = tcp_answer_to_client(info, flags);
  }
  DnsQuery query;
  if (const ReplyError e = read_query(msg, &query); e != ReplyError::kNone) return {0, e};

  ReplyFrame frame(out);
  frame.begin(link, info, config.hop_limit, Direction::kToClient, info.l4_proto, tcp_fields);
  FrameWriter& w = frame.payload();
  const size_t prefix_at = w.size();
  if (tcp) w.u16be(0);  // RFC 1035 §4.2.2 length prefix, patched below
  const size_t msg_at = w.size();
  write_message(w, query, config);
  if (tcp) w.patch_u16be(prefix_at, static_cast<uint16_t>(w.size() - msg_at));
  return frame.finish();
}

}  // namespace muhafiz::action
