// --memory-budget-mb: how one number splits over a stage's buffers, and how a buffer's own flag
// wins over its share.
#include <gtest/gtest.h>

#include <stdexcept>

#include "runtime/memory_budget.h"

namespace sw {
namespace {

constexpr std::size_t MiB = 1u << 20;

TEST(MemoryBudget, TheDefaultStatelessSplitIsTheMeasuredReadAheadAndProducerBuffer) {
  const auto s = split_memory_budget(kDefaultMemoryBudgetMb, false);
  EXPECT_EQ(s.consumer_buffer_bytes, 32 * MiB);
  EXPECT_EQ(s.producer_buffer_bytes, 64 * MiB);
  EXPECT_EQ(s.rocksdb_cache_bytes, 0u);
  EXPECT_EQ(s.cached_entries, 0u);
}

TEST(MemoryBudget, AStatefulStageGivesAFifthEachToRocksDbAndCachedWindows) {
  const auto s = split_memory_budget(kDefaultMemoryBudgetMb, true);
  EXPECT_EQ(s.consumer_buffer_bytes, 32 * MiB);
  EXPECT_EQ(s.producer_buffer_bytes, 32 * MiB);
  const std::size_t fifth = (std::size_t{kDefaultMemoryBudgetMb} * MiB) / 5;
  EXPECT_EQ(s.rocksdb_cache_bytes, fifth);
  EXPECT_EQ(s.cached_entries, fifth / kCachedEntryBytes);
  // Everything the split hands out stays inside the budget, with room for the fixed cost.
  const std::size_t handed_out =
      s.consumer_buffer_bytes + s.producer_buffer_bytes + s.rocksdb_cache_bytes + s.cached_entries * kCachedEntryBytes;
  EXPECT_LE(handed_out + 48 * MiB, std::size_t{kDefaultMemoryBudgetMb} * MiB);
}

TEST(MemoryBudget, SharesScaleWithTheBudget) {
  const auto small = split_memory_budget(120, true), large = split_memory_budget(1200, true);
  EXPECT_EQ(large.consumer_buffer_bytes, 10 * small.consumer_buffer_bytes);
  EXPECT_EQ(large.producer_buffer_bytes, 10 * small.producer_buffer_bytes);
  EXPECT_EQ(large.rocksdb_cache_bytes, 10 * small.rocksdb_cache_bytes);
  EXPECT_NEAR(static_cast<double>(large.cached_entries), 10.0 * static_cast<double>(small.cached_entries), 10.0);
}

TEST(MemoryBudget, ABuffersOwnFlagWinsAndTheOthersKeepTheirShares) {
  MemoryOverrides o;
  o.consumer_buffer_mb = 128;
  o.state_cache_entries = 1000;
  const auto s = split_memory_budget(kDefaultMemoryBudgetMb, true, o);
  EXPECT_EQ(s.consumer_buffer_bytes, 128 * MiB);
  EXPECT_EQ(s.cached_entries, 1000u);
  EXPECT_EQ(s.producer_buffer_bytes, 32 * MiB);
  EXPECT_EQ(s.rocksdb_cache_bytes, (std::size_t{kDefaultMemoryBudgetMb} * MiB) / 5);
}

TEST(MemoryBudget, TooSmallABudgetOrAZeroBufferIsAClearError) {
  try {
    (void)split_memory_budget(16, true);
    FAIL() << "a 16 MiB budget was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--memory-budget-mb must be at least 48"), std::string::npos) << e.what();
  }
  MemoryOverrides o;
  o.producer_buffer_mb = 0;
  try {
    (void)split_memory_budget(kDefaultMemoryBudgetMb, false, o);
    FAIL() << "a 0 MiB producer buffer was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--producer-buffer-mb must be at least 1"), std::string::npos) << e.what();
  }
}

TEST(MemoryBudget, ApplyingASplitSetsTheStagesBuffersAndRocksDbOptions) {
  RunnerConfig c;
  apply_memory_split(split_memory_budget(kDefaultMemoryBudgetMb, true), c);
  EXPECT_EQ(c.consumer_buffer_bytes, 32 * MiB);
  EXPECT_EQ(c.producer_buffer_bytes, 32 * MiB);
  EXPECT_EQ(c.rocksdb.block_cache_bytes, (std::size_t{kDefaultMemoryBudgetMb} * MiB) / 5);
  EXPECT_EQ(c.rocksdb.write_buffer_bytes, c.rocksdb.block_cache_bytes / 2);
  EXPECT_EQ(c.rocksdb.max_cached_entries, (std::size_t{kDefaultMemoryBudgetMb} * MiB) / 5 / kCachedEntryBytes);
  // A stateless split leaves the RocksDB options alone (no store is opened).
  RunnerConfig d;
  const auto rocks = d.rocksdb.block_cache_bytes;
  apply_memory_split(split_memory_budget(kDefaultMemoryBudgetMb, false), d);
  EXPECT_EQ(d.rocksdb.block_cache_bytes, rocks);
  EXPECT_EQ(d.producer_buffer_bytes, 64 * MiB);
}

}  // namespace
}  // namespace sw
