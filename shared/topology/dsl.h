#pragma once
// The Streamwright DSL, after Kafka Streams: stream -> filter/map -> group_by -> window_by ->
// count/aggregate -> to_stream -> to. Building records typed factories; each task instantiates
// its own processors from them. group_by cuts the graph: the records go through the
// repartition topic `<app>-<name>-repartition` into a new sub-topology (a separate service).
#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/partitioner.h"
#include "metrics/metrics.h"
#include "state/rocksdb_store.h"
#include "topology/envelope.h"
#include "topology/processor.h"
#include "topology/serde.h"
#include "topology/topology.h"
#include "table/global_table.h"
#include "topology/window_store.h"
#include "window/windows.h"

namespace sw {

template <class K>
struct Windowed {
  K key;
  Window window;
};

// How an external topic is read.
template <class K, class V>
struct Consumed {
  Serde<K> key_serde;
  Serde<V> value_serde;
  // Event time of a valid record; return kNoTimestamp to reject it ("no event time").
  std::function<TimestampMs(const K&, const V&, const InputRecord&)> timestamp;
  std::string dead_letter_topic;          // required: bad records go here with a reason
  std::size_t max_record_bytes = 1 << 20;
  // A dead letter keeps at most this much of the record's key and value (the rest is cut, and
  // the header streamwright.original-bytes gives the full size), so that a record too large for
  // the producer (message.max.bytes, 1 MB by default) is still dead-lettered instead of
  // stopping the stage on every restart.
  std::size_t max_dead_letter_bytes = 256 * 1024;
};

template <class K, class V>
struct Grouped {
  std::string name;   // repartition topic is <app>-<name>-repartition
  std::string stage;  // name of the sub-topology that reads it
  Serde<K> key_serde;
  Serde<V> value_serde;
};

template <class K, class VA>
struct Materialized {
  std::string store_name;  // changelog topic is <app>-<store>-changelog
  Serde<K> key_serde;
  Serde<VA> value_serde;
  std::size_t max_cached_windows = 1'000'000;
  // How long a window stays in the store after it ends. 0: until it closes (end + grace), the
  // least that gives correct results; longer keeps closed windows around (costs state).
  std::chrono::milliseconds retention{0};
};

template <class K, class V>
struct Produced {
  Serde<K> key_serde;
  Serde<V> value_serde;
};

// What a join does with a record whose key is not in the table.
enum class MissingRow {
  keep,         // the joiner gets no row (a left join); the miss is counted
  dead_letter,  // the input record goes to the dead-letter topic with the reason
};

namespace detail {

template <class K, class V>
struct Node {
  std::vector<std::function<std::unique_ptr<Processor<K, V>>(TaskContext&)>> children;
  Forwarder<K, V> instantiate(TaskContext& ctx) const {
    Forwarder<K, V> f;
    for (const auto& c : children) f.add(c(ctx));
    return f;
  }
};

template <class K>
struct KeyTraits {
  using View = const K&;
  static View view(const K& k) { return k; }
  static const K& own(View v) { return v; }
};
template <>
struct KeyTraits<std::string> {
  using View = std::string_view;
  static View view(const std::string& k) { return k; }
  static std::string own(View v) { return std::string(v); }
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

// A hash map keyed by (key, window start), looked up by key view without copying the key.
template <class K>
struct WindowKeyed {
  using Traits = KeyTraits<K>;
  using View = typename Traits::View;
  struct CacheKey {
    K key;
    TimestampMs start;
  };
  struct CacheKeyView {
    View key;
    TimestampMs start;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(const CacheKey& k) const { return mix(std::hash<std::remove_cvref_t<View>>{}(Traits::view(k.key)), k.start); }
    std::size_t operator()(const CacheKeyView& k) const { return mix(std::hash<std::remove_cvref_t<View>>{}(k.key), k.start); }
    static std::size_t mix(std::size_t h, TimestampMs s) {
      return h ^ (static_cast<std::size_t>(s) * 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2));
    }
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(const CacheKey& a, const CacheKey& b) const { return a.start == b.start && a.key == b.key; }
    bool operator()(const CacheKeyView& a, const CacheKey& b) const {
      return a.start == b.start && a.key == Traits::view(b.key);
    }
    bool operator()(const CacheKey& a, const CacheKeyView& b) const { return (*this)(b, a); }
  };
  template <class Entry>
  using Map = std::unordered_map<CacheKey, Entry, Hash, Eq>;
};

// Two-phase aggregation, upstream half: folds an entry task's records into partial aggregates
// per (key, window) and, when the task closes an input chunk, sends each partial through the
// repartition topic (key as usual; value: envelope, whose event time is the window start, and
// the partial). Lateness is
// decided here per record and window, against the entry partition's stream time, exactly as the
// single-phase aggregator would.
template <class K, class V, class VA>
class PreAggregateProcessor final : public Processor<K, V>, public PreAggregating {
  using Keyed = WindowKeyed<K>;
  using Traits = typename Keyed::Traits;
  struct Entry {
    VA value;
    TimestampMs end;
    TimestampMs append_time;
  };
  using Map = typename Keyed::template Map<Entry>;

 public:
  PreAggregateProcessor(TaskContext& ctx, TimeWindows windows, std::function<VA()> init,
                        std::function<void(const K&, const V&, VA&)> agg, const std::string& topic, Serde<K> ks,
                        Serde<VA> vs)
      : ctx_(ctx), windows_(windows), init_(std::move(init)), agg_(std::move(agg)), ks_(std::move(ks)), vs_(std::move(vs)) {
    topic_ = ctx.collector().topic(topic);
    partitions_ = ctx.collector().partitions(topic_);
    ctx.register_pre_aggregator(this);
  }

  void process(const K& k, const V& v, const RecordContext& rc) override {
    windows_.for_each_window(rc.event_time, [&](const Window& w) {
      if (windows_.is_closed(w, rc.entry_stream_time)) {
        if (ctx_.counters().late_dropped) ctx_.counters().late_dropped->inc();
        return;
      }
      auto it = cache_.find(typename Keyed::CacheKeyView{Traits::view(k), w.start});
      if (it == cache_.end())
        it = cache_.emplace(typename Keyed::CacheKey{Traits::own(Traits::view(k)), w.start}, Entry{init_(), w.end, rc.append_time}).first;
      agg_(k, v, it->second.value);
      it->second.append_time = std::max(it->second.append_time, rc.append_time);
    });
  }

  bool pending() const override { return !cache_.empty(); }

  void flush_partials(const RecordContext& chunk, std::uint32_t& seq) override {
    order_.clear();
    for (auto& kv : cache_) order_.push_back(&kv);
    // Deterministic order: a replay of the same chunk numbers the same partials alike.
    std::sort(order_.begin(), order_.end(), [](const auto* a, const auto* b) {
      return a->first.start != b->first.start ? a->first.start < b->first.start : a->first.key < b->first.key;
    });
    auto& collector = ctx_.collector();
    for (const auto* kv : order_) {
      RecordContext rc = chunk;
      rc.event_time = kv->first.start;
      rc.source_seq = seq++;
      key_.clear();
      ks_.serialize(kv->first.key, key_);
      envelope::encode_data(value_, rc);
      vs_.serialize(kv->second.value, value_);
      collector.send(topic_, partition_for_key(key_, partitions_), key_, value_, kv->second.append_time);
    }
    order_.clear();
    cache_.clear();
  }

 private:
  TaskContext& ctx_;
  TimeWindows windows_;
  std::function<VA()> init_;
  std::function<void(const K&, const V&, VA&)> agg_;
  Serde<K> ks_;
  Serde<VA> vs_;
  RecordCollector::TopicId topic_;
  std::int32_t partitions_;
  Map cache_;
  std::vector<const typename Map::value_type*> order_;
  std::string key_, value_;
};

// Two-phase aggregation, downstream source: unwraps partials written by PreAggregateProcessor.
template <class K, class VA>
class PartialSource final : public SourceNode {
 public:
  PartialSource(TimeWindows windows, Serde<K> ks, Serde<VA> vs, Forwarder<Windowed<K>, VA> out)
      : windows_(windows), ks_(std::move(ks)), vs_(std::move(vs)), out_(std::move(out)) {}
  bool process_external(const InputRecord&, TimestampMs&) override { return false; }
  void process_internal(std::string_view key, std::string_view payload, const RecordContext& ctx) override {
    error_.clear();
    key_.window.start = ctx.event_time;
    key_.window.end = ctx.event_time + windows_.size_ms();
    if (!ks_.deserialize(key, key_.key, error_) || !vs_.deserialize(payload, value_, error_)) return;
    out_.forward(key_, value_, ctx);
  }

 private:
  TimeWindows windows_;
  Serde<K> ks_;
  Serde<VA> vs_;
  Forwarder<Windowed<K>, VA> out_;
  Windowed<K> key_{};
  VA value_{};
  std::string error_;
};

// Windowed aggregation: a typed in-memory cache of open windows over the store stack. Records
// update the cache; flush() writes dirty windows to the changelog and stages them for RocksDB;
// event time closes windows and (emit-final) forwards their results.
template <class K, class V, class VA>
class WindowedAggregateProcessor final : public Processor<K, V>, public WindowedStateful {
  using Keyed = WindowKeyed<K>;
  using Traits = typename Keyed::Traits;
  using CacheKey = typename Keyed::CacheKey;
  using CacheKeyView = typename Keyed::CacheKeyView;
  using Hash = typename Keyed::Hash;
  using Eq = typename Keyed::Eq;
  struct Entry {
    VA value;
    TimestampMs end;
    bool dirty;
    bool persisted;  // present in the store/changelog, so closing needs a tombstone
    bool emitted;    // closed and emitted, kept only for a retention longer than the grace
  };

 public:
  WindowedAggregateProcessor(TaskContext& ctx, TimeWindows windows, EmitStrategy emit,
                             std::function<VA()> init, std::function<void(const K&, const V&, VA&)> agg,
                             Materialized<K, VA> mat, std::string changelog_topic,
                             Forwarder<Windowed<K>, VA> out)
      : ctx_(ctx),
        windows_(windows),
        emit_(emit),
        init_(std::move(init)),
        agg_(std::move(agg)),
        mat_(std::move(mat)),
        store_(make_window_store(ctx, mat_.store_name, changelog_topic)),
        out_(std::move(out)) {
    // Retention beyond end + grace: how much longer closed windows stay.
    extra_retention_ = std::max<TimestampMs>(0, mat_.retention.count() - windows_.grace_ms());
    ctx.register_stateful(this);
    load();
  }

  void process(const K& k, const V& v, const RecordContext& rc) override {
    windows_.for_each_window(rc.event_time, [&](const Window& w) {
      // Lateness was decided where the record entered, against its partition's stream time.
      if (windows_.is_closed(w, rc.entry_stream_time)) {
        if (ctx_.counters().late_dropped) ctx_.counters().late_dropped->inc();
        return;
      }
      update(k, w, v, rc);
    });
  }

  // Two-phase aggregation: folds a partial aggregate of one window in (agg_ is the merger).
  // Its records' lateness was decided upstream, per record, where they entered.
  void merge_window(const K& k, const Window& w, const V& partial, const RecordContext& rc) { update(k, w, partial, rc); }

  void on_event_time(TimestampMs t) override {
    if (t == kNoTimestamp) return;
    const TimestampMs bound = t - windows_.grace_ms();  // windows with end <= bound close
    // earliest_end_ covers the cached windows only: once some were evicted, the store may hold
    // a window due at any bound, so every advance looks there.
    if (complete_ && earliest_end_ > bound) return;
    closing_.clear();
    expiring_.clear();
    TimestampMs next_earliest = INT64_MAX;
    for (auto it = cache_.begin(); it != cache_.end(); ++it) {
      const auto& e = it->second;
      if (e.emitted) {
        // Kept for retention: goes once the retention has passed too.
        if (e.end + extra_retention_ <= bound) expiring_.push_back(&*it);
        else next_earliest = std::min(next_earliest, e.end + extra_retention_);
      } else if (e.end <= bound) {
        closing_.push_back(&*it);
      } else {
        next_earliest = std::min(next_earliest, e.end);
      }
    }
    if (!complete_) close_from_store(bound);
    std::sort(closing_.begin(), closing_.end(), [](const auto& a, const auto& b) {
      return a->second.end != b->second.end ? a->second.end < b->second.end : a->first.key < b->first.key;
    });
    // Pointers, not iterators: close_from_store may have rehashed the map. Erased by key.
    for (auto* it : closing_) {
      const Window w{it->first.start, it->second.end};
      if (emit_ == EmitStrategy::on_window_close) {
        RecordContext rc;
        rc.event_time = w.end - 1;
        rc.entry_stream_time = t;
        rc.append_time = wall_clock_ms();
        out_.forward(Windowed<K>{it->first.key, w}, it->second.value, rc);
      }
      if (extra_retention_ > 0) {
        it->second.emitted = true;
        next_earliest = std::min(next_earliest, it->second.end + extra_retention_);
        continue;
      }
      if (it->second.persisted) stage_delete(it->first.key, w);
      cache_.erase(cache_.find(it->first));
    }
    for (auto* it : expiring_) {
      if (it->second.persisted) stage_delete(it->first.key, Window{it->first.start, it->second.end});
      cache_.erase(cache_.find(it->first));
    }
    closing_.clear();
    expiring_.clear();
    earliest_end_ = next_earliest;
    closed_bound_ = std::max(closed_bound_, bound);
  }

  void flush(std::string_view meta) override {
    for (auto& [ck, e] : cache_) {
      if (!e.dirty) continue;
      key_bytes_.clear();
      mat_.key_serde.serialize(ck.key, key_bytes_);
      value_bytes_.clear();
      mat_.value_serde.serialize(e.value, value_bytes_);
      store_->put(state::WindowKey{ck.start, e.end, key_bytes_}, value_bytes_);
      e.dirty = false;
      e.persisted = true;
    }
    store_->flush(meta);
    if (cache_.size() > mat_.max_cached_windows) evict_after_commit_ = true;
  }

  void commit_local() override {
    store_->commit();
    if (evict_after_commit_) {
      // Clean entries are durable in RocksDB now: drop them; reads go to RocksDB from here on.
      // Entries updated since the flush (the runtime goes on processing while a commit waits
      // for its acknowledgements) are newer than RocksDB and stay.
      for (auto it = cache_.begin(); it != cache_.end();) {
        if (it->second.dirty) ++it;
        else it = cache_.erase(it);
      }
      complete_ = false;
      evict_after_commit_ = false;
    }
  }

  const std::string& store_name() const override { return mat_.store_name; }
  std::size_t cached_entries() const override { return cache_.size(); }

 private:
  using Iter = typename std::unordered_map<CacheKey, Entry, Hash, Eq>::iterator;

  void update(const K& k, const Window& w, const V& v, const RecordContext& rc) {
    if (windows_.is_closed(w, ctx_.event_time())) {
      if (ctx_.counters().late_dropped_downstream) ctx_.counters().late_dropped_downstream->inc();
      return;
    }
    auto it = cache_.find(CacheKeyView{Traits::view(k), w.start});
    if (it == cache_.end()) it = insert(k, w);
    agg_(k, v, it->second.value);
    it->second.dirty = true;
    if (emit_ == EmitStrategy::on_window_update) {
      out_.forward(Windowed<K>{it->first.key, w}, it->second.value, rc);
    }
  }

  // Loads the task's restored windows into the cache, so the cache starts complete.
  void load() {
    std::size_t n = 0;
    const TimestampMs t = ctx_.event_time();
    if (t != kNoTimestamp) closed_bound_ = t - windows_.grace_ms();
    store_->scan_until(INT64_MAX, [&](const state::WindowKey& wk, std::string_view bytes) {
      K key{};
      VA value{};
      if (!mat_.key_serde.deserialize(wk.key, key, error_) || !mat_.value_serde.deserialize(bytes, value, error_))
        return;
      // Under a long retention the store also holds windows that were closed and emitted
      // (the marker's event time was applied before it was written, see Task::flush).
      const bool emitted = extra_retention_ > 0 && wk.end <= closed_bound_;
      cache_.emplace(CacheKey{std::move(key), wk.start}, Entry{std::move(value), wk.end, false, true, emitted});
      earliest_end_ = std::min(earliest_end_, emitted ? wk.end + extra_retention_ : wk.end);
      ++n;
    });
    complete_ = n <= mat_.max_cached_windows;
    if (!complete_) cache_.clear();
  }

  Iter insert(const K& k, const Window& w) {
    VA value = init_();
    bool persisted = false;
    if (!complete_) {
      key_bytes_.clear();
      mat_.key_serde.serialize(k, key_bytes_);
      if (store_->get(state::WindowKey{w.start, w.end, key_bytes_}, value_bytes_) &&
          mat_.value_serde.deserialize(value_bytes_, value, error_))
        persisted = true;
    }
    earliest_end_ = std::min(earliest_end_, w.end);
    return cache_
        .emplace(CacheKey{Traits::own(Traits::view(k)), w.start}, Entry{std::move(value), w.end, false, persisted, false})
        .first;
  }

  void close_from_store(TimestampMs bound) {
    store_->scan_until(bound, [&](const state::WindowKey& wk, std::string_view bytes) {
      K key{};
      VA value{};
      if (!mat_.key_serde.deserialize(wk.key, key, error_) || !mat_.value_serde.deserialize(bytes, value, error_))
        return;
      if (cache_.find(CacheKeyView{Traits::view(key), wk.start}) != cache_.end()) return;
      if (extra_retention_ == 0 && wk.end <= closed_bound_) {
        // Closed and emitted already; its delete is staged but not yet committed to RocksDB.
        // (Staged again: deleting twice is harmless, emitting twice is not.)
        store_->remove(wk);
        return;
      }
      const bool emitted = extra_retention_ > 0 && wk.end <= closed_bound_;
      if (emitted && wk.end + extra_retention_ > bound) return;  // retained, not yet expired
      auto it = cache_.emplace(CacheKey{std::move(key), wk.start}, Entry{std::move(value), wk.end, false, true, emitted}).first;
      (emitted ? expiring_ : closing_).push_back(&*it);
    });
  }

  void stage_delete(const K& key, const Window& w) {
    key_bytes_.clear();
    mat_.key_serde.serialize(key, key_bytes_);
    store_->remove(state::WindowKey{w.start, w.end, key_bytes_});
  }

  TaskContext& ctx_;
  TimeWindows windows_;
  EmitStrategy emit_;
  std::function<VA()> init_;
  std::function<void(const K&, const V&, VA&)> agg_;
  Materialized<K, VA> mat_;
  std::unique_ptr<WindowStore> store_;
  Forwarder<Windowed<K>, VA> out_;
  std::unordered_map<CacheKey, Entry, Hash, Eq> cache_;
  bool complete_ = true;  // the cache holds every open window of this task
  bool evict_after_commit_ = false;
  TimestampMs earliest_end_ = INT64_MAX;  // earliest end (or retained end) that needs attention
  TimestampMs extra_retention_ = 0;
  TimestampMs closed_bound_ = INT64_MIN;  // windows ending at or before this were emitted
  std::vector<typename std::unordered_map<CacheKey, Entry, Hash, Eq>::value_type*> closing_, expiring_;
  std::string key_bytes_, value_bytes_, error_;
};

// Two-phase aggregation, downstream half: merges partial aggregates into the window store.
template <class K, class VA>
class PartialMergeProcessor final : public Processor<Windowed<K>, VA> {
 public:
  explicit PartialMergeProcessor(std::unique_ptr<WindowedAggregateProcessor<K, VA, VA>> core) : core_(std::move(core)) {}
  void process(const Windowed<K>& k, const VA& partial, const RecordContext& rc) override {
    core_->merge_window(k.key, k.window, partial, rc);
  }

 private:
  std::unique_ptr<WindowedAggregateProcessor<K, VA, VA>> core_;
};

}  // namespace detail

class StreamsBuilder;

template <class K, class VA>
class KTable;
template <class K, class V>
class TimeWindowedKStream;
template <class K, class V>
class KGroupedStream;

template <class K, class V>
class KStream {
 public:
  KStream(StreamsBuilder* b, std::size_t sub, std::shared_ptr<detail::Node<K, V>> node)
      : b_(b), sub_(sub), node_(std::move(node)) {}

  KStream filter(std::function<bool(const K&, const V&)> pred, const std::string& name = "filter");

  template <class K2, class V2>
  KStream<K2, V2> map(std::function<std::pair<K2, V2>(const K&, const V&)> f, const std::string& name = "map");

  // Broadcast join with a global table, in this stage (no repartition): joiner(key, value, row)
  // where row is null for a key the table does not hold (see MissingRow).
  template <class T, class V2>
  KStream<K, V2> join(std::shared_ptr<table::GlobalTable<T>> table, std::function<std::string_view(const K&, const V&)> key_of,
                      std::function<V2(const K&, const V&, const T*)> joiner, MissingRow missing,
                      const std::string& name = "join");

  template <class KR>
  KGroupedStream<KR, V> group_by(std::function<KR(const K&, const V&)> selector, Grouped<KR, V> grouped);

  void to(const std::string& topic, Produced<K, V> produced);

 private:
  template <class, class>
  friend class KStream;
  StreamsBuilder* b_;
  std::size_t sub_;
  std::shared_ptr<detail::Node<K, V>> node_;
};

// A stream grouped by a new key: the records will cross the repartition topic into the
// downstream stage. What crosses (records, or partial aggregates) is decided by the aggregation.
template <class K, class V>
struct GroupedStreamDef {
  StreamsBuilder* builder;
  std::size_t upstream_sub;
  std::shared_ptr<detail::Node<K, V>> selected;  // upstream: records with their new key
  Grouped<K, V> grouped;
  std::string topic;
  std::size_t downstream_sub;
};

template <class K, class V>
class KGroupedStream {
 public:
  explicit KGroupedStream(GroupedStreamDef<K, V> def) : def_(std::move(def)) {}
  TimeWindowedKStream<K, V> window_by(TimeWindows windows, EmitStrategy emit = EmitStrategy::on_window_close) {
    return TimeWindowedKStream<K, V>(def_, windows, emit);
  }

 private:
  GroupedStreamDef<K, V> def_;
};

template <class K, class VA>
class KTable {
 public:
  KTable(StreamsBuilder* b, std::size_t sub, std::shared_ptr<detail::Node<Windowed<K>, VA>> node)
      : b_(b), sub_(sub), node_(std::move(node)) {}
  KStream<Windowed<K>, VA> to_stream() { return KStream<Windowed<K>, VA>(b_, sub_, node_); }

 private:
  StreamsBuilder* b_;
  std::size_t sub_;
  std::shared_ptr<detail::Node<Windowed<K>, VA>> node_;
};

class StreamsBuilder {
 public:
  explicit StreamsBuilder(std::string application_id) { topo_.app_ = std::move(application_id); }

  // Reads an external topic in a new sub-topology named `stage`.
  template <class K, class V>
  KStream<K, V> stream(const std::string& topic, Consumed<K, V> consumed, const std::string& stage) {
    if (consumed.dead_letter_topic.empty()) throw std::invalid_argument("stream " + topic + ": no dead-letter topic");
    const std::size_t sub = add_subtopology(stage, false);
    auto node = std::make_shared<detail::Node<K, V>>();
    const auto index = static_cast<std::uint16_t>(topo_.entry_topics_.size());
    topo_.entry_topics_.push_back(topic);
    topo_.subs_[sub].source_topics.push_back(topic);
    topo_.subs_[sub].sources[topic] = [index, consumed, node](TaskContext& ctx) -> std::unique_ptr<SourceNode> {
      return std::make_unique<detail::ExternalSource<K, V>>(ctx, index, consumed, node->instantiate(ctx));
    };
    add_topic(topic, TopicRole::input, sub);
    add_topic(consumed.dead_letter_topic, TopicRole::dead_letter, sub);
    describe(sub, "source " + topic + " (dead letters to " + consumed.dead_letter_topic + ")");
    return KStream<K, V>(this, sub, node);
  }

  Topology build() {
    for (auto& s : topo_.subs_)
      if (s.sources.empty()) throw std::logic_error("sub-topology " + s.name + " has no source");
    return topo_;
  }

  // Internal API for the DSL classes.
  std::size_t add_subtopology(const std::string& name, bool internal) {
    for (const auto& s : topo_.subs_)
      if (s.name == name) throw std::invalid_argument("duplicate stage name " + name);
    SubTopologyDef def;
    def.name = name;
    def.internal_sources = internal;
    topo_.subs_.push_back(std::move(def));
    return topo_.subs_.size() - 1;
  }
  SubTopologyDef& sub(std::size_t i) { return topo_.subs_[i]; }
  const std::string& app() const { return topo_.app_; }
  void add_topic(const std::string& name, TopicRole role, std::size_t sub) {
    topo_.topics_.push_back({name, role, topo_.subs_[sub].name});
  }
  void describe(std::size_t sub, std::string line) { topo_.subs_[sub].description.push_back(std::move(line)); }
  // Makes a stage open and refresh a global table (a join, or user code that reads it).
  void use_table(std::size_t sub, std::shared_ptr<table::GlobalTableBase> t) {
    auto& tables = topo_.subs_[sub].global_tables;
    if (std::find(tables.begin(), tables.end(), t) == tables.end()) tables.push_back(std::move(t));
  }
  void use_table(const std::string& stage, std::shared_ptr<table::GlobalTableBase> t) {
    for (std::size_t i = 0; i < topo_.subs_.size(); ++i)
      if (topo_.subs_[i].name == stage) return use_table(i, std::move(t));
    throw std::invalid_argument("use_table: no stage " + stage);
  }
  std::string changelog_topic(const std::string& store) const { return topo_.changelog_topic(store); }
  // Registers an external topic read by an entry sub-topology; returns its entry index.
  std::uint16_t add_entry_topic(const std::string& topic) {
    topo_.entry_topics_.push_back(topic);
    return static_cast<std::uint16_t>(topo_.entry_topics_.size() - 1);
  }
  std::vector<std::string> entry_topics_of(std::size_t sub) const {
    const auto& s = topo_.subs_[sub];
    return s.internal_sources ? s.upstream_entry_topics : s.source_topics;
  }

 private:
  Topology topo_;
};

template <class K, class V>
KStream<K, V> KStream<K, V>::filter(std::function<bool(const K&, const V&)> pred, const std::string& name) {
  auto child = std::make_shared<detail::Node<K, V>>();
  node_->children.push_back([pred, child](TaskContext& ctx) -> std::unique_ptr<Processor<K, V>> {
    return std::make_unique<detail::FilterProcessor<K, V>>(pred, child->instantiate(ctx));
  });
  b_->describe(sub_, "filter " + name);
  return KStream<K, V>(b_, sub_, child);
}

template <class K, class V>
template <class K2, class V2>
KStream<K2, V2> KStream<K, V>::map(std::function<std::pair<K2, V2>(const K&, const V&)> f, const std::string& name) {
  auto child = std::make_shared<detail::Node<K2, V2>>();
  node_->children.push_back([f, child](TaskContext& ctx) -> std::unique_ptr<Processor<K, V>> {
    return std::make_unique<detail::MapProcessor<K, V, K2, V2>>(f, child->instantiate(ctx));
  });
  b_->describe(sub_, "map " + name);
  return KStream<K2, V2>(b_, sub_, child);
}

template <class K, class V>
template <class KR>
KGroupedStream<KR, V> KStream<K, V>::group_by(std::function<KR(const K&, const V&)> selector,
                                              Grouped<KR, V> grouped) {
  const std::string topic = b_->app() + "-" + grouped.name + "-repartition";
  // Upstream side: select the key; the aggregation decides what is written to the topic.
  auto selected = std::make_shared<detail::Node<KR, V>>();
  node_->children.push_back([selector, selected](TaskContext& ctx) -> std::unique_ptr<Processor<K, V>> {
    return std::make_unique<detail::MapProcessor<K, V, KR, V>>(
        [selector](const K& k, const V& v) { return std::pair<KR, V>(selector(k, v), v); }, selected->instantiate(ctx));
  });
  b_->describe(sub_, "group-by " + grouped.name + " -> repartition " + topic);
  b_->sub(sub_).repartition_sinks.push_back(topic);
  // Downstream side: a new sub-topology reading the repartition topic.
  const auto entry = b_->entry_topics_of(sub_);
  const std::size_t down = b_->add_subtopology(grouped.stage, true);
  auto& def = b_->sub(down);
  def.source_topics.push_back(topic);
  def.upstream_entry_topics = entry;
  b_->add_topic(topic, TopicRole::repartition, down);
  b_->describe(down, "source " + topic);
  return KGroupedStream<KR, V>(GroupedStreamDef<KR, V>{b_, sub_, selected, std::move(grouped), topic, down});
}

template <class K, class V>
template <class T, class V2>
KStream<K, V2> KStream<K, V>::join(std::shared_ptr<table::GlobalTable<T>> table,
                                   std::function<std::string_view(const K&, const V&)> key_of,
                                   std::function<V2(const K&, const V&, const T*)> joiner, MissingRow missing,
                                   const std::string& name) {
  if (missing == MissingRow::dead_letter) {
    auto& def = b_->sub(sub_);
    if (def.internal_sources)
      throw std::invalid_argument("join " + name + ": only an entry stage can dead-letter (it has the input record)");
    // Partials must be a function of the input alone: a replay after a table change would
    // otherwise produce a different set of partials and misnumber them.
    if (def.pre_aggregating)
      throw std::invalid_argument("join " + name + ": dead-lettering unknown keys cannot precede a two-phase aggregation");
    def.table_dependent_drops = true;
  }
  auto child = std::make_shared<detail::Node<K, V2>>();
  node_->children.push_back([=](TaskContext& ctx) -> std::unique_ptr<Processor<K, V>> {
    return std::make_unique<detail::GlobalJoinProcessor<K, V, T, V2>>(ctx, table, key_of, joiner, missing,
                                                                      child->instantiate(ctx));
  });
  b_->use_table(sub_, table);
  b_->describe(sub_, "join " + name + " with global table " + table->name() + " (" + table->source().describe() +
                         (missing == MissingRow::keep ? ", unknown keys kept)" : ", unknown keys dead-lettered)"));
  return KStream<K, V2>(b_, sub_, child);
}

template <class K, class V>
void KStream<K, V>::to(const std::string& topic, Produced<K, V> produced) {
  node_->children.push_back([topic, produced](TaskContext& ctx) -> std::unique_ptr<Processor<K, V>> {
    return std::make_unique<detail::SinkProcessor<K, V>>(ctx, topic, produced);
  });
  b_->add_topic(topic, TopicRole::output, sub_);
  b_->describe(sub_, "sink " + topic);
}

template <class K, class V>
class TimeWindowedKStream {
 public:
  TimeWindowedKStream(GroupedStreamDef<K, V> def, TimeWindows windows, EmitStrategy emit)
      : def_(std::move(def)), windows_(windows), emit_(emit) {}

  // Single phase: every record crosses the repartition topic and is aggregated downstream.
  template <class VA>
  KTable<K, VA> aggregate(std::function<VA()> init, std::function<void(const K&, const V&, VA&)> agg,
                          Materialized<K, VA> mat) {
    auto* b = def_.builder;
    const std::string topic = def_.topic;
    const auto grouped = def_.grouped;
    def_.selected->children.push_back([topic, grouped](TaskContext& ctx) -> std::unique_ptr<Processor<K, V>> {
      return std::make_unique<detail::RepartitionSinkProcessor<K, V>>(ctx, topic, grouped.key_serde,
                                                                     grouped.value_serde);
    });
    auto node = std::make_shared<detail::Node<K, V>>();
    b->sub(def_.downstream_sub).sources[topic] = [grouped, node](TaskContext& ctx) -> std::unique_ptr<SourceNode> {
      return std::make_unique<detail::InternalSource<K, V>>(grouped.key_serde, grouped.value_serde,
                                                           node->instantiate(ctx));
    };
    const std::string changelog = register_store(mat, "");
    auto out = std::make_shared<detail::Node<Windowed<K>, VA>>();
    auto windows = windows_;
    auto emit = emit_;
    node->children.push_back([=](TaskContext& ctx) -> std::unique_ptr<Processor<K, V>> {
      return std::make_unique<detail::WindowedAggregateProcessor<K, V, VA>>(ctx, windows, emit, init, agg, mat,
                                                                            changelog, out->instantiate(ctx));
    });
    return KTable<K, VA>(b, def_.downstream_sub, out);
  }

  // Two phase: the entry stage folds records into partial aggregates per (key, window) and
  // sends one partial per key and window at each commit; the downstream stage merges them.
  // `merge(key, partial, into)` must make the result equal to aggregating every record directly.
  template <class VA>
  KTable<K, VA> aggregate(std::function<VA()> init, std::function<void(const K&, const V&, VA&)> agg,
                          std::function<void(const K&, const VA&, VA&)> merge, Materialized<K, VA> mat) {
    static_assert(!std::is_same_v<K, std::string_view>, "partials outlive the record: the key must own its bytes");
    auto* b = def_.builder;
    auto& upstream = b->sub(def_.upstream_sub);
    if (upstream.table_dependent_drops)
      throw std::invalid_argument("two-phase aggregation " + mat.store_name +
                                  ": its stage dead-letters records by a table's content, so a replay could produce "
                                  "different partials; use a single-phase aggregation or keep unknown keys");
    upstream.pre_aggregating = true;
    const std::string topic = def_.topic;
    const auto ks = def_.grouped.key_serde;
    const auto vs = mat.value_serde;
    auto windows = windows_;
    def_.selected->children.push_back([=](TaskContext& ctx) -> std::unique_ptr<Processor<K, V>> {
      return std::make_unique<detail::PreAggregateProcessor<K, V, VA>>(ctx, windows, init, agg, topic, ks, vs);
    });
    b->describe(def_.upstream_sub, "pre-aggregate " + mat.store_name + " per " + windows_.describe() +
                                       " window, partials to " + topic);
    auto node = std::make_shared<detail::Node<Windowed<K>, VA>>();
    b->sub(def_.downstream_sub).sources[topic] = [windows, ks, vs, node](TaskContext& ctx) -> std::unique_ptr<SourceNode> {
      return std::make_unique<detail::PartialSource<K, VA>>(windows, ks, vs, node->instantiate(ctx));
    };
    const std::string changelog = register_store(mat, " merging partials");
    auto out = std::make_shared<detail::Node<Windowed<K>, VA>>();
    auto emit = emit_;
    node->children.push_back([=](TaskContext& ctx) -> std::unique_ptr<Processor<Windowed<K>, VA>> {
      return std::make_unique<detail::PartialMergeProcessor<K, VA>>(
          std::make_unique<detail::WindowedAggregateProcessor<K, VA, VA>>(ctx, windows, emit, init, merge, mat,
                                                                          changelog, out->instantiate(ctx)));
    });
    return KTable<K, VA>(b, def_.downstream_sub, out);
  }

  // For DSL extensions (topology/dsl_ext.h): wires the single-phase repartition (sink upstream,
  // source downstream) and returns the node at which the records arrive in the downstream stage.
  std::shared_ptr<detail::Node<K, V>> single_phase_input() {
    const std::string topic = def_.topic;
    const auto grouped = def_.grouped;
    def_.selected->children.push_back([topic, grouped](TaskContext& ctx) -> std::unique_ptr<Processor<K, V>> {
      return std::make_unique<detail::RepartitionSinkProcessor<K, V>>(ctx, topic, grouped.key_serde,
                                                                     grouped.value_serde);
    });
    auto node = std::make_shared<detail::Node<K, V>>();
    def_.builder->sub(def_.downstream_sub).sources[topic] = [grouped, node](TaskContext& ctx) -> std::unique_ptr<SourceNode> {
      return std::make_unique<detail::InternalSource<K, V>>(grouped.key_serde, grouped.value_serde,
                                                           node->instantiate(ctx));
    };
    return node;
  }
  StreamsBuilder* builder() const { return def_.builder; }
  std::size_t downstream_subtopology() const { return def_.downstream_sub; }
  const TimeWindows& windows() const { return windows_; }

  KTable<K, std::int64_t> count(Materialized<K, std::int64_t> mat) {
    return aggregate<std::int64_t>([] { return std::int64_t{0}; }, [](const K&, const V&, std::int64_t& c) { ++c; },
                                   std::move(mat));
  }

 private:
  template <class VA>
  std::string register_store(const Materialized<K, VA>& mat, const char* how) {
    auto* b = def_.builder;
    const std::string changelog = b->changelog_topic(mat.store_name);
    b->sub(def_.downstream_sub).stores.push_back(mat.store_name);
    b->add_topic(changelog, TopicRole::changelog, def_.downstream_sub);
    b->describe(def_.downstream_sub, "window-aggregate " + mat.store_name + " " + windows_.describe() +
                                         (emit_ == EmitStrategy::on_window_close ? " emit-final" : " emit-on-update") +
                                         how + " (changelog " + changelog + ")");
    return changelog;
  }

  GroupedStreamDef<K, V> def_;
  TimeWindows windows_;
  EmitStrategy emit_;
};

}  // namespace sw
