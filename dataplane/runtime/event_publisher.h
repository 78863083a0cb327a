// The main lcore's side of the access-event channel: drains the worker rings into the bounded
// backlog, then sends the backlog to the control process in batches over a ZeroMQ PUSH socket
// (api::EventBatchHeader + records, see dataplane/api/messages.h). Never blocks: when the
// control process is away, ZeroMQ queues up to send_hwm batches on the connection, then the
// backlog holds the rest, then the backlog drops its oldest events, counted.
//
// The socket connects (the control process binds its PULL socket): ZeroMQ keeps a connecting
// socket's queue across the peer's restarts, so a restarting control process loses at most
// what was in flight on the dying connection; the event numbers let it count even that.
//
// Calling rules: main lcore only (construct, poll, add, flush, collect, destroy). Destroy
// before the ZmqContext.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dataplane/api/messages.h"
#include "dataplane/runtime/event_backlog.h"
#include "dataplane/runtime/zmq_socket.h"

namespace muhafiz::runtime {

class EventRings;

struct EventPublisherOptions {
  std::string endpoint = "ipc:///run/muhafiz/events";  // the control process's PULL socket
  size_t backlog_events = 65536;  // 32 MiB of events kept while the control process is away
  uint32_t batch_events = 64;     // events per message, 1..api::kMaxEventsPerBatch
  int send_hwm = 64;              // batches ZeroMQ queues on the connection before refusing
  uint32_t drain_budget = 1024;   // events taken per ring per poll: bounds one poll's work
  uint32_t max_batches_per_flush = 64;
  int linger_ms = 0;  // at close: time ZeroMQ may spend delivering what it queued
};

class EventPublisher {
 public:
  // Throws std::invalid_argument (a bad option) or ZmqError (naming the endpoint).
  EventPublisher(ZmqContext& ctx, EventPublisherOptions options);

  // Each main-loop iteration: rings -> backlog -> socket.
  void poll(EventRings& rings) noexcept;
  // Puts events into the backlog (events the main lcore makes itself).
  void add(std::span<const api::AccessEvent> events) noexcept;
  // Sends batches until the backlog is empty, the socket refuses (control away) or
  // max_batches_per_flush went out. Returns the number of batches sent.
  uint32_t flush() noexcept;

  const EventBacklog& backlog() const noexcept { return backlog_; }
  uint64_t events_sent() const noexcept { return events_sent_; }
  uint64_t batches_sent() const noexcept { return batches_sent_; }
  bool blocked() const noexcept { return blocked_; }  // the last flush stopped on a full socket
  // Counters events_sent, event_batches_sent, event_send_retries, event_send_errors,
  // events_dropped_backlog_full; gauges events_backlog, events_backlog_capacity,
  // event_channel_blocked.
  void collect(std::vector<api::Metric>* out) const;

 private:
  static constexpr uint32_t kDrainChunk = 32;

  EventPublisherOptions options_;
  ZmqSocket socket_;
  EventBacklog backlog_;
  std::unique_ptr<api::AccessEvent[]> chunk_;  // [kDrainChunk] drain buffer
  std::unique_ptr<api::AccessEvent[]> batch_;  // [batch_events] one batch, contiguous
  uint64_t dropped_before_numbering_ = 0;      // rings' full drops, as last seen
  uint64_t events_sent_ = 0;
  uint64_t batches_sent_ = 0;
  uint64_t send_retries_ = 0;  // second frame refused: the whole batch is sent again
  uint64_t send_errors_ = 0;   // anything but EAGAIN
  bool blocked_ = false;
};

}  // namespace muhafiz::runtime
