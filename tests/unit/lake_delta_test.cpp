// The Delta log: commit files, replay, the exclusive creation of a version, lost races (retried
// while the writer still owns its partitions, refused when not), checkpoints (written with the
// lake's Parquet writer, read back, and used when the JSON before them is gone), protocol checks,
// statistics, the schema string and the partition layout.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>

#include "lake/delta/log.h"
#include "lake/delta/schema.h"
#include "lake/delta/stats.h"
#include "lake/fs/file_layer.h"
#include "lake/json_shredder.h"
#include "lake/parquet/writer.h"
#include "lake/table_layout.h"

namespace {

using namespace sw::lake;
using namespace sw::lake::delta;

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() / ("sw-lake-delta-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

Schema data_schema() {
  Schema s;
  s.fields.push_back(Field::primitive("id", Kind::string, false));
  s.fields.push_back(Field::primitive("n", Kind::int64));
  return s;
}

Metadata table_metadata(const Schema& s = data_schema(), std::vector<std::string> partitions = {}) {
  Metadata m;
  m.id = uuid4();
  m.schema_string = to_schema_string(s);
  m.partition_columns = std::move(partitions);
  return m;
}

Add add(const std::string& path, std::int64_t size = 100, std::int64_t records = 10) {
  Add a;
  a.path = path;
  a.size = size;
  a.modification_time = 1;
  a.stats = "{\"numRecords\":" + std::to_string(records) + "}";
  return a;
}

Commit append(std::vector<Add> adds, std::vector<TxnUpdate> txns) {
  Commit c;
  c.adds = std::move(adds);
  c.txns = std::move(txns);
  c.table = table_metadata();
  return c;
}

TEST(LakeDelta, FirstCommitCreatesTheTableWithProtocolMetadataAddsAndTxns) {
  TempDir dir;
  auto layer = fs::open_posix(dir.str());
  DeltaLog log(*layer);
  Snapshot s;
  std::string error;
  ASSERT_FALSE(log.load(s, error)) << error;
  EXPECT_EQ(s.version, -1);
  CommitResult r;
  ASSERT_FALSE(commit(log, s, append({add("part-1.parquet")}, {{"sink-0", std::nullopt, 42}}), r, error)) << error;
  EXPECT_EQ(r.version, 0);
  EXPECT_TRUE(std::filesystem::exists(dir.str() + "/_delta_log/00000000000000000000.json"));
  std::string text;
  ASSERT_FALSE(layer->read("_delta_log/00000000000000000000.json", text));
  // commitInfo, protocol, metaData, txn, add: one action per line.
  std::vector<std::string> kinds;
  for (std::size_t i = 0; i < text.size();) {
    const auto nl = text.find('\n', i);
    const auto j = nlohmann::json::parse(text.substr(i, nl - i));
    kinds.push_back(j.begin().key());
    i = nl + 1;
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"commitInfo", "protocol", "metaData", "txn", "add"}));
  Snapshot fresh;
  ASSERT_FALSE(log.load(fresh, error)) << error;
  EXPECT_EQ(fresh.version, 0);
  EXPECT_EQ(fresh.protocol.min_reader_version, 1);
  EXPECT_EQ(fresh.protocol.min_writer_version, 2);
  EXPECT_EQ(fresh.files.size(), 1u);
  EXPECT_EQ(fresh.txn_version("sink-0"), 42);
  EXPECT_EQ(fresh.total_records(), 10);
}

TEST(LakeDelta, ReplayReconcilesAddsAndRemovesAndKeepsTheLatestTxn) {
  auto layer = fs::open_memory();
  DeltaLog log(*layer);
  Snapshot s;
  std::string error;
  CommitResult r;
  ASSERT_FALSE(commit(log, s, append({add("a.parquet"), add("b.parquet")}, {{"g-0", std::nullopt, 5}}), r, error));
  ASSERT_FALSE(commit(log, s, append({add("c.parquet")}, {{"g-0", 5, 9}, {"g-1", std::nullopt, 3}}), r, error));
  Commit compact;
  compact.removes.push_back(Remove{"a.parquet", 123, false, false, {}, {}});
  compact.removes.push_back(Remove{"b.parquet", 123, false, false, {}, {}});
  compact.adds.push_back(add("ab.parquet", 200, 20));
  compact.adds.back().data_change = false;
  ASSERT_FALSE(commit(log, s, compact, r, error)) << error;
  Snapshot fresh;
  ASSERT_FALSE(log.load(fresh, error)) << error;
  EXPECT_EQ(fresh.version, 2);
  std::vector<std::string> live;
  for (const auto& [p, a] : fresh.files) live.push_back(p);
  EXPECT_EQ(live, (std::vector<std::string>{"ab.parquet", "c.parquet"}));
  EXPECT_EQ(fresh.tombstones.size(), 2u);
  EXPECT_EQ(fresh.txn_version("g-0"), 9);
  EXPECT_EQ(fresh.txn_version("g-1"), 3);
  EXPECT_EQ(fresh.total_records(), 30);
  // A compaction whose file is gone meanwhile conflicts and writes nothing.
  Commit again = compact;
  ASSERT_FALSE(commit(log, s, again, r, error));
  EXPECT_EQ(r.version, -1);
  EXPECT_EQ(r.conflicts, (std::vector<std::string>{"a.parquet", "b.parquet"}));
  fs::FileInfo info;
  EXPECT_TRUE(layer->stat(version_path(3), info));
}

TEST(LakeDelta, ExactlyOneOfManyConcurrentWritersCreatesAVersion) {
  TempDir dir;
  auto layer = fs::open_posix(dir.str());
  for (int round = 0; round < 20; ++round) {
    std::atomic<int> won{0}, lost{0}, other{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
      threads.emplace_back([&, t] {
        const auto ec = layer->put_if_absent(version_path(round), "writer " + std::to_string(t) + "\n");
        if (!ec) ++won;
        else if (ec == std::errc::file_exists) ++lost;
        else ++other;
      });
    for (auto& th : threads) th.join();
    EXPECT_EQ(won.load(), 1);
    EXPECT_EQ(lost.load(), 7);
    EXPECT_EQ(other.load(), 0);
  }
  // No temporaries are left behind.
  std::vector<fs::FileInfo> files;
  ASSERT_FALSE(layer->list("_delta_log", false, files));
  EXPECT_EQ(files.size(), 20u);
}

TEST(LakeDelta, ALostRaceIsRetriedWhileTheWriterStillOwnsItsPartitions) {
  TempDir dir;
  auto layer = fs::open_posix(dir.str());
  DeltaLog log(*layer);
  std::string error;
  Snapshot a, b;
  CommitResult r;
  ASSERT_FALSE(commit(log, a, append({add("a0.parquet")}, {{"g-0", std::nullopt, 10}}), r, error)) << error;
  ASSERT_FALSE(log.load(b, error));  // replica b reads version 0
  // Replica a commits partition 0 again; b, still at version 0, commits partition 1.
  ASSERT_FALSE(commit(log, a, append({add("a1.parquet")}, {{"g-0", 10, 20}}), r, error));
  EXPECT_EQ(r.version, 1);
  ASSERT_FALSE(commit(log, b, append({add("b1.parquet")}, {{"g-1", std::nullopt, 7}}), r, error)) << error;
  EXPECT_EQ(r.attempts, 2);  // version 1 was taken: re-read, then version 2
  EXPECT_EQ(r.version, 2);
  EXPECT_TRUE(r.conflicts.empty());
  EXPECT_EQ(b.version, 2);
  EXPECT_EQ(b.files.size(), 3u);
  EXPECT_EQ(b.txn_version("g-0"), 20);
  EXPECT_EQ(b.txn_version("g-1"), 7);
}

TEST(LakeDelta, ALostRaceForAPartitionSomeoneElseCommittedIsRefused) {
  auto layer = fs::open_memory();
  DeltaLog log(*layer);
  std::string error;
  Snapshot a, zombie;
  CommitResult r;
  ASSERT_FALSE(commit(log, a, append({add("a0.parquet")}, {{"g-0", std::nullopt, 10}}), r, error));
  ASSERT_FALSE(log.load(zombie, error));
  // The partition moved to a; a commits [10, 20). The old owner tries to commit [10, 15).
  ASSERT_FALSE(commit(log, a, append({add("a1.parquet")}, {{"g-0", 10, 20}}), r, error));
  ASSERT_FALSE(commit(log, zombie, append({add("z1.parquet")}, {{"g-0", 10, 15}}), r, error));
  EXPECT_EQ(r.version, -1);
  EXPECT_EQ(r.conflicts, std::vector<std::string>{"g-0"});
  EXPECT_EQ(zombie.version, 1);  // it caught up
  Snapshot fresh;
  ASSERT_FALSE(log.load(fresh, error));
  EXPECT_EQ(fresh.version, 1);
  EXPECT_EQ(fresh.files.count("z1.parquet"), 0u);
  EXPECT_EQ(fresh.txn_version("g-0"), 20);
}

TEST(LakeDelta, TwoWritersCreatingTheTableAgreeOnOneMetadata) {
  auto layer = fs::open_memory();
  DeltaLog log(*layer);
  std::string error;
  Snapshot a, b;
  CommitResult r;
  ASSERT_FALSE(commit(log, a, append({add("a.parquet")}, {{"g-0", std::nullopt, 1}}), r, error));
  ASSERT_FALSE(commit(log, b, append({add("b.parquet")}, {{"g-1", std::nullopt, 1}}), r, error));
  EXPECT_EQ(r.version, 1);
  EXPECT_EQ(a.metadata.id, b.metadata.id);
  // A writer with another schema is told so, and writes nothing.
  Snapshot c;
  Commit other = append({add("c.parquet")}, {{"g-2", std::nullopt, 1}});
  Schema s2 = data_schema();
  s2.fields.push_back(Field::primitive("extra", Kind::float64));
  other.table = table_metadata(s2);
  ASSERT_FALSE(commit(log, c, other, r, error));
  EXPECT_EQ(r.conflicts, std::vector<std::string>{"schema"});
}

TEST(LakeDelta, CheckpointsEveryNVersionsAndReplayStartsFromTheNewest) {
  TempDir dir;
  auto layer = fs::open_posix(dir.str());
  DeltaLog log(*layer);
  std::string error;
  Snapshot s;
  CommitResult r;
  CommitOptions o;
  o.checkpoint_interval = 10;
  for (int v = 0; v < 25; ++v) {
    Commit c = append({add("f" + std::to_string(v) + ".parquet", 100 + v, v)}, {{"g-" + std::to_string(v % 3),
                                                                                  s.txn_version("g-" + std::to_string(v % 3)),
                                                                                  v * 10}});
    if (v == 12) {
      c.removes.push_back(Remove{"f3.parquet", 1 << 30, true, false, {}, {}});
      c.removes.back().deletion_timestamp = std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count();
    }
    ASSERT_FALSE(commit(log, s, c, r, error, o)) << error;
    EXPECT_EQ(r.checkpointed, v == 10 || v == 20) << v << " " << r.checkpoint_error;
  }
  EXPECT_TRUE(std::filesystem::exists(dir.str() + "/_delta_log/00000000000000000010.checkpoint.parquet"));
  EXPECT_TRUE(std::filesystem::exists(dir.str() + "/_delta_log/00000000000000000020.checkpoint.parquet"));
  std::string last;
  ASSERT_FALSE(layer->read(kLastCheckpoint, last));
  EXPECT_EQ(nlohmann::json::parse(last)["version"], 20);

  Snapshot full;
  ASSERT_FALSE(log.load(full, error)) << error;
  EXPECT_EQ(full.checkpoint_version, 20);
  EXPECT_EQ(full.version, 24);
  // The JSON before the checkpoint can go (log retention): the state stays the same.
  for (int v = 0; v < 20; ++v) ASSERT_FALSE(layer->remove(version_path(v)));
  Snapshot from_checkpoint;
  ASSERT_FALSE(log.load(from_checkpoint, error)) << error;
  EXPECT_EQ(from_checkpoint.version, 24);
  EXPECT_EQ(from_checkpoint.files.size(), full.files.size());
  EXPECT_EQ(from_checkpoint.files.size(), 24u);
  EXPECT_EQ(from_checkpoint.files.count("f3.parquet"), 0u);
  EXPECT_EQ(from_checkpoint.tombstones.count("f3.parquet"), 1u);
  EXPECT_EQ(from_checkpoint.txns.size(), 3u);
  for (const auto& [id, t] : full.txns) EXPECT_EQ(from_checkpoint.txn_version(id), t.version) << id;
  EXPECT_EQ(from_checkpoint.metadata.id, full.metadata.id);
  EXPECT_EQ(from_checkpoint.metadata.schema_string, full.metadata.schema_string);
  EXPECT_EQ(from_checkpoint.total_bytes(), full.total_bytes());
  EXPECT_EQ(from_checkpoint.files.at("f7.parquet").stats, full.files.at("f7.parquet").stats);
}

TEST(LakeDelta, AnUnreadableCheckpointFallsBackToTheJsonLog) {
  TempDir dir;
  auto layer = fs::open_posix(dir.str());
  DeltaLog log(*layer);
  std::string error;
  Snapshot s;
  CommitResult r;
  CommitOptions o;
  o.checkpoint_interval = 2;
  for (int v = 0; v < 3; ++v) ASSERT_FALSE(commit(log, s, append({add("f" + std::to_string(v))}, {}), r, error, o));
  ASSERT_FALSE(layer->put(checkpoint_path(2), "PAR1 not really PAR1"));
  Snapshot fresh;
  ASSERT_FALSE(log.load(fresh, error)) << error;
  EXPECT_EQ(fresh.version, 2);
  EXPECT_EQ(fresh.checkpoint_version, -1);
  EXPECT_EQ(fresh.files.size(), 3u);
}

TEST(LakeDelta, AGapInTheLogIsAnError) {
  auto layer = fs::open_memory();
  DeltaLog log(*layer);
  std::string error;
  Snapshot s;
  CommitResult r;
  for (int v = 0; v < 3; ++v) ASSERT_FALSE(commit(log, s, append({add("f" + std::to_string(v))}, {}), r, error));
  ASSERT_FALSE(layer->remove(version_path(1)));
  Snapshot fresh;
  EXPECT_TRUE(log.load(fresh, error));
  EXPECT_NE(error.find("gap"), std::string::npos) << error;
}

TEST(LakeDelta, TablesNeedingNewerProtocolsAreNotWritten) {
  auto layer = fs::open_memory();
  DeltaLog log(*layer);
  Actions a;
  a.protocol = Protocol{3, 7, {"deletionVectors"}, {"deletionVectors"}};
  a.metadata = table_metadata();
  ASSERT_FALSE(log.write_version(0, a));
  Snapshot s;
  std::string error;
  ASSERT_FALSE(log.load(s, error));
  std::string why;
  EXPECT_FALSE(can_read(s.protocol, why));
  EXPECT_NE(why.find("deletionVectors"), std::string::npos);
  CommitResult r;
  EXPECT_TRUE(commit(log, s, append({add("x")}, {}), r, error));
  EXPECT_EQ(r.version, -1);
}

TEST(LakeDelta, SchemaStringRoundTrip) {
  Schema s;
  s.fields.push_back(Field::primitive("id", Kind::string, false));
  s.fields.push_back(Field::primitive("at", Kind::timestamp_ms));
  s.fields.push_back(Field::list_of("tags", Field::primitive("element", Kind::string, false)));
  s.fields.push_back(Field::struct_of("m", {Field::primitive("a", Kind::int64), Field::primitive("b", Kind::float64)}));
  s.fields.push_back(Field::map_of("kv", Field::primitive("value", Kind::string, true)));
  s.fields.push_back(Field::primitive("date", Kind::date));
  s.fields.push_back(Field::primitive("hour", Kind::int32));
  const auto text = to_schema_string(s);
  EXPECT_NE(text.find(R"({"name":"at","type":"timestamp","nullable":true,"metadata":{}})"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("type":{"type":"array","elementType":"string","containsNull":false})"), std::string::npos);
  EXPECT_TRUE(parse_schema_string(text).same_shape(s));
  EXPECT_THROW(parse_schema_string(R"x({"type":"struct","fields":[{"name":"d","type":"decimal(10,2)","nullable":true}]})x"),
               std::invalid_argument);
}

TEST(LakeDelta, AddStatsCarryRecordsMinMaxAndNullCounts) {
  Schema s;
  s.fields.push_back(Field::primitive("id", Kind::string, false));
  s.fields.push_back(Field::primitive("n", Kind::int64));
  s.fields.push_back(Field::primitive("at", Kind::timestamp_ms));
  s.fields.push_back(Field::primitive("ok", Kind::boolean));
  s.fields.push_back(Field::list_of("tags", Field::primitive("element", Kind::string, false)));
  s.fields.push_back(Field::struct_of("m", {Field::primitive("x", Kind::float64)}));
  auto ps = std::make_shared<parquet::ParquetSchema>(s);
  auto layer = fs::open_memory();
  std::error_code ec;
  parquet::ParquetWriter w(ps, {}, layer->create("f.parquet", ec));
  JsonShredder shredder(ps);
  const std::string long_id(40, 'z');
  std::vector<parquet::ColumnData> cols(ps->leaves().size());
  std::string error;
  for (const std::string& row : std::vector<std::string>{R"({"id":"b","n":3,"at":"2026-01-01T00:00:00Z","ok":true,"tags":["x"],"m":{"x":1.5}})",
                                R"({"id":"a","n":-1,"at":"2026-01-01T00:00:01.5Z","tags":[],"m":null})",
                                "{\"id\":\"" + long_id + "\"}"})
    ASSERT_TRUE(shredder.shred(row, cols, error)) << error;
  for (std::size_t i = 0; i < cols.size(); ++i) w.column(i).append(cols[i]);
  w.rows_added(3);
  parquet::FileSummary summary;
  ASSERT_FALSE(w.finish(summary));
  const auto stats = nlohmann::json::parse(stats_json(*ps, summary));
  EXPECT_EQ(stats["numRecords"], 3);
  EXPECT_EQ(stats["minValues"]["id"], "a");
  EXPECT_FALSE(stats["maxValues"].contains("id"));  // the maximum is longer than 32 characters
  EXPECT_EQ(stats["minValues"]["n"], -1);
  EXPECT_EQ(stats["maxValues"]["n"], 3);
  EXPECT_EQ(stats["minValues"]["at"], "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(stats["maxValues"]["at"], "2026-01-01T00:00:01.500Z");
  EXPECT_EQ(stats["nullCount"]["n"], 1);
  EXPECT_EQ(stats["nullCount"]["ok"], 2);
  EXPECT_FALSE(stats["minValues"].contains("ok"));
  EXPECT_FALSE(stats["nullCount"].contains("tags"));
  EXPECT_EQ(stats["minValues"]["m"]["x"], 1.5);
  EXPECT_EQ(stats["nullCount"]["m"]["x"], 2);
}

TEST(LakeDelta, PartitionSpecsDirectoriesAndPathEncoding) {
  Schema s;
  s.fields.push_back(Field::primitive("scene", Kind::string, false));
  s.fields.push_back(Field::primitive("timestamp", Kind::timestamp_ms, false));
  s.fields.push_back(Field::primitive("n", Kind::float64));
  const auto cols = parse_partition_spec("date:timestamp, hour:timestamp", s);
  ASSERT_EQ(cols.size(), 2u);
  EXPECT_EQ(cols[0].name, "date");
  EXPECT_EQ(cols[0].kind, Kind::date);
  EXPECT_EQ(cols[1].kind, Kind::int32);
  EXPECT_EQ(cols[1].source_leaf, 1u);
  EXPECT_THROW(parse_partition_spec("week:timestamp", s), std::invalid_argument);
  EXPECT_THROW(parse_partition_spec("date:scene", s), std::invalid_argument);
  EXPECT_THROW(parse_partition_spec("n", s), std::invalid_argument);
  EXPECT_THROW(parse_partition_spec("date:nope", s), std::invalid_argument);

  TableLayout layout(s, parse_partition_spec("scene,date:timestamp,hour:timestamp", s));
  EXPECT_EQ(layout.file_schema().fields.size(), 2u);  // scene lives in the directory names
  EXPECT_EQ(layout.file_leaf(), (std::vector<int>{-1, 0, 1}));
  const auto table = layout.table_schema();
  ASSERT_EQ(table.fields.size(), 5u);
  EXPECT_EQ(table.fields[2].name, "scene");
  EXPECT_EQ(table.fields[3].name, "date");

  auto ps = std::make_shared<parquet::ParquetSchema>(s);
  JsonShredder shredder(ps);
  std::vector<parquet::ColumnData> row(ps->leaves().size());
  std::string error, k1, k2;
  ASSERT_TRUE(shredder.shred(R"({"scene":"a/b c%","timestamp":"2026-11-22T05:09:20Z"})", row, error)) << error;
  const auto values = layout.values(row);
  EXPECT_EQ(*values.at("date"), "2026-11-22");
  EXPECT_EQ(*values.at("hour"), "5");
  EXPECT_EQ(layout.directory(values), "scene=a%2Fb c%25/date=2026-11-22/hour=5");
  EXPECT_EQ(encode_path(layout.directory(values) + "/part-1.parquet"),
            "scene=a%252Fb%20c%2525/date=2026-11-22/hour=5/part-1.parquet");
  EXPECT_EQ(decode_path("scene=a%252Fb%20c%2525/date=2026-11-22/hour=5/part-1.parquet"),
            "scene=a%2Fb c%25/date=2026-11-22/hour=5/part-1.parquet");
  layout.row_key(row, k1);
  for (auto& c : row) c.clear();
  ASSERT_TRUE(shredder.shred(R"({"scene":"a/b c%","timestamp":"2026-11-22T05:59:59.999Z"})", row, error));
  layout.row_key(row, k2);
  EXPECT_EQ(k1, k2);  // same hour
  for (auto& c : row) c.clear();
  ASSERT_TRUE(shredder.shred(R"({"scene":"a/b c%","timestamp":"2026-11-22T06:00:00Z"})", row, error));
  layout.row_key(row, k2);
  EXPECT_NE(k1, k2);
  for (auto& c : row) c.clear();
  ASSERT_TRUE(shredder.shred(R"({"scene":"x","timestamp":"1969-12-31T23:00:00Z"})", row, error));
  EXPECT_EQ(*layout.values(row).at("date"), "1969-12-31");
  EXPECT_EQ(*layout.values(row).at("hour"), "23");
}

}  // namespace
