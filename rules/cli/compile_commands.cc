#include "rules/cli/compile_commands.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "rules/bundle/bundle.h"
#include "rules/bundle/keys.h"
#include "rules/cli/list_commands.h"
#include "rules/list/canon.h"
#include "rules/match/compiler.h"
#include "rules/match/matcher.h"

namespace muhafiz::rules::cli {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// ---- compile -----------------------------------------------------------------------------------

struct CompileArgs {
  std::vector<std::string> public_paths;
  std::vector<std::string> bundles;
  std::vector<std::string> shadow;
  std::string out;
};

// Each bundle is verified with the pinned key its signature line names; a bundle signed by a key
// that was not given is refused (rules/bundle checks signature, schema, digest and expiry).
List verified_list(const std::string& path, const std::vector<PublicKey>& keys) {
  const Bundle unverified = inspect_bundle_file(path);
  for (const PublicKey& key : keys) {
    if (key.id() != unverified.signer_key_id) continue;
    const Bundle b = read_bundle(path, key, VerifyOptions{});
    return bundle_list(b, path);
  }
  std::string known;
  for (const PublicKey& key : keys) known += (known.empty() ? "" : ", ") + key.id();
  throw std::runtime_error(path + ": signed by key " + unverified.signer_key_id +
                           ", which is not among the --public keys (" + known + ")");
}

void run_compile(const CompileArgs& a) {
  const auto t0 = Clock::now();
  std::vector<PublicKey> keys;
  for (const std::string& p : a.public_paths) keys.push_back(read_public_key(p));
  std::vector<List> lists;
  for (const std::string& path : a.bundles) {
    lists.push_back(verified_list(path, keys));
    const ListMeta& m = lists.back().meta;
    std::cout << "verified " << path << ": list " << m.id << " version " << m.version << ", "
              << lists.back().entries.size() << " entries\n";
  }
  const double verify_s = seconds_since(t0);

  CompileOptions opts;
  opts.shadow_lists = a.shadow;
  CompileStats stats;
  const std::vector<uint8_t> bytes = compile(lists, opts, &stats);
  const auto tw = Clock::now();
  write_snapshot(a.out, bytes);
  const double write_s = seconds_since(tw);

  std::cout << "compiled " << stats.lists << " lists, " << stats.entries << " entries:";
  for (const EntryKind k :
       {EntryKind::kDomain, EntryKind::kExact, EntryKind::kUrl, EntryKind::kPattern, EntryKind::kIp,
        EntryKind::kHashedDomain, EntryKind::kHashedExact, EntryKind::kHashedUrl}) {
    const uint32_t n = stats.kind_counts[static_cast<size_t>(k)];
    if (n > 0) std::cout << " " << to_string(k) << " " << n;
  }
  std::cout << "\n"
            << "tables: " << stats.host_names << " host names, " << stats.hashed_digests
            << " digests, " << stats.ip_prefix_lengths << " ip prefix lengths, longest probe "
            << stats.max_probe << " slots\n";
  std::printf(
      "wrote %s: %zu bytes (patterns %zu); verify %.3f s, compile %.3f s (patterns %.3f s), write "
      "%.3f s\n",
      a.out.c_str(), stats.bytes, stats.pattern_bytes, verify_s, stats.seconds,
      stats.pattern_seconds, write_s);
  for (const std::string& s : a.shadow)
    std::cout << "shadow: " << s << " (reported, never enforced)\n";
}

// ---- lookup ------------------------------------------------------------------------------------

struct LookupArgs {
  std::string ruleset;
  std::string kind = "dns";
  std::string url;
  std::string value;
};

nlohmann::json match_json(const Matcher& m, uint32_t list, uint32_t entry) {
  if (list == kNoIndex) return nullptr;
  const EntryInfo e = m.entry(list, entry);
  return {{"list", std::string(m.list(list).id)},
          {"list_index", list},
          {"entry_index", entry},
          {"id", e.id},
          {"kind", std::string(to_string(e.kind))},
          {"value", e.value},
          {"action", std::string(to_string(e.action))},
          {"evidence", e.evidence}};
}

void run_lookup(const LookupArgs& a) {
  const auto kind = observation_kind_from_string(a.kind);
  if (!kind)
    throw std::runtime_error("lookup: unknown --kind " + a.kind +
                             " (dns, tls_sni, quic_sni, http, ip)");
  Observation obs;
  obs.kind = *kind;
  nlohmann::json seen = {{"kind", a.kind}};
  std::string host, path, error;
  if (*kind == ObservationKind::kIp) {
    const auto ip = parse_ip_address(a.value);
    if (!ip) throw std::runtime_error("lookup: not an IPv4 or IPv6 address: " + a.value);
    obs.ip = *ip;
    seen["ip"] = to_string(*ip);
  } else if (*kind == ObservationKind::kHttp) {
    const std::string& text = a.url.empty() ? a.value : a.url;
    const auto url = canonical_url(text, &error);
    if (!url) throw std::runtime_error("lookup: " + text + ": " + error);
    host = url->host;
    path = url->path + (url->has_query ? "?" + url->query : "");
    seen["host"] = host;
    seen["path"] = path;
  } else {
    const auto h = canonical_host(a.value, &error);
    if (!h) throw std::runtime_error("lookup: " + a.value + ": " + error);
    host = *h;
    seen["host"] = host;
  }
  obs.host = host;
  obs.path = path;

  const auto matcher = Matcher::load(a.ruleset);
  MatchScratch scratch = matcher->make_scratch();
  const Verdict v = matcher->match(obs, scratch);
  nlohmann::json out = {
      {"observation", seen},
      {"matched", v.matched},
      {"enforce", v.enforce()},
      {"action",
       v.matched ? nlohmann::json(std::string(to_string(v.action))) : nlohmann::json(nullptr)},
      {"match", match_json(*matcher, v.list, v.entry)},
      {"alert", v.alert},
      {"alert_match", match_json(*matcher, v.alert_list, v.alert_entry)},
      {"shadow", v.shadow},
      {"shadow_match", match_json(*matcher, v.shadow_list, v.shadow_entry)},
      {"url_not_enforceable", v.url_not_enforceable},
  };
  if (v.pattern_error) out["pattern_error"] = true;
  std::cout << out.dump() << "\n";
  if (!v.matched) throw CLI::RuntimeError(kExitNoMatch);  // nothing matched (main prints nothing)
}

}  // namespace

void add_compile_commands(CLI::App& app) {
  {
    auto args = std::make_shared<CompileArgs>();
    CLI::App* sub = app.add_subcommand(
        "compile",
        "Verify signed full bundles and compile them into one ruleset snapshot for the filter.\n"
        "Example: muhafiz-list compile --public pta.pub --public fia.pub --out ruleset.bin "
        "pta-csam-7.bundle fia-csam-3.bundle --shadow fia-trial");
    sub->add_option("--public", args->public_paths,
                    "a publisher's pinned public key file (repeat per publisher)")
        ->allow_extra_args(false)
        ->required();
    sub->add_option("--out", args->out, "snapshot file to write (replaced atomically)")->required();
    sub->add_option("--shadow", args->shadow,
                    "id of a list to compile in shadow mode: reported, never enforced")
        ->allow_extra_args(false);
    sub->add_option("bundles", args->bundles, "full bundles; their order breaks precedence ties")
        ->required();
    sub->callback([args] { run_compile(*args); });
  }
  {
    auto args = std::make_shared<LookupArgs>();
    CLI::App* sub = app.add_subcommand(
        "lookup",
        "Look one observation up in a ruleset snapshot and print the verdict as JSON.\n"
        "Exit status: 0 an entry matched, 1 nothing matched, 2 error.\n"
        "Examples: muhafiz-list lookup --ruleset ruleset.bin --kind tls_sni cdn.bad.example\n"
        "          muhafiz-list lookup --ruleset ruleset.bin --kind http --url "
        "bad.example/a/b.jpg\n"
        "          muhafiz-list lookup --ruleset ruleset.bin --kind ip 192.0.2.1");
    sub->add_option("--ruleset", args->ruleset, "snapshot written by compile")->required();
    sub->add_option("--kind", args->kind, "dns, tls_sni, quic_sni, http or ip")
        ->capture_default_str();
    sub->add_option("--url", args->url, "http: the URL (host/path?query, scheme optional)");
    sub->add_option("value", args->value,
                    "host name (dns, tls_sni, quic_sni), URL (http) or address (ip)");
    sub->callback([args] {
      if (args->value.empty() && args->url.empty())
        throw std::runtime_error("lookup: give a host, --url or an address");
      run_lookup(*args);
    });
  }
}

}  // namespace muhafiz::rules::cli
