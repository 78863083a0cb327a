// EAL start-up and port setup: the EAL argument list a config implies, the mbuf pool sized for
// it, and each port configured with one RX and one TX queue per worker, spread by RSS with a
// symmetric Toeplitz key when the device can (so both directions of a flow reach one worker), or
// by the device itself (queue_spread: device).
// Main lcore, before the workers launch; failures throw EngineError with what to fix.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "dataplane/engine/config.h"

struct rte_mempool;

namespace muhafiz::engine {

class EngineError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr uint16_t kBurstSize = 32;  // RX burst and TX buffer size (l3fwd's MAX_PKT_BURST)
// Toeplitz with the key 0x6d5a repeated hashes (a, b) and (b, a) alike (Woo and Park, "Scalable
// TCP Session Monitoring with Symmetric Receive-side Scaling", 2012).
inline constexpr uint8_t kSymmetricRssKeyPattern[2] = {0x6d, 0x5a};
inline constexpr size_t kDefaultRssKeyLen = 40;  // Microsoft RSS spec; some NICs take 52
// The RSS key for a device that takes `len` bytes: the pattern repeated.
std::vector<uint8_t> symmetric_rss_key(size_t len);
inline constexpr uint32_t kReplyMbufReserve = 1024;  // mbufs for replies in flight

// argv for rte_eal_init: argv0, eal.args, then "--vdev X" per vdev port or "-a ADDR" per PCI
// port; "--no-pci" when no port is a PCI device, so EAL does not take the host's NICs.
std::vector<std::string> eal_arguments(const EngineConfig& cfg, const std::string& argv0);

// rte_eal_init; once per process. Throws EngineError with rte_errno's text.
void init_eal(const std::vector<std::string>& args);

struct PortInfo {
  uint16_t id = 0;
  std::string name;    // device_name() of the config entry
  std::string driver;  // "net_pcap", "net_ice", ...
  int socket = 0;
  uint16_t max_queues = 1;  // RX/TX queue pairs the device offers
  bool rss = false;         // the device hashes to several queues
  uint16_t queues = 1;      // queue pairs configured (set by start_port)
  uint16_t rx_queues = 1;   // RX queues the device offers (its max_rx_queues)
};

// Drivers whose RX queues are where packets come from, set by the device arguments or the peer
// (a capture per rx_pcap, a socket per af_packet qpair or af_xdp queue, a ring per net_ring
// queue, memif/vhost/virtio-user queues the other side fills), rather than places a NIC hashes
// to only when told: a queue of theirs that no worker polls keeps its packets unread.
bool queues_are_sources(const PortInfo& port) noexcept;
// Drivers known to keep each flow on one queue of their own accord (queue_spread: device):
// net_af_packet (the kernel's fanout hash is symmetric; but see its rollover in config.h),
// net_pcap and net_ring (as their captures or their feeder split the traffic).
bool spreads_by_flow(const PortInfo& port) noexcept;

// Finds every configured port (probed by EAL from the --vdev / -a arguments) and what it can do.
std::vector<PortInfo> probe_ports(const EngineConfig& cfg);

// Queue pairs per port for `workers`: the same on every port (worker w owns queue w of each).
// QueueSpread::kRss: 1 when any port lacks RSS; kDevice: as many as every port offers.
uint16_t queues_for(const std::vector<PortInfo>& ports, uint32_t workers,
                    QueueSpread spread = QueueSpread::kRss);
// What is wrong with polling `queues` queue pairs of every port for `workers` workers, naming
// the port and the fix; "" when nothing is. Of the first `read_ports` ports (those the workers
// read: both inline, the mirror in tap mode), one whose queues are sources with more RX queues
// than that would keep packets unread; under kDevice, every port must offer one queue pair
// per worker.
std::string queue_problem(const std::vector<PortInfo>& ports, size_t read_ports, uint32_t workers,
                          QueueSpread spread, uint16_t queues);

// Mbufs the config needs: every RX and TX descriptor, each worker's bursts, TX buffers and
// mempool cache, and kReplyMbufReserve; dpdk.mbufs overrides when set.
uint32_t mempool_size(const EngineConfig& cfg, size_t ports, uint16_t queues);
rte_mempool* create_mempool(const EngineConfig& cfg, size_t ports, uint16_t queues, int socket);

// Configures `queues` queue pairs (RSS over them when queues > 1 and the port has RSS; without
// it, the device spreads the packets itself), promiscuous mode, starts it.
void start_port(PortInfo& port, uint16_t queues, const EngineConfig& cfg, rte_mempool* pool);
// Stops and closes (a pcap vdev writes its file out on close). Logs failures, never throws.
void close_port(const PortInfo& port) noexcept;

}  // namespace muhafiz::engine
