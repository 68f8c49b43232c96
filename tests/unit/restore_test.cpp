// Restore of several changelog partitions at once: the same state, metadata and checkpoints as
// restoring them one at a time; incomplete flushes discarded; checkpoints never ahead of what is
// durable in RocksDB, also when the process dies in the middle.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <optional>
#include <chrono>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "runtime/restore.h"
#include "runtime/standby.h"
#include "state/rocksdb_store.h"

namespace sw {
namespace {

namespace fs = std::filesystem;
using Log = std::vector<std::pair<std::string, std::string>>;

void data(Log& log, const std::string& key, std::uint32_t gen, const std::string& value, bool deleted = false,
          TimestampMs start = 0) {
  std::string k, v;
  state::encode_changelog_key(k, state::WindowKey{start, start + 10, key});
  state::encode_changelog_value(v, deleted, gen, value);
  log.emplace_back(k, v);
}
void marker(Log& log, std::uint32_t gen, const std::string& meta) {
  std::string v;
  bytes::put<std::uint32_t>(v, gen);
  v += meta;
  log.emplace_back(std::string(1, state::kChangelogMarkerType), v);
}

// Several partitions; read interleaved in chunks (as a consumer returns them), optionally
// failing (or calling `on_record`) after a number of records.
class MemorySource final : public ChangelogSource {
 public:
  std::map<std::int32_t, Log> logs;
  std::map<std::int32_t, std::int64_t> low;  // log start (retention)
  std::size_t chunk = 3;
  std::int64_t fail_after = -1;
  std::function<void(std::int64_t n)> on_record;
  std::int64_t delivered = 0;
  std::vector<std::vector<Range>> reads;

  bool bounds(std::int32_t partition, std::int64_t& lo, std::int64_t& hi) override {
    lo = low.count(partition) ? low[partition] : 0;
    hi = static_cast<std::int64_t>(logs[partition].size());
    return true;
  }
  bool read(const std::vector<Range>& ranges, const RecordFn& f) override {
    reads.push_back(ranges);
    std::map<std::int32_t, std::int64_t> next;
    for (const auto& r : ranges) next[r.partition] = r.from;
    bool more = true;
    while (more) {
      more = false;
      for (const auto& r : ranges) {
        auto& n = next[r.partition];
        for (std::size_t i = 0; i < chunk && n < r.high; ++i, ++n) {
          if (fail_after >= 0 && delivered >= fail_after) return false;
          const auto& rec = logs[r.partition][static_cast<std::size_t>(n)];
          f(r.partition, n, rec.first, rec.second);
          ++delivered;
          if (on_record) on_record(delivered);
        }
        if (n < r.high) more = true;
      }
    }
    return true;
  }
};

class MemoryReader final : public ChangelogReader {
 public:
  explicit MemoryReader(const Log& log) : log_(log) {}
  bool bounds(std::int64_t& lo, std::int64_t& hi) override {
    lo = 0;
    hi = static_cast<std::int64_t>(log_.size());
    return true;
  }
  bool read(std::int64_t from, std::int64_t high,
            const std::function<void(std::int64_t, std::string_view, std::string_view)>& f) override {
    for (auto i = from; i < high; ++i) f(i, log_[static_cast<std::size_t>(i)].first, log_[static_cast<std::size_t>(i)].second);
    return true;
  }

 private:
  const Log& log_;
};

// Everything a partition holds: windows and metadata.
struct Contents {
  std::vector<std::tuple<TimestampMs, TimestampMs, std::string, std::string>> windows;
  bool has_meta = false;
  std::string meta;
  bool operator==(const Contents& o) const {
    return windows == o.windows && has_meta == o.has_meta && meta == o.meta;
  }
};

Contents contents(const state::RocksDbStore& store, std::int32_t partition) {
  Contents c;
  store.scan_until(partition, INT64_MAX, [&](const state::WindowKey& k, std::string_view v) {
    c.windows.emplace_back(k.start, k.end, std::string(k.key), std::string(v));
  });
  c.has_meta = store.get_meta(partition, c.meta);
  return c;
}

// The state a changelog describes: complete flushes only, in order.
Contents expected(const Log& log) {
  std::map<std::tuple<TimestampMs, TimestampMs, std::string>, std::string> state;
  std::vector<std::tuple<std::string, std::string, bool, std::uint32_t>> pending;
  Contents c;
  for (const auto& [k, v] : log) {
    if (k.size() == 1 && k[0] == state::kChangelogMarkerType) {
      bytes::Reader r(v);
      const auto gen = r.get<std::uint32_t>();
      for (const auto& [pk, pv, deleted, g] : pending) {
        if (g != gen) continue;
        state::WindowKey wk;
        EXPECT_TRUE(state::decode_changelog_key(pk, wk));
        const auto key = std::make_tuple(wk.start, wk.end, std::string(wk.key));
        if (deleted)
          state.erase(key);
        else
          state[key] = pv;
      }
      pending.clear();
      c.has_meta = true;
      c.meta = v.substr(4);
      continue;
    }
    bool deleted = false;
    std::uint32_t gen = 0;
    std::string_view payload;
    EXPECT_TRUE(state::decode_changelog_value(v, deleted, gen, payload));
    pending.emplace_back(k, std::string(payload), deleted, gen);
  }
  // Sorted like the store: by end, start, key (all windows here have the same size).
  std::vector<std::tuple<TimestampMs, TimestampMs, std::string, std::string>> rows;
  for (const auto& [k, v] : state) rows.emplace_back(std::get<0>(k), std::get<1>(k), std::get<2>(k), v);
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::make_tuple(std::get<1>(a), std::get<0>(a), std::get<2>(a)) <
           std::make_tuple(std::get<1>(b), std::get<0>(b), std::get<2>(b));
  });
  c.windows = std::move(rows);
  return c;
}

// A changelog with repeated keys, deletes, several window starts, flushes cut short by a crash
// (records of a generation that never wrote its marker) and a trailing incomplete flush.
Log random_log(std::uint32_t seed, int flushes) {
  std::mt19937 rng(seed);
  Log log;
  std::uint32_t gen = seed * 1000 + 1;
  for (int f = 0; f < flushes; ++f) {
    const int n = static_cast<int>(rng() % 40);
    const bool crash = rng() % 6 == 0;
    for (int i = 0; i < n; ++i) {
      const auto key = "user-" + std::to_string(rng() % 60);
      const auto start = static_cast<TimestampMs>(rng() % 3) * 10;
      data(log, key, gen, std::to_string(rng() % 1000), rng() % 7 == 0, start);
    }
    if (crash) {
      ++gen;  // the crashed incarnation's records stay in the log, unmarked
      continue;
    }
    marker(log, gen, "meta-" + std::to_string(seed) + "-" + std::to_string(f));
    if (rng() % 5 == 0) ++gen;
  }
  for (int i = 0; i < 5; ++i) data(log, "tail-" + std::to_string(i), gen + 7, "x");
  return log;
}

std::int64_t last_marker_end(const Log& log) {
  std::int64_t end = 0;
  for (std::size_t i = 0; i < log.size(); ++i)
    if (log[i].first.size() == 1 && log[i].first[0] == state::kChangelogMarkerType) end = static_cast<std::int64_t>(i) + 1;
  return end;
}

class RestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() / ("sw_restore_test_" + std::to_string(::getpid()) + "_" +
                                        std::to_string(counter++) + "_" +
                                        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::unique_ptr<state::RocksDbStore> open(const std::string& name) {
    if (!resources_) resources_ = std::make_unique<state::RocksDbResources>(state::RocksDbOptions{1 << 20, 1 << 20});
    return std::make_unique<state::RocksDbStore>(dir_, name, *resources_);
  }
  fs::path dir_;
  std::unique_ptr<state::RocksDbResources> resources_;
};

TEST_F(RestoreTest, SeveralPartitionsAtOnceEqualOneAtATime) {
  MemorySource source;
  const std::vector<std::int32_t> partitions{3, 0, 7, 1, 2};
  for (const auto p : partitions) source.logs[p] = random_log(static_cast<std::uint32_t>(p + 11), 30);
  source.logs[2].clear();  // an empty changelog partition
  auto together = open("together");
  auto apart = open("apart");
  // A tiny batch: complete flushes are written in many batches, partitions interleaved.
  const auto results = restore_partitions(*together, partitions, source, RestoreOptions{200});
  ASSERT_EQ(source.reads.size(), 1u) << "one read of every partition";
  EXPECT_EQ(source.reads[0].size(), 4u) << "the empty partition is not read";
  ASSERT_EQ(results.size(), partitions.size());
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    const auto p = partitions[i];
    SCOPED_TRACE(p);
    MemoryReader reader(source.logs[p]);
    const auto one = restore_partition(*apart, p, reader);
    const auto& all = results[i];
    EXPECT_EQ(all.partition, p);
    EXPECT_EQ(all.records, one.records);
    EXPECT_EQ(all.records, source.logs[p].size());
    EXPECT_EQ(all.discarded, one.discarded);
    EXPECT_EQ(all.has_meta, one.has_meta);
    EXPECT_EQ(all.meta, one.meta);
    EXPECT_EQ(all.generation, one.generation);
    EXPECT_TRUE(all.full);
    EXPECT_EQ(all.end_offset, static_cast<std::int64_t>(source.logs[p].size()));
    const auto want = expected(source.logs[p]);
    EXPECT_EQ(contents(*together, p), want);
    EXPECT_EQ(contents(*apart, p), want);
    EXPECT_EQ(together->checkpoint(p), last_marker_end(source.logs[p]));
    EXPECT_EQ(apart->checkpoint(p), together->checkpoint(p));
  }
  EXPECT_GT(contents(*together, 0).windows.size(), 0u);
}

TEST_F(RestoreTest, IncompleteFlushesAreDiscardedAcrossBatchesAndPartitions) {
  MemorySource source;
  source.chunk = 1;  // records of the two partitions strictly alternate
  auto& a = source.logs[0];
  data(a, "k1", 7, "1");
  data(a, "k2", 7, "1");
  marker(a, 7, "a1");
  data(a, "k1", 7, "2");  // generation 7 crashed before its marker
  data(a, "k3", 9, "3");
  data(a, "k2", 9, "", true);
  marker(a, 9, "a2");
  data(a, "k4", 9, "4");  // trailing, unmarked
  auto& b = source.logs[1];
  data(b, "k1", 5, "b");
  data(b, "k2", 6, "b");  // another incarnation's records, discarded at the marker of 5
  marker(b, 5, "b1");
  data(b, "k9", 5, "never");
  auto store = open("s");
  const auto r = restore_partitions(*store, {0, 1}, source, RestoreOptions{1});
  EXPECT_EQ(r[0].discarded, 2u);
  EXPECT_EQ(r[0].meta, "a2");
  EXPECT_EQ(r[0].generation, 9u);
  EXPECT_EQ(r[1].discarded, 2u);
  EXPECT_EQ(r[1].meta, "b1");
  EXPECT_EQ(r[1].generation, 5u);
  std::string v;
  EXPECT_TRUE(store->get(0, {0, 10, "k1"}, v));
  EXPECT_EQ(v, "1");
  EXPECT_FALSE(store->get(0, {0, 10, "k2"}, v));
  EXPECT_TRUE(store->get(0, {0, 10, "k3"}, v));
  EXPECT_FALSE(store->get(0, {0, 10, "k4"}, v));
  EXPECT_TRUE(store->get(1, {0, 10, "k1"}, v));
  EXPECT_FALSE(store->get(1, {0, 10, "k2"}, v));
  EXPECT_FALSE(store->get(1, {0, 10, "k9"}, v));
  EXPECT_EQ(store->checkpoint(0), 7);
  EXPECT_EQ(store->checkpoint(1), 3);
  // The trailing records are read again next time (and applied once their marker follows).
  data(b, "k8", 5, "late");
  marker(b, 5, "b2");
  const auto again = restore_partitions(*store, {0, 1}, source);
  EXPECT_FALSE(again[1].full);
  EXPECT_EQ(again[1].records, 3u);
  EXPECT_EQ(again[1].meta, "b2");
  EXPECT_TRUE(store->get(1, {0, 10, "k9"}, v));
  EXPECT_TRUE(store->get(1, {0, 10, "k8"}, v));
  EXPECT_EQ(store->checkpoint(1), 6);
  EXPECT_FALSE(again[0].full);
  EXPECT_EQ(again[0].records, 1u);
  EXPECT_EQ(again[0].meta, "a2") << "the local metadata when no marker follows the checkpoint";
}

TEST_F(RestoreTest, LaterWriteOfAKeyWinsWithinOneBatch) {
  MemorySource source;
  auto& log = source.logs[4];
  data(log, "k", 1, "v1");
  data(log, "gone", 1, "x");
  marker(log, 1, "m1");
  data(log, "k", 1, "", true);
  data(log, "gone", 1, "", true);
  marker(log, 1, "m2");
  data(log, "k", 1, "v3");
  data(log, "k", 1, "v4");  // twice in one flush
  marker(log, 1, "m3");
  auto store = open("s");
  restore_partitions(*store, {4}, source);  // one batch holds all three flushes
  std::string v;
  ASSERT_TRUE(store->get(4, {0, 10, "k"}, v));
  EXPECT_EQ(v, "v4");
  EXPECT_FALSE(store->get(4, {0, 10, "gone"}, v));
  EXPECT_EQ(contents(*store, 4), expected(log));
}

TEST_F(RestoreTest, AFailedReadLeavesTheCheckpointsAndTheNextRestoreRepairs) {
  MemorySource source;
  for (std::int32_t p = 0; p < 3; ++p) source.logs[p] = random_log(static_cast<std::uint32_t>(p + 40), 20);
  auto store = open("s");
  // Partition 1 was restored before, up to a checkpoint in the middle of its log.
  {
    MemorySource first;
    first.logs[1] = Log(source.logs[1].begin(), source.logs[1].begin() + 40);
    restore_partitions(*store, {1}, first);
  }
  const auto before = store->checkpoint(1);
  ASSERT_TRUE(before.has_value());
  ASSERT_GT(*before, 0);
  source.fail_after = 150;
  EXPECT_THROW(restore_partitions(*store, {0, 1, 2}, source, RestoreOptions{64}), std::runtime_error);
  EXPECT_EQ(store->checkpoint(0), std::nullopt);
  EXPECT_EQ(store->checkpoint(1), before);
  EXPECT_EQ(store->checkpoint(2), std::nullopt);
  source.fail_after = -1;
  const auto r = restore_partitions(*store, {0, 1, 2}, source, RestoreOptions{64});
  EXPECT_TRUE(r[0].full);
  EXPECT_FALSE(r[1].full);
  EXPECT_EQ(r[1].start_offset, *before);
  for (std::int32_t p = 0; p < 3; ++p) {
    SCOPED_TRACE(p);
    EXPECT_EQ(contents(*store, p), expected(source.logs[p]));
    EXPECT_EQ(store->checkpoint(p), last_marker_end(source.logs[p]));
  }
}

TEST_F(RestoreTest, ACheckpointBeforeTheLogStartWipesAndRestoresFully) {
  MemorySource source;
  source.logs[0] = random_log(5, 10);
  auto store = open("s");
  store->set_checkpoint(0, 2);
  {
    state::RocksDbStore::Batch b;
    b.put(0, state::WindowKey{0, 10, "stale"}, "x");
    store->write(b);
  }
  source.low[0] = 3;  // retention dropped records the checkpoint never covered
  // The restore reads from the log start; what came before is gone from the log and the store.
  const auto r = restore_partitions(*store, {0}, source);
  EXPECT_TRUE(r.front().full);
  EXPECT_EQ(r.front().start_offset, 3);
  std::string v;
  EXPECT_FALSE(store->get(0, {0, 10, "stale"}, v));
  EXPECT_EQ(store->checkpoint(0), std::max<std::int64_t>(3, last_marker_end(source.logs[0])));
}

// The logs of the kill tests: four partitions, rebuilt identically by the child process.
MemorySource kill_source(std::uint32_t seed) {
  MemorySource source;
  for (std::int32_t p = 0; p < 4; ++p) source.logs[p] = random_log(static_cast<std::uint32_t>(p) + seed, 40);
  return source;
}

// Runs RestoreChild.Run in a new process (this executable, started afresh: RocksDB's background
// threads do not survive a fork) that restores and dies without closing RocksDB, like SIGKILL:
// at record `kill_at`, or right after the restore if kill_at < 0. Returns its exit status.
int run_child(const fs::path& dir, std::uint32_t seed, std::int64_t kill_at) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("SW_RESTORE_CHILD_DIR", dir.c_str(), 1);
    ::setenv("SW_RESTORE_CHILD_SEED", std::to_string(seed).c_str(), 1);
    ::setenv("SW_RESTORE_CHILD_KILL_AT", std::to_string(kill_at).c_str(), 1);
    ::execl("/proc/self/exe", "sw_unit_tests", "--gtest_filter=RestoreChild.Run", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(RestoreChild, Run) {
  const char* dir = std::getenv("SW_RESTORE_CHILD_DIR");
  if (!dir) GTEST_SKIP() << "the child process of the kill tests";
  const auto seed = static_cast<std::uint32_t>(std::stoul(std::getenv("SW_RESTORE_CHILD_SEED")));
  const auto kill_at = std::stoll(std::getenv("SW_RESTORE_CHILD_KILL_AT"));
  auto source = kill_source(seed);
  source.on_record = [&](std::int64_t n) {
    if (n == kill_at) ::_exit(4);
  };
  state::RocksDbResources res(state::RocksDbOptions{1 << 20, 1 << 20});
  state::RocksDbStore store(dir, "s", res);
  restore_partitions(store, {0, 1, 2, 3}, source, RestoreOptions{kill_at < 0 ? 256u : 128u});
  ::_exit(3);  // no destructor: RocksDB does not flush at close
}

TEST_F(RestoreTest, AKillAfterTheRestoreKeepsEverythingTheCheckpointCovers) {
  const auto source = kill_source(70);
  ASSERT_EQ(run_child(dir_, 70, -1), 3);
  auto store = open("s");
  for (std::int32_t p = 0; p < 4; ++p) {
    SCOPED_TRACE(p);
    ASSERT_EQ(store->checkpoint(p), last_marker_end(source.logs.at(p)));
    EXPECT_EQ(contents(*store, p), expected(source.logs.at(p)));
  }
}

TEST_F(RestoreTest, AKillInTheMiddleOfARestoreIsRepairedByTheNextRestore) {
  auto source = kill_source(90);
  // Partition 2 restored earlier up to a checkpoint; the changelog grew since.
  {
    auto store = open("s");
    MemorySource first;
    first.logs[2] = Log(source.logs[2].begin(), source.logs[2].begin() + 60);
    restore_partitions(*store, {2}, first);
  }
  std::optional<std::int64_t> before;
  {
    auto store = open("s");
    before = store->checkpoint(2);
  }
  ASSERT_TRUE(before.has_value());
  std::size_t total = 0;
  for (const auto& [p, log] : source.logs) total += log.size();
  for (const std::int64_t kill_at : {std::int64_t{20}, static_cast<std::int64_t>(total / 2),
                                     static_cast<std::int64_t>(total) - 3 - *before}) {
    SCOPED_TRACE(kill_at);
    ASSERT_EQ(run_child(dir_, 90, kill_at), 4);
    auto store = open("s");
    EXPECT_EQ(store->checkpoint(0), std::nullopt);
    EXPECT_EQ(store->checkpoint(1), std::nullopt);
    EXPECT_EQ(store->checkpoint(2), before);
    EXPECT_EQ(store->checkpoint(3), std::nullopt);
  }
  auto store = open("s");
  const auto r = restore_partitions(*store, {0, 1, 2, 3}, source);
  EXPECT_FALSE(r[2].full);
  EXPECT_EQ(r[2].start_offset, *before);
  for (std::int32_t p = 0; p < 4; ++p) {
    SCOPED_TRACE(p);
    EXPECT_EQ(contents(*store, p), expected(source.logs[p]));
    EXPECT_EQ(store->checkpoint(p), last_marker_end(source.logs[p]));
  }
}

// --- standby replicas (runtime/standby.h): the same restore, run in rounds on the partitions
// this replica does not run.

// A source that blocks in a read of `blocked_partition` until its round is cancelled (a slow or
// large changelog); other reads go to `inner`. Used by the standby thread only, except the atomics.
class BlockingSource final : public ChangelogSource {
 public:
  BlockingSource(MemorySource& inner, std::int32_t blocked_partition) : inner_(inner), blocked_partition_(blocked_partition) {}
  bool bounds(std::int32_t partition, std::int64_t& lo, std::int64_t& hi) override {
    return inner_.bounds(partition, lo, hi);
  }
  bool read(const std::vector<Range>& ranges, const RecordFn& f) override {
    ++reads;
    read_ranges.push_back(ranges);
    bool blocks = false;
    for (const auto& r : ranges) blocks = blocks || r.partition == blocked_partition_;
    if (!blocks) return inner_.read(ranges, f);
    blocked.store(true);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!cancel->load() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return false;
  }
  const std::atomic<bool>* cancel = nullptr;
  std::atomic<bool> blocked{false};
  std::atomic<int> reads{0};
  std::vector<std::vector<Range>> read_ranges;

 private:
  MemorySource& inner_;
  std::int32_t blocked_partition_;
};

TEST_F(RestoreTest, StandbyRoundsFollowTheChangelogAndATakeOverRestoresOnlyWhatFollows) {
  MemorySource source;
  for (std::int32_t p = 0; p < 4; ++p) source.logs[p] = random_log(static_cast<std::uint32_t>(p + 40), 20);
  auto store = open("s");
  StandbyUpdater standby({{"s", store.get()}}, 4,
                         [&](const std::string&, const std::atomic<bool>&) -> ChangelogSource& { return source; },
                         std::chrono::milliseconds(1000), {});
  standby.set_active({0, 2});
  EXPECT_EQ(standby.standby_partitions(), (std::vector<std::int32_t>{1, 3}));
  EXPECT_EQ(standby.run_round(), source.logs[1].size() + source.logs[3].size());
  for (const std::int32_t p : {1, 3}) {
    SCOPED_TRACE(p);
    EXPECT_EQ(contents(*store, p), expected(source.logs[p]));
    EXPECT_EQ(store->checkpoint(p), last_marker_end(source.logs[p]));
  }
  for (const std::int32_t p : {0, 2}) {
    EXPECT_EQ(store->checkpoint(p), std::nullopt) << "an active partition is not touched";
    EXPECT_TRUE(contents(*store, p).windows.empty());
  }

  // The active replica goes on writing partition 1: a complete flush and one still open.
  const auto before = *store->checkpoint(1);
  const auto size_before = static_cast<std::int64_t>(source.logs[1].size());
  data(source.logs[1], "later", 901, "1");
  marker(source.logs[1], 901, "m-later");
  data(source.logs[1], "open", 901, "2");
  source.reads.clear();
  standby.run_round();
  ASSERT_EQ(source.reads.size(), 1u);
  for (const auto& r : source.reads[0]) {
    if (r.partition == 1) {
      EXPECT_EQ(r.from, before) << "a round reads from the last checkpoint";
    }
  }
  EXPECT_EQ(store->checkpoint(1), size_before + 2) << "the open flush is not applied";
  std::string v;
  EXPECT_TRUE(store->get(1, {0, 10, "later"}, v));
  EXPECT_FALSE(store->get(1, {0, 10, "open"}, v));

  // Partition 1 is taken over here: its restore reads only the open flush's record, plus what
  // follows it, and ends with the same state as a full restore.
  marker(source.logs[1], 901, "m-open");
  standby.set_active({0, 1, 2});
  const auto r = restore_partitions(*store, {1}, source).front();
  EXPECT_FALSE(r.full);
  EXPECT_EQ(r.records, 2u);
  EXPECT_EQ(r.meta, "m-open");
  EXPECT_EQ(contents(*store, 1), expected(source.logs[1]));
  auto fresh = open("fresh");
  MemoryReader reader(source.logs[1]);
  restore_partition(*fresh, 1, reader);
  EXPECT_EQ(contents(*store, 1), contents(*fresh, 1));
  EXPECT_EQ(standby.standby_partitions(), (std::vector<std::int32_t>{3}));
}

TEST_F(RestoreTest, AStandbyRoundWritingAPartitionThatBecomesActiveGivesItUp) {
  MemorySource source;
  for (std::int32_t p = 0; p < 3; ++p) source.logs[p] = random_log(static_cast<std::uint32_t>(p + 70), 10);
  auto store = open("s");
  BlockingSource blocking(source, 2);
  StandbyUpdater standby({{"s", store.get()}}, 3,
                         [&](const std::string&, const std::atomic<bool>& cancel) -> ChangelogSource& {
                           blocking.cancel = &cancel;
                           return blocking;
                         },
                         std::chrono::milliseconds(10), {});
  standby.set_active({0});
  standby.start();
  while (!blocking.blocked.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // Partition 2 is assigned here while the round reads it: set_active returns once the round
  // has given up (it would otherwise wait for the source's 30 s).
  const auto t0 = std::chrono::steady_clock::now();
  standby.set_active({0, 2});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20)) << "the round was not cancelled";
  EXPECT_EQ(store->checkpoint(2), std::nullopt);
  // Later rounds leave partition 2 alone and keep partition 1 warm.
  const int seen = blocking.reads.load();
  while (blocking.reads.load() < seen + 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  standby.stop();
  ASSERT_GE(blocking.read_ranges.size(), 3u);
  for (std::size_t i = static_cast<std::size_t>(seen); i < blocking.read_ranges.size(); ++i)
    for (const auto& r : blocking.read_ranges[i]) EXPECT_NE(r.partition, 2);
  EXPECT_EQ(standby.standby_partitions(), (std::vector<std::int32_t>{1}));
  EXPECT_EQ(contents(*store, 1), expected(source.logs[1]));
  EXPECT_EQ(store->checkpoint(2), std::nullopt);
}

}  // namespace
}  // namespace sw
