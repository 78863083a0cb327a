#include "dataplane/engine/counters.h"

namespace muhafiz::engine {

std::string_view counter_family(EngineCounter c) noexcept {
  switch (c) {
#define MUHAFIZ_X(name, family, reason) \
  case name:                            \
    return family;
    MUHAFIZ_ENGINE_COUNTERS(MUHAFIZ_X)
#undef MUHAFIZ_X
    case kEngineCounterCount:
      break;
  }
  return "unknown";
}

std::string_view counter_reason(EngineCounter c) noexcept {
  switch (c) {
#define MUHAFIZ_X(name, family, reason) \
  case name:                            \
    return reason;
    MUHAFIZ_ENGINE_COUNTERS(MUHAFIZ_X)
#undef MUHAFIZ_X
    case kEngineCounterCount:
      break;
  }
  return "unknown";
}

std::string_view match_class_name(MatchClass c) noexcept {
  switch (c) {
#define MUHAFIZ_X(name, text) \
  case name:                  \
    return text;
    MUHAFIZ_MATCH_CLASSES(MUHAFIZ_X)
#undef MUHAFIZ_X
    case kMatchClassCount:
      break;
  }
  return "unknown";
}

}  // namespace muhafiz::engine
