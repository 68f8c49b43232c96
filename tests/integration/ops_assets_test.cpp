// The alert rules and the Grafana dashboard against the real processes: every stage of every
// pipeline, the Telemetra sink (with a real PostgreSQL) and the lag exporter run against the dev
// broker, a few records (bad ones too) flow through, and a real Prometheus scrapes them all and
// loads the chart's rules. tests/alerts/selectors.py then checks, through that Prometheus, that
// every vector selector of every rule and every panel query matches a scraped series, name and
// labels: a rule that can never fire fails here. Also: the sink is ready exactly while its database
// is reachable.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <thread>

#include "harness.h"
#include "pg_server.h"
#include "topologies/catalog.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;

const std::string kSinkPassword = "sink secret 5";
const std::string kSource = SW_SOURCE_DIR;

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
  // The offset commit follows the database transaction that wrote the rows.
  EXPECT_TRUE(commits >= 1 || wait_for(
                                  [&] {
                                    double c = 0;
                                    for (auto& s : sinks) c += s->metric("streamwright_commits_total{stage=\"telemetra-sink\"}");
                                    return c >= 1;
                                  },
                                  30s));
  // The exposition passes Prometheus' own linter (counters end in _total, histograms are whole, ...).
  const auto scrape = dir.path() / "sink.metrics";
  std::ofstream(scrape) << sinks[0]->metrics();
  EXPECT_EQ(std::system(("promtool check metrics < " + scrape.string() + " > " + scrape.string() + ".lint 2>&1").c_str()), 0)
      << (dump_log(scrape.string() + ".lint"), "promtool check metrics");

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

// The rows are in PostgreSQL but the offset commit is refused (the group was rebalancing): the
// sink commits again once the group has settled. With cooperative rebalancing it keeps its
// partitions and its position, so no replay would ever commit for it; before, the offsets stayed
// uncommitted until the next record arrived (CI saw this in the test above).
TEST(TelemetraSinkOps, AnOffsetCommitRefusedDuringARebalanceIsSentAgain) {
  TempDir dir;
  DevBroker broker({"chat-summary:1", "moments:1"});
  PgServer pg(dir.path() / "pg", kSinkPassword);
  Service sink("streamwright-telemetra-sink",
               {"--metrics-port", "0", "--group-id", "sink-refused", "--batch-linger", "20ms"},
               dir.path() / "sink.log", sink_env(pg, dir.path(), broker.bootstrap()));
  ASSERT_TRUE(sink.wait_ready(60s)) << (dump_log(sink.log()), "sink not ready");
  ASSERT_TRUE(wait_for([&] { return sink.metric("streamwright_assigned_partitions{stage=\"telemetra-sink\"}") == 2; }, 60s));
  broker.control("/errors/OffsetCommit/REBALANCE_IN_PROGRESS/2");
  TestProducer p(broker.bootstrap());
  produce_sink_input(p);
  ASSERT_TRUE(wait_for([&] { return sink.metric("telemetra_sink_rows_written_total") == 2; }, 60s))
      << (dump_log(sink.log()), "rows not written");
  EXPECT_TRUE(wait_for([&] { return sink.metric("streamwright_commits_total{stage=\"telemetra-sink\"}") >= 1; }, 20s))
      << (dump_log(sink.log()), "the refused commit was not sent again");
  std::ifstream in(sink.log());
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("offset commit failed after the database commit"), std::string::npos)
      << "the injected refusal never reached the sink: this test proves nothing";
}

TEST(OpsAssets, EveryAlertAndPanelSelectorMatchesAScrapedSeries) {
  TempDir dir;
  // Every pipeline of the catalogue, with every topic its topology names, and the lake sink's.
  std::vector<std::string> topics{"render-metrics-lake-dlq:1"};
  for (const auto& pipeline : topologies::catalog()) {
    const auto topology = pipeline.build_default(pipeline.name);
    for (const auto& use : topology.topics()) topics.push_back(use.name + ":2");
  }
  DevBroker broker(topics);
  PgServer pg(dir.path() / "pg", kSinkPassword);

  // name (the scrape job), program, arguments; every process on a port of its own.
  struct Proc {
    std::string name;
    std::unique_ptr<Service> service;
  };
  std::vector<Proc> procs;
  auto stage = [&](const std::string& program, const std::string& name, const std::string& stage_name,
                   std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--stage", stage_name, "--bootstrap-servers", broker.bootstrap(), "--metrics-port", "0",
                                  "--state-dir", (dir.path() / ("state-" + name)).string(), "--commit-interval", "200ms"};
    args.insert(args.end(), extra.begin(), extra.end());
    procs.push_back({name, std::make_unique<Service>(program, args, dir.path() / (name + ".log"))});
  };
  for (const auto& pipeline : topologies::catalog()) {
    std::vector<std::string> defaults;
    for (auto [option, value] : pipeline.defaults) {
      if (const auto at = value.find("{data}"); at != std::string::npos) value.replace(at, 6, kSource + "/topologies/data");
      defaults.insert(defaults.end(), {option, value});
    }
    const auto topology = pipeline.build_default(pipeline.name);
    for (const auto& st : topology.subtopologies())
      stage(pipeline.executable(), pipeline.name + "-" + st.name, st.name, defaults);
  }
  const std::size_t stages = procs.size();
  procs.push_back({"telemetra-sink", std::make_unique<Service>(
                                         "streamwright-telemetra-sink",
                                         std::vector<std::string>{"--metrics-port", "0", "--batch-linger", "20ms"},
                                         dir.path() / "telemetra-sink.log",
                                         sink_env(pg, dir.path(), broker.bootstrap()))});
  procs.push_back({"lake-sink", std::make_unique<Service>(
                                    "streamwright-lake-sink",
                                    std::vector<std::string>{"--bootstrap-servers", broker.bootstrap(), "--metrics-port", "0",
                                                             "--table", "render-metrics=" + (dir.path() / "lake" / "render_metrics").string()},
                                    dir.path() / "lake-sink.log")});
  procs.push_back({"lag-exporter", std::make_unique<Service>(
                                       "streamwright-lag-exporter",
                                       std::vector<std::string>{"--bootstrap-servers", broker.bootstrap(), "--topology",
                                                                "crash-monitor", "--topology", "render-farm", "--topology",
                                                                "telemetra", "--topology", "join-stats", "--group", "telemetra-sink=chat-summary,moments",
                                                                "--interval", "500ms", "--port", "0"},
                                       dir.path() / "lag-exporter.log")});
  auto dump = [&] {
    for (auto& p : procs) dump_log(p.service->log());
  };
  for (std::size_t i = 0; i < stages + 2; ++i)
    ASSERT_TRUE(procs[i].service->wait_ready(60s)) << (dump(), procs[i].name + " not ready");

  // A valid record and a bad one into every pipeline (so dead-letter series appear), and the sink's input.
  TestProducer p(broker.bootstrap());
  p.send("logs", 0, "u", R"({"user_id":"u","severity":"High","content":"crash","timestamp":"2026-01-01T10:00:00Z"})");
  p.send("logs", 1, "u", "not json");
  p.send("render-events", 0, "f",
         R"({"frame_id":"f","scene_id":"scene-0001","node_id":"node-001","render_time_ms":1000,"gpu_utilization":0.5,)"
         R"("timestamp":"2026-01-01T10:00:00Z"})");
  p.send("render-events", 1, "f", "not json");
  p.send("chat-events", 0, "s1", R"({"stream_id":"s1","user_id":"u","message":"gg","timestamp":"2026-01-01T10:00:00Z"})");
  p.send("chat-events", 1, "s1", "{not json");
  p.send("events", 0, "o1",
         R"({"order_id":"o1","product_id":"p-0001","store_id":"s-01","price":1.5,"quantity":2,"timestamp":"2026-01-01T10:00:00Z"})");
  p.send("events", 1, "o2", "not json");
  p.send("viewer-events", 0, "s1", R"({"stream_id":"s1","viewer_count":10,"timestamp":"2026-01-01T10:00:00Z"})");
  produce_sink_input(p);

  // Prometheus scrapes every process (the labels a Kubernetes scrape adds, too) and loads the rules.
  const auto config = dir.path() / "prometheus.yml";
  {
    std::ofstream out(config);
    out << "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n"
        << "rule_files:\n  - " << kSource << "/helm/streamwright/files/alerts.yaml\n"
        << "scrape_configs:\n";
    for (const auto& proc : procs)
      out << "  - job_name: " << proc.name << "\n    static_configs:\n      - targets: ['127.0.0.1:"
          << proc.service->port() << "']\n        labels: {namespace: streamwright-test, pod: " << proc.name << "-0}\n";
  }
  const auto port = free_port();
  ChildProcess prometheus("/usr/bin/prometheus",
                          {"--config.file=" + config.string(), "--storage.tsdb.path=" + (dir.path() / "tsdb").string(),
                           "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=warn"},
                          ChildProcess::Options{false, (dir.path() / "prometheus.log").string(),
                                                (dir.path() / "prometheus.out").string(), {}});
  ASSERT_TRUE(wait_for([&] { return http_get(port, "/-/ready").find("Ready") != std::string::npos; }, 60s))
      << (dump_log(dir.path() / "prometheus.log"), "Prometheus did not start");

  std::string out;
  auto run = [&out](const std::string& cmd) {
    out.clear();
    FILE* pipe = ::popen((cmd + " 2>&1").c_str(), "r");
    if (!pipe) return -1;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
    return ::pclose(pipe);
  };
  // The selector parser on expressions with known answers, then the real check.
  EXPECT_EQ(run("python3 " + kSource + "/tests/alerts/selectors.py --self-test"), 0) << out;
  std::string cmd = "python3 " + kSource + "/tests/alerts/selectors.py --prometheus http://127.0.0.1:" +
                    std::to_string(port) + " --dashboard " + kSource + "/helm/streamwright/files/dashboard.json" +
                    " --alerts-tests " + kSource + "/tests/alerts/alerts_test.yaml --targets " +
                    std::to_string(procs.size()) + " --timeout 120";
  const int rc = run(cmd);
  std::cout << out;
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find(" 0 failed"), std::string::npos);
  if (HasFailure()) dump();
}

}  // namespace
}  // namespace sw::test
