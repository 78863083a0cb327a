// The start-up arithmetic that needs no EAL: EAL arguments from the config, queues per port,
// mempool sizing.
#include "dataplane/engine/ports.h"

#include <gtest/gtest.h>
#include <rte_thash.h>

#include <array>
#include <random>

namespace muhafiz::engine {
namespace {

TEST(Ports, EalArgumentsAddOneDeviceArgumentPerPort) {
  EngineConfig c;
  c.eal_args = {"-l", "0-1", "--in-memory"};
  c.ports = {"net_pcap0,rx_pcap=a.pcap", "0000:03:00.1"};
  EXPECT_EQ(eal_arguments(c, "dp"),
            (std::vector<std::string>{"dp", "-l", "0-1", "--in-memory", "--vdev",
                                      "net_pcap0,rx_pcap=a.pcap", "-a", "0000:03:00.1"}));
}

TEST(Ports, WithoutPciPortsEalLeavesTheHostsNicsAlone) {
  EngineConfig c;
  c.eal_args = {};
  c.ports = {"net_null0", "net_null1"};
  EXPECT_EQ(eal_arguments(c, "dp"), (std::vector<std::string>{"dp", "--vdev", "net_null0", "--vdev",
                                                              "net_null1", "--no-pci"}));
}

TEST(Ports, QueuesAreTheSameOnEveryPortAndOneWithoutRss) {
  PortInfo rss8{0, "a", "net_ice", 0, 8, true, 1};
  PortInfo rss4{1, "b", "net_ice", 0, 4, true, 1};
  PortInfo vdev{2, "c", "net_pcap", 0, 1, false, 1};
  EXPECT_EQ(queues_for({rss8, rss4}, 6), 4);
  EXPECT_EQ(queues_for({rss8, rss4}, 2), 2);
  EXPECT_EQ(queues_for({rss8, vdev}, 6), 1);
  EXPECT_EQ(queues_for({rss8}, 1), 1);
}

// queue_spread: device trusts ports without RSS with their own queues: as many as every port
// offers, up to one per worker. RSS ports still cap it by their queues.
TEST(Ports, DeviceSpreadUsesTheQueuesPortsWithoutRssOffer) {
  PortInfo rss8{0, "a", "net_ice", 0, 8, true, 1, 8};
  PortInfo fanout2{1, "b", "net_af_packet", 0, 2, false, 1, 2};
  PortInfo pcap4{2, "c", "net_pcap", 0, 4, false, 1, 4};
  EXPECT_EQ(queues_for({fanout2, pcap4}, 2, QueueSpread::kDevice), 2);
  EXPECT_EQ(queues_for({rss8, pcap4}, 4, QueueSpread::kDevice), 4);
  EXPECT_EQ(queues_for({rss8, pcap4}, 6, QueueSpread::kDevice), 4);
  EXPECT_EQ(queues_for({fanout2, pcap4}, 2, QueueSpread::kRss), 1);
}

// A device whose queues are packet sources must have every one polled, and queue_spread:
// device must find a queue per worker on every port; each refusal names the port and the fix.
TEST(Ports, QueuesLeftUnpolledOrMissingAreRefused) {
  PortInfo rss8{0, "a", "net_ice", 0, 8, true, 1, 8};
  PortInfo pcap1{1, "p1", "net_pcap", 0, 1, false, 1, 1};
  PortInfo fanout2{2, "f2", "net_af_packet", 0, 2, false, 1, 2};
  PortInfo null{3, "n", "net_null", 0, 1024, false, 1, 1024};  // makes packets on any queue
  using Q = QueueSpread;
  EXPECT_EQ(queue_problem({rss8, pcap1}, 2, 1, Q::kRss, 1), "");
  EXPECT_EQ(queue_problem({fanout2, fanout2}, 2, 2, Q::kDevice, 2), "");
  EXPECT_EQ(queue_problem({null, null}, 2, 1, Q::kRss, 1), "");
  EXPECT_EQ(queue_problem({rss8, rss8}, 2, 4, Q::kRss, 4), "");
  // Tap mode reads only the mirror: an inject port's RX queues do not matter.
  EXPECT_EQ(queue_problem({pcap1, fanout2}, 1, 1, Q::kRss, 1), "");
  // Two af_packet sockets, one polled: half the flows would be lost without a word.
  const std::string unpolled = queue_problem({pcap1, fanout2}, 2, 2, Q::kRss, 1);
  EXPECT_NE(unpolled.find("port 'f2' (net_af_packet) receives on 2 queues but 1 would be polled"),
            std::string::npos)
      << unpolled;
  EXPECT_NE(unpolled.find("set queue_spread: device and workers: 2"), std::string::npos);
  EXPECT_NE(queue_problem({fanout2, fanout2}, 2, 1, Q::kDevice, 1)
                .find("receives on 2 queues but 1 would be polled, so packets on the others "
                      "would never be read: set workers: 2"),
            std::string::npos);
  const std::string missing = queue_problem({fanout2, pcap1}, 2, 2, Q::kDevice, 1);
  EXPECT_NE(missing.find("port 'p1' (net_pcap) offers 1 queue pair(s), but queue_spread: device "
                         "polls one per worker (workers: 2)"),
            std::string::npos)
      << missing;
  // An RSS port with fewer queues than workers under device: lower workers, not "give it".
  PortInfo fanout4{4, "f4", "net_af_packet", 0, 4, false, 1, 4};
  PortInfo rss2{5, "r2", "net_ice", 0, 2, true, 1, 2};
  const std::string rss_short = queue_problem({rss2, fanout4}, 2, 4, Q::kDevice, 2);
  EXPECT_NE(rss_short.find("port 'r2' (net_ice) offers 2 queue pair(s), but queue_spread: "
                           "device polls one per worker (workers: 4): lower workers to 2"),
            std::string::npos)
      << rss_short;
}

// The key start_port gives an RSS device: both directions of a flow must reach one worker, so
// its Toeplitz hash (computed here in software with DPDK's rte_softrss, over the tuple layout of
// the Microsoft RSS spec) of (a, b, pa, pb) and of (b, a, pb, pa) must agree, for IPv4 and IPv6
// and both key lengths NICs take. And it must still spread flows over the queues.
TEST(Ports, SymmetricRssKeyHashesBothDirectionsAlikeAndSpreads) {
  for (const size_t len : {kDefaultRssKeyLen, size_t{52}}) {
    const std::vector<uint8_t> key = symmetric_rss_key(len);
    ASSERT_EQ(key.size(), len);
    std::mt19937 rng(static_cast<unsigned>(len));
    auto u32 = [&rng] { return static_cast<uint32_t>(rng()); };
    constexpr size_t kQueues = 8, kFlows = 40000;
    std::array<size_t, kQueues> per_queue{};
    for (size_t i = 0; i < kFlows; ++i) {
      const uint32_t pa = u32() & 0xffff, pb = u32() & 0xffff;
      if (i % 2 == 0) {  // IPv4: source, destination, ports
        const uint32_t a = u32(), b = u32();
        uint32_t fwd[3] = {a, b, pa << 16 | pb};
        uint32_t rev[3] = {b, a, pb << 16 | pa};
        const uint32_t h = rte_softrss(fwd, 3, key.data());
        ASSERT_EQ(h, rte_softrss(rev, 3, key.data())) << "IPv4 flow " << i << ", key " << len;
        ++per_queue[(h & 127) % kQueues];  // a 128-entry redirection table, round robin
      } else {                             // IPv6
        uint32_t fwd[9], rev[9];
        for (size_t w = 0; w < 4; ++w) {
          fwd[w] = rev[4 + w] = u32();
          fwd[4 + w] = rev[w] = u32();
        }
        fwd[8] = pa << 16 | pb;
        rev[8] = pb << 16 | pa;
        const uint32_t h = rte_softrss(fwd, 9, key.data());
        ASSERT_EQ(h, rte_softrss(rev, 9, key.data())) << "IPv6 flow " << i << ", key " << len;
        ++per_queue[(h & 127) % kQueues];
      }
    }
    for (const size_t n : per_queue) {  // 5,000 each when even
      EXPECT_GT(n, kFlows / kQueues * 9 / 10) << "key " << len;
      EXPECT_LT(n, kFlows / kQueues * 11 / 10) << "key " << len;
    }
  }
}

TEST(Ports, TheMempoolHoldsEveryDescriptorBurstAndCacheAsTwoToTheNMinusOne) {
  EngineConfig c;
  c.rx_descriptors = 1024;
  c.tx_descriptors = 1024;
  c.mbuf_cache = 256;
  // 2 ports x 2 queues x 2048 descriptors = 8192, + 2 x (32 x 3 + 256) + 1024 replies = 9920.
  EXPECT_EQ(mempool_size(c, 2, 2), 16383u);
  c.rx_descriptors = 256;
  c.tx_descriptors = 256;
  EXPECT_EQ(mempool_size(c, 2, 1), 4095u);  // 1024 + 352 + 1024
  c.mbufs = 5000;
  EXPECT_EQ(mempool_size(c, 2, 1), 5000u);  // the config's own number wins
}

}  // namespace
}  // namespace muhafiz::engine
