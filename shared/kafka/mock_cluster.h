#pragma once
// The embedded dev broker engine: librdkafka's mock cluster (real Kafka wire protocol on
// loopback, in memory). Development and tests only: services never link this target.
#include <cstdint>
#include <memory>
#include <string>

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
  // Throws std::runtime_error on failure.
  void create_topic(const std::string& name, int partitions, int replication_factor = 1);
  void set_broker_down(int broker_id);
  void set_broker_up(int broker_id);
  // Makes the next `count` requests of the given Kafka API key fail with the given error code.
  void push_request_errors(int api_key, int count, int error_code);
  int brokers() const noexcept { return brokers_; }

 private:
  rd_kafka_s* rk_ = nullptr;  // the mock cluster lives inside this (otherwise idle) handle
  rd_kafka_mock_cluster_s* cluster_ = nullptr;
  int brokers_;
};

}  // namespace sw::kafka
