#pragma once
// Standby replicas (Kafka Streams' num.standby.replicas): warm copies of the state of tasks this
// replica does not run, kept current from their changelogs, so that a task taken over after a
// failure restores only what was written since the last round instead of its whole changelog.
//
// A round is an incremental restore (runtime/restore.h) of every standby partition of every
// store: it reads each changelog from the partition's checkpoint to its end, applies complete
// flushes, and moves the checkpoint. Records of a flush whose marker has not arrived yet stay
// unapplied and are read again next round, so a standby never holds half a flush. When a
// partition becomes active here, the task's own restore starts from the standby's checkpoint.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "metrics/metrics.h"
#include "runtime/restore.h"
#include "state/rocksdb_store.h"

namespace sw {

class StandbyUpdater {
 public:
  // The changelog source of a store for one round (Kafka in the runtime, memory in tests). A
  // source should give up (read() false) once `cancel` is set: a round is cancelled when one of
  // its partitions becomes active here, or on stop().
  using SourceFor = std::function<ChangelogSource&(const std::string& store, const std::atomic<bool>& cancel)>;
  struct Counters {
    metrics::Gauge* partitions = nullptr;  // standby partitions kept warm
    metrics::Counter* failures = nullptr;  // rounds that could not read a changelog
  };

  // `partitions`: the stage's task count (its changelogs' partition count). Every partition not
  // active here is kept warm.
  StandbyUpdater(std::map<std::string, state::RocksDbStore*> stores, std::int32_t partitions, SourceFor source,
                 std::chrono::milliseconds interval, Counters counters);
  ~StandbyUpdater();  // stop()
  StandbyUpdater(const StandbyUpdater&) = delete;
  StandbyUpdater& operator=(const StandbyUpdater&) = delete;

  // Starts the background rounds.
  void start();
  // Stops the rounds and waits for the one in progress.
  void stop();

  // The partitions active on this replica from now on; the others are kept warm. Returns once no
  // round is writing any of them, so their tasks may restore and run.
  void set_active(const std::vector<std::int32_t>& active);

  // One round over the current standby partitions, on the calling thread (tests; the background
  // thread runs the same). Returns the changelog records read. Throws std::runtime_error when a
  // changelog cannot be read.
  std::uint64_t run_round();

  std::vector<std::int32_t> standby_partitions() const;

 private:
  void loop();

  std::map<std::string, state::RocksDbStore*> stores_;
  std::int32_t partitions_;
  SourceFor source_;
  std::chrono::milliseconds interval_;
  Counters counters_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::int32_t> active_;
  std::set<std::int32_t> in_round_;  // partitions the round in progress writes
  std::atomic<bool> cancel_{false};  // the round in progress should give up
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sw
