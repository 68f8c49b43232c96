// The alert rules and the Grafana dashboard name only metrics the services and the lag
// exporter really export (checked against live scrapes).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Metric names in an exposition, with a histogram's _bucket, _sum and _count series.
void collect_names(const std::string& text, std::set<std::string>& names) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    std::istringstream l(line.substr(7));
    std::string name, type;
    l >> name >> type;
    names.insert(name);
    if (type == "histogram" || type == "summary")
      for (const char* s : {"_bucket", "_sum", "_count"}) names.insert(name + s);
  }
}

std::set<std::string> referenced(const std::string& text) {
  std::set<std::string> out;
  static const std::regex re(R"(\b((?:streamwright|kafka)_[a-z0-9_]+)\b)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
    out.insert((*it)[1]);
  return out;
}

TEST(OpsAssets, AlertsAndDashboardUseExportedMetrics) {
  TempDir dir;
  DevBroker broker({"logs:2", "logs-dlq:1", "crash-alerts:2", "crash-monitor-crashes-by-user-repartition:2",
                    "crash-monitor-crash-counts-changelog:2"});
  std::vector<std::string> common{"--bootstrap-servers", broker.bootstrap(), "--metrics-port", "0", "--state-dir",
                                  (dir.path() / "state").string()};
  auto with = [&](std::vector<std::string> a) {
    a.insert(a.end(), common.begin(), common.end());
    return a;
  };
  Service parse("streamwright-crash-monitor", with({"--stage", "parse"}), dir.path() / "parse.log");
  Service aggregate("streamwright-crash-monitor", with({"--stage", "aggregate"}), dir.path() / "aggregate.log");
  Service exporter("streamwright-lag-exporter",
                   {"--bootstrap-servers", broker.bootstrap(), "--topology", "crash-monitor", "--interval", "500ms",
                    "--port", "0"},
                   dir.path() / "exporter.log");
  ASSERT_TRUE(parse.wait_ready(60s));
  ASSERT_TRUE(aggregate.wait_ready(60s));
  TestProducer p(broker.bootstrap());
  p.send("logs", 0, "u", R"({"user_id":"u","severity":"High","content":"crash","timestamp":"2026-01-01T10:00:00Z"})");
  p.send("logs", 1, "u", "not json");
  p.flush();
  std::this_thread::sleep_for(3s);  // per-partition lag gauges refresh every second

  std::set<std::string> exported;
  for (Service* s : {&parse, &aggregate, &exporter}) collect_names(s->metrics(), exported);
  ASSERT_TRUE(exported.count("kafka_consumergroup_lag")) << "no lag series yet";
  ASSERT_TRUE(exported.count("kafka_consumergroup_lag_seconds"));

  const std::string chart = std::string(SW_SOURCE_DIR) + "/helm/streamwright/files/";
  const auto dashboard = nlohmann::json::parse(read_file(chart + "dashboard.json"));
  std::size_t queries = 0;
  for (const auto& panel : dashboard.at("panels")) {
    for (const auto& target : panel.at("targets")) {
      ++queries;
      for (const auto& name : referenced(target.at("expr").get<std::string>()))
        EXPECT_TRUE(exported.count(name)) << "dashboard panel '" << panel.at("title") << "' uses " << name;
    }
  }
  EXPECT_GE(queries, 12u);
  const auto alerts = read_file(chart + "alerts.yaml");
  const auto alert_names = referenced(alerts);
  EXPECT_GE(alert_names.size(), 8u);
  for (const auto& name : alert_names) EXPECT_TRUE(exported.count(name)) << "alert rules use " << name;
}

}  // namespace
}  // namespace sw::test
