#include "runtime/memory_budget.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace sw {

namespace {

std::size_t mib(unsigned n) { return static_cast<std::size_t>(n) << 20; }

std::size_t at_least_one_mib(std::size_t bytes) { return std::max<std::size_t>(bytes, 1u << 20); }

void require_positive(const std::optional<unsigned>& v, const char* flag, const char* rule) {
  if (v && *v == 0) throw std::invalid_argument(std::string(flag) + " must be " + rule);
}

}  // namespace

MemorySplit split_memory_budget(unsigned budget_mb, bool stateful, const MemoryOverrides& o) {
  if (budget_mb < kMinMemoryBudgetMb)
    throw std::invalid_argument("--memory-budget-mb must be at least " + std::to_string(kMinMemoryBudgetMb) +
                                " (the process's fixed cost alone is about that)");
  require_positive(o.consumer_buffer_mb, "--consumer-buffer-mb", "at least 1");
  require_positive(o.producer_buffer_mb, "--producer-buffer-mb", "at least 1");
  require_positive(o.rocksdb_cache_mb, "--rocksdb-cache-mb", "at least 1");
  require_positive(o.state_cache_entries, "--state-cache-entries", "positive");
  const std::size_t budget = mib(budget_mb);
  MemorySplit s;
  s.consumer_buffer_bytes = o.consumer_buffer_mb ? mib(*o.consumer_buffer_mb) : at_least_one_mib(budget / 6);
  if (!stateful) {
    s.producer_buffer_bytes = o.producer_buffer_mb ? mib(*o.producer_buffer_mb) : at_least_one_mib(budget / 3);
  } else {
    s.producer_buffer_bytes = o.producer_buffer_mb ? mib(*o.producer_buffer_mb) : at_least_one_mib(budget / 6);
  }
  // A stateless stage opens no store, but a user's explicit RocksDB or cache setting still reaches
  // the configuration (harmless, and what they asked for).
  const std::size_t state_share = stateful ? budget / 5 : 0;
  s.rocksdb_cache_bytes = o.rocksdb_cache_mb ? mib(*o.rocksdb_cache_mb) : state_share;
  s.cached_entries = o.state_cache_entries ? *o.state_cache_entries : state_share / kCachedEntryBytes;
  return s;
}

void apply_memory_split(const MemorySplit& split, RunnerConfig& config) {
  config.consumer_buffer_bytes = split.consumer_buffer_bytes;
  config.producer_buffer_bytes = split.producer_buffer_bytes;
  if (split.rocksdb_cache_bytes > 0) {
    config.rocksdb.block_cache_bytes = split.rocksdb_cache_bytes;
    // Memtables are charged to the block cache; half of it may be memtables.
    config.rocksdb.write_buffer_bytes = split.rocksdb_cache_bytes / 2;
  }
  if (split.cached_entries > 0) config.rocksdb.max_cached_entries = split.cached_entries;
}

}  // namespace sw
