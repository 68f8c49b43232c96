#pragma once
// Event-time helpers: RFC 3339 parsing and formatting in milliseconds since the Unix epoch.
#include <cstdint>
#include <string>
#include <string_view>

namespace sw {

using TimestampMs = std::int64_t;
inline constexpr TimestampMs kNoTimestamp = INT64_MIN;

enum class TimeParseError {
  none = 0,
  syntax,        // not of the form YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)
  out_of_range,  // a field outside its calendar range (month 13, Feb 30, hour 24, ...)
};

// Parses an RFC 3339 date-time ("2026-01-01T10:15:30Z", "2026-01-01T10:15:30.123+02:00").
// Fractions beyond milliseconds are truncated. No allocation.
TimeParseError parse_rfc3339(std::string_view text, TimestampMs& out) noexcept;

const char* to_string(TimeParseError e) noexcept;

// Formats as RFC 3339 UTC: "2026-01-01T10:15:30Z", or with ".123" when milliseconds are set.
void format_rfc3339(TimestampMs ts, std::string& out);
std::string format_rfc3339(TimestampMs ts);

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept;

TimestampMs wall_clock_ms() noexcept;

}  // namespace sw
