#pragma once
// The persistent layer of a window store: one RocksDB per store per process, holding every
// local task's windows under a 4-byte partition prefix. Keys sort by (partition, window end,
// window start, key), so closing windows is a range scan from the start of a partition.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/time.h"

namespace rocksdb {
class DB;
class WriteBatch;
struct WriteOptions;
class Cache;
class WriteBufferManager;
}  // namespace rocksdb

namespace sw::state {

struct RocksDbOptions {
  std::size_t block_cache_bytes = 64ull << 20;
  std::size_t write_buffer_bytes = 32ull << 20;
  // Entries (windows, histories) that the in-memory caches in front of the process's stores may
  // hold together, over all tasks; beyond it state lives in RocksDB (see CacheBudget).
  std::size_t max_cached_entries = 250'000;
};

// The entries every cache in front of a process's stores holds, against one bound: a cache
// that flushes while the process is over it drops its clean entries once the commit is durable
// (they are read back from RocksDB when needed). Caches report their size as they change it in
// bulk (flush, eviction, load), so the count is that of the last report.
class CacheBudget {
 public:
  explicit CacheBudget(std::size_t max_entries) : max_(max_entries) {}
  CacheBudget(const CacheBudget&) = delete;
  CacheBudget& operator=(const CacheBudget&) = delete;
  // A cache that held `before` entries now holds `after`.
  void update(std::size_t before, std::size_t after) noexcept {
    entries_.fetch_add(after - before, std::memory_order_relaxed);  // modular: shrinking wraps back
  }
  bool over() const noexcept { return entries() > max_; }
  std::size_t entries() const noexcept { return entries_.load(std::memory_order_relaxed); }
  std::size_t max_entries() const noexcept { return max_; }

 private:
  std::size_t max_;
  std::atomic<std::size_t> entries_{0};
};

// Memory shared by every store of a process (one budget, set by configuration).
class RocksDbResources {
 public:
  explicit RocksDbResources(const RocksDbOptions& options);
  ~RocksDbResources();
  const std::shared_ptr<rocksdb::Cache>& block_cache() const { return cache_; }
  const std::shared_ptr<rocksdb::WriteBufferManager>& write_buffers() const { return wbm_; }
  const RocksDbOptions& options() const { return options_; }
  CacheBudget& cache_budget() { return cache_budget_; }

 private:
  RocksDbOptions options_;
  CacheBudget cache_budget_;
  std::shared_ptr<rocksdb::Cache> cache_;
  std::shared_ptr<rocksdb::WriteBufferManager> wbm_;
};

// Key codec shared by the local store and the changelog.
struct WindowKey {
  TimestampMs start = 0;
  TimestampMs end = 0;
  std::string_view key;
};
// Changelog key: 'D' end start key. Local key: partition end start key.
void encode_changelog_key(std::string& out, const WindowKey& k);
[[nodiscard]] bool decode_changelog_key(std::string_view in, WindowKey& k);
inline constexpr char kChangelogDataType = 'D';
inline constexpr char kChangelogMarkerType = 'M';
// Changelog value: flags (1 = deleted), generation, payload.
void encode_changelog_value(std::string& out, bool deleted, std::uint32_t generation, std::string_view payload);
[[nodiscard]] bool decode_changelog_value(std::string_view in, bool& deleted, std::uint32_t& generation, std::string_view& payload);

class RocksDbStore {
 public:
  // Opens (creating if needed) <dir>/<name>. Throws std::runtime_error on failure.
  RocksDbStore(const std::filesystem::path& dir, std::string name, RocksDbResources& resources);
  ~RocksDbStore();
  RocksDbStore(const RocksDbStore&) = delete;
  RocksDbStore& operator=(const RocksDbStore&) = delete;

  const std::string& name() const noexcept { return name_; }
  // The process-wide bound on what caches in front of this store hold (shared by every store).
  CacheBudget& cache_budget() const noexcept { return *cache_budget_; }

  class Batch {
   public:
    Batch();
    ~Batch();
    Batch(Batch&&) noexcept;
    Batch& operator=(Batch&&) noexcept;
    void put(std::int32_t partition, const WindowKey& k, std::string_view value);
    void remove(std::int32_t partition, const WindowKey& k);
    void put_meta(std::int32_t partition, std::string_view meta);
    void put_raw_changelog(std::int32_t partition, std::string_view changelog_key, bool deleted,
                           std::string_view payload);
    std::size_t count() const noexcept;
    void clear();

   private:
    friend class RocksDbStore;
    std::unique_ptr<rocksdb::WriteBatch> wb_;
    std::string scratch_;
  };

  bool get(std::int32_t partition, const WindowKey& k, std::string& value) const;
  bool get_meta(std::int32_t partition, std::string& meta) const;
  void write(Batch& batch);  // WAL on, no fsync: survives a process kill
  // Without the write-ahead log (bulk loads: restores). Lost on a process kill until flush().
  void write_unlogged(Batch& batch);
  // Writes the memtables to disk and waits: everything written so far survives a process kill.
  void flush();
  // Calls f for every window of the partition with end <= end_bound, in end order.
  void scan_until(std::int32_t partition, TimestampMs end_bound,
                  const std::function<void(const WindowKey&, std::string_view value)>& f) const;
  void wipe_partition(std::int32_t partition);
  std::uint64_t approximate_keys() const;
  std::uint64_t approximate_bytes() const;

  // Changelog offset up to which (exclusive) this partition's local state is complete.
  std::optional<std::int64_t> checkpoint(std::int32_t partition) const;
  void set_checkpoint(std::int32_t partition, std::int64_t offset);
  // Several partitions at once (one write of the checkpoint file).
  void set_checkpoints(const std::vector<std::pair<std::int32_t, std::int64_t>>& offsets);
  void clear_checkpoint(std::int32_t partition);

 private:
  void save_checkpoints() const;
  void write_with(Batch& batch, const rocksdb::WriteOptions& options);
  std::filesystem::path dir_;
  std::string name_;
  CacheBudget* cache_budget_;
  std::unique_ptr<rocksdb::DB> db_;
  mutable std::mutex checkpoint_mu_;
  std::map<std::int32_t, std::int64_t> checkpoints_;
};

}  // namespace sw::state
