#pragma once
// The crash-monitor pipeline (seeds: logs load generator, crash monitoring per user).
//
//   logs --parse--> <app>-crashes-by-user-repartition --aggregate--> crash-alerts
//
// parse: validate each log event, keep those whose content mentions "crash" (any case) with a
// listed severity, re-key by user_id. aggregate: count per user in tumbling event-time windows
// and publish an alert when a window's count exceeds the threshold.
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "common/time_zone.h"
#include "topology/dsl.h"

namespace sw::crash_monitor {

struct Config {
  std::string input_topic = "logs";
  std::string dead_letter_topic = "logs-dlq";
  std::string alerts_topic = "crash-alerts";
  std::chrono::milliseconds window_size{10'000};
  std::chrono::milliseconds grace{30'000};
  std::int64_t threshold = 2;  // alert when count > threshold
  std::vector<std::string> severities{"High", "Critical"};
  EmitStrategy emit = EmitStrategy::on_window_close;
  std::size_t max_record_bytes = 64 * 1024;
  // Open windows kept in memory per task; beyond it, the aggregate reads through to RocksDB.
  std::size_t max_cached_windows = 1'000'000;
  // The zone of timestamps written without one.
  TimeZone default_time_zone;
};

// A validated log event. The views point into the parser's buffers: valid while it is processed.
struct LogEvent {
  std::string_view user_id;
  std::string_view severity;
  std::string_view content;
  TimestampMs timestamp = kNoTimestamp;
};

// Validates and extracts a log event in one pass; on failure `error` says why. user_id is a string
// or an integer (its text); timestamp as json::read_timestamp takes it (docs/input-formats.md).
bool parse_log_event(std::string_view json, LogEvent& out, std::string& error, const TimeZone* default_zone = nullptr);
Serde<LogEvent> log_event_serde(TimeZone default_zone = {});

// True if `text` contains "crash" in any letter case (ASCII).
bool mentions_crash(std::string_view text) noexcept;

// {"user_id":..,"window_start":..,"window_end":..,"crash_count":..}
void alert_json(std::string& out, std::string_view user_id, const Window& w, std::int64_t count);

Topology build(const Config& config, const std::string& application_id = "crash-monitor");

}  // namespace sw::crash_monitor
