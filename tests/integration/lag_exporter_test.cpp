// The lag exporter reports exactly the lag a test creates on purpose, in kafka_exporter's names.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "harness.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;

void commit(const std::string& bootstrap, const std::string& group, const std::vector<kafka::TopicPartition>& offsets) {
  kafka::Config c;
  c.set(kafka::keys::bootstrap_servers, bootstrap);
  c.set(kafka::keys::group_id, group);
  kafka::Consumer consumer(c, nullptr);
  ASSERT_FALSE(consumer.commit_sync(offsets));
}

TEST(LagExporter, ReportsTheLagCreatedOnPurpose) {
  TempDir dir;
  DevBroker broker({"events:4"});
  TestProducer producer(broker.bootstrap());
  for (int p = 0; p < 4; ++p)
    for (int i = 0; i < 25; ++i) producer.send("events", p, "k", "v" + std::to_string(i));
  producer.flush();
  // Partition 0 at 10 (lag 15), 1 caught up (0), 2 never committed (25), 3 at 5 (20).
  commit(broker.bootstrap(), "g1", {{"events", 0, Offset::at(10), {}}, {"events", 1, Offset::at(25), {}}, {"events", 3, Offset::at(5), {}}});

  Service exporter("streamwright-lag-exporter",
                   {"--bootstrap-servers", broker.bootstrap(), "--group", "g1=events", "--interval", "500ms",
                    "--port", "0"},
                   dir.path() / "exporter.log");
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    text = exporter.metrics();
    if (text.find("kafka_consumergroup_lag_sum") != std::string::npos) break;
    std::this_thread::sleep_for(200ms);
  }
  auto lag = [&](int p) {
    return metric_value(text, "kafka_consumergroup_lag{consumergroup=\"g1\",topic=\"events\",partition=\"" +
                                  std::to_string(p) + "\"}");
  };
  EXPECT_EQ(lag(0), 15);
  EXPECT_EQ(lag(1), 0);
  EXPECT_EQ(lag(2), 25);
  EXPECT_EQ(lag(3), 20);
  EXPECT_EQ(metric_value(text, "kafka_consumergroup_lag_sum{consumergroup=\"g1\",topic=\"events\"}"), 60);
  EXPECT_EQ(metric_value(text, "kafka_consumergroup_current_offset{consumergroup=\"g1\",topic=\"events\",partition=\"0\"}"), 10);
  EXPECT_EQ(metric_value(text, "kafka_consumergroup_current_offset{consumergroup=\"g1\",topic=\"events\",partition=\"2\"}"), -1);
  EXPECT_EQ(metric_value(text, "kafka_topic_partition_current_offset{topic=\"events\",partition=\"3\"}"), 25);
  EXPECT_EQ(metric_value(text, "kafka_topic_partition_oldest_offset{topic=\"events\",partition=\"3\"}"), 0);
  // Lag in seconds: the records are a moment old on lagging partitions, zero where caught up.
  EXPECT_EQ(metric_value(text, "kafka_consumergroup_lag_seconds{consumergroup=\"g1\",topic=\"events\",partition=\"1\"}"), 0);
  EXPECT_NE(text.find("kafka_consumergroup_lag_seconds{consumergroup=\"g1\",topic=\"events\",partition=\"0\"}"),
            std::string::npos)
      << text;

  // Consuming more moves the lag.
  commit(broker.bootstrap(), "g1", {{"events", 0, Offset::at(25), {}}});
  EXPECT_TRUE(eventually(
      [&] {
        text = exporter.metrics();
        return lag(0) == 0;
      },
      30s, 200ms))
      << text;
  EXPECT_EQ(metric_value(text, "kafka_consumergroup_lag_sum{consumergroup=\"g1\",topic=\"events\"}"), 45);

  const auto file = dir.path() / "scrape.txt";
  {
    std::ofstream out(file);
    out << text;
  }
  EXPECT_EQ(std::system(("promtool check metrics < " + file.string() + " > /dev/null 2>&1").c_str()), 0) << text;
  int status = 0;
  http_get(exporter.port(), "/healthz", &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(exporter.stop(), 0);
}

TEST(LagExporter, WatchesEveryGroupOfATopology) {
  TempDir dir;
  DevBroker broker({"logs:2", "crash-monitor-crashes-by-user-repartition:2"});
  TestProducer producer(broker.bootstrap());
  for (int i = 0; i < 7; ++i) producer.send("logs", 1, "k", "x");
  producer.flush();
  Service exporter("streamwright-lag-exporter",
                   {"--bootstrap-servers", broker.bootstrap(), "--topology", "crash-monitor", "--interval", "500ms",
                    "--port", "0"},
                   dir.path() / "exporter.log");
  std::string text;
  for (int i = 0; i < 100 && text.find("kafka_consumergroup_lag_sum") == std::string::npos; ++i) {
    std::this_thread::sleep_for(200ms);
    text = exporter.metrics();
  }
  EXPECT_EQ(metric_value(text, "kafka_consumergroup_lag_sum{consumergroup=\"crash-monitor-parse\",topic=\"logs\"}"), 7);
  EXPECT_NE(text.find("consumergroup=\"crash-monitor-aggregate\",topic=\"crash-monitor-crashes-by-user-repartition\""),
            std::string::npos);
}

}  // namespace
}  // namespace sw::test
