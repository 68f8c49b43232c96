// Wrong flags and unreachable brokers: a clear message and a non-zero exit, never a crash.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <thread>
#include <sstream>

#include "harness.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;

struct Run {
  int code;
  std::string err;
};

Run run(const std::string& program, const std::vector<std::string>& args, std::chrono::seconds timeout = 30s) {
  TempDir dir;
  const auto log = dir.path() / "stderr.log";
  ChildProcess p(bin_dir() + "/" + program, args, ChildProcess::Options{false, log.string(), (dir.path() / "out").string(), {}});
  const auto code = p.wait(timeout);
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  return {code.value_or(-1), ss.str()};
}

TEST(Cli, BadUsageExitsWithTwoAndSaysWhy) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"--bootstrap-servers", "127.0.0.1:1"}, "--stage is required"},
      {{"--stage", "nope", "--bootstrap-servers", "127.0.0.1:1"}, "unknown stage 'nope'"},
      {{"--stage", "parse"}, "--bootstrap-servers"},
      {{"--stage", "parse", "--bootstrap-servers", "b:1", "--emit", "sometimes"}, "--emit must be"},
      {{"--stage", "parse", "--bootstrap-servers", "b:1", "--window-size", "ten"}, "invalid duration 'ten'"},
      {{"--stage", "parse", "--bootstrap-servers", "b:1", "--grace", "5y"}, "invalid duration unit"},
      {{"--stage", "parse", "--bootstrap-servers", "b:1", "--threshold", "-1"}, "threshold must not be negative"},
      {{"--stage", "parse", "--bootstrap-servers", "b:1", "--kafka-property", "novalue"}, "key=value"},
      {{"--stage", "parse", "--bootstrap-servers", "b:1", "--group-instance-id", "pod 0"}, "--group-instance-id 'pod 0'"},
      {{"--stage", "parse", "--bootstrap-servers", "b:1", "--group-instance-id", ".."}, "not a valid Kafka group instance id"},
      {{"--no-such-flag"}, "unrecognised option"},
      {{"--threshold", "many"}, "threshold"},
  };
  for (const auto& [args, message] : cases) {
    const auto r = run("streamwright-crash-monitor", args);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << "expected '" << message << "' in: " << r.err;
  }
}

TEST(Cli, EnvironmentConfiguresAndFlagsWin) {
  TempDir dir;
  const auto log = dir.path() / "out.log";
  ChildProcess p(bin_dir() + "/streamwright-crash-monitor", {"--describe", "--window-size", "20s"},
                 ChildProcess::Options{true, log.string(), "", {"STREAMWRIGHT_WINDOW_SIZE=1m", "STREAMWRIGHT_GRACE=7s"}});
  std::string all;
  while (auto line = p.read_line(10s)) all += *line + "\n";
  EXPECT_EQ(p.wait(10s).value_or(-1), 0);
  EXPECT_NE(all.find("tumbling(size=20000ms, grace=7000ms)"), std::string::npos) << all;
  EXPECT_NE(all.find("crash-monitor-crashes-by-user-repartition"), std::string::npos) << all;
}

TEST(Cli, UnreachableBrokerFailsWithAClearMessage) {
  const auto r = run("streamwright-crash-monitor",
                     {"--stage", "parse", "--bootstrap-servers", "127.0.0.1:1", "--metrics-port", "0"}, 60s);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("input topic logs is not available"), std::string::npos) << r.err;
}

TEST(Cli, StopsWithinTheShutdownTimeoutWhenTheBrokerIsGone) {
  TempDir dir;
  auto broker = std::make_unique<DevBroker>(std::vector<std::string>{"logs:2", "logs-dlq:1",
                                                                     "crash-monitor-crashes-by-user-repartition:2"});
  Service parse("streamwright-crash-monitor",
                {"--stage", "parse", "--bootstrap-servers", broker->bootstrap(), "--metrics-port", "0", "--state-dir",
                 (dir.path() / "state").string(), "--shutdown-timeout", "3s"},
                dir.path() / "parse.log");
  ASSERT_TRUE(parse.wait_ready(60s));
  broker.reset();  // SIGKILL (and reaped): the broker is gone before the stop begins
  const auto t0 = std::chrono::steady_clock::now();
  parse.process().signal(SIGTERM);
  const auto code = parse.process().wait(20s);
  ASSERT_TRUE(code.has_value()) << "did not exit";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
}

TEST(Cli, KafkaPropertiesFromTheEnvironmentAndSecretsNeverLogged) {
  TempDir dir;
  DevBroker broker({"logs:1", "logs-dlq:1", "crash-monitor-crashes-by-user-repartition:1"});
  const auto log = dir.path() / "parse.log";
  {
    ChildProcess p(bin_dir() + "/streamwright-crash-monitor",
                   {"--stage", "parse", "--bootstrap-servers", broker.bootstrap(), "--metrics-port", "0",
                    "--kafka-property", "sasl.password=flag-secret-123", "--log-level", "debug"},
                   ChildProcess::Options{true, log.string(), "", {"KAFKA_PROPERTY_SSL_KEY_PASSWORD=env-secret-456"}});
    ASSERT_TRUE(p.read_line(60s).has_value());
    p.stop(30s);
  }
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("ssl.key.password=***"), std::string::npos) << text;
  EXPECT_NE(text.find("sasl.password=***"), std::string::npos) << text;
  EXPECT_EQ(text.find("env-secret-456"), std::string::npos);
  EXPECT_EQ(text.find("flag-secret-123"), std::string::npos);
}

TEST(Cli, ToolsRejectBadFlags) {
  EXPECT_EQ(run("streamwright-devbroker", {"--topic", "logs"}).code, 2);
  EXPECT_EQ(run("streamwright-devbroker", {"--brokers", "0"}).code, 2);
  EXPECT_EQ(run("streamwright-loadgen", {"--bootstrap-servers", "b:1", "--crash-rate", "2"}).code, 2);
  EXPECT_EQ(run("streamwright-loadgen", {"--rate", "10"}).code, 2);
  EXPECT_EQ(run("streamwright", {"demo", "nope"}).code, 2);
  EXPECT_EQ(run("streamwright", {"up", "crash-monitor"}).code, 2);
}

TEST(Cli, DescribePrintsTheTopologyAndDrawsIt) {
  TempDir dir;
  const auto dot = dir.path() / "t.dot";
  const auto png = dir.path() / "t.png";
  ChildProcess p(bin_dir() + "/streamwright", {"describe", "crash-monitor", "--dot", dot.string(), "--png", png.string()},
                 ChildProcess::Options{true, (dir.path() / "err").string(), "", {}});
  std::string all;
  while (auto line = p.read_line(20s)) all += *line + "\n";
  ASSERT_EQ(p.wait(20s).value_or(-1), 0) << all;
  for (const char* expected : {"Sub-topology parse (consumer group crash-monitor-parse)",
                               "Sub-topology aggregate (consumer group crash-monitor-aggregate)",
                               "crash-monitor-crash-counts-changelog (changelog, aggregate)"})
    EXPECT_NE(all.find(expected), std::string::npos) << all;
  std::ifstream in(dot);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("cluster_aggregate"), std::string::npos);
  EXPECT_NE(text.find("store:crash-counts"), std::string::npos);
  EXPECT_GT(std::filesystem::file_size(png), 1000u);  // graphviz rendered it
  EXPECT_EQ(run("streamwright", {"describe", "no-such-topology"}).code, 2);
}

TEST(Cli, DevBrokerHelpStatesItsLimits) {
  TempDir dir;
  ChildProcess p(bin_dir() + "/streamwright-devbroker", {"--help"}, ChildProcess::Options{});
  std::string all;
  while (auto line = p.read_line(10s)) all += *line + "\n";
  EXPECT_NE(all.find("5 MiB"), std::string::npos);
  EXPECT_NE(all.find("no TLS"), std::string::npos);
  EXPECT_NE(all.find("memory"), std::string::npos);
}

}  // namespace
}  // namespace sw::test
