#include "dataplane/flow/flow_table.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace muhafiz::flow {

FlowKey make_flow_key(const parse::PacketInfo& pkt, uint8_t* dir) noexcept {
  FlowKey k;
  k.family = static_cast<uint8_t>(pkt.family);
  k.proto = pkt.l4_proto;
  const size_t n = pkt.family == IpFamily::kV4 ? 4 : 16;
  const int c = std::memcmp(pkt.src.bytes, pkt.dst.bytes, n);
  const bool src_low = c < 0 || (c == 0 && pkt.src_port <= pkt.dst_port);
  const IpAddress& lo = src_low ? pkt.src : pkt.dst;
  const IpAddress& hi = src_low ? pkt.dst : pkt.src;
  std::memcpy(k.addr_lo, lo.bytes, n);
  std::memcpy(k.addr_hi, hi.bytes, n);
  k.port_lo = src_low ? pkt.src_port : pkt.dst_port;
  k.port_hi = src_low ? pkt.dst_port : pkt.src_port;
  *dir = src_low ? 0 : 1;
  return k;
}

uint64_t hash_flow_key(const FlowKey& key) noexcept {
  // FNV-1a over the key bytes, then a final mix: cheap, and the table is per worker so
  // adversarial collisions only cost that worker its probe window (bounded).
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  };
  const uint8_t head[6] = {key.family, key.proto, static_cast<uint8_t>(key.port_lo >> 8),
                           static_cast<uint8_t>(key.port_lo), static_cast<uint8_t>(key.port_hi >> 8),
                           static_cast<uint8_t>(key.port_hi)};
  mix(head, sizeof head);
  mix(key.addr_lo, sizeof key.addr_lo);
  mix(key.addr_hi, sizeof key.addr_hi);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

BufferPool::BufferPool(uint32_t count)
    : count_(count), slots_(new Slot[count]), free_(new uint32_t[count]) {
  for (uint32_t i = 0; i < count; ++i) free_[i] = count - 1 - i;
  free_top_ = count;
}

uint32_t BufferPool::acquire() noexcept {
  if (free_top_ == 0) return kNoBuffer;
  ++in_use_;
  return free_[--free_top_];
}

void BufferPool::release(uint32_t index) noexcept {
  if (index >= count_) return;
  --in_use_;
  free_[free_top_++] = index;
}

std::span<uint8_t> BufferPool::stream(uint32_t index) noexcept {
  return {slots_[index].bytes, kStreamBufferSize};
}

parse::QuicCryptoAssembler& BufferPool::assembler(uint32_t index) noexcept {
  return slots_[index].assembler;
}

FlowTable::FlowTable(const FlowTableConfig& cfg)
    : cfg_(cfg),
      mask_(std::bit_ceil(std::max<uint32_t>(cfg.capacity, kProbeWindow)) - 1),
      flows_(new Flow[mask_ + 1]),
      pool_(cfg.buffers) {}

void FlowTable::reset_flow(Flow& f) noexcept {
  for (auto& d : f.tcp) {
    if (d.buffer != kNoBuffer) pool_.release(d.buffer);
  }
  if (f.quic.buffer != kNoBuffer) pool_.release(f.quic.buffer);
  f = Flow{};
}

Flow& FlowTable::lookup(const FlowKey& key, uint64_t now) noexcept {
  const uint64_t h = hash_flow_key(key);
  Flow* victim = nullptr;
  for (uint32_t i = 0; i < kProbeWindow; ++i) {
    Flow& f = flows_[(h + i) & mask_];
    if (f.used && f.key == key) {
      // Idle past the timeout: what arrives now is a new conversation on a reused 5-tuple (a
      // QUIC client keeping its port, a TCP port reused), and the old reassembly or QUIC
      // state must not apply to it. Time running backwards (capture files) expires nothing.
      if (now > f.last_seen && now - f.last_seen > cfg_.idle_timeout) {
        ++stats_.expired;
        ++stats_.created;
        reset_flow(f);
        f.used = true;
        f.key = key;
      }
      f.last_seen = now;
      return f;
    }
    // Prefer the first free slot; else the least recently seen flow in the window.
    if (!f.used) {
      if (victim == nullptr || victim->used) victim = &f;
    } else if (victim == nullptr || (victim->used && f.last_seen < victim->last_seen)) {
      victim = &f;
    }
  }
  if (victim->used) {
    if (now > victim->last_seen && now - victim->last_seen > cfg_.idle_timeout) {
      ++stats_.expired;
    } else {
      ++stats_.evicted;
    }
  }
  reset_flow(*victim);
  victim->used = true;
  victim->key = key;
  victim->last_seen = now;
  ++stats_.created;
  return *victim;
}

uint32_t FlowTable::active(uint64_t now) const noexcept {
  uint32_t n = 0;
  for (uint32_t i = 0; i <= mask_; ++i) {
    if (flows_[i].used && now - flows_[i].last_seen <= cfg_.idle_timeout) ++n;
  }
  return n;
}

}  // namespace muhafiz::flow
