#pragma once
// The processors the DSL lowers to, apart from the windowed aggregates (window_aggregate.h):
// sources (external topics, with validation and dead letters; repartition topics), filter,
// map, broadcast join with a global table, sinks, and the fan-in of several sources into one
// instance of the downstream processors. Internal to the DSL (namespace detail).
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/partitioner.h"
#include "metrics/metrics.h"
#include "table/global_table.h"
#include "topology/envelope.h"
#include "topology/options.h"
#include "topology/processor.h"
#include "topology/serde.h"

namespace sw::detail {

// A point of the graph under construction: the factories of its children, instantiated per task.
template <class K, class V>
struct Node {
  std::vector<std::function<std::unique_ptr<Processor<K, V>>(TaskContext&)>> children;
  Forwarder<K, V> instantiate(TaskContext& ctx) const {
    Forwarder<K, V> f;
    for (const auto& c : children) f.add(c(ctx));
    return f;
  }
};

template <class K, class V>
class FilterProcessor final : public Processor<K, V> {
 public:
  FilterProcessor(std::function<bool(const K&, const V&)> pred, Forwarder<K, V> out)
      : pred_(std::move(pred)), out_(std::move(out)) {}
  void process(const K& k, const V& v, const RecordContext& ctx) override {
    if (pred_(k, v)) out_.forward(k, v, ctx);
  }

 private:
  std::function<bool(const K&, const V&)> pred_;
  Forwarder<K, V> out_;
};

template <class K, class V, class K2, class V2>
class MapProcessor final : public Processor<K, V> {
 public:
  MapProcessor(std::function<std::pair<K2, V2>(const K&, const V&)> f, Forwarder<K2, V2> out)
      : f_(std::move(f)), out_(std::move(out)) {}
  void process(const K& k, const V& v, const RecordContext& ctx) override {
    auto kv = f_(k, v);
    out_.forward(kv.first, kv.second, ctx);
  }

 private:
  std::function<std::pair<K2, V2>(const K&, const V&)> f_;
  Forwarder<K2, V2> out_;
};

template <class K, class V, class T, class V2>
class GlobalJoinProcessor final : public Processor<K, V> {
 public:
  GlobalJoinProcessor(TaskContext& ctx, std::shared_ptr<table::GlobalTable<T>> table,
                      std::function<std::string_view(const K&, const V&)> key_of,
                      std::function<V2(const K&, const V&, const T*)> joiner, MissingRow missing, Forwarder<K, V2> out)
      : ctx_(ctx), table_(std::move(table)), key_of_(std::move(key_of)), joiner_(std::move(joiner)),
        missing_(missing), out_(std::move(out)) {}
  void process(const K& k, const V& v, const RecordContext& rc) override {
    const std::string_view key = key_of_(k, v);
    const T* row = table_->find(key);
    if (!row) {
      table_->note_miss();
      if (missing_ == MissingRow::dead_letter) {
        ctx_.dead_letter("unknown " + table_->name() + " key '" + std::string(key) + "'");
        return;
      }
    }
    out_.forward(k, joiner_(k, v, row), rc);
  }

 private:
  TaskContext& ctx_;
  std::shared_ptr<table::GlobalTable<T>> table_;
  std::function<std::string_view(const K&, const V&)> key_of_;
  std::function<V2(const K&, const V&, const T*)> joiner_;
  MissingRow missing_;
  Forwarder<K, V2> out_;
};

template <class K, class V>
class SinkProcessor final : public Processor<K, V> {
 public:
  SinkProcessor(TaskContext& ctx, const std::string& topic, Produced<K, V> produced)
      : collector_(ctx.collector()), produced_(std::move(produced)), counters_(ctx.counters()) {
    topic_ = collector_.topic(topic);
    partitions_ = collector_.partitions(topic_);
  }
  void process(const K& k, const V& v, const RecordContext& ctx) override {
    key_.clear();
    value_.clear();
    produced_.key_serde.serialize(k, key_);
    produced_.value_serde.serialize(v, value_);
    const std::int32_t p = key_.empty() ? -1 : partition_for_key(key_, partitions_);
    collector_.send(topic_, p, key_, value_, ctx.event_time);
    if (counters_.outputs) counters_.outputs->inc();
  }

 private:
  RecordCollector& collector_;
  Produced<K, V> produced_;
  const TaskCounters& counters_;
  RecordCollector::TopicId topic_;
  std::int32_t partitions_;
  std::string key_, value_;
};

template <class K, class V>
class RepartitionSinkProcessor final : public Processor<K, V> {
 public:
  RepartitionSinkProcessor(TaskContext& ctx, const std::string& topic, Serde<K> ks, Serde<V> vs)
      : collector_(ctx.collector()), ks_(std::move(ks)), vs_(std::move(vs)) {
    topic_ = collector_.topic(topic);
    partitions_ = collector_.partitions(topic_);
  }
  void process(const K& k, const V& v, const RecordContext& ctx) override {
    key_.clear();
    ks_.serialize(k, key_);
    envelope::encode_data(value_, ctx);
    vs_.serialize(v, value_);
    collector_.send(topic_, partition_for_key(key_, partitions_), key_, value_, ctx.append_time);
  }

 private:
  RecordCollector& collector_;
  Serde<K> ks_;
  Serde<V> vs_;
  RecordCollector::TopicId topic_;
  std::int32_t partitions_;
  std::string key_, value_;
};

// Reads an external topic: validate, deserialize, stamp event time, or dead-letter.
template <class K, class V>
class ExternalSource final : public SourceNode {
 public:
  ExternalSource(TaskContext& ctx, std::uint16_t topic_index, Consumed<K, V> consumed, Forwarder<K, V> out)
      : ctx_(ctx), topic_index_(topic_index), consumed_(std::move(consumed)), out_(std::move(out)) {
    dlq_ = ctx.collector().topic(consumed_.dead_letter_topic);
  }

  bool process_external(const InputRecord& msg, TimestampMs& stream_time) override {
    const auto value = msg.value;
    if (value.size() > consumed_.max_record_bytes) {
      return dead_letter(msg, "record too large: " + std::to_string(value.size()) + " bytes (limit " +
                                  std::to_string(consumed_.max_record_bytes) + ")");
    }
    error_.clear();
    if (!consumed_.key_serde.deserialize(msg.key, key_, error_)) return dead_letter(msg, "bad key: " + error_);
    if (msg.value_is_null) return dead_letter(msg, "null value");
    if (!consumed_.value_serde.deserialize(value, value_, error_)) return dead_letter(msg, error_);
    const TimestampMs ts = consumed_.timestamp(key_, value_, msg);
    if (ts == kNoTimestamp) return dead_letter(msg, "no event time");
    if (stream_time == kNoTimestamp || ts > stream_time) stream_time = ts;
    RecordContext rc;
    rc.event_time = ts;
    rc.entry_stream_time = stream_time;
    rc.append_time = msg.timestamp;
    rc.source_topic = topic_index_;
    rc.source_partition = msg.partition;
    rc.source_offset = msg.offset;
    out_.forward(key_, value_, rc);
    return true;
  }

  void process_internal(std::string_view, std::string_view, const RecordContext&) override {}
  void reject(const InputRecord& msg, const std::string& reason) override { dead_letter(msg, reason); }

 private:
  bool dead_letter(const InputRecord& msg, const std::string& reason) {
    std::vector<std::pair<std::string, std::string>> headers{
        {"streamwright.error", reason},
        {"streamwright.topic", std::string(msg.topic)},
        {"streamwright.partition", std::to_string(msg.partition)},
        {"streamwright.offset", std::to_string(msg.offset)}};
    std::string_view key = msg.key, value = msg.value;
    const auto limit = consumed_.max_dead_letter_bytes;
    if (key.size() + value.size() > limit) {
      headers.emplace_back("streamwright.original-bytes", std::to_string(key.size() + value.size()));
      key = key.substr(0, std::min(key.size(), limit / 2));
      value = value.substr(0, limit - key.size());
    }
    ctx_.collector().send_with_headers(dlq_, -1, key, value, headers, msg.timestamp);
    if (ctx_.counters().dead_lettered) ctx_.counters().dead_lettered->inc();
    return false;
  }

  TaskContext& ctx_;
  std::uint16_t topic_index_;
  Consumed<K, V> consumed_;
  Forwarder<K, V> out_;
  RecordCollector::TopicId dlq_;
  K key_{};
  V value_{};
  std::string error_;
};

template <class K, class V>
class InternalSource final : public SourceNode {
 public:
  InternalSource(Serde<K> ks, Serde<V> vs, Forwarder<K, V> out)
      : ks_(std::move(ks)), vs_(std::move(vs)), out_(std::move(out)) {}
  bool process_external(const InputRecord&, TimestampMs&) override { return false; }
  void process_internal(std::string_view key, std::string_view payload, const RecordContext& ctx) override {
    error_.clear();
    // Written by our own repartition sink with the same serdes; a failure here is a bug or a
    // foreign writer, and the record is skipped rather than crashing the task.
    if (!ks_.deserialize(key, key_, error_) || !vs_.deserialize(payload, value_, error_)) return;
    out_.forward(key_, value_, ctx);
  }

 private:
  Serde<K> ks_;
  Serde<V> vs_;
  Forwarder<K, V> out_;
  K key_{};
  V value_{};
  std::string error_;
};

// Fan-in: several sources of one task forward into one instance of the downstream processors.
template <class K, class V>
class SharedForwardProcessor final : public Processor<K, V> {
 public:
  explicit SharedForwardProcessor(std::shared_ptr<Forwarder<K, V>> f) : f_(std::move(f)) {}
  void process(const K& k, const V& v, const RecordContext& ctx) override { f_->forward(k, v, ctx); }

 private:
  std::shared_ptr<Forwarder<K, V>> f_;
};

// One downstream instance per task, shared by the task's sources. Weak references: when the
// task goes away its sources release the instance, and a new task creates a fresh one.
template <class K, class V>
class PerTaskInstances {
 public:
  explicit PerTaskInstances(std::shared_ptr<Node<K, V>> node) : node_(std::move(node)) {}
  std::shared_ptr<Forwarder<K, V>> get(TaskContext& ctx) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = live_.begin(); it != live_.end();) it = it->second.expired() ? live_.erase(it) : std::next(it);
    auto& slot = live_[&ctx];
    if (auto f = slot.lock()) return f;
    auto f = std::make_shared<Forwarder<K, V>>(node_->instantiate(ctx));
    slot = f;
    return f;
  }

 private:
  std::shared_ptr<Node<K, V>> node_;
  std::mutex mu_;
  std::map<const TaskContext*, std::weak_ptr<Forwarder<K, V>>> live_;
};

}  // namespace sw::detail
