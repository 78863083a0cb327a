// The main lcore's bounded store of access events waiting for the control process: a ring
// buffer of fixed capacity, allocated once. When it is full the OLDEST event is dropped and
// counted, so a control process that comes back gets the most recent history. Every event
// pushed gets the next sequence number; a dropped one leaves its number unused, which is how
// a receiver sees the gap (api::EventBatchHeader::first_sequence).
// Main lcore only; no locking, no allocation after construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "dataplane/api/messages.h"

namespace muhafiz::runtime {

class EventBacklog {
 public:
  // Throws std::invalid_argument when capacity is 0, std::bad_alloc.
  explicit EventBacklog(size_t capacity);

  // Takes a copy; drops (and counts) the oldest event when full.
  void push(const api::AccessEvent& ev) noexcept;
  void push(std::span<const api::AccessEvent> evs) noexcept;
  // The oldest events, up to max, contiguous in memory (so fewer than max at the wrap point).
  std::span<const api::AccessEvent> front(size_t max) const noexcept;
  // Copies the oldest min(size(), out.size()) events into out, across the wrap point; returns
  // how many.
  size_t copy_front(std::span<api::AccessEvent> out) const noexcept;
  // Removes the n oldest (n <= size()).
  void pop(size_t n) noexcept;

  size_t size() const noexcept { return size_; }
  size_t capacity() const noexcept { return capacity_; }
  bool empty() const noexcept { return size_ == 0; }
  uint64_t front_sequence() const noexcept {
    return next_sequence_ - size_;
  }  // number of front()[0]
  uint64_t next_sequence() const noexcept { return next_sequence_; }
  uint64_t dropped() const noexcept { return dropped_; }  // oldest events overwritten

 private:
  std::unique_ptr<api::AccessEvent[]> slots_;
  size_t capacity_;
  size_t head_ = 0;  // index of the oldest
  size_t size_ = 0;
  uint64_t next_sequence_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace muhafiz::runtime
