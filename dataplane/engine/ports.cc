#include "dataplane/engine/ports.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <string_view>

#include "dataplane/engine/log.h"

namespace muhafiz::engine {

int engine_logtype() noexcept {
  static const int type = [] {
    const int t = rte_log_register_type_and_pick_level("muhafiz.engine", RTE_LOG_INFO);
    return t >= 0 ? t : static_cast<int>(RTE_LOGTYPE_USER1);
  }();
  return type;
}

namespace {

std::string rte_error(int err) { return rte_strerror(err < 0 ? -err : err); }

}  // namespace

std::vector<std::string> eal_arguments(const EngineConfig& cfg, const std::string& argv0) {
  std::vector<std::string> args{argv0};
  args.insert(args.end(), cfg.eal_args.begin(), cfg.eal_args.end());
  bool pci = false;
  for (const std::string& dev : cfg.ports) {
    if (is_pci_address(dev)) {
      pci = true;
      args.insert(args.end(), {"-a", dev});
    } else {
      args.insert(args.end(), {"--vdev", dev});
    }
  }
  if (!pci) args.emplace_back("--no-pci");
  return args;
}

void init_eal(const std::vector<std::string>& args) {
  std::vector<std::string> copy = args;  // rte_eal_init may permute argv
  std::vector<char*> argv;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(copy.size()), argv.data()) < 0) {
    std::string line;
    for (const std::string& a : args) line += " " + a;
    throw EngineError("EAL initialisation failed (" + rte_error(rte_errno) +
                      "); arguments:" + line);
  }
}

std::vector<PortInfo> probe_ports(const EngineConfig& cfg) {
  std::vector<PortInfo> out;
  for (const std::string& dev : cfg.ports) {
    PortInfo p;
    p.name = device_name(dev);
    if (rte_eth_dev_get_port_by_name(p.name.c_str(), &p.id) != 0) {
      throw EngineError(
          "port '" + p.name + "' (from '" + dev +
          "') was not found after EAL start: check the device arguments, the PCI address and "
          "that the NIC is bound to a DPDK driver (vfio-pci)");
    }
    rte_eth_dev_info info{};
    if (const int rc = rte_eth_dev_info_get(p.id, &info); rc != 0) {
      throw EngineError("port '" + p.name + "': cannot read device info: " + rte_error(rc));
    }
    p.driver = info.driver_name != nullptr ? info.driver_name : "?";
    p.socket = std::max(0, rte_eth_dev_socket_id(p.id));
    p.max_queues = std::max<uint16_t>(1, std::min(info.max_rx_queues, info.max_tx_queues));
    p.rss = info.flow_type_rss_offloads != 0 && p.max_queues > 1;
    p.rx_queues = std::max<uint16_t>(1, info.max_rx_queues);
    out.push_back(std::move(p));
  }
  return out;
}

bool queues_are_sources(const PortInfo& port) noexcept {
  static constexpr std::string_view kDrivers[] = {"net_pcap",       "net_af_packet", "net_ring",
                                                  "net_af_xdp",     "net_memif",     "net_vhost",
                                                  "net_virtio_user"};
  return std::find(std::begin(kDrivers), std::end(kDrivers), port.driver) != std::end(kDrivers);
}

bool spreads_by_flow(const PortInfo& port) noexcept {
  return port.driver == "net_pcap" || port.driver == "net_af_packet" || port.driver == "net_ring";
}

uint16_t queues_for(const std::vector<PortInfo>& ports, uint32_t workers, QueueSpread spread) {
  uint32_t q = workers;
  for (const PortInfo& p : ports) {
    q = std::min<uint32_t>(q, p.rss || spread == QueueSpread::kDevice ? p.max_queues : 1);
  }
  return static_cast<uint16_t>(std::max<uint32_t>(q, 1));
}

std::string queue_problem(const std::vector<PortInfo>& ports, size_t read_ports, uint32_t workers,
                          QueueSpread spread, uint16_t queues) {
  auto port = [](const PortInfo& p) { return "port '" + p.name + "' (" + p.driver + ")"; };
  const std::string w = std::to_string(workers);
  for (const PortInfo& p : ports) {  // each worker sends on its own queue of every port
    if (spread == QueueSpread::kDevice && p.max_queues < workers) {
      return port(p) + " offers " + std::to_string(p.max_queues) +
             " queue pair(s), but queue_spread: device polls one per worker (workers: " + w +
             "): " +
             (p.rss ? "lower workers to " + std::to_string(p.max_queues)
                    : "give it " + w +
                          " (net_af_packet: qpairs=N; net_pcap: one rx_pcap and one tx_pcap "
                          "per worker), or lower workers");
    }
  }
  for (size_t i = 0; i < std::min(read_ports, ports.size()); ++i) {  // the ports workers read
    const PortInfo& p = ports[i];
    if (queues_are_sources(p) && !p.rss && p.rx_queues > queues) {
      return port(p) + " receives on " + std::to_string(p.rx_queues) + " queues but " +
             std::to_string(queues) + " would be polled, so packets on the others would never " +
             "be read: set " + (spread == QueueSpread::kDevice ? "" : "queue_spread: device and ") +
             "workers: " + std::to_string(p.rx_queues) + ", or give the device one queue";
    }
  }
  return "";
}

uint32_t mempool_size(const EngineConfig& cfg, size_t ports, uint16_t queues) {
  if (cfg.mbufs != 0) return cfg.mbufs;
  const uint64_t descriptors = uint64_t{ports} * queues * (cfg.rx_descriptors + cfg.tx_descriptors);
  const uint64_t per_worker = uint64_t{kBurstSize} * (1 + ports) + cfg.mbuf_cache;
  const uint64_t need = descriptors + per_worker * queues + kReplyMbufReserve;
  // A mempool is most memory-efficient at 2^n - 1 elements (rte_mempool.h).
  uint64_t n = 1;
  while (n - 1 < need) n <<= 1;
  return static_cast<uint32_t>(n - 1);
}

std::vector<uint8_t> symmetric_rss_key(size_t len) {
  std::vector<uint8_t> key(len);
  for (size_t i = 0; i < key.size(); ++i) key[i] = kSymmetricRssKeyPattern[i % 2];
  return key;
}

rte_mempool* create_mempool(const EngineConfig& cfg, size_t ports, uint16_t queues, int socket) {
  const uint32_t n = mempool_size(cfg, ports, queues);
  rte_mempool* pool = rte_pktmbuf_pool_create("muhafiz_mbufs", n, cfg.mbuf_cache, 0,
                                              RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (pool == nullptr) {
    throw EngineError(
        "cannot create the mbuf pool of " + std::to_string(n) + " mbufs: " + rte_error(rte_errno) +
        " (give EAL more memory with -m / hugepages, or lower dpdk.mbufs / descriptors)");
  }
  MUHAFIZ_ENGINE_LOG(INFO, "mbuf pool: %u mbufs of %u bytes on socket %d\n", n,
                     static_cast<unsigned>(RTE_MBUF_DEFAULT_BUF_SIZE), socket);
  return pool;
}

void start_port(PortInfo& p, uint16_t queues, const EngineConfig& cfg, rte_mempool* pool) {
  rte_eth_dev_info info{};
  rte_eth_dev_info_get(p.id, &info);
  rte_eth_conf conf{};
  std::vector<uint8_t> key =
      symmetric_rss_key(info.hash_key_size != 0 ? info.hash_key_size : kDefaultRssKeyLen);
  if (queues > 1 && p.rss) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = key.data();
    conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<uint8_t>(key.size());
    conf.rx_adv_conf.rss_conf.rss_hf =
        (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
  }
  if (const int rc = rte_eth_dev_configure(p.id, queues, queues, &conf); rc != 0) {
    throw EngineError("port '" + p.name + "': configure with " + std::to_string(queues) +
                      " queues failed: " + rte_error(rc));
  }
  uint16_t rxd = static_cast<uint16_t>(cfg.rx_descriptors);
  uint16_t txd = static_cast<uint16_t>(cfg.tx_descriptors);
  if (const int rc = rte_eth_dev_adjust_nb_rx_tx_desc(p.id, &rxd, &txd); rc != 0) {
    throw EngineError("port '" + p.name + "': descriptor counts refused: " + rte_error(rc));
  }
  for (uint16_t q = 0; q < queues; ++q) {
    if (const int rc =
            rte_eth_rx_queue_setup(p.id, q, rxd, static_cast<unsigned>(p.socket), nullptr, pool);
        rc != 0) {
      throw EngineError("port '" + p.name + "': RX queue " + std::to_string(q) +
                        " setup failed: " + rte_error(rc));
    }
    if (const int rc =
            rte_eth_tx_queue_setup(p.id, q, txd, static_cast<unsigned>(p.socket), nullptr);
        rc != 0) {
      throw EngineError("port '" + p.name + "': TX queue " + std::to_string(q) +
                        " setup failed: " + rte_error(rc));
    }
  }
  if (const int rc = rte_eth_dev_start(p.id); rc != 0) {
    throw EngineError("port '" + p.name + "': start failed: " + rte_error(rc));
  }
  // A bump in the wire forwards frames for every MAC address.
  if (const int rc = rte_eth_promiscuous_enable(p.id); rc != 0 && rc != -ENOTSUP) {
    MUHAFIZ_ENGINE_LOG(WARNING, "port %s: promiscuous mode not enabled: %s\n", p.name.c_str(),
                       rte_error(rc).c_str());
  }
  p.queues = queues;
  if (queues > 1 && p.rss) {
    MUHAFIZ_ENGINE_LOG(
        INFO,
        "port %s (%s): %u queues, RSS with a symmetric %zu-byte Toeplitz key, %u/%u descriptors\n",
        p.name.c_str(), p.driver.c_str(), queues, key.size(), rxd, txd);
  } else if (queues > 1) {
    MUHAFIZ_ENGINE_LOG(INFO,
                       "port %s (%s): %u queues, spread by the device (queue_spread: device), "
                       "%u/%u descriptors\n",
                       p.name.c_str(), p.driver.c_str(), queues, rxd, txd);
  } else {
    MUHAFIZ_ENGINE_LOG(INFO, "port %s (%s): 1 queue (%s), %u/%u descriptors\n", p.name.c_str(),
                       p.driver.c_str(), p.rss ? "one worker" : "the device has no RSS", rxd, txd);
  }
}

void close_port(const PortInfo& p) noexcept {
  if (const int rc = rte_eth_dev_stop(p.id); rc != 0) {
    MUHAFIZ_ENGINE_LOG(WARNING, "port %s: stop failed: %s\n", p.name.c_str(),
                       rte_error(rc).c_str());
  }
  if (const int rc = rte_eth_dev_close(p.id); rc != 0) {
    MUHAFIZ_ENGINE_LOG(WARNING, "port %s: close failed: %s\n", p.name.c_str(),
                       rte_error(rc).c_str());
  }
}

}  // namespace muhafiz::engine
