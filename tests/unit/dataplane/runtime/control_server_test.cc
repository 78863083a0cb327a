// The control socket over a real ipc:// ZeroMQ pair, without EAL: typed requests reach the
// handlers, every undecodable request gets an error reply naming the problem (and the server
// keeps serving), and the ctl front end maps replies to exit status 0/1/2.
#include "dataplane/runtime/control_server.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zmq.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/runtime/ctl.h"
#include "tests/unit/dataplane/runtime/test_snapshots.h"

namespace muhafiz::runtime {
namespace {

using testing::TempDir;

class ControlServerTest : public ::testing::Test {
 protected:
  ControlServerTest() : endpoint_(dir_.ipc("dp.ctl")) {
    handlers_.ruleset_load = [this](const std::string& path) {
      paths_.push_back(path);
      if (path == "/throw") throw std::runtime_error("handler blew up");
      api::RulesetLoadReply r;
      r.ok = path.ends_with(".snap");
      r.version = r.ok ? 2 : 1;
      r.lists = 3;
      r.entries = 30;
      if (!r.ok) r.error = "snapshot " + path + ": bad magic";
      return r;
    };
    handlers_.stats = [](std::vector<api::Metric>* out) {
      out->push_back(api::Metric{"ruleset_loaded", api::MetricKind::kGauge, {}, 1});
      out->push_back(
          api::Metric{"events_dropped_ring_full", api::MetricKind::kCounter, {{"worker", "0"}}, 4});
    };
  }

  // Sends raw frames from a REQ socket and serves until the reply comes back.
  std::string round_trip(ControlServer& server, const std::vector<std::string>& frames) {
    ZmqSocket req(ctx_, ZMQ_REQ);
    req.set_int(ZMQ_LINGER, 0, "linger");
    req.connect(endpoint_);
    for (size_t i = 0; i < frames.size(); ++i) {
      const int flags = i + 1 < frames.size() ? ZMQ_SNDMORE : 0;
      EXPECT_GE(zmq_send(req.get(), frames[i].data(), frames[i].size(), flags), 0);
    }
    for (int spins = 0; spins < 2000; ++spins) {
      server.poll();
      zmq_pollitem_t item{req.get(), 0, ZMQ_POLLIN, 0};
      if (zmq_poll(&item, 1, 1) == 1) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        zmq_msg_recv(&msg, req.get(), 0);
        std::string reply(static_cast<const char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
        zmq_msg_close(&msg);
        return reply;
      }
    }
    ADD_FAILURE() << "no reply";
    return {};
  }

  api::Reply ask(ControlServer& server, const std::string& request) {
    const std::string raw = round_trip(server, {request});
    const api::Decoded<api::Reply> d = api::decode_reply(raw);
    EXPECT_TRUE(d) << raw << ": " << d.error;
    return d ? *d.value : api::Reply{api::ErrorReply{"undecodable"}};
  }

  TempDir dir_;
  std::string endpoint_;
  ZmqContext ctx_;
  ControlHandlers handlers_;
  std::vector<std::string> paths_;
};

TEST_F(ControlServerTest, RequiresBothHandlers) {
  ControlHandlers h = handlers_;
  h.stats = nullptr;
  EXPECT_THROW(ControlServer(ctx_, {endpoint_}, h), std::invalid_argument);
}

TEST_F(ControlServerTest, SocketFileGetsTheConfiguredMode) {
  ControlServer server(ctx_, {endpoint_, 0600}, handlers_);
  struct stat st {};
  ASSERT_EQ(::stat(dir_.file("dp.ctl").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ControlServerTest, BindFailureNamesTheEndpoint) {
  try {
    ControlServer server(ctx_, {"ipc://" + dir_.file("missing-dir/dp.ctl")}, handlers_);
    FAIL() << "bound in a directory that does not exist";
  } catch (const ZmqError& e) {
    EXPECT_NE(std::string(e.what()).find("missing-dir/dp.ctl"), std::string::npos) << e.what();
  }
}

TEST_F(ControlServerTest, PollNeverBlocksWithoutRequests) {
  ControlServer server(ctx_, {endpoint_}, handlers_);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(server.poll(), 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST_F(ControlServerTest, TypedRequestsReachTheHandlers) {
  ControlServer server(ctx_, {endpoint_}, handlers_);
  EXPECT_TRUE(
      std::holds_alternative<api::Pong>(ask(server, api::encode(api::Request{api::Ping{}}))));

  const api::Reply ok =
      ask(server, api::encode(api::Request{api::RulesetLoad{"/var/lib/muhafiz/r.snap"}}));
  EXPECT_EQ(std::get<api::RulesetLoadReply>(ok), (api::RulesetLoadReply{true, 2, 3, 30, ""}));
  EXPECT_EQ(paths_, (std::vector<std::string>{"/var/lib/muhafiz/r.snap"}));

  const api::Reply refused = ask(server, api::encode(api::Request{api::RulesetLoad{"/tmp/x.bin"}}));
  EXPECT_FALSE(std::get<api::RulesetLoadReply>(refused).ok);
  EXPECT_EQ(std::get<api::RulesetLoadReply>(refused).error, "snapshot /tmp/x.bin: bad magic");

  const api::Reply stats = ask(server, api::encode(api::Request{api::Stats{}}));
  const auto& metrics = std::get<api::StatsReply>(stats).metrics;
  ASSERT_GE(metrics.size(), 2u);
  EXPECT_EQ(
      metrics[1],
      (api::Metric{"events_dropped_ring_full", api::MetricKind::kCounter, {{"worker", "0"}}, 4}));
  bool saw_own = false;
  for (const auto& m : metrics) {
    if (m.name == "control_requests" && m.labels == decltype(m.labels){{"type", "ruleset-load"}}) {
      saw_own = true;
      EXPECT_EQ(m.value, 2u);
    }
  }
  EXPECT_TRUE(saw_own) << "the server adds its own counters";
  EXPECT_EQ(server.requests(), 4u);
  EXPECT_EQ(server.bad_requests(), 0u);
}

TEST_F(ControlServerTest, BadRequestsGetNamedErrorsAndServingGoesOn) {
  ControlServer server(ctx_, {endpoint_}, handlers_);
  struct Case {
    std::string request;
    const char* error;
  };
  const Case cases[] = {
      {R"({"type":"frobnicate","schema":1})", "unknown message type 'frobnicate'"},
      {R"({"type":"ruleset-load","schema":1})", "ruleset-load: missing field 'path'"},
      {R"({"type":"ping","schema":7})", "unsupported schema version 7"},
      {R"({"type":"ping","schema":1,"x":0})", "ping: unknown field 'x'"},
      {"garbage", "malformed JSON"},
  };
  for (const Case& c : cases) {
    const api::Reply r = ask(server, c.request);
    ASSERT_TRUE(std::holds_alternative<api::ErrorReply>(r)) << c.request;
    EXPECT_NE(std::get<api::ErrorReply>(r).error.find(c.error), std::string::npos)
        << std::get<api::ErrorReply>(r).error;
  }
  EXPECT_TRUE(paths_.empty()) << "no handler ran for a bad request";
  EXPECT_EQ(server.bad_requests(), std::size(cases));
  EXPECT_TRUE(
      std::holds_alternative<api::Pong>(ask(server, api::encode(api::Request{api::Ping{}}))));
}

TEST_F(ControlServerTest, MultipartRequestIsRefused) {
  ControlServer server(ctx_, {endpoint_}, handlers_);
  const std::string ping = api::encode(api::Request{api::Ping{}});
  const auto d = api::decode_reply(round_trip(server, {ping, ping}));
  ASSERT_TRUE(d) << d.error;
  EXPECT_EQ(std::get<api::ErrorReply>(*d.value).error, "a request is one frame");
  EXPECT_TRUE(std::holds_alternative<api::Pong>(ask(server, ping)));
}

TEST_F(ControlServerTest, ThrowingHandlerBecomesAnErrorReply) {
  ControlServer server(ctx_, {endpoint_}, handlers_);
  const api::Reply r = ask(server, api::encode(api::Request{api::RulesetLoad{"/throw"}}));
  EXPECT_EQ(std::get<api::ErrorReply>(r).error, "internal error: handler blew up");
  EXPECT_TRUE(
      std::holds_alternative<api::Pong>(ask(server, api::encode(api::Request{api::Ping{}}))));
}

// ---- the ctl front end, against a server polled on another thread -------------------------------

class CtlTest : public ControlServerTest {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ControlServer>(ctx_, ControlServerOptions{endpoint_}, handlers_);
    serving_ = std::thread([this] {
      while (!stop_.load()) {
        if (server_->poll() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  void TearDown() override {
    stop_ = true;
    serving_.join();
  }

  // With the server's socket and a generous timeout.
  int ctl(std::vector<std::string> args, std::string* out = nullptr, std::string* err = nullptr) {
    args.insert(args.begin(), {"--socket", endpoint_, "--timeout-ms", "2000"});
    return ctl_raw(args, out, err);
  }
  int ctl_raw(std::vector<std::string> args, std::string* out = nullptr,
              std::string* err = nullptr) {
    args.insert(args.begin(), "muhafiz-dataplane-ctl");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    std::ostringstream o, e;
    const int code = run_ctl(static_cast<int>(argv.size()), argv.data(), o, e);
    if (out) *out = o.str();
    if (err) *err = e.str();
    return code;
  }

  std::unique_ptr<ControlServer> server_;
  std::thread serving_;
  std::atomic<bool> stop_{false};
};

TEST_F(CtlTest, ExitStatusFollowsTheReply) {
  std::string out, err;
  EXPECT_EQ(ctl({"ping"}, &out), kCtlOk);
  EXPECT_EQ(out, "pong\n");

  EXPECT_EQ(ctl({"ruleset-load", "/srv/r.snap"}, &out), kCtlOk);
  EXPECT_EQ(out, "ruleset version 2 live: 3 lists, 30 entries\n");

  EXPECT_EQ(ctl({"ruleset-load", "/srv/r.bin"}, &out, &err), kCtlRefused);
  EXPECT_EQ(err,
            "ruleset-load refused: snapshot /srv/r.bin: bad magic\nruleset in force: version 1 (3 "
            "lists, 30 entries)\n");

  EXPECT_EQ(ctl({"ruleset-load", "/throw"}, &out, &err), kCtlRefused);
  EXPECT_EQ(err, "dataplane error: internal error: handler blew up\n");

  EXPECT_EQ(ctl({"stats"}, &out), kCtlOk);
  EXPECT_NE(out.find("ruleset_loaded 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("events_dropped_ring_full{worker=\"0\"} 4\n"), std::string::npos) << out;

  EXPECT_EQ(ctl({"--json", "ping"}, &out), kCtlOk);
  EXPECT_EQ(out, "{\"schema\":1,\"type\":\"pong\"}\n");
}

TEST_F(CtlTest, RelativePathIsSentAbsolute) {
  EXPECT_EQ(ctl({"ruleset-load", "rules/../r.snap"}), kCtlOk);
  ASSERT_EQ(paths_.size(), 1u);
  EXPECT_EQ(paths_[0], (std::filesystem::current_path() / "r.snap").string());
}

TEST_F(CtlTest, UsageErrorsAndNoServerExitTwo) {
  std::string out, err;
  EXPECT_EQ(ctl({}, &out, &err), kCtlFailed);                                 // no command
  EXPECT_EQ(ctl({"frobnicate"}, &out, &err), kCtlFailed);                     // unknown command
  EXPECT_EQ(ctl({"ruleset-load"}, &out, &err), kCtlFailed);                   // missing path
  EXPECT_EQ(ctl({"ping", "extra"}, &out, &err), kCtlFailed);                  // stray argument
  EXPECT_EQ(ctl_raw({"--timeout-ms", "0", "ping"}, &out, &err), kCtlFailed);  // out of range
  EXPECT_NE(err.find("--timeout-ms"), std::string::npos) << err;
  EXPECT_EQ(ctl_raw({"--help"}, &out, &err), kCtlOk);
  EXPECT_NE(out.find("ruleset-load"), std::string::npos);

  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(
      ctl_raw({"--socket", dir_.ipc("nobody.ctl"), "--timeout-ms", "200", "ping"}, &out, &err),
      kCtlFailed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_NE(err.find("no reply from"), std::string::npos) << err;
}

// `events` binds the PULL side of the event channel, prints each event as one JSON line,
// names a batch it cannot decode and carries on, and reports sequence gaps and losses.
TEST(CtlEvents, PrintsEventsAsJsonLinesAndNamesBadBatches) {
  TempDir dir;
  const std::string endpoint = dir.ipc("events.sock");
  std::ostringstream out, err;
  int code = -1;
  std::thread listener([&] {
    const std::vector<std::string> args = {"muhafiz-dataplane-ctl", "events", "--listen", endpoint,
                                           "--count", "3", "--idle-exit-ms", "20000"};
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    code = run_ctl(static_cast<int>(argv.size()), argv.data(), out, err);
  });

  void* ctx = zmq_ctx_new();
  void* push = zmq_socket(ctx, ZMQ_PUSH);
  ASSERT_EQ(zmq_connect(push, endpoint.c_str()), 0);
  auto send = [&](api::EventBatchHeader h, const std::vector<api::AccessEvent>& evs) {
    ASSERT_EQ(zmq_send(push, &h, sizeof h, ZMQ_SNDMORE), static_cast<int>(sizeof h));
    const size_t n = evs.size() * sizeof(api::AccessEvent);
    ASSERT_EQ(zmq_send(push, evs.data(), n, 0), static_cast<int>(n));
  };
  api::AccessEvent dns;
  dns.time_ns = 1'796'000'000'123'456'789ULL;  // 2026-11-30T00:53:20.123456789Z
  dns.kind = api::EventKind::kDns;
  dns.l4_proto = 17;
  const uint8_t sub[4] = {10, 0, 0, 2}, dst[4] = {192, 0, 2, 53};
  std::memcpy(dns.subscriber, sub, 4);
  std::memcpy(dns.destination, dst, 4);
  dns.subscriber_port = 53211;
  dns.destination_port = 53;
  dns.list = 1;
  dns.entry = 4;
  dns.list_version = 3;
  dns.ruleset_version = 2;
  dns.flags = api::kEventEnforced | api::kEventAlert;
  api::set_event_name(&dns, "bad.example");
  api::AccessEvent v6 = dns;
  v6.family = api::kFamilyV6;
  v6.kind = api::EventKind::kHttp;
  v6.l4_proto = 6;
  const uint8_t sub6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  std::memcpy(v6.subscriber, sub6, 16);
  std::memcpy(v6.destination, sub6, 16);
  v6.destination_port = 80;
  v6.list = api::kNoList;
  v6.entry = api::kNoList;
  v6.flags = api::kEventShadow;
  api::set_event_name(&v6, "pics.example", "/a.jpg");

  api::EventBatchHeader h;
  h.count = 2;
  send(h, {dns, v6});
  api::EventBatchHeader wrong = h;  // a record size this build does not speak
  wrong.record_size = 256;
  send(wrong, {dns, v6});
  api::EventBatchHeader later = h;
  later.first_sequence = 5;
  later.dropped_total = 3;
  send(later, {dns, v6});
  listener.join();
  zmq_close(push);
  zmq_ctx_term(ctx);

  EXPECT_EQ(code, kCtlRefused) << err.str();
  std::istringstream lines(out.str());
  std::vector<std::string> got;
  for (std::string l; std::getline(lines, l);) got.push_back(l);
  ASSERT_EQ(got.size(), 3u) << out.str();
  EXPECT_EQ(got[0],
            R"({"seq":0,"time":"2026-11-30T00:53:20.123456789Z","kind":"dns","name":"bad.example",)"
            R"("subscriber":"10.0.0.2:53211","destination":"192.0.2.53:53","proto":"udp",)"
            R"("list":1,"list_version":3,"entry":4,"ruleset_version":2,"action":"block",)"
            R"("flags":["alert","enforced"],"worker":0})");
  EXPECT_NE(got[1].find(R"("name":"pics.example/a.jpg")"), std::string::npos) << got[1];
  EXPECT_NE(got[1].find(R"("subscriber":"[2001:db8::2]:53211")"), std::string::npos) << got[1];
  EXPECT_NE(got[1].find(R"("list":null)"), std::string::npos) << got[1];
  EXPECT_NE(got[1].find(R"("flags":["shadow"])"), std::string::npos) << got[1];
  EXPECT_EQ(got[2].rfind(R"({"seq":5,)", 0), 0u) << got[2];
  const std::string e = err.str();
  EXPECT_NE(e.find("skipped a batch: access-events: record_size 256"), std::string::npos) << e;
  EXPECT_NE(e.find("sequence jumps from 2 to 5"), std::string::npos) << e;
  EXPECT_NE(e.find("3 more events lost"), std::string::npos) << e;
  EXPECT_NE(e.find("events: 3 events in 2 batches, 1 undecodable messages skipped"),
            std::string::npos)
      << e;
}

}  // namespace
}  // namespace muhafiz::runtime
