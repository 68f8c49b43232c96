#pragma once
// One number for a stage's memory: `--memory-budget-mb` is the peak RSS a process aims at, and
// it splits itself over the buffers the process controls. What is left over is the fixed cost
// (code, librdkafka's threads and their queues, the allocator, per-poll batches): 48-64 MiB here
// (BoundedMemory measured 55-61 MiB in all with 8 MiB budgets).
//
//   stateless stage: read-ahead 1/6, producer 1/3
//   stateful stage:  read-ahead 1/6, producer 1/6, RocksDB (block cache + memtables) 1/5,
//                    cached windows 1/5 (counted in entries of kCachedEntryBytes)
//
// A stateless stage writes as much as it reads, so its producer gets the larger share; a stateful
// stage writes alerts and one changelog record per dirty window a commit, and needs its share for
// state. At the default 192 MiB: 32/64 MiB stateless, 32/32/38/38 MiB (125k windows) stateful.
// A buffer's own flag, when given, wins over its share.
#include <cstddef>
#include <optional>

#include "runtime/runner_config.h"

namespace sw {

inline constexpr unsigned kDefaultMemoryBudgetMb = 192;
inline constexpr unsigned kMinMemoryBudgetMb = 48;
// RSS of one cached window, measured: 296-465 B (1 M crash-monitor windows, restore bench); a
// window's key, value, hash node, close-order index entry and the allocator's share.
inline constexpr std::size_t kCachedEntryBytes = 320;

struct MemorySplit {
  std::size_t consumer_buffer_bytes = 0;
  std::size_t producer_buffer_bytes = 0;
  std::size_t rocksdb_cache_bytes = 0;  // 0 for a stateless stage
  std::size_t cached_entries = 0;       // 0 for a stateless stage
};

// Explicit sizes (MiB, entries) that override their share.
struct MemoryOverrides {
  std::optional<unsigned> consumer_buffer_mb, producer_buffer_mb, rocksdb_cache_mb, state_cache_entries;
};

// Throws std::invalid_argument for a budget under kMinMemoryBudgetMb or an override of 0.
MemorySplit split_memory_budget(unsigned budget_mb, bool stateful, const MemoryOverrides& overrides = {});

// Applies a split to a stage's configuration (the read-ahead, producer and RocksDB budgets).
void apply_memory_split(const MemorySplit& split, RunnerConfig& config);

}  // namespace sw
