#include "dataplane/runtime/event_publisher.h"

#include <zmq.h>

#include <cerrno>
#include <stdexcept>

#include "dataplane/runtime/event_rings.h"
#include "dataplane/runtime/log.h"

namespace muhafiz::runtime {
namespace {

const EventPublisherOptions& checked(const EventPublisherOptions& o) {
  if (o.batch_events == 0 || o.batch_events > api::kMaxEventsPerBatch) {
    throw std::invalid_argument("EventPublisher: batch_events must be 1.." +
                                std::to_string(api::kMaxEventsPerBatch));
  }
  if (o.send_hwm < 1) throw std::invalid_argument("EventPublisher: send_hwm must be at least 1");
  if (o.drain_budget == 0)
    throw std::invalid_argument("EventPublisher: drain_budget must be at least 1");
  if (o.max_batches_per_flush == 0)
    throw std::invalid_argument("EventPublisher: max_batches_per_flush must be at least 1");
  return o;
}

}  // namespace

EventPublisher::EventPublisher(ZmqContext& ctx, EventPublisherOptions options)
    : options_(checked(options)),
      socket_(ctx, ZMQ_PUSH),
      backlog_(options_.backlog_events),
      chunk_(std::make_unique<api::AccessEvent[]>(kDrainChunk)),
      batch_(std::make_unique<api::AccessEvent[]>(options_.batch_events)) {
  socket_.set_int(ZMQ_SNDHWM, options_.send_hwm, "zmq_setsockopt(ZMQ_SNDHWM)");
  socket_.set_int(ZMQ_LINGER, options_.linger_ms, "zmq_setsockopt(ZMQ_LINGER)");
  socket_.connect(options_.endpoint);
  MUHAFIZ_RUNTIME_LOG(INFO, "access events go to %s (backlog %zu events, batches of %u)\n",
                      options_.endpoint.c_str(), options_.backlog_events, options_.batch_events);
}

void EventPublisher::poll(EventRings& rings) noexcept {
  for (uint32_t w = 0; w < rings.workers(); ++w) {
    uint32_t taken = 0;
    while (taken < options_.drain_budget) {
      const uint32_t want =
          options_.drain_budget - taken < kDrainChunk ? options_.drain_budget - taken : kDrainChunk;
      const uint32_t got = rings.drain(w, {chunk_.get(), want});
      backlog_.push({chunk_.get(), got});
      taken += got;
      if (got < want) break;
    }
  }
  dropped_before_numbering_ = rings.dropped_ring_full_total();
  flush();
}

void EventPublisher::add(std::span<const api::AccessEvent> events) noexcept {
  backlog_.push(events);
}

uint32_t EventPublisher::flush() noexcept {
  uint32_t sent = 0;
  blocked_ = false;
  while (!backlog_.empty() && sent < options_.max_batches_per_flush) {
    // Copied out so a batch is full even where the backlog wraps.
    const size_t n = backlog_.copy_front({batch_.get(), options_.batch_events});
    const std::span<const api::AccessEvent> batch(batch_.get(), n);
    api::EventBatchHeader header;
    header.count = static_cast<uint32_t>(n);
    header.first_sequence = backlog_.front_sequence();
    header.dropped_total = dropped_before_numbering_;
    if (zmq_send(socket_.get(), &header, sizeof header, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
      if (zmq_errno() == EAGAIN) {
        blocked_ = true;
      } else {
        ++send_errors_;
      }
      break;
    }
    // ZeroMQ delivers a multipart message whole or not at all: a refused second frame
    // withdraws the first, and the batch stays in the backlog for the next try.
    if (zmq_send(socket_.get(), batch.data(), batch.size_bytes(), ZMQ_DONTWAIT) < 0) {
      if (zmq_errno() == EAGAIN) {
        ++send_retries_;
        blocked_ = true;
      } else {
        ++send_errors_;
      }
      break;
    }
    backlog_.pop(batch.size());
    events_sent_ += batch.size();
    ++batches_sent_;
    ++sent;
  }
  return sent;
}

void EventPublisher::collect(std::vector<api::Metric>* out) const {
  using api::Metric;
  using api::MetricKind;
  out->push_back(Metric{"events_sent", MetricKind::kCounter, {}, events_sent_});
  out->push_back(Metric{"event_batches_sent", MetricKind::kCounter, {}, batches_sent_});
  out->push_back(Metric{"event_send_retries", MetricKind::kCounter, {}, send_retries_});
  out->push_back(Metric{"event_send_errors", MetricKind::kCounter, {}, send_errors_});
  out->push_back(
      Metric{"events_dropped_backlog_full", MetricKind::kCounter, {}, backlog_.dropped()});
  out->push_back(Metric{"events_backlog", MetricKind::kGauge, {}, backlog_.size()});
  out->push_back(Metric{"events_backlog_capacity", MetricKind::kGauge, {}, backlog_.capacity()});
  out->push_back(Metric{"event_channel_blocked", MetricKind::kGauge, {}, blocked_ ? 1u : 0u});
}

}  // namespace muhafiz::runtime
