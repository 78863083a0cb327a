#include "dataplane/flow/flow_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <random>
#include <utility>
#include <vector>

namespace muhafiz::flow {
namespace {

parse::PacketInfo packet(uint8_t src_last, uint16_t sport, uint8_t dst_last, uint16_t dport) {
  parse::PacketInfo p;
  p.family = IpFamily::kV4;
  p.l4_proto = parse::kIpProtoTcp;
  p.src.family = p.dst.family = IpFamily::kV4;
  p.src.bytes[0] = 10;
  p.src.bytes[3] = src_last;
  p.dst.bytes[0] = 10;
  p.dst.bytes[3] = dst_last;
  p.src_port = sport;
  p.dst_port = dport;
  return p;
}

TEST(FlowKey, BothDirectionsShareOneKey) {
  uint8_t d1 = 9, d2 = 9;
  const FlowKey a = make_flow_key(packet(1, 40000, 2, 443), &d1);
  const FlowKey b = make_flow_key(packet(2, 443, 1, 40000), &d2);
  EXPECT_EQ(a, b);
  EXPECT_NE(d1, d2);
  EXPECT_EQ(hash_flow_key(a), hash_flow_key(b));
  uint8_t d3 = 0;
  const FlowKey c = make_flow_key(packet(1, 40001, 2, 443), &d3);
  EXPECT_FALSE(a == c);
}

TEST(FlowKey, SameAddressOrdersByPort) {
  uint8_t d1 = 9, d2 = 9;
  const FlowKey a = make_flow_key(packet(1, 5000, 1, 53), &d1);
  const FlowKey b = make_flow_key(packet(1, 53, 1, 5000), &d2);
  EXPECT_EQ(a, b);
  EXPECT_NE(d1, d2);
}

// Against the definition, for random packets of both families (addresses drawn from a few
// values so equal addresses and equal ports occur): the lower endpoint is the smaller address
// in byte order, then the smaller port; the key holds it first; both directions give one key;
// an IPv4 key ignores whatever lies past the address's 4 bytes.
TEST(FlowKey, MatchesTheDefinitionForRandomPackets) {
  std::mt19937_64 rng(17);
  auto draw = [&](parse::IpAddress* a, IpFamily f) {
    a->family = f;
    for (uint8_t& b : a->bytes) b = static_cast<uint8_t>(rng() % 8 == 0 ? rng() : 0);
  };
  for (int i = 0; i < 20'000; ++i) {
    parse::PacketInfo p;
    p.family = i % 2 ? IpFamily::kV6 : IpFamily::kV4;
    p.l4_proto = parse::kIpProtoUdp;
    draw(&p.src, p.family);
    draw(&p.dst, p.family);
    if (rng() % 4 == 0) p.dst = p.src;
    p.src_port = static_cast<uint16_t>(rng() % 3);
    p.dst_port = static_cast<uint16_t>(rng() % 3);
    const size_t n = p.family == IpFamily::kV4 ? 4 : 16;
    const int c = std::memcmp(p.src.bytes, p.dst.bytes, n);
    const bool src_low = c < 0 || (c == 0 && p.src_port <= p.dst_port);
    uint8_t dir = 9, hashed_dir = 9;
    uint64_t hash = 0;
    const FlowKey k = make_flow_key(p, &dir);
    ASSERT_EQ(make_flow_key(p, &hashed_dir, &hash), k) << i;
    ASSERT_EQ(hashed_dir, dir) << i;
    ASSERT_EQ(dir, src_low ? 0 : 1) << i;
    const parse::IpAddress& lo = src_low ? p.src : p.dst;
    const parse::IpAddress& hi = src_low ? p.dst : p.src;
    FlowKey want;
    want.family = static_cast<uint8_t>(p.family);
    want.proto = p.l4_proto;
    want.port_lo = src_low ? p.src_port : p.dst_port;
    want.port_hi = src_low ? p.dst_port : p.src_port;
    std::memcpy(want.addr_lo, lo.bytes, n);
    std::memcpy(want.addr_hi, hi.bytes, n);
    ASSERT_EQ(k, want) << i;
    // Written in place over a key that held other bytes: every byte is the new key's.
    FlowKey reused;
    std::memset(static_cast<void*>(&reused), 0xff, sizeof reused);
    uint8_t reused_dir = 9;
    uint64_t reused_hash = 0;
    make_flow_key(p, &reused, &reused_dir, &reused_hash);
    ASSERT_EQ(reused, want) << i;
    ASSERT_EQ(reused_dir, dir) << i;
    ASSERT_EQ(reused_hash, hash) << i;
    // The hash computed with the key is the key's hash (IPv4: whatever lies past the 4 bytes of
    // the packet's addresses is not in it).
    ASSERT_EQ(hash, hash_flow_key(want)) << i;
    parse::PacketInfo back = p;
    std::swap(back.src, back.dst);
    std::swap(back.src_port, back.dst_port);
    uint8_t back_dir = 9;
    ASSERT_EQ(make_flow_key(back, &back_dir), k) << i;
    if (c != 0 || p.src_port != p.dst_port) {
      ASSERT_NE(back_dir, dir) << i;
    }
  }
}

// The hash sees every byte of the key: changing any one bit of it changes the hash.
TEST(FlowKey, HashSeesEveryBit) {
  FlowKey base;
  base.family = static_cast<uint8_t>(IpFamily::kV6);
  base.proto = parse::kIpProtoTcp;
  base.port_lo = 443;
  base.port_hi = 50000;
  for (size_t i = 0; i < 16; ++i) {
    base.addr_lo[i] = static_cast<uint8_t>(i * 7 + 1);
    base.addr_hi[i] = static_cast<uint8_t>(i * 13 + 5);
  }
  const uint64_t h = hash_flow_key(base);
  for (size_t i = 0; i < sizeof(FlowKey); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      FlowKey k = base;
      reinterpret_cast<uint8_t*>(&k)[i] ^= static_cast<uint8_t>(1u << bit);
      EXPECT_NE(hash_flow_key(k), h) << "byte " << i << " bit " << bit;
    }
  }
}

// The whole-key compare sees every field.
TEST(FlowKey, EqualityComparesEveryByte) {
  const FlowKey base;
  for (size_t i = 0; i < sizeof(FlowKey); ++i) {
    FlowKey k;
    reinterpret_cast<uint8_t*>(&k)[i] = 1;
    EXPECT_FALSE(k == base) << "byte " << i;
    EXPECT_TRUE(k == k);
  }
}

TEST(FlowTable, LookupFindsTheSameFlow) {
  FlowTable t(FlowTableConfig{64, 4, 1000});
  uint8_t dir = 0;
  const FlowKey k = make_flow_key(packet(1, 1, 2, 2), &dir);
  Flow& f = t.lookup(k, 10);
  f.tcp[0].next_seq = 1234;
  Flow& g = t.lookup(k, 20);
  EXPECT_EQ(&f, &g);
  EXPECT_EQ(g.tcp[0].next_seq, 1234u);
  // Line-aligned, so the key and both TCP directions share one cache line.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(&f) % 64, 0u);
  EXPECT_EQ(t.stats().created, 1u);
  EXPECT_EQ(t.active(20), 1u);
  EXPECT_EQ(t.active(2000), 0u);  // idle past the timeout
}

// Flows are handed out in the order their slots are first used, wherever the slots lie, so a
// table holding few flows touches few pages of its flow array.
TEST(FlowTable, FlowsAreHandedOutInOrderOfFirstUse) {
  FlowTable t(FlowTableConfig{1u << 16, 4, 1000});
  std::vector<const Flow*> flows;
  for (uint16_t i = 0; i < 40; ++i) {
    uint8_t dir = 0;
    flows.push_back(
        &t.lookup(make_flow_key(packet(1, static_cast<uint16_t>(1000 + i), 2, 443), &dir), 5));
  }
  for (size_t i = 1; i < flows.size(); ++i) EXPECT_EQ(flows[i], flows[0] + i) << i;
}

// prefetch() and prefetch_flow() only start fetches, so what they could get wrong is where
// they read: every slot of the probe window, wrapping at the table's end. Under ASan a slot
// read past the table (prefetch_flow() and victim() read slots) fails here; any hash, stored or
// not, must be safe. The prefetch instructions themselves are not checked by ASan.
TEST(FlowTable, PrefetchesStayInsideTheTableForAnyHash) {
  auto make_key = [](uint8_t i) {
    uint8_t dir = 0;
    return make_flow_key(packet(1, static_cast<uint16_t>(1000 + i), 2, 443), &dir);
  };
  FlowTable t(FlowTableConfig{8, 2, 1000});
  for (uint8_t i = 0; i < 6; ++i) t.lookup(make_key(i), i);
  std::mt19937_64 rng(5);
  std::vector<uint64_t> hashes = {0, 7, 15, UINT64_MAX, uint64_t{UINT32_MAX}};
  for (uint8_t i = 0; i < 6; ++i) hashes.push_back(hash_flow_key(make_key(i)));
  for (int i = 0; i < 1000; ++i) hashes.push_back(rng());
  for (const uint64_t h : hashes) {
    t.prefetch(h);
    t.prefetch_flow(h, false);
    t.prefetch_flow(h, true);
  }
  for (uint8_t i = 0; i < 6; ++i) EXPECT_EQ(t.lookup(make_key(i), 10).key, make_key(i));
  EXPECT_EQ(t.stats().created, 6u);  // prefetching changed nothing
}

// Which slot a new key takes in a full window: the least recently seen flow, the first of them
// on a tie; and a slot never used before wins over any flow. In a table of 8 slots every key's
// window is the whole table. Slots are not visible from outside, but a new key in a used slot
// takes over that slot's flow, so the Flow returned says which key was evicted.
TEST(FlowTable, NewKeyTakesTheFirstFreeSlotElseTheFirstLeastRecentlySeen) {
  auto key = [](uint16_t port) {
    uint8_t dir = 0;
    return make_flow_key(packet(1, port, 2, 443), &dir);
  };
  auto home = [&](uint16_t port) { return static_cast<size_t>(hash_flow_key(key(port)) & 7); };
  FlowTable t(FlowTableConfig{8, 2, 1'000'000});
  // Filling an empty table, each key takes the first free slot from its home: worked out here.
  Flow* at[8];
  size_t slot_of[8];
  int key_in[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
  for (uint16_t i = 0; i < 8; ++i) {
    at[i] = &t.lookup(key(i), 100 + i);
    size_t s = home(i);
    while (key_in[s] >= 0) s = (s + 1) % 8;
    key_in[s] = i;
    slot_of[i] = s;
  }
  for (uint16_t i = 0; i < 8; ++i) EXPECT_EQ(&t.lookup(key(i), 200), at[i]);  // a tie at 200
  EXPECT_EQ(t.stats().created, 8u);
  t.lookup(key(3), 150);  // time going backwards: key 3 is now the least recently seen
  EXPECT_EQ(&t.lookup(key(100), 300), at[3]);
  EXPECT_EQ(t.stats().evicted, 1u);
  // The other seven tie at 200: the first of them from key 101's home slot on is taken.
  size_t want = home(101);
  while (want == slot_of[3]) want = (want + 1) % 8;  // key 100's slot, seen at 300
  const int evicted = key_in[want];
  EXPECT_EQ(&t.lookup(key(101), 300), at[evicted]);
  EXPECT_EQ(t.stats().evicted, 2u);
  // The evicted key is gone (a lookup creates it again); another of the seven is still there.
  const int kept = evicted == 0 ? 1 : 0;
  const uint64_t created = t.stats().created;
  t.lookup(key(static_cast<uint16_t>(kept)), 400);
  EXPECT_EQ(t.stats().created, created);
  t.lookup(key(static_cast<uint16_t>(evicted)), 400);
  EXPECT_EQ(t.stats().created, created + 1);
  // A window whose first slot holds a flow seen at time 0, as old as the never-used slots after
  // it: a free slot is taken, not the flow (least recently seen alone would take the flow).
  FlowTable u(FlowTableConfig{8, 2, 1'000'000});
  Flow* const used = &u.lookup(key(0), 0);  // an empty table: at its home slot
  const uint64_t used_home = hash_flow_key(key(0)) & 7;
  uint16_t port = 1;
  while ((hash_flow_key(key(port)) & 7) != used_home) ++port;  // a window starting there
  Flow* const fresh = &u.lookup(key(port), 1);
  EXPECT_NE(fresh, used);
  EXPECT_EQ(u.stats().evicted, 0u);
}

// A flow idle past the timeout comes back fresh: a new conversation on the same 5-tuple (a
// QUIC client reusing its port) must not inherit the old reassembly state or its buffer.
TEST(FlowTable, ExpiredFlowIsResetWhenItsKeyReturns) {
  FlowTable t(FlowTableConfig{64, 4, 1000});
  uint8_t dir = 0;
  const FlowKey k = make_flow_key(packet(1, 1, 2, 2), &dir);
  Flow& f = t.lookup(k, 10);
  f.tcp[0].next_seq = 1234;
  f.tcp[0].buffered = 10;
  FlowCold& c = t.cold(f);
  f.tcp[0].buffer = t.acquire_buffer(f);
  ASSERT_NE(f.tcp[0].buffer, kNoBuffer);
  c.stream[1].body_left = 77;
  f.tcp[1].app = StreamApp::kHttp;
  c.quic.active = true;
  c.quic.done = true;
  c.quic.dcid_len = 8;
  c.quic.packets = 2;
  c.quic.buffer = t.acquire_buffer(f);
  ASSERT_NE(c.quic.buffer, kNoBuffer);
  EXPECT_EQ(t.lookup(k, 1010).tcp[0].next_seq, 1234u);  // exactly the timeout: still the flow
  EXPECT_EQ(t.cold(f).quic.dcid_len, 8);                // and its cold state
  Flow& g = t.lookup(k, 2011);                          // 1001 idle: expired
  EXPECT_EQ(&f, &g);
  EXPECT_EQ(g.tcp[0].next_seq, 0u);
  EXPECT_EQ(g.tcp[0].buffered, 0u);
  EXPECT_EQ(g.tcp[1].app, StreamApp::kUnknown);
  EXPECT_FALSE(g.cold_ready);  // the old cold bytes are still there, but no longer the flow's
  const FlowCold& gc = t.cold(g);
  EXPECT_EQ(g.tcp[0].buffer, kNoBuffer);
  EXPECT_EQ(gc.stream[1].body_left, 0u);
  EXPECT_FALSE(gc.quic.active);  // the QUIC keys are dead without it
  EXPECT_FALSE(gc.quic.done);
  EXPECT_EQ(gc.quic.dcid_len, 0);
  EXPECT_EQ(gc.quic.packets, 0u);
  EXPECT_EQ(gc.quic.buffer, kNoBuffer);
  EXPECT_EQ(g.key, k);
  EXPECT_EQ(t.stats().expired, 1u);
  EXPECT_EQ(t.stats().created, 2u);
  EXPECT_EQ(t.pool().in_use(), 0u);
  // Time going backwards (a capture's timestamps) expires nothing.
  g.tcp[0].next_seq = 99;
  EXPECT_EQ(t.lookup(k, 5).tcp[0].next_seq, 99u);
}

// A reset flow keeps its old cold bytes until cold() resets them: the QUIC buffer index there
// was returned once and must not be returned again when the flow, now holding only a TCP
// buffer, is reset. Another holder keeps a slot, so a second return shows in the counts and
// in the free list rather than being refused by a full one.
TEST(FlowTable, StaleColdStateIsNeverReleasedAgain) {
  FlowTable t(FlowTableConfig{64, 4, 1000});
  const uint32_t held = t.pool().acquire();
  uint8_t dir = 0;
  const FlowKey k = make_flow_key(packet(1, 1, 2, 2), &dir);
  Flow& f = t.lookup(k, 10);
  t.cold(f).quic.buffer = t.acquire_buffer(f);
  ASSERT_NE(t.cold_bytes(f).quic.buffer, kNoBuffer);
  Flow& g = t.lookup(k, 2011);  // expired: the QUIC buffer goes back
  EXPECT_EQ(t.pool().in_use(), 1u);
  ASSERT_FALSE(g.cold_ready);
  ASSERT_NE(t.cold_bytes(g).quic.buffer, kNoBuffer);  // stale
  g.tcp[1].buffer = t.acquire_buffer(g);
  EXPECT_EQ(t.pool().in_use(), 2u);
  t.lookup(k, 4012);  // expired again: the TCP buffer goes back, nothing else
  EXPECT_EQ(t.pool().in_use(), 1u);
  const uint32_t a = t.pool().acquire(), b = t.pool().acquire(), c = t.pool().acquire();
  EXPECT_TRUE(a != b && b != c && a != c) << "a slot was put back twice";
  for (const uint32_t x : {a, b, c}) EXPECT_NE(x, held);
  EXPECT_EQ(t.pool().acquire(), kNoBuffer);
}

TEST(FlowTable, BoundedEvictsOldestAndReturnsBuffers) {
  // A table of 8 slots (the probe window): the 9th flow must evict the least recent one.
  FlowTable t(FlowTableConfig{8, 2, 1'000'000});
  for (uint16_t i = 0; i < 8; ++i) {
    uint8_t dir = 0;
    Flow& f =
        t.lookup(make_flow_key(packet(1, static_cast<uint16_t>(1000 + i), 2, 80), &dir), 100 + i);
    if (i == 0) {
      f.tcp[0].buffer = t.acquire_buffer(f);
      ASSERT_NE(f.tcp[0].buffer, kNoBuffer);
    }
  }
  EXPECT_EQ(t.pool().in_use(), 1u);
  uint8_t dir = 0;
  Flow& fresh = t.lookup(make_flow_key(packet(1, 2000, 2, 80), &dir), 500);
  EXPECT_FALSE(fresh.cold_ready);
  EXPECT_EQ(fresh.tcp[0].buffer, kNoBuffer);
  EXPECT_EQ(t.stats().evicted, 1u);
  EXPECT_EQ(t.pool().in_use(), 0u) << "the evicted flow's buffer went back to the pool";
  // The oldest (port 1000) is gone: looking it up creates it again.
  const uint64_t before = t.stats().created;
  t.lookup(make_flow_key(packet(1, 1000, 2, 80), &dir), 600);
  EXPECT_EQ(t.stats().created, before + 1);
}

// The cold states live in an array of their own: each flow reaches its own, and keeps it
// while other flows come and go (the table of 64 never evicts here).
TEST(FlowTable, EachFlowHasItsOwnColdState) {
  FlowTable t(FlowTableConfig{64, 4, 1'000'000});
  auto flow = [&](uint16_t port) -> Flow& {
    uint8_t dir = 0;
    return t.lookup(make_flow_key(packet(1, port, 2, 443), &dir), port);
  };
  for (uint16_t i = 0; i < 20; ++i) {
    FlowCold& c = t.cold(flow(i));
    c.stream[1].body_left = 1000u + i;
    c.quic.dcid_len = static_cast<uint8_t>(i);
  }
  for (uint16_t i = 0; i < 20; ++i) {
    const Flow& f = flow(i);
    ASSERT_TRUE(f.cold_ready) << i;
    EXPECT_EQ(t.cold_bytes(f).stream[1].body_left, 1000u + i) << i;
    EXPECT_EQ(t.cold_bytes(f).quic.dcid_len, i) << i;
  }
  EXPECT_EQ(t.stats().created, 20u);
}

TEST(BufferPool, ExhaustsWithoutAllocating) {
  BufferPool p(2);
  const uint32_t a = p.acquire();
  const uint32_t b = p.acquire();
  EXPECT_NE(a, kNoBuffer);
  EXPECT_NE(b, kNoBuffer);
  EXPECT_NE(a, b);
  EXPECT_EQ(p.acquire(), kNoBuffer);
  p.release(a);
  EXPECT_EQ(p.acquire(), a);
  EXPECT_EQ(p.stream(b).size(), kStreamBufferSize);
}

}  // namespace
}  // namespace muhafiz::flow
