#pragma once
// The processor graph that a topology lowers to. Each task (one partition of a sub-topology)
// owns its own processor instances, created from the factories the DSL records.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/offset.h"
#include "common/time.h"
#include "window/windows.h"

namespace sw {

namespace state {
class RocksDbStore;
}
namespace metrics {
class Counter;
}

// A record read from a topic, as the runtime (Kafka) or the test driver (memory) hands it over.
struct InputRecord {
  std::string_view topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string_view key;
  std::string_view value;
  bool value_is_null = false;
  TimestampMs timestamp = kNoTimestamp;  // Kafka record timestamp
};

// Where a record came from and what time it carries, as it travels through processors and
// repartition topics.
struct RecordContext {
  TimestampMs event_time = kNoTimestamp;         // the record's event timestamp
  TimestampMs entry_stream_time = kNoTimestamp;  // stream time of its input partition on entry
  TimestampMs append_time = kNoTimestamp;        // Kafka timestamp of the input record
  std::uint16_t source_topic = 0;                // index of the entry topic in the topology
  std::int32_t source_partition = 0;
  std::int64_t source_offset = -1;
  std::uint32_t source_seq = 0;  // orders the partial aggregates that share one source_offset
};

// Output of a task: the runtime sends through the Kafka producer, the test driver to memory.
class RecordCollector {
 public:
  using TopicId = std::uint32_t;
  virtual ~RecordCollector() = default;
  virtual TopicId topic(const std::string& name) = 0;
  virtual std::int32_t partitions(TopicId topic) = 0;
  virtual void send(TopicId topic, std::int32_t partition, std::string_view key, std::string_view value,
                    TimestampMs timestamp) = 0;
  virtual void send_with_headers(TopicId topic, std::int32_t partition, std::string_view key,
                                 std::string_view value,
                                 const std::vector<std::pair<std::string, std::string>>& headers,
                                 TimestampMs timestamp) = 0;
  // Offset of the last acknowledged record sent to (topic, partition), or none.
  virtual Offset last_acked_offset(TopicId topic, std::int32_t partition) = 0;
  virtual void track_offsets(TopicId topic) = 0;
};

// Counters a task's processors update; owned by the runtime's metrics.
struct TaskCounters {
  metrics::Counter* late_dropped = nullptr;         // too late for every window at entry
  metrics::Counter* late_dropped_downstream = nullptr;  // on time at entry, window already closed
  metrics::Counter* dead_lettered = nullptr;
  metrics::Counter* deduplicated = nullptr;         // replayed upstream records dropped
  metrics::Counter* outputs = nullptr;
  metrics::Counter* store_writes = nullptr;         // window store puts and removes
};

class WindowedStateful;
class PreAggregating;

// What a processor may use of its task.
class TaskContext {
 public:
  virtual ~TaskContext() = default;
  virtual std::int32_t partition() const = 0;
  virtual RecordCollector& collector() = 0;
  virtual state::RocksDbStore& store(const std::string& name) = 0;
  virtual std::uint32_t generation() const = 0;  // changelog generation of this task incarnation
  // Current downstream event time (minimum over upstream partitions) or kNoTimestamp.
  virtual TimestampMs event_time() const = 0;
  virtual const TaskCounters& counters() const = 0;
  virtual void register_stateful(WindowedStateful* p) = 0;
  virtual void register_pre_aggregator(PreAggregating* p) = 0;
  // Sends the input record being processed to its source's dead-letter topic with `reason`
  // (entry stages only; a processor rejecting a valid-looking record, e.g. an unknown key).
  virtual void dead_letter(const std::string& reason) = 0;
  virtual const std::string& application_id() const = 0;
};

template <class K, class V>
class Processor {
 public:
  virtual ~Processor() = default;
  virtual void process(const K& key, const V& value, const RecordContext& ctx) = 0;
};

// Fan-out to the children of a node.
template <class K, class V>
class Forwarder {
 public:
  void add(std::unique_ptr<Processor<K, V>> child) { children_.push_back(std::move(child)); }
  void forward(const K& key, const V& value, const RecordContext& ctx) const {
    for (const auto& c : children_) c->process(key, value, ctx);
  }
  bool empty() const noexcept { return children_.empty(); }

 private:
  std::vector<std::unique_ptr<Processor<K, V>>> children_;
};

// Stateful window operators: the task calls these outside of record processing.
class WindowedStateful {
 public:
  virtual ~WindowedStateful() = default;
  // Event time advanced: close and emit windows that ended before it (minus grace).
  virtual void on_event_time(TimestampMs event_time) = 0;
  // Write dirty state to the store's changelog (through the collector) and stage the local
  // write; `meta` is the task's position record for the changelog marker.
  virtual void flush(std::string_view meta) = 0;
  // Outputs are acknowledged: apply staged local writes and advance the checkpoint.
  virtual void commit_local() = 0;
  // Loaded from the store when the task starts (restore finished).
  virtual const std::string& store_name() const = 0;
  virtual std::size_t cached_entries() const = 0;
};

// Two-phase aggregation, upstream half: an entry task's operator that folds records into partial
// aggregates per (key, window) and sends them downstream when the task closes an input chunk.
// The task decides where chunks end, so that a replay after a crash cuts the input at the same
// offsets and the downstream replay filter recognises every partial it already merged.
class PreAggregating {
 public:
  virtual ~PreAggregating() = default;
  virtual bool pending() const = 0;
  // Sends every partial, in a deterministic order, with `chunk`'s provenance and consecutive
  // sequence numbers starting at `seq` (advanced past the last one used); then starts empty.
  virtual void flush_partials(const RecordContext& chunk, std::uint32_t& seq) = 0;
};

// Source of one topic in one task: turns a Kafka record into typed records for its children.
class SourceNode {
 public:
  virtual ~SourceNode() = default;
  // External topics: validates and deserializes; `entry_stream_time` is updated in place.
  // Returns false if the record went to the dead-letter topic.
  virtual bool process_external(const InputRecord& msg, TimestampMs& stream_time) = 0;
  // Internal (repartition) topics: key and payload already unwrapped from the envelope.
  virtual void process_internal(std::string_view key, std::string_view payload, const RecordContext& ctx) = 0;
  // Sends an input record of an external topic to the dead-letter topic.
  virtual void reject(const InputRecord&, const std::string& /*reason*/) {}
};

}  // namespace sw
