#pragma once
// What the DSL's operations are told: how a topic is read (Consumed) and written (Produced),
// how a stream is grouped (Grouped), how a windowed aggregate keeps its state (Materialized,
// MaterializedWithHistory, ValueParts), and the windowed key of an aggregate's output.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "topology/processor.h"
#include "topology/serde.h"
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
  // Open windows held in memory per task; beyond it, windows are evicted to RocksDB after a
  // commit and read back when a record needs them (see docs/architecture.md, window cache).
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

// Optional persistence of a window value in parts, so that a flush writes what changed rather than
// the whole value (for values that grow, such as sets of distinct members: rewriting them whole
// at every commit makes the changelog traffic grow with the state instead of with the input).
// A part's store key is the window key's bytes followed by its 4-byte big-endian index, so the
// parts of one value load in index order. Indexes are 1, 2, ... n without gaps, plus at most one
// final part at kFinalValuePart: a value evicted from the cache is read back by looking up
// index 1, 2, ... until one is missing, then the final part.
inline constexpr std::uint32_t kFinalValuePart = 0xFFFFFFFFu;
template <class VA>
struct ValueParts {
  // Appends (index, bytes) for every part changed since the last call and notes them as written.
  std::function<void(VA&, std::vector<std::pair<std::uint32_t, std::string>>&)> changed;
  // Applies one stored part while loading (in index order); false if the bytes are invalid.
  std::function<bool(std::uint32_t, std::string_view, VA&)> load;
  // Every index the value may have stored (all are removed when its window closes).
  std::function<void(const VA&, std::vector<std::uint32_t>&)> stored;
};

// A windowed aggregate with a per-key history of its closed windows (aggregate_with_history in
// topology/dsl_ext.h).
template <class K, class VA, class H>
struct MaterializedWithHistory {
  std::string store_name;  // changelog topic is <app>-<store>-changelog
  Serde<K> key_serde;
  Serde<VA> value_serde;  // the whole value, unless `parts` is set
  Serde<H> history_serde;
  std::optional<ValueParts<VA>> parts{};
  // Open windows, and separately key histories, held in memory per task; beyond either bound
  // the clean ones are evicted to RocksDB after a commit and read back when needed.
  std::size_t max_cached_windows = 1'000'000;
  std::size_t max_cached_histories = 1'000'000;
  // Each new window of a key also opens the key's next `following_windows` windows (empty), so
  // that each of them closes - and reaches the history - even if no record falls in it: how
  // slices of a hopping window (one per advance) are combined in the history, where a window
  // ends at every slice end whose window holds a record.
  std::size_t following_windows = 0;
};

}  // namespace sw
