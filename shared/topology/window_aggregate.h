#pragma once
// The windowed aggregates, over the window cache (window_cache.h):
//
//  * WindowedAggregate: count/aggregate; emit-final or emit-on-update, optional retention.
//  * WindowedHistoryAggregate: emit-final, and the closing windows are folded per key, in window
//    order, into a history kept in the same store (aggregate_with_history, topology/dsl_ext.h).
//
// Either is fed by one of two inputs, which is how a single wiring serves both phases
// (fluent.h, TimeWindowedKStream::wire): records (single phase: RecordAggregateInput folds each
// record into every window that contains it) or partial aggregates (two-phase, downstream half:
// PartialAggregateInput merges each into its window). The upstream half of two-phase
// aggregation (PreAggregateProcessor) and the source of partials are here too.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/partitioner.h"
#include "metrics/metrics.h"
#include "topology/envelope.h"
#include "topology/options.h"
#include "topology/processor.h"
#include "topology/serde.h"
#include "topology/window_cache.h"
#include "topology/window_store.h"
#include "window/windows.h"

namespace sw {

// The reserved window of the per-key histories (WindowedHistoryAggregate): no event-time bound
// ever reaches it, so closing never sees them.
inline constexpr TimestampMs kHistoryWindowEnd = INT64_MAX - 1;

namespace detail {

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

// Records into a windowed aggregate (single phase): each record is folded into every window that
// contains it, unless it was late where it entered.
template <class K, class V, class VA, class Core>
class RecordAggregateInput final : public Processor<K, V> {
 public:
  RecordAggregateInput(TaskContext& ctx, TimeWindows windows, std::function<void(const K&, const V&, VA&)> agg,
                       std::unique_ptr<Core> core)
      : ctx_(ctx), windows_(windows), agg_(std::move(agg)), core_(std::move(core)) {}
  void process(const K& k, const V& v, const RecordContext& rc) override {
    windows_.for_each_window(rc.event_time, [&](const Window& w) {
      // Lateness was decided where the record entered, against its partition's stream time.
      if (windows_.is_closed(w, rc.entry_stream_time)) {
        if (ctx_.counters().late_dropped) ctx_.counters().late_dropped->inc();
        return;
      }
      core_->update(k, w, rc, [&](VA& into) { agg_(k, v, into); });
    });
  }

 private:
  TaskContext& ctx_;
  TimeWindows windows_;
  std::function<void(const K&, const V&, VA&)> agg_;
  std::unique_ptr<Core> core_;
};

// Partial aggregates into a windowed aggregate (two-phase, downstream half): each is merged into
// its window. Lateness of their records was decided upstream, per record, where they entered.
template <class K, class VA, class Core>
class PartialAggregateInput final : public Processor<Windowed<K>, VA> {
 public:
  PartialAggregateInput(std::function<void(const K&, const VA&, VA&)> merge, std::unique_ptr<Core> core)
      : merge_(std::move(merge)), core_(std::move(core)) {}
  void process(const Windowed<K>& k, const VA& partial, const RecordContext& rc) override {
    core_->update(k.key, k.window, rc, [&](VA& into) { merge_(k.key, partial, into); });
  }

 private:
  std::function<void(const K&, const VA&, VA&)> merge_;
  std::unique_ptr<Core> core_;
};

// Windowed aggregation: the window cache over the store stack. Records update the cache;
// flush() writes dirty windows to the changelog and stages them for RocksDB; event time closes
// windows and (emit-final) forwards their results.
template <class K, class VA>
class WindowedAggregate final : public WindowedStateful {
  using Cache = WindowCache<K, VA>;
  using Item = typename Cache::Item;

 public:
  WindowedAggregate(TaskContext& ctx, TimeWindows windows, EmitStrategy emit, std::function<VA()> init,
                    const Materialized<K, VA>& mat, const std::string& changelog_topic, Forwarder<Windowed<K>, VA> out)
      : ctx_(ctx),
        windows_(windows),
        emit_(emit),
        store_name_(mat.store_name),
        store_(make_window_store(ctx, mat.store_name, changelog_topic)),
        // Retention beyond end + grace: how much longer closed windows stay.
        extra_retention_(std::max<TimestampMs>(0, mat.retention.count() - windows.grace_ms())),
        cache_(*store_, {mat.key_serde, mat.value_serde, std::nullopt}, std::move(init),
               {mat.max_cached_windows, extra_retention_, true, &ctx.store(mat.store_name).cache_budget()}),
        out_(std::move(out)) {
    ctx.register_stateful(this);
    load();
  }

  // Folds into window w of key k (a record, or a partial aggregate).
  template <class Fold>
  void update(const K& k, const Window& w, const RecordContext& rc, Fold&& fold) {
    if (windows_.is_closed(w, ctx_.event_time())) {
      if (ctx_.counters().late_dropped_downstream) ctx_.counters().late_dropped_downstream->inc();
      return;
    }
    Item& item = cache_.find_or_create(k, w);
    fold(item.second.value);
    item.second.dirty = true;
    if (emit_ == EmitStrategy::on_window_update) out_.forward(Windowed<K>{item.first.key, w}, item.second.value, rc);
  }

  void on_event_time(TimestampMs t) override {
    if (t == kNoTimestamp) return;
    const TimestampMs bound = t - windows_.grace_ms();  // windows with end <= bound close
    if (cache_.earliest_due() > bound) return;
    cache_.take_due(bound, closing_, expiring_);
    for (Item* item : closing_) {
      const Window w{item->first.start, item->second.end};
      if (emit_ == EmitStrategy::on_window_close) {
        RecordContext rc;
        rc.event_time = w.end - 1;
        rc.entry_stream_time = t;
        rc.append_time = wall_clock_ms();
        out_.forward(Windowed<K>{item->first.key, w}, item->second.value, rc);
      }
      if (extra_retention_ > 0)
        cache_.retain(*item);
      else
        cache_.erase(*item);
    }
    for (Item* item : expiring_) cache_.erase(*item);
    closing_.clear();
    expiring_.clear();
  }

  void flush(std::string_view meta) override {
    cache_.flush();
    store_->flush(meta);
  }

  void commit_local() override {
    store_->commit();
    cache_.after_commit();
  }

  const std::string& store_name() const override { return store_name_; }
  std::size_t cached_entries() const override { return cache_.size(); }
  const Cache& cache() const { return cache_; }

 private:
  // Loads the task's restored windows into the cache, so the cache starts complete (unless
  // they are more than it may hold).
  void load() {
    const TimestampMs t = ctx_.event_time();
    // Under a long retention the store also holds windows that were closed and emitted (the
    // marker's event time was applied before it was written, see Task::flush).
    cache_.begin_load(t != kNoTimestamp ? t - windows_.grace_ms() : INT64_MIN);
    store_->scan_until(INT64_MAX, [&](const state::WindowKey& wk, std::string_view bytes) { cache_.load(wk, bytes); });
    cache_.finish_load();
  }

  TaskContext& ctx_;
  TimeWindows windows_;
  EmitStrategy emit_;
  std::string store_name_;
  std::unique_ptr<WindowStore> store_;
  TimestampMs extra_retention_;
  Cache cache_;
  Forwarder<Windowed<K>, VA> out_;
  std::vector<Item*> closing_, expiring_;
};

// What a history aggregate does with a closing window: close(key, window, aggregate, history&,
// out&) updates the key's history and produces the output value.
template <class K, class VA, class H, class VO>
using HistoryClose = std::function<void(const K&, const Window&, const VA&, H& history, VO& out)>;

// Emit-final windowed aggregation plus an ordered per-key fold over the closed windows.
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
//
// Windows and histories are two window caches over that one store, each bounded on its own.
template <class K, class VA, class H, class VO>
class WindowedHistoryAggregate final : public WindowedStateful {
  using Windows = WindowCache<K, VA>;
  using Histories = WindowCache<K, H>;
  using Item = typename Windows::Item;

 public:
  WindowedHistoryAggregate(TaskContext& ctx, TimeWindows windows, std::function<VA()> init,
                           HistoryClose<K, VA, H, VO> close, const MaterializedWithHistory<K, VA, H>& mat,
                           const std::string& changelog_topic, Forwarder<Windowed<K>, VO> out)
      : ctx_(ctx),
        windows_(windows),
        close_(std::move(close)),
        store_name_(mat.store_name),
        store_(make_window_store(ctx, mat.store_name, changelog_topic)),
        cache_(*store_, {mat.key_serde, mat.value_serde, mat.parts}, std::move(init),
               {mat.max_cached_windows, 0, true, &ctx.store(mat.store_name).cache_budget()}),
        histories_(*store_, {mat.key_serde, mat.history_serde, std::nullopt}, [] { return H{}; },
                   {mat.max_cached_histories, 0, false, &ctx.store(mat.store_name).cache_budget()}),
        following_windows_(mat.following_windows),
        out_(std::move(out)) {
    ctx.register_stateful(this);
    load();
  }

  template <class Fold>
  void update(const K& k, const Window& w, const RecordContext&, Fold&& fold) {
    if (windows_.is_closed(w, ctx_.event_time())) {
      if (ctx_.counters().late_dropped_downstream) ctx_.counters().late_dropped_downstream->inc();
      return;
    }
    Item& item = cache_.find_or_create(k, w);  // a reference into a node map: stays valid
    if (following_windows_ > 0 && !item.second.followed) {
      // Once per window while it is cached (a window read back, or restored, checks again).
      // Dirty, so they are stored in the same flush as the record that needs them: a restore
      // never sees a window without its followers.
      item.second.followed = true;
      const TimestampMs step = windows_.advance_ms();
      for (std::size_t i = 1; i <= following_windows_; ++i) {
        const TimestampMs shift = static_cast<TimestampMs>(i) * step;
        cache_.find_or_create(k, Window{w.start + shift, w.end + shift}).second.dirty = true;
      }
    }
    fold(item.second.value);
    item.second.dirty = true;
  }

  void on_event_time(TimestampMs t) override {
    if (t == kNoTimestamp) return;
    const TimestampMs bound = t - windows_.grace_ms();
    if (cache_.earliest_due() > bound) return;
    cache_.take_due(bound, closing_, expiring_);  // nothing expires: no retention beyond the grace
    // Window order per key (end, then key for a deterministic output order across keys).
    for (Item* item : closing_) {
      const Window w{item->first.start, item->second.end};
      auto& history = histories_.find_or_create(item->first.key, Window{kHistoryWindowEnd, kHistoryWindowEnd});
      close_(item->first.key, w, item->second.value, history.second.value, out_value_);
      history.second.dirty = true;
      RecordContext rc;
      rc.event_time = w.end - 1;
      rc.entry_stream_time = t;
      rc.append_time = wall_clock_ms();
      out_.forward(Windowed<K>{item->first.key, w}, out_value_, rc);
      cache_.erase(*item);
    }
    closing_.clear();
  }

  void flush(std::string_view meta) override {
    cache_.flush();
    histories_.flush();
    store_->flush(meta);  // one marker commits windows and histories together
  }

  void commit_local() override {
    store_->commit();
    cache_.after_commit();
    histories_.after_commit();
  }

  const std::string& store_name() const override { return store_name_; }
  std::size_t cached_entries() const override { return cache_.size(); }
  const Windows& cache() const { return cache_; }
  const Histories& histories() const { return histories_; }

 private:
  void load() {
    const TimestampMs t = ctx_.event_time();
    cache_.begin_load(t != kNoTimestamp ? t - windows_.grace_ms() : INT64_MIN);
    histories_.begin_load(INT64_MIN);
    store_->scan_until(INT64_MAX, [&](const state::WindowKey& wk, std::string_view bytes) {
      if (wk.end == kHistoryWindowEnd)
        histories_.load(wk, bytes);
      else
        cache_.load(wk, bytes);
    });
    cache_.finish_load();
    histories_.finish_load();
  }

  TaskContext& ctx_;
  TimeWindows windows_;
  HistoryClose<K, VA, H, VO> close_;
  std::string store_name_;
  std::unique_ptr<WindowStore> store_;
  Windows cache_;
  Histories histories_;
  std::size_t following_windows_;
  Forwarder<Windowed<K>, VO> out_;
  std::vector<Item*> closing_, expiring_;
  VO out_value_{};
};

}  // namespace detail
}  // namespace sw
