// Per-worker flow state: a bounded, aged hash table of flows, and a pool of fixed-size
// reassembly buffers lent to the few flows that have a message split across packets.
// Everything is allocated once at construction; lookups and inserts never allocate.
// Not thread-safe by design: each worker owns its own table (RSS keeps a flow on one worker).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <type_traits>

#include "dataplane/parse/http.h"
#include "dataplane/parse/packet.h"
#include "dataplane/parse/quic.h"
#include "rules/match/prefetch.h"

namespace muhafiz::flow {

using parse::IpAddress;
using parse::IpFamily;

// The 5-tuple in canonical order (lower endpoint first), so both directions share one entry.
struct FlowKey {
  uint8_t family = 0;
  uint8_t proto = 0;
  uint16_t port_lo = 0, port_hi = 0;
  uint8_t addr_lo[16] = {}, addr_hi[16] = {};
  // One compare of the whole key: the defaulted operator compares the address arrays byte by
  // byte (about 230 instructions a call by callgrind), and every packet of a flow pays it in the
  // flow table and the verdict cache. The key has no padding, so its bytes are its value.
  bool operator==(const FlowKey& o) const noexcept { return std::memcmp(this, &o, sizeof o) == 0; }
};
static_assert(sizeof(FlowKey) == 38 && std::has_unique_object_representations_v<FlowKey>);

// Builds the canonical key; *dir is 0 when the packet goes from the lower endpoint, else 1.
// With `hash`, also sets *hash to hash_flow_key() of the key, computed from the packet's
// fields (cheaper than hashing the key just built: see flow_table.cc).
// The first form writes the key where it will be kept: returned by value and then copied, its
// piecewise stores stall the copy's wide loads (no store-to-load forwarding across stores).
void make_flow_key(const parse::PacketInfo& pkt, FlowKey* key, uint8_t* dir,
                   uint64_t* hash = nullptr) noexcept;
inline FlowKey make_flow_key(const parse::PacketInfo& pkt, uint8_t* dir,
                             uint64_t* hash = nullptr) noexcept {
  FlowKey k;
  make_flow_key(pkt, &k, dir, hash);
  return k;
}
uint64_t hash_flow_key(const FlowKey& key) noexcept;
// What a table keeps of a key's hash to skip the slots of other keys without reading them: the
// high half (the low half picks the slot), with the low bit set so it is never 0, the mark of a
// free slot. FlowTable and engine::VerdictCache both use it.
inline constexpr uint32_t kFreeSignature = 0;
inline uint32_t flow_signature(uint64_t hash) noexcept {
  return static_cast<uint32_t>(hash >> 32) | 1;
}

inline constexpr size_t kStreamBufferSize =
    16384 + 1024;  // holds kMaxClientHelloLen / kMaxHttpHeadLen plus a record header
static_assert(kStreamBufferSize <= UINT16_MAX, "TcpDirection::buffered is 16 bits");
inline constexpr uint32_t kNoBuffer = UINT32_MAX;

// What a TCP direction carries, decided at the first message boundary we see.
enum class StreamApp : uint8_t {
  kUnknown,        // not decided yet (re-tried at each new segment start)
  kTls,            // waiting for / inside a ClientHello
  kTlsAfterHello,  // hello seen: a HelloRetryRequest may bring a second one
  kHttp,           // HTTP/1.x requests (pipelined), bodies skipped
  kHttpBody,       // inside a Content-Length body
  kHttpChunked,    // inside a chunked body
  kDns,            // length-prefixed DNS messages
  kDone,           // nothing more to learn from this direction
};

// What a TCP direction needs at every segment that carries data. With the key, both directions
// fill the flow's one cache line, so a segment of an established flow reads one line of flow
// state. A message split over segments (a post-quantum ClientHello) is reassembled from it alone.
struct TcpDirection {
  uint32_t next_seq = 0;
  uint32_t buffer = kNoBuffer;  // index into the BufferPool while a message is partial
  uint16_t buffered = 0;        // bytes held in that buffer (at most kStreamBufferSize); 0: none
  StreamApp app = StreamApp::kUnknown;
  bool seq_known : 1 = false;
  bool after_gap : 1 = false;  // a gap was skipped since the last message
  bool at_start : 1 = false;   // SYN seen, no data yet: the next bytes are the stream's first
};
static_assert(sizeof(TcpDirection) == 12);

// What only a direction inside an HTTP body needs.
struct TcpStream {
  uint64_t body_left = 0;         // kHttpBody: bytes still to skip
  parse::HttpChunkState chunk{};  // kHttpChunked
};

struct QuicState {
  bool active = false;
  bool done = false;       // ClientHello extracted for the current keys
  uint8_t client_dir = 0;  // direction of the first client Initial
  uint8_t dcid_len = 0;
  uint8_t dcid[parse::kQuicMaxCidLen] = {};
  parse::QuicInitialKeys keys{};
  uint32_t buffer = kNoBuffer;  // a QuicCryptoAssembler slot in the pool
  uint32_t packets = 0;         // Initial packets that fed the assembler
};

// The state few flows use (HTTP bodies, QUIC), in an array of its own beside the flows, reached
// through FlowTable::cold(), which resets it at a flow's first use of it, so a new flow writes
// its one line only. (FlowTable::reset_flow() reads the QUIC buffer in it directly, but only
// once it is ready.)
struct alignas(64) FlowCold {
  TcpStream stream[2];
  QuicState quic;
};

// A flow's state, one cache line: the key and both directions, what every TCP segment that
// carries data (or a SYN) reads. Whether a slot is used and when it was last seen live in the
// table's compact slot array, so probing never reads the state of flows it passes over. The
// cold state lives apart so the flows are dense: 65,536 of them fill 4 MiB, not 16, and a
// table's worth of established flows stays in a core's L2 or close to it.
struct alignas(64) Flow {
  FlowKey key;
  bool cold_ready = false;   // the flow's FlowCold was reset for it; else its bytes are stale
  bool has_buffers = false;  // FlowTable::acquire_buffer() lent it a slot since its reset
  TcpDirection tcp[2];
};
static_assert(sizeof(Flow) == 64, "the key and both TCP directions fill one line");
// Aggregates, so calloc'd zero bytes hold them (C++20 implicit object creation). All-zero
// bytes are not a reset Flow (tcp[].buffer 0 is a pool slot): lookup() resets every flow it
// hands out, a never-used one too.
static_assert(std::is_aggregate_v<Flow> && std::is_aggregate_v<FlowCold>);
// Never destroyed: both live in calloc'd memory that is freed as bytes.
static_assert(std::is_trivially_destructible_v<Flow> && std::is_trivially_destructible_v<FlowCold>);

// Fixed pool of reassembly slots. Each slot holds either a stream buffer or a QUIC CRYPTO
// assembler; an exhausted pool is a counted failure, never an allocation.
// Freed with std::free: the tables come from std::calloc, so pages no flow or message ever
// used are never touched (a short capture starts in milliseconds, not after zeroing 50 MB).
struct FreeDeleter {
  void operator()(void* p) const noexcept { std::free(p); }
};

class BufferPool {
 public:
  // Throws std::bad_alloc.
  explicit BufferPool(uint32_t count);
  uint32_t acquire() noexcept;  // kNoBuffer when empty
  void release(uint32_t index) noexcept;
  std::span<uint8_t> stream(uint32_t index) noexcept;
  parse::QuicCryptoAssembler& assembler(uint32_t index) noexcept;
  uint32_t in_use() const noexcept { return in_use_; }
  uint32_t capacity() const noexcept { return count_; }

 private:
  struct Slot {
    uint8_t bytes[kStreamBufferSize];
    parse::QuicCryptoAssembler assembler;
  };
  static_assert(std::is_trivially_destructible_v<Slot>);
  uint32_t count_;
  uint32_t in_use_ = 0;
  std::unique_ptr<Slot[], FreeDeleter> slots_;  // constructed when first lent
  std::unique_ptr<bool[]> constructed_;
  std::unique_ptr<uint32_t[]> free_;
  uint32_t free_top_ = 0;
};

struct FlowTableConfig {
  uint32_t capacity = 1u << 16;         // flows (rounded up to a power of two)
  uint32_t buffers = 1024;              // reassembly slots
  uint64_t idle_timeout = 120'000'000;  // in the caller's clock units (µs by default: 120 s)
};

struct FlowTableStats {
  uint64_t created = 0;
  uint64_t evicted = 0;  // live flows pushed out to make room
  uint64_t expired = 0;  // idle flows reused
  uint64_t buffer_exhausted = 0;
};

class FlowTable {
 public:
  explicit FlowTable(const FlowTableConfig& cfg);
  // Finds or creates the flow. Never fails: when the probe window is full, the least
  // recently seen flow in it is evicted (its buffers returned) and counted.
  Flow& lookup(const FlowKey& key, uint64_t now) noexcept {
    return lookup(key, hash_flow_key(key), now);
  }
  // Same, with hash == hash_flow_key(key) already computed.
  Flow& lookup(const FlowKey& key, uint64_t hash, uint64_t now) noexcept;
  // Starts fetching what lookup() reads first for a key of this hash: its probe window's
  // slots, 128 bytes over two or three cache lines: slots 0, 4 and 7 of the window lie on every
  // line it touches, given 16-byte slots 16-byte aligned (calloc's alignment; assumed, not
  // checked) and a window that does not wrap at the table's end (where a line may be missed).
  // A worker issues this for every packet of a burst before it processes the first, so the
  // burst's cache misses overlap instead of queueing.
  void prefetch(uint64_t hash) const noexcept {
    static_assert(kProbeWindow == 8 && sizeof(Slot) == 16);
    const auto base = static_cast<uint32_t>(hash);
    rules::prefetch(&slots_[base & mask_]);
    rules::prefetch(&slots_[(base + 4) & mask_]);
    rules::prefetch(&slots_[(base + kProbeWindow - 1) & mask_]);
  }
  // The second stage, once prefetch()'s lines have arrived: reads the window's slots only, and
  // starts fetching the flow lookup() will return (its line: the key and both TCP directions)
  // and, `with_cold`, its whole cold state (the QUIC state), for a known key and for a new one,
  // whose line lookup() rewrites. Nothing else is read or changed. An earlier packet of the
  // burst may change the window before lookup() runs, and every new key of a burst that lands
  // in a never-used slot fetches the same next flow: a fetch is then wasted, nothing more.
  void prefetch_flow(uint64_t hash, bool with_cold) const noexcept {
    const uint32_t sig = flow_signature(hash);
    const auto base = static_cast<uint32_t>(hash);
    uint32_t idx = kProbeWindow;
    for (uint32_t i = 0; i < kProbeWindow; ++i) {
      if (slots_[(base + i) & mask_].sig == sig) {
        idx = (base + i) & mask_;
        break;
      }
    }
    uint32_t flow = next_flow_;  // what a new key in a never-used slot takes
    if (idx != kProbeWindow) {
      flow = slots_[idx].flow;
    } else if (const Slot& v = slots_[victim(base)]; v.sig != kFreeSlot) {
      flow = v.flow;
    }
    rules::prefetch(&flows_[flow]);  // one line: a Flow is 64 bytes, 64-byte aligned
    if (with_cold) {
      const auto* c = reinterpret_cast<const char*>(&colds_[flow]);
      for (size_t at = 0; at < sizeof(FlowCold); at += 64) rules::prefetch(c + at);
    }
  }
  // Lends a reassembly slot to `f` (a flow this table returned), or kNoBuffer when the pool is
  // empty. The caller keeps it in f.tcp[dir].buffer, or cold(f).quic.buffer for QUIC. The flow
  // is marked, so evicting a flow that never held one reads nothing but its line.
  uint32_t acquire_buffer(Flow& f) noexcept {
    const uint32_t b = pool_.acquire();
    if (b != kNoBuffer) f.has_buffers = true;
    return b;
  }
  // The cold state of `f` (a flow this table returned), reset at its first use for this flow.
  FlowCold& cold(Flow& f) noexcept {
    FlowCold& c = colds_[&f - flows_];
    if (!f.cold_ready) {
      c = FlowCold{};
      f.cold_ready = true;
    }
    return c;
  }
  // The bytes of f's cold state as they are, without the reset: stale unless f.cold_ready.
  const FlowCold& cold_bytes(const Flow& f) const noexcept { return colds_[&f - flows_]; }
  // For a flow's buffers: stream(), assembler(), release(). Lend them with acquire_buffer().
  BufferPool& pool() noexcept { return pool_; }
  const BufferPool& pool() const noexcept { return pool_; }
  const FlowTableStats& stats() const noexcept { return stats_; }
  FlowTableStats& stats() noexcept { return stats_; }
  uint32_t active(uint64_t now) const noexcept;

 private:
  static constexpr uint32_t kProbeWindow = 8;
  static constexpr uint32_t kFreeSlot = kFreeSignature;
  // Trivial, so zeroed memory from calloc is a table of free slots.
  struct Slot {
    uint64_t last_seen;  // caller's clock (ns or µs), used for ageing
    uint32_t sig;        // high half of the key's hash, low bit set; kFreeSlot: never used
    uint32_t flow;       // index into flows_, given when the slot is first used, kept after
  };
  static_assert(sizeof(Slot) == 16 && std::is_trivial_v<Slot>);
  void reset_flow(Flow& f) noexcept;
  // The slot a new key of this window takes: the first free one, else the least recently seen.
  // The oldest time so far is kept in a register: reading slots_[v].last_seen at each step
  // made every compare wait for the load of the slot the step before had picked.
  uint32_t victim(uint32_t base) const noexcept {
    uint32_t v = base & mask_;
    uint64_t oldest = slots_[v].last_seen;
    for (uint32_t i = 0; i < kProbeWindow; ++i) {
      const uint32_t idx = (base + i) & mask_;
      const Slot& s = slots_[idx];
      if (s.sig == kFreeSlot) return idx;
      const bool older = s.last_seen < oldest;  // selects, not a branch: the order is random
      oldest = older ? s.last_seen : oldest;
      v = older ? idx : v;
    }
    return v;
  }

  FlowTableConfig cfg_;
  uint32_t mask_;
  std::unique_ptr<Slot[], FreeDeleter> slots_;
  // The flows, handed out in the order slots are first used, so a table that holds few flows
  // touches few pages (a short capture, a quiet link), where flows placed at their slots would
  // fault in a page of zeroes for nearly every flow.
  std::unique_ptr<uint8_t[], FreeDeleter> flow_memory_;  // zeroed, 64 bytes over to align
  Flow* flows_;                                          // inside flow_memory_, 64-byte aligned
  std::unique_ptr<uint8_t[], FreeDeleter> cold_memory_;  // the same, for the cold states
  FlowCold* colds_;                                      // colds_[i] belongs to flows_[i]
  uint32_t next_flow_ = 0;                               // the next never-used flow
  BufferPool pool_;
  FlowTableStats stats_;
};

}  // namespace muhafiz::flow
