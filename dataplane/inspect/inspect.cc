#include "dataplane/inspect/inspect.h"

#include <arpa/inet.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <stdexcept>

#include "dataplane/extract/rules_kind.h"
#include "dataplane/inspect/capture.h"
#include "rules/list/canon.h"
#include "rules/match/matcher.h"

namespace muhafiz::inspect {
namespace {

using nlohmann::ordered_json;

// "a.b.c.d:port" or "[v6]:port", appended.
void append_endpoint(std::string& out, const parse::IpAddress& addr, uint16_t port) {
  char text[INET6_ADDRSTRLEN] = {};
  const bool v4 = addr.family == parse::IpFamily::kV4;
  inet_ntop(v4 ? AF_INET : AF_INET6, addr.bytes, text, sizeof text);
  if (!v4) out += '[';
  out += text;
  out += v4 ? ":" : "]:";
  out += std::to_string(port);
}

std::string dump(const ordered_json& j) {
  // Names come from the wire: bytes that are not UTF-8 are replaced, never fatal.
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

rules::IpAddress rules_address(const parse::IpAddress& a) {
  rules::IpAddress out;
  out.family = a.family == parse::IpFamily::kV4 ? rules::IpFamily::kV4 : rules::IpFamily::kV6;
  std::copy(std::begin(a.bytes), std::end(a.bytes), out.bytes.begin());
  return out;
}

ordered_json verdict_object(const rules::Matcher& m, const rules::Verdict& v) {
  const rules::ListInfo list = m.list(v.list);
  const rules::EntryInfo entry = m.entry(v.list, v.entry);
  ordered_json j;
  j["matched"] = true;
  j["enforce"] = v.enforce();
  j["action"] = rules::to_string(v.action);
  j["list"] = list.id;
  j["list_version"] = list.version;
  j["entry"] = entry.id;
  j["entry_kind"] = rules::to_string(entry.kind);
  j["value"] = entry.value;
  j["alert"] = v.alert;
  j["shadow"] = v.shadow;
  j["url_not_enforceable"] = v.url_not_enforceable;
  return j;
}

// Looks the observation up in the ruleset: the name (HTTP: host and canonical path), and
// when the name matches nothing, the destination address.
std::string verdict_for(const rules::Matcher& m, rules::MatchScratch& scratch,
                        const extract::Observation& obs) {
  rules::Observation q;
  q.kind = extract::to_rules_kind(obs.kind);
  q.host = obs.host;
  std::string path;
  if (obs.kind == extract::ObservationKind::kHttp) {
    std::string error;
    if (auto url = rules::canonical_request(obs.host, obs.uri, &error)) {
      path = url->path;
      if (url->has_query) path += "?" + url->query;
    }
    q.path = path;
  }
  rules::Verdict v = m.match(q, scratch);
  if (!v.matched && obs.packet != nullptr) {
    rules::Observation ip;
    ip.kind = rules::ObservationKind::kIp;
    ip.ip = rules_address(obs.packet->dst);
    v = m.match(ip, scratch);
  }
  if (!v.matched) return dump(ordered_json{{"matched", false}});
  return dump(verdict_object(m, v));
}

class JsonLinesSink final : public extract::ObservationSink {
 public:
  JsonLinesSink(std::ostream& out, const rules::Matcher* matcher) : out_(out), matcher_(matcher) {
    if (matcher_ != nullptr) scratch_ = matcher_->make_scratch();
  }
  void on_observation(const extract::Observation& obs) noexcept override {
    try {
      const std::string verdict =
          matcher_ != nullptr ? verdict_for(*matcher_, scratch_, obs) : std::string();
      out_ << observation_json(obs, verdict) << '\n';
    } catch (...) {
      failed_ = true;  // reported once by the caller; a sink must not throw into a worker
    }
  }
  bool failed() const { return failed_; }

 private:
  std::ostream& out_;
  const rules::Matcher* matcher_;
  rules::MatchScratch scratch_;
  bool failed_ = false;
};

class NullSink final : public extract::ObservationSink {
 public:
  void on_observation(const extract::Observation&) noexcept override {}
};

void print_summary(std::ostream& out, const std::string& capture, uint64_t frames, uint32_t link,
                   bool truncated, const extract::Extractor& ex) {
  const extract::ExtractStats& st = ex.stats();
  ordered_json j;
  j["capture"] = capture;
  j["frames"] = frames;
  j["link_type"] = link;
  j["truncated"] = truncated;
  ordered_json kinds = ordered_json::object();
  for (size_t k = 0; k < extract::kObservationKindCount; ++k) {
    kinds[std::string(extract::to_string(static_cast<extract::ObservationKind>(k)))] =
        st.by_kind[k];
  }
  j["observations"] = kinds;
  ordered_json flags = ordered_json::object();
  for (uint32_t f = 0; f < extract::kObservationFlagCount; ++f) {
    if (st.observation_flags[f] != 0) {
      flags[std::string(extract::observation_flag_name(static_cast<extract::ObservationFlag>(f)))] =
          st.observation_flags[f];
    }
  }
  j["observation_flags"] = flags;
  ordered_json anomalies = ordered_json::object();
  for (uint32_t a = 0; a < parse::kPacketAnomalyCount; ++a) {
    if (st.packet_anomalies[a] != 0) {
      anomalies[std::string(parse::packet_anomaly_name(static_cast<parse::PacketAnomaly>(a)))] =
          st.packet_anomalies[a];
    }
  }
  j["packet_anomalies"] = anomalies;
  ordered_json counters = ordered_json::object();
  for (uint32_t c = 0; c < extract::kExtractCounterCount; ++c) {
    counters[std::string(extract::extract_counter_name(static_cast<extract::ExtractCounter>(c)))] =
        st.counters[c];
  }
  j["counters"] = counters;
  const flow::FlowTableStats& fs = ex.flows().stats();
  j["flows"] = {{"created", fs.created},
                {"evicted", fs.evicted},
                {"expired", fs.expired},
                {"buffer_exhausted", fs.buffer_exhausted}};
  out << j.dump(2, ' ', false, ordered_json::error_handler_t::replace) << '\n';
}

// A JSON string, appended. Names and URIs come from the wire: the common case, printable ASCII
// without '"' or '\\', is copied as it is (every JSON serializer writes those bytes unchanged);
// anything else goes through nlohmann's serializer, which escapes it and replaces bytes that
// are not UTF-8.
void append_json_string(std::string& out, std::string_view s) {
  const bool plain = std::all_of(
      s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'; });
  if (plain) {
    out += '"';
    out += s;
    out += '"';
  } else {
    out += dump(ordered_json(s));
  }
}

}  // namespace

// Written field by field rather than built as an ordered_json and dumped: one line per
// observation is much of what muhafiz-inspect does on a capture with many names (an object per
// line cost it about a quarter of its time on the merged corpus). The bytes are those of the object
// dump (inspect_json_test holds the two to the same output): keys in this order, no spaces.
std::string observation_json(const extract::Observation& obs, const std::string& verdict_json) {
  std::string out;
  out.reserve(192 + obs.host.size() + obs.uri.size() + verdict_json.size());
  out += "{\"frame\":";
  out += std::to_string(obs.frame);
  out += ",\"kind\":";
  append_json_string(out, extract::to_string(obs.kind));
  out += ",\"host\":";
  append_json_string(out, obs.host);
  if (obs.kind == extract::ObservationKind::kHttp) {
    out += ",\"method\":";
    append_json_string(out, obs.method);
    out += ",\"uri\":";
    append_json_string(out, obs.uri);
  }
  if (!obs.alpn.empty()) {
    out += ",\"alpn\":";
    append_json_string(out, obs.alpn);
  }
  if (obs.kind == extract::ObservationKind::kDns) {
    out += ",\"qtype\":";
    out += std::to_string(obs.qtype);
  }
  if (obs.packet != nullptr) {
    out += ",\"src\":\"";
    append_endpoint(out, obs.packet->src, obs.packet->src_port);
    out += "\",\"dst\":\"";
    append_endpoint(out, obs.packet->dst, obs.packet->dst_port);
    out += obs.packet->l4_proto == parse::kIpProtoTcp ? "\",\"proto\":\"tcp\""
                                                      : "\",\"proto\":\"udp\"";
  }
  out += ",\"flags\":[";
  bool first = true;
  for (uint32_t f = 0; f < extract::kObservationFlagCount; ++f) {
    if ((obs.flags >> f) & 1u) {
      if (!first) out += ',';
      first = false;
      append_json_string(out,
                         extract::observation_flag_name(static_cast<extract::ObservationFlag>(f)));
    }
  }
  out += ']';
  if (!verdict_json.empty()) {  // already one JSON object (verdict_for)
    out += ",\"verdict\":";
    out += verdict_json;
  }
  out += '}';
  return out;
}

int run_inspect(const InspectOptions& opts, std::ostream& out, std::ostream& err) {
  std::unique_ptr<CaptureReader> reader;
  try {
    reader = std::make_unique<CaptureReader>(opts.capture);
  } catch (const std::exception& e) {
    err << "muhafiz-inspect: " << e.what() << '\n';
    return kExitUnreadable;
  }
  const uint32_t link = reader->link_type();
  if (!parse::link_type_supported(link)) {
    err << "muhafiz-inspect: " << opts.capture << ": link type " << link
        << " is not supported (supported: Ethernet, raw IP, BSD loopback, Linux cooked v1/v2, PPP, "
           "Cisco HDLC); no frame was inspected\n";
  }
  std::unique_ptr<const rules::Matcher> matcher;
  if (!opts.ruleset.empty()) {
    try {
      matcher = rules::Matcher::load(opts.ruleset);
    } catch (const std::exception& e) {
      err << "muhafiz-inspect: cannot use ruleset " << opts.ruleset << ": " << e.what() << '\n';
      return kExitUnreadable;
    }
  }
  auto extractor = std::make_unique<extract::Extractor>(opts.extractor);
  JsonLinesSink lines(out, matcher.get());
  NullSink none;
  extract::ObservationSink& sink =
      opts.summary ? static_cast<extract::ObservationSink&>(none) : lines;

  CaptureRecord rec;
  uint64_t frames = 0;
  bool truncated = false;
  for (;;) {
    const ReadResult r = reader->next(&rec);
    if (r == ReadResult::kEnd) break;
    if (r == ReadResult::kTruncated) {
      truncated = true;
      err << "muhafiz-inspect: " << opts.capture << " is truncated after frame " << frames << ": "
          << reader->error() << '\n';
      break;
    }
    frames = rec.frame;
    extractor->process(static_cast<parse::LinkType>(link), rec.data, rec.frame, rec.time_us, sink);
  }
  if (opts.summary) print_summary(out, opts.capture, frames, link, truncated, *extractor);
  out.flush();
  if (lines.failed() || !out) {
    err << "muhafiz-inspect: writing the output failed\n";
    return kExitUnreadable;
  }
  return truncated ? kExitTruncated : kExitOk;
}

}  // namespace muhafiz::inspect
