#pragma once
// Restores one partition of a store from its changelog before the task processes anything.
// Records are applied per flush: a flush's data records take effect only when its marker
// (same generation) follows, so a flush cut short by a crash is never half-applied.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "state/rocksdb_store.h"

namespace sw {

// A source of changelog records for one partition (Kafka in the runtime, memory in tests).
class ChangelogReader {
 public:
  virtual ~ChangelogReader() = default;
  // Offsets [low, high) currently in the partition.
  virtual bool bounds(std::int64_t& low, std::int64_t& high) = 0;
  // Reads records from `from` to high - 1, calling f for each in order; false on failure.
  virtual bool read(std::int64_t from, std::int64_t high,
                    const std::function<void(std::int64_t offset, std::string_view key, std::string_view value)>& f) = 0;
};

struct RestoreResult {
  bool has_meta = false;
  std::string meta;  // the last complete flush's task position
  std::uint32_t generation = 0;
  std::uint64_t records = 0;         // changelog records read
  std::uint64_t discarded = 0;       // records of a flush that never completed
  bool full = false;                 // restored from the beginning (no usable checkpoint)
  std::int64_t start_offset = 0;
  std::int64_t end_offset = 0;
};

// Throws std::runtime_error when the changelog cannot be read.
RestoreResult restore_partition(state::RocksDbStore& store, std::int32_t partition, ChangelogReader& reader);

}  // namespace sw
