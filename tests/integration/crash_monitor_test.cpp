// The crash-monitor pipeline end to end: the dev broker and both stages as real processes.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <thread>
#include <tuple>

#include "common/time.h"
#include "harness.h"
#include "kafka/client.h"
#include "topologies/crash_monitor.h"
#include "topologies/crash_monitor_data.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;

constexpr int kPartitions = 4;
const std::string kRepartition = "crash-monitor-crashes-by-user-repartition";
const std::string kChangelog = "crash-monitor-crash-counts-changelog";

// (user, window start, count)
using Alert = std::tuple<std::string, std::string, std::int64_t>;

std::vector<Alert> parse_alerts(const std::vector<Record>& records) {
  std::vector<Alert> out;
  for (const auto& r : records) {
    const auto j = nlohmann::json::parse(r.value);
    EXPECT_EQ(r.key, j.at("user_id").get<std::string>());
    out.emplace_back(j.at("user_id").get<std::string>(), j.at("window_start").get<std::string>(),
                     j.at("crash_count").get<std::int64_t>());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class CrashMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<DevBroker>(std::vector<std::string>{
        "logs:4", "logs-dlq:1", "crash-alerts:4", kRepartition + ":4", kChangelog + ":4"});
  }
  void TearDown() override {
    if (HasFailure())
      for (auto& s : services_) dump_log(s->log());
    for (auto& s : services_) s->process().stop(30s);
  }

  Service& start(const std::string& stage, const std::string& instance, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--stage", stage, "--bootstrap-servers", broker_->bootstrap(), "--metrics-port", "0",
                                  "--state-dir", (dir_.path() / ("state-" + instance)).string(), "--idle-timeout",
                                  "1s"};
    if (std::find(extra.begin(), extra.end(), "--commit-interval") == extra.end())
      args.insert(args.end(), {"--commit-interval", "200ms"});
    args.insert(args.end(), extra.begin(), extra.end());
    services_.push_back(std::make_unique<Service>("streamwright-crash-monitor", args,
                                                  dir_.path() / (stage + "-" + instance + ".log")));
    return *services_.back();
  }

  // Two aggregate replicas share the partitions (each holds some).
  static bool both_hold_partitions(Service& a1, Service& a2) {
    return eventually(
        [&] {
          const auto n1 = a1.metric("streamwright_assigned_partitions");
          const auto n2 = a2.metric("streamwright_assigned_partitions");
          return n1 > 0 && n2 > 0 && n1 + n2 == kPartitions;
        },
        60s);
  }

  TempDir dir_;
  std::unique_ptr<DevBroker> broker_;
  std::vector<std::unique_ptr<Service>> services_;
};

std::string event(const std::string& user, const std::string& severity, const std::string& content, int second) {
  nlohmann::json j{{"user_id", user},
                   {"severity", severity},
                   {"content", content},
                   {"timestamp", format_rfc3339(1767261600000 + second * 1000LL)},  // 2026-01-01T10:00:00Z + s
                   {"host", "node-1"}};
  return j.dump();
}

// A fixed input with out-of-order, late, mixed-case, non-qualifying and malformed records, and
// per-partition order chosen so that lateness and watermark alignment matter.
void produce_fixed_input(const std::string& bootstrap) {
  TestProducer p(bootstrap);
  // Partition 0: A has 4 crashes in the first window; G has 5 in the window a minute later.
  for (int s : {1, 2, 3, 4}) p.send("logs", 0, "A", event("A", "High", "app crash", s));
  for (int s : {61, 62, 63, 64, 65}) p.send("logs", 0, "G", event("G", "Critical", "Crash!", s));
  // Partition 1: B out of order within the grace (3); C has one qualifying crash only; E's
  // third crash arrives after X moved the partition's stream time past the window's grace.
  p.send("logs", 1, "B", event("B", "High", "crash in checkout", 5));
  p.send("logs", 1, "B", event("B", "High", "crash in checkout", 7));
  p.send("logs", 1, "B", event("B", "Critical", "crash again", 2));
  p.send("logs", 1, "C", event("C", "High", "crash", 1));
  p.send("logs", 1, "C", event("C", "Low", "crash", 2));
  p.send("logs", 1, "C", event("C", "Critical", "all good", 3));
  p.send("logs", 1, "C", event("C", "Medium", "crash", 4));
  p.send("logs", 1, "E", event("E", "High", "crash", 3));
  p.send("logs", 1, "E", event("E", "High", "crash", 4));
  p.send("logs", 1, "X", event("X", "High", "crash", 300));
  p.send("logs", 1, "E", event("E", "High", "crash", 5));  // late: 10:00:10 + 30 s <= 10:05:00
  // Partition 2: D in mixed case.
  p.send("logs", 2, "D", event("D", "High", "CrAsH report", 1));
  p.send("logs", 2, "D", event("D", "Critical", "it crashed", 2));
  p.send("logs", 2, "D", event("D", "High", "CRASH", 3));
  p.send("logs", 2, "F", event("F", "High", "crash", 3));
  // Partition 3 runs ahead (Y at 10:02); F's last crash then enters on partition 2, on time there.
  p.send("logs", 3, "F", event("F", "High", "crash", 4));
  p.send("logs", 3, "Y", event("Y", "High", "crash", 120));
  p.send("logs", 2, "F", event("F", "High", "crash", 5));
  // Malformed records.
  p.send("logs", 0, "m0", "not json");
  p.send("logs", 0, "m1", R"({"user_id":"m1","severity":"High","content":"crash"})");
  p.send("logs", 1, "m2", R"({"user_id":"m2","severity":"High","content":"crash","timestamp":"2026-02-30T00:00:00Z"})");
  p.send("logs", 2, "m3", R"({"user_id":4.2,"severity":"High","content":"crash","timestamp":"2026-01-01T10:00:01Z"})");
  p.send("logs", 3, "m4", event("m4", "High", "crash " + std::string(70000, 'x'), 1));
  p.send("logs", 3, "m5", R"({"user_id":"m5","severity":"High","content":"crash","timestamp":"2026-01-01T10:00:01Z")");
  p.flush();
}

const std::vector<Alert> kFixedExpected{
    {"A", "2026-01-01T10:00:00Z", 4}, {"B", "2026-01-01T10:00:00Z", 3}, {"D", "2026-01-01T10:00:00Z", 3},
    {"F", "2026-01-01T10:00:00Z", 3}, {"G", "2026-01-01T10:01:00Z", 5}};

void expect_dead_letters(const std::string& bootstrap) {
  TopicReader dlq(bootstrap, "logs-dlq");
  const auto& records = dlq.read_until([](const auto& r) { return r.size() >= 6; }, 30s, 500ms);
  ASSERT_EQ(records.size(), 6u);
  std::map<std::string, std::string> reason;
  for (const auto& r : records) {
    reason[r.key] = r.headers.count("streamwright.error") ? r.headers.at("streamwright.error") : "";
    EXPECT_EQ(r.headers.at("streamwright.topic"), "logs");
  }
  EXPECT_NE(reason["m0"].find("JSON"), std::string::npos) << reason["m0"];
  EXPECT_NE(reason["m1"].find("missing field timestamp"), std::string::npos) << reason["m1"];
  EXPECT_NE(reason["m2"].find("bad timestamp"), std::string::npos) << reason["m2"];
  EXPECT_NE(reason["m3"].find("user_id is a number but not an integer"), std::string::npos) << reason["m3"];
  EXPECT_NE(reason["m4"].find("too large"), std::string::npos) << reason["m4"];
  EXPECT_NE(reason["m5"].find("JSON"), std::string::npos) << reason["m5"];
  // The original bytes are kept.
  for (const auto& r : records)
    if (r.key == "m0") {
      EXPECT_EQ(r.value, "not json");
    }
}

TEST_F(CrashMonitorTest, LiveInputGivesExactlyTheExpectedAlertsAndDeadLetters) {
  auto& parse = start("parse", "p1");
  auto& aggregate = start("aggregate", "a1");
  ASSERT_TRUE(parse.wait_ready(60s));
  ASSERT_TRUE(aggregate.wait_ready(60s));
  produce_fixed_input(broker_->bootstrap());
  TopicReader alerts(broker_->bootstrap(), "crash-alerts");
  const auto& records = alerts.read_until([](const auto& r) { return r.size() >= kFixedExpected.size(); }, 60s);
  EXPECT_EQ(parse_alerts(records), kFixedExpected);
  expect_dead_letters(broker_->bootstrap());
  EXPECT_EQ(parse.metric("streamwright_dead_letter_records_total"), 6);
  EXPECT_EQ(aggregate.metric("streamwright_late_records_dropped_total{stage=\"aggregate\",decided=\"entry\"}"), 1);
  EXPECT_EQ(aggregate.metric("streamwright_late_records_dropped_total{stage=\"aggregate\",decided=\"downstream\"}"), 0);
  // The exposition passes Prometheus' own linter.
  for (Service* s : {&parse, &aggregate}) {
    const auto file = dir_.path() / "scrape.txt";
    {
      std::ofstream out(file);
      out << s->metrics();
    }
    const std::string cmd = "promtool check metrics < " + file.string() + " > " + (dir_.path() / "promtool.out").string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    std::ifstream in(dir_.path() / "promtool.out");
    const std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(rc, 0) << output;
  }
  int status = 0;
  http_get(parse.port(), "/healthz", &status);
  EXPECT_EQ(status, 200);
  http_get(parse.port(), "/nope", &status);
  EXPECT_EQ(status, 404);
}

// Whether the group's committed offsets of every partition of `topic` are at its end.
bool committed_to_the_end(const std::string& bootstrap, const std::string& group, const std::string& topic) {
  kafka::Config cc;
  cc.set(kafka::keys::bootstrap_servers, bootstrap);
  cc.set(kafka::keys::group_id, group);
  kafka::Consumer c(cc, nullptr);
  std::vector<kafka::TopicPartition> committed;
  for (int p = 0; p < kPartitions; ++p) committed.push_back({topic, p, Offset::none(), {}});
  if (c.committed(committed, 10s)) return false;
  for (const auto& tp : committed) {
    std::int64_t low = 0, high = 0;
    if (c.query_watermarks(topic, tp.partition, low, high, 10s) || tp.offset != Offset::at(high)) return false;
  }
  return true;
}

// An offset commit refused because the group is rebalancing is sent again once the group has
// settled, although no further input arrives: through a cooperative rebalance the member keeps
// the partitions it is not asked to give up, and its position in them, so nothing else would ever
// commit their offsets (before, they stayed uncommitted until the next input record).
TEST_F(CrashMonitorTest, AnOffsetCommitRefusedDuringARebalanceIsSentAgainWithoutNewInput) {
  auto& parse = start("parse", "p1");
  produce_fixed_input(broker_->bootstrap());
  ASSERT_TRUE(eventually([&] { return committed_to_the_end(broker_->bootstrap(), "crash-monitor-parse", "logs"); }, 60s));
  // The parse stage stops, so that the aggregate's input ends (its watermark heartbeats would
  // otherwise be new input every second) and its offset commits are the only ones.
  ASSERT_EQ(parse.process().stop(30s), 0);
  broker_->control("/errors/OffsetCommit/REBALANCE_IN_PROGRESS/1");
  auto& a1 = start("aggregate", "a1");
  ASSERT_TRUE(eventually([&] { return a1.metric("streamwright_commits_total") > 0; }, 60s));
  // A real rebalance follows the refusal: a second replica joins and takes some partitions.
  auto& a2 = start("aggregate", "a2");
  ASSERT_TRUE(both_hold_partitions(a1, a2));
  EXPECT_TRUE(eventually([&] { return committed_to_the_end(broker_->bootstrap(), "crash-monitor-aggregate", kRepartition); }, 30s))
      << "the refused commit was not sent again";
  std::ifstream in(a1.log());
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("the group is rebalancing"), std::string::npos)
      << "the injected refusal never reached the aggregate: this test proves nothing";
}

TEST_F(CrashMonitorTest, BacklogGivesTheSameAlerts) {
  produce_fixed_input(broker_->bootstrap());
  start("parse", "p1");
  start("aggregate", "a1");
  TopicReader alerts(broker_->bootstrap(), "crash-alerts");
  const auto& records = alerts.read_until([](const auto& r) { return r.size() >= kFixedExpected.size(); }, 60s);
  EXPECT_EQ(parse_alerts(records), kFixedExpected);
  expect_dead_letters(broker_->bootstrap());
}

TEST_F(CrashMonitorTest, TwoAggregateReplicasSplitPartitionsAndGiveTheSameAlerts) {
  auto& parse = start("parse", "p1");
  auto& a1 = start("aggregate", "a1");
  auto& a2 = start("aggregate", "a2");
  ASSERT_TRUE(parse.wait_ready(60s));
  // Wait until the group settled with both replicas holding partitions.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  double n1 = 0, n2 = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    n1 = a1.metric("streamwright_assigned_partitions");
    n2 = a2.metric("streamwright_assigned_partitions");
    if (n1 > 0 && n2 > 0 && n1 + n2 == kPartitions) break;
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_GT(n1, 0);
  ASSERT_GT(n2, 0);
  ASSERT_EQ(n1 + n2, kPartitions);
  produce_fixed_input(broker_->bootstrap());
  TopicReader alerts(broker_->bootstrap(), "crash-alerts");
  const auto& records = alerts.read_until([](const auto& r) { return r.size() >= kFixedExpected.size(); }, 60s);
  EXPECT_EQ(parse_alerts(records), kFixedExpected);
  EXPECT_GT(a1.metric("streamwright_records_consumed_total"), 0);
  EXPECT_GT(a2.metric("streamwright_records_consumed_total"), 0);
}

// When a replica dies, the group rebalances. The survivor's offset commits are refused while it
// does; one still carrying the old generation when the new one forms would be refused as an
// illegal generation, and librdkafka would then count the survivor's own partitions as lost: a
// second rebalance round (on the dev broker, a whole session timeout more) and a replay of its
// uncommitted work. The survivor holds its commits until the rebalance has ended instead.
TEST_F(CrashMonitorTest, ASurvivingReplicaKeepsItsPartitionsWhenTheOtherDies) {
  auto& parse = start("parse", "p1");
  auto& a1 = start("aggregate", "a1");
  auto& a2 = start("aggregate", "a2");
  ASSERT_TRUE(parse.wait_ready(60s));
  ASSERT_TRUE(both_hold_partitions(a1, a2));
  // parse's watermark heartbeats reach every repartition partition each second, so both
  // replicas make progress and commit every 200 ms, through the rebalance.
  ASSERT_TRUE(eventually([&] { return a1.metric("streamwright_commits_total") > 5; }, 30s));
  a2.kill9();
  ASSERT_TRUE(eventually([&] { return a1.metric("streamwright_assigned_partitions") == kPartitions; }, 60s))
      << "the survivor did not take over the dead replica's partitions";
  std::ifstream in(a1.log());
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(log.find("partitions lost"), std::string::npos) << "the survivor lost its own partitions";
  EXPECT_NE(log.find("offsets are committed again once it has ended"), std::string::npos)
      << "no commit met the rebalance: the test did not exercise the race";
  // And the results stay exact.
  produce_fixed_input(broker_->bootstrap());
  TopicReader alerts(broker_->bootstrap(), "crash-alerts");
  const auto& records = alerts.read_until([](const auto& r) { return r.size() >= kFixedExpected.size(); }, 60s);
  EXPECT_EQ(parse_alerts(records), kFixedExpected);
}

// --standby-replicas 1: each aggregate replica keeps the other's tasks warm from their changelog,
// so the survivor of a SIGKILL restores only what the dead replica wrote after the standby's last
// round (here nothing: the rounds go on while the group waits out the session), not the whole
// changelog; and the counts it carries on from are exact.
TEST_F(CrashMonitorTest, AStandbyReplicaTakesOverRestoringOnlyWhatItHadNotSeen) {
  auto& parse = start("parse", "p1");
  auto& a1 = start("aggregate", "a1", {"--standby-replicas", "1"});
  auto& a2 = start("aggregate", "a2", {"--standby-replicas", "1"});
  ASSERT_TRUE(parse.wait_ready(60s));
  ASSERT_TRUE(both_hold_partitions(a1, a2));
  EXPECT_EQ(a1.metric("streamwright_standby_partitions") + a2.metric("streamwright_standby_partitions"), kPartitions);
  // Two crashes of each of 400 users in one window (no alert yet: the threshold is 3). The window
  // lies ten minutes ahead of the wall clock: the input is quiet while the group waits out the
  // dead replica's session, and a quiet input's event time follows the wall clock (--idle-timeout).
  constexpr int kUsers = 400;
  const TimestampMs window = (wall_clock_ms() / 10000) * 10000 + 600000;
  const auto at = [&](const std::string& user, const char* content, int second) {
    return nlohmann::json{{"user_id", user}, {"severity", "High"}, {"content", content},
                          {"timestamp", format_rfc3339(window + second * 1000LL)}, {"host", "node-1"}}
        .dump();
  };
  {
    TestProducer p(broker_->bootstrap());
    for (int u = 0; u < kUsers; ++u)
      for (int s : {1, 2}) p.send("logs", u % 4, "U" + std::to_string(u), at("U" + std::to_string(u), "app crash", s));
    p.flush();
  }
  ASSERT_TRUE(eventually([&] { return parse.metric("streamwright_records_consumed_total") >= 2 * kUsers; }, 60s));
  ASSERT_TRUE(eventually([&] { return a1.metric("streamwright_standby_records_total") > 0; }, 60s))
      << "the survivor kept nothing warm";
  const auto log_before_kill = std::filesystem::file_size(a1.log());
  a2.kill9();
  ASSERT_TRUE(eventually([&] { return a1.metric("streamwright_assigned_partitions") == kPartitions; }, 60s))
      << "the survivor did not take over the dead replica's partitions";
  std::string log;
  {
    std::ifstream in(a1.log());
    log.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    log = log.substr(log_before_kill);
  }
  // "restored <changelog> [p]: N records from offset X to Y (from checkpoint), D discarded"
  const std::regex line("restored " + kChangelog + R"( \[(\d+)\]: (\d+) records from offset (\d+) to (\d+) \(([a-z ]+)\))");
  int taken_over = 0;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    SCOPED_TRACE(m.str());
    ++taken_over;
    const auto records = std::stoll(m[2]);
    const auto end = std::stoll(m[4]);
    EXPECT_EQ(m[5].str(), "from checkpoint");
    // Users hash unevenly over the 4 partitions (91 to 118 of the 400 here), so a partition's
    // changelog holds about a quarter of them, not at least a quarter. The survivor may log its own
    // partitions too: under the dev broker a commit of the old generation fails and they are lost
    // and taken back, also from its checkpoint.
    EXPECT_GE(end, kUsers / 8) << "the partition's users wrote their counts";
    EXPECT_LT(records * 4, end) << "the takeover read most of the changelog again: the standby was not warm";
  }
  EXPECT_GE(taken_over, 1) << "no restore logged after the kill";
  // A third crash of each user, then event time moves past the window's grace on every
  // partition: every user alerts with exactly 3.
  {
    TestProducer p(broker_->bootstrap());
    for (int u = 0; u < kUsers; ++u) p.send("logs", u % 4, "U" + std::to_string(u), at("U" + std::to_string(u), "app crash", 3));
    for (int q = 0; q < 4; ++q) p.send("logs", q, "Z" + std::to_string(q), at("Z" + std::to_string(q), "crash", 300));
    p.flush();
  }
  TopicReader alerts(broker_->bootstrap(), "crash-alerts");
  const auto& records = alerts.read_until([&](const auto& r) { return r.size() >= static_cast<std::size_t>(kUsers); }, 90s);
  std::vector<Alert> want;
  for (int u = 0; u < kUsers; ++u) want.emplace_back("U" + std::to_string(u), format_rfc3339(window), 3);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(parse_alerts(records), want);
}

TEST_F(CrashMonitorTest, EarlyEmissionAlertsWhenTheCountCrossesTheThreshold) {
  auto& parse = start("parse", "p1");
  auto& aggregate = start("aggregate", "a1", {"--emit", "early"});
  ASSERT_TRUE(parse.wait_ready(60s));
  ASSERT_TRUE(aggregate.wait_ready(60s));
  produce_fixed_input(broker_->bootstrap());
  TopicReader alerts(broker_->bootstrap(), "crash-alerts");
  // Early mode: one record when the count crosses the threshold (3), then one per update.
  const std::vector<Alert> expected{{"A", "2026-01-01T10:00:00Z", 3}, {"A", "2026-01-01T10:00:00Z", 4},
                                    {"B", "2026-01-01T10:00:00Z", 3}, {"D", "2026-01-01T10:00:00Z", 3},
                                    {"F", "2026-01-01T10:00:00Z", 3}, {"G", "2026-01-01T10:01:00Z", 3},
                                    {"G", "2026-01-01T10:01:00Z", 4}, {"G", "2026-01-01T10:01:00Z", 5}};
  const auto& records = alerts.read_until([&](const auto& r) { return r.size() >= expected.size(); }, 60s);
  EXPECT_EQ(parse_alerts(records), expected);
}

// What Spark's from_json accepted for `user_id STRING, ..., timestamp TIMESTAMP`, through the real
// processes: an integer user id alerts under its text; the timestamp forms (no zone, a space, an
// offset, epoch seconds and milliseconds) all land in the same window.
TEST_F(CrashMonitorTest, IntegerUserIdsAndSparkTimestampFormsAlert) {
  auto& parse = start("parse", "p1");
  auto& aggregate = start("aggregate", "a1");
  ASSERT_TRUE(parse.wait_ready(60s));
  ASSERT_TRUE(aggregate.wait_ready(60s));
  TestProducer p(broker_->bootstrap());
  for (const char* ts : {"\"2026-01-01 10:00:01\"", "\"2026-01-01T12:00:02+02:00\"", "1767261603", "1767261604500",
                         "\"2026-01-01 10:00:05.5 UTC\""})
    p.send("logs", 0, "12345",
           std::string(R"({"user_id":12345,"severity":"High","content":"app crash","timestamp":)") + ts + "}");
  p.flush();
  TopicReader alerts(broker_->bootstrap(), "crash-alerts");
  const auto& records = alerts.read_until([](const auto& r) { return !r.empty(); }, 60s);
  EXPECT_EQ(parse_alerts(records), (std::vector<Alert>{{"12345", "2026-01-01T10:00:00Z", 5}}));
  EXPECT_EQ(parse.metric("streamwright_dead_letter_records_total"), 0);
}

// --starting-offsets latest (Spark's startingOffsets): a new group skips what its input held
// before it started; the aggregate behind it still reads its repartition topic from the start.
TEST_F(CrashMonitorTest, StartingOffsetsLatestSkipsWhatCameBefore) {
  TestProducer p(broker_->bootstrap());
  for (int s : {1, 2, 3, 4}) p.send("logs", 0, "OLD", event("OLD", "High", "crash", s));
  p.flush();
  auto& parse = start("parse", "p1", {"--starting-offsets", "latest"});
  auto& aggregate = start("aggregate", "a1", {"--starting-offsets", "latest"});
  ASSERT_TRUE(parse.wait_ready(60s));
  ASSERT_TRUE(aggregate.wait_ready(60s));
  // Probes until one is consumed: the reset to the latest offset has happened.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (parse.metric("streamwright_records_consumed_total") == 0 && std::chrono::steady_clock::now() < deadline) {
    p.send("logs", 0, "PROBE", event("PROBE", "Low", "fine", 1));
    p.flush();
    std::this_thread::sleep_for(200ms);
  }
  for (int s : {5, 6, 7}) p.send("logs", 0, "NEW", event("NEW", "High", "crash", s));
  p.flush();
  TopicReader alerts(broker_->bootstrap(), "crash-alerts");
  const auto& records = alerts.read_until([](const auto& r) { return !r.empty(); }, 60s);
  EXPECT_EQ(parse_alerts(records), (std::vector<Alert>{{"NEW", "2026-01-01T10:00:00Z", 3}}));
  // None of the old records was read (the first probes may have been skipped too).
  const auto consumed = parse.metric("streamwright_records_consumed_total");
  TopicReader everything(broker_->bootstrap(), "logs");
  const auto& all = everything.read_until([](const auto&) { return false; }, 1s, 200ms);
  EXPECT_LE(consumed, static_cast<double>(all.size() - 4));
}

// Input rate against processed rate (Spark's inputRowsPerSecond and processedRowsPerSecond):
// every stage counts the records appended to its input partitions from their end offsets, and
// the lag exporter the topic's append rate; both agree with what was produced.
TEST_F(CrashMonitorTest, StagesAndTheLagExporterReportInputAgainstProcessedRates) {
  auto& parse = start("parse", "p1");
  ASSERT_TRUE(parse.wait_ready(60s));
  Service exporter("streamwright-lag-exporter",
                   {"--bootstrap-servers", broker_->bootstrap(), "--topology", "crash-monitor", "--interval", "500ms",
                    "--port", "0"},
                   dir_.path() / "exporter.log");
  // Every input partition's end offset has been seen once (the lag series exist): what is
  // appended from now on is counted.
  auto wait_for = [](auto&& condition, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(100ms);
    return condition();
  };
  ASSERT_TRUE(wait_for(
      [&] {
        const auto m = parse.metrics();
        for (int part = 0; part < 4; ++part)
          if (m.find("kafka_consumergroup_lag{consumergroup=\"crash-monitor-parse\",topic=\"logs\",partition=\"" +
                     std::to_string(part) + "\"}") == std::string::npos)
            return false;
        return exporter.metrics().find("kafka_topic_partition_current_offset{topic=\"logs\"") != std::string::npos;
      },
      30s));
  // The stage's lag series come from the same end-offset samples its append counter takes; the
  // exporter completes one more collection, so its baseline is in place too.
  const double collections = exporter.metric("streamwright_lag_exporter_collections_total");
  ASSERT_TRUE(wait_for([&] { return exporter.metric("streamwright_lag_exporter_collections_total") > collections; }, 30s));
  TestProducer p(broker_->bootstrap());
  constexpr int kRecords = 2000;
  for (int i = 0; i < kRecords; ++i) {
    p.send("logs", i % 4, "u", event("u" + std::to_string(i % 50), "Low", "fine", i % 60));
    if (i % 200 == 199) {
      p.flush();
      std::this_thread::sleep_for(100ms);
    }
  }
  p.flush();
  EXPECT_TRUE(wait_for(
      [&] {
        return parse.metric("streamwright_input_appended_records_total{stage=\"parse\",topic=\"logs\"}") == kRecords &&
               parse.metric("streamwright_records_consumed_total{stage=\"parse\",topic=\"logs\"}") == kRecords;
      },
      30s))
      << parse.metrics();
  // Both rates are taken over the same samples: once every record is appended and processed
  // within the window, they are equal.
  double input = 0, processed = 0;
  EXPECT_TRUE(wait_for(
      [&] {
        input = parse.metric("streamwright_input_records_per_second{stage=\"parse\"}");
        processed = parse.metric("streamwright_processed_records_per_second{stage=\"parse\"}");
        return input > 0 && std::abs(input - processed) <= input * 0.01;
      },
      10s))
      << input << " vs " << processed;
  EXPECT_TRUE(wait_for([&] { return exporter.metric("streamwright_topic_append_records_per_second{topic=\"logs\"}") > 0; }, 30s))
      << exporter.metrics();
}

// The oracle: what the pipeline must output for an input, computed offline with the same
// per-partition lateness rule (stream time = max event time seen on the partition so far).
std::set<Alert> oracle(const std::vector<std::pair<int, std::string>>& input, std::int64_t window_ms,
                       std::int64_t grace_ms, std::int64_t threshold) {
  std::map<int, TimestampMs> stream_time;
  std::map<std::pair<std::string, TimestampMs>, std::int64_t> counts;
  for (const auto& [partition, json] : input) {
    crash_monitor::LogEvent e;
    std::string error;
    if (!crash_monitor::parse_log_event(json, e, error)) continue;
    auto& st = stream_time.try_emplace(partition, e.timestamp).first->second;
    st = std::max(st, e.timestamp);
    const TimestampMs start = e.timestamp - ((e.timestamp % window_ms) + window_ms) % window_ms;
    if (start + window_ms + grace_ms <= st) continue;  // late where it entered
    if (!crash_monitor::mentions_crash(e.content) || (e.severity != "High" && e.severity != "Critical")) continue;
    ++counts[{std::string(e.user_id), start}];
  }
  std::set<Alert> out;
  for (const auto& [k, n] : counts)
    if (n > threshold) out.emplace(k.first, format_rfc3339(k.second), n);
  return out;
}

struct KillCase {
  std::string stage;       // which stage is killed with SIGKILL mid-stream
  bool keep_local_state;   // false: the replica comes back without its RocksDB directory
  bool exactly_once = false;
  bool abort_transaction = false;  // instead of SIGKILL: the broker fails a transaction
};

void PrintTo(const KillCase& c, std::ostream* os) {
  *os << c.stage << (c.keep_local_state ? " with local state" : " without local state")
      << (c.exactly_once ? ", exactly once" : "") << (c.abort_transaction ? ", transaction aborted" : "");
}

class CrashMonitorKillTest : public CrashMonitorTest, public ::testing::WithParamInterface<KillCase> {};

// The aggregate restores from its checkpoint and the changelog tail, or from the changelog
// alone; a killed parse stage replays from its last commit and the aggregate drops the replays.
TEST_P(CrashMonitorKillTest, StageKilledMidStreamAlertsStayExact) {
  const auto [kill_stage, keep_local_state, exactly_once, abort_transaction] = GetParam();
  const std::vector<std::string> window_args{
      "--window-size", "2s", "--grace", "3s", "--processing-guarantee", exactly_once ? "exactly_once" : "at_least_once"};
  // A killed parse stage must have work past its last commit for the test to mean anything: it
  // commits every 3 s and is killed half-way between two commits (see below), not at a fixed time
  // that can fall in phase with its commits.
  std::vector<std::string> parse_args = window_args;
  if (kill_stage == "parse") parse_args.insert(parse_args.end(), {"--commit-interval", "3s"});
  auto& parse = start("parse", "p1", parse_args);
  auto* aggregate = &start("aggregate", "a1", window_args);
  ASSERT_TRUE(parse.wait_ready(60s));
  ASSERT_TRUE(aggregate->wait_ready(60s));

  // A live stream at event time = now, with disorder and late records, for ~12 s.
  std::vector<std::pair<int, std::string>> produced;
  std::atomic<bool> producing{true};
  std::thread producer([&] {
    TestProducer p(broker_->bootstrap());
    crash_monitor::GeneratorConfig gc;
    gc.users = 40;
    gc.crash_rate = 0.5;
    gc.out_of_order = 0.1;
    gc.max_disorder = 1500ms;
    gc.late = 0.02;
    gc.late_by = 8000ms;
    gc.seed = 7;
    crash_monitor::LogGenerator gen(gc);
    std::string key, value;
    const auto end = std::chrono::steady_clock::now() + 12s;
    int i = 0;
    while (std::chrono::steady_clock::now() < end) {
      for (int b = 0; b < 20; ++b, ++i) {
        gen.next(wall_clock_ms(), key, value);
        const int partition = i % kPartitions;
        p.send("logs", partition, key, value);
        produced.emplace_back(partition, value);
      }
      std::this_thread::sleep_for(10ms);  // about 2000 events/s
    }
    p.flush();
    producing = false;
  });

  // Mid-stream: the aggregate has taken part of the input when the fault comes.
  // It has written state and committed it since (a changelog to restore from).
  EXPECT_TRUE(eventually([&] { return aggregate->metric("streamwright_state_store_writes_total") > 0; }, 60s));
  const double commits_before = aggregate->metric("streamwright_commits_total");
  EXPECT_TRUE(eventually([&] { return aggregate->metric("streamwright_commits_total") > commits_before; }, 60s));
  TestProducer input(broker_->bootstrap());
  // Down while input flows: the replacement starts once more input has arrived.
  auto more_input_arrived = [&input, since = input.records_in("logs")] {
    return eventually([&] { return input.records_in("logs") >= since + 2000; }, 30s);
  };
  Service* parse_now = &parse;
  if (abort_transaction) {
    // The next AddPartitionsToTxn fails with an error that makes the transaction abortable:
    // whichever stage sent it aborts and stops (its in-memory state ran ahead of what
    // committed); restarted like a supervisor would, it resumes from its last transaction.
    broker_->control("/errors/AddPartitionsToTxn/TOPIC_AUTHORIZATION_FAILED/1");
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (parse.process().running() && aggregate->process().running() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(50ms);
    const bool parse_stopped = !parse.process().running();
    Service& stopped = parse_stopped ? parse : *aggregate;
    if (stopped.process().running()) {
      ADD_FAILURE() << "no stage stopped on the aborted transaction";
      producer.join();
      return;
    }
    EXPECT_NE(stopped.process().wait(5s).value_or(0), 0);
    std::ifstream log(stopped.log());
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("transaction commit"), std::string::npos);
    if (parse_stopped)
      parse_now = &start("parse", "p1", window_args);
    else
      aggregate = &start("aggregate", "a1", window_args);
  } else if (kill_stage == "aggregate") {
    aggregate->kill9();
    EXPECT_TRUE(more_input_arrived());
    aggregate = &start("aggregate", keep_local_state ? "a1" : "a1-fresh", window_args);
  } else {
    // Half-way between two commits (every 3 s at about 2000 events/s): 3000 records past one.
    const auto commits = parse.metric("streamwright_commits_total");
    EXPECT_TRUE(eventually([&] { return parse.metric("streamwright_commits_total") > commits; }, 10s, 20ms));
    const auto at_commit = parse.metric("streamwright_records_consumed_total");
    EXPECT_TRUE(eventually([&] { return parse.metric("streamwright_records_consumed_total") >= at_commit + 3000; }, 10s, 20ms));
    parse.kill9();
    EXPECT_TRUE(more_input_arrived());
    parse_now = &start("parse", "p2", parse_args);
  }
  producer.join();

  const auto expected = oracle(produced, 2000, 3000, 2);
  ASSERT_GT(expected.size(), 20u);
  TopicReader alerts(broker_->bootstrap(), "crash-alerts");
  const auto& records = alerts.read_until(
      [&](const auto& r) {
        const auto parsed = parse_alerts(r);
        return std::set<Alert>(parsed.begin(), parsed.end()).size() >= expected.size();
      },
      90s, 3000ms);
  const auto all = parse_alerts(records);
  const std::set<Alert> distinct(all.begin(), all.end());
  // At-least-once may repeat an alert emitted just before the kill, but never with another
  // count: deduplicated by (user, window) the alerts are exactly the oracle's.
  std::map<std::pair<std::string, std::string>, std::int64_t> by_window;
  for (const auto& [u, w, n] : all) {
    auto [it, inserted] = by_window.emplace(std::make_pair(u, w), n);
    if (!inserted) {
      EXPECT_EQ(it->second, n) << "conflicting alerts for " << u << " " << w;
    }
  }
  EXPECT_EQ(distinct, expected);
  RecordProperty("duplicate_alerts", std::to_string(all.size() - distinct.size()));
  if (exactly_once) {
    // Every commit was a transaction: the stages committed through them and nothing failed.
    EXPECT_GT(aggregate->metric("streamwright_commits_total"), 0);
    // The dev broker shows records of aborted transactions to read_committed readers (see
    // dev_broker_transactions_test.cpp), so alerts sent in the transaction the kill cut short
    // can appear twice here; on a real broker they would not. They never conflict (above).
  }
  if (kill_stage == "aggregate" && !keep_local_state) {
    EXPECT_GT(aggregate->metric("streamwright_restored_records_total"), 0);
  }
  if (kill_stage == "parse") {
    // The restarted parse replayed records the aggregate had already counted.
    EXPECT_GT(aggregate->metric("streamwright_duplicate_records_dropped_total"), 0);
  }
  EXPECT_TRUE(parse_now->process().running());
}

INSTANTIATE_TEST_SUITE_P(Kill, CrashMonitorKillTest,
                         ::testing::Values(KillCase{"aggregate", true}, KillCase{"aggregate", false},
                                           KillCase{"parse", true}, KillCase{"aggregate", false, true},
                                           KillCase{"parse", true, true}, KillCase{"either", true, true, true}),
                         [](const ::testing::TestParamInfo<KillCase>& p) {
                           return p.param.stage + (p.param.keep_local_state ? "_local_state_kept" : "_local_state_lost") +
                                  (p.param.exactly_once ? "_exactly_once" : "") +
                                  (p.param.abort_transaction ? "_transaction_aborted" : "");
                         });

}  // namespace
}  // namespace sw::test
