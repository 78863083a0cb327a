// The main lcore's event backlog: bounded, oldest dropped and counted when full, contiguous
// batches at the wrap point, and sequence numbers that expose every dropped event as a gap.
#include "dataplane/runtime/event_backlog.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace muhafiz::runtime {
namespace {

api::AccessEvent event(uint64_t id) {
  api::AccessEvent ev;
  ev.time_ns = id;  // identifies the event in these tests
  return ev;
}

std::vector<uint64_t> ids(std::span<const api::AccessEvent> evs) {
  std::vector<uint64_t> out;
  for (const auto& e : evs) out.push_back(e.time_ns);
  return out;
}

TEST(EventBacklog, RefusesZeroCapacity) { EXPECT_THROW(EventBacklog(0), std::invalid_argument); }

TEST(EventBacklog, FifoWithSequenceNumbers) {
  EventBacklog b(8);
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(b.front(4).empty());
  for (uint64_t i = 0; i < 5; ++i) b.push(event(i));
  EXPECT_EQ(b.size(), 5u);
  EXPECT_EQ(b.front_sequence(), 0u);
  EXPECT_EQ(ids(b.front(3)), (std::vector<uint64_t>{0, 1, 2}));
  b.pop(3);
  EXPECT_EQ(b.front_sequence(), 3u);
  EXPECT_EQ(ids(b.front(10)), (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(b.dropped(), 0u);
  b.pop(10);  // more than held: empties, no underflow
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.front_sequence(), 5u);
  EXPECT_EQ(b.next_sequence(), 5u);
}

TEST(EventBacklog, FrontStopsAtTheWrapPoint) {
  EventBacklog b(4);
  for (uint64_t i = 0; i < 3; ++i) b.push(event(i));
  b.pop(2);                                           // head at slot 2
  for (uint64_t i = 3; i < 6; ++i) b.push(event(i));  // slots 3, 0, 1
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(ids(b.front(4)), (std::vector<uint64_t>{2, 3}));  // up to the end of the array
  // copy_front crosses the wrap point and leaves the backlog as it was.
  std::vector<api::AccessEvent> out(6);
  EXPECT_EQ(b.copy_front(out), 4u);
  EXPECT_EQ(ids({out.data(), 4}), (std::vector<uint64_t>{2, 3, 4, 5}));
  EXPECT_EQ(b.copy_front({out.data(), 3}), 3u);
  EXPECT_EQ(ids({out.data(), 3}), (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_EQ(b.size(), 4u);
  b.pop(2);
  EXPECT_EQ(ids(b.front(4)), (std::vector<uint64_t>{4, 5}));
  EXPECT_EQ(b.front_sequence(), 4u);
}

TEST(EventBacklog, FullDropsTheOldestAndCountsIt) {
  EventBacklog b(4);
  for (uint64_t i = 0; i < 10; ++i) b.push(event(i));
  EXPECT_EQ(b.size(), 4u);
  EXPECT_EQ(b.dropped(), 6u);
  // The newest four survive, and their numbers say six came before them.
  EXPECT_EQ(b.front_sequence(), 6u);
  std::vector<uint64_t> all;
  while (!b.empty()) {
    const auto f = b.front(4);
    for (auto id : ids(f)) all.push_back(id);
    b.pop(f.size());
  }
  EXPECT_EQ(all, (std::vector<uint64_t>{6, 7, 8, 9}));
}

TEST(EventBacklog, SpanPushAndCapacityOne) {
  EventBacklog b(1);
  const std::vector<api::AccessEvent> evs = {event(1), event(2), event(3)};
  b.push(evs);
  EXPECT_EQ(b.size(), 1u);
  EXPECT_EQ(b.dropped(), 2u);
  EXPECT_EQ(ids(b.front(8)), (std::vector<uint64_t>{3}));
  EXPECT_EQ(b.front_sequence(), 2u);
}

}  // namespace
}  // namespace muhafiz::runtime
