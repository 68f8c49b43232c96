// Invalid flags and configuration, for every program: exit code 2, a message naming the bad
// flag (or variable, or file), and a quick exit. Every case points at 127.0.0.1:1, where nothing
// listens, so a program that went on to connect instead of refusing would hang there and fail
// the time limit rather than pass by accident.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "harness.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;

constexpr auto kQuick = 5s;

struct Case {
  std::vector<std::string> args;
  std::string message;                // must appear in stderr
  std::vector<std::string> env = {};  // extra environment
};

struct Outcome {
  std::optional<int> code;
  std::chrono::milliseconds took;
  std::string err;
};

Outcome run(const std::string& program, const Case& c) {
  TempDir dir;
  const auto err = dir.path() / "stderr";
  const auto t0 = std::chrono::steady_clock::now();
  ChildProcess p(bin_dir() + "/" + program, c.args,
                 ChildProcess::Options{false, err.string(), (dir.path() / "stdout").string(), c.env});
  auto code = p.wait(kQuick + 10s);  // generous to see a late exit; the time is asserted below
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  if (!code) p.stop(2s);
  std::ifstream in(err);
  std::stringstream ss;
  ss << in.rdbuf();
  return {code, took, ss.str()};
}

void check_all(const std::string& program, const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    std::string line = program;
    for (const auto& a : c.args) line += " " + a;
    SCOPED_TRACE(line);
    const auto r = run(program, c);
    EXPECT_EQ(r.code.value_or(-1), 2) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << "expected '" << c.message << "' in: " << r.err;
    EXPECT_LT(r.took, kQuick) << "took " << r.took.count() << " ms";
  }
}

const std::string kNowhere = "127.0.0.1:1";

// A properties file that does not exist, and one with a line that is not key=value.
std::string missing_file() { return "/nonexistent/streamwright/client.properties"; }

class InvalidConfig : public ::testing::Test {
 protected:
  std::string bad_properties() {
    const auto p = dir_.path() / "bad.properties";
    std::ofstream(p) << "# ok\nclient.id=x\nthis line has no separator\n";
    return p.string();
  }
  TempDir dir_;
};

// The options every stage service shares (shared/runtime/service.cpp), for each of them.
std::vector<Case> common_cases(const std::vector<std::string>& stage) {
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = stage;
    a.insert(a.end(), {"--bootstrap-servers", kNowhere, "--metrics-port", "0"});
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  return {
      {with({"--no-such-flag"}), "unrecognised option '--no-such-flag'"},
      {with({"--commit-interval", "ten"}), "--commit-interval: invalid duration 'ten'"},
      {with({"--idle-timeout", "5y"}), "--idle-timeout: invalid duration unit in '5y'"},
      {with({"--shutdown-timeout", "0s"}), "--shutdown-timeout must be positive"},
      {with({"--metrics-port", "-1"}), "--metrics-port must not be negative"},
      {with({"--max-poll-records", "-5"}), "--max-poll-records must not be negative"},
      {with({"--state-cache-entries", "0"}), "--state-cache-entries must be positive"},
      {with({"--rocksdb-cache-mb", "-1"}), "--rocksdb-cache-mb must not be negative"},
      {with({"--memory-budget-mb", "16"}), "--memory-budget-mb must be at least 48"},
      {with({"--producer-buffer-mb", "0"}), "--producer-buffer-mb must be at least 1"},
      {with({"--internal-partitions", "-2"}), "--internal-partitions must not be negative"},
      {with({"--metrics-port", "many"}), "--metrics-port"},
      {with({"--log-level", "loud"}), "--log-level must be"},
      {with({"--starting-offsets", "now"}), "--starting-offsets must be earliest or latest, not 'now'"},
      {with({"--default-time-zone", "Mars/Base"}), "--default-time-zone: unknown time zone 'Mars/Base'"},
      {with({"--default-time-zone", "+25:00"}), "--default-time-zone: unknown time zone '+25:00'"},
      {with({}), "--default-time-zone: unknown time zone 'CEST'", {"STREAMWRIGHT_DEFAULT_TIME_ZONE=CEST"}},
      {with({"--application-id", ""}), "--application-id must not be empty"},
      {with({"--kafka-property", "no.such.property=1"}), "--kafka-property: no.such.property: No such configuration property"},
      {with({"--kafka-property", "session.timeout.ms=soon"}), "--kafka-property: session.timeout.ms: Invalid value"},
      {with({"--kafka-property", "novalue"}), "--kafka-property expects key=value"},
      {with({"--kafka-property", "acks=1"}), "Kafka properties (--kafka-property"},  // idempotent producers need acks=all
      {with({"--kafka-properties-file", missing_file()}), "--kafka-properties-file: cannot read '" + missing_file() + "'"},
      {with({}), "KAFKA_PROPERTY_NO_SUCH_PROPERTY: no.such.property", {"KAFKA_PROPERTY_NO_SUCH_PROPERTY=1"}},
      {with({}), "KAFKA_PROPERTY_SASL_PASSWORD_FILE (sasl.password.file): cannot read '/nonexistent/pw'",
       {"KAFKA_PROPERTY_SASL_PASSWORD_FILE=/nonexistent/pw"}},
      {with({}), "--metrics-port must not be negative", {"STREAMWRIGHT_METRICS_PORT=-1"}},
  };
}

TEST_F(InvalidConfig, CrashMonitor) {
  auto cases = common_cases({"--stage", "parse"});
  const std::vector<Case> own{
      {{"--stage", "nope", "--bootstrap-servers", kNowhere}, "unknown stage 'nope'"},
      {{"--stage", "parse"}, "--bootstrap-servers"},
      {{"--stage", "parse", "--bootstrap-servers", kNowhere, "--window-size", "ten"}, "--window-size: invalid duration 'ten'"},
      {{"--stage", "parse", "--bootstrap-servers", kNowhere, "--emit", "sometimes"}, "--emit must be"},
      {{"--stage", "parse", "--bootstrap-servers", kNowhere, "--threshold", "-1"}, "threshold must not be negative"},
      {{"--stage", "parse", "--bootstrap-servers", kNowhere, "--kafka-properties-file", bad_properties()},
       "bad.properties:3: expected key=value"},
  };
  cases.insert(cases.end(), own.begin(), own.end());
  check_all("streamwright-crash-monitor", cases);
}

TEST_F(InvalidConfig, RenderFarm) {
  auto cases = common_cases({"--stage", "enrich", "--scenes", "topic:scenes", "--nodes", "topic:nodes"});
  const std::vector<std::string> base{"--stage", "enrich", "--bootstrap-servers", kNowhere, "--scenes", "topic:scenes",
                                      "--nodes", "topic:nodes"};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  const std::vector<Case> own{
      {{"--stage", "enrich", "--bootstrap-servers", kNowhere, "--scenes", "/nonexistent/scenes.json", "--nodes", "topic:n"},
       "--scenes: cannot read '/nonexistent/scenes.json'"},
      {{"--stage", "enrich", "--bootstrap-servers", kNowhere}, "--scenes"},
      {{"--stage", "nope", "--bootstrap-servers", kNowhere, "--scenes", "topic:s", "--nodes", "topic:n"},
       "unknown stage 'nope'"},
      {with({"--join", "sometimes"}), "--join must be"},
      {with({"--unknown-ids", "maybe"}), "--unknown-ids must be"},
      {with({"--window-size", "-5s"}), "--window-size: invalid duration '-5s'"},
      {with({"--max-record-bytes", "-1"}), "--max-record-bytes must not be negative"},
      {with({"--pre-aggregate", "perhaps"}), "--pre-aggregate"},
  };
  cases.insert(cases.end(), own.begin(), own.end());
  check_all("streamwright-render-farm", cases);
}

TEST_F(InvalidConfig, Telemetra) {
  auto cases = common_cases({"--stage", "parse"});
  const std::vector<std::string> base{"--stage", "parse", "--bootstrap-servers", kNowhere};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  const std::vector<Case> own{
      {{"--stage", "nope", "--bootstrap-servers", kNowhere}, "unknown stage 'nope'"},
      {with({"--grace", "5x"}), "--grace: invalid duration unit in '5x'"},
      {with({"--history-windows", "-3"}), "--history-windows must not be negative"},
      {with({"--window-advance", "0s"}), "window advance must be positive"},
      {with({"--window-size", "25s"}), "window size must be a multiple of the window advance"},
      {with({"--window-size", "650s"}), "a window may span at most 64 advances"},
      {with({"--chatter-chunk", "0"}), "chatter chunk must be positive"},
      {with({"--anomaly-threshold", "high"}), "--anomaly-threshold"},
  };
  cases.insert(cases.end(), own.begin(), own.end());
  check_all("streamwright-telemetra", cases);
}

TEST_F(InvalidConfig, TelemetraSink) {
  const std::vector<std::string> base{"--bootstrap-servers", kNowhere, "--postgres-url", "postgresql://127.0.0.1:1/t",
                                      "--metrics-port", "0"};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  check_all("streamwright-telemetra-sink",
            {
                {with({"--no-such-flag"}), "unrecognised option '--no-such-flag'"},
                {{"--bootstrap-servers", kNowhere}, "--postgres-url"},
                {{"--postgres-url", "postgresql://h/d"}, "--bootstrap-servers"},
                {{"--bootstrap-servers", kNowhere, "--postgres-url", "mysql://h/d"}, "POSTGRES_URL must be"},
                {with({"--batch-rows", "0"}), "--batch-rows must be positive"},
                {with({"--batch-rows", "-1"}), "--batch-rows must not be negative"},
                {with({"--batch-linger", "soon"}), "--batch-linger: invalid duration 'soon'"},
                {with({"--max-backoff", "1d"}), "--max-backoff: invalid duration unit"},
                {with({"--metrics-port", "-1"}), "--metrics-port must not be negative"},
                {with({"--log-level", "loud"}), "--log-level must be"},
                {with({"--postgres-password-file", "/nonexistent/pw"}), "--postgres-password-file: cannot read '/nonexistent/pw'"},
                {with({}), "--postgres-password-file: cannot read", {"POSTGRES_PASSWORD_FILE=/nonexistent/pw"}},
                {with({"--kafka-property", "no.such.property=1"}), "--kafka-property: no.such.property"},
                {with({"--kafka-property", "novalue"}), "--kafka-property expects key=value"},
                {with({"--kafka-properties-file", missing_file()}), "--kafka-properties-file: cannot read"},
                {with({"--kafka-properties-file", bad_properties()}), "bad.properties:3: expected key=value"},
                {with({}), "KAFKA_PROPERTY_NO_SUCH_PROPERTY", {"KAFKA_PROPERTY_NO_SUCH_PROPERTY=1"}},
            });
}

TEST_F(InvalidConfig, LagExporter) {
  const std::vector<std::string> base{"--bootstrap-servers", kNowhere, "--topology", "crash-monitor", "--port", "0"};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  check_all("streamwright-lag-exporter",
            {
                {with({"--no-such-flag"}), "unrecognised option '--no-such-flag'"},
                {{"--topology", "crash-monitor"}, "--bootstrap-servers"},
                {{"--bootstrap-servers", kNowhere}, "give --group or --topology"},
                {{"--bootstrap-servers", kNowhere, "--topology", "nope"}, "unknown pipeline 'nope' (known: crash-monitor"},
                {{"--bootstrap-servers", kNowhere, "--group", "g"}, "--group expects GROUP=TOPIC"},
                {{"--bootstrap-servers", kNowhere, "--group", "g=,"}, "--group 'g=,' names no topic"},
                {with({"--interval", "0s"}), "--interval must be positive"},
                {with({"--interval", "-1s"}), "--interval: invalid duration '-1s'"},
                {with({"--port", "-1"}), "--port must not be negative"},
                {with({"--log-level", "loud"}), "--log-level must be"},
                {with({"--kafka-property", "no.such.property=1"}), "--kafka-property: no.such.property"},
                {with({"--kafka-property", "novalue"}), "--kafka-property expects key=value"},
                {with({"--kafka-properties-file", missing_file()}), "--kafka-properties-file: cannot read"},
                {with({}), "KAFKA_PROPERTY_NO_SUCH_PROPERTY", {"KAFKA_PROPERTY_NO_SUCH_PROPERTY=1"}},
            });
}

TEST_F(InvalidConfig, LoadGenerator) {
  const std::vector<std::string> base{"--bootstrap-servers", kNowhere, "--count", "10", "--quiet"};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  check_all("streamwright-loadgen",
            {
                {with({"--no-such-flag"}), "unrecognised option '--no-such-flag'"},
                {{"--rate", "10"}, "--bootstrap-servers is required"},
                {with({"--mode", "nope"}), "--mode must be"},
                {with({"--rate", "-1"}), "--rate must not be negative"},
                {with({"--users", "-5"}), "--users must not be negative"},
                {with({"--count", "-3"}), "--count must not be negative"},
                {with({"--crash-rate", "2"}), "fractions must be between 0 and 1"},
                {with({"--duration", "5y"}), "--duration: invalid duration unit"},
                {with({"--max-disorder", "soon"}), "--max-disorder: invalid duration 'soon'"},
                {with({"--severity-mix", "Low=x"}), "--severity-mix"},
                {with({"--replay", "/nonexistent/events.jsonl"}), "--replay: cannot read '/nonexistent/events.jsonl'"},
                {with({"--kafka-property", "no.such.property=1"}), "--kafka-property: no.such.property"},
                {with({"--kafka-property", "acks=1"}), "acks"},
                {with({"--kafka-properties-file", missing_file()}), "--kafka-properties-file: cannot read"},
                {with({"--kafka-properties-file", bad_properties()}), "bad.properties:3: expected key=value"},
                {with({}), "KAFKA_PROPERTY_NO_SUCH_PROPERTY", {"KAFKA_PROPERTY_NO_SUCH_PROPERTY=1"}},
            });
}

TEST_F(InvalidConfig, DevBroker) {
  check_all("streamwright-devbroker", {
                                          {{"--no-such-flag"}, "unrecognised option '--no-such-flag'"},
                                          {{"--brokers", "0"}, "--brokers must be between 1 and 16"},
                                          {{"--brokers", "-1"}, "--brokers must be between 1 and 16"},
                                          {{"--brokers", "many"}, "--brokers"},
                                          {{"--topic", "logs"}, "--topic expects name:partitions"},
                                          {{"--topic", "logs:-1"}, "--topic expects name:partitions"},
                                          {{"--topic", "logs:x"}, "--topic expects name:partitions"},
                                          {{"--replication-factor", "0"}, "--replication-factor must be between"},
                                      });
}

TEST_F(InvalidConfig, Launcher) {
  check_all("streamwright",
            {
                {{"frobnicate", "crash-monitor"}, "usage: streamwright"},
                {{"demo", "nope"}, "unknown pipeline 'nope'"},
                {{"up", "crash-monitor"}, "up needs --bootstrap-servers"},
                {{"up", "crash-monitor", "--bootstrap-servers", kNowhere, "--no-such-flag"}, "unrecognised option '--no-such-flag'"},
                {{"demo", "crash-monitor", "--rate", "-5"}, "--rate must not be negative"},
                {{"demo", "crash-monitor", "--duration", "-1"}, "--duration must not be negative"},
                {{"demo", "crash-monitor", "--duration", "soon"}, "--duration"},
                {{"demo", "crash-monitor", "--partitions", "0"}, "--partitions must be positive"},
                {{"demo", "crash-monitor", "--users", "-1"}, "--users must not be negative"},
                {{"demo", "crash-monitor", "--crash-rate", "2"}, "--crash-rate must be between 0 and 1"},
                {{"describe", "crash-monitor", "--bogus"}, "unknown argument '--bogus'"},
                // The stages' Kafka options are checked by the launcher before anything starts.
                {{"up", "crash-monitor", "--bootstrap-servers", kNowhere, "--", "--kafka-property", "no.such.property=1"},
                 "--kafka-property: no.such.property"},
                {{"up", "crash-monitor", "--bootstrap-servers", kNowhere, "--", "--kafka-properties-file", missing_file()},
                 "--kafka-properties-file: cannot read"},
                {{"up", "crash-monitor", "--bootstrap-servers", kNowhere}, "KAFKA_PROPERTY_NO_SUCH_PROPERTY",
                 {"KAFKA_PROPERTY_NO_SUCH_PROPERTY=1"}},
                // Any other stage option: the first stage refuses it and the launcher passes the
                // message and the exit code on.
                {{"up", "crash-monitor", "--bootstrap-servers", kNowhere, "--work-dir", dir_.path().string() + "/w", "--",
                  "--window-size", "ten"},
                 "--window-size: invalid duration 'ten'"},
            });
}

}  // namespace
}  // namespace sw::test
