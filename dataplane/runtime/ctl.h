// muhafiz-dataplane-ctl: sends one control request (dataplane/api/messages.h) to a running
// dataplane and prints the reply. What operators and tests use:
//   muhafiz-dataplane-ctl [--socket ipc:///run/muhafiz/dp.ctl] [--timeout-ms 5000] [--json]
//                         ping | stats | ruleset-load PATH
#pragma once

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

// The whole tool: parses argv, sends, prints to out/err, returns kCtlOk/kCtlRefused/kCtlFailed.
int run_ctl(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace muhafiz::runtime
