#include "dataplane/engine/verdict_cache.h"

#include <algorithm>
#include <bit>

namespace muhafiz::engine {

VerdictCache::VerdictCache(uint32_t capacity, uint64_t timeout)
    : mask_(std::bit_ceil(std::max(capacity, kProbeWindow)) - 1),
      timeout_(timeout),
      slots_(std::make_unique<CachedFlow[]>(mask_ + 1)) {}

const CachedFlow* VerdictCache::find(const flow::FlowKey& key, uint64_t hash,
                                     uint64_t now) noexcept {
  if (occupied_ == 0) return nullptr;  // the usual case: no flow decided
  const uint32_t home = static_cast<uint32_t>(hash) & mask_;
  for (uint32_t i = 0; i < kProbeWindow; ++i) {
    CachedFlow& f = slots_[(home + i) & mask_];
    if (!f.used || !(f.key == key)) continue;
    if (expired(f, now)) {
      f.used = false;
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
  const uint32_t home = static_cast<uint32_t>(flow::hash_flow_key(key)) & mask_;
  CachedFlow* free_slot = nullptr;
  CachedFlow* idle = nullptr;
  CachedFlow* oldest = nullptr;
  for (uint32_t i = 0; i < kProbeWindow; ++i) {
    CachedFlow& f = slots_[(home + i) & mask_];
    if (f.used && f.key == key) {
      f.last_seen = now;
      f.verdict = std::max(f.verdict, verdict);
      return Insert::kUpdated;
    }
    if (!f.used) {
      if (free_slot == nullptr) free_slot = &f;
    } else if (expired(f, now)) {
      if (idle == nullptr) idle = &f;
    } else if (oldest == nullptr || f.last_seen < oldest->last_seen) {
      oldest = &f;
    }
  }
  Insert result = Insert::kNew;
  CachedFlow* slot = free_slot;
  if (slot == nullptr) {
    slot = idle != nullptr ? idle : oldest;
    result = idle != nullptr ? Insert::kExpired : Insert::kEvicted;
  } else {
    ++occupied_;
  }
  slot->key = key;
  slot->last_seen = now;
  slot->used = true;
  slot->verdict = verdict;
  return result;
}

}  // namespace muhafiz::engine
