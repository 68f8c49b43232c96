#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "state/rocksdb_store.h"

namespace sw::state {
namespace {

namespace fs = std::filesystem;

// One scanned window, with owned copies of the views.
struct Row {
  TimestampMs start = 0;
  TimestampMs end = 0;
  std::string key;
  std::string value;
  bool operator==(const Row& o) const {
    return start == o.start && end == o.end && key == o.key && value == o.value;
  }
};

void PrintTo(const Row& r, std::ostream* os) {
  *os << "{[" << r.start << ", " << r.end << ") key=\"" << r.key << "\" value=\"" << r.value << "\"}";
}

class RocksDbStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("sw_rocksdb_store_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    ASSERT_FALSE(fs::exists(dir_));
    // Small budgets: the tests hold a few keys.
    resources_ = std::make_unique<RocksDbResources>(RocksDbOptions{1 << 20, 1 << 20});
    open();
  }

  void TearDown() override {
    store_.reset();
    resources_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void open() { store_ = std::make_unique<RocksDbStore>(dir_, "windows", *resources_); }
  void reopen() {
    store_.reset();
    open();
  }

  void put(std::int32_t partition, TimestampMs start, TimestampMs end, std::string_view key, std::string_view value) {
    RocksDbStore::Batch b;
    b.put(partition, WindowKey{start, end, key}, value);
    store_->write(b);
  }

  std::vector<Row> scan(std::int32_t partition, TimestampMs bound) const {
    std::vector<Row> rows;
    store_->scan_until(partition, bound, [&](const WindowKey& k, std::string_view v) {
      rows.push_back(Row{k.start, k.end, std::string(k.key), std::string(v)});
    });
    return rows;
  }

  std::optional<std::string> get(std::int32_t partition, TimestampMs start, TimestampMs end,
                                 std::string_view key) const {
    std::string v;
    if (!store_->get(partition, WindowKey{start, end, key}, v)) return std::nullopt;
    return v;
  }

  fs::path dir_;
  std::unique_ptr<RocksDbResources> resources_;
  std::unique_ptr<RocksDbStore> store_;
};

// ---------------------------------------------------------------------------------------------
// basic put/get/remove

TEST_F(RocksDbStoreTest, CreatesTheDirectory) {
  EXPECT_EQ(store_->name(), "windows");
  EXPECT_TRUE(fs::is_directory(dir_ / "windows"));
}

TEST_F(RocksDbStoreTest, PutThenGet) {
  RocksDbStore::Batch b;
  b.put(0, WindowKey{0, 10'000, "alice"}, "1");
  b.put(0, WindowKey{0, 10'000, "bob"}, std::string_view("\0\x01", 2));
  b.put(1, WindowKey{0, 10'000, "alice"}, "other partition");
  EXPECT_EQ(b.count(), 3u);
  // Nothing is visible before the batch is written.
  EXPECT_EQ(get(0, 0, 10'000, "alice"), std::nullopt);
  store_->write(b);
  EXPECT_EQ(b.count(), 0u) << "write clears the batch";
  EXPECT_EQ(get(0, 0, 10'000, "alice"), "1");
  EXPECT_EQ(get(0, 0, 10'000, "bob"), std::string("\0\x01", 2));
  EXPECT_EQ(get(1, 0, 10'000, "alice"), "other partition");
  // Every part of the key matters.
  EXPECT_EQ(get(2, 0, 10'000, "alice"), std::nullopt);
  EXPECT_EQ(get(0, 1, 10'000, "alice"), std::nullopt);
  EXPECT_EQ(get(0, 0, 10'001, "alice"), std::nullopt);
  EXPECT_EQ(get(0, 0, 10'000, "alic"), std::nullopt);
  EXPECT_EQ(get(0, 0, 10'000, "alicee"), std::nullopt);
}

TEST_F(RocksDbStoreTest, PutOverwrites) {
  put(0, 0, 10, "k", "v1");
  put(0, 0, 10, "k", "v2");
  EXPECT_EQ(get(0, 0, 10, "k"), "v2");
  EXPECT_EQ(scan(0, 10).size(), 1u);
}

TEST_F(RocksDbStoreTest, EmptyKeyAndValue) {
  put(0, 0, 10, "", "");
  EXPECT_EQ(get(0, 0, 10, ""), "");
  EXPECT_EQ(scan(0, 10), (std::vector<Row>{{0, 10, "", ""}}));
}

TEST_F(RocksDbStoreTest, Remove) {
  put(0, 0, 10, "a", "1");
  put(0, 0, 10, "b", "2");
  RocksDbStore::Batch b;
  b.remove(0, WindowKey{0, 10, "a"});
  b.remove(0, WindowKey{0, 10, "never-written"});
  store_->write(b);
  EXPECT_EQ(get(0, 0, 10, "a"), std::nullopt);
  EXPECT_EQ(get(0, 0, 10, "b"), "2");
  EXPECT_EQ(scan(0, 100), (std::vector<Row>{{0, 10, "b", "2"}}));
}

TEST_F(RocksDbStoreTest, PutAndRemoveInOneBatchApplyInOrder) {
  RocksDbStore::Batch b;
  b.put(0, WindowKey{0, 10, "a"}, "1");
  b.remove(0, WindowKey{0, 10, "a"});
  b.put(0, WindowKey{0, 10, "b"}, "1");
  b.remove(0, WindowKey{0, 10, "b"});
  b.put(0, WindowKey{0, 10, "b"}, "2");
  store_->write(b);
  EXPECT_EQ(get(0, 0, 10, "a"), std::nullopt);
  EXPECT_EQ(get(0, 0, 10, "b"), "2");
}

TEST_F(RocksDbStoreTest, BatchClearDropsPendingWrites) {
  RocksDbStore::Batch b;
  b.put(0, WindowKey{0, 10, "a"}, "1");
  b.clear();
  EXPECT_EQ(b.count(), 0u);
  store_->write(b);
  EXPECT_EQ(get(0, 0, 10, "a"), std::nullopt);
}

TEST_F(RocksDbStoreTest, BatchIsMovable) {
  RocksDbStore::Batch a;
  a.put(0, WindowKey{0, 10, "a"}, "1");
  RocksDbStore::Batch b(std::move(a));
  EXPECT_EQ(b.count(), 1u);
  RocksDbStore::Batch c;
  c = std::move(b);
  store_->write(c);
  EXPECT_EQ(get(0, 0, 10, "a"), "1");
}

// ---------------------------------------------------------------------------------------------
// scan_until

TEST_F(RocksDbStoreTest, ScanUntilReturnsEndedWindowsInEndOrder) {
  // Written out of order, across partitions.
  put(0, 20, 30, "k", "c");
  put(0, 0, 10, "k", "a");
  put(0, 10, 20, "k", "b");
  put(0, 30, 40, "k", "d");
  put(1, 0, 10, "k", "p1");
  put(1, 10, 20, "k", "p1");

  EXPECT_EQ(scan(0, 25), (std::vector<Row>{{0, 10, "k", "a"}, {10, 20, "k", "b"}}));
  // The bound is inclusive: end <= bound.
  EXPECT_EQ(scan(0, 30), (std::vector<Row>{{0, 10, "k", "a"}, {10, 20, "k", "b"}, {20, 30, "k", "c"}}));
  EXPECT_EQ(scan(0, 29), (std::vector<Row>{{0, 10, "k", "a"}, {10, 20, "k", "b"}}));
  EXPECT_EQ(scan(0, 9), std::vector<Row>{});
  EXPECT_EQ(scan(0, 10), (std::vector<Row>{{0, 10, "k", "a"}}));
  EXPECT_EQ(scan(1, 1000), (std::vector<Row>{{0, 10, "k", "p1"}, {10, 20, "k", "p1"}}));
  EXPECT_EQ(scan(2, 1000), std::vector<Row>{});
}

TEST_F(RocksDbStoreTest, ScanOrdersByEndThenStartThenKey) {
  // Hopping windows: same end, different starts; several keys per window.
  put(0, 5, 15, "b", "1");
  put(0, 0, 15, "b", "2");
  put(0, 0, 15, "a", "3");
  put(0, 10, 20, "a", "4");
  put(0, -5, 5, "z", "5");
  EXPECT_EQ(scan(0, 100), (std::vector<Row>{{-5, 5, "z", "5"},
                                            {0, 15, "a", "3"},
                                            {0, 15, "b", "2"},
                                            {5, 15, "b", "1"},
                                            {10, 20, "a", "4"}}));
}

TEST_F(RocksDbStoreTest, ScanHandlesNegativeAndLargeTimes) {
  put(0, -20'000, -10'000, "neg", "1");
  put(0, -10'000, 0, "zero", "2");
  put(0, 1767262530000, 1767262540000, "now", "3");
  EXPECT_EQ(scan(0, -10'001), std::vector<Row>{});
  EXPECT_EQ(scan(0, -10'000), (std::vector<Row>{{-20'000, -10'000, "neg", "1"}}));
  EXPECT_EQ(scan(0, 0), (std::vector<Row>{{-20'000, -10'000, "neg", "1"}, {-10'000, 0, "zero", "2"}}));
  EXPECT_EQ(scan(0, 1767262539999).size(), 2u);
  EXPECT_EQ(scan(0, 1767262540000).size(), 3u);
}

TEST_F(RocksDbStoreTest, ScanOnlyTheGivenPartitionIncludingNeighbours) {
  for (std::int32_t p : {0, 1, 2, 255, 256, 65'536}) put(p, 0, 10, "k", std::to_string(p));
  for (std::int32_t p : {0, 1, 2, 255, 256, 65'536}) {
    SCOPED_TRACE(p);
    EXPECT_EQ(scan(p, 1000), (std::vector<Row>{{0, 10, "k", std::to_string(p)}}));
  }
  EXPECT_EQ(scan(3, 1000), std::vector<Row>{});
}

TEST_F(RocksDbStoreTest, ScanSkipsMetadata) {
  put(0, 0, 10, "k", "v");
  RocksDbStore::Batch b;
  b.put_meta(0, "meta");
  store_->write(b);
  EXPECT_EQ(scan(0, 1000), (std::vector<Row>{{0, 10, "k", "v"}}));
}

TEST_F(RocksDbStoreTest, ScanThenRemoveWhatWasScanned) {
  // The pattern of closing windows: scan the ended ones, then delete them.
  put(0, 0, 10, "a", "1");
  put(0, 10, 20, "a", "2");
  put(0, 20, 30, "a", "3");
  RocksDbStore::Batch b;
  store_->scan_until(0, 20, [&](const WindowKey& k, std::string_view) { b.remove(0, k); });
  EXPECT_EQ(b.count(), 2u);
  store_->write(b);
  EXPECT_EQ(scan(0, 1000), (std::vector<Row>{{20, 30, "a", "3"}}));
}

// ---------------------------------------------------------------------------------------------
// metadata, wipe, checkpoints

TEST_F(RocksDbStoreTest, MetaPutGet) {
  std::string meta;
  EXPECT_FALSE(store_->get_meta(0, meta));
  RocksDbStore::Batch b;
  b.put_meta(0, std::string_view("m\0eta", 5));
  b.put_meta(1, "other");
  store_->write(b);
  ASSERT_TRUE(store_->get_meta(0, meta));
  EXPECT_EQ(meta, std::string("m\0eta", 5));
  ASSERT_TRUE(store_->get_meta(1, meta));
  EXPECT_EQ(meta, "other");
  EXPECT_FALSE(store_->get_meta(2, meta));
  b.put_meta(0, "newer");
  store_->write(b);
  ASSERT_TRUE(store_->get_meta(0, meta));
  EXPECT_EQ(meta, "newer");
}

TEST_F(RocksDbStoreTest, MetaDoesNotCollideWithWindows) {
  put(0, 0, 10, "k", "window");
  RocksDbStore::Batch b;
  b.put_meta(0, "meta");
  store_->write(b);
  EXPECT_EQ(get(0, 0, 10, "k"), "window");
  std::string meta;
  ASSERT_TRUE(store_->get_meta(0, meta));
  EXPECT_EQ(meta, "meta");
}

TEST_F(RocksDbStoreTest, WipePartitionRemovesOnlyThatPartition) {
  for (std::int32_t p : {0, 1, 2}) {
    put(p, 0, 10, "a", "x");
    put(p, 10, 20, "b", "y");
    RocksDbStore::Batch b;
    b.put_meta(p, "meta" + std::to_string(p));
    store_->write(b);
    store_->set_checkpoint(p, 100 + p);
  }
  store_->wipe_partition(1);

  EXPECT_EQ(scan(1, 1000), std::vector<Row>{});
  EXPECT_EQ(get(1, 0, 10, "a"), std::nullopt);
  std::string meta;
  EXPECT_FALSE(store_->get_meta(1, meta));
  EXPECT_EQ(store_->checkpoint(1), std::nullopt);

  for (std::int32_t p : {0, 2}) {
    SCOPED_TRACE(p);
    EXPECT_EQ(scan(p, 1000).size(), 2u);
    ASSERT_TRUE(store_->get_meta(p, meta));
    EXPECT_EQ(meta, "meta" + std::to_string(p));
    EXPECT_EQ(store_->checkpoint(p), 100 + p);
  }
  // The wiped partition is usable again.
  put(1, 0, 10, "a", "again");
  EXPECT_EQ(get(1, 0, 10, "a"), "again");
}

TEST_F(RocksDbStoreTest, WipeOfAPartitionWithoutDataIsHarmless) {
  put(0, 0, 10, "a", "x");
  store_->wipe_partition(5);
  EXPECT_EQ(scan(0, 1000).size(), 1u);
  EXPECT_EQ(store_->checkpoint(5), std::nullopt);
}

TEST_F(RocksDbStoreTest, WipeSurvivesReopen) {
  put(0, 0, 10, "a", "x");
  put(1, 0, 10, "a", "y");
  store_->wipe_partition(0);
  reopen();
  EXPECT_EQ(get(0, 0, 10, "a"), std::nullopt);
  EXPECT_EQ(get(1, 0, 10, "a"), "y");
}

TEST_F(RocksDbStoreTest, Checkpoints) {
  EXPECT_EQ(store_->checkpoint(0), std::nullopt);
  store_->set_checkpoint(0, 42);
  store_->set_checkpoint(3, 0);
  EXPECT_EQ(store_->checkpoint(0), 42);
  EXPECT_EQ(store_->checkpoint(3), 0);
  store_->set_checkpoint(0, 50);
  EXPECT_EQ(store_->checkpoint(0), 50);
  store_->clear_checkpoint(3);
  EXPECT_EQ(store_->checkpoint(3), std::nullopt);
  store_->clear_checkpoint(7);  // never set
  EXPECT_EQ(store_->checkpoint(7), std::nullopt);
}

TEST_F(RocksDbStoreTest, DataAndCheckpointsPersistAcrossReopen) {
  put(0, 0, 10, "a", "x");
  put(2, 10, 20, "b", "y");
  RocksDbStore::Batch b;
  b.put_meta(2, "meta");
  store_->write(b);
  store_->set_checkpoint(0, 1234);
  store_->set_checkpoint(2, 9'000'000'000);  // beyond 32 bits
  store_->set_checkpoint(5, 1);
  store_->clear_checkpoint(5);

  reopen();

  EXPECT_EQ(get(0, 0, 10, "a"), "x");
  EXPECT_EQ(scan(2, 1000), (std::vector<Row>{{10, 20, "b", "y"}}));
  std::string meta;
  ASSERT_TRUE(store_->get_meta(2, meta));
  EXPECT_EQ(meta, "meta");
  EXPECT_EQ(store_->checkpoint(0), 1234);
  EXPECT_EQ(store_->checkpoint(2), 9'000'000'000);
  EXPECT_EQ(store_->checkpoint(5), std::nullopt);
  EXPECT_EQ(store_->checkpoint(1), std::nullopt);

  // And again, after a change made by the reopened store.
  store_->set_checkpoint(0, 1300);
  reopen();
  EXPECT_EQ(store_->checkpoint(0), 1300);
  EXPECT_EQ(store_->checkpoint(2), 9'000'000'000);
}

TEST_F(RocksDbStoreTest, TwoStoresInOneDirectoryAreIndependent) {
  RocksDbStore other(dir_, "other", *resources_);
  put(0, 0, 10, "a", "x");
  store_->set_checkpoint(0, 5);
  std::string v;
  EXPECT_FALSE(other.get(0, WindowKey{0, 10, "a"}, v));
  EXPECT_EQ(other.checkpoint(0), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// changelog codec

TEST(ChangelogKey, RoundTrip) {
  for (const WindowKey& in : {WindowKey{0, 10'000, "alice"}, WindowKey{-20'000, -10'000, ""},
                              WindowKey{1767262530000, 1767262540000, std::string_view("a\0b", 3)},
                              WindowKey{INT64_MIN, INT64_MAX, "x"}}) {
    std::string enc;
    encode_changelog_key(enc, in);
    EXPECT_EQ(enc.size(), 17 + in.key.size());
    EXPECT_EQ(enc[0], kChangelogDataType);
    WindowKey out;
    ASSERT_TRUE(decode_changelog_key(enc, out));
    EXPECT_EQ(out.start, in.start);
    EXPECT_EQ(out.end, in.end);
    EXPECT_EQ(out.key, in.key);
  }
}

TEST(ChangelogKey, EncodeClearsOutput) {
  std::string enc = "junk";
  encode_changelog_key(enc, WindowKey{0, 1, "k"});
  EXPECT_EQ(enc.size(), 18u);
}

TEST(ChangelogKey, SortsByEndThenStart) {
  std::string a, b, c;
  encode_changelog_key(a, WindowKey{-5, -1, "z"});
  encode_changelog_key(b, WindowKey{0, 10, "z"});
  encode_changelog_key(c, WindowKey{5, 10, "a"});
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

TEST(ChangelogKey, DecodeRejectsShortOrForeignKeys) {
  std::string enc;
  encode_changelog_key(enc, WindowKey{0, 10, ""});
  WindowKey out;
  for (std::size_t n = 0; n < enc.size(); ++n) EXPECT_FALSE(decode_changelog_key(enc.substr(0, n), out)) << n;
  std::string marker = enc;
  marker[0] = kChangelogMarkerType;
  EXPECT_FALSE(decode_changelog_key(marker, out));
}

TEST(ChangelogValue, RoundTrip) {
  std::string enc = "junk";
  encode_changelog_value(enc, false, 7, std::string_view("pay\0load", 8));
  EXPECT_EQ(enc.size(), 5u + 8u);
  bool deleted = true;
  std::uint32_t gen = 0;
  std::string_view payload;
  ASSERT_TRUE(decode_changelog_value(enc, deleted, gen, payload));
  EXPECT_FALSE(deleted);
  EXPECT_EQ(gen, 7u);
  EXPECT_EQ(payload, std::string_view("pay\0load", 8));

  encode_changelog_value(enc, true, 0xfffffffeu, "");
  deleted = false;
  ASSERT_TRUE(decode_changelog_value(enc, deleted, gen, payload));
  EXPECT_TRUE(deleted);
  EXPECT_EQ(gen, 0xfffffffeu);
  EXPECT_TRUE(payload.empty());
}

TEST(ChangelogValue, DecodeRejectsShortValues) {
  bool deleted = false;
  std::uint32_t gen = 0;
  std::string_view payload;
  for (std::size_t n = 0; n < 5; ++n)
    EXPECT_FALSE(decode_changelog_value(std::string(n, '\0'), deleted, gen, payload)) << n;
}

TEST_F(RocksDbStoreTest, PutRawChangelogAppliesPutsAndDeletes) {
  std::string key;
  encode_changelog_key(key, WindowKey{0, 10, "alice"});
  RocksDbStore::Batch b;
  b.put_raw_changelog(3, key, false, "5");
  store_->write(b);
  EXPECT_EQ(get(3, 0, 10, "alice"), "5");
  b.put_raw_changelog(3, key, true, "");
  store_->write(b);
  EXPECT_EQ(get(3, 0, 10, "alice"), std::nullopt);
  // A marker (or anything undecodable) is ignored.
  std::string marker = key;
  marker[0] = kChangelogMarkerType;
  b.put_raw_changelog(3, marker, false, "x");
  EXPECT_EQ(b.count(), 0u);
}

}  // namespace
}  // namespace sw::state
