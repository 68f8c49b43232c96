// The timestamp parsers (shared/common/time.cpp): any bytes, never a crash; what strict RFC 3339
// accepts the liberal parser accepts with the same value; an accepted time formats and parses back
// to itself, and parse_event_time agrees with check_event_time.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/time.h"
#include "fuzz_check.h"

using namespace sw;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  TimestampMs strict = kNoTimestamp;
  const auto se = parse_rfc3339(text, strict);
  TimestampMs ts = kNoTimestamp;
  const auto e = parse_timestamp(text, ts);
  FUZZ_CHECK(to_string(e) != nullptr);
  if (se == TimeParseError::none) FUZZ_CHECK(e == TimeParseError::none && ts == strict);
  TimestampMs event = kNoTimestamp;
  const auto ee = parse_event_time(text, event);
  if (e != TimeParseError::none) {
    FUZZ_CHECK(ts == kNoTimestamp && ee == e && event == kNoTimestamp);
    return 0;
  }
  // Years 0000-9999 with offsets up to +-23:59: within a day of that range.
  FUZZ_CHECK(ts >= -62167219200000LL - 86400000LL && ts < 253402300800000LL + 86400000LL);
  FUZZ_CHECK(ee == check_event_time(ts));
  FUZZ_CHECK(ee == TimeParseError::none ? event == ts : event == kNoTimestamp);
  if (ts >= -62167219200000LL && ts < 253402300800000LL) {  // formats with a four-digit year (0000-9999)
    const auto formatted = format_rfc3339(ts);
    TimestampMs back = kNoTimestamp;
    FUZZ_CHECK(parse_rfc3339(formatted, back) == TimeParseError::none);
    FUZZ_CHECK(back == ts);
  }
  return 0;
}
