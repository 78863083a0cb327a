#include "dataplane/runtime/ctl.h"

#include <zmq.h>

#include <CLI/CLI.hpp>
#include <filesystem>
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

namespace {

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
  std::string endpoint = "ipc:///run/muhafiz/dp.ctl";
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, out, err);
    return code == 0 ? kCtlOk : kCtlFailed;
  }

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
