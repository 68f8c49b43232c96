#pragma once
// streamwright-lake-sink: one consumer group member that writes each configured topic to its
// Delta table (TableSink), dead-letters records that do not fit, and serves its health.
//
// Positions: on assignment each partition seeks to the version its table holds for
// <group>-<partition> (the txn action of the last commit that included it), not to Kafka's
// committed offset, which is only updated afterwards as a hint for lag monitoring. A table whose
// storage fails is rewound and its partitions are paused with exponential backoff; the other
// tables go on. Input never stops the sink: a record that does not fit its table's schema (or
// is too large, or null) goes to the table's dead-letter topic with a streamwright.error header.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "config.h"
#include "common/time_zone.h"
#include "kafka/client.h"
#include "metrics/metrics.h"
#include "table_sink.h"

namespace sw::lake_sink {

// The stage label of the sink's streamwright_* series.
inline constexpr const char* kStage = "lake-sink";

class LakeSink final : public kafka::RebalanceListener {
 public:
  // Opens every table (creating missing ones) and the Kafka clients; throws at start-up.
  LakeSink(const SinkConfig& config, metrics::Registry& registry);
  ~LakeSink() override;

  // Runs until stop(); then commits what it holds and leaves the group.
  void run();
  void stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
  bool stop_requested() const noexcept { return stop_.load(std::memory_order_relaxed); }
  bool alive() const noexcept;
  bool ready() const noexcept { return ready_.load(std::memory_order_relaxed); }

  void on_partitions_assigned(std::vector<kafka::TopicPartition>& partitions) override;
  void on_partitions_revoked(const std::vector<kafka::TopicPartition>& partitions) override;
  void on_partitions_lost(const std::vector<kafka::TopicPartition>& partitions) override;

 private:
  struct Table {
    std::unique_ptr<TableSink> sink;
    kafka::Producer::TopicId dlq = 0;
    metrics::Counter* consumed = nullptr;
    metrics::Counter* input_bytes = nullptr;
    metrics::Counter* dead_lettered = nullptr;
    // Storage trouble: partitions paused until `retry_at`; positions still to seek.
    bool backing_off = false;
    Clock::time_point retry_at{};
    std::chrono::milliseconds backoff{0};
    std::vector<kafka::TopicPartition> unpositioned;  // assigned while the log was unreadable
  };

  Table* table_for(std::string_view topic);
  bool dead_letter(Table& t, const kafka::Message& m, const std::string& reason);
  // Rolls one table: waits for its dead letters to be acknowledged, commits, then seeks or hints.
  void roll(Table& t);
  void failed(Table& t, const std::string& what, std::vector<kafka::TopicPartition> positions);
  void seek_all(const std::vector<kafka::TopicPartition>& positions);
  void retry_due_tables();
  void enforce_memory_budget();
  void update_ready();
  Offset start_offset(const std::string& topic, std::int32_t partition);

  const SinkConfig& config_;
  metrics::Registry& registry_;
  TimeZone zone_;
  std::vector<Table> tables_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::unique_ptr<kafka::Producer> producer_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ready_{false};
  std::atomic<std::int64_t> last_loop_ms_{0};
  std::size_t assigned_ = 0;
  bool ever_assigned_ = false;
  bool producer_failed_ = false;

  metrics::Counter *sw_dead_letters_, *sw_commits_, *sw_rebalances_;
  metrics::Gauge *sw_ready_, *sw_assigned_, *buffered_gauge_;
  metrics::Histogram* sw_commit_seconds_;
};

}  // namespace sw::lake_sink
