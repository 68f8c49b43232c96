#pragma once
// DSL extensions, kept out of dsl.h so they evolve independently:
//
//  * stream_topics(): one entry stage reading several external topics (each with its own
//    deserializer and dead-letter topic) into one typed stream - a merge at the source.
//  * aggregate_with_history(): an emit-final windowed aggregation whose closing windows are
//    folded, per key and in window order, into a per-key history that lives in the SAME store
//    (and changelog) as the windows.
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
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "topology/dsl.h"

namespace sw {

inline constexpr TimestampMs kHistoryWindowEnd = INT64_MAX - 1;

// Optional persistence of a window value in parts, so that a flush writes what changed rather than
// the whole value (for values that grow, such as sets of distinct members: rewriting them whole
// at every commit makes the changelog traffic grow with the state instead of with the input).
// A part's store key is the window key's bytes followed by its 4-byte big-endian index, so the
// parts of one value load in index order.
template <class VA>
struct ValueParts {
  // Appends (index, bytes) for every part changed since the last call and notes them as written.
  std::function<void(VA&, std::vector<std::pair<std::uint32_t, std::string>>&)> changed;
  // Applies one stored part while loading (in index order); false if the bytes are invalid.
  std::function<bool(std::uint32_t, std::string_view, VA&)> load;
  // Every index the value may have stored (all are removed when its window closes).
  std::function<void(const VA&, std::vector<std::uint32_t>&)> stored;
};

template <class K, class VA, class H>
struct MaterializedWithHistory {
  std::string store_name;  // changelog topic is <app>-<store>-changelog
  Serde<K> key_serde;
  Serde<VA> value_serde;  // the whole value, unless `parts` is set
  Serde<H> history_serde;
  std::optional<ValueParts<VA>> parts{};
};

namespace detail {

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

// Emit-final windowed aggregation plus an ordered per-key fold over the closed windows. The
// whole open state is held in memory (windows are short and per key there are size/advance of
// them), and the history of every key is kept; both are persisted in batches at flush.
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

// Reads several external topics in one new entry stage; every topic's records become one stream.
template <class K, class V>
KStream<K, V> stream_topics(StreamsBuilder& b, const std::vector<std::pair<std::string, Consumed<K, V>>>& inputs,
                            const std::string& stage) {
  if (inputs.empty()) throw std::invalid_argument("stage " + stage + ": no input topics");
  const std::size_t sub = b.add_subtopology(stage, false);
  auto node = std::make_shared<detail::Node<K, V>>();
  auto instances = std::make_shared<detail::PerTaskInstances<K, V>>(node);
  for (const auto& [topic, consumed] : inputs) {
    if (consumed.dead_letter_topic.empty()) throw std::invalid_argument("stream " + topic + ": no dead-letter topic");
    const auto index = b.add_entry_topic(topic);
    b.sub(sub).source_topics.push_back(topic);
    b.sub(sub).sources[topic] = [index, consumed, instances](TaskContext& ctx) -> std::unique_ptr<SourceNode> {
      Forwarder<K, V> f;
      f.add(std::make_unique<detail::SharedForwardProcessor<K, V>>(instances->get(ctx)));
      return std::make_unique<detail::ExternalSource<K, V>>(ctx, index, consumed, std::move(f));
    };
    b.add_topic(topic, TopicRole::input, sub);
    b.add_topic(consumed.dead_letter_topic, TopicRole::dead_letter, sub);
    b.describe(sub, "source " + topic + " (dead letters to " + consumed.dead_letter_topic + ")");
  }
  if (inputs.size() > 1) b.describe(sub, "merge of " + std::to_string(inputs.size()) + " sources");
  return KStream<K, V>(&b, sub, node);
}

// Emit-final windowed aggregate whose closed windows are folded per key, in window order, into a
// persistent history: close(key, window, aggregate, history&, out&) produces the output value.
template <class VO, class K, class V, class VA, class H>
KTable<K, VO> aggregate_with_history(
    TimeWindowedKStream<K, V> windowed, std::function<VA()> init, std::function<void(const K&, const V&, VA&)> agg,
    typename detail::WindowedHistoryAggregateProcessor<K, V, VA, H, VO>::Close close,
    MaterializedWithHistory<K, VA, H> mat) {
  StreamsBuilder* b = windowed.builder();
  const std::size_t sub = windowed.downstream_subtopology();
  const std::string changelog = b->changelog_topic(mat.store_name);
  auto out = std::make_shared<detail::Node<Windowed<K>, VO>>();
  const TimeWindows windows = windowed.windows();
  windowed.single_phase_input()->children.push_back([=](TaskContext& ctx) -> std::unique_ptr<Processor<K, V>> {
    return std::make_unique<detail::WindowedHistoryAggregateProcessor<K, V, VA, H, VO>>(
        ctx, windows, init, agg, close, mat, changelog, out->instantiate(ctx));
  });
  b->sub(sub).stores.push_back(mat.store_name);
  b->add_topic(changelog, TopicRole::changelog, sub);
  b->describe(sub, "window-aggregate-with-history " + mat.store_name + " " + windows.describe() +
                       " emit-final (changelog " + changelog + ")");
  return KTable<K, VO>(b, sub, out);
}

}  // namespace sw
