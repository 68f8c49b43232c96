#pragma once
// Restores partitions of a store from their changelog before the tasks process anything.
// Records are applied per flush: a flush's data records take effect only when its marker
// (same generation) follows, so a flush cut short by a crash is never half-applied.
//
// Several partitions are restored together (one read of all their changelog partitions). The
// records of complete flushes are gathered across flushes and partitions, sorted and written to
// RocksDB in large batches without the write-ahead log (on a second thread, while the reading
// goes on); the memtables are flushed to disk before the checkpoints are written, so a
// checkpoint never covers records that are not durable. A crash
// in the middle leaves the checkpoints where they were (none after a wipe), and the next restore
// re-applies the changelog from there: applying complete flushes again is idempotent.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

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

// A source of changelog records for several partitions of one changelog topic, read together.
class ChangelogSource {
 public:
  virtual ~ChangelogSource() = default;
  struct Range {
    std::int32_t partition = 0;
    std::int64_t from = 0;  // first offset to read
    std::int64_t high = 0;  // read up to high - 1
  };
  using RecordFn = std::function<void(std::int32_t partition, std::int64_t offset, std::string_view key,
                                      std::string_view value)>;
  // Offsets [low, high) currently in the partition.
  virtual bool bounds(std::int32_t partition, std::int64_t& low, std::int64_t& high) = 0;
  // Reads every range (each non-empty), calling f for each record: in offset order within a
  // partition, partitions interleaved in any order. False on failure.
  virtual bool read(const std::vector<Range>& ranges, const RecordFn& f) = 0;
};

struct RestoreResult {
  std::int32_t partition = 0;
  bool has_meta = false;
  std::string meta;  // the last complete flush's task position
  std::uint32_t generation = 0;
  std::uint64_t records = 0;         // changelog records read
  std::uint64_t discarded = 0;       // records of a flush that never completed
  bool full = false;                 // restored from the beginning (no usable checkpoint)
  std::int64_t start_offset = 0;
  std::int64_t end_offset = 0;
};

struct RestoreOptions {
  // Records of complete flushes held (key and value bytes) before they are sorted and written
  // to RocksDB in one batch.
  std::size_t batch_bytes = 8u << 20;
};

// Restores the given partitions together; one result per partition, in the same order.
// Throws std::runtime_error when the changelog cannot be read (checkpoints are then untouched).
std::vector<RestoreResult> restore_partitions(state::RocksDbStore& store, const std::vector<std::int32_t>& partitions,
                                              ChangelogSource& source, const RestoreOptions& options = {});

// One partition (the same algorithm).
RestoreResult restore_partition(state::RocksDbStore& store, std::int32_t partition, ChangelogReader& reader,
                                const RestoreOptions& options = {});

}  // namespace sw
