// observation_json writes its line field by field; these tests hold it to the bytes of the
// ordered_json object it replaced, built here the way inspect.cc built it, over every kind and
// over names and URIs with the bytes a hostile capture can carry.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "dataplane/inspect/inspect.h"

namespace muhafiz::inspect {
namespace {

using nlohmann::ordered_json;

std::string reference_endpoint(const parse::IpAddress& a, uint16_t port) {
  char text[64] = {};
  if (a.family == parse::IpFamily::kV4) {
    std::snprintf(text, sizeof text, "%u.%u.%u.%u", a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]);
    return std::string(text) + ":" + std::to_string(port);
  }
  // Only the one IPv6 address below is used: 2001:db8::7.
  return "[2001:db8::7]:" + std::to_string(port);
}

std::string reference_json(const extract::Observation& obs, const std::string& verdict) {
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
    j["src"] = reference_endpoint(obs.packet->src, obs.packet->src_port);
    j["dst"] = reference_endpoint(obs.packet->dst, obs.packet->dst_port);
    j["proto"] = obs.packet->l4_proto == parse::kIpProtoTcp ? "tcp" : "udp";
  }
  ordered_json flags = ordered_json::array();
  for (uint32_t f = 0; f < extract::kObservationFlagCount; ++f) {
    if ((obs.flags >> f) & 1u)
      flags.push_back(extract::observation_flag_name(static_cast<extract::ObservationFlag>(f)));
  }
  j["flags"] = flags;
  if (!verdict.empty()) j["verdict"] = ordered_json::parse(verdict);
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

parse::PacketInfo v4_packet(uint8_t proto) {
  parse::PacketInfo p;
  p.family = parse::IpFamily::kV4;
  p.l4_proto = proto;
  p.src.family = p.dst.family = parse::IpFamily::kV4;
  const uint8_t src[] = {10, 0, 0, 2}, dst[] = {203, 0, 113, 80};
  std::copy(std::begin(src), std::end(src), p.src.bytes);
  std::copy(std::begin(dst), std::end(dst), p.dst.bytes);
  p.src_port = 5353;
  p.dst_port = 53;
  return p;
}

parse::PacketInfo v6_packet() {
  parse::PacketInfo p = v4_packet(parse::kIpProtoTcp);
  p.family = p.src.family = p.dst.family = parse::IpFamily::kV6;
  const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
  std::copy(std::begin(a), std::end(a), p.src.bytes);
  std::copy(std::begin(a), std::end(a), p.dst.bytes);
  p.src_port = 443;
  p.dst_port = 65535;
  return p;
}

TEST(ObservationJson, SameBytesAsTheObjectDumpForEveryKindAndHostileText) {
  const parse::PacketInfo udp = v4_packet(parse::kIpProtoUdp), tcp = v4_packet(parse::kIpProtoTcp),
                          v6 = v6_packet();
  const std::vector<std::string> texts = {
      "",
      "example.com",
      "a\"b",                     // quote
      "a\\b",                     // backslash
      std::string("nul\0in", 6),  // NUL
      "tab\there\nnewline\x1f",   // control bytes
      "del\x7f",                  // DEL: not escaped, but not plain ASCII here
      "caf\xc3\xa9.example",      // valid UTF-8
      "bad\xff\xfe utf8 \xc3",    // invalid and cut UTF-8: replaced
      "/a/b.jpg?x=1&y=\"2\"#frag",
      "\xe2\x80\xa8 line separator",
  };
  const std::vector<std::string> verdicts = {
      "", R"({"matched":false})", R"({"matched":true,"list":"pta-csam","entry":"e\"1"})"};
  size_t checked = 0;
  for (const auto kind : {extract::ObservationKind::kDns, extract::ObservationKind::kTlsSni,
                          extract::ObservationKind::kQuicSni, extract::ObservationKind::kHttp}) {
    for (const std::string& text : texts) {
      for (const parse::PacketInfo* pkt :
           {&udp, &tcp, &v6, static_cast<const parse::PacketInfo*>(nullptr)}) {
        for (const std::string& verdict : verdicts) {
          // Kept in variables: an Observation holds views.
          const std::string method = checked % 2 ? "GET" : text;
          const std::string alpn = checked % 3 ? "" : text.empty() ? "h2" : text;
          extract::Observation obs;
          obs.kind = kind;
          obs.host = text;
          obs.uri = text;
          obs.method = method;
          obs.alpn = alpn;
          obs.qtype = static_cast<uint16_t>(checked * 257);
          obs.flags = static_cast<uint32_t>(checked * 0x9e3779b9u);
          obs.packet = pkt;
          obs.frame = checked * 1'000'003;
          EXPECT_EQ(observation_json(obs, verdict), reference_json(obs, verdict))
              << "kind " << extract::to_string(obs.kind) << " text "
              << ordered_json(text).dump(-1, ' ', true, ordered_json::error_handler_t::replace);
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 4u * texts.size() * 4u * verdicts.size());
}

TEST(ObservationJson, RandomBytesInNamesMatchTheObjectDump) {
  std::mt19937 rng(11);
  const parse::PacketInfo tcp = v4_packet(parse::kIpProtoTcp);
  for (int i = 0; i < 5000; ++i) {
    std::string host(rng() % 40, '\0'), uri(rng() % 80, '\0');
    // Mostly printable, sometimes any byte: both the copy path and the escaping path.
    for (char& c : host) c = static_cast<char>(rng() % 8 ? 0x20 + rng() % 95 : rng() % 256);
    for (char& c : uri) c = static_cast<char>(rng() % 8 ? 0x20 + rng() % 95 : rng() % 256);
    extract::Observation obs;
    obs.kind = extract::ObservationKind::kHttp;
    obs.host = host;
    obs.uri = uri;
    obs.method = "POST";
    obs.packet = &tcp;
    obs.frame = static_cast<uint64_t>(i);
    ASSERT_EQ(observation_json(obs, {}), reference_json(obs, {})) << "case " << i;
  }
}

}  // namespace
}  // namespace muhafiz::inspect
