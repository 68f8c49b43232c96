// Topology logic end to end without a broker, through the TopologyTestDriver.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <tuple>

#include "common/bytes.h"
#include "common/time.h"
#include "runtime/restore.h"
#include "testing/topology_test_driver.h"
#include "topologies/crash_monitor.h"

namespace sw {
namespace {

using testing::TopologyTestDriver;
constexpr TimestampMs kT = 1767261600000;  // 2026-01-01T10:00:00Z

std::string event(const std::string& user, const std::string& severity, const std::string& content, int second) {
  return nlohmann::json{{"user_id", user},
                        {"severity", severity},
                        {"content", content},
                        {"timestamp", format_rfc3339(kT + second * 1000LL)}}
      .dump();
}

using Alert = std::tuple<std::string, std::string, std::int64_t>;
std::vector<Alert> alerts(const std::vector<testing::OutputRecord>& records) {
  std::vector<Alert> out;
  for (const auto& r : records) {
    const auto j = nlohmann::json::parse(r.value);
    out.emplace_back(j["user_id"], j["window_start"], j["crash_count"]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

class CrashMonitorTopology : public ::testing::Test {
 protected:
  crash_monitor::Config config_;
  Topology topology_ = crash_monitor::build(config_);
  TopologyTestDriver driver_{topology_, {}};

  void crashes(const std::string& user, std::int32_t partition, std::initializer_list<int> seconds) {
    for (int s : seconds) driver_.pipe_input("logs", user, event(user, "High", "app crash", s), partition);
  }
  // Every input partition has a record, so none of them holds event time back as unknown.
  void touch_all_partitions(int second) {
    for (std::int32_t p = 0; p < 4; ++p) driver_.pipe_input("logs", "z", event("z", "Low", "ok", second), p);
  }
};

TEST_F(CrashMonitorTopology, AlertsOnceWhenTheWindowClosesWithTheFinalCount) {
  touch_all_partitions(0);
  crashes("A", 0, {1, 2, 3, 4});
  EXPECT_TRUE(driver_.read_output("crash-alerts").empty());  // window still open
  touch_all_partitions(40);                                    // every partition passes 10:00:40
  EXPECT_EQ(alerts(driver_.read_output("crash-alerts")), (std::vector<Alert>{{"A", "2026-01-01T10:00:00Z", 4}}));
  touch_all_partitions(100);
  EXPECT_TRUE(driver_.read_output("crash-alerts").empty());  // no second alert
}

// Beyond max_cached_windows the aggregate evicts its cache after a commit and reads windows back
// from RocksDB. A window closed from there is deleted in the next flush; until that is
// committed, RocksDB still holds it, and closing windows again must not emit it a second time.
TEST(CrashMonitorEviction, AWindowClosedFromTheStoreIsEmittedOnceBeforeItsDeleteIsCommitted) {
  crash_monitor::Config config;
  config.max_cached_windows = 0;  // every task evicts its cache at each commit
  const Topology topology = crash_monitor::build(config);
  TopologyTestDriver driver{topology, {}};
  const auto touch_all_partitions = [&](int second) {
    for (std::int32_t p = 0; p < 4; ++p) driver.pipe_input("logs", "z", event("z", "Low", "ok", second), p);
  };
  const std::vector<std::string> users{"A", "B", "C", "D", "E", "F", "G", "H"};
  touch_all_partitions(0);
  for (const auto& user : users)
    for (int s : {1, 2, 3}) driver.pipe_input("logs", user, event(user, "High", "app crash", s), 0);
  driver.commit();  // the cache is evicted: the windows live in RocksDB only
  for (const auto& user : users)
    for (int s : {11, 12, 13}) driver.pipe_input("logs", user, event(user, "High", "app crash", s), 0);
  touch_all_partitions(45);  // closes [10:00:00, 10:00:10) from the store
  touch_all_partitions(55);  // closes [10:00:10, 10:00:20); no commit since, the deletes are still staged
  std::vector<Alert> expected;
  for (const auto& user : users) {
    expected.emplace_back(user, "2026-01-01T10:00:00Z", 3);
    expected.emplace_back(user, "2026-01-01T10:00:10Z", 3);
  }
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(alerts(driver.read_output("crash-alerts")), expected);
  driver.commit();
  touch_all_partitions(100);
  EXPECT_TRUE(driver.read_output("crash-alerts").empty());
}

TEST_F(CrashMonitorTopology, ThresholdIsStrictlyGreaterThan) {
  touch_all_partitions(0);
  crashes("B", 1, {1, 2});
  touch_all_partitions(45);
  EXPECT_TRUE(driver_.read_output("crash-alerts").empty());
}

TEST_F(CrashMonitorTopology, WindowStaysOpenUntilEveryInputPartitionPassesIt) {
  touch_all_partitions(0);
  crashes("A", 0, {1, 2});
  for (std::int32_t p = 1; p < 4; ++p) driver_.pipe_input("logs", "z", event("z", "Low", "ok", 300), p);
  // Partition 0 is still at 10:00:02: A's third crash there is on time and must count.
  crashes("A", 0, {3});
  EXPECT_TRUE(driver_.read_output("crash-alerts").empty());
  crashes("A", 0, {50});
  EXPECT_EQ(alerts(driver_.read_output("crash-alerts")), (std::vector<Alert>{{"A", "2026-01-01T10:00:00Z", 3}}));
}

TEST_F(CrashMonitorTopology, LatenessIsDecidedPerInputPartition) {
  touch_all_partitions(0);
  crashes("E", 1, {1, 2});
  driver_.pipe_input("logs", "x", event("x", "Low", "ok", 300), 1);  // partition 1 moves to 10:05
  crashes("E", 1, {3});                                                // too late where it entered
  crashes("E", 2, {4});                                                // on time on partition 2
  touch_all_partitions(400);
  EXPECT_EQ(alerts(driver_.read_output("crash-alerts")), (std::vector<Alert>{{"E", "2026-01-01T10:00:00Z", 3}}));
  EXPECT_EQ(driver_.counter("late"), 1u);
  EXPECT_EQ(driver_.counter("late_downstream"), 0u);
}

TEST_F(CrashMonitorTopology, IdlePartitionsLetTheWallClockCloseWindows) {
  crashes("A", 0, {1, 2, 3});
  driver_.advance_wall_clock(6000);  // partitions 1-3 never had a record: empty, ignored
  EXPECT_TRUE(driver_.read_output("crash-alerts").empty());  // partition 0 is at 10:00:03
  // The wall clock moves past the window end plus grace: partition 0, caught up and quiet,
  // follows it and the window closes without new traffic.
  driver_.advance_wall_clock(60000);
  EXPECT_EQ(alerts(driver_.read_output("crash-alerts")), (std::vector<Alert>{{"A", "2026-01-01T10:00:00Z", 3}}));
}

TEST_F(CrashMonitorTopology, InvalidRecordsGoToTheDeadLetterTopicWithAReason) {
  driver_.pipe_input("logs", "k", "{\"user_id\":\"u\"", 0);
  driver_.pipe_input("logs", "k", R"({"severity":"High","content":"crash","timestamp":"2026-01-01T10:00:01Z"})", 0);
  const auto dlq = driver_.read_output("logs-dlq");
  ASSERT_EQ(dlq.size(), 2u);
  EXPECT_EQ(dlq[0].value, "{\"user_id\":\"u\"");
  EXPECT_EQ(dlq[0].headers.at(0).first, "streamwright.error");
  EXPECT_NE(dlq[0].headers.at(0).second.find("JSON"), std::string::npos);
  EXPECT_EQ(dlq[1].headers.at(0).second, "missing field user_id");
  EXPECT_EQ(driver_.counter("dead_lettered"), 2u);
}

TEST_F(CrashMonitorTopology, ReplayedUpstreamRecordsAreNotCountedTwice) {
  touch_all_partitions(0);
  driver_.commit();
  crashes("A", 0, {1, 2});
  // parse crashes before committing: it replays A's crashes into the repartition topic again.
  driver_.crash_and_restart("parse", true);
  EXPECT_EQ(driver_.counter("deduplicated"), 2u);
  crashes("A", 0, {3});
  touch_all_partitions(50);
  EXPECT_EQ(alerts(driver_.read_output("crash-alerts")), (std::vector<Alert>{{"A", "2026-01-01T10:00:00Z", 3}}));
}

TEST_F(CrashMonitorTopology, AggregateRestoresFromTheChangelogAlone) {
  touch_all_partitions(0);
  crashes("A", 0, {1, 2});
  crashes("B", 3, {1, 2, 3});
  driver_.commit();
  driver_.crash_and_restart("aggregate", false);  // local RocksDB lost
  crashes("A", 0, {3});
  touch_all_partitions(50);
  EXPECT_EQ(alerts(driver_.read_output("crash-alerts")),
            (std::vector<Alert>{{"A", "2026-01-01T10:00:00Z", 3}, {"B", "2026-01-01T10:00:00Z", 3}}));
}

// Found by the chaos suite: a partition committed as empty ("never carried a record") was
// still treated as empty after the entry stage restarted, so the other partitions' backlog
// closed windows before the records that had reached it meanwhile were read, and those were
// dropped downstream as late. Killed or not, the results must be the same.
TEST_F(CrashMonitorTopology, APartitionEmptyBeforeACrashHoldsEventTimeBackAfterIt) {
  for (std::int32_t p = 1; p < 4; ++p) driver_.pipe_input("logs", "z", event("z", "Low", "ok", 0), p);
  driver_.advance_wall_clock(6000);  // partition 0 is caught up and idle: empty
  driver_.commit();
  driver_.crash_and_restart("parse", true);
  // While parse was down: crashes of A on partition 0 (on time), and the other partitions moved
  // on; the restarted stage happens to read the others' backlog first.
  for (std::int32_t p = 1; p < 4; ++p) driver_.pipe_input("logs", "z", event("z", "Low", "ok", 100), p);
  crashes("A", 0, {1, 2, 3, 4});
  EXPECT_EQ(driver_.counter("late_downstream"), 0u);
  touch_all_partitions(200);
  EXPECT_EQ(alerts(driver_.read_output("crash-alerts")), (std::vector<Alert>{{"A", "2026-01-01T10:00:00Z", 4}}));
}

TEST_F(CrashMonitorTopology, UncommittedAggregateWorkIsRedoneAfterACrash) {
  touch_all_partitions(0);
  crashes("A", 0, {1, 2});
  driver_.commit();
  crashes("A", 0, {3});  // processed but never committed
  driver_.crash_and_restart("aggregate", true);
  touch_all_partitions(50);
  EXPECT_EQ(alerts(driver_.read_output("crash-alerts")), (std::vector<Alert>{{"A", "2026-01-01T10:00:00Z", 3}}));
}

TEST(CrashMonitorTopologyEarly, EmitsWhenTheCountCrossesTheThresholdThenUpdates) {
  crash_monitor::Config config;
  config.emit = EmitStrategy::on_window_update;
  const auto topology = crash_monitor::build(config);
  TopologyTestDriver driver(topology, {});
  for (int s : {1, 2, 3, 4}) driver.pipe_input("logs", "A", event("A", "Critical", "CRASH", s), 0);
  EXPECT_EQ(alerts(driver.read_output("crash-alerts")),
            (std::vector<Alert>{{"A", "2026-01-01T10:00:00Z", 3}, {"A", "2026-01-01T10:00:00Z", 4}}));
}

TEST(HoppingWindows, EveryRecordCountsInEachWindowThatContainsIt) {
  StreamsBuilder b("hop");
  b.stream<std::string_view, std::string_view>(
       "in",
       Consumed<std::string_view, std::string_view>{
           serdes::string_view(), serdes::string_view(),
           [](const std::string_view&, const std::string_view& v, const InputRecord&) {
             return kT + std::stoll(std::string(v)) * 1000;
           },
           "in-dlq"},
       "read")
      .group_by<std::string>([](const std::string_view& k, const std::string_view&) { return std::string(k); },
                             Grouped<std::string, std::string_view>{"by-key", "count", serdes::string(),
                                                                    serdes::string_view()})
      .window_by(TimeWindows::hopping(std::chrono::seconds(10), std::chrono::seconds(5), std::chrono::seconds(0)))
      .count(Materialized<std::string, std::int64_t>{"counts", serdes::string(), serdes::int64()})
      .to_stream()
      .map<std::string, std::string>(
          [](const Windowed<std::string>& k, const std::int64_t& n) {
            return std::pair<std::string, std::string>(k.key, format_rfc3339(k.window.start) + "=" + std::to_string(n));
          })
      .to("out", Produced<std::string, std::string>{serdes::string(), serdes::string()});
  const auto topology = b.build();
  TopologyTestDriver::Options options;
  options.partitions = 1;
  TopologyTestDriver driver(topology, options);
  for (const char* s : {"1", "6", "7", "12", "100"}) driver.pipe_input("in", "k", s, 0);
  std::vector<std::string> got;
  for (const auto& r : driver.read_output("out")) got.push_back(r.value);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"2026-01-01T09:59:55Z=1", "2026-01-01T10:00:00Z=3",
                                           "2026-01-01T10:00:05Z=3", "2026-01-01T10:00:10Z=1"}));
}

// A flush cut short by a crash leaves data records without their marker in the changelog; a
// restore must apply complete flushes only.
class MemoryReader final : public ChangelogReader {
 public:
  std::vector<std::pair<std::string, std::string>> log;
  bool bounds(std::int64_t& low, std::int64_t& high) override {
    low = 0;
    high = static_cast<std::int64_t>(log.size());
    return true;
  }
  bool read(std::int64_t from, std::int64_t high,
            const std::function<void(std::int64_t, std::string_view, std::string_view)>& f) override {
    for (auto i = from; i < high; ++i) f(i, log[static_cast<std::size_t>(i)].first, log[static_cast<std::size_t>(i)].second);
    return true;
  }
};

TEST(Restore, AppliesCompleteFlushesOnlyAndResumesFromTheCheckpoint) {
  const auto dir = std::filesystem::temp_directory_path() / ("sw-restore-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  state::RocksDbResources res(state::RocksDbOptions{});
  state::RocksDbStore store(dir, "s", res);
  MemoryReader reader;
  auto data = [&](const std::string& key, std::uint32_t gen, const std::string& value, bool deleted = false) {
    std::string k, v;
    state::encode_changelog_key(k, state::WindowKey{0, 10, key});
    state::encode_changelog_value(v, deleted, gen, value);
    reader.log.emplace_back(k, v);
  };
  auto marker = [&](std::uint32_t gen, const std::string& meta) {
    std::string v;
    bytes::put<std::uint32_t>(v, gen);
    v += meta;
    reader.log.emplace_back("M", v);
  };
  data("a", 7, "1");
  marker(7, "m1");
  data("b", 7, "2");  // generation 7 crashed before its marker
  data("c", 9, "3");
  data("a", 9, "", true);
  marker(9, "m2");
  data("d", 9, "4");  // trailing, unmarked
  auto r = restore_partition(store, 0, reader);
  EXPECT_TRUE(r.full);
  EXPECT_TRUE(r.has_meta);
  EXPECT_EQ(r.meta, "m2");
  EXPECT_EQ(r.generation, 9u);
  EXPECT_EQ(r.discarded, 2u);
  std::string v;
  EXPECT_FALSE(store.get(0, {0, 10, "a"}, v));
  EXPECT_FALSE(store.get(0, {0, 10, "b"}, v));
  EXPECT_TRUE(store.get(0, {0, 10, "c"}, v));
  EXPECT_EQ(v, "3");
  EXPECT_FALSE(store.get(0, {0, 10, "d"}, v));
  EXPECT_EQ(store.checkpoint(0).value(), 6);  // just after the last marker
  // A second restore starts at the checkpoint and reads only the tail.
  r = restore_partition(store, 0, reader);
  EXPECT_FALSE(r.full);
  EXPECT_EQ(r.records, 1u);
  EXPECT_EQ(r.meta, "m2");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sw
