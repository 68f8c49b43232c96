// The producer's commit epochs against the dev broker: a commit covers exactly the records sent
// before its seal(), and the changelog checkpoint taken when it completes must not include the
// records sent after (they may be acknowledged first; local state does not hold them yet).
#include <gtest/gtest.h>

#include <thread>

#include "harness.h"
#include "kafka/client.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;

TEST(ProducerEpochs, LastAckedOffsetCoversOnlyTheSealedEpoch) {
  DevBroker broker({"changelog:2"});
  kafka::Config pc;
  pc.set(kafka::keys::bootstrap_servers, broker.bootstrap());
  pc.set(kafka::keys::linger_ms, 1);
  kafka::Producer producer(pc);
  const auto topic = producer.topic("changelog");
  producer.track_offsets(topic);

  for (int i = 0; i < 5; ++i) ASSERT_FALSE(producer.send(topic, 0, "k", "epoch-1"));  // offsets 0..4
  producer.seal();
  for (int i = 0; i < 7; ++i) ASSERT_FALSE(producer.send(topic, 0, "k", "epoch-2"));  // offsets 5..11
  ASSERT_FALSE(producer.flush(10s));  // both epochs acknowledged, the later one included
  EXPECT_TRUE(producer.sealed_acknowledged());
  EXPECT_EQ(producer.last_acked_offset(topic, 0), Offset::at(4));
  EXPECT_EQ(producer.last_acked_offset(topic, 1), Offset::none());

  producer.seal();  // epoch 2 sealed: its last record is offset 11
  EXPECT_EQ(producer.last_acked_offset(topic, 0), Offset::at(11));
  ASSERT_FALSE(producer.send(topic, 1, "k", "epoch-3"));
  producer.seal();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!producer.sealed_acknowledged() && std::chrono::steady_clock::now() < deadline) producer.poll_events(10ms);
  ASSERT_TRUE(producer.sealed_acknowledged());
  EXPECT_EQ(producer.last_acked_offset(topic, 1), Offset::at(0));
  EXPECT_FALSE(producer.take_delivery_error());
}

// A delivery failure inside an epoch is reported once the epoch is: its commit must not happen.
TEST(ProducerEpochs, AFailedRecordIsReportedToTheCommitOfItsEpoch) {
  DevBroker broker({"out:1"});
  kafka::Config pc;
  pc.set(kafka::keys::bootstrap_servers, broker.bootstrap());
  pc.set(kafka::keys::linger_ms, 1);
  pc.set_raw("message.timeout.ms", "2000");
  pc.set_raw("enable.idempotence", "false");
  pc.set_raw("retries", "0");
  kafka::Producer producer(pc);
  const auto topic = producer.topic("out");
  ASSERT_FALSE(producer.send(topic, 0, "k", "warm-up"));
  ASSERT_FALSE(producer.flush(10s));
  broker.control("/errors/Produce/NOT_ENOUGH_REPLICAS/1");
  ASSERT_FALSE(producer.send(topic, 0, "k", "fails"));
  producer.seal();
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (!producer.sealed_acknowledged() && std::chrono::steady_clock::now() < deadline) producer.poll_events(10ms);
  ASSERT_TRUE(producer.sealed_acknowledged());
  EXPECT_TRUE(producer.take_delivery_error());
  EXPECT_FALSE(producer.take_delivery_error());  // taken once
}

}  // namespace
// What the producer holds counts each record's bookkeeping as well as its bytes (backpressure
// pauses the input on it), and falls to zero once everything is acknowledged.
TEST(ProducerEpochs, UnacknowledgedBytesCountEachRecordsBookkeeping) {
  DevBroker broker({"out:1"});
  kafka::Config pc;
  pc.set(kafka::keys::bootstrap_servers, broker.bootstrap());
  pc.set(kafka::keys::linger_ms, 1000);  // nothing is acknowledged before the flush
  kafka::Producer producer(pc);
  const auto topic = producer.topic("out");
  ASSERT_FALSE(producer.send(topic, 0, "key", "value-1"));
  const std::string_view tombstone_key = "gone";
  ASSERT_FALSE(producer.send_with_headers(topic, 0, tombstone_key, nullptr, {{"h", "v"}}));
  EXPECT_EQ(producer.unacknowledged_bytes(), 3 + 7 + 4 + 2 * kafka::Producer::kRecordBookkeepingBytes);
  ASSERT_FALSE(producer.flush(10s));
  EXPECT_EQ(producer.unacknowledged_bytes(), 0u);
}

}  // namespace sw::test
