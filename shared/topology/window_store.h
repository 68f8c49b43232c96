#pragma once
// A task's window store, as a stack over bytes in the manner of Kafka Streams:
//
//   MeteredWindowStore -> ChangeLoggingWindowStore -> RocksDbWindowStore
//
// Writes arrive in batches (the aggregation cache flushes dirty windows). The change-logging
// layer sends each write to `<app>-<store>-changelog` (same partition as the task) and ends a
// flush with a marker carrying the task's position; the RocksDB layer stages the writes and
// applies a flush only when commit() is called, after the producer has acknowledged every
// record of that flush (records sent after it may still be in flight).
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "state/rocksdb_store.h"
#include "topology/processor.h"

namespace sw {

namespace metrics {
class Counter;
}

class WindowStore {
 public:
  virtual ~WindowStore() = default;
  virtual bool get(const state::WindowKey& key, std::string& value) = 0;
  // Windows with end <= end_bound, in end order.
  virtual void scan_until(TimestampMs end_bound,
                          const std::function<void(const state::WindowKey&, std::string_view)>& f) = 0;
  virtual void put(const state::WindowKey& key, std::string_view value) = 0;
  virtual void remove(const state::WindowKey& key) = 0;
  // Ends a flush: everything put or removed since the previous flush belongs to it.
  virtual void flush(std::string_view task_meta) = 0;
  // The flush's records are acknowledged by the broker: make them durable locally.
  virtual void commit() = 0;
};

class RocksDbWindowStore final : public WindowStore {
 public:
  RocksDbWindowStore(state::RocksDbStore& db, std::int32_t partition) : db_(db), partition_(partition) {}
  bool get(const state::WindowKey& key, std::string& value) override { return db_.get(partition_, key, value); }
  void scan_until(TimestampMs end_bound,
                  const std::function<void(const state::WindowKey&, std::string_view)>& f) override {
    db_.scan_until(partition_, end_bound, f);
  }
  void put(const state::WindowKey& key, std::string_view value) override { batch_.put(partition_, key, value); }
  void remove(const state::WindowKey& key) override { batch_.remove(partition_, key); }
  // Seals the flush's writes; they wait for commit() while the next flush's writes collect
  // (the runtime keeps processing while a commit waits for its acknowledgements).
  void flush(std::string_view task_meta) override {
    if (sealed_.count() != 0) throw std::logic_error("state store flushed again before its previous flush was committed");
    batch_.put_meta(partition_, task_meta);
    std::swap(batch_, sealed_);
  }
  void commit() override { db_.write(sealed_); }
  // The changelog offset the local state now covers.
  void checkpoint(std::int64_t changelog_offset) { db_.set_checkpoint(partition_, changelog_offset); }

 private:
  state::RocksDbStore& db_;
  std::int32_t partition_;
  state::RocksDbStore::Batch batch_;   // writes since the last flush
  state::RocksDbStore::Batch sealed_;  // the last flush, until commit() makes it durable locally
};

class ChangeLoggingWindowStore final : public WindowStore {
 public:
  ChangeLoggingWindowStore(std::unique_ptr<RocksDbWindowStore> inner, RecordCollector& collector,
                           const std::string& changelog_topic, std::int32_t partition, std::uint32_t generation);
  bool get(const state::WindowKey& key, std::string& value) override { return inner_->get(key, value); }
  void scan_until(TimestampMs end_bound,
                  const std::function<void(const state::WindowKey&, std::string_view)>& f) override {
    inner_->scan_until(end_bound, f);
  }
  void put(const state::WindowKey& key, std::string_view value) override;
  void remove(const state::WindowKey& key) override;
  void flush(std::string_view task_meta) override;
  void commit() override;

 private:
  std::unique_ptr<RocksDbWindowStore> inner_;
  RecordCollector& collector_;
  RecordCollector::TopicId topic_;
  std::int32_t partition_;
  std::uint32_t generation_;
  std::string key_, value_;
};

class MeteredWindowStore final : public WindowStore {
 public:
  MeteredWindowStore(std::unique_ptr<WindowStore> inner, metrics::Counter* writes) : inner_(std::move(inner)), writes_(writes) {}
  bool get(const state::WindowKey& key, std::string& value) override { return inner_->get(key, value); }
  void scan_until(TimestampMs end_bound,
                  const std::function<void(const state::WindowKey&, std::string_view)>& f) override {
    inner_->scan_until(end_bound, f);
  }
  void put(const state::WindowKey& key, std::string_view value) override;
  void remove(const state::WindowKey& key) override;
  void flush(std::string_view task_meta) override { inner_->flush(task_meta); }
  void commit() override { inner_->commit(); }

 private:
  std::unique_ptr<WindowStore> inner_;
  metrics::Counter* writes_;
};

// The full stack for one task's store.
std::unique_ptr<WindowStore> make_window_store(TaskContext& ctx, const std::string& store_name,
                                               const std::string& changelog_topic);

}  // namespace sw
