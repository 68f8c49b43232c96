#pragma once
// Timestamps of replayed records, moved forward on each pass of a looping replay and written
// back in the form they were read in.
#include <cstdint>
#include <string>
#include <string_view>

namespace sw::loadgen {

// A timestamp as a JSON token: an epoch-milliseconds integer, or a string
// "YYYY-MM-DD(T| )HH:MM:SS[.fraction][Z|+HH:MM|-HH:MM|+HHMM|+HH]" (RFC 3339, and the form Spark
// and SQL databases print, with or without a zone).
struct TokenTime {
  bool number = false;
  std::int64_t local_ms = 0;      // the written date-time (or number) read as UTC, fraction cut to ms
  std::int32_t offset_min = 0;    // the zone's offset (0 without a zone)
  int fraction_digits = 0;        // digits after the point as written (0: no fraction)
  std::string_view sub_ms;        // fraction digits beyond the third, kept as written
  char separator = 'T';           // 'T', 't' or ' '
  std::string_view zone;          // the zone as written ("Z", "+02:00", "" ...)
  // The instant in epoch milliseconds.
  std::int64_t instant_ms() const noexcept { return local_ms - std::int64_t{offset_min} * 60000; }
  // The smallest step the written form can show: 1000 ms without a fraction, 100 with one digit ...
  std::int64_t precision_ms() const noexcept;
};

// Parses a JSON token (strings with their quotes); false if it is not a timestamp.
bool parse_token_time(std::string_view token, TokenTime& out) noexcept;

// Appends the token moved by `shift_ms`, in its original form (separator, fraction digits, zone;
// digits the shift cannot show are cut, as the original form would). False (nothing appended)
// if the form cannot hold the result: a year outside 0000-9999, or epoch milliseconds beyond
// +-10^15.
bool append_shifted(const TokenTime& t, std::int64_t shift_ms, std::string& out);

}  // namespace sw::loadgen
