// The value of a `pattern` entry: a Hyperscan expression over the host, or over the URL with
// a "url:" prefix, optionally written /expression/flags (flags: i = caseless, s = dot matches
// newline). Examples: `^([a-z0-9-]+\.)*bad[0-9]+\.example$`, `/^cdn\d+\.example\.org$/i`,
// `url:^([^/]*\.)?example\.com/gallery/[0-9]+\.jpg$`. Expressions are unanchored unless they
// say ^ and $ (Hyperscan semantics), so list authors should anchor them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace muhafiz::rules {

enum class PatternScope : uint8_t {
  kHost,  // the canonical host, without port; every observation kind
  kUrl,   // host + path[?query] (CanonicalUrl::text(), no port); HTTP only
};

struct PatternSpec {
  PatternScope scope = PatternScope::kHost;
  std::string expression;
  bool caseless = false;
  bool dotall = false;
};

inline constexpr std::string_view kUrlPatternPrefix = "url:";

// nullopt with *error set on a syntax error of the wrapper (the expression itself is checked
// by Hyperscan when the ruleset is compiled).
std::optional<PatternSpec> parse_pattern(std::string_view value, std::string* error);

}  // namespace muhafiz::rules
