#pragma once
// streamwright-loadgen's command line and environment (the seed's KAFKA_BROKER, KAFKA_TOPIC,
// TARGET_RPS, ADDITIONAL_TERM, ADDITIONAL_TERM_RATE, and KAFKA_BOOTSTRAP_SERVERS): parsed and
// checked before anything connects. Flags win over the environment.
#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/config.h"
#include "services/loadgen/replay.h"
#include "topologies/crash_monitor_data.h"
#include "topologies/join_stats_data.h"
#include "topologies/render_farm_data.h"
#include "topologies/telemetra_data.h"

namespace sw::loadgen {

// The generators --mode selects (the pipeline catalogue names one per pipeline, or "replay").
const std::vector<std::string>& generator_modes();

// An environment variable and the option it sets.
struct EnvironmentVariable {
  const char* name;
  const char* option;
};
// KAFKA_BOOTSTRAP_SERVERS and KAFKA_BROKER (--bootstrap-servers), KAFKA_TOPIC (--topic),
// TARGET_RPS (--rate), ADDITIONAL_TERM (--term), ADDITIONAL_TERM_RATE (--term-rate).
const std::vector<EnvironmentVariable>& environment_variables();

using Environment = std::function<const char*(const char*)>;  // getenv

struct Settings {
  std::string mode = "crash-monitor";
  std::string bootstrap_servers;
  std::string topic;
  std::string viewer_topic;
  double rate = 10000;                 // records per second of this process; 0: as fast as possible
  std::uint64_t count = 0;             // 0: no limit
  std::chrono::milliseconds duration{0};
  std::chrono::milliseconds event_time_span{0}, event_time_end{0};
  crash_monitor::GeneratorConfig logs;
  render_farm::GeneratorConfig frames;
  telemetra::GeneratorConfig chat;
  join_stats::GeneratorConfig sales;
  std::uint32_t instance = 0;
  std::string instance_origin;         // how the instance was chosen, for the start line
  bool quiet = false;
  std::optional<ReplayOptions> replay;
  bool loop = false;
  bool strict = false;
  std::optional<std::string> write_dimensions;
  kafka::Config kafka;
};

enum class ParseOutcome { run, done, usage_error };

// Parses and checks everything; prints --help to `out` (done) and errors to `err` (usage_error:
// exit code 2). `hostname` and `pid` derive the instance when none is given.
ParseOutcome parse_settings(int argc, const char* const* argv, const Environment& env, std::string_view hostname,
                            long pid, Settings& settings, std::ostream& out, std::ostream& err);

// A generator instance from the host name and process id (never 0): replicas started with the
// same flags or environment, in containers (same pid, distinct host names) or on one host
// (distinct pids), get distinct instances.
std::uint32_t derive_instance(std::string_view hostname, long pid) noexcept;

// The seed mixed with the instance (the seed itself for instance 0).
std::uint64_t instance_seed(std::uint64_t seed, std::uint32_t instance) noexcept;

}  // namespace sw::loadgen
