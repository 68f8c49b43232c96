#pragma once
// The Telemetra PostgreSQL sink: reads `chat-summary` and `moments` and upserts them into the
// seed's tables `chat_summary_minute` and `moments`.
//
// Delivery: rows are written in batches, one transaction per batch, and the Kafka offsets of a
// batch are committed only after that transaction commits. A crash anywhere replays from the
// last committed offsets; the upserts are keyed by the tables' unique keys, and an upsert that
// would not change a row leaves it untouched, so a replay changes nothing. While the database is
// unreachable the batch is kept in memory and retried with exponential backoff; nothing more is
// consumed, the process stays alive (/healthz 200) but reports not ready (/readyz 503).
//
// Readiness means "the database is reachable": connected, migrations applied, and (while no
// batch is written) a `SELECT 1` answered within the last db_check_interval. A replica without
// partitions is ready as long as it could write.
//
// Metrics: the series every Streamwright process exports, with stage="telemetra-sink"
// (streamwright_ready, streamwright_records_consumed_total{topic}, ...), and the sink's own
// telemetra_sink_* series.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "kafka/client.h"
#include "kafka/owed_offsets.h"
#include "metrics/metrics.h"

namespace sw::telemetra {

struct SinkConfig {
  std::string bootstrap_servers;
  kafka::Config kafka;  // extra librdkafka properties
  std::string group_id = "telemetra-sink";
  std::string summary_topic = "chat-summary";
  std::string moments_topic = "moments";
  std::string conninfo;  // libpq connection string (secret: never logged as is)
  std::size_t batch_rows = 2000;
  std::chrono::milliseconds batch_linger{200};
  std::chrono::milliseconds min_backoff{200};
  std::chrono::milliseconds max_backoff{10000};
  // While idle, how often the connection is checked (so /readyz turns 503 when the database goes
  // away even if nothing is written).
  std::chrono::milliseconds db_check_interval{5000};
};

// The stage label of the sink's streamwright_* series.
inline constexpr const char* kSinkStage = "telemetra-sink";

class PgSink final : public kafka::RebalanceListener {
 public:
  PgSink(SinkConfig config, metrics::Registry& registry);
  ~PgSink() override;

  // Runs until stop(); writes what it holds before returning if the database allows.
  void run();
  void stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
  bool stop_requested() const noexcept { return stop_.load(std::memory_order_relaxed); }
  bool ready() const noexcept { return ready_.load(std::memory_order_relaxed); }
  bool alive() const noexcept;

  void on_partitions_assigned(std::vector<kafka::TopicPartition>& partitions) override;
  void on_partitions_revoked(const std::vector<kafka::TopicPartition>& partitions) override;
  void on_partitions_lost(const std::vector<kafka::TopicPartition>& partitions) override;

  // The DDL the sink applies at start (idempotent), for docs and tools.
  static std::vector<std::string> migrations();

 private:
  bool add(const kafka::Message& m);
  // Writes the pending batch and commits its offsets; false if the database failed.
  bool write_batch();
  // Commits the offsets of rows already durable in PostgreSQL, for partitions still assigned.
  // A commit refused during a rebalance (or held back while the member rejoins its group) stays
  // owed and is sent again once the group has settled: with cooperative rebalancing the member
  // keeps its partitions and its position, so nothing would replay the rows and commit them.
  // `now`: also while the member rejoins (from a revocation callback, or at shutdown).
  void commit_durable_offsets(bool now = false);
  bool ensure_connected();
  // While idle: checks the connection at most every db_check_interval (reconnects if it is down).
  void check_database();
  void database_failed(const std::exception& e, const char* what);
  void wait_backoff();
  void update_ready();

  SinkConfig config_;
  metrics::Registry& registry_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::unique_ptr<pqxx::connection> db_;
  // Pending rows by unique key (a replayed duplicate replaces the earlier copy) as JSON text.
  std::map<std::string, std::string> summaries_, moments_;
  std::map<std::string, double> z_scores_;  // of the pending summaries that have one, by the same key
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> next_offsets_;
  // Offsets past rows already written to PostgreSQL, not yet committed to Kafka.
  kafka::OwedOffsets owed_offsets_;
  bool commit_refused_ = false;  // the last commit of owed_offsets_ failed (logged once)
  std::chrono::steady_clock::time_point first_pending_{};
  std::chrono::steady_clock::time_point last_db_check_{};
  std::chrono::milliseconds backoff_{0};
  std::size_t assigned_ = 0;
  bool db_ok_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ready_{false};
  std::atomic<std::int64_t> last_loop_ms_{0};
  metrics::Counter *rows_summary_, *rows_moments_, *batches_, *db_errors_, *db_retries_, *bad_records_, *consumed_;
  metrics::Gauge *ready_gauge_, *pending_gauge_;
  metrics::Histogram* z_score_;
  // The common series, stage="telemetra-sink".
  metrics::Counter *sw_consumed_summary_, *sw_consumed_moments_, *sw_commits_, *sw_rebalances_;
  metrics::Gauge *sw_ready_, *sw_assigned_;
  metrics::Histogram* sw_commit_seconds_;
};

}  // namespace sw::telemetra
