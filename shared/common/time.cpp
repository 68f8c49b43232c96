#include "common/time.h"

#include "common/time_zone.h"

#include <chrono>
#include <cstdio>

namespace sw {

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& value) noexcept {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  value = v;
  return true;
}

}  // namespace

unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
  static constexpr unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
}

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

namespace {

// "Z", "+HH:MM", and unless `strict` also "+HHMM", "+HH", "UTC"/"GMT" (after an optional space,
// optionally followed by an offset): the offset in minutes east of UTC. `pos` ends after the zone.
TimeParseError parse_zone(std::string_view s, std::size_t& pos, bool strict, int& offset_minutes) noexcept {
  offset_minutes = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
    return TimeParseError::none;
  }
  if (!strict) {
    std::size_t p = pos + (s[pos] == ' ' ? 1 : 0);
    if (s.substr(p, 3) == "UTC" || s.substr(p, 3) == "GMT") {
      pos = p + 3;
      if (pos == s.size()) return TimeParseError::none;
    }
  }
  if (s[pos] != '+' && s[pos] != '-') return TimeParseError::syntax;
  const int sign = s[pos] == '-' ? -1 : 1;
  int oh = 0, om = 0;
  if (!digits(s, pos + 1, 2, oh)) return TimeParseError::syntax;
  std::size_t p = pos + 3;
  if (p < s.size() && s[p] == ':') {
    if (!digits(s, p + 1, 2, om)) return TimeParseError::syntax;
    p += 3;
  } else if (strict) {
    return TimeParseError::syntax;
  } else if (p < s.size()) {
    if (!digits(s, p, 2, om)) return TimeParseError::syntax;
    p += 2;
  }
  if (oh > 23 || om > 59) return TimeParseError::out_of_range;
  offset_minutes = sign * (oh * 60 + om);
  pos = p;
  return TimeParseError::none;
}

TimeParseError parse_date_time(std::string_view s, TimestampMs& out, bool strict, const TimeZone* default_zone) noexcept {
  int year, month, day, hour, minute, second;
  if (s.size() < 19) return TimeParseError::syntax;
  if (!digits(s, 0, 4, year) || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' || !digits(s, 8, 2, day))
    return TimeParseError::syntax;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return TimeParseError::syntax;
  if (!digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' ||
      !digits(s, 17, 2, second))
    return TimeParseError::syntax;
  std::size_t pos = 19;
  int millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    int scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (scale > 0) {
        millis += (s[pos] - '0') * scale;
        scale /= 10;
      }
      ++pos;
    }
    if (pos == start) return TimeParseError::syntax;
  }
  int offset_minutes = 0;
  const bool zoned = pos < s.size();
  if (zoned) {
    if (const auto e = parse_zone(s, pos, strict, offset_minutes); e != TimeParseError::none) return e;
    if (pos != s.size()) return TimeParseError::syntax;
  } else if (strict) {
    return TimeParseError::syntax;
  }
  if (month < 1 || month > 12 || day < 1 || day > static_cast<int>(days_in_month(year, static_cast<unsigned>(month))) || hour > 23 || minute > 59 ||
      second > 60)
    return TimeParseError::out_of_range;
  if (second == 60) second = 59;  // a leap second folds into the second before it
  const std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  out = secs * 1000 + millis;
  if (!zoned && default_zone) out = default_zone->to_utc_ms(out);
  return TimeParseError::none;
}

}  // namespace

TimeParseError parse_rfc3339(std::string_view s, TimestampMs& out) noexcept {
  return parse_date_time(s, out, true, nullptr);
}

TimeParseError parse_timestamp(std::string_view s, TimestampMs& out, const TimeZone* default_zone) noexcept {
  return parse_date_time(s, out, false, default_zone);
}

TimeParseError parse_event_time(std::string_view text, TimestampMs& out, const TimeZone* default_zone) noexcept {
  TimestampMs ts = kNoTimestamp;
  if (const auto e = parse_timestamp(text, ts, default_zone); e != TimeParseError::none) return e;
  if (const auto e = check_event_time(ts); e != TimeParseError::none) return e;
  out = ts;
  return TimeParseError::none;
}

TimeParseError epoch_to_event_time(std::int64_t value, TimestampMs& out) noexcept {
  constexpr std::int64_t kMinSeconds = kMinEventTimeMs / 1000, kMaxSeconds = kMaxEventTimeMs / 1000;
  TimestampMs ts = value;
  if (value >= kMinSeconds && value < kMaxSeconds) ts = value * 1000;  // seconds (Spark's reading)
  if (const auto e = check_event_time(ts); e != TimeParseError::none) return e;
  out = ts;
  return TimeParseError::none;
}

const char* to_string(TimeParseError e) noexcept {
  switch (e) {
    case TimeParseError::none: return "ok";
    case TimeParseError::syntax: return "timestamp is not RFC 3339 or YYYY-MM-DD HH:MM:SS[.fff][zone]";
    case TimeParseError::out_of_range: return "timestamp has a field out of range";
    case TimeParseError::too_early: return "timestamp is before 2000-01-01T00:00:00Z";
    case TimeParseError::too_late: return "timestamp is not before 2100-01-01T00:00:00Z";
  }
  return "?";
}

void format_rfc3339(TimestampMs ts, std::string& out) {
  std::int64_t days = ts >= 0 ? ts / 86400000 : (ts - 86399999) / 86400000;
  std::int64_t rem = ts - days * 86400000;
  std::int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  const int ms = static_cast<int>(rem % 1000);
  rem /= 1000;
  char buf[40];
  int n;
  if (ms)
    n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<long long>(y), m, d,
                      static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60), ms);
  else
    n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02dZ", static_cast<long long>(y), m, d,
                      static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60));
  out.append(buf, static_cast<std::size_t>(n));
}

std::string format_rfc3339(TimestampMs ts) {
  std::string s;
  format_rfc3339(ts, s);
  return s;
}

TimestampMs wall_clock_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace sw
