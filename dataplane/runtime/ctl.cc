#include "dataplane/runtime/ctl.h"

#include <zmq.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <span>
#include <vector>
#include <ostream>

#include "dataplane/runtime/zmq_socket.h"

namespace muhafiz::runtime {

CtlResponse ctl_request(const std::string& endpoint, const api::Request& request,
                        std::chrono::milliseconds timeout) {
  CtlResponse response;
  try {
    ZmqContext ctx;
    ZmqSocket socket(ctx, ZMQ_REQ);
    const int ms = static_cast<int>(timeout.count());
    socket.set_int(ZMQ_LINGER, 0, "zmq_setsockopt(ZMQ_LINGER)");
    socket.set_int(ZMQ_SNDTIMEO, ms, "zmq_setsockopt(ZMQ_SNDTIMEO)");
    socket.set_int(ZMQ_RCVTIMEO, ms, "zmq_setsockopt(ZMQ_RCVTIMEO)");
    socket.set_i64(ZMQ_MAXMSGSIZE, static_cast<long long>(api::kMaxReplyBytes),
                   "zmq_setsockopt(ZMQ_MAXMSGSIZE)");
    socket.connect(endpoint);
    const std::string bytes = api::encode(request);
    if (zmq_send(socket.get(), bytes.data(), bytes.size(), 0) < 0) {
      response.error = zmq_error_text("zmq_send", endpoint);
      return response;
    }
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, socket.get(), 0) < 0) {
      const int e = zmq_errno();
      zmq_msg_close(&msg);
      response.error =
          e == EAGAIN ? "no reply from " + endpoint + " within " + std::to_string(ms) +
                            " ms (is muhafiz-dataplane running, and is this its control socket?)"
                      : zmq_error_text("zmq_msg_recv", endpoint);
      return response;
    }
    response.raw.assign(static_cast<const char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
    const bool more = zmq_msg_more(&msg) != 0;
    zmq_msg_close(&msg);
    if (more) {
      response.error = "reply from " + endpoint + " has more than one frame";
      return response;
    }
    api::Decoded<api::Reply> decoded = api::decode_reply(response.raw);
    if (!decoded) {
      response.error = "undecodable reply from " + endpoint + ": " + decoded.error;
      return response;
    }
    response.reply = std::move(decoded.value);
  } catch (const std::exception& e) {
    response.error = e.what();
  }
  return response;
}

std::atomic<bool>& ctl_stop_flag() noexcept {
  static std::atomic<bool> flag{false};
  return flag;
}

namespace {

// Receives access-event batches until `count` events were printed (0: no limit), nothing came
// for `idle_ms` (0: wait for ever) or ctl_stop_flag() is set. A batch that does not decode is
// reported on err and skipped; gaps in the sequence and losses the dataplane reports are too.
int listen_events(const std::string& endpoint, uint64_t count, int idle_ms, std::ostream& out,
                  std::ostream& err) {
  constexpr int kPollMs = 100;
  uint64_t printed = 0, batches = 0, bad = 0, next_sequence = 0, dropped = 0;
  try {
    ZmqContext ctx;
    ZmqSocket pull(ctx, ZMQ_PULL);
    pull.set_int(ZMQ_LINGER, 0, "zmq_setsockopt(ZMQ_LINGER)");
    pull.set_int(ZMQ_RCVTIMEO, kPollMs, "zmq_setsockopt(ZMQ_RCVTIMEO)");
    pull.set_i64(ZMQ_MAXMSGSIZE,
                 static_cast<long long>(api::kMaxEventsPerBatch * sizeof(api::AccessEvent)),
                 "zmq_setsockopt(ZMQ_MAXMSGSIZE)");
    pull.bind(endpoint);
    auto last = std::chrono::steady_clock::now();
    while (!ctl_stop_flag().load(std::memory_order_relaxed) && (count == 0 || printed < count)) {
      std::vector<std::string> frames;
      bool more = true;
      bool timed_out = false;
      while (more) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, pull.get(), 0) < 0) {
          const int e = zmq_errno();
          zmq_msg_close(&msg);
          if (e == EAGAIN && frames.empty()) {
            timed_out = true;
            break;
          }
          if (e == EAGAIN || e == EINTR) continue;  // the rest of a message is on its way
          err << zmq_error_text("zmq_msg_recv", endpoint) << '\n';
          return kCtlFailed;
        }
        frames.emplace_back(static_cast<const char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
        more = zmq_msg_more(&msg) != 0;
        zmq_msg_close(&msg);
      }
      const auto now = std::chrono::steady_clock::now();
      if (timed_out) {
        if (idle_ms > 0 && now - last >= std::chrono::milliseconds(idle_ms)) break;
        continue;
      }
      last = now;
      if (frames.size() != 2) {
        ++bad;
        err << "events: skipped a message of " << frames.size() << " frames (expected 2)\n";
        continue;
      }
      auto as_bytes = [](const std::string& f) {
        return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(f.data()), f.size());
      };
      api::Decoded<api::EventBatch> batch =
          api::decode_event_batch(as_bytes(frames[0]), as_bytes(frames[1]));
      if (!batch) {
        ++bad;
        err << "events: skipped a batch: " << batch.error << '\n';
        continue;
      }
      ++batches;
      const api::EventBatchHeader& h = batch.value->header;
      if (h.first_sequence != next_sequence) {
        err << "events: sequence jumps from " << next_sequence << " to " << h.first_sequence
            << '\n';
      }
      if (h.dropped_total > dropped) {
        err << "events: the dataplane reports " << h.dropped_total - dropped
            << " more events lost before they could be numbered (" << h.dropped_total
            << " in all)\n";
        dropped = h.dropped_total;
      }
      uint64_t seq = h.first_sequence;
      for (const api::AccessEvent& ev : batch.value->events) {
        if (count != 0 && printed >= count) break;
        out << api::event_to_json(ev, seq++) << '\n';
        ++printed;
      }
      out.flush();
      next_sequence = h.first_sequence + h.count;
    }
  } catch (const std::exception& e) {
    err << e.what() << '\n';
    return kCtlFailed;
  }
  err << "events: " << printed << " events in " << batches << " batches";
  if (bad > 0) err << ", " << bad << " undecodable messages skipped";
  if (dropped > 0) err << ", " << dropped << " lost by the dataplane";
  err << '\n';
  return bad > 0 ? kCtlRefused : kCtlOk;
}

void print_metric(std::ostream& out, const api::Metric& m) {
  out << m.name;
  if (!m.labels.empty()) {
    out << '{';
    for (size_t i = 0; i < m.labels.size(); ++i) {
      out << (i ? "," : "") << m.labels[i].first << "=\"" << m.labels[i].second << '"';
    }
    out << '}';
  }
  out << ' ' << m.value << '\n';
}

void print_in_force(std::ostream& os, const api::RulesetLoadReply& r) {
  if (r.version == 0) {
    os << "no ruleset in force\n";
  } else {
    os << "ruleset in force: version " << r.version << " (" << r.lists << " lists, " << r.entries
       << " entries)\n";
  }
}

// Prints the reply and picks the exit status. `expected` is the reply type the request calls for.
int report(const api::Reply& reply, api::MessageType expected, std::ostream& out,
           std::ostream& err) {
  if (const auto* e = std::get_if<api::ErrorReply>(&reply)) {
    err << "dataplane error: " << e->error << '\n';
    return kCtlRefused;
  }
  if (api::message_type(reply) != expected) {
    err << "unexpected reply '" << api::to_string(api::message_type(reply)) << "' (wanted '"
        << api::to_string(expected) << "')\n";
    return kCtlFailed;
  }
  if (std::holds_alternative<api::Pong>(reply)) {
    out << "pong\n";
  } else if (const auto* load = std::get_if<api::RulesetLoadReply>(&reply)) {
    if (!load->ok) {
      err << "ruleset-load refused: " << load->error << '\n';
      print_in_force(err, *load);
      return kCtlRefused;
    }
    out << "ruleset version " << load->version << " live: " << load->lists << " lists, "
        << load->entries << " entries\n";
  } else if (const auto* stats = std::get_if<api::StatsReply>(&reply)) {
    for (const api::Metric& m : stats->metrics) print_metric(out, m);
  }
  return kCtlOk;
}

}  // namespace

int run_ctl(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{
      "Send a control command to a running muhafiz-dataplane.\n"
      "Exit status: 0 done, 1 refused by the dataplane, 2 usage error or no answer."};
  std::string endpoint = "ipc:///run/muhafiz/dataplane-control.sock";
  int timeout_ms = 5000;
  bool json = false;
  app.add_option("--socket", endpoint, "Control socket of the dataplane")->capture_default_str();
  app.add_option("--timeout-ms", timeout_ms, "How long to wait for the answer")
      ->check(CLI::Range(1, 600000))
      ->capture_default_str();
  app.add_flag("--json", json, "Print the reply as received (one JSON object)");
  app.require_subcommand(1);
  auto* ping = app.add_subcommand("ping", "Check that the dataplane answers");
  auto* stats = app.add_subcommand("stats", "Print the dataplane's counters and gauges");
  auto* load =
      app.add_subcommand("ruleset-load", "Validate a snapshot file and make it the live ruleset");
  std::string path;
  load->add_option("path", path, "Snapshot file (compiled by muhafiz-list or muhafiz-control)")
      ->required();
  auto* events = app.add_subcommand(
      "events",
      "Bind the access-event socket in place of muhafiz-control and print each event as a JSON "
      "line (exit 1 when a batch could not be decoded)");
  std::string events_endpoint = "ipc:///run/muhafiz/dataplane-events.sock";
  uint64_t events_count = 0;
  int idle_exit_ms = 0;
  events->add_option("--listen", events_endpoint, "The dataplane's events.endpoint")
      ->capture_default_str();
  events->add_option("--count", events_count, "Stop after this many events (0: no limit)")
      ->capture_default_str();
  events->add_option("--idle-exit-ms", idle_exit_ms,
                     "Stop when nothing arrived for this long (0: wait until SIGINT/SIGTERM)")
      ->check(CLI::Range(0, 86400000))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, out, err);
    return code == 0 ? kCtlOk : kCtlFailed;
  }

  if (*events) return listen_events(events_endpoint, events_count, idle_exit_ms, out, err);

  api::Request request;
  api::MessageType expected = api::MessageType::kPong;
  if (*stats) {
    request = api::Stats{};
    expected = api::MessageType::kStatsReply;
  } else if (*load) {
    // The dataplane runs elsewhere (cwd /): it needs the absolute path.
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
    if (ec) {
      err << "ruleset-load: " << path << ": " << ec.message() << '\n';
      return kCtlFailed;
    }
    request = api::RulesetLoad{absolute.lexically_normal().string()};
    expected = api::MessageType::kRulesetLoadReply;
  } else if (*ping) {
    request = api::Ping{};
  }

  const CtlResponse response =
      ctl_request(endpoint, request, std::chrono::milliseconds(timeout_ms));
  if (!response.reply) {
    err << response.error << '\n';
    return kCtlFailed;
  }
  if (json) {
    out << response.raw << '\n';
    std::ostream null(nullptr);
    return report(*response.reply, expected, null, err);
  }
  return report(*response.reply, expected, out, err);
}

}  // namespace muhafiz::runtime
