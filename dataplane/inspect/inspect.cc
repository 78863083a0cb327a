#include "dataplane/inspect/inspect.h"

#include <arpa/inet.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <stdexcept>

#include "dataplane/inspect/capture.h"

namespace muhafiz::inspect {
namespace {

using nlohmann::ordered_json;

std::string endpoint(const parse::IpAddress& addr, uint16_t port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.family == parse::IpFamily::kV4) {
    inet_ntop(AF_INET, addr.bytes, text, sizeof text);
    return std::string(text) + ":" + std::to_string(port);
  }
  inet_ntop(AF_INET6, addr.bytes, text, sizeof text);
  return "[" + std::string(text) + "]:" + std::to_string(port);
}

std::string dump(const ordered_json& j) {
  // Names come from the wire: bytes that are not UTF-8 are replaced, never fatal.
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

class JsonLinesSink final : public extract::ObservationSink {
 public:
  explicit JsonLinesSink(std::ostream& out) : out_(out) {}
  void on_observation(const extract::Observation& obs) noexcept override {
    try {
      out_ << observation_json(obs) << '\n';
    } catch (...) {
      failed_ = true;  // reported once by the caller; a sink must not throw into a worker
    }
  }
  bool failed() const { return failed_; }

 private:
  std::ostream& out_;
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
    kinds[std::string(extract::to_string(static_cast<extract::ObservationKind>(k)))] = st.by_kind[k];
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
  j["flows"] = {{"created", fs.created}, {"evicted", fs.evicted}, {"expired", fs.expired},
                {"buffer_exhausted", fs.buffer_exhausted}};
  out << j.dump(2, ' ', false, ordered_json::error_handler_t::replace) << '\n';
}

}  // namespace

std::string observation_json(const extract::Observation& obs) {
  ordered_json j;
  j["frame"] = obs.frame;
  j["kind"] = extract::to_string(obs.kind);
  j["host"] = obs.host;
  if (obs.kind == extract::ObservationKind::kHttp) {
    j["method"] = obs.method;
    j["uri"] = obs.uri;
  }
  if (!obs.alpn.empty()) j["alpn"] = obs.alpn;
  if (obs.kind == extract::ObservationKind::kDns) j["qtype"] = obs.qtype;
  if (obs.packet != nullptr) {
    j["src"] = endpoint(obs.packet->src, obs.packet->src_port);
    j["dst"] = endpoint(obs.packet->dst, obs.packet->dst_port);
    j["proto"] = obs.packet->l4_proto == parse::kIpProtoTcp ? "tcp" : "udp";
  }
  ordered_json flags = ordered_json::array();
  for (uint32_t f = 0; f < extract::kObservationFlagCount; ++f) {
    if ((obs.flags >> f) & 1u) {
      flags.push_back(extract::observation_flag_name(static_cast<extract::ObservationFlag>(f)));
    }
  }
  j["flags"] = flags;
  return dump(j);
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
  auto extractor = std::make_unique<extract::Extractor>(opts.extractor);
  JsonLinesSink lines(out);
  NullSink none;
  extract::ObservationSink& sink = opts.summary ? static_cast<extract::ObservationSink&>(none) : lines;

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
