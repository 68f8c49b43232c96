// The launcher: `demo` runs everything and shows alerts; `up` runs the stages against a given
// broker and stops them cleanly on SIGTERM.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <regex>
#include <thread>

#include "common/time.h"
#include "harness.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;

TEST(Launcher, UpRunsTheStagesAgainstABrokerAndStopsCleanly) {
  TempDir dir;
  DevBroker broker({"logs:2", "logs-dlq:1", "crash-alerts:2", "crash-monitor-crashes-by-user-repartition:2",
                    "crash-monitor-crash-counts-changelog:2"});
  ChildProcess up(bin_dir() + "/streamwright",
                  {"up", "crash-monitor", "--bootstrap-servers", broker.bootstrap(), "--work-dir",
                   (dir.path() / "work").string(), "--", "--idle-timeout", "1s"},
                  ChildProcess::Options{true, (dir.path() / "up.err").string(), "", {}});
  std::vector<std::uint16_t> ports;
  std::string out;
  const std::regex port_in_line(R"(running \(pid [0-9]+, metrics http://127\.0\.0\.1:([0-9]+)/metrics)");
  while (auto line = up.read_line(60s)) {
    out += *line + "\n";
    std::smatch m;
    if (std::regex_search(*line, m, port_in_line)) ports.push_back(static_cast<std::uint16_t>(std::stoi(m[1])));
    if (line->rfind("watching", 0) == 0) break;
  }
  ASSERT_EQ(ports.size(), 2u) << out;
  // Both stages joined their groups (ready: partitions assigned).
  for (const auto port : ports) {
    EXPECT_TRUE(eventually(
        [port] {
          int status = 0;
          http_get(port, "/readyz", &status);
          return status == 200;
        },
        60s, 100ms))
        << "stage on port " << port;
  }
  TestProducer p(broker.bootstrap());
  for (int s = 1; s <= 4; ++s) {
    p.send("logs", 0, "A",
           nlohmann::json{{"user_id", "A"}, {"severity", "High"}, {"content", "crash"},
                          {"timestamp", format_rfc3339(1767261600000 + s * 1000)}}
               .dump());
  }
  p.flush();
  TopicReader alerts(broker.bootstrap(), "crash-alerts");
  const auto& records = alerts.read_until([](const auto& r) { return !r.empty(); }, 60s, 500ms);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_NE(records[0].value.find("\"crash_count\":4"), std::string::npos) << records[0].value;
  up.signal(SIGTERM);
  EXPECT_EQ(up.wait(90s).value_or(-1), 0);
  while (auto line = up.read_line(1s)) out += *line + "\n";
  EXPECT_NE(out.find("stage parse stopped (exit 0)"), std::string::npos) << out;
  EXPECT_NE(out.find("stage aggregate stopped (exit 0)"), std::string::npos) << out;
}

TEST(Launcher, DemoShowsAlertsAndThroughputThenStops) {
  TempDir dir;
  ChildProcess demo(bin_dir() + "/streamwright",
                    {"demo", "crash-monitor", "--duration", "25", "--rate", "5000", "--work-dir",
                     (dir.path() / "work").string()},
                    ChildProcess::Options{true, (dir.path() / "demo.err").string(), "", {}});
  std::string out;
  while (auto line = demo.read_line(90s)) out += *line + "\n";
  EXPECT_EQ(demo.wait(30s).value_or(-1), 0) << out;
  EXPECT_NE(out.find("dev broker at 127.0.0.1:"), std::string::npos) << out;
  EXPECT_NE(out.find("ALERT {\"user_id\":"), std::string::npos) << out;
  // The status line: input rate against processed rate per stage, as Spark's progress reports.
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(parse in [1-9][0-9]*/s processed [1-9][0-9]*/s lag)"))) << out;
  EXPECT_NE(out.find("stage aggregate stopped (exit 0)"), std::string::npos) << out;
}

TEST(Launcher, RenderFarmDemoShowsSceneMetricsFromTheSampleTables) {
  TempDir dir;
  ChildProcess demo(bin_dir() + "/streamwright",
                    {"demo", "render-farm", "--duration", "30", "--rate", "5000", "--work-dir",
                     (dir.path() / "work").string()},
                    ChildProcess::Options{true, (dir.path() / "demo.err").string(), "", {}});
  std::string out;
  while (auto line = demo.read_line(90s)) out += *line + "\n";
  EXPECT_EQ(demo.wait(30s).value_or(-1), 0) << out;
  EXPECT_NE(out.find("METRICS {\"scene_id\":\"scene-"), std::string::npos) << out;
  // The shipped scenes table joined: projects are named, not empty.
  EXPECT_EQ(out.find("\"project\":\"\""), std::string::npos) << out;
  for (const char* stage : {"enrich", "aggregate", "node-aggregate"})
    EXPECT_NE(out.find(std::string("stage ") + stage + " stopped (exit 0)"), std::string::npos) << out;
}

}  // namespace
}  // namespace sw::test
