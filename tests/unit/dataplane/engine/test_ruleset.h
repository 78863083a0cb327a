// The small ruleset the engine tests filter with, compiled in memory by the rules compiler.
// Shared by the worker-stage unit tests and the net_pcap integration test.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rules/list/model.h"
#include "rules/match/compiler.h"

namespace muhafiz::engine::testing {

// Names and addresses the tests use, and what the lists say about them.
inline constexpr const char* kBlockedDomain = "blocked.example";  // pta: domain, default block
inline constexpr const char* kNxdomainName = "nx.example";        // pta: exact, action nxdomain
inline constexpr const char* kDropName = "silent.example";        // pta: exact, action drop
inline constexpr const char* kAllowedSub = "ok.blocked.example";  // pta: exact, action allow
inline constexpr const char* kUrlHost = "img.example";            // pta: url img.example/bad/
inline constexpr const char* kUrlEntry = "img.example/bad/";
inline constexpr const char* kBlockedPrefix = "203.0.113.0/24";   // pta: ip
inline constexpr const char* kShadowDomain = "shadowed.example";  // fia-shadow (shadow list)
inline constexpr const char* kAlertDomain = "alert.example";      // fia-csam (alert list)

inline rules::Entry entry(rules::EntryKind kind, std::string value,
                          std::optional<rules::Action> action = std::nullopt) {
  rules::Entry e;
  e.kind = kind;
  e.id = std::string(rules::to_string(kind)) + ":" + value;
  e.value = std::move(value);
  e.action = action;
  return e;
}

inline rules::List list(std::string id, std::string publisher, bool alert,
                        std::vector<rules::Entry> entries) {
  rules::List l;
  l.meta.id = std::move(id);
  l.meta.publisher = std::move(publisher);
  l.meta.category = "csam";
  l.meta.version = 7;
  l.meta.default_action = rules::Action::kBlock;
  l.meta.alert = alert;
  l.entries = std::move(entries);
  return l;
}

// Lists in this order: 0 pta-csam, 1 fia-csam (alert), 2 fia-shadow (shadow).
inline std::vector<uint8_t> test_snapshot() {
  using K = rules::EntryKind;
  std::vector<rules::List> lists;
  lists.push_back(list(
      "pta-csam", "pta", false,
      {entry(K::kDomain, kBlockedDomain), entry(K::kExact, kNxdomainName, rules::Action::kNxdomain),
       entry(K::kExact, kDropName, rules::Action::kDrop),
       entry(K::kExact, kAllowedSub, rules::Action::kAllow), entry(K::kUrl, kUrlEntry),
       entry(K::kIp, kBlockedPrefix)}));
  lists.push_back(list("fia-csam", "fia", true, {entry(K::kDomain, kAlertDomain)}));
  lists.push_back(list("fia-shadow", "fia", false, {entry(K::kDomain, kShadowDomain)}));
  rules::CompileOptions options;
  options.shadow_lists = {"fia-shadow"};
  return rules::compile(lists, options);
}

}  // namespace muhafiz::engine::testing
