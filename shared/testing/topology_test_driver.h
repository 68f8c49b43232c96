#pragma once
// Runs a whole topology in one process without a broker, in the manner of Kafka Streams'
// TopologyTestDriver: topics are in-memory logs, every sub-topology has a task per partition,
// and records flow through repartition topics, watermarks and changelogs exactly as in the
// runtime (the same Task code). Wall-clock time is controlled by the test.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "metrics/metrics.h"
#include "runtime/task.h"
#include "state/rocksdb_store.h"
#include "topology/topology.h"

namespace sw::testing {

struct OutputRecord {
  std::int32_t partition;
  std::string key;
  std::string value;
  TimestampMs timestamp;
  std::vector<std::pair<std::string, std::string>> headers;
};

class TopologyTestDriver {
 public:
  // The in-memory topics: one log per partition.
  class MemoryLogs {
   public:
    virtual ~MemoryLogs() = default;
    virtual std::vector<OutputRecord>& log(const std::string& topic, std::int32_t partition) = 0;
  };

  struct Options {
    std::int32_t partitions = 4;            // of every topic
    std::filesystem::path state_dir;        // empty: a temporary directory
    TimestampMs idle_timeout_ms = 5000;
    TimestampMs start_wall_clock_ms = 1767261600000;  // 2026-01-01T10:00:00Z
    // false: downstream tasks apply upstream watermarks only when the wall clock moves (the
    // runtime's punctuation) or at a commit, not right after every record, as between two
    // punctuations in the runtime.
    bool apply_event_time_on_input = true;
  };
  TopologyTestDriver(const Topology& topology, Options options);
  ~TopologyTestDriver();

  // Appends a record to an input topic (partition < 0: by key) and processes everything that
  // follows from it, including watermark propagation.
  void pipe_input(const std::string& topic, const std::string& key, const std::string& value, std::int32_t partition = -1);
  // Moves the wall clock: idle input partitions advance their stream time, windows may close.
  void advance_wall_clock(TimestampMs ms);
  // Flushes state and "commits", as the runtime does every commit interval.
  void commit();
  // Simulates a crash of a stage: its tasks are dropped without a commit and recreated from
  // the changelogs (and, if keep_local_state, from the local stores and checkpoints).
  void crash_and_restart(const std::string& stage, bool keep_local_state);
  // Simulates a crash of an entry stage in the middle of a commit: the chunk ends are committed
  // and the partial aggregates sent (and processed downstream), but the final offsets are not.
  void send_chunks_then_crash(const std::string& stage);
  // Records written to a topic since the last read.
  std::vector<OutputRecord> read_output(const std::string& topic);
  // Every record ever written to a topic.
  std::vector<OutputRecord> all_records(const std::string& topic);
  std::uint64_t counter(const std::string& name);  // dead_lettered, late, late_downstream, deduplicated

 private:
  class MemoryCollector;
  struct Stage;
  void pump();
  void create_tasks(Stage& stage);
  void send_chunks(Stage& stage);
  void publish_watermarks();

  const Topology& topology_;
  Options options_;
  std::filesystem::path state_dir_;
  bool own_state_dir_ = false;
  TimestampMs wall_clock_;
  metrics::Registry registry_;  // this driver's counters
  std::unique_ptr<MemoryCollector> collector_;
  std::unique_ptr<state::RocksDbResources> rocksdb_;
  std::vector<std::unique_ptr<Stage>> stages_;
  std::map<std::string, std::vector<std::size_t>> read_positions_;
  bool punctuating_ = false;
};

}  // namespace sw::testing
