// muhafiz-dataplane-ctl: sends one control request (dataplane/api/messages.h) to a running
// dataplane and prints the reply. What operators and tests use:
//   muhafiz-dataplane-ctl [--socket ipc:///run/muhafiz/dataplane-control.sock] [--timeout-ms 5000] [--json]
//                         ping | stats | ruleset-load PATH
//   muhafiz-dataplane-ctl events --listen ipc:///run/muhafiz/dataplane-events.sock
//                         [--count N] [--idle-exit-ms MS]
// `events` stands in for the control process on the event channel: it binds the PULL socket
// the dataplane pushes access events to and prints each event as one JSON line (for tests,
// demos and debugging; muhafiz-control is the real receiver).
#pragma once

#include <atomic>
#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>

#include "dataplane/api/messages.h"

namespace muhafiz::runtime {

// Exit status of run_ctl (and of the tool).
inline constexpr int kCtlOk = 0;       // the request did what was asked
inline constexpr int kCtlRefused = 1;  // the dataplane answered no (ruleset refused, error reply)
inline constexpr int kCtlFailed = 2;   // usage error, no answer in time, or an undecodable answer

struct CtlResponse {
  std::optional<api::Reply> reply;  // set when a reply arrived and decoded
  std::string raw;                  // the reply's bytes, as received
  std::string error;                // why there is no reply
};

// One REQ round trip with its own ZeroMQ context; never waits longer than `timeout`.
CtlResponse ctl_request(const std::string& endpoint, const api::Request& request,
                        std::chrono::milliseconds timeout);

// Set (from a signal handler) to make a running `events` listener finish and return.
std::atomic<bool>& ctl_stop_flag() noexcept;

// The whole tool: parses argv, sends, prints to out/err, returns kCtlOk/kCtlRefused/kCtlFailed.
int run_ctl(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace muhafiz::runtime
