// Dates as list managers write them (UTC), for list creation and expiry.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace muhafiz::rules {

// "2027-01-01" (midnight UTC) or "2027-01-01T12:30:00Z". nullopt when not a valid date.
std::optional<int64_t> parse_utc(std::string_view text) noexcept;
// "2027-01-01" when the time is midnight UTC, else "2027-01-01T12:30:00Z".
std::string format_utc(int64_t unix_seconds);
// Seconds since the epoch, now.
int64_t unix_now() noexcept;

}  // namespace muhafiz::rules
