// Telemetra end to end: the dev broker, both pipeline stages and the PostgreSQL sink as real
// processes, against a real PostgreSQL 15 started by the test. The expected rows come from the
// same input run through the TopologyTestDriver (whose results the unit tests check column by
// column against a brute-force reference).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <thread>

#include "common/time.h"
#include "harness.h"
#include "pg_server.h"
#include "testing/topology_test_driver.h"
#include "topologies/telemetra.h"
#include "topologies/telemetra_data.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr int kPartitions = 4;
constexpr TimestampMs kT = 1767261600000;  // 2026-01-01T10:00:00Z
const std::string kSinkPassword = "tele pass&1 'quoted'";

// The throwaway server (pg_server.h) with the sink's role and database.
class PgServer : public sw::test::PgServer {
 public:
  explicit PgServer(const std::filesystem::path& dir) : sw::test::PgServer(dir, kSinkPassword) {}
};

// A deterministic input: many streams with viewer curves, emotes, lexicon words and spikes,
// over six minutes of event time, each partition in event-time order.
struct Input {
  std::vector<std::tuple<std::string, std::int32_t, std::string, std::string>> records;  // topic, partition, key, value
};
Input make_input() {
  telemetra::GeneratorConfig gc;
  gc.streams = 60;
  gc.chatters_per_stream = 40;
  gc.spike_probability = 0.002;
  gc.spike_events = 300;
  telemetra::ChatGenerator gen(gc);
  Input in;
  std::string key, value;
  const int chats = 12000;
  for (int i = 0; i < chats; ++i) {
    const TimestampMs t = kT + static_cast<TimestampMs>(i) * 360'000 / chats;
    gen.next_chat(t, key, value);
    const auto stream = static_cast<std::int32_t>(std::stoi(key.substr(7)));
    in.records.emplace_back("chat-events", stream % kPartitions, key, value);
    if (i % 1000 == 0)  // every 30 s of event time, a viewer count per stream
      for (std::uint32_t s = 0; s < gc.streams; s += (i / 1000) % 3 == 2 ? 2 : 1) {  // some windows without viewers
        gen.viewer(s, t, key, value);
        in.records.emplace_back("viewer-events", static_cast<std::int32_t>(s) % kPartitions, key, value);
      }
  }
  in.records.emplace_back("chat-events", 0, "bad", "{not json");
  in.records.emplace_back("viewer-events", 1, "bad", R"({"stream_id":"s","viewer_count":-3,"timestamp":"2026-01-01T10:00:00Z"})");
  // Event time moves a day ahead on every input partition: every window above closes (the
  // services run with a long idle timeout, so the wall clock never closes windows on its own and
  // the input can arrive in parts).
  for (std::int32_t p = 0; p < kPartitions; ++p) {
    const std::string later = format_rfc3339(kT + 24 * 3600 * 1000LL);
    in.records.emplace_back("chat-events", p, "zz-end",
                            R"({"stream_id":"zz-end","user_id":"u","message":"bye","timestamp":")" + later + "\"}");
    in.records.emplace_back("viewer-events", p, "zz-end",
                            R"({"stream_id":"zz-end","viewer_count":1,"timestamp":")" + later + "\"}");
  }
  return in;
}

// What the pipeline must produce: distinct summaries and moments keyed as the tables are.
struct Expected {
  std::map<std::string, json> summaries;  // stream|window_start
  std::map<std::string, json> moments;    // stream|timestamp
};
Expected expected_output(const Input& in) {
  telemetra::Config config;
  const Topology topology = telemetra::build(config);
  testing::TopologyTestDriver driver(topology, {kPartitions, {}, 3600 * 1000, kT});
  for (const auto& [topic, partition, key, value] : in.records) driver.pipe_input(topic, key, value, partition);
  Expected e;
  for (const auto& r : driver.all_records("chat-summary")) {
    const auto j = json::parse(r.value);
    e.summaries[j["stream_id"].get<std::string>() + "|" + j["window_start"].get<std::string>()] = j;
  }
  for (const auto& r : driver.all_records("moments")) {
    const auto j = json::parse(r.value);
    e.moments[j["stream_id"].get<std::string>() + "|" + j["timestamp"].get<std::string>()] = j;
  }
  return e;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// "2026-01-01 10:00:10" (psql, UTC) -> "2026-01-01T10:00:10Z" (JSON)
std::string iso(const std::string& pg) { return pg.substr(0, 10) + "T" + pg.substr(11) + "Z"; }

void expect_double(const std::string& text, const json& want, const std::string& what) {
  if (want.is_null()) {
    EXPECT_EQ(text, "") << what;
  } else {
    ASSERT_FALSE(text.empty()) << what;
    EXPECT_DOUBLE_EQ(std::stod(text), want.get<double>()) << what;
  }
}

void expect_tables(const PgServer& pg, const Expected& e) {
  const auto rows = split(pg.query("SELECT stream_id, window_start, window_end, chat_count, unique_chatters, "
                                   "avg_sentiment, positive_count, negative_count, chat_rate, avg_viewers, "
                                   "array_to_json(top_emotes), z_score, is_anomaly FROM chat_summary_minute "
                                   "ORDER BY stream_id, window_start"),
                          '\n');
  std::map<std::string, std::vector<std::string>> got;
  for (const auto& line : rows) {
    if (line.empty()) continue;
    auto f = split(line, '|');
    ASSERT_EQ(f.size(), 13u) << line;
    const auto key = f[0] + "|" + iso(f[1]);
    EXPECT_TRUE(got.emplace(key, f).second) << "duplicate row " << key;
  }
  ASSERT_EQ(got.size(), e.summaries.size());
  for (const auto& [key, j] : e.summaries) {
    const auto it = got.find(key);
    ASSERT_NE(it, got.end()) << "missing row " << key;
    const auto& f = it->second;
    EXPECT_EQ(iso(f[2]), j["window_end"]) << key;
    EXPECT_EQ(std::stoll(f[3]), j["chat_count"].get<long long>()) << key;
    EXPECT_EQ(std::stoll(f[4]), j["unique_chatters"].get<long long>()) << key;
    expect_double(f[5], j["avg_sentiment"], key + " avg_sentiment");
    EXPECT_EQ(std::stoll(f[6]), j["positive_count"].get<long long>()) << key;
    EXPECT_EQ(std::stoll(f[7]), j["negative_count"].get<long long>()) << key;
    expect_double(f[8], j["chat_rate"], key + " chat_rate");
    expect_double(f[9], j["avg_viewers"], key + " avg_viewers");
    EXPECT_EQ(json::parse(f[10]), j["top_emotes"]) << key;
    expect_double(f[11], j["z_score"], key + " z_score");
    EXPECT_EQ(f[12], j["is_anomaly"].get<bool>() ? "t" : "f") << key;
  }
  const auto mrows = split(pg.query("SELECT stream_id, timestamp, moment_type, intensity, metadata::text FROM moments "
                                    "ORDER BY stream_id, timestamp"),
                           '\n');
  std::size_t n = 0;
  for (const auto& line : mrows) {
    if (line.empty()) continue;
    ++n;
    const auto f = split(line, '|');
    ASSERT_EQ(f.size(), 5u) << line;
    const auto key = f[0] + "|" + iso(f[1]);
    const auto it = e.moments.find(key);
    ASSERT_NE(it, e.moments.end()) << "unexpected moment " << key;
    EXPECT_EQ(f[2], "chat_spike");
    EXPECT_DOUBLE_EQ(std::stod(f[3]), it->second["intensity"].get<double>()) << key;
    EXPECT_EQ(json::parse(f[4])["chat_count"], it->second["metadata"]["chat_count"]) << key;
  }
  EXPECT_EQ(n, e.moments.size());
}

class TelemetraPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<DevBroker>(std::vector<std::string>{
        "chat-events:4", "viewer-events:4", "chat-events-dlq:1", "viewer-events-dlq:1", "chat-summary:4", "moments:4",
        "telemetra-events-by-stream-repartition:4", "telemetra-stream-slices-changelog:4"});
    pg_ = std::make_unique<PgServer>(dir_.path() / "pg");
  }
  void TearDown() override {
    if (HasFailure())
      for (auto& s : services_) dump_log(s->log());
    for (auto& s : services_) s->process().stop(30s);
  }
  Service& start_stage(const std::string& stage) {
    services_.push_back(std::make_unique<Service>(
        "streamwright-telemetra",
        std::vector<std::string>{"--stage", stage, "--metrics-port", "0", "--idle-timeout", "1h", "--commit-interval",
                                 "200ms", "--kafka-property", "session.timeout.ms=6000", "--kafka-property",
                                 "heartbeat.interval.ms=500",
                                 // Windows stored in several parts, so the restore after the kill loads them.
                                 "--chatter-chunk", "8"},
        dir_.path() / (stage + "-" + std::to_string(services_.size()) + ".log"),
        std::vector<std::string>{"KAFKA_BOOTSTRAP_SERVERS=" + broker_->bootstrap(),
                                 // A fresh state directory per process: a restart restores from the changelog.
                                 "CHECKPOINT_LOCATION=" + (dir_.path() / ("state-" + std::to_string(services_.size()))).string()}));
    return *services_.back();
  }
  Service& start_sink(const std::string& name, const std::string& group) {
    services_.push_back(std::make_unique<Service>(
        "streamwright-telemetra-sink",
        std::vector<std::string>{"--metrics-port", "0", "--batch-rows", "7", "--batch-linger", "20ms", "--max-backoff",
                                 "500ms", "--group-id", group,
                                 // A SIGKILLed member holds its partitions until its session expires.
                                 "--kafka-property", "session.timeout.ms=6000", "--kafka-property",
                                 "heartbeat.interval.ms=500"},
        dir_.path() / (name + ".log"),
        std::vector<std::string>{"KAFKA_BOOTSTRAP_SERVERS=" + broker_->bootstrap(),
                                 "POSTGRES_URL=jdbc:postgresql://127.0.0.1:" + std::to_string(pg_->port()) + "/telemetra",
                                 "POSTGRES_USER=telemetra", "POSTGRES_PASSWORD=" + kSinkPassword}));
    return *services_.back();
  }
  void produce(const Input& in, std::size_t from, std::size_t to) {
    TestProducer p(broker_->bootstrap());
    for (std::size_t i = from; i < to; ++i) {
      const auto& [topic, partition, key, value] = in.records[i];
      p.send(topic, partition, key, value);
    }
    p.flush();
  }
  template <class F>
  bool wait_for(F&& f, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (f()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return f();
  }

  TempDir dir_;
  std::unique_ptr<DevBroker> broker_;
  std::unique_ptr<PgServer> pg_;
  std::vector<std::unique_ptr<Service>> services_;
};

// The aggregate stage is SIGKILLed mid-stream and restarted without its local state (restore from
// the changelog), the sink is SIGKILLed while it is writing, PostgreSQL is stopped and restarted
// under it, and the whole output is replayed by a second sink: the tables end up holding exactly
// the expected rows, once each, and the replay changes nothing (not even processed_at).
TEST_F(TelemetraPipelineTest, KillsAndDatabaseRestartLoseNothingAndReplayChangesNothing) {
  const Input input = make_input();
  const Expected expected = expected_output(input);
  ASSERT_GT(expected.summaries.size(), 1000u);
  ASSERT_GE(expected.moments.size(), 1u) << "the input should hold spikes";
  const auto total = static_cast<long long>(expected.summaries.size());

  auto& sink = start_sink("sink-1", "telemetra-sink");
  ASSERT_TRUE(sink.wait_ready(60s)) << "sink not ready";
  const std::size_t half = input.records.size() / 2;
  produce(input, 0, half);
  start_stage("parse");
  auto& aggregate = start_stage("aggregate");

  // 0. The aggregate dies mid-stream; the rest of the input arrives while it is down.
  ASSERT_TRUE(wait_for([&] { return pg_->count("chat_summary_minute") > 0; }, 120s));
  aggregate.kill9();
  produce(input, half, input.records.size());
  start_stage("aggregate");

  // 1. SIGKILL the sink while rows are landing.
  const auto before_restart = pg_->count("chat_summary_minute");
  ASSERT_TRUE(wait_for([&] { return pg_->count("chat_summary_minute") > before_restart; }, 120s));
  sink.kill9();
  const auto at_kill = pg_->count("chat_summary_minute");
  EXPECT_LT(at_kill, total) << "the kill should happen mid-run";
  auto& sink2 = start_sink("sink-2", "telemetra-sink");

  // 2. PostgreSQL goes away mid-run: the sink stays alive but not ready, then resumes.
  ASSERT_TRUE(wait_for([&] { return pg_->count("chat_summary_minute") > at_kill; }, 60s));
  pg_->stop();
  int status = 0;
  ASSERT_TRUE(wait_for(
      [&] {
        http_get(sink2.port(), "/readyz", &status);
        return status == 503;
      },
      30s));
  // It retries with backoff meanwhile, alive.
  const double errors = sink2.metric("telemetra_sink_database_errors_total");
  ASSERT_TRUE(wait_for([&] { return sink2.metric("telemetra_sink_database_errors_total") > errors; }, 30s));
  http_get(sink2.port(), "/healthz", &status);
  EXPECT_EQ(status, 200);
  EXPECT_TRUE(sink2.process().running());
  EXPECT_GT(sink2.metric("telemetra_sink_database_errors_total"), 0);
  pg_->start();
  ASSERT_TRUE(sink2.wait_ready(60s));

  ASSERT_TRUE(wait_for(
      [&] { return pg_->count("chat_summary_minute") == total && pg_->count("moments") == static_cast<long long>(expected.moments.size()); },
      180s))
      << pg_->count("chat_summary_minute") << " of " << total << " rows";
  expect_tables(*pg_, expected);

  // 3. A replay of everything (a new consumer group from the beginning) changes no row.
  const std::string snapshot_sql =
      "SELECT * FROM chat_summary_minute ORDER BY id; SELECT * FROM moments ORDER BY id";
  const auto before = pg_->query(snapshot_sql);
  auto& replay = start_sink("sink-replay", "telemetra-sink-replay");
  const double records = static_cast<double>(expected.summaries.size() + expected.moments.size());
  ASSERT_TRUE(wait_for([&] { return replay.metric("telemetra_sink_records_consumed_total") >= records; }, 120s));
  // Pending rows drop to 0 only after the database transaction commits (after the last read).
  ASSERT_TRUE(wait_for([&] { return replay.metric("telemetra_sink_pending_rows") == 0; }, 30s));
  EXPECT_EQ(pg_->query(snapshot_sql), before);
  EXPECT_GT(replay.metric("telemetra_sink_rows_written_total"), 0);

  // The password never reaches a log.
  for (const auto& s : services_) {
    std::ifstream in(s->log());
    const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(log.find(kSinkPassword), std::string::npos) << s->log();
    EXPECT_EQ(log.find("tele%20pass"), std::string::npos) << s->log();
  }
  // Bad input went to the dead-letter topics.
  TopicReader dlq(broker_->bootstrap(), "chat-events-dlq");
  EXPECT_EQ(dlq.read_until([](const auto& r) { return !r.empty(); }, 30s, 200ms).size(), 1u);
}

// `streamwright up telemetra` configured the seed's way, by environment only
// (KAFKA_BOOTSTRAP_SERVERS, POSTGRES_URL as a JDBC URL, POSTGRES_USER, POSTGRES_PASSWORD), fed
// what Spark's from_json accepted: integer stream and user ids, "YYYY-MM-DD HH:MM:SS" timestamps
// without a zone, epoch seconds. Rows land in PostgreSQL under the ids' text.
TEST(TelemetraLauncher, UpWithTheSeedsEnvironmentTakesSparkStyleInputIntoPostgres) {
  TempDir dir;
  PgServer pg(dir.path() / "pg");
  DevBroker broker({"chat-events:2", "viewer-events:2", "chat-events-dlq:1", "viewer-events-dlq:1", "chat-summary:2",
                    "moments:2", "telemetra-events-by-stream-repartition:2", "telemetra-stream-slices-changelog:2"});
  ChildProcess up(bin_dir() + "/streamwright",
                  {"up", "telemetra", "--work-dir", (dir.path() / "work").string(), "--", "--idle-timeout", "1h",
                   "--window-size", "20s", "--window-advance", "10s", "--grace", "0s"},
                  ChildProcess::Options{true, (dir.path() / "up.err").string(), "",
                                        {"KAFKA_BOOTSTRAP_SERVERS=" + broker.bootstrap(),
                                         "POSTGRES_URL=jdbc:postgresql://127.0.0.1:" + std::to_string(pg.port()) + "/telemetra",
                                         "POSTGRES_USER=telemetra", "POSTGRES_PASSWORD=" + kSinkPassword}});
  std::string out;
  while (auto line = up.read_line(60s)) {
    out += *line + "\n";
    if (line->rfind("watching", 0) == 0) break;
  }
  ASSERT_NE(out.find("sink streamwright-telemetra-sink running"), std::string::npos)
      << out << "\n" << std::ifstream(dir.path() / "work" / "sink.log").rdbuf();
  TestProducer p(broker.bootstrap());
  for (int i = 0; i < 6; ++i)  // 10:00:00 .. 10:00:05 local (UTC), stream 42, users 7 and 8
    p.send("chat-events", 0, "42",
           R"({"stream_id":42,"user_id":)" + std::to_string(7 + i % 2) +
               R"(,"message":"gg","timestamp":"2026-01-01 10:00:0)" + std::to_string(i) + "\"}");
  p.send("viewer-events", 0, "42", R"({"stream_id":42,"viewer_count":100,"timestamp":1767261601})");
  // Event time far ahead on every partition closes the windows.
  for (int part = 0; part < 2; ++part) {
    p.send("chat-events", part, "end", R"({"stream_id":"end","user_id":1,"message":"bye","timestamp":"2026-01-02 10:00:00"})");
    p.send("viewer-events", part, "end", R"({"stream_id":"end","viewer_count":1,"timestamp":"2026-01-02 10:00:00"})");
  }
  p.flush();
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  std::string rows;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      rows = pg.query("SELECT stream_id, window_start, chat_count, unique_chatters, avg_viewers FROM chat_summary_minute "
                      "WHERE stream_id = '42' ORDER BY window_start");
    } catch (const std::exception&) {
      rows.clear();  // the sink has not created the table yet
    }
    if (std::count(rows.begin(), rows.end(), '\n') >= 2) break;
    std::this_thread::sleep_for(200ms);
  }
  // Hopping 20 s windows every 10 s: [09:59:50, 10:00:10) and [10:00:00, 10:00:20) hold all six.
  EXPECT_EQ(rows, "42|2026-01-01 09:59:50|6|2|100\n42|2026-01-01 10:00:00|6|2|100\n") << out;
  TopicReader dlq(broker.bootstrap(), "chat-events-dlq");
  EXPECT_TRUE(dlq.read_until([](const auto&) { return false; }, 2s, 200ms).empty());
  up.signal(SIGTERM);
  EXPECT_EQ(up.wait(90s).value_or(-1), 0);
}

// `streamwright demo telemetra`: everything including a throwaway PostgreSQL; rows are shown as
// they arrive and land in the database, and everything stops cleanly.
TEST(TelemetraLauncher, DemoRunsThePipelineIntoAThrowawayPostgres) {
  TempDir dir;
  ChildProcess demo(bin_dir() + "/streamwright",
                    {"demo", "telemetra", "--duration", "25", "--rate", "3000", "--work-dir", (dir.path() / "work").string(),
                     "--", "--window-size", "4s", "--window-advance", "2s", "--grace", "1s"},
                    ChildProcess::Options{true, (dir.path() / "demo.err").string(), "", {}});
  std::string out;
  while (auto line = demo.read_line(120s)) out += *line + "\n";
  EXPECT_EQ(demo.wait(60s).value_or(-1), 0) << out;
  EXPECT_NE(out.find("throwaway PostgreSQL at postgresql://"), std::string::npos) << out;
  EXPECT_NE(out.find("ROW {\"stream_id\":"), std::string::npos) << out;
  const auto at = out.rfind("in PostgreSQL: ");
  ASSERT_NE(at, std::string::npos) << out;
  EXPECT_GT(std::stod(out.substr(at + 15)), 0) << out;
  EXPECT_NE(out.find("sink stopped (exit 0)"), std::string::npos) << out;
  EXPECT_NE(out.find("stage aggregate stopped (exit 0)"), std::string::npos) << out;
}

}  // namespace
}  // namespace sw::test
