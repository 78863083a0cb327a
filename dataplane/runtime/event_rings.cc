#include "dataplane/runtime/event_rings.h"

#include <rte_errno.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <cstdio>
#include <string>

namespace muhafiz::runtime {
namespace {

static_assert(sizeof(api::AccessEvent) % 4 == 0, "rte_ring element sizes are multiples of 4 bytes");

// Ring names are process-wide (and EAL-wide outside --in-memory): numbered per instance.
std::atomic<uint32_t> g_instance{0};

inline void bump(std::atomic<uint64_t>& c) noexcept {
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

}  // namespace

EventRings::EventRings(uint32_t workers, uint32_t ring_size, int socket_id)
    : ring_size_(ring_size) {
  if (workers == 0) throw std::invalid_argument("EventRings: workers must be at least 1");
  if (ring_size == 0 || ring_size > kMaxRingSize) {
    throw std::invalid_argument("EventRings: ring_size must be 1.." + std::to_string(kMaxRingSize) +
                                ", got " + std::to_string(ring_size));
  }
  counters_ = std::make_unique<WorkerCounters[]>(workers);
  const uint32_t instance = g_instance.fetch_add(1, std::memory_order_relaxed);
  rings_.reserve(workers);
  for (uint32_t w = 0; w < workers; ++w) {
    char name[RTE_RING_NAMESIZE];
    std::snprintf(name, sizeof name, "mhz_ev_%u_%u", instance, w);
    // EXACT_SZ: the ring holds ring_size events, not the next power of two less one.
    rte_ring* r = rte_ring_create_elem(name, sizeof(api::AccessEvent), ring_size, socket_id,
                                       RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
    if (r == nullptr) {
      const std::string why = rte_strerror(rte_errno);
      for (rte_ring* made : rings_) rte_ring_free(made);
      throw std::runtime_error(std::string("rte_ring_create_elem(") + name + "): " + why);
    }
    rings_.push_back(r);
  }
}

EventRings::~EventRings() {
  for (rte_ring* r : rings_) rte_ring_free(r);
}

bool EventRings::push(uint32_t worker, const api::AccessEvent& ev) noexcept {
  // rte_ring copies from a non-const pointer but does not write through it.
  if (rte_ring_sp_enqueue_elem(rings_[worker], const_cast<api::AccessEvent*>(&ev), sizeof ev) !=
      0) {
    bump(counters_[worker].dropped_ring_full);
    return false;
  }
  bump(counters_[worker].enqueued);
  return true;
}

uint32_t EventRings::drain(uint32_t worker, std::span<api::AccessEvent> out) noexcept {
  return rte_ring_sc_dequeue_burst_elem(rings_[worker], out.data(), sizeof(api::AccessEvent),
                                        static_cast<unsigned>(out.size()), nullptr);
}

uint64_t EventRings::enqueued(uint32_t worker) const noexcept {
  return counters_[worker].enqueued.load(std::memory_order_relaxed);
}

uint64_t EventRings::dropped_ring_full(uint32_t worker) const noexcept {
  return counters_[worker].dropped_ring_full.load(std::memory_order_relaxed);
}

uint64_t EventRings::dropped_ring_full_total() const noexcept {
  uint64_t sum = 0;
  for (uint32_t w = 0; w < workers(); ++w) sum += dropped_ring_full(w);
  return sum;
}

void EventRings::collect(std::vector<api::Metric>* out) const {
  for (uint32_t w = 0; w < workers(); ++w) {
    const std::string label = std::to_string(w);
    out->push_back(api::Metric{
        "events_enqueued", api::MetricKind::kCounter, {{"worker", label}}, enqueued(w)});
    out->push_back(api::Metric{"events_dropped_ring_full",
                               api::MetricKind::kCounter,
                               {{"worker", label}},
                               dropped_ring_full(w)});
  }
}

}  // namespace muhafiz::runtime
