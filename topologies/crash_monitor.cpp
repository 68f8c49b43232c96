#include "topologies/crash_monitor.h"

#include <algorithm>

#include "serde/fields.h"

namespace sw::crash_monitor {

namespace {
enum Field : unsigned { kUser = 1, kSeverity = 2, kContent = 4, kTimestamp = 8 };

}  // namespace

bool parse_log_event(std::string_view text, LogEvent& out, std::string& error, const TimeZone* default_zone) {
  unsigned seen = 0;
  const bool ok = json::parse_object(
      text, seen,
      [](std::string_view key) -> unsigned {
        if (key == "user_id") return kUser;
        if (key == "severity") return kSeverity;
        if (key == "content") return kContent;
        if (key == "timestamp") return kTimestamp;
        return 0;
      },
      [&](unsigned bit, std::string_view key, simdjson::ondemand::value value) {
        switch (bit) {
          case kUser: return json::read_id(value, key, out.user_id, error);
          case kSeverity: return json::read_string(value, key, out.severity, error);
          case kContent: return json::read_string(value, key, out.content, error);
          default: return json::read_timestamp(value, key, default_zone, out.timestamp, error);
        }
      },
      error);
  if (!ok) return false;
  if (!(seen & kUser)) return error = "missing field user_id", false;
  if (!(seen & kSeverity)) return error = "missing field severity", false;
  if (!(seen & kContent)) return error = "missing field content", false;
  if (!(seen & kTimestamp)) return error = "missing field timestamp", false;
  if (out.user_id.empty()) return error = "field user_id is empty", false;
  return true;
}

Serde<LogEvent> log_event_serde(TimeZone default_zone) {
  return {[](const LogEvent&, std::string&) {},  // parse-only: events are never re-serialized
          [zone = std::move(default_zone)](std::string_view in, LogEvent& out, std::string& error) {
            return parse_log_event(in, out, error, &zone);
          }};
}

bool mentions_crash(std::string_view s) noexcept {
  if (s.size() < 5) return false;
  const char* p = s.data();
  const char* end = s.data() + s.size() - 4;
  for (; p < end; ++p) {
    if ((*p | 0x20) != 'c') continue;
    if ((p[1] | 0x20) == 'r' && (p[2] | 0x20) == 'a' && (p[3] | 0x20) == 's' && (p[4] | 0x20) == 'h') return true;
  }
  return false;
}

void alert_json(std::string& out, std::string_view user_id, const Window& w, std::int64_t count) {
  out.clear();
  out += "{\"user_id\":";
  json::append_string(out, user_id);
  out += ",\"window_start\":\"";
  format_rfc3339(w.start, out);
  out += "\",\"window_end\":\"";
  format_rfc3339(w.end, out);
  out += "\",\"crash_count\":";
  out += std::to_string(count);
  out += '}';
}

}  // namespace sw::crash_monitor
