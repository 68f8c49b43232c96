// kafka::OwedOffsets against the dev broker: offsets of durable work that a refused commit could
// not write stay owed, are held while the group rebalances, are sent once it has settled, and are
// never written for a partition the member no longer holds. The stage runner and the PostgreSQL
// sink commit through it (CrashMonitorTest.AnOffsetCommitRefusedDuringARebalanceIsSentAgainWithoutNewInput,
// TelemetraSinkOps.AnOffsetCommitRefusedDuringARebalanceIsSentAgain).
#include "kafka/owed_offsets.h"

#include <gtest/gtest.h>

#include "harness.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using kafka::OwedOffsets;

struct Holder : kafka::RebalanceListener {
  int partitions = 0;
  void on_partitions_assigned(std::vector<kafka::TopicPartition>& p) override { partitions += static_cast<int>(p.size()); }
  void on_partitions_revoked(const std::vector<kafka::TopicPartition>& p) override { partitions -= static_cast<int>(p.size()); }
  void on_partitions_lost(const std::vector<kafka::TopicPartition>& p) override { partitions -= static_cast<int>(p.size()); }
};

kafka::Config member(const DevBroker& broker) {
  kafka::Config c;
  c.set(kafka::keys::bootstrap_servers, broker.bootstrap());
  c.set(kafka::keys::group_id, "owers");
  c.set(kafka::keys::session_timeout_ms, kafka::kDefaultSessionTimeoutMs);
  c.set(kafka::keys::heartbeat_interval_ms, 500);
  return c;
}

kafka::TopicPartition at(std::string topic, std::int32_t partition, std::int64_t offset) {
  return {std::move(topic), partition, Offset::at(offset), {}};
}

// The group's committed offset of in[p], or -1 if it has none.
std::int64_t committed(kafka::Consumer& c, std::int32_t p) {
  std::vector<kafka::TopicPartition> tps{{"in", p, {}, {}}};
  if (c.committed(tps, 10s) || !tps[0].offset.is_absolute()) return -1;
  return tps[0].offset.value();
}

class OwedOffsetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(consumer.subscribe({"in"}));
    const auto deadline = Clock::now() + 60s;
    while (holder.partitions < 2 && Clock::now() < deadline) consumer.poll(batch, 100, 20ms);
    ASSERT_EQ(holder.partitions, 2);
  }
  DevBroker broker{{"in:2", "other:1"}};
  kafka::MessageBatch batch{100};
  Holder holder;
  kafka::Consumer consumer{member(broker), &holder};
};

TEST_F(OwedOffsetsTest, ARefusalDuringARebalanceKeepsThemOwedAndHeldUntilTheRebalanceEnds) {
  OwedOffsets owed;
  owed.owe(at("in", 0, 5));
  owed.owe(at("in", 1, 7));
  owed.owe(at("in", 1, 8));  // cumulative: the latest replaces the earlier
  broker.control("/errors/OffsetCommit/REBALANCE_IN_PROGRESS/1");
  const auto refused = owed.commit(consumer);
  ASSERT_TRUE(refused.has_value());
  EXPECT_TRUE(kafka::is(*refused, kafka::Errc::rebalance_in_progress)) << refused->message();
  EXPECT_EQ(owed.offsets().size(), 2U) << "a refused commit dropped its offsets";
  EXPECT_FALSE(owed.commit(consumer).has_value()) << "a commit was sent while the group rebalances";
  EXPECT_EQ(committed(consumer, 0), -1);

  owed.rebalance_ended();
  const auto sent = owed.commit(consumer);
  ASSERT_TRUE(sent.has_value());
  EXPECT_FALSE(*sent) << sent->message();
  EXPECT_TRUE(owed.empty());
  EXPECT_EQ(committed(consumer, 0), 5);
  EXPECT_EQ(committed(consumer, 1), 8);
  EXPECT_FALSE(owed.commit(consumer).has_value()) << "nothing is owed, nothing is sent";
}

TEST_F(OwedOffsetsTest, WithoutARebalanceCallbackAHeldCommitIsSentAgainOnItsOwn) {
  // A refusal whose rebalance never reaches this member (here: injected) holds commits only for
  // a while.
  OwedOffsets owed;
  owed.owe(at("in", 0, 3));
  broker.control("/errors/OffsetCommit/REBALANCE_IN_PROGRESS/1");
  ASSERT_TRUE(owed.commit(consumer).value());
  const auto deadline = Clock::now() + 30s;
  while (!owed.empty() && Clock::now() < deadline) {
    consumer.poll(batch, 100, 50ms);
    owed.commit(consumer);
  }
  EXPECT_TRUE(owed.empty()) << "the held offsets were never sent again";
  EXPECT_EQ(committed(consumer, 0), 3);
}

TEST_F(OwedOffsetsTest, APartitionGivenUpOrNotHeldIsNeverCommitted) {
  OwedOffsets owed;
  owed.owe(at("in", 0, 11));
  owed.owe(at("in", 1, 12));
  owed.owe(at("other", 0, 13));  // never assigned to this member
  owed.forget(at("in", 1, 0));   // revoked: its new owner replays it
  const auto sent = owed.commit(consumer);
  ASSERT_TRUE(sent.has_value());
  EXPECT_FALSE(*sent) << sent->message();
  EXPECT_TRUE(owed.empty());
  EXPECT_EQ(committed(consumer, 0), 11);
  EXPECT_EQ(committed(consumer, 1), -1) << "the offset of a partition given up was committed";
  std::vector<kafka::TopicPartition> other{{"other", 0, {}, {}}};
  ASSERT_FALSE(consumer.committed(other, 10s));
  EXPECT_FALSE(other[0].offset.is_absolute()) << "the offset of a partition never held was committed";
}

}  // namespace
}  // namespace sw::test
