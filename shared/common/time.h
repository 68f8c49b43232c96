#pragma once
// Event-time helpers: timestamp parsing (RFC 3339 and the forms Spark accepts) and RFC 3339
// formatting, in milliseconds since the Unix epoch.
#include <cstdint>
#include <string>
#include <string_view>

namespace sw {

using TimestampMs = std::int64_t;
inline constexpr TimestampMs kNoTimestamp = INT64_MIN;

enum class [[nodiscard]] TimeParseError {
  none = 0,
  syntax,        // not of the form YYYY-MM-DD(T| )HH:MM:SS[.fff][Z|+HH:MM|...] (see parse_timestamp)
  out_of_range,  // a field outside its calendar range (month 13, Feb 30, hour 24, ...)
  too_early,     // a valid time, but before kMinEventTimeMs (check_event_time)
  too_late,      // a valid time, but at or after kMaxEventTimeMs (check_event_time)
};

// The event times pipelines accept: [2000-01-01T00:00:00Z, 2100-01-01T00:00:00Z). One record
// from year 9999 (or epoch milliseconds near INT64_MAX) would otherwise move its partition's
// stream time so far ahead that every later record is late; one from year 0 would open windows
// no watermark closes in practice. The bounds are fixed, not relative to the wall clock, so the
// decision depends on the record alone and a replay decides the same way.
inline constexpr TimestampMs kMinEventTimeMs = 946'684'800'000;    // 2000-01-01T00:00:00Z
inline constexpr TimestampMs kMaxEventTimeMs = 4'102'444'800'000;  // 2100-01-01T00:00:00Z
constexpr TimeParseError check_event_time(TimestampMs ts) noexcept {
  return ts < kMinEventTimeMs ? TimeParseError::too_early
         : ts >= kMaxEventTimeMs ? TimeParseError::too_late
                                 : TimeParseError::none;
}
class TimeZone;

// parse_timestamp, then check_event_time.
TimeParseError parse_event_time(std::string_view text, TimestampMs& out, const TimeZone* default_zone = nullptr) noexcept;

// Parses an RFC 3339 date-time ("2026-01-01T10:15:30Z", "2026-01-01T10:15:30.123+02:00"); a space
// may stand for the "T". Fractions beyond milliseconds are truncated. No allocation.
TimeParseError parse_rfc3339(std::string_view text, TimestampMs& out) noexcept;

// What Spark's from_json takes for a TIMESTAMP column as well: RFC 3339, and
// "YYYY-MM-DD HH:MM:SS[.fraction]" with "T" or a space, with or without a zone. A zone is "Z",
// "+HH:MM", "+HHMM" or "+HH" (or "-"), or "UTC"/"GMT" (optionally after a space, optionally with an
// offset: "UTC+02:00"). Without a zone the time is in `default_zone` (nullptr: UTC).
TimeParseError parse_timestamp(std::string_view text, TimestampMs& out, const TimeZone* default_zone = nullptr) noexcept;

// An integer timestamp: epoch seconds or epoch milliseconds, told apart by magnitude (the event-time
// range in seconds, [9.5e8, 4.1e9), and in milliseconds, [9.5e11, 4.1e12), do not overlap).
// Anything else is too_early or too_late.
TimeParseError epoch_to_event_time(std::int64_t value, TimestampMs& out) noexcept;

const char* to_string(TimeParseError e) noexcept;

// Formats as RFC 3339 UTC: "2026-01-01T10:15:30Z", or with ".123" when milliseconds are set.
void format_rfc3339(TimestampMs ts, std::string& out);
std::string format_rfc3339(TimestampMs ts);

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept;

TimestampMs wall_clock_ms() noexcept;

}  // namespace sw
