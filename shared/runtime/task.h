#pragma once
// A task: one partition of one sub-topology, with its own processors, stream times (entry) or
// upstream watermarks and replay filter (downstream), and state. Independent of Kafka, so the
// runtime and the test driver share it.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/offset.h"
#include "topology/envelope.h"
#include "topology/processor.h"
#include "topology/topology.h"
#include "window/watermarks.h"

namespace sw {

// The task's position, written to each changelog as the marker that commits a flush, and kept
// in the local store: where to resume the input, which upstream records were already applied,
// and the upstream watermarks.
struct TaskMeta {
  std::uint32_t generation = 0;
  std::int64_t input_offset = -1;                         // next offset of the input partition; -1: none (stored form)
  std::vector<std::vector<std::int64_t>> last_offsets;    // [entry topic][partition] last applied
  std::vector<std::vector<std::uint32_t>> last_seqs;      // ... and its sequence number (partials)
  std::vector<std::vector<TimestampMs>> watermarks;       // [entry topic][partition]

  std::string encode() const;
  static bool decode(std::string_view in, TaskMeta& out);
};

// Offset-commit metadata of an entry partition: its stream time, so a replay decides lateness
// the same way, and for pre-aggregating tasks the last offset of an input chunk whose partial
// aggregates may already be downstream, so a replay ends that chunk at the same offset.
// "sw1;st=<ms>" or "sw1;st=empty", optionally followed by ";pa=<offset>".
std::string encode_commit_metadata(TimestampMs stream_time, bool empty, std::int64_t chunk_end = -1);
bool decode_commit_metadata(std::string_view in, TimestampMs& stream_time, bool& empty);
bool decode_commit_metadata(std::string_view in, TimestampMs& stream_time, bool& empty, std::int64_t& chunk_end);

// An offset (and its metadata) that a task wants committed for one of its sources.
struct OffsetCommit {
  std::size_t source = 0;
  Offset offset;  // next offset to read; none: nothing read, the consumer's position
  std::string metadata;
};

class Task final : public TaskContext {
 public:
  // For internal-source tasks, upstream_partitions[i] is the partition count of the topology's
  // entry topic i. `stores` maps store names to the process's stores.
  Task(const Topology& topology, const SubTopologyDef& def, std::int32_t partition, RecordCollector& collector,
       std::map<std::string, state::RocksDbStore*> stores, TaskCounters counters,
       std::vector<std::int32_t> upstream_partitions, TaskMeta restored);
  ~Task() override;

  // --- records
  void process(const InputRecord& rec);
  Offset next_offset(std::size_t source) const { return sources_[source].next_offset; }
  bool has_progress() const noexcept { return dirty_; }
  // Index of the source that read the last processed record (entry stages may read several topics).
  std::size_t last_source() const noexcept { return last_source_; }

  // --- entry tasks
  TimestampMs stream_time(std::size_t source) const { return sources_[source].stream_time; }
  bool source_empty(std::size_t source) const { return sources_[source].empty; }
  void restore_stream_time(std::size_t source, TimestampMs t);
  // Restores what an entry partition's committed metadata says (stream time, open chunk).
  void restore_commit(std::size_t source, std::string_view metadata);
  // Idle advancement: a caught-up source with no record for idle_timeout follows the wall clock.
  // Returns true if the published status changed.
  bool advance_idle(std::size_t source, TimestampMs now, TimestampMs idle_timeout, bool caught_up);
  void note_activity(std::size_t source, TimestampMs now) { sources_[source].last_activity = now; }
  void append_watermarks(std::vector<envelope::WatermarkEntry>& out) const;

  // --- downstream tasks
  // Applies upstream watermarks; closes windows if event time advanced.
  void advance_event_time();
  TimestampMs event_time() const override { return upstream_.current(); }

  // --- commit protocol
  // Entry tasks with pre-aggregation close an input chunk at every commit, in two steps: first
  // the intent (the chunk's start offset and stream time, and its last offset) is committed,
  // then its partials are sent. A replay from that commit ends the chunk at the same offset.
  bool pre_aggregating() const noexcept { return !pre_aggregators_.empty(); }
  bool chunk_intent(OffsetCommit& out) const;
  void send_chunk();
  // What to commit for each source once outputs are acknowledged.
  void committable(std::vector<OffsetCommit>& out) const;
  void flush();         // changelog writes + markers (outputs are already sent)
  void commit_local();  // after the producer flush: RocksDB write + checkpoint
  void clear_progress() { dirty_ = false; }
  const std::vector<std::string>& source_topics() const { return def_.source_topics; }
  std::size_t cached_windows() const;

  // --- TaskContext
  std::int32_t partition() const override { return partition_; }
  RecordCollector& collector() override { return collector_; }
  state::RocksDbStore& store(const std::string& name) override;
  std::uint32_t generation() const override { return meta_.generation; }
  const TaskCounters& counters() const override { return counters_; }
  void register_stateful(WindowedStateful* p) override { stateful_.push_back(p); }
  void register_pre_aggregator(PreAggregating* p) override { pre_aggregators_.push_back(p); }
  void dead_letter(const std::string& reason) override;
  const std::string& application_id() const override { return topology_.application_id(); }

 private:
  struct SourceState {
    std::unique_ptr<SourceNode> node;
    std::uint16_t entry_index = 0;
    Offset next_offset;  // none until a record is read (or restored)
    TimestampMs stream_time = kNoTimestamp;
    bool empty = false;
    TimestampMs last_activity = 0;
  };
  struct Chunk {
    bool open = false;
    std::int64_t start = -1;  // first offset of the chunk
    std::int64_t last = -1;   // last offset processed
    TimestampMs stream_time_before = kNoTimestamp;
    bool empty_before = false;
    std::int64_t forced_end = -1;  // from the committed metadata: end the chunk exactly here
  };
  void process_internal(SourceState& s, const InputRecord& rec);
  void close_chunk();
  void apply_watermarks(std::string_view value);

  const Topology& topology_;
  const SubTopologyDef& def_;
  std::int32_t partition_;
  RecordCollector& collector_;
  std::map<std::string, state::RocksDbStore*> stores_;
  TaskCounters counters_;
  TaskMeta meta_;
  UpstreamWatermarks upstream_;
  std::vector<std::size_t> upstream_base_;  // flat index of entry topic i's partition 0
  TimestampMs applied_event_time_ = kNoTimestamp;
  std::vector<SourceState> sources_;
  std::vector<WindowedStateful*> stateful_;
  std::vector<PreAggregating*> pre_aggregators_;
  const InputRecord* current_ = nullptr;  // the external record being processed
  SourceNode* current_source_ = nullptr;
  Chunk chunk_;
  std::vector<envelope::WatermarkEntry> wm_scratch_;
  bool dirty_ = false;
  std::size_t last_source_ = 0;
};

}  // namespace sw
