#include "rules/bundle/utc_time.h"

#include <charconv>
#include <chrono>
#include <cstdio>

namespace muhafiz::rules {

namespace {

namespace chr = std::chrono;

// Reads exactly `digits` decimal digits at text[*pos].
bool read_fixed(std::string_view text, size_t* pos, size_t digits, int* out) noexcept {
  if (*pos + digits > text.size()) return false;
  const char* first = text.data() + *pos;
  for (size_t i = 0; i < digits; ++i) {
    if (first[i] < '0' || first[i] > '9') return false;
  }
  std::from_chars(first, first + digits, *out);
  *pos += digits;
  return true;
}

bool expect(std::string_view text, size_t* pos, char c) noexcept {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

}  // namespace

std::optional<int64_t> parse_utc(std::string_view text) noexcept {
  size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!read_fixed(text, &pos, 4, &y) || !expect(text, &pos, '-') ||
      !read_fixed(text, &pos, 2, &mo) || !expect(text, &pos, '-') ||
      !read_fixed(text, &pos, 2, &d)) {
    return std::nullopt;
  }
  if (pos != text.size()) {
    if (!expect(text, &pos, 'T') || !read_fixed(text, &pos, 2, &h) || !expect(text, &pos, ':') ||
        !read_fixed(text, &pos, 2, &mi) || !expect(text, &pos, ':') ||
        !read_fixed(text, &pos, 2, &s) || !expect(text, &pos, 'Z') || pos != text.size()) {
      return std::nullopt;
    }
  }
  const chr::year_month_day ymd{chr::year{y}, chr::month{static_cast<unsigned>(mo)},
                                chr::day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 59) return std::nullopt;
  const auto tp = chr::sys_days{ymd} + chr::hours{h} + chr::minutes{mi} + chr::seconds{s};
  return tp.time_since_epoch().count();
}

std::string format_utc(int64_t unix_seconds) {
  const chr::sys_seconds tp{chr::seconds{unix_seconds}};
  const auto day = chr::floor<chr::days>(tp);
  const chr::year_month_day ymd{day};
  const chr::hh_mm_ss hms{tp - day};
  char buf[64];
  if (hms.to_duration().count() == 0) {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()));
  }
  return buf;
}

int64_t unix_now() noexcept {
  return chr::duration_cast<chr::seconds>(chr::system_clock::now().time_since_epoch()).count();
}

}  // namespace muhafiz::rules
