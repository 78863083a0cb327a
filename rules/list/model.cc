#include "rules/list/model.h"

#include <array>
#include <utility>

namespace muhafiz::rules {
namespace {

// One table per enum so the name and the value cannot drift apart.
constexpr std::array<std::pair<EntryKind, std::string_view>, 8> kEntryKindNames = {{
    {EntryKind::kDomain, "domain"},
    {EntryKind::kExact, "exact"},
    {EntryKind::kUrl, "url"},
    {EntryKind::kPattern, "pattern"},
    {EntryKind::kIp, "ip"},
    {EntryKind::kHashedDomain, "hashed_domain"},
    {EntryKind::kHashedExact, "hashed_exact"},
    {EntryKind::kHashedUrl, "hashed_url"},
}};

constexpr std::array<std::pair<Action, std::string_view>, 6> kActionNames = {{
    {Action::kBlock, "block"},
    {Action::kNxdomain, "nxdomain"},
    {Action::kNodata, "nodata"},
    {Action::kRedirect, "redirect"},
    {Action::kDrop, "drop"},
    {Action::kAllow, "allow"},
}};

template <typename T, size_t N>
std::string_view name_of(const std::array<std::pair<T, std::string_view>, N>& table, T v) noexcept {
  for (const auto& [value, name] : table) {
    if (value == v) return name;
  }
  return "unknown";
}

template <typename T, size_t N>
std::optional<T> value_of(const std::array<std::pair<T, std::string_view>, N>& table,
                          std::string_view s) noexcept {
  for (const auto& [value, name] : table) {
    if (name == s) return value;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(EntryKind k) noexcept { return name_of(kEntryKindNames, k); }

std::optional<EntryKind> entry_kind_from_string(std::string_view s) noexcept {
  return value_of(kEntryKindNames, s);
}

std::string_view to_string(Action a) noexcept { return name_of(kActionNames, a); }

std::optional<Action> action_from_string(std::string_view s) noexcept {
  return value_of(kActionNames, s);
}

std::string SourceError::message() const {
  std::string out = file;
  if (line != 0) {
    out += ':';
    out += std::to_string(line);
  }
  out += ": ";
  out += reason;
  return out;
}

}  // namespace muhafiz::rules
