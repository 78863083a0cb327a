#include "dataplane/engine/verdict_cache.h"

#include <algorithm>
#include <bit>

namespace muhafiz::engine {

VerdictCache::VerdictCache(uint32_t capacity, uint64_t timeout)
    : mask_(std::bit_ceil(std::max(capacity, kProbeWindow)) - 1),
      timeout_(timeout),
      sigs_(std::make_unique<uint32_t[]>(size_t{mask_} + 1)),  // value-initialised: all free
      slots_(std::make_unique<CachedFlow[]>(size_t{mask_} + 1)) {}

const CachedFlow* VerdictCache::find(const flow::FlowKey& key, uint64_t hash,
                                     uint64_t now) noexcept {
  if (occupied_ == 0) return nullptr;  // the usual case: no flow decided
  const uint32_t home = static_cast<uint32_t>(hash) & mask_;
  const uint32_t sig = flow::flow_signature(hash);
  for (uint32_t i = 0; i < kProbeWindow; ++i) {
    const uint32_t idx = (home + i) & mask_;
    if (sigs_[idx] != sig) continue;
    CachedFlow& f = slots_[idx];
    if (!(f.key == key)) continue;
    if (expired(f, now)) {
      sigs_[idx] = kFree;
      --occupied_;
      return nullptr;
    }
    f.last_seen = now;
    return &f;
  }
  return nullptr;
}

VerdictCache::Insert VerdictCache::insert(const flow::FlowKey& key, FlowVerdict verdict,
                                          uint64_t now) noexcept {
  const uint64_t hash = flow::hash_flow_key(key);
  const uint32_t home = static_cast<uint32_t>(hash) & mask_;
  const uint32_t sig = flow::flow_signature(hash);
  uint32_t free_slot = UINT32_MAX, idle = UINT32_MAX, oldest = UINT32_MAX;
  for (uint32_t i = 0; i < kProbeWindow; ++i) {
    const uint32_t idx = (home + i) & mask_;
    if (sigs_[idx] == kFree) {
      if (free_slot == UINT32_MAX) free_slot = idx;
      continue;
    }
    CachedFlow& f = slots_[idx];
    if (sigs_[idx] == sig && f.key == key) {
      f.last_seen = now;
      f.verdict = std::max(f.verdict, verdict);
      return Insert::kUpdated;
    }
    if (expired(f, now)) {
      if (idle == UINT32_MAX) idle = idx;
    } else if (oldest == UINT32_MAX || f.last_seen < slots_[oldest].last_seen) {
      oldest = idx;
    }
  }
  Insert result = Insert::kNew;
  uint32_t idx = free_slot;
  if (idx == UINT32_MAX) {
    idx = idle != UINT32_MAX ? idle : oldest;
    result = idle != UINT32_MAX ? Insert::kExpired : Insert::kEvicted;
  } else {
    ++occupied_;
  }
  sigs_[idx] = sig;
  CachedFlow& slot = slots_[idx];
  slot.key = key;
  slot.last_seen = now;
  slot.verdict = verdict;
  return result;
}

}  // namespace muhafiz::engine
