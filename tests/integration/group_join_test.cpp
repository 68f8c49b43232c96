// kafka::Consumer::group_joining() against the dev broker. While a member rejoins its group for
// a rebalance, an offset commit queues behind its JoinGroup on the coordinator's connection, is
// checked against the generation that join creates, and is refused as an illegal generation;
// librdkafka then counts the member's partitions as lost. The stages hold their commits while
// group_joining() is true (CrashMonitorTest.ASurvivingReplicaKeepsItsPartitionsWhenTheOtherDies).
#include <gtest/gtest.h>

#include "harness.h"
#include "kafka/client.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Owned : kafka::RebalanceListener {
  int partitions = 0;
  int lost = 0;
  void on_partitions_assigned(std::vector<kafka::TopicPartition>& p) override { partitions += static_cast<int>(p.size()); }
  void on_partitions_revoked(const std::vector<kafka::TopicPartition>& p) override { partitions -= static_cast<int>(p.size()); }
  void on_partitions_lost(const std::vector<kafka::TopicPartition>& p) override {
    partitions -= static_cast<int>(p.size());
    ++lost;
  }
};

kafka::Config member(const DevBroker& broker, const std::string& extra_debug = "") {
  kafka::Config c;
  c.set(kafka::keys::bootstrap_servers, broker.bootstrap());
  c.set(kafka::keys::group_id, "joiners");
  c.set(kafka::keys::session_timeout_ms, kafka::kDefaultSessionTimeoutMs);
  c.set(kafka::keys::heartbeat_interval_ms, 500);
  if (!extra_debug.empty()) c.set_raw("debug", extra_debug);
  return c;
}

TEST(GroupJoin, AMemberRejoiningForARebalanceSaysSoUntilItHasItsNewAssignment) {
  DevBroker broker({"in:4"});
  kafka::MessageBatch batch(100);
  Owned a_owns;
  kafka::Consumer a(member(broker), &a_owns);
  ASSERT_FALSE(a.subscribe({"in"}));
  const auto until = [&](auto&& done, auto&& each) {
    const auto deadline = Clock::now() + 60s;
    while (!done() && Clock::now() < deadline) each();
    return done();
  };
  ASSERT_TRUE(until([&] { return a_owns.partitions == 4; }, [&] { a.poll(batch, 100, 20ms); }));
  EXPECT_FALSE(a.group_joining()) << "a member holding its assignment is not joining";

  // A second member (whose user asked for another debug context: it keeps it) starts a rebalance;
  // the first learns of it from a heartbeat and rejoins.
  Owned b_owns;
  kafka::Consumer b(member(broker, "fetch"), &b_owns);
  ASSERT_FALSE(b.subscribe({"in"}));
  bool a_was_joining = false;
  ASSERT_TRUE(until([&] { return a_owns.partitions == 2 && b_owns.partitions == 2; },
                    [&] {
                      a.poll(batch, 100, 10ms);
                      a_was_joining = a_was_joining || a.group_joining();
                      b.poll(batch, 100, 10ms);
                    }))
      << "the two members did not split the partitions: " << a_owns.partitions << " and " << b_owns.partitions;
  EXPECT_TRUE(a_was_joining) << "the rejoin went unnoticed";
  EXPECT_FALSE(a.group_joining());
  EXPECT_FALSE(b.group_joining());
  EXPECT_EQ(a_owns.lost + b_owns.lost, 0);
}

TEST(GroupJoin, TheJoinStepsAreReadFromLibrdkafkasJoinStateLine) {
  using kafka::detail::is_joining;
  EXPECT_TRUE(is_joining(R"(Group "g" changed join state steady -> init (state up))"));
  EXPECT_TRUE(is_joining(R"(Group "g" changed join state init -> wait-join (state up))"));
  EXPECT_TRUE(is_joining(R"(Group "g" changed join state wait-join -> wait-metadata (state up))"));
  EXPECT_TRUE(is_joining(R"(Group "g" changed join state wait-metadata -> wait-sync (state up))"));
  // From the assign or revoke call on, the member has its new generation.
  EXPECT_FALSE(is_joining(R"(Group "g" changed join state wait-sync -> wait-assign-call (state up))"));
  EXPECT_FALSE(is_joining(R"(Group "g" changed join state wait-sync -> wait-unassign-call (state up))"));
  EXPECT_FALSE(is_joining(R"(Group "g" changed join state wait-assign-call -> steady (state up))"));
  EXPECT_FALSE(is_joining("something else entirely"));
}

}  // namespace
}  // namespace sw::test
