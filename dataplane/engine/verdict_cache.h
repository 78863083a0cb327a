// A worker's memory of flows it has decided, so a blocked flow stays blocked: retransmissions
// and every later packet are dropped without being inspected again, and an ip match is reported
// once per flow rather than once per packet. Bounded and aged like flow::FlowTable, but apart
// from it: a lookup must not create an entry (most packets belong to no decided flow, and UDP
// packets after a QUIC Initial never make one in the flow table), and blocked flows are few.
// One per worker; allocated once; never allocates, throws or locks afterwards.
#pragma once

#include <cstdint>
#include <memory>

#include "dataplane/flow/flow_table.h"
#include "rules/match/prefetch.h"

namespace muhafiz::engine {

enum class FlowVerdict : uint8_t {
  kReported,  // an ip match was reported (shadow / not enforceable): do not report it again
  kBlocked,   // drop every packet of the flow
};

// Whether a slot is used lives in the cache's compact signature array, so find() reads 32
// bytes of signatures (one cache line, or two when the window straddles) and a CachedFlow only
// where a signature matches. insert(), rare, also reads the occupied slots' ages.
struct CachedFlow {
  flow::FlowKey key;
  uint64_t last_seen = 0;  // µs, refreshed by every packet that hits it
  FlowVerdict verdict = FlowVerdict::kReported;
};

class VerdictCache {
 public:
  enum class Insert : uint8_t {
    kNew,      // took a free slot
    kUpdated,  // the flow was already there
    kExpired,  // reused an idle flow's slot
    kEvicted,  // pushed out the least recently seen live flow of the probe window
  };

  // capacity rounded up to a power of two; timeout in µs of idleness.
  VerdictCache(uint32_t capacity, uint64_t timeout);

  // The flow's entry, refreshed, or nullptr. An expired entry is freed and not returned.
  const CachedFlow* find(const flow::FlowKey& key, uint64_t now) noexcept {
    return occupied_ == 0 ? nullptr : find(key, flow::hash_flow_key(key), now);
  }
  // Same, with hash == flow::hash_flow_key(key) already computed.
  const CachedFlow* find(const flow::FlowKey& key, uint64_t hash, uint64_t now) noexcept;
  // Records the verdict; kBlocked is never downgraded to kReported.
  Insert insert(const flow::FlowKey& key, FlowVerdict verdict, uint64_t now) noexcept;
  // Starts fetching the home slot of a key of this hash (see flow::FlowTable::prefetch); a
  // no-op while no flow is decided, the usual case.
  void prefetch(uint64_t hash) const noexcept {
    if (occupied_ != 0) rules::prefetch(&sigs_[static_cast<uint32_t>(hash) & mask_]);
  }

  uint32_t occupied() const noexcept { return occupied_; }
  uint32_t capacity() const noexcept { return mask_ + 1; }

 private:
  static constexpr uint32_t kProbeWindow = 8;
  bool expired(const CachedFlow& f, uint64_t now) const noexcept {
    return now - f.last_seen > timeout_;
  }

  static constexpr uint32_t kFree = flow::kFreeSignature;

  uint32_t mask_;
  uint64_t timeout_;
  uint32_t occupied_ = 0;
  // sigs_[i] describes slots_[i]: a window of 8 is 32 bytes, where the CachedFlows are 448.
  std::unique_ptr<uint32_t[]> sigs_;
  std::unique_ptr<CachedFlow[]> slots_;
};

}  // namespace muhafiz::engine
