// The crash monitor's log event parser (topologies/crash_monitor.cpp): any bytes, never a crash;
// what it accepts has a user, a plausible event time and valid UTF-8 strings.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "fuzz_check.h"
#include "topologies/crash_monitor.h"

using namespace sw;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  crash_monitor::LogEvent e;
  std::string error;
  if (crash_monitor::parse_log_event(text, e, error)) {
    FUZZ_CHECK(error.empty());
    FUZZ_CHECK(!e.user_id.empty());
    FUZZ_CHECK(check_event_time(e.timestamp) == TimeParseError::none);
    for (auto s : {e.user_id, e.severity, e.content}) FUZZ_CHECK(simdjson::validate_utf8(s.data(), s.size()));
    const std::string user(e.user_id);
    const TimestampMs ts = e.timestamp;
    (void)crash_monitor::mentions_crash(e.content);
    std::string alert;
    crash_monitor::alert_json(alert, e.user_id, Window{ts, ts + 10'000}, 3);
    // The parser's buffers are reused: the same input parses the same way again.
    crash_monitor::LogEvent again;
    FUZZ_CHECK(crash_monitor::parse_log_event(text, again, error));
    FUZZ_CHECK(again.user_id == user && again.timestamp == ts);
  } else {
    FUZZ_CHECK(!error.empty());
  }
  return 0;
}
