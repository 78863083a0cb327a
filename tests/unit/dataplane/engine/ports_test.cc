// The start-up arithmetic that needs no EAL: EAL arguments from the config, queues per port,
// mempool sizing.
#include "dataplane/engine/ports.h"

#include <gtest/gtest.h>

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
