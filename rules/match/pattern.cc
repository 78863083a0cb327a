#include "rules/match/pattern.h"

namespace muhafiz::rules {

std::optional<PatternSpec> parse_pattern(std::string_view value, std::string* error) {
  PatternSpec spec;
  if (value.starts_with(kUrlPatternPrefix)) {
    spec.scope = PatternScope::kUrl;
    value.remove_prefix(kUrlPatternPrefix.size());
  }
  if (value.size() >= 2 && value.front() == '/') {
    const size_t close = value.rfind('/');
    if (close == 0) {
      *error = "pattern starts with '/' but has no closing '/'";
      return std::nullopt;
    }
    for (const char f : value.substr(close + 1)) {
      if (f == 'i') {
        spec.caseless = true;
      } else if (f == 's') {
        spec.dotall = true;
      } else {
        *error = std::string("unknown pattern flag '") + f + "' (known: i, s)";
        return std::nullopt;
      }
    }
    value = value.substr(1, close - 1);
  }
  if (value.empty()) {
    *error = "empty pattern";
    return std::nullopt;
  }
  spec.expression = std::string(value);
  return spec;
}

}  // namespace muhafiz::rules
