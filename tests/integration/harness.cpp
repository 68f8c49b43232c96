#include "harness.h"

#include "common/time.h"
#include "metrics/http_client.h"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <csignal>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sw::test {

using namespace std::chrono_literals;

std::string bin_dir() { return SW_BIN_DIR; }

std::string http_get(std::uint16_t port, const std::string& path, int* status) {
  auto r = metrics::http_get(port, path);
  if (status) *status = r.status;
  return std::move(r.body);
}

double metric_value(const std::string& text, const std::string& prefix) { return metrics::sum_samples(text, prefix); }

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() / ("sw-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}
TempDir::~TempDir() {
  std::error_code ec;
  if (!std::getenv("SW_KEEP_TEST_DIRS")) std::filesystem::remove_all(path_, ec);
}

DevBroker::DevBroker(const std::vector<std::string>& topics) {
  std::vector<std::string> args{"--control-port", "0"};
  for (const auto& t : topics) args.insert(args.end(), {"--topic", t});
  proc_ = std::make_unique<ChildProcess>(bin_dir() + "/streamwright-devbroker", args, ChildProcess::Options{});
  auto line = proc_->read_line(20s);
  if (!line) throw std::runtime_error("dev broker did not start");
  bootstrap_ = *line;
  auto control = proc_->read_line(20s);
  if (!control || control->rfind("control-port ", 0) != 0) throw std::runtime_error("dev broker: no control port");
  control_port_ = static_cast<std::uint16_t>(std::stoi(control->substr(13)));
}

std::string DevBroker::control(const std::string& path) const {
  int status = 0;
  auto body = http_get(control_port_, path, &status);
  if (status != 200) throw std::runtime_error("dev broker control " + path + ": " + std::to_string(status) + " " + body);
  return body;
}

Service::Service(const std::string& program, std::vector<std::string> args, const std::filesystem::path& log)
    : Service(program, std::move(args), log, {}) {}

Service::Service(const std::string& program, std::vector<std::string> args, const std::filesystem::path& log,
                 std::vector<std::string> env)
    : log_(log) {
  proc_ = std::make_unique<ChildProcess>(bin_dir() + "/" + program, args,
                                         ChildProcess::Options{true, log.string(), "", std::move(env)});
  auto line = proc_->read_line(60s);
  if (!line || line->rfind("metrics-port ", 0) != 0) {
    dump_log(log);
    throw std::runtime_error(program + " did not start");
  }
  port_ = static_cast<std::uint16_t>(std::stoi(line->substr(13)));
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
  return true;
}

bool holds_for(const std::function<bool()>& condition, std::chrono::milliseconds window,
               std::chrono::milliseconds poll) {
  const auto end = std::chrono::steady_clock::now() + window;
  do {
    if (!condition()) return false;
    std::this_thread::sleep_for(poll);
  } while (std::chrono::steady_clock::now() < end);
  return condition();
}

bool Service::wait_ready(std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    http_get(port_, "/readyz", &status);
    if (status == 200) return true;
    if (!proc_->running()) return false;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

void Service::kill9() {
  proc_->signal(SIGKILL);
  proc_->wait(10s);
}

int Service::stop() { return proc_->stop(60s); }

TestProducer::TestProducer(const std::string& bootstrap) {
  kafka::Config c;
  c.set(kafka::keys::bootstrap_servers, bootstrap);
  c.set(kafka::keys::linger_ms, 1);
  producer_ = std::make_unique<kafka::Producer>(c);
}

void kill_mid_stream(const std::string& bootstrap, Service& stateful, Service& victim, const std::string& input_topic,
                     const std::function<void()>& restart) {
  using namespace std::chrono_literals;
  EXPECT_TRUE(eventually([&] { return stateful.metric("streamwright_state_store_writes_total") > 0; }, 60s));
  const double commits_before = stateful.metric("streamwright_commits_total");
  EXPECT_TRUE(eventually([&] { return stateful.metric("streamwright_commits_total") > commits_before; }, 60s));
  TestProducer input(bootstrap);
  const auto since = input.records_in(input_topic);
  victim.kill9();
  EXPECT_TRUE(eventually([&] { return input.records_in(input_topic) >= since + 2000; }, 30s))
      << "no more input arrived while " << input_topic << "'s reader was down";
  restart();
}

std::vector<std::string> produce_live(const std::string& bootstrap, const std::string& topic, int partitions,
                                      std::chrono::milliseconds duration,
                                      const std::function<void(std::int64_t, std::string&, std::string&)>& next) {
  TestProducer p(bootstrap);
  std::vector<std::string> produced;
  std::string key, value;
  const auto end = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < end) {
    for (int b = 0; b < 20; ++b) {
      next(wall_clock_ms(), key, value);
      p.send(topic, static_cast<std::int32_t>(produced.size() % static_cast<std::size_t>(partitions)), key, value);
      produced.push_back(value);
    }
    std::this_thread::sleep_for(10ms);
  }
  p.flush();
  return produced;
}

std::int64_t TestProducer::records_in(const std::string& topic) const {
  std::int32_t partitions = 0;
  if (auto ec = producer_->partition_count(topic, partitions, 10s)) throw std::runtime_error("metadata: " + ec.message());
  std::int64_t total = 0;
  for (std::int32_t p = 0; p < partitions; ++p) {
    std::int64_t low = 0, high = 0;
    if (auto ec = producer_->query_watermarks(topic, p, low, high, 10s)) throw std::runtime_error("watermarks: " + ec.message());
    total += high;
  }
  return total;
}

void TestProducer::send(const std::string& topic, std::int32_t partition, const std::string& key,
                        const std::string& value) {
  const auto id = producer_->topic(topic);
  if (auto ec = producer_->send(id, partition, key, value, 0)) throw std::runtime_error("send: " + ec.message());
}

void TestProducer::flush() {
  if (auto ec = producer_->flush(30s)) throw std::runtime_error("flush: " + ec.message());
}

TopicReader::TopicReader(const std::string& bootstrap, const std::string& topic) {
  kafka::Config c;
  c.set(kafka::keys::bootstrap_servers, bootstrap);
  c.set(kafka::keys::fetch_wait_max_ms, 50);
  c.set(kafka::keys::auto_offset_reset, "earliest");
  consumer_ = std::make_unique<kafka::Consumer>(c, nullptr);
  std::int32_t n = 0;
  if (auto ec = consumer_->partition_count(topic, n, 10s)) throw std::runtime_error("metadata: " + ec.message());
  std::vector<kafka::TopicPartition> parts;
  for (std::int32_t p = 0; p < n; ++p) parts.push_back({topic, p, Offset::beginning(), {}});
  if (auto ec = consumer_->assign(parts)) throw std::runtime_error("assign: " + ec.message());
}

const std::vector<Record>& TopicReader::read_until(const std::function<bool(const std::vector<Record>&)>& done,
                                                   std::chrono::seconds timeout, std::chrono::milliseconds quiet) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto last_new = std::chrono::steady_clock::now();
  kafka::MessageBatch batch(1000);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto n = consumer_->poll(batch, 1000, 100ms);
    for (std::size_t i = 0; i < n; ++i) {
      const auto m = batch[i];
      if (m.error()) continue;
      Record r{m.partition(), m.offset(), std::string(m.key()), std::string(m.value()), {}};
      for (const char* h : {"streamwright.error", "streamwright.topic", "streamwright.offset", "streamwright.original-bytes"}) {
        std::string_view v;
        if (m.header(h, v)) r.headers[h] = std::string(v);
      }
      records_.push_back(std::move(r));
      last_new = std::chrono::steady_clock::now();
    }
    if (done(records_) && std::chrono::steady_clock::now() - last_new >= quiet) break;
  }
  return records_;
}

void dump_log(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::cerr << "----- " << log << " -----\n" << in.rdbuf() << "\n-----\n";
}

}  // namespace sw::test
