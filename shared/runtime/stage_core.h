#pragma once
// The Kafka-free core of a running stage: its tasks (one per input partition), created from what
// the restore of their stores found; punctuation and watermarks; and the commit protocol's steps
// (chunk intents, flushes, committable offsets, local commits). The Runner drives it with Kafka,
// the TopologyTestDriver with in-memory logs, so unit tests exercise the same orchestration.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/restore.h"
#include "runtime/task.h"

namespace sw {

// An offset a task wants committed, resolved to its topic.
struct SourceOffset {
  std::string topic;
  std::int32_t partition = 0;
  Offset offset;  // next offset to read; none: nothing read, the consumer's current position
  std::string metadata;
};

class StageCore {
 public:
  // The generation of a new task's flushes, given the one it restored (0: none). Generations
  // tell apart the flushes of successive incarnations of a task in its changelog.
  using GenerationFn = std::function<std::uint32_t(std::int32_t partition, std::uint32_t previous)>;
  // The changelog source of a store, for the restore.
  using ChangelogFor = std::function<ChangelogSource&(const std::string& store)>;
  // Called for each store after it is restored (for logging and metrics).
  using RestoredFn = std::function<void(const std::string& store, const std::vector<RestoreResult>& results)>;

  // For internal-source stages, upstream_partitions[i] is the partition count of the topology's
  // entry topic i (0 for entry topics not upstream of this stage).
  StageCore(const Topology& topology, const SubTopologyDef& def, RecordCollector& collector,
            std::map<std::string, state::RocksDbStore*> stores, TaskCounters counters,
            std::vector<std::int32_t> upstream_partitions, GenerationFn generation);

  const SubTopologyDef& def() const noexcept { return def_; }
  bool entry() const noexcept { return !def_.internal_sources; }

  // --- tasks
  struct Created {
    std::int32_t partition;
    // Where to resume: for internal sources the position the restored task recorded, otherwise
    // the group's committed offset.
    Offset start_offset;
  };
  // Restores the stores of the given partitions that have no task yet (one pass over their
  // changelog partitions per store) and creates their tasks, in the order given. Throws
  // std::runtime_error when a changelog cannot be read.
  std::vector<Created> restore_and_create(const std::vector<std::int32_t>& partitions, const ChangelogFor& changelog,
                                          TimestampMs now_wall, const RestoredFn& on_restored = {});
  Task* task(std::int32_t partition) const;
  bool has_task(std::int32_t partition) const { return tasks_.count(partition) != 0; }
  std::map<std::int32_t, std::unique_ptr<Task>>& tasks() noexcept { return tasks_; }
  std::size_t size() const noexcept { return tasks_.size(); }
  // Drops a task (revoked, lost, crashed): what it did since the last commit is replayed.
  void drop(std::int32_t partition) { tasks_.erase(partition); }
  void drop_all() { tasks_.clear(); }
  // Restores what an entry partition's committed offset metadata says (stream time, open chunk).
  void restore_commit(const std::string& topic, std::int32_t partition, std::string_view metadata);
  bool pre_aggregating() const;

  // --- punctuation
  // Entry stages: a caught-up source quiet for idle_timeout follows the wall clock. True if the
  // watermarks to publish changed. `caught_up(source, partition)`.
  bool advance_idle(TimestampMs now_wall, TimestampMs idle_timeout,
                    const std::function<bool(std::size_t source, std::int32_t partition)>& caught_up);
  // Downstream stages: apply upstream watermarks (closes windows).
  void advance_event_time();
  void append_watermarks(std::vector<envelope::WatermarkEntry>& out) const;

  // --- commit protocol
  // Two-phase aggregation: the chunk ends to commit before the partials are sent.
  std::vector<SourceOffset> chunk_intents() const;
  // Sends the open chunk's partial aggregates of every pre-aggregating task.
  void send_chunks();
  bool has_progress() const;
  // Flushes every task with progress (changelog writes and markers) and returns what the commit
  // covers: the partitions flushed and the offsets to commit once everything sent so far is
  // acknowledged. Their progress is cleared.
  struct PreparedCommit {
    std::vector<std::int32_t> partitions;
    std::vector<SourceOffset> offsets;
  };
  PreparedCommit prepare_commit();
  // The flushed state of these partitions is durable: write it to RocksDB (tasks since dropped
  // are skipped).
  void commit_local(const std::vector<std::int32_t>& partitions);

  std::size_t cached_windows() const;

 private:
  const Topology& topology_;
  const SubTopologyDef& def_;
  RecordCollector& collector_;
  std::map<std::string, state::RocksDbStore*> stores_;
  TaskCounters counters_;
  std::vector<std::int32_t> upstream_partitions_;
  GenerationFn generation_;
  std::map<std::int32_t, std::unique_ptr<Task>> tasks_;
};

}  // namespace sw
