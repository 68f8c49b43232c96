// streamwright-lake against tables the sink wrote: optimize compacts small files in one version
// while the sink keeps appending, vacuum removes only what no version within the retention
// needs, and the DuckDB views of `sql` read exactly the table's rows.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "harness.h"
#include "lake_support.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using namespace sw::test::lake;

constexpr int kPartitions = 4;

std::size_t parquet_files_on_disk(const std::string& table) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(table))
    if (e.is_regular_file() && e.path().extension() == ".parquet" && e.path().string().find("_delta_log") == std::string::npos)
      ++n;
  return n;
}

TEST(LakeTool, OptimizeCompactsWhileTheSinkAppendsAndVacuumKeepsWhatVersionsNeed) {
  DevBroker broker({"render-events:4", "render-events-lake-dlq:1"});
  TempDir dir;
  const std::string table = (dir.path() / "raw_events").string();
  TestProducer producer(broker.bootstrap());
  std::vector<Produced> records;
  std::vector<std::int64_t> end(kPartitions, 0);
  auto produce = [&](int n) {
    for (int i = 0; i < n; ++i) {
      auto r = render_event(static_cast<int>(records.size()), kPartitions, 2);
      producer.send("render-events", r.partition, "k", r.value);
      ++end[static_cast<std::size_t>(r.partition)];
      records.push_back(std::move(r));
    }
    producer.flush();
  };
  auto sink = start_sink(broker, {"--table", "render-events=" + table, "--partition-by",
                                  "render-events=date:timestamp,hour:timestamp", "--max-file-age", "200ms"},
                         dir.path() / "sink.log");
  ASSERT_TRUE(sink->wait_ready(60s));
  for (int round = 0; round < 8; ++round) {
    produce(250);
    ASSERT_TRUE(wait_for_progress(table, "lake-sink", end, 30s)) << round;
  }
  const auto before = read_table(table, "checkpoint", false);
  const std::size_t small_files = before["files"].size();
  ASSERT_GE(small_files, 10u);

  // Compaction while the sink appends: appends do not conflict with it.
  produce(500);
  std::string out;
  ASSERT_EQ(lake_tool({"optimize", table, "--target-file-size", "64MiB"}, &out), 0) << out;
  EXPECT_NE(out.find("compacted"), std::string::npos) << out;
  produce(500);
  ASSERT_TRUE(wait_for_progress(table, "lake-sink", end, 60s));
  EXPECT_EQ(sink->stop(), 0);

  std::vector<json> want;
  for (const auto& r : records) want.push_back(r.row);
  const auto after = read_table(table);
  EXPECT_TRUE(after["problems"].empty()) << after["problems"].dump();
  EXPECT_TRUE(canon_sorted(after["rows"]) == canon_sorted(want)) << "rows changed by the compaction";
  EXPECT_LT(after["files"].size(), small_files) << "no fewer files";
  EXPECT_EQ(lake_tool({"validate", table, "--deep"}, &out), 0) << out;

  // The compacted files are still needed by the versions before the compaction: a 7-day
  // retention keeps them; a zero one (forced) deletes them, and the table reads the same.
  const auto on_disk = parquet_files_on_disk(table);
  EXPECT_GT(on_disk, after["files"].size());
  EXPECT_EQ(lake_tool({"vacuum", table, "--retain", "7d"}, &out), 0) << out;
  EXPECT_NE(out.find("deleted 0 files"), std::string::npos) << out;
  EXPECT_EQ(parquet_files_on_disk(table), on_disk);
  EXPECT_EQ(lake_tool({"vacuum", table, "--retain", "0s"}, &out), 2) << "below 1h needs --force";
  EXPECT_EQ(lake_tool({"vacuum", table, "--retain", "0s", "--force"}, &out), 0) << out;
  EXPECT_EQ(parquet_files_on_disk(table), after["files"].size());
  const auto vacuumed = read_table(table);
  EXPECT_TRUE(vacuumed["problems"].empty()) << vacuumed["problems"].dump();
  EXPECT_TRUE(canon_sorted(vacuumed["rows"]) == canon_sorted(want));

  // The DuckDB views `sql` prints read exactly the table, partition columns included.
  std::string views;
  ASSERT_EQ(lake_tool({"sql", table}, &views), 0) << views;
  const auto rows = duckdb_rows(views + "SELECT count(*) AS n, count(DISTINCT frame_id) AS frames, min(date) AS first_day, "
                                         "max(hour) AS last_hour FROM raw_events;\n",
                                 dir.path() / "query.sql");
  ASSERT_FALSE(rows.is_null());
  EXPECT_EQ(rows[0]["n"], std::to_string(records.size()));
  EXPECT_EQ(rows[0]["frames"], std::to_string(records.size()));
}

TEST(LakeTool, ValidateReportsMissingAndCorruptFiles) {
  DevBroker broker({"node-metrics:4"});
  TempDir dir;
  const std::string table = (dir.path() / "node_metrics").string();
  TestProducer producer(broker.bootstrap());
  std::vector<std::int64_t> end(kPartitions, 0);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 50; ++i) {
      auto r = node_metric(round * 50 + i, kPartitions);
      producer.send("node-metrics", r.partition, "k", r.value);
      ++end[static_cast<std::size_t>(r.partition)];
    }
    producer.flush();
    auto sink = start_sink(broker, {"--table", "node-metrics=" + table}, dir.path() / ("sink" + std::to_string(round) + ".log"));
    ASSERT_TRUE(wait_for_progress(table, "lake-sink", end, 60s));
    EXPECT_EQ(sink->stop(), 0);
  }
  std::string out;
  ASSERT_EQ(lake_tool({"validate", table, "--json"}, &out), 0) << out;
  const auto report = json::parse(out);
  EXPECT_EQ(report["rows"], 150);
  EXPECT_EQ(report["txns"].size(), 4u);
  // Damage two files: one truncated, one gone. (At least one file per run; a run may commit
  // twice when its records arrive in two fetches around a rebalance.)
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(table))
    if (e.path().extension() == ".parquet") files.push_back(e.path());
  ASSERT_GE(files.size(), 3u);
  EXPECT_EQ(report["files"], files.size());
  std::filesystem::resize_file(files[0], std::filesystem::file_size(files[0]) / 2);
  std::filesystem::remove(files[1]);
  EXPECT_EQ(lake_tool({"validate", table}, &out), 1) << out;
  EXPECT_NE(out.find(files[0].filename().string() + ": is "), std::string::npos) << out;
  EXPECT_NE(out.find("PAR1"), std::string::npos) << out;
  EXPECT_NE(out.find(files[1].filename().string() + ": missing"), std::string::npos) << out;
  EXPECT_EQ(lake_tool({"validate", dir.path().string()}, &out), 1) << out;
  EXPECT_NE(out.find("no Delta table"), std::string::npos) << out;
  EXPECT_EQ(lake_tool({"vacuum"}, &out), 2) << out;
}

}  // namespace
}  // namespace sw::test
