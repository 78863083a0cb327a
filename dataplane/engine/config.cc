#include "dataplane/engine/config.h"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>
#include <utility>

namespace muhafiz::engine {
namespace {

constexpr uint32_t kMinDescriptors = 64;
constexpr uint32_t kMaxDescriptors = 32768;
constexpr uint32_t kMaxMbufCache = 512;  // RTE_MEMPOOL_CACHE_MAX_SIZE in DPDK 22.11
constexpr uint32_t kMaxMbufs = 1u << 24;
constexpr uint32_t kMaxTxFlushUs = 10000;
constexpr uint32_t kMinFlowCapacity = 1024;
constexpr uint32_t kMaxFlowCapacity = 1u << 24;
constexpr uint32_t kMaxFlowBuffers = 1u << 20;
constexpr uint32_t kMinVerdictCache = 256;
constexpr uint32_t kMaxVerdictCache = 1u << 22;
constexpr uint32_t kMinEventRing = 64;
constexpr uint32_t kMaxEventRing = 1u << 20;

bool is_power_of_two(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Strict decoding: every problem is collected with the line of the key or value at fault, so
// one run of --check lists them all.
class Decoder {
 public:
  explicit Decoder(std::string file) : file_(std::move(file)) {}

  struct Field {
    std::string_view key;
    std::function<void(const YAML::Node& value, const std::string& path)> read;
  };

  // `node` must be a mapping whose keys are all among `fields`, each at most once.
  void mapping(const YAML::Node& node, const std::string& where,
               std::initializer_list<Field> fields) {
    if (node.IsNull()) return;  // an empty section keeps the defaults
    if (!node.IsMap()) {
      error(node, where.empty() ? "the file must be a mapping of keys"
                                : "'" + where + "' must be a mapping");
      return;
    }
    std::set<std::string> seen;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {
        error(kv.first, "a key must be a plain word");
        continue;
      }
      const std::string key = kv.first.Scalar();
      const std::string path = where.empty() ? key : where + "." + key;
      lines_.emplace(path, kv.first.Mark().line + 1);
      if (!seen.insert(key).second) {
        error(kv.first, "key '" + path + "' given twice");
        continue;
      }
      const auto it =
          std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.key == key; });
      if (it == fields.end()) {
        std::string known;
        for (const Field& f : fields) known += (known.empty() ? "" : ", ") + std::string(f.key);
        error(kv.first, "unknown key '" + path + "' (known here: " + known + ")");
        continue;
      }
      it->read(kv.second, path);
    }
  }

  void text(const YAML::Node& v, const std::string& path, std::string* out) {
    if (!v.IsScalar()) {
      error(v, "'" + path + "' must be a string");
      return;
    }
    *out = v.Scalar();
  }

  template <typename T>
  void number(const YAML::Node& v, const std::string& path, uint64_t min, uint64_t max, T* out) {
    const std::string s = v.IsScalar() ? v.Scalar() : std::string();
    uint64_t n = 0;
    bool ok = v.IsScalar() && !s.empty() && s.size() <= 19;
    for (char c : s) ok = ok && c >= '0' && c <= '9';
    if (ok) n = std::stoull(s);
    if (!ok || n < min || n > max) {
      error(v, "'" + path + "' must be a whole number from " + std::to_string(min) + " to " +
                   std::to_string(max));
      return;
    }
    *out = static_cast<T>(n);
  }

  void flag(const YAML::Node& v, const std::string& path, bool* out) {
    if (v.IsScalar() && (v.Scalar() == "true" || v.Scalar() == "false")) {
      *out = v.Scalar() == "true";
      return;
    }
    error(v, "'" + path + "' must be true or false");
  }

  template <typename E>
  void choice(const YAML::Node& v, const std::string& path,
              std::initializer_list<std::pair<std::string_view, E>> options, E* out) {
    std::string names;
    for (const auto& [name, value] : options) {
      if (v.IsScalar() && v.Scalar() == name) {
        *out = value;
        return;
      }
      names += (names.empty() ? "" : ", ") + std::string(name);
    }
    error(v, "'" + path + "' must be one of: " + names);
  }

  void strings(const YAML::Node& v, const std::string& path, size_t max,
               std::vector<std::string>* out) {
    if (!v.IsSequence()) {
      error(v, "'" + path + "' must be a list of strings");
      return;
    }
    if (v.size() > max) {
      error(v, "'" + path + "' has " + std::to_string(v.size()) + " items, at most " +
                   std::to_string(max));
      return;
    }
    out->clear();
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].IsScalar()) {
        error(v[i], "'" + path + "[" + std::to_string(i) + "]' must be a string");
        continue;
      }
      out->push_back(v[i].Scalar());
    }
  }

  void error(const YAML::Node& at, const std::string& message) {
    const int line = at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
    add(line, message);
  }
  void add(int line, const std::string& message) {
    problems_.emplace_back(line,
                           file_ + (line > 0 ? ":" + std::to_string(line) : "") + ": " + message);
  }
  // Line of a key seen while decoding (0 when the key was not in the file).
  int line_of(const std::string& key) const {
    const auto it = lines_.find(key);
    return it == lines_.end() ? 0 : it->second;
  }

  void throw_if_problems() {
    if (problems_.empty()) return;
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string all;
    for (const auto& p : problems_) all += (all.empty() ? "" : "\n") + p.second;
    throw ConfigError(all);
  }

 private:
  std::string file_;
  std::vector<std::pair<int, std::string>> problems_;
  std::map<std::string, int> lines_;
};

EngineConfig decode(const YAML::Node& root, const std::string& name) {
  EngineConfig c;
  c.source = name;
  Decoder d(name);
  using F = Decoder::Field;
  using N = const YAML::Node&;
  using P = const std::string&;
  d.mapping(
      root, "",
      {
          F{"mode",
            [&](N v, P p) {
              d.choice(v, p, {{"inline", Mode::kInline}, {"tap", Mode::kTap}}, &c.mode);
            }},
          F{"ports", [&](N v, P p) { d.strings(v, p, kMaxPorts, &c.ports); }},
          F{"tap",
            [&](N v, P p) {
              d.mapping(v, p, {F{"inject", [&](N x, P q) {
                                   d.choice(x, q,
                                            {{"mirror_port", TapInject::kMirrorPort},
                                             {"second_port", TapInject::kSecondPort}},
                                            &c.tap_inject);
                                 }}});
            }},
          F{"eal",
            [&](N v, P p) {
              d.mapping(v, p,
                        {F{"args", [&](N x, P q) { d.strings(x, q, kMaxEalArgs, &c.eal_args); }}});
            }},
          F{"workers", [&](N v, P p) { d.number(v, p, 1, kMaxWorkers, &c.workers); }},
          F{"queue_spread",
            [&](N v, P p) {
              d.choice(v, p, {{"rss", QueueSpread::kRss}, {"device", QueueSpread::kDevice}},
                       &c.queue_spread);
            }},
          F{"dpdk",
            [&](N v, P p) {
              d.mapping(v, p,
                        {F{"rx_descriptors",
                           [&](N x, P q) {
                             d.number(x, q, kMinDescriptors, kMaxDescriptors, &c.rx_descriptors);
                           }},
                         F{"tx_descriptors",
                           [&](N x, P q) {
                             d.number(x, q, kMinDescriptors, kMaxDescriptors, &c.tx_descriptors);
                           }},
                         F{"mbufs", [&](N x, P q) { d.number(x, q, 0, kMaxMbufs, &c.mbufs); }},
                         F{"mbuf_cache",
                           [&](N x, P q) { d.number(x, q, 0, kMaxMbufCache, &c.mbuf_cache); }},
                         F{"tx_flush_us",
                           [&](N x, P q) { d.number(x, q, 1, kMaxTxFlushUs, &c.tx_flush_us); }}});
            }},
          F{"ruleset", [&](N v, P p) { d.text(v, p, &c.ruleset_path); }},
          F{"fail_mode",
            [&](N v, P p) {
              d.choice(v, p, {{"open", FailMode::kOpen}, {"closed", FailMode::kClosed}},
                       &c.fail_mode);
            }},
          F{"stop_page",
            [&](N v, P p) {
              d.mapping(v, p,
                        {F{"ipv4", [&](N x, P q) { d.text(x, q, &c.stop_page_ipv4_text); }},
                         F{"ipv6", [&](N x, P q) { d.text(x, q, &c.stop_page_ipv6_text); }},
                         F{"url", [&](N x, P q) { d.text(x, q, &c.stop_page_url); }},
                         F{"query", [&](N x, P q) { d.flag(x, q, &c.stop_page_query); }}});
            }},
          F{"dns",
            [&](N v, P p) {
              d.mapping(
                  v, p,
                  {F{"reply",
                     [&](N x, P q) {
                       d.choice(x, q,
                                {{"nxdomain", DnsReplyMode::kNxdomain},
                                 {"stop_page", DnsReplyMode::kStopPage}},
                                &c.dns_reply);
                     }},
                   F{"ede_code", [&](N x, P q) { d.number(x, q, 0, UINT16_MAX, &c.dns_ede_code); }},
                   F{"ede_text", [&](N x, P q) { d.text(x, q, &c.dns_ede_text); }},
                   F{"ttl", [&](N x, P q) { d.number(x, q, 0, kMaxDnsTtl, &c.dns_ttl); }}});
            }},
          F{"flows",
            [&](N v, P p) {
              d.mapping(v, p,
                        {F{"capacity",
                           [&](N x, P q) {
                             d.number(x, q, kMinFlowCapacity, kMaxFlowCapacity, &c.flow_capacity);
                           }},
                         F{"buffers",
                           [&](N x, P q) { d.number(x, q, 1, kMaxFlowBuffers, &c.flow_buffers); }},
                         F{"idle_timeout_s",
                           [&](N x, P q) { d.number(x, q, 1, 86400, &c.flow_idle_timeout_s); }}});
            }},
          F{"verdict_cache",
            [&](N v, P p) {
              d.mapping(v, p,
                        {F{"capacity",
                           [&](N x, P q) {
                             d.number(x, q, kMinVerdictCache, kMaxVerdictCache,
                                      &c.verdict_cache_capacity);
                           }},
                         F{"timeout_s", [&](N x, P q) {
                             d.number(x, q, 1, 86400, &c.verdict_cache_timeout_s);
                           }}});
            }},
          F{"events",
            [&](N v, P p) {
              d.mapping(v, p,
                        {F{"endpoint", [&](N x, P q) { d.text(x, q, &c.events_endpoint); }},
                         F{"ring_size", [&](N x, P q) {
                             d.number(x, q, kMinEventRing, kMaxEventRing, &c.event_ring_size);
                           }}});
            }},
          F{"control",
            [&](N v, P p) {
              d.mapping(v, p,
                        {F{"endpoint", [&](N x, P q) { d.text(x, q, &c.control_endpoint); }}});
            }},
          F{"metrics",
            [&](N v, P p) {
              d.mapping(v, p, {F{"listen", [&](N x, P q) { d.text(x, q, &c.metrics_listen); }}});
            }},
      });
  // Cross-field checks only make sense on fields that decoded.
  d.throw_if_problems();

  if (!c.stop_page_ipv4_text.empty()) {
    c.has_stop_page_ipv4 =
        inet_pton(AF_INET, c.stop_page_ipv4_text.c_str(), c.stop_page_ipv4.data()) == 1;
  }
  if (!c.stop_page_ipv6_text.empty()) {
    c.has_stop_page_ipv6 =
        inet_pton(AF_INET6, c.stop_page_ipv6_text.c_str(), c.stop_page_ipv6.data()) == 1;
  }
  for (const ConfigProblem& p : validate(c)) d.add(d.line_of(p.key), p.message);
  d.throw_if_problems();
  return c;
}

bool valid_zmq_endpoint(std::string_view e) {
  for (std::string_view scheme : {"ipc://", "tcp://", "inproc://"}) {
    if (e.substr(0, scheme.size()) == scheme && e.size() > scheme.size()) return true;
  }
  return false;
}

// "host:port" or "[v6]:port" as civetweb's listening_ports takes it.
bool valid_listen_address(std::string_view a) {
  const size_t colon = a.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == a.size() ||
      colon + 6 < a.size())
    return false;
  uint32_t port = 0;
  for (char ch : a.substr(colon + 1)) {
    if (ch < '0' || ch > '9') return false;
    port = port * 10 + static_cast<uint32_t>(ch - '0');
  }
  return port >= 1 && port <= UINT16_MAX;
}

// The config key a reply_config_problem() message is about.
std::string reply_key(std::string_view message) {
  if (message.find("url") != std::string_view::npos) return "stop_page.url";
  if (message.find("ede_code") != std::string_view::npos) return "dns.ede_code";
  if (message.find("ede_extra_text") != std::string_view::npos) return "dns.ede_text";
  if (message.find("ttl") != std::string_view::npos) return "dns.ttl";
  return "dns.reply";
}

}  // namespace

action::ReplyConfig make_reply_config(const EngineConfig& c) {
  action::ReplyConfig r;
  r.placement = c.mode == Mode::kInline ? action::Placement::kInline : action::Placement::kTap;
  r.dns_answer = c.dns_reply == DnsReplyMode::kNxdomain ? action::DnsBlockAnswer::kNxdomain
                                                        : action::DnsBlockAnswer::kStopPage;
  if (c.has_stop_page_ipv4) {
    r.stop_page_v4.family = parse::IpFamily::kV4;
    std::copy(c.stop_page_ipv4.begin(), c.stop_page_ipv4.end(), r.stop_page_v4.bytes);
  }
  if (c.has_stop_page_ipv6) {
    r.stop_page_v6.family = parse::IpFamily::kV6;
    std::copy(c.stop_page_ipv6.begin(), c.stop_page_ipv6.end(), r.stop_page_v6.bytes);
  }
  r.dns_ttl = c.dns_ttl;
  r.ede_code = static_cast<action::EdeCode>(c.dns_ede_code);
  r.ede_extra_text = c.dns_ede_text;
  r.stop_page_url = c.stop_page_url;
  r.stop_page_query = c.stop_page_query;
  return r;
}

std::string_view to_string(Mode m) noexcept { return m == Mode::kInline ? "inline" : "tap"; }
std::string_view to_string(FailMode m) noexcept { return m == FailMode::kOpen ? "open" : "closed"; }
std::string_view to_string(DnsReplyMode m) noexcept {
  return m == DnsReplyMode::kNxdomain ? "nxdomain" : "stop_page";
}
std::string_view to_string(TapInject t) noexcept {
  return t == TapInject::kMirrorPort ? "mirror_port" : "second_port";
}
std::string_view to_string(QueueSpread q) noexcept {
  return q == QueueSpread::kRss ? "rss" : "device";
}

bool is_pci_address(std::string_view d) noexcept {
  // [DDDD:]BB:DD.F with hex digits (the PCI address form EAL's -a takes).
  auto hex = [](std::string_view s) {
    if (s.empty()) return false;
    for (char ch : s) {
      if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
        return false;
    }
    return true;
  };
  const size_t dot = d.rfind('.');
  if (dot == std::string_view::npos || dot + 2 != d.size() || d[dot + 1] < '0' || d[dot + 1] > '7')
    return false;
  std::string_view head = d.substr(0, dot);
  const size_t c2 = head.rfind(':');
  if (c2 == std::string_view::npos || head.size() - c2 - 1 != 2 || !hex(head.substr(c2 + 1)))
    return false;
  head = head.substr(0, c2);
  const size_t c1 = head.rfind(':');
  const std::string_view bus = c1 == std::string_view::npos ? head : head.substr(c1 + 1);
  if (bus.size() != 2 || !hex(bus)) return false;
  return c1 == std::string_view::npos || (c1 == 4 && hex(head.substr(0, 4)));
}

std::string device_name(std::string_view device) {
  if (is_pci_address(device)) {
    return device.size() == 7 ? "0000:" + std::string(device) : std::string(device);
  }
  return std::string(device.substr(0, device.find(',')));
}

std::vector<ConfigProblem> validate(const EngineConfig& c) {
  std::vector<ConfigProblem> out;
  auto problem = [&](std::string key, std::string msg) {
    out.push_back({std::move(key), std::move(msg)});
  };

  if (c.mode == Mode::kInline && c.ports.size() != 2) {
    problem("ports", "inline mode needs two ports (subscriber side, upstream side), " +
                         std::to_string(c.ports.size()) + " given");
  }
  if (c.mode == Mode::kTap) {
    if (c.ports.empty())
      problem("ports", "tap mode needs the mirror port (and optionally an inject port)");
    if (c.tap_inject == TapInject::kSecondPort && c.ports.size() != 2) {
      problem("tap.inject", "tap.inject: second_port needs a second port in 'ports'");
    }
    if (c.tap_inject == TapInject::kMirrorPort && c.ports.size() == 2) {
      problem(
          "ports",
          "the second port is unused with tap.inject: mirror_port (set tap.inject: second_port)");
    }
  }
  std::set<std::string> names;
  for (size_t i = 0; i < c.ports.size(); ++i) {
    if (c.ports[i].empty() || device_name(c.ports[i]).empty()) {
      problem("ports", "ports[" + std::to_string(i) + "] is empty");
    } else if (!names.insert(device_name(c.ports[i])).second) {
      problem("ports", "ports[" + std::to_string(i) + "] names device '" + device_name(c.ports[i]) +
                           "' twice");
    }
  }
  for (const std::string& a : c.eal_args) {
    if (a == "--vdev" || a == "-a" || a == "--allow" || a.rfind("--vdev=", 0) == 0) {
      problem("eal.args", "eal.args must not name devices ('" + a + "'): list them in 'ports'");
    }
  }
  const auto has_arg = [&](std::string_view a) {
    return std::find(c.eal_args.begin(), c.eal_args.end(), a) != c.eal_args.end();
  };
  if (has_arg("--no-huge") && has_arg("--in-memory")) {
    problem(
        "eal.args",
        "eal.args: DPDK 22.11 refuses --in-memory with --no-huge (legacy memory): use --no-shconf");
  }
  if (c.mbuf_cache > 0 && c.mbufs > 0 && c.mbuf_cache > c.mbufs / 2) {
    problem("dpdk.mbuf_cache", "dpdk.mbuf_cache must be at most half of dpdk.mbufs");
  }
  if (c.ruleset_path.empty()) problem("ruleset", "'ruleset' must name the compiled ruleset file");
  if (!c.stop_page_ipv4_text.empty() && !c.has_stop_page_ipv4) {
    problem("stop_page.ipv4",
            "stop_page.ipv4 '" + c.stop_page_ipv4_text + "' is not an IPv4 address");
  }
  if (!c.stop_page_ipv6_text.empty() && !c.has_stop_page_ipv6) {
    problem("stop_page.ipv6",
            "stop_page.ipv6 '" + c.stop_page_ipv6_text + "' is not an IPv6 address");
  }
  if (c.dns_reply == DnsReplyMode::kStopPage && !c.has_stop_page_ipv4 && !c.has_stop_page_ipv6) {
    problem("dns.reply", "dns.reply: stop_page needs stop_page.ipv4 or stop_page.ipv6");
  } else {
    // The reply builders own the rules for EDE, TTL and URL values: ask them, the URL apart so
    // that both kinds of problem are reported.
    action::ReplyConfig without_url = make_reply_config(c);
    without_url.stop_page_url = {};
    if (const std::string_view p = action::reply_config_problem(without_url); !p.empty()) {
      problem(reply_key(p), std::string(reply_key(p)) + ": " + std::string(p));
    }
  }
  if (!c.stop_page_url.empty()) {
    action::ReplyConfig url_only;
    url_only.stop_page_url = c.stop_page_url;
    if (const std::string_view p = action::reply_config_problem(url_only); !p.empty()) {
      problem("stop_page.url", "stop_page.url: " + std::string(p));
    }
  }
  if (!is_power_of_two(c.event_ring_size))
    problem("events.ring_size", "events.ring_size must be a power of two");
  if (!valid_zmq_endpoint(c.events_endpoint)) {
    problem("events.endpoint",
            "events.endpoint must be a ZeroMQ endpoint (ipc://, tcp:// or inproc://)");
  }
  if (!valid_zmq_endpoint(c.control_endpoint)) {
    problem("control.endpoint",
            "control.endpoint must be a ZeroMQ endpoint (ipc://, tcp:// or inproc://)");
  }
  if (c.events_endpoint == c.control_endpoint) {
    problem("control.endpoint", "control.endpoint and events.endpoint must differ");
  }
  if (!c.metrics_listen.empty() && !valid_listen_address(c.metrics_listen)) {
    problem("metrics.listen",
            "metrics.listen must be host:port (for example 127.0.0.1:9310), or empty");
  }
  return out;
}

EngineConfig parse_config(std::string_view yaml, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw ConfigError(name + ":" + std::to_string(e.mark.line + 1) +
                      ": YAML syntax error: " + e.msg);
  }
  return decode(root, name);
}

EngineConfig load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open the config file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

std::string describe(const EngineConfig& c) {
  std::ostringstream o;
  o << "mode: " << to_string(c.mode) << "\n";
  for (size_t i = 0; i < c.ports.size(); ++i) o << "ports[" << i << "]: " << c.ports[i] << "\n";
  if (c.mode == Mode::kTap) o << "tap.inject: " << to_string(c.tap_inject) << "\n";
  o << "eal.args:";
  for (const std::string& a : c.eal_args) o << " " << a;
  o << "\nworkers: " << c.workers << ", queue_spread: " << to_string(c.queue_spread) << "\n"
    << "dpdk: rx_descriptors " << c.rx_descriptors << ", tx_descriptors " << c.tx_descriptors
    << ", mbufs " << (c.mbufs == 0 ? std::string("auto") : std::to_string(c.mbufs))
    << ", mbuf_cache " << c.mbuf_cache << ", tx_flush_us " << c.tx_flush_us << "\n"
    << "ruleset: " << c.ruleset_path << "\n"
    << "fail_mode: " << to_string(c.fail_mode) << "\n"
    << "stop_page: ipv4 " << (c.stop_page_ipv4_text.empty() ? "-" : c.stop_page_ipv4_text)
    << ", ipv6 " << (c.stop_page_ipv6_text.empty() ? "-" : c.stop_page_ipv6_text) << ", url "
    << (c.stop_page_url.empty() ? "- (blocked HTTP is reset)" : c.stop_page_url)
    << (!c.stop_page_url.empty() && c.stop_page_query ? " (+?blocked=host)" : "") << "\n"
    << "dns: reply " << to_string(c.dns_reply) << ", ede_code " << c.dns_ede_code << ", ede_text '"
    << c.dns_ede_text << "', ttl " << c.dns_ttl << "\n"
    << "flows: capacity " << c.flow_capacity << ", buffers " << c.flow_buffers
    << ", idle_timeout_s " << c.flow_idle_timeout_s << " (per worker)\n"
    << "verdict_cache: capacity " << c.verdict_cache_capacity << ", timeout_s "
    << c.verdict_cache_timeout_s << "\n"
    << "events: " << c.events_endpoint << ", ring_size " << c.event_ring_size << "\n"
    << "control: " << c.control_endpoint << "\n"
    << "metrics: " << (c.metrics_listen.empty() ? "off" : c.metrics_listen) << "\n";
  return o.str();
}

}  // namespace muhafiz::engine
