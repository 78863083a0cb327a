// Strict config decoding: every problem reported with its key and line, all at once; defaults
// for every field; the example file in deploy/ is valid.
#include "dataplane/engine/config.h"

#include <gtest/gtest.h>

#include <string>

namespace muhafiz::engine {
namespace {

constexpr const char* kMinimal = R"(mode: inline
ports:
  - "net_pcap0,rx_pcap=a.pcap,tx_pcap=b.pcap"
  - "net_pcap1,rx_pcap=c.pcap,tx_pcap=d.pcap"
)";

// The ConfigError text for `yaml`, or "" when it loads.
std::string problems(const std::string& yaml) {
  try {
    parse_config(yaml, "t.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, MinimalFileTakesEveryDefault) {
  const EngineConfig c = parse_config(kMinimal, "t.yaml");
  const EngineConfig d;
  EXPECT_EQ(c.mode, Mode::kInline);
  EXPECT_EQ(c.ports.size(), 2u);
  EXPECT_EQ(c.workers, d.workers);
  EXPECT_EQ(c.queue_spread, QueueSpread::kRss);
  EXPECT_EQ(c.tx_flush_us, 100u);
  EXPECT_EQ(c.fail_mode, FailMode::kOpen);
  EXPECT_EQ(c.dns_reply, DnsReplyMode::kNxdomain);
  EXPECT_EQ(c.dns_ede_code, kEdeCensored);
  EXPECT_EQ(c.metrics_listen, "127.0.0.1:9310");
  EXPECT_EQ(c.ruleset_path, d.ruleset_path);
  EXPECT_EQ(c.source, "t.yaml");
}

TEST(Config, EveryKeyIsRead) {
  const EngineConfig c = parse_config(R"(mode: tap
ports: ["0000:03:00.0", "net_ring0"]
tap: {inject: second_port}
eal: {args: ["-l", "0-2"]}
workers: 2
queue_spread: device
dpdk: {rx_descriptors: 512, tx_descriptors: 256, mbufs: 8191, mbuf_cache: 128, tx_flush_us: 50}
ruleset: /tmp/r.snapshot
fail_mode: closed
stop_page: {ipv4: 192.0.2.80, ipv6: "2001:db8::80", url: "http://stop.example/x", query: false}
dns: {reply: stop_page, ede_code: 17, ede_text: "blocked by order", ttl: 30}
flows: {capacity: 4096, buffers: 64, idle_timeout_s: 30}
verdict_cache: {capacity: 1024, timeout_s: 60}
events: {endpoint: "ipc:///tmp/e", ring_size: 256}
control: {endpoint: "ipc:///tmp/c"}
metrics: {listen: ""}
)",
                                      "t.yaml");
  EXPECT_EQ(c.mode, Mode::kTap);
  EXPECT_EQ(c.tap_inject, TapInject::kSecondPort);
  EXPECT_EQ(c.eal_args, (std::vector<std::string>{"-l", "0-2"}));
  EXPECT_EQ(c.workers, 2u);
  EXPECT_EQ(c.queue_spread, QueueSpread::kDevice);
  EXPECT_EQ(c.rx_descriptors, 512u);
  EXPECT_EQ(c.tx_descriptors, 256u);
  EXPECT_EQ(c.mbufs, 8191u);
  EXPECT_EQ(c.mbuf_cache, 128u);
  EXPECT_EQ(c.tx_flush_us, 50u);
  EXPECT_EQ(c.ruleset_path, "/tmp/r.snapshot");
  EXPECT_EQ(c.fail_mode, FailMode::kClosed);
  EXPECT_TRUE(c.has_stop_page_ipv4);
  EXPECT_EQ(c.stop_page_ipv4[3], 80);
  EXPECT_TRUE(c.has_stop_page_ipv6);
  EXPECT_EQ(c.stop_page_ipv6[15], 0x80);
  EXPECT_EQ(c.stop_page_url, "http://stop.example/x");
  EXPECT_FALSE(c.stop_page_query);
  EXPECT_EQ(c.dns_reply, DnsReplyMode::kStopPage);
  EXPECT_EQ(c.dns_ede_code, 17);
  EXPECT_EQ(c.dns_ede_text, "blocked by order");
  EXPECT_EQ(c.dns_ttl, 30u);
  EXPECT_EQ(c.flow_capacity, 4096u);
  EXPECT_EQ(c.flow_buffers, 64u);
  EXPECT_EQ(c.flow_idle_timeout_s, 30u);
  EXPECT_EQ(c.verdict_cache_capacity, 1024u);
  EXPECT_EQ(c.verdict_cache_timeout_s, 60u);
  EXPECT_EQ(c.events_endpoint, "ipc:///tmp/e");
  EXPECT_EQ(c.event_ring_size, 256u);
  EXPECT_EQ(c.control_endpoint, "ipc:///tmp/c");
  EXPECT_EQ(c.metrics_listen, "");
  const action::ReplyConfig r = make_reply_config(c);
  EXPECT_EQ(r.placement, action::Placement::kTap);
  EXPECT_EQ(r.dns_answer, action::DnsBlockAnswer::kStopPage);
  EXPECT_EQ(r.ede_code, action::EdeCode::kFiltered);
  EXPECT_EQ(r.stop_page_v4.family, parse::IpFamily::kV4);
  EXPECT_EQ(r.ede_extra_text, "blocked by order");
}

struct BadCase {
  const char* description;
  std::string yaml;
  const char* expected;  // a line of the error text
};

TEST(Config, ProblemsNameTheKeyAndTheLine) {
  const std::string m = kMinimal;
  const BadCase cases[] = {
      {"unknown top-level key", m + "colour: red\n", "t.yaml:5: unknown key 'colour'"},
      {"unknown nested key", m + "dns:\n  reply: nxdomain\n  colour: red\n",
       "t.yaml:7: unknown key 'dns.colour'"},
      {"duplicate key", m + "workers: 1\nworkers: 2\n", "t.yaml:6: key 'workers' given twice"},
      {"wrong enum", "mode: bridge\n" + m.substr(m.find('\n') + 1),
       "t.yaml:1: 'mode' must be one of: inline, tap"},
      {"wrong queue spread", m + "queue_spread: fanout\n",
       "t.yaml:5: 'queue_spread' must be one of: rss, device"},
      {"number out of range", m + "workers: 0\n",
       "t.yaml:5: 'workers' must be a whole number from 1 to 64"},
      {"negative number", m + "dpdk: {tx_flush_us: -5}\n",
       "t.yaml:5: 'dpdk.tx_flush_us' must be a whole number"},
      {"not a number", m + "flows: {capacity: lots}\n", "'flows.capacity' must be a whole number"},
      {"section not a mapping", m + "dns: nxdomain\n", "t.yaml:5: 'dns' must be a mapping"},
      {"list not a list", "mode: tap\nports: net_null0\n",
       "t.yaml:2: 'ports' must be a list of strings"},
      {"bool not a bool", m + "stop_page: {query: yes}\n",
       "'stop_page.query' must be true or false"},
      {"inline needs two ports", "ports: [net_null0]\n", "t.yaml:1: inline mode needs two ports"},
      {"same device twice", "ports: [\"net_null0\", \"net_null0,size=64\"]\n",
       "names device 'net_null0' twice"},
      {"second port without inject", "mode: tap\nports: [net_null0, net_null1]\n",
       "t.yaml:2: the second port is unused"},
      {"inject port missing", "mode: tap\nports: [net_null0]\ntap: {inject: second_port}\n",
       "t.yaml:3: tap.inject: second_port needs a second port"},
      {"devices in eal args", m + "eal: {args: [\"--vdev\", \"net_null0\"]}\n",
       "eal.args must not name devices"},
      {"in-memory without hugepages", m + "eal: {args: [--no-huge, --in-memory]}\n",
       "t.yaml:5: eal.args: DPDK 22.11 refuses"},
      {"stop page answer without address", m + "dns: {reply: stop_page}\n",
       "t.yaml:5: dns.reply: stop_page needs stop_page.ipv4 or stop_page.ipv6"},
      {"bad stop page address", m + "stop_page: {ipv4: 300.1.1.1}\n",
       "stop_page.ipv4 '300.1.1.1' is not an IPv4 address"},
      {"bad url", m + "stop_page: {url: \"ftp://x/\"}\n",
       "t.yaml:5: stop_page.url: stop_page_url must start with http://"},
      {"bad ede code", m + "dns: {ede_code: 3}\n",
       "dns.ede_code: ede_code must be 15 (blocked), 16 (censored) or 17"},
      {"ring not a power of two", m + "events: {ring_size: 1000}\n",
       "events.ring_size must be a power of two"},
      {"bad endpoint", m + "control: {endpoint: /tmp/sock}\n",
       "control.endpoint must be a ZeroMQ endpoint"},
      {"bad listen", m + "metrics: {listen: \"localhost\"}\n", "metrics.listen must be host:port"},
      {"yaml syntax", m + "dns: {reply: [\n", "YAML syntax error"},
      {"not a mapping", "- a\n- b\n", "the file must be a mapping of keys"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.description);
    EXPECT_NE(problems(c.yaml).find(c.expected), std::string::npos) << problems(c.yaml);
  }
}

TEST(Config, EveryProblemIsListedInLineOrder) {
  const std::string text =
      problems("mode: tap\nports: [net_null0]\nworkers: 99\ncolour: red\nmetrics: {listen: x}\n");
  const size_t a = text.find("t.yaml:3:");
  const size_t b = text.find("t.yaml:4:");
  ASSERT_NE(a, std::string::npos) << text;
  ASSERT_NE(b, std::string::npos) << text;
  EXPECT_LT(a, b);
  // Cross-field checks wait until every field decodes: a typo is not buried under follow-ups.
  EXPECT_EQ(text.find("metrics.listen"), std::string::npos) << text;
  EXPECT_NE(problems("mode: tap\nports: [net_null0]\nmetrics: {listen: x}\n")
                .find("t.yaml:3: metrics.listen"),
            std::string::npos);
}

TEST(Config, DevicesArePciAddressesOrVdevs) {
  EXPECT_TRUE(is_pci_address("0000:03:00.0"));
  EXPECT_TRUE(is_pci_address("03:00.1"));
  EXPECT_TRUE(is_pci_address("0000:af:1f.7"));
  EXPECT_FALSE(is_pci_address("net_pcap0,rx_pcap=a.pcap"));
  EXPECT_FALSE(is_pci_address("0000:03:00.8"));
  EXPECT_FALSE(is_pci_address("03:00"));
  EXPECT_FALSE(is_pci_address("x0000:03:00.0"));
  EXPECT_EQ(device_name("net_pcap0,rx_pcap=a.pcap,tx_pcap=b.pcap"), "net_pcap0");
  EXPECT_EQ(device_name("03:00.1"), "0000:03:00.1");
  EXPECT_EQ(device_name("0000:03:00.1"), "0000:03:00.1");
}

TEST(Config, TheExampleFileIsValid) {
  const EngineConfig c = load_config(MUHAFIZ_EXAMPLE_CONFIG);
  EXPECT_EQ(c.mode, Mode::kInline);
  EXPECT_EQ(c.ports.size(), 2u);
  // The example shows every default.
  const EngineConfig d;
  EXPECT_EQ(c.tx_flush_us, d.tx_flush_us);
  EXPECT_EQ(c.flow_capacity, d.flow_capacity);
  EXPECT_EQ(c.verdict_cache_capacity, d.verdict_cache_capacity);
  EXPECT_EQ(c.events_endpoint, d.events_endpoint);
  EXPECT_EQ(c.control_endpoint, d.control_endpoint);
  EXPECT_EQ(c.metrics_listen, d.metrics_listen);
  EXPECT_EQ(c.ruleset_path, d.ruleset_path);
  EXPECT_EQ(c.dns_ttl, d.dns_ttl);
  EXPECT_FALSE(describe(c).empty());
}

TEST(Config, AMissingFileSaysSo) {
  try {
    load_config("/nonexistent/dataplane.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dataplane.yaml: cannot open"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace muhafiz::engine
