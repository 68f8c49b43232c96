// The crash monitor's catalogue entry: its service options, demo and deployment settings.
#include <sstream>

#include "common/duration.h"
#include "topologies/catalog.h"
#include "topologies/crash_monitor.h"

namespace sw::topologies {

namespace po = boost::program_options;

Pipeline crash_monitor_pipeline() {
  Pipeline p;
  p.name = "crash-monitor";
  p.service.name = "streamwright-crash-monitor";
  p.service.description = "crash alerts per user from a log stream (stages: parse, aggregate)";
  p.service.default_application_id = "crash-monitor";
  p.service.add_options = [](po::options_description& d) {
    // clang-format off
    d.add_options()
      ("input-topic", po::value<std::string>()->default_value("logs"), "log events (JSON)")
      ("dlq-topic", po::value<std::string>()->default_value("logs-dlq"), "invalid records, with the reason in a header")
      ("alerts-topic", po::value<std::string>()->default_value("crash-alerts"), "alerts (JSON)")
      ("window-size", po::value<std::string>()->default_value("10s"), "tumbling window size")
      ("grace", po::value<std::string>()->default_value("30s"), "how long a window accepts late records")
      ("threshold", po::value<long long>()->default_value(2), "alert when a window's crash count exceeds this")
      ("severities", po::value<std::string>()->default_value("High,Critical"), "comma-separated severities that count")
      ("emit", po::value<std::string>()->default_value("final"),
           "final: one alert per window when it closes; early: as soon as the count crosses the threshold, then updates")
      ("max-record-bytes", po::value<unsigned>()->default_value(65536), "larger input records are dead-lettered")
      ("max-cached-windows", po::value<unsigned>()->default_value(1000000),
           "open windows held in memory per task; beyond it, state is read back from RocksDB (memory bound)");
    // clang-format on
  };
  p.service.build = [](const po::variables_map& vm, const std::string& app) {
    crash_monitor::Config c;
    c.input_topic = vm["input-topic"].as<std::string>();
    c.dead_letter_topic = vm["dlq-topic"].as<std::string>();
    c.alerts_topic = vm["alerts-topic"].as<std::string>();
    c.window_size = parse_duration(vm["window-size"].as<std::string>());
    c.grace = parse_duration(vm["grace"].as<std::string>());
    c.threshold = vm["threshold"].as<long long>();
    c.severities.clear();
    std::stringstream ss(vm["severities"].as<std::string>());
    for (std::string s; std::getline(ss, s, ',');)
      if (!s.empty()) c.severities.push_back(s);
    const auto emit = vm["emit"].as<std::string>();
    if (emit == "final")
      c.emit = EmitStrategy::on_window_close;
    else if (emit == "early")
      c.emit = EmitStrategy::on_window_update;
    else
      throw std::invalid_argument("--emit must be 'final' or 'early', not '" + emit + "'");
    c.max_record_bytes = vm["max-record-bytes"].as<unsigned>();
    c.max_cached_windows = vm["max-cached-windows"].as<unsigned>();
    if (c.max_cached_windows == 0) throw std::invalid_argument("--max-cached-windows must be positive");
    c.default_time_zone = TimeZone::parse(vm["default-time-zone"].as<std::string>());
    return crash_monitor::build(c, app);
  };
  p.build_default = [](const std::string& app) { return crash_monitor::build(crash_monitor::Config{}, app); };
  p.input_topic_options = {{"logs", "inputTopic"}};
  p.output_topic = "crash-alerts";
  p.dead_letter_topic = "logs-dlq";
  p.output_label = "ALERT";
  p.demo_defaults = {{"--grace", "5s"}};
  p.loadgen_mode = "crash-monitor";
  p.loadgen_args = {"--topic", "logs"};
  return p;
}

}  // namespace sw::topologies
