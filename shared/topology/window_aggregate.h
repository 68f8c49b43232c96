#pragma once
// The windowed aggregates, each with a typed in-memory cache of open windows over the task's
// window store:
//
//  * WindowedAggregateProcessor: count/aggregate; emit-final or emit-on-update, optional
//    retention, eviction beyond max_cached_windows.
//  * WindowedHistoryAggregateProcessor: emit-final, and the closing windows are folded per key,
//    in window order, into a history kept in the same store (aggregate_with_history,
//    topology/dsl_ext.h).
//
// Two-phase aggregation: the upstream half (PreAggregateProcessor), the source of partials, and
// the downstream half (PartialMergeProcessor). Internal to the DSL (namespace detail).
#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/partitioner.h"
#include "metrics/metrics.h"
#include "state/rocksdb_store.h"
#include "topology/envelope.h"
#include "topology/options.h"
#include "topology/processor.h"
#include "topology/serde.h"
#include "topology/window_store.h"
#include "window/windows.h"

namespace sw {

// The reserved window of the per-key histories (WindowedHistoryAggregateProcessor): no
// event-time bound ever reaches it, so closing scans never see them.
inline constexpr TimestampMs kHistoryWindowEnd = INT64_MAX - 1;

namespace detail {

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

// Emit-final windowed aggregation plus an ordered per-key fold over the closed windows. The
// whole open state is held in memory (windows are short and per key there are size/advance of
// them), and the history of every key is kept; both are persisted in batches at flush.
//
// Why the history shares the window store instead of having a key-value store of its own: the
// task's changelog protocol commits a flush with one marker per store, and nothing orders two
// changelogs against each other. With two stores a crash between the two markers restores them
// to different flushes (one store ahead of the input offset, the other behind), so a window
// closed in the lost flush would be missing from, or counted twice in, the history. With one
// store, window deletions, history updates and the task position are in one flush behind one
// marker: a restore always sees all of a flush or none of it, and the closing windows that follow
// are re-emitted with exactly the history they had. History entries use a reserved window
// (start = end = kHistoryWindowEnd) that no event-time bound ever reaches, so closing scans never
// see them.
template <class K, class V, class VA, class H, class VO>
class WindowedHistoryAggregateProcessor final : public Processor<K, V>, public WindowedStateful {
  using Keyed = WindowKeyed<K>;
  using Traits = typename Keyed::Traits;
  using View = typename Keyed::View;
  using CacheKey = typename Keyed::CacheKey;
  using CacheKeyView = typename Keyed::CacheKeyView;
  using Hash = typename Keyed::Hash;
  using Eq = typename Keyed::Eq;
  struct Entry {
    VA value;
    TimestampMs end;
    bool dirty;
    bool persisted;
  };
  struct HistoryEntry {
    H value{};
    bool dirty = false;
  };
  using Iter = typename std::unordered_map<CacheKey, Entry, Hash, Eq>::iterator;

 public:
  using Close = std::function<void(const K&, const Window&, const VA&, H& history, VO& out)>;

  WindowedHistoryAggregateProcessor(TaskContext& ctx, TimeWindows windows, std::function<VA()> init,
                                    std::function<void(const K&, const V&, VA&)> agg, Close close,
                                    MaterializedWithHistory<K, VA, H> mat, std::string changelog_topic,
                                    Forwarder<Windowed<K>, VO> out)
      : ctx_(ctx),
        windows_(windows),
        init_(std::move(init)),
        agg_(std::move(agg)),
        close_(std::move(close)),
        mat_(std::move(mat)),
        store_(make_window_store(ctx, mat_.store_name, changelog_topic)),
        out_(std::move(out)) {
    ctx.register_stateful(this);
    load();
  }

  void process(const K& k, const V& v, const RecordContext& rc) override {
    windows_.for_each_window(rc.event_time, [&](const Window& w) {
      if (windows_.is_closed(w, rc.entry_stream_time)) {
        if (ctx_.counters().late_dropped) ctx_.counters().late_dropped->inc();
        return;
      }
      if (windows_.is_closed(w, ctx_.event_time())) {
        if (ctx_.counters().late_dropped_downstream) ctx_.counters().late_dropped_downstream->inc();
        return;
      }
      auto it = cache_.find(CacheKeyView{Traits::view(k), w.start});
      if (it == cache_.end()) {
        earliest_end_ = std::min(earliest_end_, w.end);
        it = cache_.emplace(CacheKey{Traits::own(Traits::view(k)), w.start}, Entry{init_(), w.end, false, false}).first;
      }
      agg_(k, v, it->second.value);
      it->second.dirty = true;
    });
  }

  void on_event_time(TimestampMs t) override {
    if (t == kNoTimestamp) return;
    const TimestampMs bound = t - windows_.grace_ms();
    if (earliest_end_ > bound) return;
    closing_.clear();
    TimestampMs next_earliest = INT64_MAX;
    for (auto it = cache_.begin(); it != cache_.end(); ++it) {
      if (it->second.end <= bound)
        closing_.push_back(it);
      else
        next_earliest = std::min(next_earliest, it->second.end);
    }
    // Window order per key (end, then key for a deterministic output order across keys).
    std::sort(closing_.begin(), closing_.end(), [](const Iter& a, const Iter& b) {
      return a->second.end != b->second.end ? a->second.end < b->second.end : a->first.key < b->first.key;
    });
    for (auto it : closing_) {
      const Window w{it->first.start, it->second.end};
      auto hit = history_.find(it->first.key);
      if (hit == history_.end()) hit = history_.emplace(it->first.key, HistoryEntry{}).first;
      close_(it->first.key, w, it->second.value, hit->second.value, out_value_);
      hit->second.dirty = true;
      RecordContext rc;
      rc.event_time = w.end - 1;
      rc.entry_stream_time = t;
      rc.append_time = wall_clock_ms();
      out_.forward(Windowed<K>{it->first.key, w}, out_value_, rc);
      if (it->second.persisted) {
        serialize_key(it->first.key);
        if (mat_.parts) {
          part_indexes_.clear();
          mat_.parts->stored(it->second.value, part_indexes_);
          const std::size_t base = key_bytes_.size();
          for (auto index : part_indexes_) {
            key_bytes_.resize(base);
            append_part_index(key_bytes_, index);
            store_->remove(state::WindowKey{w.start, w.end, key_bytes_});
          }
        } else {
          store_->remove(state::WindowKey{w.start, w.end, key_bytes_});
        }
      }
      cache_.erase(it);
    }
    closing_.clear();
    earliest_end_ = next_earliest;
  }

  void flush(std::string_view meta) override {
    for (auto& [ck, e] : cache_) {
      if (!e.dirty) continue;
      serialize_key(ck.key);
      if (mat_.parts) {
        parts_.clear();
        mat_.parts->changed(e.value, parts_);
        const std::size_t base = key_bytes_.size();
        for (const auto& [index, bytes] : parts_) {
          key_bytes_.resize(base);
          append_part_index(key_bytes_, index);
          store_->put(state::WindowKey{ck.start, e.end, key_bytes_}, bytes);
        }
      } else {
        value_bytes_.clear();
        mat_.value_serde.serialize(e.value, value_bytes_);
        store_->put(state::WindowKey{ck.start, e.end, key_bytes_}, value_bytes_);
      }
      e.dirty = false;
      e.persisted = true;
    }
    for (auto& [key, h] : history_) {
      if (!h.dirty) continue;
      serialize_key(key);
      value_bytes_.clear();
      mat_.history_serde.serialize(h.value, value_bytes_);
      store_->put(state::WindowKey{kHistoryWindowEnd, kHistoryWindowEnd, key_bytes_}, value_bytes_);
      h.dirty = false;
    }
    store_->flush(meta);  // one marker commits windows and histories together
  }

  void commit_local() override { store_->commit(); }
  const std::string& store_name() const override { return mat_.store_name; }
  std::size_t cached_entries() const override { return cache_.size(); }

 private:
  void serialize_key(const K& k) {
    key_bytes_.clear();
    mat_.key_serde.serialize(k, key_bytes_);
  }

  static void append_part_index(std::string& out, std::uint32_t index) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((index >> shift) & 0xff);
  }

  void load() {
    store_->scan_until(INT64_MAX, [&](const state::WindowKey& wk, std::string_view bytes) {
      K key{};
      if (mat_.parts && wk.end != kHistoryWindowEnd) {
        if (wk.key.size() < 4) return;
        const auto* p = reinterpret_cast<const unsigned char*>(wk.key.data() + wk.key.size() - 4);
        const std::uint32_t index = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                                    (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
        if (!mat_.key_serde.deserialize(wk.key.substr(0, wk.key.size() - 4), key, error_)) return;
        auto it = cache_.find(CacheKeyView{Traits::view(key), wk.start});
        if (it == cache_.end())
          it = cache_.emplace(CacheKey{std::move(key), wk.start}, Entry{init_(), wk.end, false, true}).first;
        mat_.parts->load(index, bytes, it->second.value);
        earliest_end_ = std::min(earliest_end_, wk.end);
        return;
      }
      if (!mat_.key_serde.deserialize(wk.key, key, error_)) return;
      if (wk.end == kHistoryWindowEnd) {
        HistoryEntry h;
        if (mat_.history_serde.deserialize(bytes, h.value, error_)) history_.emplace(std::move(key), std::move(h));
        return;
      }
      VA value{};
      if (!mat_.value_serde.deserialize(bytes, value, error_)) return;
      cache_.emplace(CacheKey{std::move(key), wk.start}, Entry{std::move(value), wk.end, false, true});
      earliest_end_ = std::min(earliest_end_, wk.end);
    });
  }

  TaskContext& ctx_;
  TimeWindows windows_;
  std::function<VA()> init_;
  std::function<void(const K&, const V&, VA&)> agg_;
  Close close_;
  MaterializedWithHistory<K, VA, H> mat_;
  std::unique_ptr<WindowStore> store_;
  Forwarder<Windowed<K>, VO> out_;
  std::unordered_map<CacheKey, Entry, Hash, Eq> cache_;
  std::unordered_map<K, HistoryEntry> history_;
  TimestampMs earliest_end_ = INT64_MAX;
  std::vector<Iter> closing_;
  VO out_value_{};
  std::vector<std::pair<std::uint32_t, std::string>> parts_;
  std::vector<std::uint32_t> part_indexes_;
  std::string key_bytes_, value_bytes_, error_;
};

}  // namespace detail
}  // namespace sw
