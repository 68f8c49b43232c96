// The alert rules and the Grafana dashboard name only metrics the services and the lag
// exporter really export (checked against live scrapes). Also: the Telemetra sink is ready exactly
// while its database is reachable.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"
#include "pg_server.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;

const std::string kSinkPassword = "sink secret 5";

template <class F>
bool wait_for(F&& f, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return f();
}

int status_of(const Service& s, const std::string& path) {
  int status = 0;
  http_get(s.port(), path, &status);
  return status;
}

// What the sink reads: a summary with a z-score, a moment, and a row that is not valid.
void produce_sink_input(TestProducer& p) {
  p.send("chat-summary", 0, "s1",
         R"({"stream_id":"s1","window_start":"2026-01-01T10:00:00Z","window_end":"2026-01-01T10:01:00Z",)"
         R"("chat_count":5,"unique_chatters":3,"avg_sentiment":0.2,"positive_count":1,"negative_count":0,)"
         R"("chat_rate":0.08,"avg_viewers":100.0,"top_emotes":["Kappa"],"z_score":3.5,"is_anomaly":true})");
  p.send("moments", 0, "s1",
         R"({"stream_id":"s1","timestamp":"2026-01-01T10:01:00Z","moment_type":"chat_spike",)"
         R"("description":"chat spike","intensity":3.5,"metadata":{"chat_count":5}})");
  p.send("chat-summary", 0, "s1", R"({"stream_id":"s1"})");
  p.flush();
}

std::vector<std::string> sink_env(const PgServer& pg, const std::filesystem::path& dir, const std::string& bootstrap) {
  // The password as the chart gives it: a file (a mounted Secret) named by POSTGRES_PASSWORD_FILE.
  const auto file = dir / "postgres-password";
  std::ofstream(file) << kSinkPassword << "\n";
  return {"KAFKA_BOOTSTRAP_SERVERS=" + bootstrap, "POSTGRES_URL=" + pg.url(), "POSTGRES_USER=telemetra",
          "POSTGRES_PASSWORD_FILE=" + file.string()};
}

// Readiness of the sink means "the database is reachable": a replica without partitions is ready
// while it could write, and an idle one turns not ready when PostgreSQL goes away (and back when
// it returns), alive all the while. Its readiness is streamwright_ready{stage="telemetra-sink"}.
TEST(TelemetraSinkOps, ReadyMeansTheDatabaseIsReachable) {
  TempDir dir;
  DevBroker broker({"chat-summary:1", "moments:1"});
  PgServer pg(dir.path() / "pg", kSinkPassword);
  const auto env = sink_env(pg, dir.path(), broker.bootstrap());
  // Three replicas for two partitions: at least one holds none.
  std::vector<std::unique_ptr<Service>> sinks;
  for (int i = 0; i < 3; ++i)
    sinks.push_back(std::make_unique<Service>(
        "streamwright-telemetra-sink",
        std::vector<std::string>{"--metrics-port", "0", "--group-id", "sink-ops", "--db-check-interval", "200ms",
                                 "--max-backoff", "500ms", "--batch-linger", "20ms"},
        dir.path() / ("sink-" + std::to_string(i) + ".log"), env));
  auto dump = [&] {
    for (auto& s : sinks) dump_log(s->log());
  };
  for (auto& s : sinks) ASSERT_TRUE(s->wait_ready(60s)) << (dump(), "sink not ready with the database up");
  // Every partition is assigned (the group settled), and still every replica is ready.
  ASSERT_TRUE(wait_for(
      [&] {
        double assigned = 0;
        for (auto& s : sinks) assigned += s->metric("streamwright_assigned_partitions{stage=\"telemetra-sink\"}");
        return assigned == 2;
      },
      60s));
  int idle = 0;
  for (auto& s : sinks) {
    if (s->metric("streamwright_assigned_partitions{stage=\"telemetra-sink\"}") == 0) ++idle;
    EXPECT_EQ(status_of(*s, "/readyz"), 200);
    EXPECT_EQ(s->metric("streamwright_ready{stage=\"telemetra-sink\"}"), 1);
    EXPECT_EQ(s->metric("telemetra_sink_ready"), 1);
  }
  EXPECT_GE(idle, 1);

  // Rows land, and the sink counts them under the common names and its own.
  TestProducer p(broker.bootstrap());
  produce_sink_input(p);
  ASSERT_TRUE(wait_for(
      [&] {
        double rows = 0;
        for (auto& s : sinks) rows += s->metric("telemetra_sink_rows_written_total");
        return rows == 2;
      },
      60s))
      << (dump(), "rows not written");
  double consumed_summary = 0, consumed_moments = 0, z_scores = 0, invalid = 0, commits = 0;
  for (auto& s : sinks) {
    consumed_summary += s->metric("streamwright_records_consumed_total{stage=\"telemetra-sink\",topic=\"chat-summary\"}");
    consumed_moments += s->metric("streamwright_records_consumed_total{stage=\"telemetra-sink\",topic=\"moments\"}");
    z_scores += s->metric("telemetra_sink_z_score_count");
    invalid += s->metric("telemetra_sink_invalid_records_total");
    commits += s->metric("streamwright_commits_total{stage=\"telemetra-sink\"}");
  }
  EXPECT_EQ(consumed_summary, 2);
  EXPECT_EQ(consumed_moments, 1);
  EXPECT_EQ(z_scores, 1);
  EXPECT_EQ(invalid, 1);
  EXPECT_GE(commits, 1);

  // PostgreSQL goes away while nothing is written: every replica turns not ready, stays alive.
  pg.stop();
  for (auto& s : sinks) {
    EXPECT_TRUE(wait_for([&] { return status_of(*s, "/readyz") == 503; }, 30s)) << s->log();
    EXPECT_EQ(status_of(*s, "/healthz"), 200);
    EXPECT_EQ(s->metric("streamwright_ready{stage=\"telemetra-sink\"}"), 0);
    EXPECT_GT(s->metric("telemetra_sink_database_errors_total"), 0);
  }
  // Back: ready again.
  pg.start();
  for (auto& s : sinks) EXPECT_TRUE(s->wait_ready(60s)) << s->log();
  EXPECT_GT(sinks[0]->metric("telemetra_sink_database_retries_total"), 0);
  if (HasFailure()) dump();
}

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
