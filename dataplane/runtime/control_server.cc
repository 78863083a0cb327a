#include "dataplane/runtime/control_server.h"

#include <sys/stat.h>
#include <zmq.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "dataplane/runtime/log.h"

namespace muhafiz::runtime {

ControlServer::ControlServer(ZmqContext& ctx, ControlServerOptions options,
                             ControlHandlers handlers)
    : options_(std::move(options)), handlers_(std::move(handlers)), socket_(ctx, ZMQ_REP) {
  if (!handlers_.ruleset_load || !handlers_.stats) {
    throw std::invalid_argument("ControlServer: ruleset_load and stats handlers are required");
  }
  // A peer sending more than this is disconnected by ZeroMQ before we allocate for it.
  socket_.set_i64(ZMQ_MAXMSGSIZE, static_cast<long long>(api::kMaxRequestBytes),
                  "zmq_setsockopt(ZMQ_MAXMSGSIZE)");
  socket_.set_int(ZMQ_LINGER, 0, "zmq_setsockopt(ZMQ_LINGER)");
  socket_.bind(options_.endpoint);
  const std::string path = ipc_path(options_.endpoint);
  if (!path.empty() && ::chmod(path.c_str(), static_cast<mode_t>(options_.socket_mode)) != 0) {
    throw std::system_error(errno, std::generic_category(), "chmod(" + path + ")");
  }
  MUHAFIZ_RUNTIME_LOG(INFO, "control socket on %s\n", options_.endpoint.c_str());
}

namespace {

// Sent when building the real reply failed (out of memory): REP must answer something.
constexpr std::string_view kFallbackReply =
    R"({"type":"error","schema":1,"error":"internal error"})";

}  // namespace

std::string ControlServer::handle(std::string_view request) {
  try {
    const api::Decoded<api::Request> decoded = api::decode_request(request);
    if (!decoded) {
      ++bad_requests_;
      return api::encode(api::Reply{api::ErrorReply{decoded.error}});
    }
    const api::Request& r = *decoded.value;
    if (std::holds_alternative<api::Ping>(r)) {
      ++by_type_[0];
      return api::encode(api::Reply{api::Pong{}});
    }
    if (const auto* load = std::get_if<api::RulesetLoad>(&r)) {
      ++by_type_[1];
      return api::encode(api::Reply{handlers_.ruleset_load(load->path)});
    }
    ++by_type_[2];
    api::StatsReply stats;
    handlers_.stats(&stats.metrics);
    collect(&stats.metrics);
    return api::encode(api::Reply{std::move(stats)});
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    // A handler that throws is a bug, but the main loop must keep serving.
    return api::encode(api::Reply{api::ErrorReply{std::string("internal error: ") + e.what()}});
  }
}

uint32_t ControlServer::poll() noexcept {
  uint32_t served = 0;
  while (served < kMaxRequestsPerPoll) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, socket_.get(), ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&msg);
      break;  // EAGAIN: nothing waiting
    }
    ++requests_;
    std::string_view request(static_cast<const char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
    const bool multipart = zmq_msg_more(&msg) != 0;
    if (multipart) {
      // REP must read the whole request before it may answer.
      while (zmq_msg_more(&msg) != 0 && zmq_msg_recv(&msg, socket_.get(), ZMQ_DONTWAIT) >= 0) {
      }
      ++bad_requests_;
    }
    std::string reply;
    std::string_view out = kFallbackReply;
    try {
      reply = multipart ? api::encode(api::Reply{api::ErrorReply{"a request is one frame"}})
                        : handle(request);
      out = reply;
    } catch (...) {
      ++reply_failures_;
    }
    zmq_msg_close(&msg);
    // DONTWAIT: a REP reply is queued to the requester; it is refused only if the requester
    // is gone, and then nobody waits for it.
    if (zmq_send(socket_.get(), out.data(), out.size(), ZMQ_DONTWAIT) < 0) ++reply_failures_;
    ++served;
  }
  return served;
}

void ControlServer::collect(std::vector<api::Metric>* out) const {
  using api::Metric;
  using api::MetricKind;
  out->push_back(Metric{"control_requests", MetricKind::kCounter, {{"type", "ping"}}, by_type_[0]});
  out->push_back(
      Metric{"control_requests", MetricKind::kCounter, {{"type", "ruleset-load"}}, by_type_[1]});
  out->push_back(
      Metric{"control_requests", MetricKind::kCounter, {{"type", "stats"}}, by_type_[2]});
  out->push_back(Metric{"control_bad_requests", MetricKind::kCounter, {}, bad_requests_});
  out->push_back(Metric{"control_reply_failures", MetricKind::kCounter, {}, reply_failures_});
}

}  // namespace muhafiz::runtime
