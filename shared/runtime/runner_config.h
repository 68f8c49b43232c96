#pragma once
// How a stage runs: where the brokers are, its Kafka properties, timings, memory budgets and
// processing guarantee (the service's flags).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "kafka/config.h"
#include "state/rocksdb_store.h"

namespace sw {

struct RunnerConfig {
  std::string bootstrap_servers;
  kafka::Config kafka;  // extra librdkafka properties (security, tuning), applied last
  std::string state_dir = "/tmp/streamwright-state";
  std::chrono::milliseconds commit_interval{500};
  std::chrono::milliseconds punctuate_interval{50};
  std::chrono::milliseconds watermark_interval{100};
  std::chrono::milliseconds idle_timeout{5000};
  std::chrono::milliseconds flush_timeout{60000};
  std::size_t max_poll_records = 10000;
  // Fetched records held ahead of processing. Small is as fast, with the consumer's fetch wake-up
  // (kafka::Consumer::set_fetch_wakeup): 32 MiB ran the crash monitor at the rate of 128 MiB,
  // with parse peaking at 120 MiB instead of 300-370.
  std::size_t consumer_buffer_bytes = 32ull << 20;
  // Records produced but not yet acknowledged. Above half of it the stage pauses its input
  // partitions (a slow or unavailable broker cannot grow the process); below a quarter it resumes.
  std::size_t producer_buffer_bytes = 64ull << 20;
  std::int32_t internal_partitions = 0;  // 0: as many as the stage's input topic, at most 32
  state::RocksDbOptions rocksdb;
  std::string client_id;
  // exactly_once: each commit is one Kafka transaction holding the interval's outputs, changelog
  // writes and input offsets; consumers read committed data only.
  bool exactly_once = false;
  // Where a stage reading external topics starts when its group has no committed offset (Spark's
  // startingOffsets): the earliest retained record, or only what arrives from now on. Stages
  // reading internal topics always start at the earliest (nothing upstream produced is skipped).
  bool start_at_latest = false;
  std::string transactional_id;  // empty: <group>-<host>-<pid>, unique per live replica
  // Static membership (KIP-345): a stable id per replica (a StatefulSet pod's name). A replica
  // restarted within the session timeout takes its partitions back without a rebalance, and its
  // state is still on its volume. A static member does not leave the group when it stops: its
  // partitions wait for it until the session timeout. Empty: dynamic membership.
  std::string group_instance_id;
  std::chrono::milliseconds transaction_timeout{10000};
  // Standby replicas (Kafka Streams' num.standby.replicas): 0, or at least 1: a stateful stage
  // keeps warm copies of every task it does not run (runtime/standby.h), refreshed every
  // standby_interval from the changelogs.
  unsigned standby_replicas = 0;
  std::chrono::milliseconds standby_interval{1000};
};

}  // namespace sw
