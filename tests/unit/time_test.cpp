#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/duration.h"
#include "common/time.h"
#include "common/time_zone.h"

namespace sw {
namespace {

using std::chrono::milliseconds;

// 2026-01-01T00:00:00Z
constexpr TimestampMs k2026 = 1767225600000;

// Parses text that must be valid; a sentinel in `out` beforehand shows it was written.
TimestampMs parse_ok(std::string_view text) {
  TimestampMs t = 42;
  const auto e = parse_rfc3339(text, t);
  EXPECT_EQ(e, TimeParseError::none) << "input: \"" << text << "\" error: " << to_string(e);
  return t;
}

// Parses text that must fail; checks the output is left untouched.
TimeParseError parse_err(std::string_view text) {
  TimestampMs t = 42;
  const auto e = parse_rfc3339(text, t);
  EXPECT_EQ(t, 42) << "output written for failing input \"" << text << "\"";
  return e;
}

// ---------------------------------------------------------------------------------------------
// parse_rfc3339: accepted forms

TEST(Rfc3339, ParsesUtcAndOffsets) {
  TimestampMs t = 0;
  ASSERT_EQ(parse_rfc3339("2026-01-01T10:15:30Z", t), TimeParseError::none);
  EXPECT_EQ(t, 1767262530000);
  ASSERT_EQ(parse_rfc3339("2026-01-01T10:15:30.123+00:00", t), TimeParseError::none);
  EXPECT_EQ(t, 1767262530123);
  ASSERT_EQ(parse_rfc3339("2026-01-01T12:15:30.123+02:00", t), TimeParseError::none);
  EXPECT_EQ(t, 1767262530123);
}

TEST(Rfc3339, EpochAndMidnight) {
  EXPECT_EQ(parse_ok("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00Z"), k2026);
  EXPECT_EQ(parse_ok("2025-12-31T23:59:59Z"), k2026 - 1000);
}

TEST(Rfc3339, LowercaseSeparatorAndZone) {
  EXPECT_EQ(parse_ok("2026-01-01t00:00:00Z"), k2026);
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00z"), k2026);
  EXPECT_EQ(parse_ok("2026-01-01t00:00:00z"), k2026);
  EXPECT_EQ(parse_ok("2026-01-01t00:00:00.5z"), k2026 + 500);
}

TEST(Rfc3339, SpaceSeparatorWithZoneIsAccepted) {
  // RFC 3339 section 5.6 allows a space instead of 'T' for readability; the parser takes it (a
  // zone is still required, see SyntaxErrors).
  EXPECT_EQ(parse_ok("2026-01-01 00:00:00Z"), k2026);
  EXPECT_EQ(parse_ok("2026-01-01 02:00:00.250+02:00"), k2026 + 250);
}

TEST(Rfc3339, PositiveOffsetIsSubtracted) {
  // 02:00 at +02:00 is midnight UTC.
  EXPECT_EQ(parse_ok("2026-01-01T02:00:00+02:00"), k2026);
  EXPECT_EQ(parse_ok("2026-01-01T05:30:00+05:30"), k2026);
  // Crosses back over the day (and year) boundary.
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00+01:00"), k2026 - 3600'000);
}

TEST(Rfc3339, NegativeOffsetIsAdded) {
  EXPECT_EQ(parse_ok("2025-12-31T19:00:00-05:00"), k2026);
  EXPECT_EQ(parse_ok("2025-12-31T20:15:00-03:45"), k2026);
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00-00:30"), k2026 + 30 * 60'000);
}

TEST(Rfc3339, ZeroOffsetsEqualZ) {
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00+00:00"), k2026);
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00-00:00"), k2026);
}

TEST(Rfc3339, ExtremeValidOffsets) {
  EXPECT_EQ(parse_ok("2026-01-01T23:59:00+23:59"), k2026);
  EXPECT_EQ(parse_ok("2025-12-31T00:01:00-23:59"), k2026);
}

TEST(Rfc3339, FractionsOfOneToNineDigitsTruncateToMillis) {
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00.1Z"), k2026 + 100);
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00.12Z"), k2026 + 120);
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00.123Z"), k2026 + 123);
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00.1239Z"), k2026 + 123);
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00.12399Z"), k2026 + 123);
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00.123999Z"), k2026 + 123);
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00.9999999Z"), k2026 + 999);
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00.99999999Z"), k2026 + 999);
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00.999999999Z"), k2026 + 999);
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00.000000001Z"), k2026);
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00.000Z"), k2026);
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00.007+00:00"), k2026 + 7);
  EXPECT_EQ(parse_ok("2026-01-01T01:00:00.050+01:00"), k2026 + 50);
}

TEST(Rfc3339, LeapYears) {
  EXPECT_EQ(parse_ok("2024-02-29T00:00:00Z"), 1709164800000);
  EXPECT_EQ(parse_ok("2000-02-29T12:00:00Z"), (11017 - 1) * 86400'000LL + 12 * 3600'000LL);
  EXPECT_EQ(parse_err("2025-02-29T00:00:00Z"), TimeParseError::out_of_range);
  EXPECT_EQ(parse_err("1900-02-29T00:00:00Z"), TimeParseError::out_of_range);  // century, not leap
  EXPECT_EQ(parse_err("2024-02-30T00:00:00Z"), TimeParseError::out_of_range);
  EXPECT_EQ(parse_ok("2025-02-28T00:00:00Z"), parse_ok("2025-03-01T00:00:00Z") - 86400'000);
}

TEST(Rfc3339, DaysPerMonth) {
  EXPECT_EQ(parse_ok("2026-01-31T00:00:00Z"), k2026 + 30 * 86400'000LL);
  EXPECT_EQ(parse_err("2026-04-31T00:00:00Z"), TimeParseError::out_of_range);
  EXPECT_EQ(parse_err("2026-06-31T00:00:00Z"), TimeParseError::out_of_range);
  EXPECT_EQ(parse_err("2026-09-31T00:00:00Z"), TimeParseError::out_of_range);
  EXPECT_EQ(parse_err("2026-11-31T00:00:00Z"), TimeParseError::out_of_range);
  parse_ok("2026-12-31T23:59:59.999Z");
}

TEST(Rfc3339, FieldsOutOfRange) {
  EXPECT_EQ(parse_err("2026-13-01T00:00:00Z"), TimeParseError::out_of_range);
  EXPECT_EQ(parse_err("2026-00-01T00:00:00Z"), TimeParseError::out_of_range);
  EXPECT_EQ(parse_err("2026-01-32T00:00:00Z"), TimeParseError::out_of_range);
  EXPECT_EQ(parse_err("2026-01-00T00:00:00Z"), TimeParseError::out_of_range);
  EXPECT_EQ(parse_err("2026-01-01T24:00:00Z"), TimeParseError::out_of_range);
  EXPECT_EQ(parse_err("2026-01-01T00:60:00Z"), TimeParseError::out_of_range);
  EXPECT_EQ(parse_err("2026-01-01T00:00:61Z"), TimeParseError::out_of_range);
  EXPECT_EQ(parse_err("2026-01-01T00:00:00+24:00"), TimeParseError::out_of_range);
  EXPECT_EQ(parse_err("2026-01-01T00:00:00+00:60"), TimeParseError::out_of_range);
}

TEST(Rfc3339, LeapSecondFoldsIntoSecond59) {
  EXPECT_EQ(parse_ok("2016-12-31T23:59:60Z"), parse_ok("2016-12-31T23:59:59Z"));
  EXPECT_EQ(parse_ok("2016-12-31T23:59:60.500Z"), parse_ok("2016-12-31T23:59:59.500Z"));
  EXPECT_EQ(parse_ok("2025-12-31T23:59:60Z"), k2026 - 1000);
}

TEST(Rfc3339, SyntaxErrors) {
  const char* bad[] = {
      "",                                // empty
      "2026",                            // too short
      "2026-01-01",                      // date only
      "2026-01-01T10:00:00",             // missing zone
      "2026-01-01 10:00:00",             // space separator, no zone
      "2026-01-01T10:00",                // no seconds
      "2026-01-01T10:00:00.Z",           // empty fraction
      "2026-01-01T10:00:00.123",         // fraction, then no zone
      "2026-01-01T10:00:00ZZ",           // trailing garbage
      "2026-01-01T10:00:00Z ",           // trailing space
      "2026-01-01T10:00:00+02:00x",      // trailing garbage after offset
      "2026-01-01T10:00:00.123Zabc",     // trailing garbage after fraction
      "2026-01-01T10:00:00+0200",        // offset without colon
      "2026-01-01T10:00:00+02",          // offset without minutes
      "2026-01-01T10:00:00+2:00",        // one-digit offset hour
      "2026-01-01T10:00:00+02:0",        // one-digit offset minute
      "2026-01-01T10:00:00UTC",          // named zone
      "2026-01-01T10:00:00 Z",           // space before zone
      "2026-01-01X10:00:00Z",            // bad separator
      "2026/01/01T10:00:00Z",            // bad date separator
      "2026-01-01T10-00-00Z",            // bad time separator
      "202a-01-01T10:00:00Z",            // letters in year
      "2026-0b-01T10:00:00Z",            // letters in month
      "2026-01-0cT10:00:00Z",            // letters in day
      "2026-01-01T1d:00:00Z",            // letters in hour
      "2026-01-01T10:e0:00Z",            // letters in minute
      "2026-01-01T10:00:0fZ",            // letters in second
      "2026-01-01T10:00:00+0a:00",       // letters in offset
      "2026-01-01T10:00:00.12a4Z",       // letters in fraction
      "26-01-01T10:00:00Z",              // two-digit year
      "2026-1-01T10:00:00Z",             // one-digit month
      "+2026-01-01T10:00:00Z",           // signed year
      " 2026-01-01T10:00:00Z",           // leading space
  };
  for (const char* s : bad) {
    SCOPED_TRACE(std::string("input: \"") + s + "\"");
    EXPECT_EQ(parse_err(s), TimeParseError::syntax);
  }
}

TEST(Rfc3339, SyntaxErrorsInsideALongerBuffer) {
  // The parser must only look at the view, not at what follows it in memory.
  const std::string buffer = "2026-01-01T10:00:00Z";
  const std::string_view without_zone(buffer.data(), buffer.size() - 1);
  EXPECT_EQ(parse_err(without_zone), TimeParseError::syntax);
  const std::string offset = "2026-01-01T10:00:00+02:00";
  EXPECT_EQ(parse_err(std::string_view(offset.data(), offset.size() - 1)), TimeParseError::syntax);
  EXPECT_EQ(parse_err(std::string_view(offset.data(), offset.size() - 3)), TimeParseError::syntax);
}

TEST(Rfc3339, ErrorsHaveDistinctMessages) {
  const std::string none = to_string(TimeParseError::none);
  const std::string syntax = to_string(TimeParseError::syntax);
  const std::string range = to_string(TimeParseError::out_of_range);
  EXPECT_NE(syntax, range);
  EXPECT_NE(syntax, none);
  EXPECT_NE(range, none);
  EXPECT_NE(syntax.find("RFC 3339"), std::string::npos);
  EXPECT_NE(range.find("range"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// format_rfc3339

TEST(FormatRfc3339, KnownValues) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(1767262530000), "2026-01-01T10:15:30Z");
  EXPECT_EQ(format_rfc3339(1767262530123), "2026-01-01T10:15:30.123Z");
  EXPECT_EQ(format_rfc3339(1767262530007), "2026-01-01T10:15:30.007Z");
  EXPECT_EQ(format_rfc3339(1709164800000), "2024-02-29T00:00:00Z");
}

TEST(FormatRfc3339, NegativeTimestamps) {
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339(-1000), "1969-12-31T23:59:59Z");
  EXPECT_EQ(format_rfc3339(-86400000), "1969-12-31T00:00:00Z");
  EXPECT_EQ(format_rfc3339(-86400001), "1969-12-30T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339(-14182940000), "1969-07-20T20:17:40Z");
  EXPECT_EQ(format_rfc3339(-2208988800000), "1900-01-01T00:00:00Z");
}

TEST(FormatRfc3339, AppendsToExistingString) {
  std::string out = "at ";
  format_rfc3339(1500, out);
  EXPECT_EQ(out, "at 1970-01-01T00:00:01.500Z");
}

TEST(FormatRfc3339, RoundTripsThroughParse) {
  const TimestampMs values[] = {
      0,           1,           999,          1000,           1767262530000, 1767262530123,
      -1,          -999,        -1000,        -1001,          -86400000,     -86400001,
      -2208988800000, 1709164800000, 951782400000 /* 2000-02-29 */, 253402300799999 /* 9999-12-31T23:59:59.999 */,
      -62135596800000 /* 0001-01-01 */};
  for (TimestampMs v : values) {
    SCOPED_TRACE("ts=" + std::to_string(v));
    const std::string text = format_rfc3339(v);
    EXPECT_EQ(parse_ok(text), v) << text;
    // Only a non-zero millisecond part produces a fraction.
    EXPECT_EQ(text.find('.') != std::string::npos, ((v % 1000) + 1000) % 1000 != 0) << text;
  }
}

TEST(FormatRfc3339, ParseThenFormatNormalisesToUtc) {
  EXPECT_EQ(format_rfc3339(parse_ok("2026-01-01T12:15:30.123+02:00")), "2026-01-01T10:15:30.123Z");
  EXPECT_EQ(format_rfc3339(parse_ok("2025-12-31T19:00:00-05:00")), "2026-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(parse_ok("2026-01-01t00:00:00.120000z")), "2026-01-01T00:00:00.120Z");
}

// ---------------------------------------------------------------------------------------------
// days_from_civil

TEST(DaysFromCivil, KnownValues) {
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(1970, 1, 2), 1);
  EXPECT_EQ(days_from_civil(1969, 12, 31), -1);
  EXPECT_EQ(days_from_civil(2000, 1, 1), 10957);
  EXPECT_EQ(days_from_civil(2000, 3, 1), 11017);
  EXPECT_EQ(days_from_civil(2024, 2, 29), 19782);
  EXPECT_EQ(days_from_civil(2026, 1, 1), 20454);
  EXPECT_EQ(days_from_civil(1900, 3, 1), -25508);
  EXPECT_EQ(days_from_civil(1600, 1, 1), -135140);
  EXPECT_EQ(days_from_civil(1, 1, 1), -719162);
  EXPECT_EQ(days_from_civil(9999, 12, 31), 2932896);
}

TEST(DaysFromCivil, ConsecutiveAcrossMonthAndYearEnds) {
  EXPECT_EQ(days_from_civil(2024, 3, 1) - days_from_civil(2024, 2, 28), 2);  // leap
  EXPECT_EQ(days_from_civil(2025, 3, 1) - days_from_civil(2025, 2, 28), 1);
  EXPECT_EQ(days_from_civil(2026, 1, 1) - days_from_civil(2025, 12, 31), 1);
  EXPECT_EQ(days_from_civil(2025, 1, 1) - days_from_civil(2024, 1, 1), 366);
  EXPECT_EQ(days_from_civil(2026, 1, 1) - days_from_civil(2025, 1, 1), 365);
  EXPECT_EQ(days_from_civil(2001, 1, 1) - days_from_civil(2000, 1, 1), 366);  // 400-year rule
  EXPECT_EQ(days_from_civil(1901, 1, 1) - days_from_civil(1900, 1, 1), 365);  // 100-year rule
}

// ---------------------------------------------------------------------------------------------
// parse_duration / format_duration

TEST(ParseDuration, Units) {
  EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_duration("10s"), milliseconds(10'000));
  EXPECT_EQ(parse_duration("5m"), milliseconds(300'000));
  EXPECT_EQ(parse_duration("5min"), milliseconds(300'000));
  EXPECT_EQ(parse_duration("1h"), milliseconds(3'600'000));
  EXPECT_EQ(parse_duration("24h"), milliseconds(86'400'000));
}

TEST(ParseDuration, BareNumberIsMilliseconds) {
  EXPECT_EQ(parse_duration("1500"), milliseconds(1500));
  EXPECT_EQ(parse_duration("0"), milliseconds(0));
  EXPECT_EQ(parse_duration("0s"), milliseconds(0));
}

TEST(ParseDuration, LargestAcceptedValue) {
  constexpr long long kMax = 1LL << 50;  // the documented-by-code ceiling in milliseconds
  EXPECT_EQ(parse_duration(std::to_string(kMax)), milliseconds(kMax));
  EXPECT_EQ(parse_duration(std::to_string(kMax / 3'600'000) + "h"), milliseconds(kMax / 3'600'000 * 3'600'000));
}

void expect_invalid_duration(const std::string& text, const std::string& message_part) {
  SCOPED_TRACE("input: \"" + text + "\"");
  try {
    (void)parse_duration(text);
    ADD_FAILURE() << "no exception for \"" << text << "\"";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'" + text + "'"), std::string::npos) << "message does not name the text: " << what;
    EXPECT_NE(what.find(message_part), std::string::npos) << what;
  }
}

TEST(ParseDuration, Errors) {
  expect_invalid_duration("", "invalid duration");
  expect_invalid_duration("-1s", "invalid duration");
  expect_invalid_duration("-1", "invalid duration");
  expect_invalid_duration("s", "invalid duration");
  expect_invalid_duration("ms", "invalid duration");
  expect_invalid_duration("+5s", "invalid duration");
  expect_invalid_duration(" 5s", "invalid duration");
  expect_invalid_duration("10x", "unit");
  expect_invalid_duration("10 s", "unit");
  expect_invalid_duration("10S", "unit");
  expect_invalid_duration("10sec", "unit");
  expect_invalid_duration("1.5s", "unit");
  expect_invalid_duration("10s ", "unit");
  expect_invalid_duration("1d", "unit");
}

TEST(ParseDuration, HugeValues) {
  // Does not fit in long long at all.
  expect_invalid_duration("99999999999999999999999", "invalid duration");
  // Fits, but over the ceiling once multiplied.
  expect_invalid_duration(std::to_string((1LL << 50) + 1), "too large");
  expect_invalid_duration(std::to_string((1LL << 50) / 1000 + 1) + "s", "too large");
  expect_invalid_duration("9223372036854775807h", "too large");
  expect_invalid_duration("9223372036854775807m", "too large");
}

TEST(FormatDuration, LargestWholeUnit) {
  EXPECT_EQ(format_duration(milliseconds(250)), "250ms");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(milliseconds(10'000)), "10s");
  EXPECT_EQ(format_duration(milliseconds(90'000)), "90s");
  EXPECT_EQ(format_duration(milliseconds(300'000)), "5m");
  EXPECT_EQ(format_duration(milliseconds(5'400'000)), "90m");
  EXPECT_EQ(format_duration(milliseconds(3'600'000)), "1h");
  EXPECT_EQ(format_duration(milliseconds(0)), "0ms");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  for (long long ms : {0LL, 1LL, 250LL, 999LL, 1000LL, 1001LL, 59'000LL, 60'000LL, 61'000LL, 3'600'000LL,
                       7'260'000LL, 86'400'000LL}) {
    SCOPED_TRACE(ms);
    EXPECT_EQ(parse_duration(format_duration(milliseconds(ms))), milliseconds(ms));
  }
}

// ---------------------------------------------------------------------------------------------
// parse_timestamp: the liberal forms (Spark's) and the default zone

TEST(ParseTimestamp, AcceptsSparkFormsWithAndWithoutAZone) {
  const TimestampMs want = k2026 + 10 * 3600000 + 15 * 60000 + 30000 + 120;
  for (const char* s : {"2026-01-01T10:15:30.120Z", "2026-01-01 10:15:30.12", "2026-01-01T10:15:30.120000",
                        "2026-01-01 10:15:30.120 UTC", "2026-01-01 10:15:30.120GMT", "2026-01-01 11:15:30.120+01",
                        "2026-01-01 11:15:30.120+0100", "2026-01-01 09:15:30.120-01:00", "2026-01-01 11:15:30.120 UTC+01:00"}) {
    TimestampMs t = 0;
    EXPECT_EQ(parse_timestamp(s, t), TimeParseError::none) << s;
    EXPECT_EQ(t, want) << s;
  }
}

TEST(ParseTimestamp, StrictRfc3339StillNeedsAZone) {
  TimestampMs t = 0;
  EXPECT_EQ(parse_rfc3339("2026-01-01 10:15:30", t), TimeParseError::syntax);
  EXPECT_EQ(parse_rfc3339("2026-01-01T10:15:30+0100", t), TimeParseError::syntax);
  EXPECT_EQ(parse_timestamp("2026-01-01 10:15:30", t), TimeParseError::none);
}

TEST(ParseTimestamp, RejectsWhatSparkDoesNotTakeByDefault) {
  for (const char* s : {"2026-01-01", "2026-01-01 10:15", "2026-01-01 10:15:30 +01:00", "2026-01-01 10:15:30+1",
                        "2026-01-01 10:15:30 CET", "2026-01-01 10:15:30.", "2026/01/01 10:15:30"}) {
    TimestampMs t = 42;
    EXPECT_EQ(parse_timestamp(s, t), TimeParseError::syntax) << s;
    EXPECT_EQ(t, 42) << s;
  }
  TimestampMs t = 0;
  EXPECT_EQ(parse_timestamp("2026-01-01 10:15:30+24:00", t), TimeParseError::out_of_range);
}

TEST(EpochToEventTime, SecondsAndMillisecondsAreToldApartByMagnitude) {
  TimestampMs t = 0;
  ASSERT_EQ(epoch_to_event_time(1767225600, t), TimeParseError::none);
  EXPECT_EQ(t, k2026);
  ASSERT_EQ(epoch_to_event_time(1767225600123, t), TimeParseError::none);
  EXPECT_EQ(t, k2026 + 123);
  ASSERT_EQ(epoch_to_event_time(kMinEventTimeMs / 1000, t), TimeParseError::none);
  EXPECT_EQ(t, kMinEventTimeMs);
  EXPECT_EQ(epoch_to_event_time(kMaxEventTimeMs / 1000, t), TimeParseError::too_early);  // neither range
  EXPECT_EQ(epoch_to_event_time(5, t), TimeParseError::too_early);
  EXPECT_EQ(epoch_to_event_time(kMaxEventTimeMs, t), TimeParseError::too_late);
  EXPECT_EQ(epoch_to_event_time(INT64_MAX, t), TimeParseError::too_late);
  EXPECT_EQ(epoch_to_event_time(INT64_MIN, t), TimeParseError::too_early);
}

TEST(TimeZone, FixedOffsetsAndUtc) {
  EXPECT_TRUE(TimeZone().is_utc());
  EXPECT_TRUE(TimeZone::parse("UTC").is_utc());
  EXPECT_TRUE(TimeZone::parse("Z").is_utc());
  EXPECT_EQ(TimeZone::parse("+02:00").to_utc_ms(k2026), k2026 - 7200000);
  EXPECT_EQ(TimeZone::parse("-0530").to_utc_ms(k2026), k2026 + 19800000);
  EXPECT_EQ(TimeZone::parse("UTC+01").to_utc_ms(k2026), k2026 - 3600000);
  EXPECT_EQ(TimeZone::parse("GMT-03:00").offset_at(0), -3 * 3600);
}

TEST(TimeZone, UnknownOrMalformedZonesAreRejectedWithTheirName) {
  for (const char* z : {"", "Mars/Olympus", "+25:00", "+02:61", "../etc/passwd", "/etc/localtime", "Europe/Berlin x"}) {
    try {
      TimeZone::parse(z);
      ADD_FAILURE() << "accepted '" << z << "'";
    } catch (const std::invalid_argument& e) {
      if (*z) {
        EXPECT_NE(std::string(e.what()).find(z), std::string::npos) << e.what();
      }
    }
  }
  EXPECT_THROW(TimeZone::parse("Europe/Berlin", "/nonexistent"), std::invalid_argument);
}

TEST(TimeZone, IanaZonesFollowDaylightSavingTime) {
  const TimeZone berlin = TimeZone::parse("Europe/Berlin");
  const TimestampMs jan = k2026 + 12 * 3600000;          // 2026-01-01 12:00 local
  EXPECT_EQ(berlin.to_utc_ms(jan), jan - 3600000);       // CET
  TimestampMs july = 0;
  ASSERT_EQ(parse_rfc3339("2026-07-01T12:00:00Z", july), TimeParseError::none);
  EXPECT_EQ(berlin.to_utc_ms(july), july - 7200000);     // CEST
  // Beyond the last transition the file lists (2037): the footer's rule.
  TimestampMs later = 0;
  ASSERT_EQ(parse_rfc3339("2087-07-01T12:00:00Z", later), TimeParseError::none);
  EXPECT_EQ(berlin.to_utc_ms(later), later - 7200000);
  ASSERT_EQ(parse_rfc3339("2087-12-01T12:00:00Z", later), TimeParseError::none);
  EXPECT_EQ(berlin.to_utc_ms(later), later - 3600000);
  const TimeZone ny = TimeZone::parse("America/New_York");
  EXPECT_EQ(ny.to_utc_ms(jan), jan + 5 * 3600000);
  const TimeZone kolkata = TimeZone::parse("Asia/Kolkata");  // no daylight saving time
  EXPECT_EQ(kolkata.to_utc_ms(jan), jan - 19800000);
}

// As java.time resolves them (Spark): a repeated hour takes the earlier (summer) offset, a skipped
// hour moves forward by the gap.
TEST(TimeZone, RepeatedAndSkippedLocalTimes) {
  const TimeZone berlin = TimeZone::parse("Europe/Berlin");
  TimestampMs local = 0, want = 0;
  // 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
  ASSERT_EQ(parse_rfc3339("2026-10-25T02:30:00Z", local), TimeParseError::none);
  ASSERT_EQ(parse_rfc3339("2026-10-25T00:30:00Z", want), TimeParseError::none);
  EXPECT_EQ(berlin.to_utc_ms(local), want);
  // 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 does not exist and means 03:30 CEST.
  ASSERT_EQ(parse_rfc3339("2026-03-29T02:30:00Z", local), TimeParseError::none);
  ASSERT_EQ(parse_rfc3339("2026-03-29T01:30:00Z", want), TimeParseError::none);
  EXPECT_EQ(berlin.to_utc_ms(local), want);
  // Just around the switches.
  ASSERT_EQ(parse_rfc3339("2026-03-29T01:59:59Z", local), TimeParseError::none);
  EXPECT_EQ(berlin.to_utc_ms(local), local - 3600000);
  ASSERT_EQ(parse_rfc3339("2026-03-29T03:00:00Z", local), TimeParseError::none);
  EXPECT_EQ(berlin.to_utc_ms(local), local - 7200000);
}

TEST(TimeZone, ParseTimestampUsesTheDefaultZoneOnlyWithoutAZone) {
  const TimeZone tokyo = TimeZone::parse("Asia/Tokyo");
  TimestampMs t = 0;
  ASSERT_EQ(parse_timestamp("2026-01-01 09:00:00", t, &tokyo), TimeParseError::none);
  EXPECT_EQ(t, k2026);
  ASSERT_EQ(parse_timestamp("2026-01-01 09:00:00Z", t, &tokyo), TimeParseError::none);
  EXPECT_EQ(t, k2026 + 9 * 3600000);
}

}  // namespace
}  // namespace sw
