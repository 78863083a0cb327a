// What the EAL engine tests (engine_pcap_test, engine_reload_test) share: the addresses their
// traffic uses, the kinds of reply they expect, and the configuration they have alike (inline
// mode, EAL on lcores 0-1 without huge pages, the stop page at the documentation addresses
// answering blocked DNS, the event and control sockets in the test's own directory). Each test
// then sets its ports and table sizes.
#pragma once

#include <arpa/inet.h>

#include <filesystem>
#include <string>

#include "dataplane/engine/config.h"

namespace muhafiz::engine::testing {

inline constexpr const char* kTestStopPageUrl = "http://stop.example/blocked";
inline constexpr const char* kResolver4 = "198.51.100.53";
inline constexpr const char* kResolver6 = "2001:db8:1::53";
inline constexpr const char* kServer4 = "198.51.100.20";
inline constexpr const char* kServer6 = "2001:db8:1::20";

// A reply the engine injects, as the tests classify what comes out of the ports.
enum class Reply : uint8_t { kDnsStopPage, kDnsNxdomain, kRedirect, kRstToClient, kRstToServer };
inline const char* name(Reply r) {
  constexpr const char* kNames[] = {"dns_stop_page", "dns_nxdomain", "redirect", "rst_to_client",
                                    "rst_to_server"};
  return kNames[static_cast<int>(r)];
}

inline EngineConfig test_engine_config(const std::string& source, const std::filesystem::path& dir,
                                       const std::string& ruleset_path) {
  EngineConfig cfg;
  cfg.source = source;
  cfg.mode = Mode::kInline;
  cfg.eal_args = {"-l", "0-1", "--no-huge",   "--no-shconf",
                  "-m", "128", "--log-level", "lib.eal:warning"};
  cfg.ruleset_path = ruleset_path;
  cfg.stop_page_ipv4_text = "192.0.2.80";
  cfg.stop_page_ipv6_text = "2001:db8::80";
  cfg.has_stop_page_ipv4 = inet_pton(AF_INET, "192.0.2.80", cfg.stop_page_ipv4.data()) == 1;
  cfg.has_stop_page_ipv6 = inet_pton(AF_INET6, "2001:db8::80", cfg.stop_page_ipv6.data()) == 1;
  cfg.stop_page_url = kTestStopPageUrl;
  cfg.dns_reply = DnsReplyMode::kStopPage;
  cfg.events_endpoint = "ipc://" + (dir / "events.sock").string();
  cfg.control_endpoint = "ipc://" + (dir / "control.sock").string();
  return cfg;
}

}  // namespace muhafiz::engine::testing
