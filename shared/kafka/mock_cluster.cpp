#include "kafka/mock_cluster.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <stdexcept>
#include <vector>

namespace sw::kafka {

MockCluster::MockCluster(int brokers) : brokers_(brokers) {
  char errstr[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The hosting handle never talks to the cluster; keep its own logging quiet.
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk_) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("cannot create mock cluster host: ") + errstr);
  }
  cluster_ = rd_kafka_mock_cluster_new(rk_, brokers);
  if (!cluster_) {
    rd_kafka_destroy(rk_);
    throw std::runtime_error("cannot start the mock cluster");
  }
}

MockCluster::~MockCluster() {
  if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
  if (rk_) rd_kafka_destroy(rk_);
}

std::string MockCluster::bootstrap_servers() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

void MockCluster::create_topic(const std::string& name, int partitions, int replication_factor) {
  const auto err = rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, replication_factor);
  if (err) throw std::runtime_error("cannot create topic " + name + ": " + rd_kafka_err2str(err));
}

void MockCluster::set_broker_down(int broker_id) { rd_kafka_mock_broker_set_down(cluster_, broker_id); }
void MockCluster::set_broker_up(int broker_id) { rd_kafka_mock_broker_set_up(cluster_, broker_id); }

void MockCluster::push_request_errors(int api_key, int count, int error_code) {
  std::vector<rd_kafka_resp_err_t> errs(static_cast<std::size_t>(count),
                                        static_cast<rd_kafka_resp_err_t>(error_code));
  rd_kafka_mock_push_request_errors_array(cluster_, static_cast<int16_t>(api_key), errs.size(), errs.data());
}

}  // namespace sw::kafka
