#pragma once
// Runs one sub-topology (a "stage") as a member of its consumer group: poll, process, produce,
// and every commit interval flush state, then commit offsets once the producer has acknowledged
// everything they cover, without stopping processing meanwhile (at-least-once; downstream tasks
// drop replayed records, so aggregates stay exact), or commit all of that as one Kafka
// transaction (exactly-once).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kafka/client.h"
#include "kafka/owed_offsets.h"
#include "metrics/metrics.h"
#include "runtime/commit_modes.h"
#include "runtime/runner_config.h"
#include "runtime/stage_core.h"
#include "runtime/standby.h"
#include "state/rocksdb_store.h"
#include "topology/topology.h"

namespace sw {

class Runner final : public kafka::RebalanceListener {
 public:
  // Connects and checks topics; throws std::runtime_error with a clear message on bad setup.
  Runner(const Topology& topology, const std::string& stage, RunnerConfig config, metrics::Registry& registry);
  ~Runner() override;

  // Runs until stop(); on return offsets are committed and the group left. Throws on fatal
  // errors (for example a failed delivery), after which the process should exit and restart.
  void run();
  // Safe from a signal handler: only sets a flag.
  void stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
  bool stop_requested() const noexcept { return stop_.load(std::memory_order_relaxed); }

  bool ready() const noexcept { return ready_.load(std::memory_order_relaxed); }
  bool alive() const noexcept;

  // RebalanceListener
  void on_partitions_assigned(std::vector<kafka::TopicPartition>& partitions) override;
  void on_partitions_revoked(const std::vector<kafka::TopicPartition>& partitions) override;
  void on_partitions_lost(const std::vector<kafka::TopicPartition>& partitions) override;

 private:
  class Collector;
  struct Metrics;

  void run_loop();
  void process_batch();
  void punctuate(TimestampMs now_wall);
  void publish_watermarks(bool force);
  // Flushes state and starts a commit of the offsets it covers. At-least-once: the commit
  // completes (local state written, offsets committed) once the producer has acknowledged every
  // record sent before it, while processing goes on; `wait` completes it before returning.
  // Exactly-once: one transaction, always completed before returning.
  void commit(const char* reason, bool wait);
  // Completes the commit in flight if its records are acknowledged (or, with `wait`, once they
  // are); false if it is still waiting.
  bool complete_commit(bool wait);
  // Sends owed_offsets_ once the group has settled; a refusal keeps them owed.
  void commit_owed_offsets(const char* reason);
  // A partition given up: neither the commit in flight nor a later one may write its offset.
  void forget_offsets(const kafka::TopicPartition& tp);
  void send_chunks(const char* reason);
  void update_lag_metrics();
  void apply_backpressure();
  // Standby replicas: the partitions this replica runs now are not kept warm.
  void update_standby_set();

  const Topology& topology_;
  const SubTopologyDef& def_;
  RunnerConfig config_;
  metrics::Registry& registry_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<Collector> collector_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::unique_ptr<kafka::Consumer> restore_consumer_;
  std::unique_ptr<kafka::Consumer> standby_consumer_;  // the standby rounds' own (another thread)
  std::unique_ptr<state::RocksDbResources> rocksdb_;
  std::map<std::string, std::unique_ptr<state::RocksDbStore>> stores_;
  std::unique_ptr<StageCore> core_;  // the tasks and the commit protocol's steps
  std::unique_ptr<CommitMode> commits_;
  std::unique_ptr<StandbyUpdater> standby_;  // --standby-replicas: warm copies of the other tasks
  std::optional<std::chrono::steady_clock::time_point> no_tasks_since_;  // assigned nothing since
  kafka::MessageBatch batch_;
  std::vector<envelope::WatermarkEntry> wm_entries_;
  std::string wm_value_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ready_{false};
  std::atomic<std::int64_t> last_loop_ms_{0};
  std::atomic<bool> restoring_{false};  // a restore blocks the loop but is progress, not a hang
  std::chrono::steady_clock::time_point last_publish_{};
  bool watermarks_changed_ = false;
  struct PendingCommit {
    std::vector<kafka::TopicPartition> offsets;
    std::vector<std::int32_t> partitions;  // tasks whose flush it covers
    const char* reason = "";
    std::chrono::steady_clock::time_point started;
    bool waited_for_join = false;  // held back while the member was rejoining its group
  };
  std::optional<PendingCommit> pending_commit_;  // at most one commit in flight
  // Offsets of durable work not yet accepted by the group coordinator (held back during a
  // rebalance, or refused): sent with the next commit, or on their own once the group has settled
  // while no input arrives.
  kafka::OwedOffsets owed_offsets_;
  bool paused_ = false;    // input paused because the producer holds too much
  bool failed_ = false;    // run() failed: leave without committing anything more
  bool repause_ = false;   // partitions were assigned while paused
};

}  // namespace sw
