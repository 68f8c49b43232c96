#include "kafka/mock_cluster.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <cctype>
#include <stdexcept>
#include <utility>
#include <vector>

// The mock broker accepts its connections with accept(2) and leaves Nagle's algorithm on, which
// a real Kafka broker does not (its SocketServer sets TCP_NODELAY on every accepted socket).
// With Nagle on, a response written in two pieces waits for the client's delayed ACK: about
// 40 ms added to most Produce acknowledgements and Fetch responses, whatever the load, which
// made every commit (a producer flush) take 45 ms and set a 20 ms floor under all latencies.
// This definition interposes the one librdkafka calls (it is linked only into processes that
// run the mock: the dev broker and tests) and accepts through accept4(2), which librdkafka
// does not use.
extern "C" int accept(int fd, sockaddr* addr, socklen_t* len) {
  const int s = ::accept4(fd, addr, len, 0);
  if (s >= 0) {
    int one = 1;
    ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // not TCP: harmless EOPNOTSUPP
  }
  return s;
}

namespace sw::kafka {

namespace {
// Kafka API keys the mock answers (and ApiVersion), by their protocol names.
constexpr std::array<std::pair<const char*, int>, 17> kApiKeys{{
    {"Produce", 0},         {"Fetch", 1},          {"ListOffsets", 2},         {"Metadata", 3},
    {"OffsetCommit", 8},    {"OffsetFetch", 9},    {"FindCoordinator", 10},    {"JoinGroup", 11},
    {"Heartbeat", 12},      {"LeaveGroup", 13},    {"SyncGroup", 14},          {"ApiVersion", 18},
    {"InitProducerId", 22}, {"AddPartitionsToTxn", 24}, {"AddOffsetsToTxn", 25}, {"EndTxn", 26},
    {"TxnOffsetCommit", 28},
}};

bool all_digits(const std::string& s, bool allow_minus) {
  if (s.empty()) return false;
  std::size_t i = allow_minus && s[0] == '-' ? 1 : 0;
  if (i == s.size() || s.size() > 6) return false;
  for (; i < s.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

bool iequals(const std::string& a, const char* b) {
  std::size_t i = 0;
  for (; i < a.size() && b[i]; ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return i == a.size() && !b[i];
}
}  // namespace

MockCluster::MockCluster(int brokers) : brokers_(brokers), up_(static_cast<std::size_t>(brokers), true) {
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
  std::lock_guard lock(mu_);
  leaders_[name].assign(static_cast<std::size_t>(partitions), -1);
}

void MockCluster::check_broker(int broker_id) const {
  if (broker_id < 1 || broker_id > brokers_)
    throw std::invalid_argument("no broker " + std::to_string(broker_id) + " (ids are 1.." + std::to_string(brokers_) + ")");
}

void MockCluster::set_broker_down(int broker_id) {
  check_broker(broker_id);
  if (const auto err = rd_kafka_mock_broker_set_down(cluster_, broker_id))
    throw std::invalid_argument(std::string("broker down: ") + rd_kafka_err2str(err));
  std::lock_guard lock(mu_);
  up_[static_cast<std::size_t>(broker_id - 1)] = false;
}

void MockCluster::set_broker_up(int broker_id) {
  check_broker(broker_id);
  if (const auto err = rd_kafka_mock_broker_set_up(cluster_, broker_id))
    throw std::invalid_argument(std::string("broker up: ") + rd_kafka_err2str(err));
  std::lock_guard lock(mu_);
  up_[static_cast<std::size_t>(broker_id - 1)] = true;
}

bool MockCluster::broker_up(int broker_id) const {
  check_broker(broker_id);
  std::lock_guard lock(mu_);
  return up_[static_cast<std::size_t>(broker_id - 1)];
}

void MockCluster::set_broker_rtt(int broker_id, int rtt_ms) {
  check_broker(broker_id);
  if (rtt_ms < 0) throw std::invalid_argument("rtt must not be negative");
  if (const auto err = rd_kafka_mock_broker_set_rtt(cluster_, broker_id, rtt_ms))
    throw std::invalid_argument(std::string("broker rtt: ") + rd_kafka_err2str(err));
}

void MockCluster::push_request_errors(int api_key, int count, int error_code) {
  if (count < 1 || count > 100000) throw std::invalid_argument("count must be between 1 and 100000");
  std::vector<rd_kafka_resp_err_t> errs(static_cast<std::size_t>(count),
                                        static_cast<rd_kafka_resp_err_t>(error_code));
  rd_kafka_mock_push_request_errors_array(cluster_, static_cast<int16_t>(api_key), errs.size(), errs.data());
}

void MockCluster::clear_request_errors(int api_key) {
  rd_kafka_mock_clear_request_errors(cluster_, static_cast<int16_t>(api_key));
}

void MockCluster::set_partition_leader(const std::string& topic, int partition, int broker_id) {
  check_broker(broker_id);
  if (const auto err = rd_kafka_mock_partition_set_leader(cluster_, topic.c_str(), partition, broker_id))
    throw std::invalid_argument("cannot move " + topic + "/" + std::to_string(partition) + ": " + rd_kafka_err2str(err));
  std::lock_guard lock(mu_);
  auto& v = leaders_[topic];
  if (static_cast<std::size_t>(partition) >= v.size()) v.resize(static_cast<std::size_t>(partition) + 1, -1);
  v[static_cast<std::size_t>(partition)] = broker_id;
}

int MockCluster::drain(int broker_id) {
  check_broker(broker_id);
  std::vector<int> targets;
  std::vector<std::pair<std::string, int>> moves;
  {
    std::lock_guard lock(mu_);
    for (int b = 1; b <= brokers_; ++b)
      if (b != broker_id && up_[static_cast<std::size_t>(b - 1)]) targets.push_back(b);
    if (targets.empty()) throw std::invalid_argument("no other broker is up to take the partitions");
    for (const auto& [topic, leaders] : leaders_)
      for (std::size_t p = 0; p < leaders.size(); ++p)
        if (leaders[p] == -1 || leaders[p] == broker_id) moves.emplace_back(topic, static_cast<int>(p));
  }
  std::size_t next = 0;
  for (const auto& [topic, partition] : moves) set_partition_leader(topic, partition, targets[next++ % targets.size()]);
  return static_cast<int>(moves.size());
}

void MockCluster::set_coordinator(const std::string& key_type, const std::string& key, int broker_id) {
  check_broker(broker_id);
  if (key_type != "group" && key_type != "transaction")
    throw std::invalid_argument("coordinator type must be group or transaction");
  if (const auto err = rd_kafka_mock_coordinator_set(cluster_, key_type.c_str(), key.c_str(), broker_id))
    throw std::invalid_argument(std::string("coordinator: ") + rd_kafka_err2str(err));
}

std::map<std::string, std::vector<int>> MockCluster::leaders() const {
  std::lock_guard lock(mu_);
  return leaders_;
}

std::optional<int> MockCluster::api_key_from_name(const std::string& name) {
  if (all_digits(name, false)) {
    const int v = std::stoi(name);
    for (const auto& [n, k] : kApiKeys)
      if (k == v) return v;
    return std::nullopt;
  }
  for (const auto& [n, k] : kApiKeys)
    if (iequals(name, n)) return k;
  return std::nullopt;
}

std::optional<int> MockCluster::error_code_from_name(const std::string& name) {
  const rd_kafka_err_desc* descs = nullptr;
  std::size_t n = 0;
  rd_kafka_get_err_descs(&descs, &n);
  if (all_digits(name, true)) {
    const int v = std::stoi(name);
    for (std::size_t i = 0; i < n; ++i)
      if (descs[i].name && static_cast<int>(descs[i].code) == v) return v;
    return std::nullopt;
  }
  for (std::size_t i = 0; i < n; ++i)
    if (descs[i].name && iequals(name, descs[i].name)) return static_cast<int>(descs[i].code);
  return std::nullopt;
}

std::string MockCluster::error_name(int code) { return rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(code)); }

}  // namespace sw::kafka
