// Result of every decoder: never an exception, never a magic integer.
#pragma once

#include <cstdint>
#include <string_view>

namespace muhafiz::parse {

enum class ParseStatus : uint8_t {
  kOk,             // decoded; outputs are valid
  kNeedMore,       // well-formed so far, but the input ends before the message does
  kMalformed,      // violates the protocol or one of our named limits
  kNotApplicable,  // not this protocol (e.g. a server-to-client TLS record)
};

constexpr std::string_view to_string(ParseStatus s) noexcept {
  switch (s) {
    case ParseStatus::kOk: return "ok";
    case ParseStatus::kNeedMore: return "need_more";
    case ParseStatus::kMalformed: return "malformed";
    case ParseStatus::kNotApplicable: return "not_applicable";
  }
  return "unknown";
}

}  // namespace muhafiz::parse
