// The access-event channel without EAL (events enter through add()): batches as documented in
// dataplane/api/messages.h, received on a PULL socket in the test; then the control process
// away: ZeroMQ's queue fills, the backlog fills, the oldest events are dropped and counted, and
// the receiver sees exactly that many numbers missing once it comes back.
#include "dataplane/runtime/event_publisher.h"

#include <gtest/gtest.h>
#include <zmq.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/unit/dataplane/runtime/test_snapshots.h"

namespace muhafiz::runtime {
namespace {

using testing::TempDir;

api::AccessEvent event(uint64_t id) {
  api::AccessEvent ev;
  ev.time_ns = id;
  ev.kind = api::EventKind::kDns;
  ev.destination_port = 53;
  ev.l4_proto = 17;
  api::set_event_name(&ev, "blocked.example");
  return ev;
}

std::vector<api::AccessEvent> events(uint64_t first, uint64_t count) {
  std::vector<api::AccessEvent> out;
  for (uint64_t i = 0; i < count; ++i) out.push_back(event(first + i));
  return out;
}

// One multipart message from `pull`, decoded; nullopt after timeout_ms without one.
std::optional<api::EventBatch> receive(ZmqSocket& pull, int timeout_ms) {
  zmq_pollitem_t item{pull.get(), 0, ZMQ_POLLIN, 0};
  if (zmq_poll(&item, 1, timeout_ms) != 1) return std::nullopt;
  std::vector<std::vector<uint8_t>> frames;
  for (;;) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    EXPECT_GE(zmq_msg_recv(&msg, pull.get(), 0), 0);
    const auto* data = static_cast<const uint8_t*>(zmq_msg_data(&msg));
    frames.emplace_back(data, data + zmq_msg_size(&msg));
    const bool more = zmq_msg_more(&msg) != 0;
    zmq_msg_close(&msg);
    if (!more) break;
  }
  EXPECT_EQ(frames.size(), 2u) << "header frame + records frame";
  if (frames.size() != 2) return std::nullopt;
  auto d = api::decode_event_batch(frames[0], frames[1]);
  EXPECT_TRUE(d) << d.error;
  return d ? std::move(d.value) : std::nullopt;
}

uint64_t metric(const EventPublisher& p, const std::string& name) {
  std::vector<api::Metric> ms;
  p.collect(&ms);
  for (const auto& m : ms) {
    if (m.name == name) return m.value;
  }
  ADD_FAILURE() << "no metric " << name;
  return UINT64_MAX;
}

TEST(EventPublisher, RefusesBadOptions) {
  ZmqContext ctx;
  EventPublisherOptions o;
  o.endpoint = "ipc:///tmp/unused-muhafiz-events";
  o.batch_events = api::kMaxEventsPerBatch + 1;
  EXPECT_THROW(EventPublisher(ctx, o), std::invalid_argument);
  o.batch_events = 0;
  EXPECT_THROW(EventPublisher(ctx, o), std::invalid_argument);
  o.batch_events = 8;
  o.backlog_events = 0;
  EXPECT_THROW(EventPublisher(ctx, o), std::invalid_argument);
  o.backlog_events = 8;
  o.endpoint = "bogus://x";
  EXPECT_THROW(EventPublisher(ctx, o), ZmqError);
}

TEST(EventPublisher, SendsNumberedBatches) {
  TempDir dir;
  ZmqContext ctx;
  ZmqSocket pull(ctx, ZMQ_PULL);
  pull.set_int(ZMQ_LINGER, 0, "linger");
  pull.bind(dir.ipc("events"));
  EventPublisherOptions o;
  o.endpoint = dir.ipc("events");
  o.batch_events = 64;
  EventPublisher pub(ctx, o);

  const auto sent = events(0, 150);
  pub.add(sent);
  EXPECT_EQ(pub.flush(), 3u);
  EXPECT_TRUE(pub.backlog().empty());

  std::vector<api::AccessEvent> got;
  const uint32_t expected_counts[] = {64, 64, 22};
  for (const uint32_t count : expected_counts) {
    const auto batch = receive(pull, 2000);
    ASSERT_TRUE(batch);
    EXPECT_EQ(batch->header.count, count);
    EXPECT_EQ(batch->header.first_sequence, got.size()) << "consecutive numbers";
    EXPECT_EQ(batch->header.dropped_total, 0u);
    got.insert(got.end(), batch->events.begin(), batch->events.end());
  }
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(std::memcmp(&got[i], &sent[i], sizeof(api::AccessEvent)), 0) << i;
  }
  EXPECT_FALSE(receive(pull, 50)) << "nothing extra";
  EXPECT_EQ(pub.events_sent(), 150u);
  EXPECT_EQ(metric(pub, "event_batches_sent"), 3u);
  EXPECT_EQ(metric(pub, "event_channel_blocked"), 0u);
}

TEST(EventPublisher, ControlAwayFillsQueueThenBacklogThenCountsDrops) {
  TempDir dir;
  ZmqContext ctx;
  EventPublisherOptions o;
  o.endpoint = dir.ipc("events");  // nobody listens yet
  o.batch_events = 4;
  o.send_hwm = 2;        // ZeroMQ holds two batches for the absent peer
  o.backlog_events = 8;  // then the backlog holds eight events
  EventPublisher pub(ctx, o);

  pub.add(events(0, 30));  // backlog keeps 22..29, dropping 0..21
  EXPECT_EQ(pub.backlog().dropped(), 22u);
  EXPECT_EQ(pub.flush(), 2u);  // 22..25, 26..29 go to ZeroMQ's queue
  EXPECT_TRUE(pub.backlog().empty());
  pub.add(events(30, 12));  // 30..41: backlog keeps 34..41
  EXPECT_EQ(pub.flush(), 0u);
  EXPECT_TRUE(pub.blocked());
  EXPECT_EQ(metric(pub, "event_channel_blocked"), 1u);
  EXPECT_EQ(pub.backlog().size(), 8u);
  EXPECT_EQ(metric(pub, "events_dropped_backlog_full"), 26u);
  EXPECT_EQ(metric(pub, "events_backlog"), 8u);

  // The control process comes up: ZeroMQ's queued batches arrive first, then the backlog.
  ZmqSocket pull(ctx, ZMQ_PULL);
  pull.set_int(ZMQ_LINGER, 0, "linger");
  pull.bind(dir.ipc("events"));
  std::vector<uint64_t> firsts, ids;
  uint64_t received = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (received < 16 && std::chrono::steady_clock::now() < deadline) {
    pub.flush();
    if (const auto batch = receive(pull, 20)) {
      firsts.push_back(batch->header.first_sequence);
      for (const auto& ev : batch->events) ids.push_back(ev.time_ns);
      received += batch->header.count;
    }
  }
  EXPECT_EQ(firsts, (std::vector<uint64_t>{22, 26, 34, 38}));
  const std::vector<uint64_t> want = {22, 23, 24, 25, 26, 27, 28, 29,
                                      34, 35, 36, 37, 38, 39, 40, 41};
  EXPECT_EQ(ids, want);
  // What the receiver can tell: 42 numbers handed out, 16 arrived, the 26 missing are the
  // ones the dataplane counted.
  EXPECT_EQ(pub.backlog().next_sequence() - received, metric(pub, "events_dropped_backlog_full"));
  EXPECT_FALSE(pub.blocked());
}

}  // namespace
}  // namespace muhafiz::runtime
