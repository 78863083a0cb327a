// TCP resets for a blocked client-to-server segment (SEG below), one towards each endpoint.
//
// Which resets an endpoint accepts (RFC 9293 §3.10.7):
// * In a synchronized state (§3.10.7.4, "first check sequence number") a RST is judged by its
//   SEQ alone, before the ACK field is looked at; RFC 5961 §3.2, which §3.10.7.4 adopts, narrows
//   this: SEQ == RCV.NXT resets, any other in-window SEQ only draws a challenge ACK. So each
//   reset must carry exactly the receiver's RCV.NXT.
// * In SYN-SENT (§3.10.7.3) SEQ is ignored; the RST counts only with the ACK bit and
//   SND.UNA < SEG.ACK =< SND.NXT, i.e. ACK = the SYN's sequence number + 1.
//
// Towards the client, whose RCV.NXT is the ACK it just sent: SEQ = SEG.ACK. ACK = SEG.SEQ +
// SEG.LEN with the ACK bit, which also satisfies SYN-SENT when SEG was a SYN (no ACK bit: SEQ 0,
// as §3.10.7.1 builds it). Data the server sent after SEG.ACK and that reaches the client first
// moves RCV.NXT past our SEQ and turns the reset into a challenge ACK; the blocked segments are
// the client's first words (DNS query, HTTP request, ClientHello), so that race is rare.
//
// Towards the server, whose RCV.NXT depends on what it received of SEG: inline, SEG was dropped
// and RCV.NXT = SEG.SEQ; on a tap SEG was delivered and RCV.NXT = SEG.SEQ + SEG.LEN. ACK carries
// the client's own SEG.ACK (never beyond the server's SND.NXT), so a stateful box on the path
// sees an ordinary client segment; without an ACK in SEG the reset has none either.
#include "dataplane/action/reply.h"
#include "dataplane/action/reply_frame.h"

namespace muhafiz::action {

ReplyResult build_tcp_rst(const BlockedPacket& pkt, RstTarget target, const ReplyConfig& config,
                          std::span<uint8_t> out) noexcept {
  if (!reply_config_problem(config).empty()) return {0, ReplyError::kBadConfig};
  LinkMirror link;
  if (const ReplyError e = check_packet(pkt, parse::kIpProtoTcp, &link); e != ReplyError::kNone) {
    return {0, e};
  }
  const parse::PacketInfo& info = pkt.info;
  if ((info.tcp_flags & parse::tcp_flag::kRst) != 0) return {0, ReplyError::kTcpReset};
  const bool has_ack = (info.tcp_flags & parse::tcp_flag::kAck) != 0;
  const uint32_t seg_end = info.tcp_seq + tcp_segment_length(info);

  TcpFields tcp;
  Direction dir = Direction::kToClient;
  if (target == RstTarget::kClient) {
    tcp.seq = has_ack ? info.tcp_ack : 0;
    tcp.ack = seg_end;
    tcp.flags = parse::tcp_flag::kRst | parse::tcp_flag::kAck;
  } else {
    dir = Direction::kToServer;
    tcp.seq = config.placement == Placement::kInline ? info.tcp_seq : seg_end;
    tcp.ack = has_ack ? info.tcp_ack : 0;
    tcp.flags = has_ack ? parse::tcp_flag::kRst | parse::tcp_flag::kAck : parse::tcp_flag::kRst;
  }
  ReplyFrame frame(out);
  frame.begin(link, info, config.hop_limit, dir, parse::kIpProtoTcp, tcp);
  return frame.finish();
}

}  // namespace muhafiz::action
