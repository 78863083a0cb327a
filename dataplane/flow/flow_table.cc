#include "dataplane/flow/flow_table.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "dataplane/parse/byte_reader.h"

namespace muhafiz::flow {

namespace {

// The flow hash: the key as five 8-byte words, each folded in with a 64x64->128 multiply. The
// words are the head (family, protocol, both ports) and each address's two halves as memory
// holds them (an IPv4 address's 4 bytes, then 4 zero bytes). Two chains (head and lower
// address; higher address) run side by side and are folded together at the end, so the
// multiplies overlap. The table is per worker, so crafted collisions only cost that worker its
// probe window.
__extension__ typedef unsigned __int128 U128;  // GCC/Clang; keeps -Wpedantic quiet
constexpr uint64_t kHashSeedA = 0x9e3779b97f4a7c15ull;
constexpr uint64_t kHashSeedB = 0xc2b2ae3d27d4eb4full;
constexpr uint64_t kHashMultiplier = 0xff51afd7ed558ccdull;

inline uint64_t fold(uint64_t h, uint64_t w) noexcept {
  const U128 p = static_cast<U128>(h ^ w) * kHashMultiplier;
  return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
}

inline uint64_t hash_words(uint64_t head, uint64_t lo0, uint64_t lo1, uint64_t hi0,
                           uint64_t hi1) noexcept {
  const uint64_t a = fold(fold(fold(kHashSeedA, head), lo0), lo1);
  const uint64_t b = fold(fold(kHashSeedB, hi0), hi1);
  return fold(a, b);
}

inline uint64_t head_word(uint8_t family, uint8_t proto, uint16_t port_lo,
                          uint16_t port_hi) noexcept {
  return uint64_t{family} | uint64_t{proto} << 8 | uint64_t{port_lo} << 16 |
         uint64_t{port_hi} << 32;
}

inline uint64_t load64(const uint8_t* p) noexcept {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// What an 8-byte load of an IPv4 key address reads: the address's 4 bytes, then 4 zero bytes.
inline uint64_t v4_word(uint32_t native) noexcept {
  return std::endian::native == std::endian::little ? uint64_t{native} : uint64_t{native} << 32;
}

}  // namespace

void make_flow_key(const parse::PacketInfo& pkt, FlowKey* key, uint8_t* dir,
                   uint64_t* hash) noexcept {
  // The addresses compare as big-endian numbers (memcmp's order) and are copied at a fixed size
  // per family: no libc call per packet. The hash is computed from the values in registers,
  // never read back from the key: its bytes are stored piecewise, and a wider load would wait
  // for those stores (no store-to-load forwarding across several stores). Every field is
  // written once, so the key may be written over a stale one.
  auto order = [&](uint64_t s_hi, uint64_t s_lo, uint64_t d_hi, uint64_t d_lo) {
    return s_hi < d_hi ||
           (s_hi == d_hi && (s_lo < d_lo || (s_lo == d_lo && pkt.src_port <= pkt.dst_port)));
  };
  const parse::Bytes src(pkt.src.bytes), dst(pkt.dst.bytes);
  uint64_t lo0, lo1, hi0, hi1;  // the key's address words, as hash_flow_key reads them
  bool src_low;
  if (pkt.family == IpFamily::kV4) {
    src_low = order(parse::be_at<uint32_t>(src, 0), 0, parse::be_at<uint32_t>(dst, 0), 0);
    uint32_t s, d;  // as memory holds them
    std::memcpy(&s, pkt.src.bytes, 4);
    std::memcpy(&d, pkt.dst.bytes, 4);
    lo0 = v4_word(src_low ? s : d);
    hi0 = v4_word(src_low ? d : s);
    lo1 = hi1 = 0;
  } else {
    src_low = order(parse::be_at<uint64_t>(src, 0), parse::be_at<uint64_t>(src, 8),
                    parse::be_at<uint64_t>(dst, 0), parse::be_at<uint64_t>(dst, 8));
    const uint8_t* l = (src_low ? pkt.src : pkt.dst).bytes;
    const uint8_t* h = (src_low ? pkt.dst : pkt.src).bytes;
    lo0 = load64(l);
    lo1 = load64(l + 8);
    hi0 = load64(h);
    hi1 = load64(h + 8);
  }
  const auto family = static_cast<uint8_t>(pkt.family);
  const uint8_t proto = pkt.l4_proto;
  const uint16_t port_lo = src_low ? pkt.src_port : pkt.dst_port;
  const uint16_t port_hi = src_low ? pkt.dst_port : pkt.src_port;
  key->family = family;
  key->proto = proto;
  key->port_lo = port_lo;
  key->port_hi = port_hi;
  std::memcpy(key->addr_lo, &lo0, 8);  // an IPv4 address's word holds its 4 zero bytes
  std::memcpy(key->addr_lo + 8, &lo1, 8);
  std::memcpy(key->addr_hi, &hi0, 8);
  std::memcpy(key->addr_hi + 8, &hi1, 8);
  *dir = src_low ? 0 : 1;
  if (hash != nullptr)
    *hash = hash_words(head_word(family, proto, port_lo, port_hi), lo0, lo1, hi0, hi1);
}

uint64_t hash_flow_key(const FlowKey& key) noexcept {
  return hash_words(head_word(key.family, key.proto, key.port_lo, key.port_hi), load64(key.addr_lo),
                    load64(key.addr_lo + 8), load64(key.addr_hi), load64(key.addr_hi + 8));
}

namespace {

// calloc, not aligned_alloc and memset: pages nothing ever uses stay untouched.
template <typename T>
std::unique_ptr<T[], FreeDeleter> zeroed_array(size_t n) {
  void* p = std::calloc(n == 0 ? 1 : n, sizeof(T));
  if (p == nullptr) throw std::bad_alloc();
  return std::unique_ptr<T[], FreeDeleter>(static_cast<T*>(p));
}

// The first T-aligned address in p's memory (allocated alignof(T) bytes over).
template <typename T>
T* align_up(void* p) noexcept {
  const auto addr = reinterpret_cast<uintptr_t>(p);
  return reinterpret_cast<T*>((addr + alignof(T) - 1) / alignof(T) * alignof(T));
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
      flows_(align_up<Flow>(flow_memory_.get())),
      cold_memory_(
          zeroed_array<uint8_t>((size_t{mask_} + 1) * sizeof(FlowCold) + alignof(FlowCold))),
      colds_(align_up<FlowCold>(cold_memory_.get())),
      pool_(cfg.buffers) {}

// Writes the flow's line only: its cold state is reset when the new flow first uses it (cold()).
void FlowTable::reset_flow(Flow& f) noexcept {
  if (f.has_buffers) {
    for (const TcpDirection& d : f.tcp) {
      if (d.buffer != kNoBuffer) pool_.release(d.buffer);
    }
    // A QUIC buffer index is only ever stored in a ready cold state.
    if (f.cold_ready) {
      const uint32_t b = colds_[&f - flows_].quic.buffer;
      if (b != kNoBuffer) pool_.release(b);
    }
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
