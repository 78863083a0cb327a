// The verdict cache: lookups never create entries, a block is never downgraded, idle entries
// expire, and a full probe window evicts the least recently seen flow.
#include "dataplane/engine/verdict_cache.h"

#include <gtest/gtest.h>

namespace muhafiz::engine {
namespace {

flow::FlowKey key(uint16_t port) {
  flow::FlowKey k;
  k.family = 4;
  k.proto = 6;
  k.port_lo = port;
  k.port_hi = 443;
  k.addr_lo[0] = 192;
  k.addr_hi[0] = 198;
  return k;
}

TEST(VerdictCache, FindNeverInserts) {
  VerdictCache c(256, 1000);
  EXPECT_EQ(c.find(key(1), 0), nullptr);
  EXPECT_EQ(c.occupied(), 0u);
}

TEST(VerdictCache, RemembersAndNeverDowngradesABlock) {
  VerdictCache c(256, 1000);
  EXPECT_EQ(c.insert(key(1), FlowVerdict::kBlocked, 10), VerdictCache::Insert::kNew);
  EXPECT_EQ(c.insert(key(1), FlowVerdict::kReported, 20), VerdictCache::Insert::kUpdated);
  const CachedFlow* f = c.find(key(1), 30);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->verdict, FlowVerdict::kBlocked);
  EXPECT_EQ(c.occupied(), 1u);
  EXPECT_EQ(c.insert(key(2), FlowVerdict::kReported, 30), VerdictCache::Insert::kNew);
  EXPECT_EQ(c.insert(key(2), FlowVerdict::kBlocked, 40), VerdictCache::Insert::kUpdated);
  EXPECT_EQ(c.find(key(2), 50)->verdict, FlowVerdict::kBlocked);
}

TEST(VerdictCache, EveryHitRefreshesAndIdleEntriesExpire) {
  VerdictCache c(256, 1000);
  c.insert(key(1), FlowVerdict::kBlocked, 0);
  EXPECT_NE(c.find(key(1), 900), nullptr);
  EXPECT_NE(c.find(key(1), 1800), nullptr);  // refreshed at 900
  EXPECT_EQ(c.find(key(1), 2801), nullptr);  // idle for more than the timeout
  EXPECT_EQ(c.occupied(), 0u);
}

TEST(VerdictCache, CapacityIsRoundedUpAndBounded) {
  VerdictCache c(300, 1'000'000);
  EXPECT_EQ(c.capacity(), 512u);
  uint32_t evicted = 0, expired = 0;
  for (uint16_t p = 0; p < 4096; ++p) {
    const auto r = c.insert(key(p), FlowVerdict::kBlocked, p);
    evicted += r == VerdictCache::Insert::kEvicted;
    expired += r == VerdictCache::Insert::kExpired;
  }
  EXPECT_LE(c.occupied(), c.capacity());
  EXPECT_GT(evicted, 0u);
  EXPECT_EQ(expired, 0u);
  // The newest flows are all there.
  for (uint16_t p = 4090; p < 4096; ++p) EXPECT_NE(c.find(key(p), 5000), nullptr) << p;
}

TEST(VerdictCache, AnIdleSlotIsReusedBeforeALiveOneIsEvicted) {
  VerdictCache c(8, 100);  // one probe window: every key shares it
  for (uint16_t p = 0; p < 8; ++p) c.insert(key(p), FlowVerdict::kBlocked, p == 3 ? 0 : 1000);
  EXPECT_EQ(c.insert(key(100), FlowVerdict::kBlocked, 1050), VerdictCache::Insert::kExpired);
  EXPECT_EQ(c.find(key(3), 1050), nullptr);
  for (uint16_t p = 0; p < 8; ++p) {
    if (p != 3) {
      EXPECT_NE(c.find(key(p), 1060), nullptr) << p;
    }
  }
  EXPECT_EQ(c.insert(key(101), FlowVerdict::kBlocked, 1070), VerdictCache::Insert::kEvicted);
}

}  // namespace
}  // namespace muhafiz::engine
