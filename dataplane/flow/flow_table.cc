#include "dataplane/flow/flow_table.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "dataplane/parse/byte_reader.h"

namespace muhafiz::flow {

FlowKey make_flow_key(const parse::PacketInfo& pkt, uint8_t* dir) noexcept {
  FlowKey k;
  k.family = static_cast<uint8_t>(pkt.family);
  k.proto = pkt.l4_proto;
  // The addresses compare as big-endian numbers (memcmp's order) and are copied at a fixed size
  // per family: no libc call per packet.
  bool src_low;
  auto order = [&](uint64_t s_hi, uint64_t s_lo, uint64_t d_hi, uint64_t d_lo) {
    return s_hi < d_hi ||
           (s_hi == d_hi && (s_lo < d_lo || (s_lo == d_lo && pkt.src_port <= pkt.dst_port)));
  };
  const parse::Bytes src(pkt.src.bytes), dst(pkt.dst.bytes);
  if (pkt.family == IpFamily::kV4) {
    src_low = order(parse::be_at<uint32_t>(src, 0), 0, parse::be_at<uint32_t>(dst, 0), 0);
    std::memcpy(k.addr_lo, (src_low ? pkt.src : pkt.dst).bytes, 4);
    std::memcpy(k.addr_hi, (src_low ? pkt.dst : pkt.src).bytes, 4);
  } else {
    src_low = order(parse::be_at<uint64_t>(src, 0), parse::be_at<uint64_t>(src, 8),
                    parse::be_at<uint64_t>(dst, 0), parse::be_at<uint64_t>(dst, 8));
    std::memcpy(k.addr_lo, (src_low ? pkt.src : pkt.dst).bytes, 16);
    std::memcpy(k.addr_hi, (src_low ? pkt.dst : pkt.src).bytes, 16);
  }
  k.port_lo = src_low ? pkt.src_port : pkt.dst_port;
  k.port_hi = src_low ? pkt.dst_port : pkt.src_port;
  *dir = src_low ? 0 : 1;
  return k;
}

uint64_t hash_flow_key(const FlowKey& key) noexcept {
  // Five 8-byte words (the 38 key bytes, zero-padded), each folded in with a 64x64->128
  // multiply: a few cycles a word where a byte-wise hash takes one multiply per byte. The
  // table is per worker, so crafted collisions only cost that worker its probe window.
  static_assert(sizeof(FlowKey) == 38, "FlowKey is hashed as 38 packed bytes");
  uint8_t bytes[40] = {};
  std::memcpy(bytes, &key, sizeof key);
  __extension__ typedef unsigned __int128 U128;  // GCC/Clang; keeps -Wpedantic quiet
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < sizeof bytes; i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes + i, 8);
    const U128 p = static_cast<U128>(h ^ w) * 0xff51afd7ed558ccdull;
    h = static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
  }
  return h;
}

namespace {

// calloc, not aligned_alloc and memset: pages nothing ever uses stay untouched.
template <typename T>
std::unique_ptr<T[], FreeDeleter> zeroed_array(size_t n) {
  void* p = std::calloc(n == 0 ? 1 : n, sizeof(T));
  if (p == nullptr) throw std::bad_alloc();
  return std::unique_ptr<T[], FreeDeleter>(static_cast<T*>(p));
}

Flow* align_flows(void* p) noexcept {
  const auto addr = reinterpret_cast<uintptr_t>(p);
  return reinterpret_cast<Flow*>((addr + alignof(Flow) - 1) / alignof(Flow) * alignof(Flow));
}

}  // namespace

BufferPool::BufferPool(uint32_t count)
    : count_(count),
      slots_(zeroed_array<Slot>(count)),
      constructed_(new bool[count]()),
      free_(new uint32_t[count]) {
  for (uint32_t i = 0; i < count; ++i) free_[i] = count - 1 - i;
  free_top_ = count;
}

uint32_t BufferPool::acquire() noexcept {
  if (free_top_ == 0) return kNoBuffer;
  ++in_use_;
  const uint32_t index = free_[--free_top_];
  if (!constructed_[index]) {
    new (&slots_[index]) Slot;  // the assembler's fields; stream bytes stay untouched
    constructed_[index] = true;
  }
  return index;
}

void BufferPool::release(uint32_t index) noexcept {
  // A full free list means a slot came back twice: ignored rather than written past the list.
  if (index >= count_ || free_top_ == count_) return;
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
      // Clamped so bit_ceil stays defined (2^31 flows would be 512 GiB: calloc refuses first).
      mask_(std::bit_ceil(std::clamp<uint32_t>(cfg.capacity, kProbeWindow, 1u << 31)) - 1),
      slots_(zeroed_array<Slot>(size_t{mask_} + 1)),
      flow_memory_(zeroed_array<uint8_t>((size_t{mask_} + 1) * sizeof(Flow) + alignof(Flow))),
      flows_(align_flows(flow_memory_.get())),
      pool_(cfg.buffers) {}

// Writes line 0 only: the cold lines are reset when the new flow first uses them (cold()).
void FlowTable::reset_flow(Flow& f) noexcept {
  if (f.has_buffers) {
    for (const TcpDirection& d : f.tcp) {
      if (d.buffer != kNoBuffer) pool_.release(d.buffer);
    }
    // A QUIC buffer index is only ever stored in a ready cold state.
    if (f.cold_ready && f.cold.quic.buffer != kNoBuffer) pool_.release(f.cold.quic.buffer);
  }
  f.key = FlowKey{};
  f.cold_ready = false;
  f.has_buffers = false;
  f.tcp[0] = TcpDirection{};
  f.tcp[1] = TcpDirection{};
}

Flow& FlowTable::lookup(const FlowKey& key, uint64_t h, uint64_t now) noexcept {
  const uint32_t sig = flow_signature(h);  // never kFreeSlot
  const auto base = static_cast<uint32_t>(h);
  // The window's slots are 16 bytes each, two or three cache lines in all: only a slot whose
  // signature matches has its Flow read.
  for (uint32_t i = 0; i < kProbeWindow; ++i) {
    const uint32_t idx = (base + i) & mask_;
    Slot& s = slots_[idx];
    if (s.sig == sig && flows_[s.flow].key == key) {
      Flow& f = flows_[s.flow];
      // Idle past the timeout: what arrives now is a new conversation on a reused 5-tuple (a
      // QUIC client keeping its port, a TCP port reused), and the old reassembly or QUIC
      // state must not apply to it. Time running backwards (capture files) expires nothing.
      if (now > s.last_seen && now - s.last_seen > cfg_.idle_timeout) {
        ++stats_.expired;
        ++stats_.created;
        reset_flow(f);
        f.key = key;
      }
      s.last_seen = now;
      return f;
    }
  }
  const uint32_t v = victim(base);
  Slot& vs = slots_[v];
  if (vs.sig == kFreeSlot) {
    vs.flow = next_flow_++;  // at most one per slot, so never past the table
  } else if (now > vs.last_seen && now - vs.last_seen > cfg_.idle_timeout) {
    ++stats_.expired;
  } else {
    ++stats_.evicted;
  }
  Flow& f = flows_[vs.flow];
  reset_flow(f);  // required for a never-used flow too: its zero bytes hold buffer 0, a slot
  f.key = key;
  vs.sig = sig;
  vs.last_seen = now;
  ++stats_.created;
  return f;
}

uint32_t FlowTable::active(uint64_t now) const noexcept {
  uint32_t n = 0;
  for (uint32_t i = 0; i <= mask_; ++i) {
    if (slots_[i].sig != kFreeSlot && now - slots_[i].last_seen <= cfg_.idle_timeout) ++n;
  }
  return n;
}

}  // namespace muhafiz::flow
