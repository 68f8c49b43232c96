// The consumer's fetch wake-up against the dev broker. librdkafka 2.0 stops fetching once its
// read-ahead is full and looks again only when a broker thread wakes (up to a second later), so
// a small read-ahead turns a backlog into a train of one-second stalls; with the wake-up the
// consumer reads the same backlog without them. A wake-up never goes out for partitions that
// are paused or caught up.
#include <gtest/gtest.h>

#include <thread>

#include "harness.h"
#include "kafka/client.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kPartitions = 2;
constexpr std::size_t kRecordBytes = 1000;

void fill(const DevBroker& broker, const std::string& topic, int records) {
  kafka::Config pc;
  pc.set(kafka::keys::bootstrap_servers, broker.bootstrap());
  pc.set(kafka::keys::linger_ms, 5);
  kafka::Producer producer(pc);
  const auto t = producer.topic(topic);
  const std::string value(kRecordBytes, 'v');
  for (int i = 0; i < records; ++i)
    ASSERT_FALSE(producer.send(t, i % kPartitions, "k" + std::to_string(i), value));
  ASSERT_FALSE(producer.flush(30s));
}

// A consumer with a read-ahead of a few records' worth: every fetch fills it.
kafka::Config small_read_ahead(const DevBroker& broker) {
  kafka::Config c;
  c.set(kafka::keys::bootstrap_servers, broker.bootstrap());
  c.set(kafka::keys::fetch_wait_max_ms, 10);
  c.set(kafka::keys::queued_min_messages, 1000000);
  c.set(kafka::keys::queued_max_messages_kbytes, 64);
  c.set_raw("message.max.bytes", "65536");
  c.set_raw("fetch.max.bytes", "65536");
  c.set_raw("max.partition.fetch.bytes", "32768");
  return c;
}

struct Read {
  int records = 0;
  int stalls = 0;  // gaps of 700 ms or more between records
  double max_gap_ms = 0;
  double seconds = 0;
};

Read read_all(kafka::Consumer& consumer, int expect, std::chrono::seconds timeout) {
  Read r;
  kafka::MessageBatch batch(1000);
  const auto start = Clock::now();
  auto last = start;
  while (r.records < expect && Clock::now() - start < timeout) {
    const auto n = consumer.poll(batch, 1000, 20ms);
    if (n == 0) continue;
    const auto now = Clock::now();
    if (r.records > 0 && now - last >= 700ms) ++r.stalls;
    if (r.records > 0) r.max_gap_ms = std::max(r.max_gap_ms, std::chrono::duration<double, std::milli>(now - last).count());
    last = now;
    for (std::size_t i = 0; i < n; ++i)
      if (!batch[i].error()) ++r.records;
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  batch.clear();
  return r;
}

std::vector<kafka::TopicPartition> from_beginning(const std::string& topic) {
  std::vector<kafka::TopicPartition> out;
  for (int p = 0; p < kPartitions; ++p) out.push_back({topic, p, Offset::beginning(), {}});
  return out;
}

TEST(FetchWakeup, AFullReadAheadFetchesAgainWithoutWaitingForTheBrokerThread) {
  DevBroker broker({"in:" + std::to_string(kPartitions)});
  constexpr int kRecords = 3000;  // about 45 fills of the read-ahead; 2.5-3.5 s without the wake-up
  fill(broker, "in", kRecords);

  // Without the wake-up: the stall this guards against (the test would pass without it otherwise).
  {
    kafka::Consumer consumer(small_read_ahead(broker), nullptr);
    ASSERT_FALSE(consumer.assign(from_beginning("in")));
    const auto r = read_all(consumer, kRecords, 60s);
    EXPECT_EQ(r.records, kRecords);
    EXPECT_GE(r.stalls, 1) << "librdkafka no longer stalls on a full read-ahead (" << r.seconds << " s, longest gap "
                           << r.max_gap_ms << " ms): the wake-up may be unneeded";
    EXPECT_EQ(consumer.fetch_wakeups(), 0u);
  }
  kafka::Consumer consumer(small_read_ahead(broker), nullptr);
  consumer.set_fetch_wakeup(kafka::kFetchWakeupQuiet);
  ASSERT_FALSE(consumer.assign(from_beginning("in")));
  const auto r = read_all(consumer, kRecords, 60s);
  EXPECT_EQ(r.records, kRecords);
  EXPECT_GT(consumer.fetch_wakeups(), 0u);
  // Without the wake-up: two or three.
  EXPECT_EQ(r.stalls, 0) << r.seconds << " s, longest gap " << r.max_gap_ms << " ms";
}

// librdkafka also stops at a message count (queued.min.messages), which the stages set so that
// small records cannot fill memory with per-record headers. A queue full by count must be
// woken as it drains, like one full by bytes. The quiet wake-up is set far out, so only the
// drain can wake it here.
TEST(FetchWakeup, AReadAheadFullByCountFetchesAgainAsItDrains) {
  DevBroker broker({"in:" + std::to_string(kPartitions)});
  constexpr int kRecords = 3000;
  fill(broker, "in", kRecords);
  auto by_count = [&] {
    auto c = small_read_ahead(broker);
    c.set(kafka::keys::queued_max_messages_kbytes, 65536);
    c.set(kafka::keys::queued_min_messages, 40);
    return c;
  };
  {
    kafka::Consumer consumer(by_count(), nullptr);
    ASSERT_FALSE(consumer.assign(from_beginning("in")));
    const auto r = read_all(consumer, kRecords, 60s);
    EXPECT_EQ(r.records, kRecords);
    EXPECT_GE(r.stalls, 1) << "librdkafka no longer stalls on a read-ahead full by count (" << r.seconds << " s)";
  }
  kafka::Consumer consumer(by_count(), nullptr);
  consumer.set_fetch_wakeup(std::chrono::milliseconds(60000));
  ASSERT_FALSE(consumer.assign(from_beginning("in")));
  const auto r = read_all(consumer, kRecords, 60s);
  EXPECT_EQ(r.records, kRecords);
  EXPECT_GT(consumer.fetch_wakeups(), 0u);
  EXPECT_EQ(r.stalls, 0) << r.seconds << " s, longest gap " << r.max_gap_ms << " ms";
}

TEST(FetchWakeup, PausedAndCaughtUpPartitionsAreNotWoken) {
  DevBroker broker({"in:" + std::to_string(kPartitions)});
  fill(broker, "in", 200);
  kafka::Consumer consumer(small_read_ahead(broker), nullptr);
  consumer.set_fetch_wakeup(kafka::kFetchWakeupQuiet);
  ASSERT_FALSE(consumer.assign(from_beginning("in")));

  // One record handed out: the rest of the backlog is known (from the fetch's watermarks).
  kafka::MessageBatch batch(1);
  const auto deadline = Clock::now() + 20s;
  while (Clock::now() < deadline && consumer.poll(batch, 1, 20ms) == 0) {
  }
  ASSERT_EQ(batch.size(), 1u);
  batch.clear();
  // Paused with records left: quiet, but nothing to wake.
  ASSERT_FALSE(consumer.pause(consumer.assignment()));
  const auto before = consumer.fetch_wakeups();
  for (auto until = Clock::now() + 300ms; Clock::now() < until;) {
    (void)consumer.poll(batch, 1, 20ms);
    batch.clear();
  }
  bool lag = false;
  for (const auto& tp : consumer.assignment()) {
    std::int64_t low = 0, high = 0;
    const auto pos = consumer.position(tp.topic, tp.partition);
    if (pos.is_absolute() && consumer.cached_watermarks(tp.topic, tp.partition, low, high)) lag = lag || high > pos.value();
  }
  ASSERT_TRUE(lag) << "the test needs a paused partition with records left";
  EXPECT_EQ(consumer.fetch_wakeups(), before);

  // Resumed: everything arrives; then caught up and quiet, and nothing is woken.
  ASSERT_FALSE(consumer.resume(consumer.assignment()));
  int total = 1;
  kafka::MessageBatch more(1000);
  for (auto until = Clock::now() + 20s; total < 200 && Clock::now() < until;) {
    total += static_cast<int>(consumer.poll(more, 1000, 20ms));
    more.clear();
  }
  ASSERT_EQ(total, 200);
  const auto caught_up = consumer.fetch_wakeups();
  for (auto until = Clock::now() + 300ms; Clock::now() < until;) (void)consumer.poll(more, 1000, 20ms);
  EXPECT_EQ(consumer.fetch_wakeups(), caught_up);
}

// A caught-up read_committed consumer must count as caught up, or its quiet wake-ups would go
// out every 20 ms for good. On Kafka a transaction's commit marker takes an offset that is never
// handed out (the position moves past it); the dev broker writes no marker, so here the high
// watermark is the record count and the test checks only that position and high agree.
TEST(FetchWakeup, ACaughtUpReadCommittedConsumerIsNotWoken) {
  DevBroker broker({"in:1"});
  {
    kafka::Config pc;
    pc.set(kafka::keys::bootstrap_servers, broker.bootstrap());
    pc.set_raw("transactional.id", "fetch-wakeup-test");
    kafka::Producer producer(pc);
    ASSERT_FALSE(producer.init_transactions(30s));
    ASSERT_FALSE(producer.begin_transaction());
    const auto t = producer.topic("in");
    for (int i = 0; i < 10; ++i) ASSERT_FALSE(producer.send(t, 0, "k", "v"));
    ASSERT_FALSE(producer.commit_transaction(30s));
  }
  auto c = small_read_ahead(broker);
  c.set(kafka::keys::isolation_level, "read_committed");
  kafka::Consumer consumer(c, nullptr);
  consumer.set_fetch_wakeup(kafka::kFetchWakeupQuiet);
  ASSERT_FALSE(consumer.assign({{"in", 0, Offset::beginning(), {}}}));
  int got = 0;
  kafka::MessageBatch batch(100);
  for (auto until = Clock::now() + 20s; got < 10 && Clock::now() < until;) {
    got += static_cast<int>(consumer.poll(batch, 100, 20ms));
    batch.clear();
  }
  ASSERT_EQ(got, 10);
  const auto before = consumer.fetch_wakeups();
  for (auto until = Clock::now() + 500ms; Clock::now() < until;) (void)consumer.poll(batch, 100, 20ms);
  std::int64_t low = 0, high = 0;
  ASSERT_TRUE(consumer.cached_watermarks("in", 0, low, high));
  EXPECT_GE(high, 10);
  EXPECT_EQ(consumer.position("in", 0), Offset::at(high));
  EXPECT_EQ(consumer.fetch_wakeups(), before);
}

}  // namespace
}  // namespace sw::test
