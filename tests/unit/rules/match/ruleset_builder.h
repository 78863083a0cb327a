// Test helpers: lists built in code, compiled and loaded in memory, and one-line lookups.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rules/bundle/hashing.h"
#include "rules/list/model.h"
#include "rules/match/compiler.h"
#include "rules/match/matcher.h"

namespace muhafiz::rules::testing {

inline Entry make_entry(EntryKind kind, std::string value,
                        std::optional<Action> action = std::nullopt, std::string id = "") {
  Entry e;
  e.kind = kind;
  e.id = id.empty() ? value : std::move(id);
  e.value = std::move(value);
  e.action = action;
  return e;
}

inline List make_list(std::string id, std::vector<Entry> entries,
                      Action default_action = Action::kBlock, bool alert = false) {
  List l;
  l.meta.id = std::move(id);
  l.meta.publisher = "pta";
  l.meta.category = "csam";
  l.meta.version = 7;
  l.meta.default_action = default_action;
  l.meta.alert = alert;
  l.entries = std::move(entries);
  return l;
}

// Keys for hashed entries: two different ones, as two publishers would have.
inline constexpr std::string_view kKeyA =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
inline constexpr std::string_view kKeyB =
    "f0e0d0c0b0a090807060504030201000ffeeddccbbaa99887766554433221100";

// What a publisher stores for a hashed entry: BLAKE2b-128 keyed with the list key over the
// canonical text, lower-case hex (rules brief), as rules/bundle/hashing.h computes it.
inline std::string keyed_hex(std::string_view key_hex, std::string_view canonical) {
  return hashed_entry_value(std::string(key_hex), canonical);
}

struct Ruleset {
  std::vector<uint8_t> bytes;
  std::unique_ptr<const Matcher> matcher;
  MatchScratch scratch;

  Verdict look(ObservationKind kind, std::string_view host, std::string_view path = {}) {
    Observation o;
    o.kind = kind;
    o.host = host;
    o.path = path;
    return matcher->match(o, scratch);
  }
  Verdict dns(std::string_view host) { return look(ObservationKind::kDns, host); }
  Verdict tls(std::string_view host) { return look(ObservationKind::kTlsSni, host); }
  Verdict http(std::string_view host, std::string_view path) {
    return look(ObservationKind::kHttp, host, path);
  }
  Verdict ip(std::string_view text) {
    Observation o;
    o.kind = ObservationKind::kIp;
    o.ip = parse_ip_address(text).value();
    return matcher->match(o, scratch);
  }
  // The deciding entry's id, "" when nothing matched.
  std::string id_of(const Verdict& v) const {
    return v.matched ? matcher->entry(v.list, v.entry).id : std::string();
  }
};

inline Ruleset build(std::vector<List> lists, const CompileOptions& options = {}) {
  Ruleset r;
  r.bytes = compile(lists, options);
  r.matcher = Matcher::from_bytes(r.bytes);
  r.scratch = r.matcher->make_scratch();
  return r;
}

}  // namespace muhafiz::rules::testing
