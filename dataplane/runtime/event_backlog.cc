#include "dataplane/runtime/event_backlog.h"

#include <stdexcept>

namespace muhafiz::runtime {

EventBacklog::EventBacklog(size_t capacity)
    : slots_(capacity > 0 ? std::make_unique<api::AccessEvent[]>(capacity) : nullptr),
      capacity_(capacity) {
  if (capacity == 0) throw std::invalid_argument("EventBacklog: capacity must be at least 1");
}

void EventBacklog::push(const api::AccessEvent& ev) noexcept {
  if (size_ == capacity_) {
    head_ = head_ + 1 == capacity_ ? 0 : head_ + 1;
    --size_;
    ++dropped_;
  }
  size_t tail = head_ + size_;
  if (tail >= capacity_) tail -= capacity_;
  slots_[tail] = ev;
  ++size_;
  ++next_sequence_;
}

void EventBacklog::push(std::span<const api::AccessEvent> evs) noexcept {
  for (const api::AccessEvent& ev : evs) push(ev);
}

std::span<const api::AccessEvent> EventBacklog::front(size_t max) const noexcept {
  const size_t until_wrap = capacity_ - head_;
  size_t n = size_ < until_wrap ? size_ : until_wrap;
  if (n > max) n = max;
  return {slots_.get() + head_, n};
}

size_t EventBacklog::copy_front(std::span<api::AccessEvent> out) const noexcept {
  const size_t n = size_ < out.size() ? size_ : out.size();
  for (size_t i = 0, slot = head_; i < n; ++i) {
    out[i] = slots_[slot];
    slot = slot + 1 == capacity_ ? 0 : slot + 1;
  }
  return n;
}

void EventBacklog::pop(size_t n) noexcept {
  if (n > size_) n = size_;
  head_ += n;
  if (head_ >= capacity_) head_ -= capacity_;
  size_ -= n;
}

}  // namespace muhafiz::runtime
