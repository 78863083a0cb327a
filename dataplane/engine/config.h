// muhafiz-dataplane configuration: a strict YAML file (unknown keys are errors naming the key
// and its line), checked as a whole before any port opens, then frozen into one flat struct
// with a default for every field. Loading may allocate and throw; workers only read the struct.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/action/reply.h"

namespace muhafiz::engine {

enum class Mode : uint8_t {
  kInline,  // bump in the wire: two ports, traffic forwarded both ways, blocked traffic not
  kTap,     // mirror port in, nothing forwarded; replies injected
};
enum class FailMode : uint8_t {
  kOpen,    // no ruleset / cannot inspect: forward
  kClosed,  // no ruleset / cannot inspect: drop
};
enum class DnsReplyMode : uint8_t {
  kNxdomain,  // RCODE 3 (RFC 1035 §4.1.1)
  kStopPage,  // NOERROR with the stop page's A / AAAA
};
enum class TapInject : uint8_t {
  kMirrorPort,  // replies leave through the mirror port itself
  kSecondPort,  // replies leave through ports[1]
};
// How a port's packets reach the workers' queues (worker w polls queue w of every port).
enum class QueueSpread : uint8_t {
  // The engine configures RSS with a symmetric key on ports that have it; a port without RSS
  // gets one queue, so one worker.
  kRss,
  // Ports without RSS spread the packets over their queues themselves, each flow (both
  // directions) to one queue: net_af_packet with qpairs=N (the kernel's PACKET_FANOUT_HASH,
  // which hashes a flow's two directions alike; DPDK 22.11 also sets the rollover flag, so a
  // full socket ring sends packets to another queue and, under overload, a flow can reach two
  // workers), net_ring ports fed by a program that does, net_pcap with one capture per queue
  // split by flow. Every port must offer a queue pair per worker. Ports with RSS still get
  // the symmetric key.
  kDevice,
};

std::string_view to_string(Mode m) noexcept;
std::string_view to_string(FailMode m) noexcept;
std::string_view to_string(DnsReplyMode m) noexcept;
std::string_view to_string(TapInject t) noexcept;
std::string_view to_string(QueueSpread q) noexcept;

inline constexpr size_t kMaxPorts = 2;       // inline: subscriber + upstream; tap: mirror + inject
inline constexpr uint32_t kMaxWorkers = 64;  // worker lcores (counters are per lcore)
inline constexpr uint32_t kMaxEalArgs = 64;
inline constexpr uint16_t kEdeCensored = 16;  // RFC 8914 §4.17: blocked by an external requirement
// Resolvers cap cached TTLs at a week (RFC 8767 §4 mentions 7 days); a stop page needs far less.
inline constexpr uint32_t kMaxDnsTtl = 604800;

// Defaults are the values in deploy/dataplane.example.yaml.
struct EngineConfig {
  std::string source = "<defaults>";  // file the values came from, for messages

  Mode mode = Mode::kInline;
  // DPDK devices: a vdev with its args ("net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap") or a
  // PCI address ("0000:03:00.0"). inline: [subscriber side, upstream side]; tap: [mirror] or
  // [mirror, inject].
  std::vector<std::string> ports;
  TapInject tap_inject = TapInject::kMirrorPort;

  std::vector<std::string> eal_args = {"--in-memory"};  // before the --vdev / -a the ports add
  uint32_t workers = 1;  // worker lcores; the EAL core list needs workers + 1 lcores
  QueueSpread queue_spread = QueueSpread::kRss;
  uint32_t rx_descriptors = 1024;
  uint32_t tx_descriptors = 1024;
  uint32_t mbufs = 0;  // 0: sized from ports, queues, descriptors and workers
  uint32_t mbuf_cache = 256;
  uint32_t tx_flush_us = 100;  // TX buffers are flushed at least this often (l3fwd uses 100 us)

  std::string ruleset_path = "/var/lib/muhafiz/ruleset.snapshot";
  FailMode fail_mode = FailMode::kOpen;

  std::string stop_page_ipv4_text;  // "" = none
  std::string stop_page_ipv6_text;
  std::array<uint8_t, 4> stop_page_ipv4{};
  std::array<uint8_t, 16> stop_page_ipv6{};
  bool has_stop_page_ipv4 = false, has_stop_page_ipv6 = false;
  std::string stop_page_url;    // HTTP 302 Location; "" = reset blocked HTTP like TLS
  bool stop_page_query = true;  // append "?blocked=<host>" to the Location

  DnsReplyMode dns_reply = DnsReplyMode::kNxdomain;
  uint16_t dns_ede_code = kEdeCensored;
  std::string dns_ede_text;  // RFC 8914 EXTRA-TEXT, UTF-8, may be empty
  uint32_t dns_ttl = 60;

  uint32_t flow_capacity = 65536;  // per worker
  uint32_t flow_buffers = 1024;    // reassembly slots per worker (17 KiB each)
  uint32_t flow_idle_timeout_s = 120;
  uint32_t verdict_cache_capacity = 16384;  // blocked flows remembered per worker
  uint32_t verdict_cache_timeout_s = 300;   // a blocked flow idle this long is forgotten

  std::string events_endpoint = "ipc:///run/muhafiz/dataplane-events.sock";
  uint32_t event_ring_size = 4096;  // per worker, a power of two
  std::string control_endpoint = "ipc:///run/muhafiz/dataplane-control.sock";
  std::string metrics_listen = "127.0.0.1:9310";  // "" = no /metrics endpoint
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads, decodes and validates. Throws ConfigError listing every problem, one per line, each
// "file:line: what is wrong" (the line of the offending key or value).
EngineConfig load_config(const std::string& path);
// The same from text (`name` stands for the file in messages).
EngineConfig parse_config(std::string_view yaml, const std::string& name);

// A problem found by validate(): the key it is about ("dns.reply", "ports") and what is wrong.
struct ConfigProblem {
  std::string key;
  std::string message;
};
// Whole-config checks across fields (parse_config runs them and reports each at the line of
// its key). Empty when the config is usable.
std::vector<ConfigProblem> validate(const EngineConfig& cfg);

// A device string is a PCI address ("0000:03:00.0" or "03:00.0") rather than a vdev.
bool is_pci_address(std::string_view device) noexcept;
// The DPDK port name of a device: the vdev name before its first ',', or the PCI address.
std::string device_name(std::string_view device);

// The reply builders' settings (dataplane/action/reply.h) for this config. Its string views
// point into `cfg`, which must outlive the result.
action::ReplyConfig make_reply_config(const EngineConfig& cfg);

// One line per field, for --check and the start-up log.
std::string describe(const EngineConfig& cfg);

}  // namespace muhafiz::engine
