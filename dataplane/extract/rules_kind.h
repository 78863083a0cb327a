// An observation's kind as the matcher names it (rules/match/matcher.h). Shared by the worker
// and muhafiz-inspect, which both ask the matcher about what extraction reported; the matcher
// has one kind more (kIp), which extraction never reports.
#pragma once

#include "dataplane/extract/observation.h"
#include "rules/match/matcher.h"

namespace muhafiz::extract {

constexpr rules::ObservationKind to_rules_kind(ObservationKind k) noexcept {
  switch (k) {
    case ObservationKind::kDns:
      return rules::ObservationKind::kDns;
    case ObservationKind::kTlsSni:
      return rules::ObservationKind::kTlsSni;
    case ObservationKind::kQuicSni:
      return rules::ObservationKind::kQuicSni;
    case ObservationKind::kHttp:
      return rules::ObservationKind::kHttp;
  }
  return rules::ObservationKind::kDns;
}

}  // namespace muhafiz::extract
