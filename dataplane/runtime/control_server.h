// The dataplane's control socket: a ZeroMQ REP socket bound on an ipc:// path, served from
// the main lcore without blocking (poll() once per main-loop iteration). Requests and replies
// are the typed messages of dataplane/api/messages.h, decoded strictly: anything undecodable
// gets an api::ErrorReply naming the problem. What a request does is up to the handlers, so
// the server knows nothing of rulesets or counters:
//
//   ControlHandlers handlers;
//   handlers.ruleset_load = [&](const std::string& path) { return rulesets.load(path); };
//   handlers.stats = [&](std::vector<api::Metric>* m) { rulesets.collect(m); rings.collect(m); ...
//   }; ControlServer server(zmq, {"ipc:///run/muhafiz/dataplane-control.sock"}, std::move(handlers)); for (;;) {
//   ...; server.poll(); rulesets.reclaim(); publisher.poll(rings); }
//
// Calling rules: main lcore only; the handlers run there, inline in poll(). A ruleset-load
// validates the whole file before it answers, so the main loop pauses that long: the worker
// event rings must be sized to absorb it. Destroy before the ZmqContext.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dataplane/api/messages.h"
#include "dataplane/runtime/zmq_socket.h"

namespace muhafiz::runtime {

struct ControlHandlers {
  std::function<api::RulesetLoadReply(const std::string& path)> ruleset_load;
  std::function<void(std::vector<api::Metric>* out)> stats;
};

struct ControlServerOptions {
  std::string endpoint = "ipc:///run/muhafiz/dataplane-control.sock";
  // Mode of the ipc socket file: whoever can connect can swap the ruleset.
  unsigned socket_mode = 0660;
};

class ControlServer {
 public:
  // Requests answered per poll(), so a flood of pings cannot starve the main loop.
  static constexpr uint32_t kMaxRequestsPerPoll = 8;

  // Binds (replacing a stale socket file) and sets the file's mode. Throws ZmqError or
  // std::system_error naming the endpoint; std::invalid_argument when a handler is missing.
  ControlServer(ZmqContext& ctx, ControlServerOptions options, ControlHandlers handlers);

  // Answers the requests already waiting (at most kMaxRequestsPerPoll); returns how many.
  uint32_t poll() noexcept;

  uint64_t requests() const noexcept { return requests_; }
  uint64_t bad_requests() const noexcept { return bad_requests_; }
  // Counters control_requests{type}, control_bad_requests, control_reply_failures.
  void collect(std::vector<api::Metric>* out) const;

 private:
  std::string handle(std::string_view request);

  ControlServerOptions options_;
  ControlHandlers handlers_;
  ZmqSocket socket_;
  uint64_t requests_ = 0;
  uint64_t by_type_[3] = {};  // ping, ruleset-load, stats
  uint64_t bad_requests_ = 0;
  uint64_t reply_failures_ = 0;
};

}  // namespace muhafiz::runtime
