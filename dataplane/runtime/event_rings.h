// One single-producer/single-consumer rte_ring of api::AccessEvent per worker: the only way
// an access event leaves a worker. The worker copies its event in and never waits; a full
// ring drops that event and counts it (events_dropped_ring_full{worker}). The main lcore
// drains every ring (EventPublisher::poll).
//
// Calling rules: construct and destroy on the main lcore after rte_eal_init (the rings live
// in DPDK memory, on `socket_id`); push(w, ...) from worker w only; drain(w, ...) from the
// main lcore only; the counters may be read from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <vector>

#include "dataplane/api/messages.h"

struct rte_ring;

namespace muhafiz::runtime {

class EventRings {
 public:
  static constexpr uint32_t kDefaultRingSize = 1024;  // events per worker (512 KiB)
  static constexpr uint32_t kMaxRingSize = 1u << 20;  // rte_ring's count must fit RTE_RING_SZ_MASK

  // Throws std::invalid_argument (workers 0, ring_size 0 or too large) or std::runtime_error
  // naming the ring and rte_errno (no EAL, no memory).
  EventRings(uint32_t workers, uint32_t ring_size, int socket_id);
  ~EventRings();
  EventRings(const EventRings&) = delete;
  EventRings& operator=(const EventRings&) = delete;

  // Worker w. False when the ring is full: the event is dropped and counted.
  bool push(uint32_t worker, const api::AccessEvent& ev) noexcept;
  // Main lcore. Moves up to out.size() of worker w's events, oldest first; returns how many.
  uint32_t drain(uint32_t worker, std::span<api::AccessEvent> out) noexcept;

  uint32_t workers() const noexcept { return static_cast<uint32_t>(rings_.size()); }
  uint32_t ring_size() const noexcept { return ring_size_; }
  uint64_t enqueued(uint32_t worker) const noexcept;
  uint64_t dropped_ring_full(uint32_t worker) const noexcept;
  uint64_t dropped_ring_full_total() const noexcept;
  // Counters events_enqueued{worker}, events_dropped_ring_full{worker}.
  void collect(std::vector<api::Metric>* out) const;

 private:
  // Written by one worker (plain load + store, no RMW), read by anyone: cache-line aligned so
  // two workers never share a line.
  struct alignas(64) WorkerCounters {
    std::atomic<uint64_t> enqueued{0};
    std::atomic<uint64_t> dropped_ring_full{0};
  };

  std::vector<rte_ring*> rings_;
  std::unique_ptr<WorkerCounters[]> counters_;
  uint32_t ring_size_;
};

}  // namespace muhafiz::runtime
