// Worker counters: one X-macro of reasons gives the enum, the exported family and label value.
// Each worker owns one cache-aligned WorkerCounters and is its only writer; the /metrics
// collector sums them at scrape time (dataplane/engine/metrics.h). Nothing on the packet path
// touches prometheus-cpp.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/engine/config.h"
#include "dataplane/extract/extractor.h"

namespace muhafiz::engine {

// X(enum, family, reason): exported as muhafiz_dataplane_<family>_total{lcore, reason}.
// Every received packet ends in exactly one "packets" reason.
#define MUHAFIZ_ENGINE_COUNTERS(X)                                                                 \
  X(kPassed, "packets", "passed")                    /* forwarded (tap: seen, nothing to do) */    \
  X(kBlocked, "packets", "blocked")                  /* a request matched an enforcing list */     \
  X(kIpBlocked, "packets", "ip_blocked")             /* destination in an enforcing ip list */     \
  X(kFlowBlocked, "packets", "flow_blocked")         /* later packet of a blocked flow */          \
  X(kNoRuleset, "packets", "fail_closed_no_ruleset") /* fail_mode closed, nothing loaded */        \
  X(kUninspectable, "packets", "fail_closed_uninspectable") /* closed: reassembly gave up */       \
  X(kNotIp, "decode", "not_ip")                             /* ARP, LLDP...: passed unlooked-at */ \
  X(kNotTcpUdp, "decode", "not_tcp_udp")                    /* IP but no TCP/UDP header to read */ \
  X(kMalformed, "decode", "malformed")                      /* a header was broken: passed */      \
  X(kInspectedDns, "inspected", "dns")                      /* observations matched, by kind */    \
  X(kInspectedTlsSni, "inspected", "tls_sni")                                                      \
  X(kInspectedQuicSni, "inspected", "quic_sni")                                                    \
  X(kInspectedHttp, "inspected", "http")                                                           \
  X(kInspectedIp, "inspected", "ip")                        /* destination lookups */              \
  X(kObservationOverflow, "inspected", "overflow")          /* past kMaxObservationsPerPacket */   \
  X(kHttpPathTruncated, "inspected", "http_path_truncated") /* matched on its first kMaxUrlPath */ \
  X(kActionDnsNxdomain, "actions", "dns_nxdomain")          /* replies built */                    \
  X(kActionDnsStopPage, "actions", "dns_stop_page")                                                \
  X(kActionHttpRedirect, "actions", "http_redirect")                                               \
  X(kActionTcpResetClient, "actions", "tcp_reset_client")                                          \
  X(kActionTcpResetServer, "actions", "tcp_reset_server")                                          \
  X(kActionSilentDrop, "actions", "silent_drop")        /* list action drop, QUIC, ip */           \
  X(kReplyUnsupported, "reply_failures", "unsupported") /* encapsulation we cannot answer in */    \
  X(kReplyBuild, "reply_failures", "build")             /* the builder refused (buffer, input) */  \
  X(kReplyNoMbuf, "reply_failures", "no_mbuf")          /* mempool empty */                        \
  X(kTapAfterBlock, "tap_races", "after_block") /* tap: a blocked flow's packet got through */     \
  X(kTapCannotDrop, "tap_races", "cannot_drop") /* tap: QUIC / ip match, counted only */           \
  X(kVerdictCacheInsert, "verdict_cache", "insert")                                                \
  X(kVerdictCacheEvict, "verdict_cache", "evict")   /* a live blocked flow pushed out */           \
  X(kVerdictCacheExpire, "verdict_cache", "expire") /* an idle one reused */                       \
  X(kPatternError, "match_errors", "pattern_scan")  /* Hyperscan failed: patterns unchecked */

enum EngineCounter : uint32_t {
#define MUHAFIZ_X(name, family, reason) name,
  MUHAFIZ_ENGINE_COUNTERS(MUHAFIZ_X)
#undef MUHAFIZ_X
  kEngineCounterCount
};
std::string_view counter_family(EngineCounter c) noexcept;
std::string_view counter_reason(EngineCounter c) noexcept;

// How a list's match was used: muhafiz_dataplane_matches_total{lcore, list, reason}.
#define MUHAFIZ_MATCH_CLASSES(X)                                                          \
  X(kMatchEnforced, "enforced")                     /* blocked (tap: replies injected) */ \
  X(kMatchShadow, "shadow")                         /* shadow list: reported only */      \
  X(kMatchUrlNotEnforceable, "url_not_enforceable") /* url entry seen by host */          \
  X(kMatchAllowed, "allowed")                       /* an allow entry exempted the name */

enum MatchClass : uint32_t {
#define MUHAFIZ_X(name, text) name,
  MUHAFIZ_MATCH_CLASSES(MUHAFIZ_X)
#undef MUHAFIZ_X
  kMatchClassCount
};
std::string_view match_class_name(MatchClass c) noexcept;

// Lists counted one by one; matches of later lists share the "other" row. Rulesets hold a
// handful of lists (one per publisher and category).
inline constexpr uint32_t kMaxCountedLists = 64;

// A single-writer counter. Relaxed load + store (no locked read-modify-write) costs what a plain
// increment does, and lets the scrape thread read it without a data race.
class Counter {
 public:
  void add(uint64_t n = 1) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void set(uint64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
  uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

struct PortCounters {
  Counter rx_packets, rx_bytes;
  Counter tx_packets, tx_bytes;
  Counter tx_dropped;  // TX ring full: freed unsent
};

// dataplane: wo (its worker), collector: ro.
struct alignas(64) WorkerCounters {
  Counter reasons[kEngineCounterCount];
  Counter list_matches[kMaxCountedLists + 1][kMatchClassCount];  // last row: "other"
  PortCounters ports[kMaxPorts];
  // Copied from the worker's Extractor on its housekeeping timer (WorkerStage::publish_stats).
  Counter extract[extract::kExtractCounterCount];
  Counter flows_created, flows_evicted, flows_expired;
  Counter verdict_cache_entries;  // gauge
  Counter ruleset_version;        // gauge: the version this worker last used, 0 = none

  void count(EngineCounter c, uint64_t n = 1) noexcept { reasons[c].add(n); }
  uint64_t get(EngineCounter c) const noexcept { return reasons[c].get(); }
  void count_match(uint32_t list, MatchClass m) noexcept {
    list_matches[list < kMaxCountedLists ? list : kMaxCountedLists][m].add();
  }
};

}  // namespace muhafiz::engine
