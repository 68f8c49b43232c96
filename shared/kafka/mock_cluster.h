#pragma once
// The embedded dev broker engine: librdkafka's mock cluster (real Kafka wire protocol on
// loopback, in memory). Development and tests only: services never link this target.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace sw::kafka {

class MockCluster {
 public:
  explicit MockCluster(int brokers);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  std::string bootstrap_servers() const;
  // Throws std::runtime_error on failure. Topics created here are remembered (name, partitions)
  // so that leaders can be moved off a broker (drain); auto-created topics are not.
  void create_topic(const std::string& name, int partitions, int replication_factor = 1);
  // Broker ids are 1..brokers(). Throw std::invalid_argument for an unknown id.
  // A broker that is down closes its connections and refuses new ones. The mock keeps it as
  // the leader of its partitions and as the coordinator it was (librdkafka 2.0.2 does no
  // failover): its partitions and groups stall until it is up again, unless drain() moved them.
  void set_broker_down(int broker_id);
  void set_broker_up(int broker_id);
  bool broker_up(int broker_id) const;
  // Round-trip time added to every response of the broker (0: none).
  void set_broker_rtt(int broker_id, int rtt_ms);
  // Makes the next `count` requests of the given Kafka API key fail with the given error code
  // (cluster-wide, whichever broker receives them).
  void push_request_errors(int api_key, int count, int error_code);
  void clear_request_errors(int api_key);
  // Moves one partition's leadership (throws std::invalid_argument if the mock refuses).
  void set_partition_leader(const std::string& topic, int partition, int broker_id);
  // Moves every known topic's partitions led (as far as this object set or assigned them) by
  // `broker_id` to the other brokers that are up, round-robin; returns how many moved. Because
  // the mock does not report leaders, the first drain assigns every partition of every known
  // topic explicitly (spread over the brokers that are up, skipping `broker_id`).
  int drain(int broker_id);
  // Which broker coordinates a group ("group") or transactional id ("transaction").
  void set_coordinator(const std::string& key_type, const std::string& key, int broker_id);
  // Known topics as name -> partitions, and leaders this object has set (-1: not set by us).
  std::map<std::string, std::vector<int>> leaders() const;
  int brokers() const noexcept { return brokers_; }

  // Names <-> numbers for the control interface. std::nullopt for unknown names.
  static std::optional<int> api_key_from_name(const std::string& name);  // "Produce", "18", ...
  static std::optional<int> error_code_from_name(const std::string& name);  // "NOT_COORDINATOR", "16", ...
  static std::string error_name(int code);

 private:
  void check_broker(int broker_id) const;

  rd_kafka_s* rk_ = nullptr;  // the mock cluster lives inside this (otherwise idle) handle
  rd_kafka_mock_cluster_s* cluster_ = nullptr;
  int brokers_;
  mutable std::mutex mu_;
  std::vector<bool> up_;                                // index broker_id - 1
  std::map<std::string, std::vector<int>> leaders_;     // -1: the mock's own choice
};

}  // namespace sw::kafka
