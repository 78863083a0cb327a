// "302 Found" to the stop page (RFC 9110 §15.4.3), in one segment that also closes the stream.
#include <string_view>

#include "dataplane/action/reply.h"
#include "dataplane/action/reply_frame.h"

namespace muhafiz::action {
namespace {

constexpr std::string_view kQueryKey = "blocked=";
constexpr char kHexDigits[] = "0123456789ABCDEF";

// RFC 3986 §2.3 unreserved characters travel as they are; every other byte is percent-encoded
// (§2.1), so whatever the client put in Host cannot break out of the query.
bool unreserved(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

struct Location {
  std::string_view url;   // validated by reply_config_problem: RFC 3986 characters, no '#'
  std::string_view host;  // empty: no query
};

// The Location value; in HTML, '&' becomes "&amp;" (the only character of a validated URL and of
// our percent-encoding that is special inside a quoted attribute).
void write_location(FrameWriter& w, const Location& loc, bool html) {
  const std::string_view amp = html ? "&amp;" : "&";
  for (const char c : loc.url) {
    if (c == '&') {
      w.text(amp);
    } else {
      w.u8(static_cast<uint8_t>(c));
    }
  }
  if (loc.host.empty()) return;
  if (loc.url.find('?') == std::string_view::npos) {
    w.u8('?');
  } else {
    w.text(amp);
  }
  w.text(kQueryKey);
  for (const char ch : loc.host) {
    const auto c = static_cast<uint8_t>(ch);
    if (unreserved(c)) {
      w.u8(c);
    } else {
      w.u8('%');
      w.u8(static_cast<uint8_t>(kHexDigits[c >> 4]));
      w.u8(static_cast<uint8_t>(kHexDigits[c & 0x0f]));
    }
  }
}

void write_body(FrameWriter& w, const Location& loc) {
  w.text(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Blocked</title></head>\n"
      "<body><p>Access to this site is blocked. <a href=\"");
  write_location(w, loc, true);
  w.text("\">More information</a></p></body></html>\n");
}

void write_response(FrameWriter& w, const Location& loc) {
  FrameWriter measure({});  // counts without storing
  write_body(measure, loc);
  w.text("HTTP/1.1 302 Found\r\nLocation: ");
  write_location(w, loc, false);
  w.text("\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ");
  w.decimal(measure.size());
  // no-store: a redirect cached by the browser would outlive the block.
  w.text("\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n");
  write_body(w, loc);
}

size_t response_size(const Location& loc) {
  FrameWriter measure({});
  write_response(measure, loc);
  return measure.size();
}

}  // namespace

ReplyResult build_http_redirect(const BlockedPacket& pkt, std::string_view blocked_host,
                                const ReplyConfig& config, std::span<uint8_t> out) noexcept {
  if (!reply_config_problem(config).empty()) return {0, ReplyError::kBadConfig};
  if (config.stop_page_url.empty()) return {0, ReplyError::kNoStopPageUrl};
  LinkMirror link;
  if (const ReplyError e = check_packet(pkt, parse::kIpProtoTcp, &link); e != ReplyError::kNone) {
    return {0, e};
  }
  const parse::PacketInfo& info = pkt.info;
  if ((info.tcp_flags & parse::tcp_flag::kRst) != 0) return {0, ReplyError::kTcpReset};
  if ((info.tcp_flags & parse::tcp_flag::kAck) == 0) return {0, ReplyError::kTcpNotEstablished};

  // A Host too long to be one, or one whose encoding would not fit the segment, is left out:
  // the redirect matters more than the hint.
  Location loc{config.stop_page_url, config.stop_page_query ? blocked_host : std::string_view{}};
  if (loc.host.size() > kMaxBlockedHostLen || response_size(loc) > kMaxRedirectPayloadLen) {
    loc.host = {};
  }
  if (response_size(loc) > kMaxRedirectPayloadLen) return {0, ReplyError::kReplyTooLarge};

  ReplyFrame frame(out);
  frame.begin(link, info, config.hop_limit, Direction::kToClient, parse::kIpProtoTcp,
              tcp_answer_to_client(
                  info, parse::tcp_flag::kPsh | parse::tcp_flag::kAck | parse::tcp_flag::kFin));
  write_response(frame.payload(), loc);
  return frame.finish();
}

}  // namespace muhafiz::action
