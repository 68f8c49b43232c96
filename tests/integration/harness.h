#pragma once
// Integration-test harness: the real dev broker and services as processes, a producer and a
// topic reader built on the library's Kafka client.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/process.h"
#include "kafka/client.h"

namespace sw::test {

std::string bin_dir();
std::string http_get(std::uint16_t port, const std::string& path, int* status = nullptr);
double metric_value(const std::string& metrics_text, const std::string& name_with_labels_prefix);

// A loopback TCP port that was free a moment ago.
std::uint16_t free_port();

// Polls `condition` every `poll` until it holds or `timeout` passes; returns its last value.
// Tests wait for what they need this way, never for a fixed time.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = std::chrono::milliseconds(50));
// Polls `condition` every `poll` for `window`; false as soon as it fails. For what must keep
// holding while something else goes on (a stage stays up through an outage, paused input stays
// paused): the window is the observation, not a guess at how long something takes.
bool holds_for(const std::function<bool()>& condition, std::chrono::milliseconds window,
               std::chrono::milliseconds poll = std::chrono::milliseconds(50));

// A fresh temporary directory, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

class DevBroker {
 public:
  explicit DevBroker(const std::vector<std::string>& topics);  // "name:partitions"
  const std::string& bootstrap() const { return bootstrap_; }
  // A request to the dev broker's fault-injection interface, e.g. "/broker/1/down"; throws
  // unless it answers 200. Returns the body.
  std::string control(const std::string& path) const;
  pid_t pid() const { return proc_->pid(); }

 private:
  std::unique_ptr<ChildProcess> proc_;
  std::string bootstrap_;
  std::uint16_t control_port_ = 0;
};

class Service {
 public:
  Service(const std::string& program, std::vector<std::string> args, const std::filesystem::path& log);
  // With extra environment entries (KEY=VALUE), e.g. secrets that must stay off the command line.
  Service(const std::string& program, std::vector<std::string> args, const std::filesystem::path& log,
          std::vector<std::string> env);
  std::uint16_t port() const { return port_; }
  ChildProcess& process() { return *proc_; }
  // Waits until /readyz answers 200.
  bool wait_ready(std::chrono::seconds timeout);
  std::string metrics() const { return http_get(port_, "/metrics"); }
  double metric(const std::string& prefix) const { return metric_value(metrics(), prefix); }
  void kill9();
  int stop();
  const std::filesystem::path& log() const { return log_; }

 private:
  std::unique_ptr<ChildProcess> proc_;
  std::uint16_t port_ = 0;
  std::filesystem::path log_;
};

struct Record {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;
};

class TestProducer {
 public:
  explicit TestProducer(const std::string& bootstrap);
  void send(const std::string& topic, std::int32_t partition, const std::string& key, const std::string& value);
  void flush();
  // Records in the topic (the sum of its partitions' end offsets), asked of the broker.
  std::int64_t records_in(const std::string& topic) const;

 private:
  std::unique_ptr<kafka::Producer> producer_;
};

// A live stream: `next(now, key, value)` makes each record with event time = now; 20 records
// every 10 ms (about 2000/s) for `duration`, round-robin over `partitions`. Returns the values.
std::vector<std::string> produce_live(const std::string& bootstrap, const std::string& topic, int partitions,
                                      std::chrono::milliseconds duration,
                                      const std::function<void(std::int64_t, std::string&, std::string&)>& next);

// The SIGKILL of the pipelines' kill tests: once `stateful` has written state and committed it
// since (a changelog to restore from), `victim` dies while input flows into `input_topic`, and
// `restart` starts its replacement once 2000 more input records have arrived. Fails the test
// (non-fatally) if either wait times out.
void kill_mid_stream(const std::string& bootstrap, Service& stateful, Service& victim, const std::string& input_topic,
                     const std::function<void()>& restart);

// Reads every partition of a topic from the beginning.
class TopicReader {
 public:
  TopicReader(const std::string& bootstrap, const std::string& topic);
  // Reads until `done(records)` is true and then `quiet` passes without a new record, or until
  // the timeout. Returns everything read so far.
  const std::vector<Record>& read_until(const std::function<bool(const std::vector<Record>&)>& done,
                                        std::chrono::seconds timeout,
                                        std::chrono::milliseconds quiet = std::chrono::milliseconds(2000));

 private:
  std::unique_ptr<kafka::Consumer> consumer_;
  std::vector<Record> records_;
};

// Writes a service's log to stderr (for failed tests).
void dump_log(const std::filesystem::path& log);

}  // namespace sw::test
