#pragma once
// The window cache of the windowed aggregates: typed values per (key, window) over the task's
// window store (window_store.h). Every windowed aggregate keeps its state here:
//
//  * lookup: one hash lookup per record and window, by a view of the key (no copy);
//  * close order: an index of the cached windows by due time (a window's end; once closed and
//    emitted under a longer retention, the end of that retention), so closing visits only the
//    windows it closes: O(closed windows * log n), never the whole cache;
//  * flush: dirty windows go to the store, as whole values or in parts (ValueParts);
//  * load: the task's windows are read from the store when the task starts;
//  * evict: beyond `max_cached` entries, the clean ones leave memory after a commit (RocksDB has
//    them then). From then on the cache is incomplete: a window missing from it is read back
//    from the store, and closing also scans the store for the due windows it does not hold. The
//    index remembers the due times of evicted windows, so that scan happens only when one of
//    them is due.
//
// Nothing here allocates per record: a new window costs its hash-map node and a slot in its due
// time's bucket (bucket vectors are recycled).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "state/rocksdb_store.h"
#include "topology/options.h"
#include "topology/serde.h"
#include "topology/window_store.h"
#include "window/windows.h"

namespace sw::detail {

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

// Process-wide totals of what window caches did beyond their memory (tests read them: a run
// with a tiny bound must really evict and read back). Updated per window, never per record.
struct WindowCacheTotals {
  std::atomic<std::uint64_t> evicted{0};    // entries dropped from memory after a commit
  std::atomic<std::uint64_t> read_back{0};  // lookups that went to the store (cache incomplete)
};
inline WindowCacheTotals& window_cache_totals() {
  static WindowCacheTotals totals;
  return totals;
}

template <class K, class VA>
class WindowCache {
  using Keyed = WindowKeyed<K>;
  using Traits = typename Keyed::Traits;
  using CacheKey = typename Keyed::CacheKey;
  using CacheKeyView = typename Keyed::CacheKeyView;

 public:
  struct Entry {
    VA value;
    TimestampMs end = 0;
    bool dirty = false;      // changed since the last flush
    bool persisted = false;  // in the store (or in a staged write), so removing it needs a tombstone
    bool emitted = false;    // closed and emitted, kept only for a retention longer than the grace
    bool scanned = false;    // read from the store by the closing scan in progress
    bool followed = false;   // its following windows were opened (see MaterializedWithHistory)
  };
  using Map = typename Keyed::template Map<Entry>;
  using Item = typename Map::value_type;

  struct Options {
    std::size_t max_cached = 1'000'000;
    // Emitted windows stay (cached or in the store) until end + extra_retention.
    TimestampMs extra_retention = 0;
    // False: the entries never close (per-key state kept in a reserved window); no index.
    bool closes = true;
    // The process-wide bound this cache also counts against (none: only max_cached).
    state::CacheBudget* budget = nullptr;
  };

  // How a value is kept in the store: `parts` if set, else whole with `value_serde`.
  struct Codec {
    Serde<K> key_serde;
    Serde<VA> value_serde;
    std::optional<ValueParts<VA>> parts;
  };

  WindowCache(WindowStore& store, Codec codec, std::function<VA()> init, Options options)
      : store_(store), codec_(std::move(codec)), init_(std::move(init)), options_(options) {}
  ~WindowCache() {
    if (options_.budget) options_.budget->update(reported_, 0);
  }
  WindowCache(const WindowCache&) = delete;
  WindowCache& operator=(const WindowCache&) = delete;

  // --- lookup

  // The entry of (key, window): cached, else read back from the store if the cache is
  // incomplete, else new (init()).
  Item& find_or_create(const K& key, const Window& w) {
    auto it = map_.find(CacheKeyView{Traits::view(key), w.start});
    if (it != map_.end()) return *it;
    VA value = init_();
    bool persisted = false;
    if (!complete_) {
      window_cache_totals().read_back.fetch_add(1, std::memory_order_relaxed);
      persisted = read(key, w, value);
      if (!persisted) value = init_();
    }
    Item& item = *map_.emplace(CacheKey{Traits::own(Traits::view(key)), w.start},
                               Entry{std::move(value), w.end, false, persisted, false, false})
                      .first;
    index(item, w.end);
    return item;
  }

  std::size_t size() const noexcept { return map_.size(); }
  bool complete() const noexcept { return complete_; }

  // --- close order

  // The earliest time at which a window needs attention (INT64_MAX: none).
  TimestampMs earliest_due() const noexcept { return due_.empty() ? INT64_MAX : due_.begin()->first; }

  // The windows due at `bound` (event time minus grace): in `closing`, those ending at or before
  // it that were not emitted yet, in (end, key) order (a key's windows in window order, and a
  // deterministic order across keys); in `expiring`, emitted ones whose retention has ended.
  // The caller emits the closing ones, then retain()s or erase()s every one of them.
  void take_due(TimestampMs bound, std::vector<Item*>& closing, std::vector<Item*>& expiring) {
    closing.clear();
    expiring.clear();
    bool scan_store = false;
    auto it = due_.begin();
    for (; it != due_.end() && it->first <= bound; ++it) {
      auto& bucket = it->second;
      visited_ += bucket.items.size();
      for (Item* item : bucket.items) (item->second.emitted ? expiring : closing).push_back(item);
      scan_store = scan_store || bucket.in_store;
      bucket.items.clear();
      spare_.push_back(std::move(bucket.items));
    }
    due_.erase(due_.begin(), it);
    last_bucket_ = nullptr;
    if (scan_store) take_from_store(bound, closing, expiring);
    closed_bound_ = std::max(closed_bound_, bound);
    std::sort(closing.begin(), closing.end(), [](const Item* a, const Item* b) {
      return a->second.end != b->second.end ? a->second.end < b->second.end : a->first.key < b->first.key;
    });
  }

  // A closed window kept for the rest of its retention.
  void retain(Item& item) {
    item.second.emitted = true;
    index(item, item.second.end + options_.extra_retention);
  }

  // Removes a window taken by take_due (or never indexed), with a tombstone if it was stored.
  void erase(Item& item) {
    if (item.second.persisted) remove_stored(item.first.key, Window{item.first.start, item.second.end}, item.second.value);
    map_.erase(map_.find(CacheKeyView{Traits::view(item.first.key), item.first.start}));
  }

  // Entries (and stored records) closing has visited so far: what a closing costs.
  std::uint64_t closing_visits() const noexcept { return visited_; }

  // --- flush and evict

  // Writes every dirty entry to the store (the caller ends the flush with the store's marker).
  void flush() {
    for (auto& item : map_) {
      if (!item.second.dirty) continue;
      write(item);
      item.second.dirty = false;
      item.second.persisted = true;
    }
    report();
    if (over_bound()) evict_after_commit_ = true;
  }

  // The flush is durable in RocksDB: beyond the bound, drops the clean entries (reads go to
  // RocksDB from here on). Entries updated since the flush (the runtime goes on processing
  // while a commit waits for its acknowledgements) are newer than RocksDB and stay.
  void after_commit() {
    if (!evict_after_commit_) return;
    evict_after_commit_ = false;
    complete_ = false;
    for (auto& [due, bucket] : due_) {
      auto& items = bucket.items;
      const auto before = items.size();
      items.erase(std::remove_if(items.begin(), items.end(), [](const Item* i) { return !i->second.dirty; }), items.end());
      if (items.size() != before) bucket.in_store = true;
    }
    const std::size_t before = map_.size();
    for (auto it = map_.begin(); it != map_.end();) it = it->second.dirty ? std::next(it) : map_.erase(it);
    window_cache_totals().evicted.fetch_add(before - map_.size(), std::memory_order_relaxed);
    report();
  }

  // --- load

  // Loading when the task starts: begin_load, every stored record of this cache, finish_load.
  // Windows ending at or before `closed_bound` were closed and emitted (under a longer
  // retention, the store still holds them).
  void begin_load(TimestampMs closed_bound) { closed_bound_ = closed_bound; }
  void load(const state::WindowKey& wk, std::string_view bytes) {
    std::string_view key_bytes = wk.key;
    std::uint32_t part = 0;
    if (codec_.parts && !split_part(key_bytes, part)) return;
    K key{};
    if (!codec_.key_serde.deserialize(key_bytes, key, error_)) return;
    const bool emitted = options_.extra_retention > 0 && wk.end <= closed_bound_;
    if (!codec_.parts) {
      VA value{};
      if (!codec_.value_serde.deserialize(bytes, value, error_)) return;
      Item& item = *map_.emplace(CacheKey{std::move(key), wk.start}, Entry{std::move(value), wk.end, false, true, emitted, false})
                        .first;
      index(item, due(item.second));
      return;
    }
    auto it = map_.find(CacheKeyView{Traits::view(key), wk.start});
    if (it == map_.end()) {
      it = map_.emplace(CacheKey{std::move(key), wk.start}, Entry{init_(), wk.end, false, true, emitted, false}).first;
      index(*it, due(it->second));
    }
    codec_.parts->load(part, bytes, it->second.value);
  }
  // Beyond the bound the cache starts empty (incomplete): windows are read back as needed.
  void finish_load() {
    report();
    if (!over_bound()) return;
    complete_ = false;
    for (auto& [due, bucket] : due_) {
      bucket.in_store = bucket.in_store || !bucket.items.empty();
      bucket.items.clear();
    }
    map_.clear();
    report();
  }

 private:
  struct Bucket {
    std::vector<Item*> items;  // cached windows due at this time
    bool in_store = false;     // windows due at this time may be in the store and not cached
  };

  TimestampMs due(const Entry& e) const { return e.emitted ? e.end + options_.extra_retention : e.end; }

  // Over this cache's own bound, or the process over its budget (and this cache holding some).
  bool over_bound() const noexcept {
    return map_.size() > options_.max_cached || (options_.budget && !map_.empty() && options_.budget->over());
  }
  void report() noexcept {
    if (!options_.budget) return;
    options_.budget->update(reported_, map_.size());
    reported_ = map_.size();
  }

  void index(Item& item, TimestampMs due) {
    if (!options_.closes) return;
    if (last_bucket_ == nullptr || last_due_ != due) {
      auto [it, inserted] = due_.try_emplace(due);
      if (inserted && !spare_.empty()) {
        it->second.items = std::move(spare_.back());
        spare_.pop_back();
      }
      last_due_ = due;
      last_bucket_ = &it->second;
    }
    last_bucket_->items.push_back(&item);
  }

  // The due windows the cache does not hold, from the store (all of them end at or before the
  // bound, so the scan reads nothing else). A window read here is cached for the caller.
  void take_from_store(TimestampMs bound, std::vector<Item*>& closing, std::vector<Item*>& expiring) {
    scanned_.clear();
    store_.scan_until(bound, [&](const state::WindowKey& wk, std::string_view bytes) {
      ++visited_;
      std::string_view key_bytes = wk.key;
      std::uint32_t part = 0;
      if (codec_.parts && !split_part(key_bytes, part)) return;
      K key{};
      if (!codec_.key_serde.deserialize(key_bytes, key, error_)) return;
      auto it = map_.find(CacheKeyView{Traits::view(key), wk.start});
      if (it != map_.end() && !it->second.scanned) return;  // cached: due (or not) by the index
      if (it == map_.end()) {
        const TimestampMs retention = options_.extra_retention;
        if (retention == 0 && wk.end <= closed_bound_) {
          // Closed and emitted already; its delete is staged but not yet committed to RocksDB.
          // (Staged again: deleting twice is harmless, emitting twice is not.)
          store_.remove(wk);
          return;
        }
        const bool emitted = retention > 0 && wk.end <= closed_bound_;
        if (emitted && wk.end + retention > bound) return;  // retained, not yet expired
        VA value{};
        if (codec_.parts) {
          value = init_();
        } else if (!codec_.value_serde.deserialize(bytes, value, error_)) {
          return;
        }
        it = map_.emplace(CacheKey{std::move(key), wk.start}, Entry{std::move(value), wk.end, false, true, emitted, true}).first;
        scanned_.push_back(&*it);
      }
      if (codec_.parts) codec_.parts->load(part, bytes, it->second.value);
    });
    for (Item* item : scanned_) {
      item->second.scanned = false;
      (item->second.emitted ? expiring : closing).push_back(item);
    }
    scanned_.clear();
  }

  void serialize_key(const K& key) {
    key_bytes_.clear();
    codec_.key_serde.serialize(key, key_bytes_);
  }

  static void append_part(std::string& out, std::uint32_t part) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((part >> shift) & 0xff);
  }
  static bool split_part(std::string_view& key_bytes, std::uint32_t& part) {
    if (key_bytes.size() < 4) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(key_bytes.data() + key_bytes.size() - 4);
    part = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
    key_bytes.remove_suffix(4);
    return true;
  }

  void write(Item& item) {
    serialize_key(item.first.key);
    const TimestampMs start = item.first.start, end = item.second.end;
    if (!codec_.parts) {
      value_bytes_.clear();
      codec_.value_serde.serialize(item.second.value, value_bytes_);
      store_.put(state::WindowKey{start, end, key_bytes_}, value_bytes_);
      return;
    }
    parts_.clear();
    codec_.parts->changed(item.second.value, parts_);
    const std::size_t base = key_bytes_.size();
    for (const auto& [part, bytes] : parts_) {
      key_bytes_.resize(base);
      append_part(key_bytes_, part);
      store_.put(state::WindowKey{start, end, key_bytes_}, bytes);
    }
  }

  void remove_stored(const K& key, const Window& w, const VA& value) {
    serialize_key(key);
    if (!codec_.parts) {
      store_.remove(state::WindowKey{w.start, w.end, key_bytes_});
      return;
    }
    part_indexes_.clear();
    codec_.parts->stored(value, part_indexes_);
    const std::size_t base = key_bytes_.size();
    for (auto part : part_indexes_) {
      key_bytes_.resize(base);
      append_part(key_bytes_, part);
      store_.remove(state::WindowKey{w.start, w.end, key_bytes_});
    }
  }

  // Reads a window the cache evicted (or never held); false if the store does not have it.
  bool read(const K& key, const Window& w, VA& value) {
    serialize_key(key);
    if (!codec_.parts)
      return store_.get(state::WindowKey{w.start, w.end, key_bytes_}, value_bytes_) &&
             codec_.value_serde.deserialize(value_bytes_, value, error_);
    // Parts 1, 2, ... until one is missing, then the final part (see ValueParts).
    bool found = false;
    const std::size_t base = key_bytes_.size();
    for (std::uint32_t part = 1; part < kFinalValuePart; ++part) {
      key_bytes_.resize(base);
      append_part(key_bytes_, part);
      if (!store_.get(state::WindowKey{w.start, w.end, key_bytes_}, value_bytes_)) break;
      codec_.parts->load(part, value_bytes_, value);
      found = true;
    }
    key_bytes_.resize(base);
    append_part(key_bytes_, kFinalValuePart);
    if (store_.get(state::WindowKey{w.start, w.end, key_bytes_}, value_bytes_)) {
      codec_.parts->load(kFinalValuePart, value_bytes_, value);
      found = true;
    }
    return found;
  }

  WindowStore& store_;
  Codec codec_;
  std::function<VA()> init_;
  Options options_;
  Map map_;
  std::map<TimestampMs, Bucket> due_;  // the close-order index
  Bucket* last_bucket_ = nullptr;      // the bucket of the last window indexed (most new windows share it)
  TimestampMs last_due_ = 0;
  std::vector<std::vector<Item*>> spare_;  // emptied bucket vectors, reused
  std::vector<Item*> scanned_;
  bool complete_ = true;  // the cache holds every window of the task
  bool evict_after_commit_ = false;
  std::size_t reported_ = 0;  // entries last reported to the budget
  TimestampMs closed_bound_ = INT64_MIN;  // windows ending at or before this were emitted
  std::uint64_t visited_ = 0;
  std::vector<std::pair<std::uint32_t, std::string>> parts_;
  std::vector<std::uint32_t> part_indexes_;
  std::string key_bytes_, value_bytes_, error_;
};

}  // namespace sw::detail
