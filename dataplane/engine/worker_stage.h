// The per-packet work of one worker, without DPDK: frame bytes in, a decision (forward or drop,
// and up to two reply frames) out. The mbuf glue in engine.cc is a thin loop around it, and
// the unit tests drive it with plain byte vectors.
//
//   decode -> verdict cache (a blocked flow stays blocked) -> destination ip lists
//          -> extract (DNS / TLS SNI / QUIC SNI / HTTP) -> match -> verdict -> replies
//
// Worker rules: after construction no allocation, no exception, no lock, no log line. Every
// packet is counted under exactly one "packets" reason (counters.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "dataplane/action/reply.h"
#include "dataplane/api/messages.h"
#include "dataplane/engine/config.h"
#include "dataplane/engine/counters.h"
#include "dataplane/engine/request_url.h"
#include "dataplane/engine/verdict_cache.h"
#include "dataplane/extract/extractor.h"
#include "dataplane/parse/packet.h"
#include "rules/match/matcher.h"
#include "rules/match/prefetch.h"

namespace muhafiz::engine {

inline constexpr size_t kMaxReplies =
    2;  // an answer or redirect to the client + a reset to the server
// Observations matched per packet: a DNS query asks one question (RFC 9619), a segment holds a
// few pipelined HTTP requests at most. The extractor's own cap is 64 messages per segment.
inline constexpr size_t kMaxObservationsPerPacket = 16;

enum class Forward : uint8_t { kPass, kDrop };

enum class ReplyTarget : uint8_t {
  kSender,    // back to where the offending packet came from (its client)
  kReceiver,  // on towards the packet's destination (its server)
};

struct Decision {
  struct Reply {
    parse::Bytes frame;  // in the stage's reply buffers, valid until the next process()
    ReplyTarget target = ReplyTarget::kSender;
  };
  Forward forward = Forward::kPass;  // inline only: tap mode never forwards
  EngineCounter reason = kPassed;    // the "packets" counter this packet was counted under
  uint8_t reply_count = 0;
  Reply replies[kMaxReplies];
};

// The ruleset a worker matches against during one burst (runtime::Ruleset in the engine, a
// bare rules::Matcher in tests).
class MatchSource {
 public:
  virtual ~MatchSource() = default;
  virtual rules::Verdict match(const rules::Observation& obs) noexcept = 0;
  // False when no ip entry can match `ip` (rules::Matcher::may_match_ip): asked for every
  // packet's destination before the full check.
  virtual bool may_match_ip(const rules::IpAddress& ip) noexcept = 0;
  virtual uint64_t version() const noexcept = 0;                    // ruleset version, 1 and up
  virtual uint64_t list_version(uint32_t list) const noexcept = 0;  // rules::ListMeta::version
};

// Where access events go (the worker's ring to the main lcore, which counts what it drops).
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void push(const api::AccessEvent& ev) noexcept = 0;
};

struct StageConfig {
  Mode mode = Mode::kInline;
  FailMode fail_mode = FailMode::kOpen;
  uint16_t worker = 0;
  extract::ExtractorConfig extractor;
  uint32_t verdict_cache_capacity = 16384;
  uint64_t verdict_cache_timeout_us = 300'000'000;
  action::ReplyConfig reply;  // views must outlive the stage
};
// Views in the result point into `cfg`.
StageConfig make_stage_config(const EngineConfig& cfg, uint16_t worker);

struct PacketClock {
  uint64_t mono_us = 0;  // monotonic, drives flow and verdict-cache ageing
  uint64_t unix_ns = 0;  // wall clock for access events
};

class WorkerStage {
 public:
  // Allocates every table and buffer; throws std::bad_alloc only.
  WorkerStage(const StageConfig& cfg, WorkerCounters& counters, EventSink& events);
  WorkerStage(const WorkerStage&) = delete;
  WorkerStage& operator=(const WorkerStage&) = delete;

  // One Ethernet frame. `rules` is nullptr while no ruleset is loaded (fail_mode decides).
  Decision process(parse::Bytes frame, MatchSource* rules, const PacketClock& now) noexcept;

  // The same in steps, for a burst: prefetch_frame() every frame, prepare() every frame
  // (decode; when a table will be read, the flow key and hash and a prefetch of the flow-table
  // slots and verdict-cache line; the payload lines that will be parsed), prefetch_flow() every
  // frame, then process() each in order. Only process() changes the tables (prefetch_flow()
  // reads slots and a payload's first bytes, and writes nothing), so the decisions are those of
  // processing the frames one by one; only the cache misses overlap. The frame's bytes must stay
  // valid until its process().
  struct PreparedFrame {
    parse::Bytes frame;
    parse::PacketInfo info;
    parse::ParseStatus status = parse::ParseStatus::kMalformed;
    bool hashed = false;  // a table will be read: flow.key, flow.dir and flow.hash are set
    extract::Extractor::FlowRef flow;
  };
  void prepare(parse::Bytes frame, PreparedFrame* out) const noexcept;
  // A second pass over the burst, after every frame's prepare(): fetches the flow's own lines,
  // found through the table slot prepare() fetched (extract::Extractor::prefetch_flow).
  void prefetch_flow(const PreparedFrame& f) const noexcept {
    if (f.hashed && f.status == parse::ParseStatus::kOk) extractor_.prefetch_flow(f.info, f.flow);
  }
  // Starts fetching a frame's headers: its first two cache lines, which hold Ethernet, IPv4 or
  // IPv6 and TCP or UDP unless tags, extension headers or options push them further (those
  // lines are then read in turn). Called for every frame of a burst before the first
  // prepare(), so the frames' misses overlap instead of stalling each decode in turn. Bulk
  // IPv4 traffic reads only the first line, but an IPv6 TCP header ends past it, and a decode
  // that waits for a line fetched only then costs the realistic mix more (d_mix 161 -> 190 ns)
  // than the second prefetch costs IPv4 bulk (a_udp 51 -> 53 ns). A prefetch never faults, so
  // a frame shorter than 128 bytes is fine.
  static void prefetch_frame(const uint8_t* data) noexcept {
    rules::prefetch(data);
    rules::prefetch(data + 64);
  }
  Decision process(const PreparedFrame& frame, MatchSource* rules, const PacketClock& now) noexcept;

  // Copies extractor and flow-table statistics into the counters (housekeeping timer).
  void publish_stats() noexcept;

  const extract::Extractor& extractor() const noexcept { return extractor_; }

 private:
  class Sink;
  struct Packet;
  enum class BlockKind : uint8_t { kNone, kDns, kHttp, kTls, kQuic, kOther };

  void on_observation(Packet& p, const extract::Observation& obs) noexcept;
  rules::Verdict match_name(Packet& p, const extract::Observation& obs) noexcept;
  rules::Verdict match_http(Packet& p, const extract::Observation& obs, std::string_view* host,
                            std::string_view* path) noexcept;
  void report(Packet& p, const rules::Verdict& v, api::EventKind kind, std::string_view host,
              std::string_view path, bool enforced) noexcept;
  void emit(Packet& p, api::EventKind kind, uint32_t list, uint32_t entry, rules::Action action,
            uint8_t flags, std::string_view host, std::string_view path) noexcept;
  void block(Packet& p, BlockKind kind, rules::Action action, std::string_view host) noexcept;
  bool check_ip(Packet& p, const PreparedFrame& f, const CachedFlow* cached) noexcept;
  // The frame's flow key: prepare()'s when it hashed one, else made into `scratch`; with
  // `hash`, its flow::hash_flow_key() too, taken from prepare() or computed with the key.
  static const flow::FlowKey& key_of(const PreparedFrame& f, flow::FlowKey* scratch,
                                     uint64_t* hash = nullptr) noexcept;
  bool add_reply(Packet& p, const action::ReplyResult& r, ReplyTarget target,
                 EngineCounter action) noexcept;
  uint64_t resource_failures() const noexcept;
  Decision finish(Decision d) noexcept;

  StageConfig cfg_;
  WorkerCounters& counters_;
  EventSink& events_;
  extract::Extractor extractor_;
  VerdictCache cache_;
  RequestUrlBuilder url_;
  action::ReplyConfig reply_nxdomain_;    // entry action nxdomain
  action::ReplyConfig reply_stop_page_;   // entry action redirect (when a stop page address is set)
  std::unique_ptr<uint8_t[]> reply_buf_;  // kMaxReplies * action::kMaxReplyFrameLen
  uint64_t last_ruleset_version_ = 0;
};

}  // namespace muhafiz::engine
