// The contract between muhafiz-dataplane and the processes that talk to it (muhafiz-control,
// muhafiz-dataplane-ctl): every message ZeroMQ carries, its encoding and its schema version.
// Nothing else crosses the process boundary; a change here bumps kSchemaVersion.
//
// Two channels, both over ipc:// (same host: the byte order is the host's, little-endian):
//
// * Control: REQ (control, ctl) -> REP (the dataplane binds, e.g. ipc:///run/muhafiz/dataplane-control.sock).
//   One single-frame JSON object per message: {"type": <name>, "schema": 1, <fields>}.
//     ping                                      -> pong
//     ruleset-load {path}                       -> ruleset-load-reply {ok, version, lists, entries,
//     error} stats                                     -> stats-reply {metrics: [{name, kind,
//     labels, value}]} anything undecodable                      -> error {error}
//   Decoding is strict: malformed JSON, a duplicate key, a missing or unknown field, a field of
//   the wrong JSON type, an unknown type or another schema version is an error naming the
//   field or value; nothing is guessed or defaulted.
//
// * Access events: PUSH (the dataplane connects) -> PULL (control binds). One two-frame message
//   per batch: frame 1 is an EventBatchHeader (32 bytes), frame 2 holds `count` AccessEvent
//   records (512 bytes each) back to back, exactly as laid out below. Events are numbered in the
//   order the dataplane's main lcore takes them off the worker rings; the header carries the
//   first number of the batch, so a gap between batches is the count of events lost after
//   numbering (backlog overflow, or a batch lost with a connection), and `dropped_total` counts
//   the events lost before numbering (a worker's ring was full).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "rules/list/model.h"

namespace muhafiz::api {

static_assert(std::endian::native == std::endian::little,
              "event records are host-order structs; a big-endian port needs byte swaps");

// One version for every message and for the event record layout.
inline constexpr uint16_t kSchemaVersion = 1;

// Names are the JSON "type" values; numbers are the binary header's `type`.
#define MUHAFIZ_API_MESSAGE_TYPES(X)            \
  X(kPing, 1, "ping")                           \
  X(kPong, 2, "pong")                           \
  X(kRulesetLoad, 3, "ruleset-load")            \
  X(kRulesetLoadReply, 4, "ruleset-load-reply") \
  X(kStats, 5, "stats")                         \
  X(kStatsReply, 6, "stats-reply")              \
  X(kError, 7, "error")                         \
  X(kAccessEvents, 8, "access-events")

enum class MessageType : uint16_t {
#define MUHAFIZ_X(name, number, text) name = number,
  MUHAFIZ_API_MESSAGE_TYPES(MUHAFIZ_X)
#undef MUHAFIZ_X
};
std::string_view to_string(MessageType t) noexcept;
std::optional<MessageType> message_type_from_string(std::string_view s) noexcept;

// ---- control channel -------------------------------------------------------------------------

// A request larger than this is refused unread (the REP socket sets ZMQ_MAXMSGSIZE to it).
inline constexpr size_t kMaxRequestBytes = 64 * 1024;
// Replies are bigger (stats); the ctl client refuses anything past this.
inline constexpr size_t kMaxReplyBytes = 8 * 1024 * 1024;
inline constexpr size_t kMaxPathLen = 4095;    // Linux PATH_MAX (4096) less the NUL
inline constexpr size_t kMaxJsonDepth = 4;     // stats-reply: object > metrics > metric > labels
inline constexpr size_t kMaxMetrics = 100000;  // per stats-reply
inline constexpr size_t kMaxMetricLabels = 8;  // per metric
inline constexpr size_t kMaxErrorLen = 4096;   // error text in any reply

struct Ping {
  bool operator==(const Ping&) const = default;
};
// `path`: absolute path of a snapshot file (rules/match/snapshot_format.h) on the dataplane host.
struct RulesetLoad {
  std::string path;
  bool operator==(const RulesetLoad&) const = default;
};
struct Stats {
  bool operator==(const Stats&) const = default;
};
using Request = std::variant<Ping, RulesetLoad, Stats>;

struct Pong {
  bool operator==(const Pong&) const = default;
};
// ok: the file was validated and is live. Either way, version/lists/entries describe the
// ruleset in force after the request (so a refused file reports the one still filtering;
// version 0 means none), and error says why a file was refused (empty when ok).
struct RulesetLoadReply {
  bool ok = false;
  uint64_t version = 0;
  uint32_t lists = 0;
  uint32_t entries = 0;
  std::string error;
  bool operator==(const RulesetLoadReply&) const = default;
};

enum class MetricKind : uint8_t { kCounter, kGauge };
std::string_view to_string(MetricKind k) noexcept;

// One sample. Dimensions go in labels ({worker="0"}), never in the name.
struct Metric {
  std::string name;  // [a-z_][a-z0-9_]*
  MetricKind kind = MetricKind::kCounter;
  std::vector<std::pair<std::string, std::string>> labels;
  uint64_t value = 0;
  bool operator==(const Metric&) const = default;
};
struct StatsReply {
  std::vector<Metric> metrics;
  bool operator==(const StatsReply&) const = default;
};
struct ErrorReply {
  std::string error;
  bool operator==(const ErrorReply&) const = default;
};
using Reply = std::variant<Pong, RulesetLoadReply, StatsReply, ErrorReply>;

MessageType message_type(const Request& r) noexcept;
MessageType message_type(const Reply& r) noexcept;

// Either a value or an error naming what was wrong.
template <typename T>
struct Decoded {
  std::optional<T> value;
  std::string error;
  explicit operator bool() const noexcept { return value.has_value(); }
};

// Encoders write compact JSON, one object, no trailing newline. Error text is cut at kMaxErrorLen.
std::string encode(const Request& r);
std::string encode(const Reply& r);
// Strict decoders (see the top of this file). They allocate and may throw std::bad_alloc only.
Decoded<Request> decode_request(std::string_view bytes);
Decoded<Reply> decode_reply(std::string_view bytes);

// ---- access events ---------------------------------------------------------------------------

// What the worker saw. Numbers are the wire values.
enum class EventKind : uint8_t { kDns = 0, kTlsSni = 1, kQuicSni = 2, kHttp = 3, kIp = 4 };
inline constexpr uint8_t kEventKindCount = 5;
std::string_view to_string(EventKind k) noexcept;

// The action byte carries rules::Action; pinned here because it is on the wire.
static_assert(static_cast<uint8_t>(rules::Action::kBlock) == 0 &&
              static_cast<uint8_t>(rules::Action::kNxdomain) == 1 &&
              static_cast<uint8_t>(rules::Action::kNodata) == 2 &&
              static_cast<uint8_t>(rules::Action::kRedirect) == 3 &&
              static_cast<uint8_t>(rules::Action::kDrop) == 4 &&
              static_cast<uint8_t>(rules::Action::kAllow) == 5);
inline constexpr uint8_t kActionCount = 6;

#define MUHAFIZ_EVENT_FLAGS(X)                                                              \
  X(kEventTruncated, 0, "truncated") /* name longer than kEventNameCap: its head is kept */ \
  X(kEventAlert, 1, "alert")         /* an alert list matched: the FIA must hear of it */   \
  X(kEventShadow, 2, "shadow")       /* decided by a shadow list: reported, not enforced */ \
  X(kEventEnforced, 3, "enforced")   /* the dataplane acted on it (blocked, answered) */    \
  X(kEventUrlNotEnforceable, 4, "url_not_enforceable") /* url entry seen by host alone */

enum EventFlag : uint8_t {
#define MUHAFIZ_X(name, bit, text) name = 1u << bit,
  MUHAFIZ_EVENT_FLAGS(MUHAFIZ_X)
#undef MUHAFIZ_X
};
inline constexpr uint8_t kKnownEventFlags =
    kEventTruncated | kEventAlert | kEventShadow | kEventEnforced | kEventUrlNotEnforceable;
std::string_view event_flag_name(EventFlag f) noexcept;

inline constexpr uint32_t kNoList = UINT32_MAX;  // list / entry when no entry decided
inline constexpr uint8_t kFamilyV4 = 4, kFamilyV6 = 6;
inline constexpr size_t kAccessEventSize = 512;  // 8 cache lines; the ring element size
inline constexpr size_t kEventNameCap = 432;     // what is left of the record after the fields

// One access, as a worker saw and decided it. Fixed size, trivially copyable: it is the
// rte_ring element on the worker side and the wire record on the event channel.
// Layout (offset: field), little-endian:
//   0 time_ns  8 list_version  16 ruleset_version  24 list  28 entry  32 subscriber[16]
//   48 destination[16]  64 subscriber_port  66 destination_port  68 worker  70 name_len
//   72 family  73 l4_proto  74 kind  75 action  76 flags  77 reserved[3]  80 name[432]
struct AccessEvent {
  uint64_t time_ns = 0;          // unix epoch, nanoseconds
  uint64_t list_version = 0;     // rules::ListMeta::version of `list`
  uint64_t ruleset_version = 0;  // the dataplane's ruleset version (RulesetLoadReply::version)
  uint32_t list = kNoList;       // index of the deciding list in that ruleset
  uint32_t entry = kNoList;      // index of the entry in that list
  uint8_t subscriber[16] = {};   // the client: source of the request (IPv4 in the first 4 bytes)
  uint8_t destination[16] = {};  // where it was going (for DNS: the resolver)
  uint16_t subscriber_port = 0;
  uint16_t destination_port = 0;
  uint16_t worker = 0;         // dataplane worker id
  uint16_t name_len = 0;       // bytes used in name, <= kEventNameCap
  uint8_t family = kFamilyV4;  // kFamilyV4 or kFamilyV6
  uint8_t l4_proto = 0;        // IANA protocol number (6 TCP, 17 UDP)
  EventKind kind = EventKind::kDns;
  rules::Action action = rules::Action::kBlock;  // of the deciding entry
  uint8_t flags = 0;                             // EventFlag bits
  uint8_t reserved[3] = {};                      // zero
  char name[kEventNameCap] =
      {};  // host, or for HTTP host + path ("example.com/a/b?q"); not NUL-terminated

  bool has(EventFlag f) const noexcept { return (flags & f) != 0; }
  std::string_view name_view() const noexcept {
    return {name, name_len <= kEventNameCap ? name_len : kEventNameCap};
  }
};
static_assert(sizeof(AccessEvent) == kAccessEventSize &&
              std::is_trivially_copyable_v<AccessEvent> && std::is_standard_layout_v<AccessEvent>);
static_assert(offsetof(AccessEvent, time_ns) == 0 && offsetof(AccessEvent, list_version) == 8 &&
              offsetof(AccessEvent, ruleset_version) == 16 && offsetof(AccessEvent, list) == 24 &&
              offsetof(AccessEvent, entry) == 28 && offsetof(AccessEvent, subscriber) == 32 &&
              offsetof(AccessEvent, destination) == 48 &&
              offsetof(AccessEvent, subscriber_port) == 64 &&
              offsetof(AccessEvent, destination_port) == 66 &&
              offsetof(AccessEvent, worker) == 68 && offsetof(AccessEvent, name_len) == 70 &&
              offsetof(AccessEvent, family) == 72 && offsetof(AccessEvent, l4_proto) == 73 &&
              offsetof(AccessEvent, kind) == 74 && offsetof(AccessEvent, action) == 75 &&
              offsetof(AccessEvent, flags) == 76 && offsetof(AccessEvent, name) == 80);

// Writes host, then path (HTTP), into ev->name; past kEventNameCap the tail is cut and
// kEventTruncated set. Worker-safe: no allocation.
inline void set_event_name(AccessEvent* ev, std::string_view host,
                           std::string_view path = {}) noexcept {
  const size_t host_len = host.size() < kEventNameCap ? host.size() : kEventNameCap;
  const size_t room = kEventNameCap - host_len;
  const size_t path_len = path.size() < room ? path.size() : room;
  // Guarded: an empty string_view may carry a null data(), which memcpy must not see.
  if (host_len > 0) std::memcpy(ev->name, host.data(), host_len);
  if (path_len > 0) std::memcpy(ev->name + host_len, path.data(), path_len);
  ev->name_len = static_cast<uint16_t>(host_len + path_len);
  if (host.size() + path.size() > kEventNameCap) {
    ev->flags = static_cast<uint8_t>(ev->flags | kEventTruncated);
  } else {
    ev->flags = static_cast<uint8_t>(ev->flags & ~kEventTruncated);
  }
}

// Checks the fields a receiver must trust: family, kind, action, flags, name_len, reserved.
// Returns an empty string when valid, else the first field at fault.
std::string validate(const AccessEvent& ev);

inline constexpr uint32_t kMaxEventsPerBatch = 256;  // 128 KiB second frame

// Frame 1 of an access-events message.
struct EventBatchHeader {
  uint16_t type = static_cast<uint16_t>(MessageType::kAccessEvents);
  uint16_t schema = kSchemaVersion;
  uint32_t count = 0;                          // records in frame 2, 1..kMaxEventsPerBatch
  uint32_t record_size = sizeof(AccessEvent);  // receivers check it equals theirs
  uint32_t reserved = 0;                       // zero
  uint64_t first_sequence = 0;                 // number of the batch's first event (from 0)
  uint64_t dropped_total = 0;                  // events lost before numbering, since start
};
static_assert(sizeof(EventBatchHeader) == 32 && std::is_trivially_copyable_v<EventBatchHeader>);
static_assert(offsetof(EventBatchHeader, count) == 4 &&
              offsetof(EventBatchHeader, record_size) == 8 &&
              offsetof(EventBatchHeader, first_sequence) == 16 &&
              offsetof(EventBatchHeader, dropped_total) == 24);

struct EventBatch {
  EventBatchHeader header;
  std::vector<AccessEvent> events;  // copied out of frame 2 (its alignment is not guaranteed)
};

// One event as a JSON object (no newline), for people and scripts reading the channel:
// {"seq":7,"time":"2026-11-29T08:41:02.123456789Z","kind":"dns","name":"bad.example",
//  "subscriber":"10.0.0.2:53211","destination":"192.0.2.53:53","proto":"udp","list":1,
//  "list_version":3,"entry":4,"ruleset_version":2,"action":"block","flags":["enforced"],
//  "worker":0}. IPv6 endpoints are "[addr]:port"; list and entry are null when kNoList.
std::string event_to_json(const AccessEvent& ev, uint64_t sequence);

// Strict: header size, type, schema, record size, reserved, count against frame 2's size,
// then validate() on every record (the error names the record's index).
Decoded<EventBatch> decode_event_batch(std::span<const uint8_t> header_frame,
                                       std::span<const uint8_t> body_frame);

}  // namespace muhafiz::api
