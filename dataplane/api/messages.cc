#include "dataplane/api/messages.h"

#include <arpa/inet.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <type_traits>

namespace muhafiz::api {

using Json = nlohmann::json;

std::string_view to_string(MessageType t) noexcept {
  switch (t) {
#define MUHAFIZ_X(name, number, text) \
  case MessageType::name:             \
    return text;
    MUHAFIZ_API_MESSAGE_TYPES(MUHAFIZ_X)
#undef MUHAFIZ_X
  }
  return "unknown";
}

std::optional<MessageType> message_type_from_string(std::string_view s) noexcept {
#define MUHAFIZ_X(name, number, text) \
  if (s == text) return MessageType::name;
  MUHAFIZ_API_MESSAGE_TYPES(MUHAFIZ_X)
#undef MUHAFIZ_X
  return std::nullopt;
}

std::string_view to_string(MetricKind k) noexcept {
  switch (k) {
    case MetricKind::kCounter:
      return "counter";
    case MetricKind::kGauge:
      return "gauge";
  }
  return "unknown";
}

std::string_view to_string(EventKind k) noexcept {
  switch (k) {
    case EventKind::kDns:
      return "dns";
    case EventKind::kTlsSni:
      return "tls_sni";
    case EventKind::kQuicSni:
      return "quic_sni";
    case EventKind::kHttp:
      return "http";
    case EventKind::kIp:
      return "ip";
  }
  return "unknown";
}

std::string_view event_flag_name(EventFlag f) noexcept {
  switch (f) {
#define MUHAFIZ_X(name, bit, text) \
  case name:                       \
    return text;
    MUHAFIZ_EVENT_FLAGS(MUHAFIZ_X)
#undef MUHAFIZ_X
  }
  return "unknown";
}

MessageType message_type(const Request& r) noexcept {
  struct V {
    MessageType operator()(const Ping&) const noexcept { return MessageType::kPing; }
    MessageType operator()(const RulesetLoad&) const noexcept { return MessageType::kRulesetLoad; }
    MessageType operator()(const Stats&) const noexcept { return MessageType::kStats; }
  };
  return std::visit(V{}, r);
}

MessageType message_type(const Reply& r) noexcept {
  struct V {
    MessageType operator()(const Pong&) const noexcept { return MessageType::kPong; }
    MessageType operator()(const RulesetLoadReply&) const noexcept {
      return MessageType::kRulesetLoadReply;
    }
    MessageType operator()(const StatsReply&) const noexcept { return MessageType::kStatsReply; }
    MessageType operator()(const ErrorReply&) const noexcept { return MessageType::kError; }
  };
  return std::visit(V{}, r);
}

namespace {

std::string clip_error(const std::string& e) {
  return e.size() <= kMaxErrorLen ? e : e.substr(0, kMaxErrorLen);
}

Json envelope(MessageType t) {
  Json j = Json::object();
  j["type"] = std::string(to_string(t));
  j["schema"] = kSchemaVersion;
  return j;
}

// Thrown inside the decoders only, turned into Decoded::error at their edge.
struct DecodeFailure {
  std::string message;
};

[[noreturn]] void fail(std::string message) { throw DecodeFailure{std::move(message)}; }

bool valid_metric_name(std::string_view n) noexcept {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Parses one JSON object, refusing duplicate keys (nlohmann keeps the last one silently) and
// nesting deeper than kMaxJsonDepth.
Json parse_object(std::string_view bytes, size_t limit) {
  if (bytes.size() > limit) {
    fail("message too large (" + std::to_string(bytes.size()) + " bytes, limit " +
         std::to_string(limit) + ")");
  }
  std::vector<std::set<std::string>> keys;  // one set per open object
  // Throwing leaves the parser at once; nlohmann lets our exception through.
  const Json::parser_callback_t check = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth > static_cast<int>(kMaxJsonDepth)) {
      fail("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    switch (event) {
      case Json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!keys.empty() && !keys.back().insert(parsed.get<std::string>()).second) {
          fail("duplicate field '" + parsed.get<std::string>() + "'");
        }
        break;
      default:
        break;
    }
    return true;
  };
  Json j;
  try {
    j = Json::parse(bytes.begin(), bytes.end(), check);
  } catch (const Json::parse_error& e) {
    fail("malformed JSON at byte " + std::to_string(e.byte));
  }
  if (!j.is_object()) fail("message is not a JSON object");
  return j;
}

const char* json_type_name(const Json& v) noexcept {
  if (v.is_number_unsigned()) return "unsigned integer";
  if (v.is_number_integer()) return "negative integer";
  return v.type_name();
}

// The fields of one message, each taken at most once; finish() refuses what nobody took.
class Fields {
 public:
  Fields(const Json& obj, std::string_view where) : obj_(obj), where_(where) {}

  // Errors after the envelope name the message type.
  void set_where(std::string_view where) { where_ = where; }

  const Json& take(const char* name) {
    const auto it = obj_.find(name);
    if (it == obj_.end()) fail(where_ + ": missing field '" + name + "'");
    taken_.insert(name);
    return *it;
  }
  std::string string(const char* name, size_t max_len) {
    const Json& v = take(name);
    if (!v.is_string())
      fail(where_ + ": field '" + name + "' must be a string, not " + json_type_name(v));
    std::string s = v.get<std::string>();
    if (s.size() > max_len) {
      fail(where_ + ": field '" + name + "' is longer than " + std::to_string(max_len) + " bytes");
    }
    return s;
  }
  uint64_t u64(const char* name) {
    const Json& v = take(name);
    if (!v.is_number_unsigned()) {
      fail(where_ + ": field '" + name + "' must be an unsigned integer, not " + json_type_name(v));
    }
    return v.get<uint64_t>();
  }
  uint32_t u32(const char* name) {
    const uint64_t v = u64(name);
    if (v > UINT32_MAX)
      fail(where_ + ": field '" + name + "' is out of range (" + std::to_string(v) + ")");
    return static_cast<uint32_t>(v);
  }
  bool boolean(const char* name) {
    const Json& v = take(name);
    if (!v.is_boolean())
      fail(where_ + ": field '" + name + "' must be a boolean, not " + json_type_name(v));
    return v.get<bool>();
  }
  const Json& array(const char* name) {
    const Json& v = take(name);
    if (!v.is_array())
      fail(where_ + ": field '" + name + "' must be an array, not " + json_type_name(v));
    return v;
  }
  const Json& object(const char* name) {
    const Json& v = take(name);
    if (!v.is_object())
      fail(where_ + ": field '" + name + "' must be an object, not " + json_type_name(v));
    return v;
  }
  void finish() const {
    for (const auto& [key, value] : obj_.items()) {
      if (!taken_.contains(key)) fail(where_ + ": unknown field '" + key + "'");
    }
  }

 private:
  const Json& obj_;
  std::string where_;
  std::set<std::string> taken_;
};

// Checks the envelope and returns the message type; the caller decodes the rest with `f`.
MessageType open_envelope(Fields& f) {
  const Json& type = f.take("type");
  if (!type.is_string())
    fail(std::string("field 'type' must be a string, not ") + json_type_name(type));
  const std::string name = type.get<std::string>();
  const auto t = message_type_from_string(name);
  if (!t) fail("unknown message type '" + name.substr(0, 64) + "'");
  f.set_where(name);
  const Json& schema = f.take("schema");
  if (!schema.is_number_unsigned()) {
    fail(name + ": field 'schema' must be an unsigned integer, not " + json_type_name(schema));
  }
  const uint64_t version = schema.get<uint64_t>();
  if (version != kSchemaVersion) {
    fail(name + ": unsupported schema version " + std::to_string(version) + " (this build speaks " +
         std::to_string(kSchemaVersion) + ")");
  }
  return *t;
}

Metric decode_metric(const Json& j, size_t index) {
  const std::string where = "stats-reply: metrics[" + std::to_string(index) + "]";
  if (!j.is_object()) fail(where + " must be an object, not " + json_type_name(j));
  Fields f(j, where);
  Metric m;
  m.name = f.string("name", 128);
  if (!valid_metric_name(m.name)) fail(where + ": bad metric name '" + m.name + "'");
  const std::string kind = f.string("kind", 16);
  if (kind == "counter") {
    m.kind = MetricKind::kCounter;
  } else if (kind == "gauge") {
    m.kind = MetricKind::kGauge;
  } else {
    fail(where + ": unknown kind '" + kind + "'");
  }
  const Json& labels = f.object("labels");
  if (labels.size() > kMaxMetricLabels)
    fail(where + ": more than " + std::to_string(kMaxMetricLabels) + " labels");
  for (const auto& [key, value] : labels.items()) {
    if (!valid_metric_name(key)) fail(where + ": bad label name '" + key + "'");
    if (!value.is_string())
      fail(where + ": label '" + key + "' must be a string, not " + json_type_name(value));
    m.labels.emplace_back(key, value.get<std::string>());
  }
  m.value = f.u64("value");
  f.finish();
  return m;
}

template <typename T, typename Fn>
Decoded<T> guarded(Fn&& fn) {
  Decoded<T> out;
  try {
    out.value = fn();
  } catch (const DecodeFailure& e) {
    out.error = e.message;
  } catch (const Json::exception& e) {
    out.error = std::string("bad JSON value: ") + e.what();
  }
  return out;
}

}  // namespace

std::string encode(const Request& r) {
  Json j = envelope(message_type(r));
  if (const auto* load = std::get_if<RulesetLoad>(&r)) j["path"] = load->path;
  return j.dump();
}

std::string encode(const Reply& r) {
  Json j = envelope(message_type(r));
  if (const auto* load = std::get_if<RulesetLoadReply>(&r)) {
    j["ok"] = load->ok;
    j["version"] = load->version;
    j["lists"] = load->lists;
    j["entries"] = load->entries;
    j["error"] = clip_error(load->error);
  } else if (const auto* stats = std::get_if<StatsReply>(&r)) {
    Json metrics = Json::array();
    for (const Metric& m : stats->metrics) {
      Json labels = Json::object();
      for (const auto& [key, value] : m.labels) labels[key] = value;
      metrics.push_back(Json{{"name", m.name},
                             {"kind", std::string(to_string(m.kind))},
                             {"labels", labels},
                             {"value", m.value}});
    }
    j["metrics"] = std::move(metrics);
  } else if (const auto* error = std::get_if<ErrorReply>(&r)) {
    j["error"] = clip_error(error->error);
  }
  // Invalid UTF-8 (a path is bytes) is replaced rather than thrown on: the reply must go out.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Decoded<Request> decode_request(std::string_view bytes) {
  return guarded<Request>([&]() -> Request {
    const Json j = parse_object(bytes, kMaxRequestBytes);
    Fields body(j, "request");
    const MessageType t = open_envelope(body);
    Request r;
    switch (t) {
      case MessageType::kPing:
        r = Ping{};
        break;
      case MessageType::kStats:
        r = Stats{};
        break;
      case MessageType::kRulesetLoad: {
        RulesetLoad load;
        load.path = body.string("path", kMaxPathLen);
        if (load.path.empty()) fail("ruleset-load: field 'path' is empty");
        if (load.path.front() != '/')
          fail("ruleset-load: field 'path' must be absolute, got '" + load.path + "'");
        if (load.path.find('\0') != std::string::npos)
          fail("ruleset-load: field 'path' contains a NUL byte");
        r = std::move(load);
        break;
      }
      default:
        fail("'" + std::string(to_string(t)) + "' is a reply, not a request");
    }
    body.finish();
    return r;
  });
}

Decoded<Reply> decode_reply(std::string_view bytes) {
  return guarded<Reply>([&]() -> Reply {
    const Json j = parse_object(bytes, kMaxReplyBytes);
    Fields body(j, "reply");
    const MessageType t = open_envelope(body);
    Reply r;
    switch (t) {
      case MessageType::kPong:
        r = Pong{};
        break;
      case MessageType::kRulesetLoadReply: {
        RulesetLoadReply load;
        load.ok = body.boolean("ok");
        load.version = body.u64("version");
        load.lists = body.u32("lists");
        load.entries = body.u32("entries");
        load.error = body.string("error", kMaxErrorLen);
        r = std::move(load);
        break;
      }
      case MessageType::kStatsReply: {
        StatsReply stats;
        const Json& metrics = body.array("metrics");
        if (metrics.size() > kMaxMetrics)
          fail("stats-reply: more than " + std::to_string(kMaxMetrics) + " metrics");
        stats.metrics.reserve(metrics.size());
        for (size_t i = 0; i < metrics.size(); ++i)
          stats.metrics.push_back(decode_metric(metrics[i], i));
        r = std::move(stats);
        break;
      }
      case MessageType::kError:
        r = ErrorReply{body.string("error", kMaxErrorLen)};
        break;
      default:
        fail("'" + std::string(to_string(t)) + "' is a request, not a reply");
    }
    body.finish();
    return r;
  });
}

std::string validate(const AccessEvent& ev) {
  if (ev.family != kFamilyV4 && ev.family != kFamilyV6)
    return "family " + std::to_string(ev.family) + " (not 4 or 6)";
  if (static_cast<uint8_t>(ev.kind) >= kEventKindCount)
    return "kind " + std::to_string(static_cast<unsigned>(ev.kind));
  if (static_cast<uint8_t>(ev.action) >= kActionCount) {
    return "action " + std::to_string(static_cast<unsigned>(ev.action));
  }
  if ((ev.flags & ~kKnownEventFlags) != 0)
    return "flags " + std::to_string(ev.flags) + " (unknown bits)";
  if (ev.name_len > kEventNameCap)
    return "name_len " + std::to_string(ev.name_len) + " (over " + std::to_string(kEventNameCap) +
           ")";
  for (const uint8_t b : ev.reserved) {
    if (b != 0) return "reserved bytes not zero";
  }
  if (ev.family == kFamilyV4) {
    for (size_t i = 4; i < 16; ++i) {
      if (ev.subscriber[i] != 0 || ev.destination[i] != 0)
        return "IPv4 address with bytes past the fourth";
    }
  }
  return {};
}

Decoded<EventBatch> decode_event_batch(std::span<const uint8_t> header_frame,
                                       std::span<const uint8_t> body_frame) {
  Decoded<EventBatch> out;
  if (header_frame.size() != sizeof(EventBatchHeader)) {
    out.error = "access-events: header frame is " + std::to_string(header_frame.size()) +
                " bytes, expected " + std::to_string(sizeof(EventBatchHeader));
    return out;
  }
  EventBatch batch;
  std::memcpy(&batch.header, header_frame.data(), sizeof batch.header);
  const EventBatchHeader& h = batch.header;
  if (h.type != static_cast<uint16_t>(MessageType::kAccessEvents)) {
    out.error = "access-events: header type " + std::to_string(h.type) + ", expected " +
                std::to_string(static_cast<uint16_t>(MessageType::kAccessEvents));
    return out;
  }
  if (h.schema != kSchemaVersion) {
    out.error = "access-events: unsupported schema version " + std::to_string(h.schema) +
                " (this build speaks " + std::to_string(kSchemaVersion) + ")";
    return out;
  }
  if (h.record_size != sizeof(AccessEvent)) {
    out.error = "access-events: record_size " + std::to_string(h.record_size) + ", expected " +
                std::to_string(sizeof(AccessEvent));
    return out;
  }
  if (h.reserved != 0) {
    out.error = "access-events: header reserved field is not zero";
    return out;
  }
  if (h.count == 0 || h.count > kMaxEventsPerBatch) {
    out.error = "access-events: count " + std::to_string(h.count) + " outside 1.." +
                std::to_string(kMaxEventsPerBatch);
    return out;
  }
  if (body_frame.size() != static_cast<size_t>(h.count) * sizeof(AccessEvent)) {
    out.error = "access-events: body frame is " + std::to_string(body_frame.size()) +
                " bytes, count " + std::to_string(h.count) + " needs " +
                std::to_string(static_cast<size_t>(h.count) * sizeof(AccessEvent));
    return out;
  }
  batch.events.resize(h.count);
  std::memcpy(batch.events.data(), body_frame.data(), body_frame.size());
  for (uint32_t i = 0; i < h.count; ++i) {
    const std::string problem = validate(batch.events[i]);
    if (!problem.empty()) {
      out.error = "access-events: record " + std::to_string(i) + ": " + problem;
      return out;
    }
  }
  out.value = std::move(batch);
  return out;
}

namespace {

std::string endpoint_text(uint8_t family, const uint8_t* addr, uint16_t port) {
  char text[INET6_ADDRSTRLEN] = {};
  const bool v6 = family == kFamilyV6;
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, addr, text, sizeof text) == nullptr) return "?";
  return v6 ? "[" + std::string(text) + "]:" + std::to_string(port)
            : std::string(text) + ":" + std::to_string(port);
}

std::string utc_text(uint64_t time_ns) {
  const auto secs = static_cast<time_t>(time_ns / 1'000'000'000);
  tm parts{};
  gmtime_r(&secs, &parts);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &parts);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%09lluZ",
                static_cast<unsigned long long>(time_ns % 1'000'000'000));
  return std::string(date) + frac;
}

}  // namespace

std::string event_to_json(const AccessEvent& ev, uint64_t sequence) {
  // In the order a reader scans a line: when, what, who, which list.
  using Ordered = nlohmann::ordered_json;
  Ordered j = Ordered::object();
  j["seq"] = sequence;
  j["time"] = utc_text(ev.time_ns);
  j["kind"] = std::string(to_string(ev.kind));
  // Names come off the wire: keep bytes JSON cannot carry as UTF-8 visible instead of failing.
  j["name"] = std::string(ev.name_view());
  j["subscriber"] = endpoint_text(ev.family, ev.subscriber, ev.subscriber_port);
  j["destination"] = endpoint_text(ev.family, ev.destination, ev.destination_port);
  j["proto"] = ev.l4_proto == 6 ? "tcp" : ev.l4_proto == 17 ? "udp" : std::to_string(ev.l4_proto);
  j["list"] = ev.list == kNoList ? Ordered(nullptr) : Ordered(ev.list);
  j["list_version"] = ev.list_version;
  j["entry"] = ev.entry == kNoList ? Ordered(nullptr) : Ordered(ev.entry);
  j["ruleset_version"] = ev.ruleset_version;
  j["action"] = std::string(rules::to_string(ev.action));
  Ordered flags = Ordered::array();
  for (unsigned bit = 0; bit < 8; ++bit) {
    const auto f = static_cast<EventFlag>(1u << bit);
    if (ev.has(f)) flags.push_back(std::string(event_flag_name(f)));
  }
  j["flags"] = std::move(flags);
  j["worker"] = ev.worker;
  return j.dump(-1, ' ', false, Ordered::error_handler_t::replace);
}

}  // namespace muhafiz::api
