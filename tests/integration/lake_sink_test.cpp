// streamwright-lake-sink as a real process against the dev broker, its tables read back by
// independent readers: a JavaScript replay of the Delta log, DuckDB and hyparquet
// (tests/lake/read_table.mjs), compared row by row with the records produced.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/time.h"
#include "harness.h"
#include "lake/delta/log.h"
#include "lake/fs/file_layer.h"
#include "lake_support.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using namespace sw::test::lake;

constexpr int kPartitions = 4;

struct Topic {
  explicit Topic(std::string n) : name(std::move(n)) {}
  std::string name;
  std::vector<Produced> records;
  std::vector<std::int64_t> end = std::vector<std::int64_t>(kPartitions, 0);
};

void produce(TestProducer& producer, Topic& t, const std::vector<Produced>& records) {
  for (const auto& r : records) {
    producer.send(t.name, r.partition, "k" + std::to_string(t.records.size()), r.value);
    ++t.end[static_cast<std::size_t>(r.partition)];
    t.records.push_back(r);
  }
  producer.flush();
}

std::vector<json> expected_rows(const Topic& t) {
  std::vector<json> rows;
  for (const auto& r : t.records) rows.push_back(r.row);
  return rows;
}

void expect_table_holds(const std::string& table, const Topic& t, const std::string& replay = "checkpoint") {
  const auto doc = read_table(table, replay);
  EXPECT_TRUE(doc["problems"].empty()) << doc["problems"].dump(2);
  const auto got = canon_sorted(doc["rows"]);
  const auto want = canon_sorted(expected_rows(t));
  ASSERT_EQ(got.size(), want.size()) << table;
  std::size_t shown = 0;
  for (std::size_t i = 0; i < got.size() && shown < 3; ++i)
    if (got[i] != want[i]) {
      ADD_FAILURE() << table << " row " << i << "\n  got  " << got[i] << "\n  want " << want[i];
      ++shown;
    }
  std::size_t rows_in_files = 0;
  for (const auto& f : doc["files"]) {
    EXPECT_EQ(f["duckdbRows"], f["hyparquetRows"]) << f.dump();
    rows_in_files += f["numRecords"].get<std::size_t>();
  }
  EXPECT_EQ(rows_in_files, t.records.size());
}

TEST(LakeSink, IndependentReadersSeeExactlyTheProducedRowsOfEveryRenderFarmTable) {
  DevBroker broker({"render-metrics:4", "node-metrics:4", "render-events:4", "render-metrics-lake-dlq:1",
                    "node-metrics-lake-dlq:1", "render-events-lake-dlq:1"});
  TempDir dir;
  const std::string lake = (dir.path() / "lake").string();
  TestProducer producer(broker.bootstrap());
  Topic metrics{"render-metrics"}, nodes{"node-metrics"}, events{"render-events"};
  std::vector<Produced> batch;
  for (int i = 0; i < 700; ++i) batch.push_back(render_metric(i, kPartitions));
  produce(producer, metrics, batch);
  batch.clear();
  for (int i = 0; i < 300; ++i) batch.push_back(node_metric(i, kPartitions));
  produce(producer, nodes, batch);
  batch.clear();
  for (int i = 0; i < 6000; ++i) batch.push_back(render_event(i, kPartitions));
  produce(producer, events, batch);

  auto sink = start_sink(broker,
                         {"--table", "render-metrics=" + lake + "/render_metrics", "--table",
                          "node-metrics=" + lake + "/node_metrics", "--table", "render-events=" + lake + "/raw_events",
                          "--partition-by", "render-events=date:timestamp,hour:timestamp"},
                         dir.path() / "sink.log");
  ASSERT_TRUE(sink->wait_ready(60s));
  // Records arriving while it runs are committed within --max-file-age.
  batch.clear();
  for (int i = 6000; i < 7000; ++i) batch.push_back(render_event(i, kPartitions));
  produce(producer, events, batch);
  const bool done = wait_for_progress(lake + "/render_metrics", "lake-sink", metrics.end, 60s) &&
                    wait_for_progress(lake + "/node_metrics", "lake-sink", nodes.end, 60s) &&
                    wait_for_progress(lake + "/raw_events", "lake-sink", events.end, 60s);
  if (!done) dump_log(sink->log());
  ASSERT_TRUE(done);
  EXPECT_EQ(sink->metric("lake_sink_rows_written_total{table=\"raw_events\"}"), 7000);
  EXPECT_EQ(sink->metric("streamwright_records_consumed_total{stage=\"lake-sink\",topic=\"render-metrics\"}"), 700);
  EXPECT_EQ(sink->stop(), 0);

  expect_table_holds(lake + "/render_metrics", metrics);
  expect_table_holds(lake + "/node_metrics", nodes);
  expect_table_holds(lake + "/raw_events", events);

  // raw_events: partitioned by the UTC date and hour of `timestamp`, in directories Hive readers
  // understand, and the table's schema names them.
  const auto doc = read_table(lake + "/raw_events", "checkpoint", false);
  EXPECT_EQ(doc["partitionColumns"], json({"date", "hour"}));
  std::set<std::string> dirs;
  for (const auto& f : doc["files"]) {
    const std::string path = f["path"];
    const auto& pv = f["partitionValues"];
    EXPECT_EQ(path.rfind("date=" + pv["date"].get<std::string>() + "/hour=" + pv["hour"].get<std::string>() + "/part-", 0),
              0u)
        << path;
    EXPECT_NE(path.find(".zstd.parquet"), std::string::npos);
    dirs.insert(path.substr(0, path.rfind('/')));
  }
  EXPECT_EQ(dirs.size(), 3u);  // three hours of event time
  bool date_is_date = false;
  for (const auto& field : doc["schema"]["fields"])
    if (field["name"] == "date") date_is_date = field["type"] == "date";
  EXPECT_TRUE(date_is_date);

  // The seed's validation script.
  std::string out;
  EXPECT_EQ(lake_tool({"validate", lake + "/raw_events", "--deep"}, &out), 0) << out;
  EXPECT_NE(out.find("rows      7000"), std::string::npos) << out;
  EXPECT_NE(out.find("OK:"), std::string::npos) << out;
}

TEST(LakeSink, TheDeltaReplayAgreesWithDuckDbAndWithTheLibraryFromCheckpointsOrJson) {
  DevBroker broker({"render-metrics:4"});
  TempDir dir;
  const std::string table = (dir.path() / "render_metrics").string();
  TestProducer producer(broker.bootstrap());
  Topic metrics{"render-metrics"};
  auto sink = start_sink(broker, {"--table", "render-metrics=" + table, "--max-file-age", "200ms", "--checkpoint-interval", "3"},
                         dir.path() / "sink.log");
  ASSERT_TRUE(sink->wait_ready(60s));
  // Trickle: many small commits, so the log has checkpoints and JSON after them.
  for (int round = 0; round < 12; ++round) {
    std::vector<Produced> batch;
    for (int i = 0; i < 40; ++i) batch.push_back(render_metric(round * 40 + i, kPartitions));
    produce(producer, metrics, batch);
    ASSERT_TRUE(wait_for_progress(table, "lake-sink", metrics.end, 30s)) << round;
  }
  EXPECT_EQ(sink->stop(), 0);

  const auto from_checkpoint = read_table(table, "checkpoint");
  const auto from_json = read_table(table, "json");
  ASSERT_FALSE(from_checkpoint["checkpoint"].is_null());
  EXPECT_GE(from_checkpoint["checkpoint"].get<int>(), 9);
  EXPECT_EQ(from_checkpoint["version"], from_json["version"]);
  EXPECT_EQ(from_checkpoint["txns"], from_json["txns"]);
  EXPECT_EQ(from_checkpoint["files"], from_json["files"]);
  EXPECT_TRUE(from_checkpoint["problems"].empty()) << from_checkpoint["problems"].dump();
  expect_table_holds(table, metrics);

  // The library's replay: the same version, files and progress.
  auto layer = sw::lake::fs::open_posix(table);
  sw::lake::delta::DeltaLog log(*layer);
  sw::lake::delta::Snapshot s;
  std::string error;
  ASSERT_FALSE(log.load(s, error)) << error;
  EXPECT_EQ(s.version, from_json["version"].get<std::int64_t>());
  std::set<std::string> lib_files, js_files;
  for (const auto& [uri, add] : s.files) lib_files.insert(sw::lake::delta::decode_path(uri));
  for (const auto& f : from_json["files"]) js_files.insert(f["path"].get<std::string>());
  EXPECT_EQ(lib_files, js_files);
  for (const auto& [app, t] : s.txns) EXPECT_EQ(from_json["txns"][app], t.version) << app;

  // Log retention may remove the JSON before a checkpoint: both replays still agree.
  const auto last = from_checkpoint["checkpoint"].get<std::int64_t>();
  for (std::int64_t v = 0; v < last; ++v) ASSERT_FALSE(layer->remove(sw::lake::delta::version_path(v)));
  const auto pruned = read_table(table, "checkpoint");
  EXPECT_EQ(pruned["files"], from_json["files"]);
  EXPECT_EQ(pruned["txns"], from_json["txns"]);
  sw::lake::delta::Snapshot again;
  ASSERT_FALSE(log.load(again, error)) << error;
  EXPECT_EQ(again.files.size(), s.files.size());
  EXPECT_EQ(again.checkpoint_version, last);
  std::string out;
  EXPECT_EQ(lake_tool({"validate", table}, &out), 0) << out;
}

TEST(LakeSink, RecordsThatDoNotFitGoToTheDeadLetterTopicWithAReasonAndTheSinkGoesOn) {
  DevBroker broker({"render-metrics:2", "render-metrics-lake-dlq:1"});
  TempDir dir;
  const std::string table = (dir.path() / "render_metrics").string();
  Topic metrics{"render-metrics"};
  std::vector<std::int64_t> end(kPartitions, 0);
  kafka::Config pc;
  pc.set(kafka::keys::bootstrap_servers, broker.bootstrap());
  kafka::Producer producer(pc);
  const auto topic = producer.topic("render-metrics");
  struct Bad {
    std::string value;
    std::string reason;
    bool null = false;
  };
  auto good = render_metric(1, 2);
  json wrong_type = json::parse(good.value);
  wrong_type["frames"] = "486";
  json missing = json::parse(good.value);
  missing.erase("nodes");
  json extra = json::parse(good.value);
  extra["unexpected"] = 1;  // the schema says additionalProperties: false
  json range = json::parse(good.value);
  range["avg_gpu_utilization"] = 1.5;
  json empty_scene = json::parse(good.value);
  empty_scene["scene_id"] = "";
  const std::vector<Bad> bad = {
      {"not json at all", "malformed JSON"},
      {"[1,2,3]", "not a JSON object"},
      {wrong_type.dump(), "field frames is not an integer"},
      {missing.dump(), "missing field nodes"},
      {extra.dump(), "unknown field unexpected"},
      {range.dump(), "field avg_gpu_utilization is out of range [0, 1]"},
      {empty_scene.dump(), "field scene_id is empty"},
      {std::string(300u << 10, 'x'), "record too large"},
      {"", "null value", true},
  };
  std::vector<Produced> goods;
  int n = 0;
  for (int round = 0; round < 3; ++round) {
    for (const auto& b : bad) {
      const std::string_view v = b.value;
      ASSERT_FALSE(producer.send_with_headers(topic, n % 2, "bad", b.null ? nullptr : &v, {}));
      ++end[static_cast<std::size_t>(n++ % 2)];
      auto g = render_metric(n, 2);
      ASSERT_FALSE(producer.send(topic, n % 2, "good", g.value));
      g.partition = n % 2;
      ++end[static_cast<std::size_t>(n++ % 2)];
      metrics.records.push_back(g);
    }
  }
  ASSERT_FALSE(producer.flush(30s));
  end.resize(2);
  auto sink = start_sink(broker, {"--table", "render-metrics=" + table, "--max-record-bytes", "64KiB"}, dir.path() / "sink.log");
  ASSERT_TRUE(wait_for_progress(table, "lake-sink", end, 60s));
  EXPECT_TRUE(sink->process().running());
  EXPECT_EQ(sink->metric("lake_sink_dead_letter_records_total"), 3.0 * bad.size());
  EXPECT_EQ(sink->stop(), 0);
  expect_table_holds(table, metrics);

  TopicReader dlq(broker.bootstrap(), "render-metrics-lake-dlq");
  const auto& letters = dlq.read_until([&](const auto& r) { return r.size() >= 3 * bad.size(); }, 30s, 500ms);
  ASSERT_EQ(letters.size(), 3 * bad.size());
  std::map<std::string, int> reasons;
  for (const auto& l : letters) {
    EXPECT_EQ(l.headers.at("streamwright.topic"), "render-metrics");
    EXPECT_FALSE(l.headers.at("streamwright.offset").empty());
    const auto& reason = l.headers.at("streamwright.error");
    bool known = false;
    for (const auto& b : bad)
      if (reason.find(b.reason) != std::string::npos) {
        ++reasons[b.reason];
        known = true;
      }
    EXPECT_TRUE(known) << reason;
    if (reason.find("record too large") != std::string::npos) {
      EXPECT_EQ(l.headers.at("streamwright.original-bytes"), std::to_string((300u << 10) + 3));
      EXPECT_LE(l.value.size(), 256u << 10);
    }
  }
  for (const auto& b : bad) EXPECT_EQ(reasons[b.reason], 3) << b.reason;
}

TEST(LakeSink, ResumesFromTheTableNotFromKafkasCommittedOffsets) {
  DevBroker broker({"node-metrics:4"});
  TempDir dir;
  const std::string table = (dir.path() / "node_metrics").string();
  TestProducer producer(broker.bootstrap());
  Topic nodes{"node-metrics"};
  std::vector<Produced> batch;
  for (int i = 0; i < 200; ++i) batch.push_back(node_metric(i, kPartitions));
  produce(producer, nodes, batch);
  {
    auto sink = start_sink(broker, {"--table", "node-metrics=" + table}, dir.path() / "sink1.log");
    ASSERT_TRUE(wait_for_progress(table, "lake-sink", nodes.end, 60s));
    EXPECT_EQ(sink->stop(), 0);
  }
  batch.clear();
  for (int i = 200; i < 400; ++i) batch.push_back(node_metric(i, kPartitions));
  produce(producer, nodes, batch);
  {
    // Another sink of the same group, writing to another table, moves the group's committed
    // offsets past the new records: a sink that trusted them would lose 200 rows.
    const std::string other = (dir.path() / "other").string();
    auto sink = start_sink(broker, {"--table", "node-metrics=" + other}, dir.path() / "other.log");
    ASSERT_TRUE(wait_for_progress(other, "lake-sink", nodes.end, 60s));
    EXPECT_EQ(sink->stop(), 0);
    kafka::Config cc;
    cc.set(kafka::keys::bootstrap_servers, broker.bootstrap());
    cc.set(kafka::keys::group_id, "lake-sink");
    kafka::Consumer c(cc, nullptr);
    std::vector<kafka::TopicPartition> committed;
    for (int p = 0; p < kPartitions; ++p) committed.push_back({"node-metrics", p, Offset::none(), {}});
    ASSERT_FALSE(c.committed(committed, 10s));
    for (int p = 0; p < kPartitions; ++p)
      EXPECT_EQ(committed[static_cast<std::size_t>(p)].offset, Offset::at(nodes.end[static_cast<std::size_t>(p)])) << "the hint";
  }
  auto sink = start_sink(broker, {"--table", "node-metrics=" + table}, dir.path() / "sink2.log");
  ASSERT_TRUE(wait_for_progress(table, "lake-sink", nodes.end, 60s));
  EXPECT_EQ(sink->stop(), 0);
  expect_table_holds(table, nodes);
}

TEST(LakeSink, BadFlagsExitWithTwoBeforeConnecting) {
  TempDir dir;
  const std::string table = (dir.path() / "t").string();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--table", "render-metrics=" + table}, "--bootstrap-servers"},
      {{"--bootstrap-servers", "127.0.0.1:1"}, "--table TOPIC=PATH is required"},
      {{"--bootstrap-servers", "127.0.0.1:1", "--table", "no-such-topic=" + table}, "no schema for topic no-such-topic"},
      {{"--bootstrap-servers", "127.0.0.1:1", "--table", "render-metrics=s3://bucket/t"}, "object stores are not supported"},
      {{"--bootstrap-servers", "127.0.0.1:1", "--table", "render-events=" + table, "--partition-by",
        "render-events=week:timestamp"},
       "unknown function 'week'"},
      {{"--bootstrap-servers", "127.0.0.1:1", "--table", "render-events=" + table, "--partition-by",
        "render-events=date:scene_id"},
       "is not a timestamp"},
      {{"--bootstrap-servers", "127.0.0.1:1", "--table", "render-metrics=" + table, "--target-file-size", "huge"},
       "invalid size 'huge'"},
      {{"--bootstrap-servers", "127.0.0.1:1", "--table", "render-metrics=" + table, "--compression", "lz4"},
       "unknown compression 'lz4'"},
      {{"--bootstrap-servers", "127.0.0.1:1", "--table", "render-metrics=" + table, "--partition-by", "node-metrics=x"},
       "topic node-metrics has no --table"},
      {{"--bootstrap-servers", "127.0.0.1:1", "--table", "render-metrics=" + table, "--zstd-level", "40"}, "--zstd-level"},
      {{"--bootstrap-servers", "127.0.0.1:1", "--table", "render-metrics=" + table, "--kafka-property", "no.such=1"},
       "no.such"},
  };
  for (const auto& [args, message] : cases) {
    const auto log = dir.path() / "flags.log";
    std::filesystem::remove(log);
    ChildProcess p(bin_dir() + "/streamwright-lake-sink", args, ChildProcess::Options{true, log.string(), "", {}});
    const auto code = p.wait(20s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 2) << message;
    std::ifstream in(log);
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    EXPECT_NE(text.find(message), std::string::npos) << text;
  }
  EXPECT_FALSE(std::filesystem::exists(table));  // nothing was created
  // A test crash point with an unknown name is bad usage too.
  ChildProcess p(bin_dir() + "/streamwright-lake-sink", {"--bootstrap-servers", "127.0.0.1:1", "--table", "render-metrics=" + table},
                 ChildProcess::Options{true, (dir.path() / "crash.log").string(), "", {"STREAMWRIGHT_LAKE_TEST_CRASH_AT=nowhere"}});
  EXPECT_EQ(p.wait(20s), 2);
}

TEST(LakeSink, ServesMetricsThatPassPromtoolAndReportsTablesFromTheEnvironment) {
  DevBroker broker({"render-metrics:4"});
  TempDir dir;
  const std::string table = (dir.path() / "render_metrics").string();
  // Options from STREAMWRIGHT_* variables and KAFKA_BOOTSTRAP_SERVERS, as the chart passes them.
  Service sink("streamwright-lake-sink", {"--metrics-port", "0"}, dir.path() / "sink.log",
               {"KAFKA_BOOTSTRAP_SERVERS=" + broker.bootstrap(), "STREAMWRIGHT_TABLE=render-metrics=" + table,
                "STREAMWRIGHT_MAX_FILE_AGE=300ms", "STREAMWRIGHT_GROUP_ID=lake-env"});
  ASSERT_TRUE(sink.wait_ready(60s));
  TestProducer producer(broker.bootstrap());
  Topic metrics{"render-metrics"};
  std::vector<Produced> batch;
  for (int i = 0; i < 50; ++i) batch.push_back(render_metric(i, kPartitions));
  produce(producer, metrics, batch);
  ASSERT_TRUE(wait_for_progress(table, "lake-env", metrics.end, 60s));
  const auto text = sink.metrics();
  for (const char* series : {"streamwright_ready{stage=\"lake-sink\"} 1", "lake_sink_rows_written_total{table=\"render_metrics\"} 50",
                             "streamwright_records_consumed_total{stage=\"lake-sink\",topic=\"render-metrics\"} 50",
                             "streamwright_assigned_partitions{stage=\"lake-sink\"} 4"})
    EXPECT_NE(text.find(series), std::string::npos) << series << "\n" << text;
  const auto file = dir.path() / "scrape.txt";
  std::ofstream(file) << text;
  EXPECT_EQ(std::system(("promtool check metrics < " + file.string() + " > " + file.string() + ".lint 2>&1").c_str()), 0)
      << (dump_log(file.string() + ".lint"), "promtool check metrics");
  int status = 0;
  http_get(sink.port(), "/healthz", &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(sink.stop(), 0);
}

}  // namespace
}  // namespace sw::test
