#pragma once
// Global tables (Kafka Streams' GlobalKTable): small keyed dimension tables that every replica of
// a stage holds whole, in memory, for broadcast joins without a repartition. Rows come from a
// JSON file (an array of objects, or JSON lines) or from a compacted Kafka topic read from the
// beginning. Changes take effect without a restart: a changed file is re-read (and swapped in
// only if it parses), new topic records are applied as they arrive. All of it happens on the
// processing thread between batches, so lookups need no locking.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/time.h"

namespace sw::metrics {
class Registry;
class Counter;
class Gauge;
}  // namespace sw::metrics

namespace sw::table {

struct TableSource {
  enum class Kind { file, topic };
  Kind kind = Kind::file;
  std::string location;
  // "file:<path>", "topic:<name>", or a bare path. Throws std::invalid_argument.
  static TableSource parse(const std::string& spec);
  std::string describe() const;
};

enum class ReloadPolicy {
  on_change,    // cache: re-read a file when it changed (checked every check_interval)
  every_batch,  // re-read the file before every batch (the uncached baseline; files only)
};

// A compacted topic's rows as a table source reads them: the runtime implements it with Kafka
// (runtime/kafka_table_feed.h), so this module does not link librdkafka.
class RowFeed {
 public:
  struct Row {
    std::string_view key, value;
    bool deleted = false;   // a tombstone
    std::string_view where;  // for messages: "topic [partition] offset N"
  };
  using RowFn = std::function<void(const Row&)>;
  virtual ~RowFeed() = default;
  // Every row up to the topic's current end (start-up); throws std::runtime_error if it cannot.
  virtual void read_to_end(const RowFn& f) = 0;
  // What arrived since, without waiting.
  virtual void read_new(const RowFn& f) = 0;
};

// What the runtime gives a table to open it.
struct TableEnv {
  metrics::Registry* registry = nullptr;
  std::string client_id = "streamwright-table";
  // Opens a topic source (topic, client id); empty where no Kafka is configured.
  std::function<std::unique_ptr<RowFeed>(const std::string& topic, const std::string& client_id)> open_topic;
};

class GlobalTableBase {
 public:
  GlobalTableBase(std::string name, TableSource source, ReloadPolicy policy, std::chrono::milliseconds check_interval);
  virtual ~GlobalTableBase();
  GlobalTableBase(const GlobalTableBase&) = delete;
  GlobalTableBase& operator=(const GlobalTableBase&) = delete;

  const std::string& name() const noexcept { return name_; }
  const TableSource& source() const noexcept { return source_; }
  // Loads every row; throws std::runtime_error with a clear message if it cannot (start-up).
  // Opening an open table does nothing (several stages of one process may share a table).
  void open(const TableEnv& env);
  // Between batches, on the processing thread: applies changes.
  void before_batch(TimestampMs now_wall_ms);
  // When idle, on the processing thread: applies changes as a cached table would, so the table
  // is current (and its metrics true) before the next record arrives.
  void maintain(TimestampMs now_wall_ms);
  void close();
  bool is_open() const noexcept { return open_; }

  virtual std::size_t size() const = 0;
  std::uint64_t reloads() const noexcept { return reloads_; }
  std::uint64_t rejected_rows() const noexcept { return rejected_; }
  std::uint64_t misses() const noexcept { return misses_.load(std::memory_order_relaxed); }
  // A lookup found no row (joins count these).
  void note_miss() noexcept;

 protected:
  virtual void begin_load() = 0;                                          // empty the staging map
  virtual bool stage_row(const nlohmann::json& row, std::string& error) = 0;  // into staging
  virtual void publish_load() = 0;                                        // staging becomes live
  virtual bool upsert_row(const nlohmann::json& row, std::string& error) = 0;
  virtual void erase_row(std::string_view key) = 0;

 private:
  bool load_file(std::string& error, bool force);
  void apply(const RowFeed::Row& row);
  void update_gauges();

  std::string name_;
  TableSource source_;
  ReloadPolicy policy_;
  std::chrono::milliseconds check_interval_;
  bool open_ = false;
  TimestampMs next_check_ = 0;
  std::int64_t file_stamp_ = 0;
  std::uintmax_t file_size_ = 0;
  std::int64_t failed_stamp_ = 0, empty_stamp_ = 0;
  std::uintmax_t empty_size_ = 0;
  std::uintmax_t failed_size_ = 0;
  std::uint64_t reloads_ = 0, rejected_ = 0;
  std::atomic<std::uint64_t> misses_{0};
  std::unique_ptr<RowFeed> feed_;
  metrics::Counter *reload_ok_ = nullptr, *reload_failed_ = nullptr, *rejected_counter_ = nullptr,
                   *miss_counter_ = nullptr;
  metrics::Gauge* rows_gauge_ = nullptr;
};

// A typed table: `parse` extracts the key and the row from one JSON object.
template <class T>
class GlobalTable final : public GlobalTableBase {
 public:
  using Parser = std::function<bool(const nlohmann::json& row, std::string& key, T& out, std::string& error)>;
  GlobalTable(std::string name, TableSource source, Parser parse, ReloadPolicy policy = ReloadPolicy::on_change,
              std::chrono::milliseconds check_interval = std::chrono::milliseconds(1000))
      : GlobalTableBase(std::move(name), std::move(source), policy, check_interval), parse_(std::move(parse)) {}

  const T* find(std::string_view key) const {
    auto it = rows_.find(key);
    return it == rows_.end() ? nullptr : &it->second;
  }
  std::size_t size() const override { return rows_.size(); }

 protected:
  void begin_load() override { staging_.clear(); }
  bool stage_row(const nlohmann::json& row, std::string& error) override { return parse_into(row, staging_, error); }
  void publish_load() override {
    rows_.swap(staging_);
    staging_.clear();
  }
  bool upsert_row(const nlohmann::json& row, std::string& error) override { return parse_into(row, rows_, error); }
  void erase_row(std::string_view key) override {
    auto it = rows_.find(key);
    if (it != rows_.end()) rows_.erase(it);
  }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, T, Hash, std::equal_to<>>;
  bool parse_into(const nlohmann::json& row, Map& into, std::string& error) {
    std::string key;
    T value{};
    if (!parse_(row, key, value, error)) return false;
    into.insert_or_assign(std::move(key), std::move(value));
    return true;
  }
  Parser parse_;
  Map rows_, staging_;
};

}  // namespace sw::table
