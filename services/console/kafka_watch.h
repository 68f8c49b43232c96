#pragma once
// The console's Kafka readers, each on its own thread: the lag collector (committed offsets, end
// offsets, the oldest unconsumed records' timestamps, every topic's partitions), and a tail of
// the output and dead-letter topics (their latest records, never joining a group).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kafka/config.h"
#include "lag/collector.h"
#include "services/console/model.h"

namespace sw::kafka {
class Consumer;
}

namespace sw::console {

class KafkaWatch {
 public:
  // Starts both threads. Never throws for an unreachable broker (clients connect lazily);
  // throws std::exception for bad client settings.
  KafkaWatch(const std::string& bootstrap, const kafka::Config& properties, const PipelineInfo& pipeline, Model& model,
             std::chrono::milliseconds interval);
  ~KafkaWatch();
  KafkaWatch(const KafkaWatch&) = delete;
  KafkaWatch& operator=(const KafkaWatch&) = delete;
  // Stops both threads and waits for them (at most one broker request's timeout). Idempotent.
  void stop();

  // Records read at first from the end of each tailed partition.
  static constexpr std::int64_t kTailPerPartition = 10;

 private:
  void lag_loop();
  void tail_loop();
  // Assigns the tail consumer to every partition of the tailed topics it knows, new ones from
  // kTailPerPartition records before their end.
  void refresh_tail_assignment();
  bool sleep_for(std::chrono::milliseconds d);  // false when stopping

  Model& model_;
  std::chrono::milliseconds interval_;
  std::vector<std::string> tail_topics_;
  std::unique_ptr<lag::Collector> collector_;
  std::unique_ptr<kafka::Consumer> tail_;
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> tail_next_;  // next offset to read
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stopping_{false};
  std::thread lag_thread_, tail_thread_;
};

}  // namespace sw::console
