// The process contract (dataplane/api/messages.h): every message survives encode -> decode,
// and every way a message can be wrong is refused with an error naming the field or value.
#include "dataplane/api/messages.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace muhafiz::api {
namespace {

// ---- round trips -------------------------------------------------------------------------------

TEST(MessagesRoundTrip, EveryRequest) {
  const std::vector<Request> requests = {Ping{}, Stats{},
                                         RulesetLoad{"/var/lib/muhafiz/ruleset.snap"},
                                         RulesetLoad{"/path with spaces/\xc3\xa9t\xc3\xa9.snap"}};
  for (const Request& r : requests) {
    const std::string bytes = encode(r);
    const Decoded<Request> back = decode_request(bytes);
    ASSERT_TRUE(back) << bytes << ": " << back.error;
    EXPECT_EQ(*back.value, r) << bytes;
    EXPECT_EQ(message_type(*back.value), message_type(r));
  }
}

TEST(MessagesRoundTrip, EveryReply) {
  StatsReply stats;
  stats.metrics.push_back(Metric{"ruleset_loaded", MetricKind::kGauge, {}, 1});
  stats.metrics.push_back(
      Metric{"events_dropped_ring_full", MetricKind::kCounter, {{"worker", "3"}}, UINT64_MAX});
  stats.metrics.push_back(
      Metric{"ruleset_loads", MetricKind::kCounter, {{"result", "ok"}, {"zone", "a"}}, 0});
  const std::vector<Reply> replies = {
      Pong{},
      RulesetLoadReply{true, 7, 2, 10, ""},
      RulesetLoadReply{false, 0, 0, 0, "snapshot /x: bad magic"},
      RulesetLoadReply{false, UINT64_MAX, UINT32_MAX, UINT32_MAX, "busy"},
      stats,
      StatsReply{},
      ErrorReply{"unknown message type 'frob'"},
  };
  for (const Reply& r : replies) {
    const std::string bytes = encode(r);
    const Decoded<Reply> back = decode_reply(bytes);
    ASSERT_TRUE(back) << bytes << ": " << back.error;
    EXPECT_EQ(*back.value, r) << bytes;
  }
}

TEST(MessagesRoundTrip, WireFormIsTheDocumentedOne) {
  EXPECT_EQ(encode(Request{Ping{}}), R"({"schema":1,"type":"ping"})");
  EXPECT_EQ(encode(Request{RulesetLoad{"/a"}}),
            R"({"path":"/a","schema":1,"type":"ruleset-load"})");
  EXPECT_EQ(
      encode(Reply{RulesetLoadReply{true, 3, 1, 2, ""}}),
      R"({"entries":2,"error":"","lists":1,"ok":true,"schema":1,"type":"ruleset-load-reply","version":3})");
  // Another producer may order fields differently: order does not matter.
  EXPECT_TRUE(decode_request(R"({"type":"ruleset-load","path":"/a","schema":1})"));
}

TEST(MessagesRoundTrip, ErrorTextIsCappedWhenEncoded) {
  const std::string long_error(kMaxErrorLen + 100, 'e');
  const Decoded<Reply> back = decode_reply(encode(Reply{ErrorReply{long_error}}));
  ASSERT_TRUE(back) << back.error;
  EXPECT_EQ(std::get<ErrorReply>(*back.value).error.size(), kMaxErrorLen);
}

TEST(MessagesRoundTrip, MessageTypeNames) {
#define MUHAFIZ_X(name, number, text)                           \
  EXPECT_EQ(to_string(MessageType::name), text);                \
  EXPECT_EQ(message_type_from_string(text), MessageType::name); \
  EXPECT_EQ(static_cast<uint16_t>(MessageType::name), number);
  MUHAFIZ_API_MESSAGE_TYPES(MUHAFIZ_X)
#undef MUHAFIZ_X
  EXPECT_FALSE(message_type_from_string("Ping"));
  EXPECT_FALSE(message_type_from_string(""));
}

// ---- strict decoding: requests -----------------------------------------------------------------

struct BadMessage {
  const char* description;
  std::string bytes;
  const char* error;  // a substring the error must contain
};

TEST(MessagesStrict, RequestErrorsNameTheProblem) {
  const std::string too_long_path = "/" + std::string(kMaxPathLen, 'a');
  const BadMessage cases[] = {
      {"empty message", "", "malformed JSON at byte"},
      {"not JSON", "ping", "malformed JSON at byte"},
      {"trailing garbage", R"({"type":"ping","schema":1} x)", "malformed JSON at byte"},
      {"invalid UTF-8 in a string", "{\"type\":\"ping\",\"schema\":1,\"x\":\"\xff\"}",
       "malformed JSON"},
      {"an array", R"([{"type":"ping","schema":1}])", "not a JSON object"},
      {"a string", R"("ping")", "not a JSON object"},
      {"no type", R"({"schema":1})", "missing field 'type'"},
      {"type not a string", R"({"type":1,"schema":1})",
       "field 'type' must be a string, not unsigned integer"},
      {"unknown type", R"({"type":"frobnicate","schema":1})", "unknown message type 'frobnicate'"},
      {"type in the wrong case", R"({"type":"PING","schema":1})", "unknown message type 'PING'"},
      {"no schema", R"({"type":"ping"})", "ping: missing field 'schema'"},
      {"schema as a string", R"({"type":"ping","schema":"1"})",
       "ping: field 'schema' must be an unsigned integer, not string"},
      {"negative schema", R"({"type":"ping","schema":-1})", "not negative integer"},
      {"fractional schema", R"({"type":"ping","schema":1.0})", "not number"},
      {"another schema version", R"({"type":"ping","schema":2})",
       "unsupported schema version 2 (this build speaks 1)"},
      {"unknown field on ping", R"({"type":"ping","schema":1,"verbose":true})",
       "ping: unknown field 'verbose'"},
      {"unknown field on stats", R"({"type":"stats","schema":1,"worker":0})",
       "stats: unknown field 'worker'"},
      {"duplicate key", R"({"type":"ping","type":"stats","schema":1})", "duplicate field 'type'"},
      {"too deep", R"({"type":"ping","schema":1,"x":{"a":{"b":{"c":{"d":1}}}}})",
       "nested deeper than 4"},
      {"a reply sent as a request", R"({"type":"pong","schema":1})",
       "'pong' is a reply, not a request"},
      {"access-events over the control socket", R"({"type":"access-events","schema":1})",
       "is a reply, not a request"},
      {"ruleset-load without path", R"({"type":"ruleset-load","schema":1})",
       "ruleset-load: missing field 'path'"},
      {"path as a number", R"({"type":"ruleset-load","schema":1,"path":5})",
       "field 'path' must be a string, not unsigned integer"},
      {"path null", R"({"type":"ruleset-load","schema":1,"path":null})",
       "field 'path' must be a string, not null"},
      {"empty path", R"({"type":"ruleset-load","schema":1,"path":""})", "field 'path' is empty"},
      {"relative path", R"({"type":"ruleset-load","schema":1,"path":"rules/x.snap"})",
       "must be absolute"},
      {"NUL in the path", R"({"type":"ruleset-load","schema":1,"path":"/a\u0000b"})",
       "contains a NUL byte"},
      {"path too long", R"({"type":"ruleset-load","schema":1,"path":")" + too_long_path + R"("})",
       "field 'path' is longer than 4095 bytes"},
      {"extra field on ruleset-load",
       R"({"type":"ruleset-load","schema":1,"path":"/a","force":true})",
       "ruleset-load: unknown field 'force'"},
      {"over the size limit",
       R"({"type":"ping","schema":1,"pad":")" + std::string(kMaxRequestBytes, ' ') + R"("})",
       "message too large"},
  };
  for (const BadMessage& c : cases) {
    const Decoded<Request> d = decode_request(c.bytes);
    EXPECT_FALSE(d) << c.description;
    EXPECT_NE(d.error.find(c.error), std::string::npos)
        << c.description << ": got '" << d.error << "'";
  }
}

TEST(MessagesStrict, LimitsAreInclusive) {
  const std::string longest = "/" + std::string(kMaxPathLen - 1, 'a');
  const Decoded<Request> d = decode_request(encode(Request{RulesetLoad{longest}}));
  ASSERT_TRUE(d) << d.error;
  EXPECT_EQ(std::get<RulesetLoad>(*d.value).path.size(), kMaxPathLen);
  // Depth 4 (stats-reply's labels) is allowed, depth 5 is not: see RequestErrorsNameTheProblem.
  EXPECT_TRUE(decode_reply(
      R"({"type":"stats-reply","schema":1,"metrics":[{"name":"a","kind":"gauge","labels":{"w":"1"},"value":1}]})"));
}

// ---- strict decoding: replies ------------------------------------------------------------------

TEST(MessagesStrict, ReplyErrorsNameTheProblem) {
  const std::string load_ok = R"("type":"ruleset-load-reply","schema":1)";
  const auto metric = [](const std::string& body) {
    return R"({"type":"stats-reply","schema":1,"metrics":[)" + body + "]}";
  };
  const BadMessage cases[] = {
      {"a request sent as a reply", R"({"type":"ping","schema":1})",
       "'ping' is a request, not a reply"},
      {"unknown field on pong", R"({"type":"pong","schema":1,"x":1})", "pong: unknown field 'x'"},
      {"load reply without ok", "{" + load_ok + R"(,"version":1,"lists":1,"entries":1,"error":""})",
       "missing field 'ok'"},
      {"load reply without version",
       "{" + load_ok + R"(,"ok":true,"lists":1,"entries":1,"error":""})",
       "missing field 'version'"},
      {"load reply without lists",
       "{" + load_ok + R"(,"ok":true,"version":1,"entries":1,"error":""})",
       "missing field 'lists'"},
      {"load reply without entries",
       "{" + load_ok + R"(,"ok":true,"version":1,"lists":1,"error":""})",
       "missing field 'entries'"},
      {"load reply without error",
       "{" + load_ok + R"(,"ok":true,"version":1,"lists":1,"entries":1})", "missing field 'error'"},
      {"ok as a string",
       "{" + load_ok + R"(,"ok":"true","version":1,"lists":1,"entries":1,"error":""})",
       "field 'ok' must be a boolean, not string"},
      {"lists over 32 bits",
       "{" + load_ok + R"(,"ok":true,"version":1,"lists":4294967296,"entries":1,"error":""})",
       "field 'lists' is out of range"},
      {"version negative",
       "{" + load_ok + R"(,"ok":true,"version":-1,"lists":1,"entries":1,"error":""})",
       "field 'version' must be an unsigned integer"},
      {"version past 64 bits",
       "{" + load_ok +
           R"(,"ok":true,"version":18446744073709551616,"lists":1,"entries":1,"error":""})",
       "field 'version' must be an unsigned integer, not number"},
      {"metrics not an array", R"({"type":"stats-reply","schema":1,"metrics":{}})",
       "field 'metrics' must be an array"},
      {"metric not an object", metric("1"), "metrics[0] must be an object"},
      {"metric with a bad name",
       metric(R"({"name":"Bad-Name","kind":"gauge","labels":{},"value":1})"),
       "bad metric name 'Bad-Name'"},
      {"metric name starting with a digit",
       metric(R"({"name":"1x","kind":"gauge","labels":{},"value":1})"), "bad metric name"},
      {"metric with an unknown kind",
       metric(R"({"name":"a","kind":"histogram","labels":{},"value":1})"),
       "unknown kind 'histogram'"},
      {"metric without value", metric(R"({"name":"a","kind":"gauge","labels":{}})"),
       "metrics[0]: missing field 'value'"},
      {"metric without labels", metric(R"({"name":"a","kind":"gauge","value":1})"),
       "missing field 'labels'"},
      {"metric with an extra field",
       metric(R"({"name":"a","kind":"gauge","labels":{},"value":1,"help":"x"})"),
       "metrics[0]: unknown field 'help'"},
      {"label value not a string",
       metric(R"({"name":"a","kind":"gauge","labels":{"worker":0},"value":1})"),
       "label 'worker' must be a string"},
      {"bad label name", metric(R"({"name":"a","kind":"gauge","labels":{"Worker":"0"},"value":1})"),
       "bad label name 'Worker'"},
      {"too many labels",
       metric(
           R"({"name":"a","kind":"gauge","labels":{"a":"","b":"","c":"","d":"","e":"","f":"","g":"","h":"","i":""},"value":1})"),
       "more than 8 labels"},
      {"second metric wrong",
       metric(R"({"name":"a","kind":"gauge","labels":{},"value":1},{"name":"b"})"), "metrics[1]"},
      {"error reply without error", R"({"type":"error","schema":1})",
       "error: missing field 'error'"},
      {"error too long",
       R"({"type":"error","schema":1,"error":")" + std::string(kMaxErrorLen + 1, 'x') + R"("})",
       "field 'error' is longer than"},
      {"duplicate key inside a metric",
       metric(R"({"name":"a","name":"b","kind":"gauge","labels":{},"value":1})"),
       "duplicate field 'name'"},
  };
  for (const BadMessage& c : cases) {
    const Decoded<Reply> d = decode_reply(c.bytes);
    EXPECT_FALSE(d) << c.description;
    EXPECT_NE(d.error.find(c.error), std::string::npos)
        << c.description << ": got '" << d.error << "'";
  }
}

// ---- access events -----------------------------------------------------------------------------

AccessEvent sample_event(uint16_t worker, const char* host) {
  AccessEvent ev;
  ev.time_ns = 1700000000123456789ull;
  ev.list_version = 42;
  ev.ruleset_version = 3;
  ev.list = 1;
  ev.entry = 7;
  ev.subscriber[0] = 10, ev.subscriber[3] = 9;
  ev.destination[0] = 192, ev.destination[1] = 0, ev.destination[2] = 2, ev.destination[3] = 1;
  ev.subscriber_port = 51515;
  ev.destination_port = 443;
  ev.worker = worker;
  ev.family = kFamilyV4;
  ev.l4_proto = 6;
  ev.kind = EventKind::kTlsSni;
  ev.action = rules::Action::kBlock;
  ev.flags = kEventAlert | kEventEnforced;
  set_event_name(&ev, host);
  return ev;
}

std::vector<uint8_t> header_bytes(const EventBatchHeader& h) {
  std::vector<uint8_t> b(sizeof h);
  std::memcpy(b.data(), &h, sizeof h);
  return b;
}

std::vector<uint8_t> body_bytes(const std::vector<AccessEvent>& evs) {
  std::vector<uint8_t> b(evs.size() * sizeof(AccessEvent));
  std::memcpy(b.data(), evs.data(), b.size());
  return b;
}

TEST(AccessEventName, FitsTruncatesAndResetsTheFlag) {
  AccessEvent ev;
  set_event_name(&ev, "example.com", "/a/b?q=1");
  EXPECT_EQ(ev.name_view(), "example.com/a/b?q=1");
  EXPECT_FALSE(ev.has(kEventTruncated));

  const std::string host(100, 'h');
  const std::string exact_path(kEventNameCap - host.size(), 'p');
  set_event_name(&ev, host, exact_path);  // exactly at the cap: nothing lost
  EXPECT_EQ(ev.name_len, kEventNameCap);
  EXPECT_FALSE(ev.has(kEventTruncated));

  set_event_name(&ev, host, exact_path + "X");  // one byte over: the tail goes
  EXPECT_EQ(ev.name_len, kEventNameCap);
  EXPECT_TRUE(ev.has(kEventTruncated));
  EXPECT_EQ(ev.name_view(), host + exact_path);

  const std::string huge_host(kEventNameCap + 50, 'x');
  set_event_name(&ev, huge_host, "/never-seen");  // the host alone overflows
  EXPECT_EQ(ev.name_view(), huge_host.substr(0, kEventNameCap));
  EXPECT_TRUE(ev.has(kEventTruncated));

  ev.flags |= kEventAlert;
  set_event_name(&ev, "short.example");  // a reused record loses the stale flag, keeps the others
  EXPECT_FALSE(ev.has(kEventTruncated));
  EXPECT_TRUE(ev.has(kEventAlert));
  EXPECT_EQ(validate(ev), "");
}

TEST(AccessEventBatch, RoundTrip) {
  std::vector<AccessEvent> evs = {sample_event(0, "a.example"), sample_event(1, "b.example")};
  evs[1].family = kFamilyV6;
  evs[1].subscriber[15] = 1;
  evs[1].kind = EventKind::kHttp;
  set_event_name(&evs[1], "b.example", "/x");
  EventBatchHeader h;
  h.count = 2;
  h.first_sequence = 1000;
  h.dropped_total = 5;
  const auto d = decode_event_batch(header_bytes(h), body_bytes(evs));
  ASSERT_TRUE(d) << d.error;
  EXPECT_EQ(d.value->header.first_sequence, 1000u);
  EXPECT_EQ(d.value->header.dropped_total, 5u);
  ASSERT_EQ(d.value->events.size(), 2u);
  EXPECT_EQ(std::memcmp(d.value->events.data(), evs.data(), sizeof(AccessEvent) * 2), 0);
  EXPECT_EQ(d.value->events[1].name_view(), "b.example/x");
  EXPECT_EQ(d.value->events[0].worker, 0);
  EXPECT_EQ(d.value->events[1].worker, 1);
}

TEST(AccessEventBatch, HeaderErrors) {
  const std::vector<AccessEvent> one = {sample_event(0, "a.example")};
  const auto body = body_bytes(one);
  struct Case {
    const char* description;
    void (*mutate)(EventBatchHeader*);
    const char* error;
  };
  const Case cases[] = {
      {"wrong type",
       [](EventBatchHeader* h) { h->type = static_cast<uint16_t>(MessageType::kPing); },
       "header type 1"},
      {"other schema", [](EventBatchHeader* h) { h->schema = 2; }, "unsupported schema version 2"},
      {"other record size", [](EventBatchHeader* h) { h->record_size = 256; },
       "record_size 256, expected 512"},
      {"reserved set", [](EventBatchHeader* h) { h->reserved = 1; }, "reserved field is not zero"},
      {"zero count", [](EventBatchHeader* h) { h->count = 0; }, "count 0 outside 1..256"},
      {"count over the cap", [](EventBatchHeader* h) { h->count = kMaxEventsPerBatch + 1; },
       "count 257 outside"},
      {"count larger than the body", [](EventBatchHeader* h) { h->count = 2; },
       "body frame is 512 bytes, count 2 needs 1024"},
  };
  for (const Case& c : cases) {
    EventBatchHeader h;
    h.count = 1;
    c.mutate(&h);
    const auto d = decode_event_batch(header_bytes(h), body);
    EXPECT_FALSE(d) << c.description;
    EXPECT_NE(d.error.find(c.error), std::string::npos)
        << c.description << ": got '" << d.error << "'";
  }
  EventBatchHeader h;
  h.count = 1;
  auto hb = header_bytes(h);
  hb.pop_back();
  EXPECT_NE(decode_event_batch(hb, body).error.find("header frame is 31 bytes, expected 32"),
            std::string::npos);
  auto short_body = body;
  short_body.pop_back();
  EXPECT_NE(decode_event_batch(header_bytes(h), short_body).error.find("body frame is 511 bytes"),
            std::string::npos);
}

TEST(AccessEventBatch, RecordErrorsNameTheRecord) {
  struct Case {
    const char* description;
    void (*mutate)(AccessEvent*);
    const char* error;
  };
  const Case cases[] = {
      {"family 0", [](AccessEvent* e) { e->family = 0; }, "family 0 (not 4 or 6)"},
      {"family 5", [](AccessEvent* e) { e->family = 5; }, "family 5"},
      {"kind past the last",
       [](AccessEvent* e) { e->kind = static_cast<EventKind>(kEventKindCount); }, "kind 5"},
      {"action past the last",
       [](AccessEvent* e) { e->action = static_cast<rules::Action>(kActionCount); }, "action 6"},
      {"unknown flag bit", [](AccessEvent* e) { e->flags = 0x80; }, "flags 128 (unknown bits)"},
      {"name_len over the cap", [](AccessEvent* e) { e->name_len = kEventNameCap + 1; },
       "name_len 433 (over 432)"},
      {"reserved byte", [](AccessEvent* e) { e->reserved[2] = 1; }, "reserved bytes not zero"},
      {"IPv4 with high bytes", [](AccessEvent* e) { e->destination[4] = 1; },
       "IPv4 address with bytes past the fourth"},
  };
  for (const Case& c : cases) {
    std::vector<AccessEvent> evs = {sample_event(0, "a.example"), sample_event(0, "b.example"),
                                    sample_event(0, "c.example")};
    c.mutate(&evs[2]);
    EventBatchHeader h;
    h.count = 3;
    const auto d = decode_event_batch(header_bytes(h), body_bytes(evs));
    EXPECT_FALSE(d) << c.description;
    EXPECT_NE(d.error.find("record 2: "), std::string::npos)
        << c.description << ": got '" << d.error << "'";
    EXPECT_NE(d.error.find(c.error), std::string::npos)
        << c.description << ": got '" << d.error << "'";
  }
  // Every defined value of each enumerated field is accepted.
  for (uint8_t k = 0; k < kEventKindCount; ++k) {
    AccessEvent e = sample_event(0, "x");
    e.kind = static_cast<EventKind>(k);
    EXPECT_EQ(validate(e), "") << int{k};
  }
  for (uint8_t a = 0; a < kActionCount; ++a) {
    AccessEvent e = sample_event(0, "x");
    e.action = static_cast<rules::Action>(a);
    EXPECT_EQ(validate(e), "") << int{a};
  }
  AccessEvent all_flags = sample_event(0, "x");
  all_flags.flags = kKnownEventFlags;
  EXPECT_EQ(validate(all_flags), "");
}

TEST(AccessEventBatch, FlagNames) {
#define MUHAFIZ_X(name, bit, text) EXPECT_EQ(event_flag_name(name), text);
  MUHAFIZ_EVENT_FLAGS(MUHAFIZ_X)
#undef MUHAFIZ_X
  EXPECT_EQ(to_string(EventKind::kQuicSni), "quic_sni");
}

}  // namespace
}  // namespace muhafiz::api
