// The crash-monitor topology (the parser, serdes and records are in crash_monitor.cpp).
#include <algorithm>
#include <stdexcept>

#include "topologies/crash_monitor.h"

namespace sw::crash_monitor {

Topology build(const Config& c, const std::string& application_id) {
  if (c.threshold < 0) throw std::invalid_argument("threshold must not be negative");
  if (c.severities.empty()) throw std::invalid_argument("at least one severity is required");
  if (c.input_topic.empty() || c.alerts_topic.empty() || c.dead_letter_topic.empty())
    throw std::invalid_argument("topic names must not be empty");
  const auto windows = TimeWindows::tumbling(c.window_size, c.grace);

  StreamsBuilder builder(application_id);
  Consumed<std::string_view, LogEvent> consumed{
      serdes::string_view(), log_event_serde(c.default_time_zone),
      [](const std::string_view&, const LogEvent& e, const InputRecord&) { return e.timestamp; },
      c.dead_letter_topic, c.max_record_bytes};
  const std::vector<std::string> severities = c.severities;
  const std::int64_t threshold = c.threshold;

  builder.stream<std::string_view, LogEvent>(c.input_topic, consumed, "parse")
      .filter(
          [severities](const std::string_view&, const LogEvent& e) {
            if (!mentions_crash(e.content)) return false;
            return std::any_of(severities.begin(), severities.end(),
                               [&](const std::string& s) { return e.severity == s; });
          },
          "crash-with-severity")
      .map<std::string, Unit>(
          [](const std::string_view&, const LogEvent& e) { return std::pair<std::string, Unit>(e.user_id, Unit{}); },
          "key-by-user")
      .group_by<std::string>([](const std::string& user, const Unit&) { return user; },
                             Grouped<std::string, Unit>{"crashes-by-user", "aggregate", serdes::string(), serdes::unit()})
      .window_by(windows, c.emit)
      .count([&] {
        Materialized<std::string, std::int64_t> m{"crash-counts", serdes::string(), serdes::int64()};
        m.max_cached_windows = c.max_cached_windows;
        return m;
      }())
      .to_stream()
      .filter([threshold](const Windowed<std::string>&, const std::int64_t& n) { return n > threshold; },
              "over-threshold")
      .map<std::string, std::string>(
          [](const Windowed<std::string>& k, const std::int64_t& n) {
            std::pair<std::string, std::string> kv(k.key, {});
            alert_json(kv.second, k.key, k.window, n);
            return kv;
          },
          "alert-json")
      .to(c.alerts_topic, Produced<std::string, std::string>{serdes::string(), serdes::string()});
  return builder.build();
}

}  // namespace sw::crash_monitor
