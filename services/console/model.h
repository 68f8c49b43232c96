#pragma once
// What the console knows, and the JSON its API serves: the replicas' last scrapes (with when each
// was last seen), Kafka's view (lag per partition in records and seconds, every topic's
// partitions), the latest outputs and dead letters, and a bounded history for the charts. Every
// number comes with the time it was read; nothing is invented when a source is down.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/time.h"
#include "lag/collector.h"
#include "services/console/pipeline_info.h"
#include "services/console/sources.h"

namespace sw::console {

// A record read from the end of an output or dead-letter topic.
struct TailRecord {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  TimestampMs timestamp_ms = 0;
  std::string key, value;    // value cut at kMaxValueBytes
  std::size_t value_bytes = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // streamwright.* headers
  TimestampMs read_at_ms = 0;
  static constexpr std::size_t kMaxValueBytes = 2048;
  static constexpr std::size_t kMaxKeyBytes = 256;
};

struct ModelSettings {
  std::string bootstrap_servers;
  std::string metrics_source;  // how metrics are read, for the page
  std::chrono::milliseconds interval{2000};
  std::chrono::milliseconds history{15 * 60 * 1000};
  std::size_t outputs_kept = 100;       // latest outputs, all watched topics together
  std::size_t dead_letters_kept = 50;   // per dead-letter topic
  std::chrono::milliseconds quantile_window{30000};  // latency and commit percentiles are over this
};

class Model {
 public:
  Model(PipelineInfo pipeline, ModelSettings settings);

  void apply_scrapes(const std::vector<ReplicaScrape>& round);
  void apply_kafka(const lag::Collection& collection);
  void apply_records(std::vector<TailRecord> records);

  // GET /api/pipeline: the structure (never changes).
  std::string pipeline_json() const;
  // GET /api/status, /api/outputs, /api/dead-letters, /api/snapshot (the three together).
  std::string status_json() const;
  std::string outputs_json() const;
  std::string dead_letters_json() const;
  std::string snapshot_json() const;
  // GET /api/history?since=MS: the points after `since` (every point when 0).
  std::string history_json(TimestampMs since) const;
  // The latest history point alone (sent with each update), or "null".
  std::string last_point_json() const;

  // Counts changes. wait_change blocks until the version differs from `seen`, shutdown() or the
  // timeout, and returns the current version.
  std::uint64_t version() const;
  std::uint64_t wait_change(std::uint64_t seen, std::chrono::milliseconds timeout) const;
  void shutdown();
  std::size_t history_points() const;
  std::size_t max_history_points() const { return max_points_; }

 private:
  struct Hist {
    std::map<double, double> buckets;  // upper bound -> cumulative count
    double sum = 0, count = 0;
  };
  struct ReplicaValues {
    std::map<std::string, double> gauges;  // name -> value (summed over label sets of the family)
    std::vector<std::pair<std::string, std::int32_t>> partitions;  // from kafka_consumergroup_lag's labels
    std::map<std::string, double> consumed_by_topic, produced_by_topic;
    std::map<std::string, Hist> hists;
  };
  struct Replica {
    std::string id, source, declared_stage, stage;
    bool up = false, gone = false;
    TimestampMs last_seen_ms = 0, last_attempt_ms = 0, down_since_ms = 0, gone_since_ms = 0;
    std::string error;
    std::optional<ReplicaValues> values;  // from its last good scrape
    TimestampMs values_at_ms = 0;
  };
  struct HistDelta {
    TimestampMs at_ms = 0;
    std::map<std::string, Hist> by_family;
  };
  struct StagePoint {
    std::optional<double> input_rate, processed_rate, lag_records, lag_seconds, latency_p50, latency_p99, commit_p99,
        event_time_lag;
  };
  struct Point {
    TimestampMs t = 0;
    std::map<std::string, StagePoint> stages;
  };
  struct KafkaState {
    bool ever_answered = false, up = false, collected = false;
    TimestampMs last_seen_ms = 0, last_attempt_ms = 0, down_since_ms = 0;
    std::vector<std::string> warnings;
    unsigned failed_requests = 0;
    double seconds = 0;
    std::vector<lag::PartitionLag> partitions;  // from the last collection that answered
    std::map<std::pair<std::string, std::int32_t>, lag::PartitionOffsets> topics;
    TimestampMs data_at_ms = 0;
    std::map<std::pair<std::string, std::int32_t>, double> partition_rate;  // appended records/s
    std::map<std::pair<std::string, std::int32_t>, std::int64_t> prev_high;
    TimestampMs prev_at_ms = 0;
  };

  void attribute(Replica& r, const ReplicaScrape& s) const;
  static ReplicaValues read_values(const std::vector<Sample>& samples);
  void record_point(TimestampMs now);  // under mu_
  void rebuild();                      // under mu_: the JSON strings, version++
  std::string build_status(TimestampMs now) const;
  std::string build_outputs() const;
  std::string build_dead_letters() const;
  std::optional<double> quantile(const std::string& stage, const std::string& family, double q, TimestampMs now) const;
  std::optional<double> mean(const std::string& stage, const std::string& family, TimestampMs now) const;

  const PipelineInfo pipeline_;
  const ModelSettings settings_;
  const std::size_t max_points_;
  const std::string pipeline_json_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool shutdown_ = false;
  std::uint64_t version_ = 0;
  std::map<std::string, Replica> replicas_;
  std::map<std::string, std::deque<HistDelta>> hist_deltas_;  // per stage
  std::map<std::string, std::map<std::string, Hist>> prev_hists_;  // per replica id
  KafkaState kafka_;
  std::deque<TailRecord> outputs_;
  std::map<std::string, std::deque<TailRecord>> dead_letters_;
  std::map<std::string, std::uint64_t> records_seen_;  // per tailed topic, since start
  std::deque<Point> history_;
  std::string status_json_, outputs_json_, dead_letters_json_, last_point_json_ = "null";
  bool scraped_ = false;
};

}  // namespace sw::console
