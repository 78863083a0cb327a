// muhafiz-inspect: a capture through the same decode and extraction code the dataplane
// runs, printed as JSON Lines (one observation per line) or as a summary.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "dataplane/extract/extractor.h"

namespace muhafiz::inspect {

struct InspectOptions {
  std::string capture;
  bool summary = false;  // print counts instead of observations
  std::string ruleset;   // compiled ruleset snapshot: add each observation's verdict
  extract::ExtractorConfig extractor;
};

// Exit codes: documented in --help and README.
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;
inline constexpr int kExitUnreadable = 2;  // missing, unreadable or not a capture
inline constexpr int kExitTruncated = 3;   // what the capture held was reported; it ends early

// Formats one observation as a JSON object on one line (no newline); `verdict_json` (may be
// empty) is added as "verdict", copied as it is: one compact JSON object, as dump() makes it.
std::string observation_json(const extract::Observation& obs, const std::string& verdict_json = {});

int run_inspect(const InspectOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace muhafiz::inspect
