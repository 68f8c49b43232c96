// What the dev broker (librdkafka 2.0.2's mock cluster) does with Kafka transactions.
//
// Exactly-once mode rests on four broker behaviours: read_committed readers see a transaction's
// records only once it commits, never if it aborts; offsets sent to a transaction commit with
// it; a newer producer fences an older one with the same transactional.id. These tests pin down
// what the dev broker does (it accepts the whole transactional protocol, but implements none of
// those four), so that docs/guarantees.md can say exactly what was verified here and what only
// a real Kafka cluster can show. If a librdkafka upgrade changes the mock, a test fails and the
// docs must be revisited.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "harness.h"
#include "kafka/client.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;

kafka::Config producer_config(const std::string& bootstrap, const std::string& txn_id) {
  kafka::Config c;
  c.set(kafka::keys::bootstrap_servers, bootstrap);
  c.set_raw("transactional.id", txn_id);
  c.set_raw("transaction.timeout.ms", "10000");
  c.set(kafka::keys::linger_ms, 1);
  return c;
}

std::unique_ptr<kafka::Consumer> group_consumer(const std::string& bootstrap, const std::string& group) {
  kafka::Config c;
  c.set(kafka::keys::bootstrap_servers, bootstrap);
  c.set(kafka::keys::group_id, group);
  c.set(kafka::keys::auto_offset_reset, "earliest");
  c.set_raw("enable.auto.commit", "false");
  c.set(kafka::keys::fetch_wait_max_ms, 10);
  return std::make_unique<kafka::Consumer>(c, nullptr);
}

// Values of partition 0, read from the beginning by a read_committed (or read_uncommitted)
// consumer until nothing new arrives for `quiet`.
std::vector<std::string> read_values(const std::string& bootstrap, const std::string& topic, bool committed_only,
                                     std::chrono::milliseconds quiet = 1500ms) {
  kafka::Config c;
  c.set(kafka::keys::bootstrap_servers, bootstrap);
  c.set(kafka::keys::fetch_wait_max_ms, 10);
  c.set_raw("isolation.level", committed_only ? "read_committed" : "read_uncommitted");
  kafka::Consumer consumer(c, nullptr);
  EXPECT_FALSE(consumer.assign({{topic, 0, Offset::beginning(), {}}}));
  std::vector<std::string> values;
  kafka::MessageBatch batch(1000);
  auto last = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - last < quiet) {
    const auto n = consumer.poll(batch, 1000, 50ms);
    for (std::size_t i = 0; i < n; ++i) {
      if (batch[i].error()) continue;
      values.emplace_back(batch[i].value());
      last = std::chrono::steady_clock::now();
    }
  }
  batch.clear();
  return values;
}

// Polls until the group assigned the partition: transactional offset commits carry the
// member's generation, which exists only then.
void join(kafka::Consumer& consumer, kafka::MessageBatch& batch) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (consumer.assignment().empty() && std::chrono::steady_clock::now() < deadline) consumer.poll(batch, 1, 100ms);
  ASSERT_FALSE(consumer.assignment().empty()) << "no assignment within 20 s";
}

void send_all(kafka::Producer& p, const std::string& topic, const std::vector<std::string>& values) {
  const auto id = p.topic(topic);
  for (const auto& v : values) ASSERT_FALSE(p.send(id, 0, "k", v));
}

class DevBrokerTransactions : public ::testing::Test {
 protected:
  DevBroker broker{{"out:1", "in:1"}};
};

// The protocol works end to end: init, begin, produce, send offsets, commit. The records are
// visible; the offsets are not stored (a real broker stores 42 with its metadata), which is why
// the runtime also commits the offsets directly once a transaction has committed.
TEST_F(DevBrokerTransactions, CommittedTransactionIsVisibleButItsOffsetsAreNotStoredOnTheDevBroker) {
  kafka::Producer p(producer_config(broker.bootstrap(), "t-commit"));
  ASSERT_FALSE(p.init_transactions(30s)) << p.init_transactions(1s).message;
  auto consumer = group_consumer(broker.bootstrap(), "g-commit");
  ASSERT_FALSE(consumer->subscribe({"in"}));
  kafka::MessageBatch batch;
  join(*consumer, batch);
  ASSERT_FALSE(p.begin_transaction());
  send_all(p, "out", {"a", "b"});
  auto r = p.send_offsets_to_transaction({{"in", 0, Offset::at(42), "sw1;st=7"}}, *consumer, 30s);
  ASSERT_FALSE(r) << r.message;
  r = p.commit_transaction(30s);
  ASSERT_FALSE(r) << r.message;
  EXPECT_EQ(read_values(broker.bootstrap(), "out", true), (std::vector<std::string>{"a", "b"}));
  std::vector<kafka::TopicPartition> committed{{"in", 0, Offset::none(), {}}};
  ASSERT_FALSE(consumer->committed(committed, 10s));
  EXPECT_EQ(committed[0].offset, Offset::none())
      << "the dev broker now stores transactional offsets: update docs/guarantees.md";
  batch.clear();
  consumer->close();
}

// On a real broker an aborted transaction's records are skipped by read_committed consumers
// (the fetch response lists aborted transactions, and the abort marker ends them) and its
// offsets are never committed. The mock writes no control records and keeps no aborted
// transaction index: read_committed consumers see the aborted records.
TEST_F(DevBrokerTransactions, AbortedRecordsStayVisibleOnTheDevBroker) {
  kafka::Producer p(producer_config(broker.bootstrap(), "t-abort"));
  ASSERT_FALSE(p.init_transactions(30s));
  ASSERT_FALSE(p.begin_transaction());
  send_all(p, "out", {"aborted-1", "aborted-2"});
  ASSERT_FALSE(p.flush(10s));  // the records reached the broker before the abort
  ASSERT_FALSE(p.abort_transaction(30s));
  ASSERT_FALSE(p.begin_transaction());
  send_all(p, "out", {"committed"});
  ASSERT_FALSE(p.commit_transaction(30s));
  const auto seen = read_values(broker.bootstrap(), "out", true);
  EXPECT_EQ(seen, (std::vector<std::string>{"aborted-1", "aborted-2", "committed"}))
      << "the dev broker now filters aborted records: update docs/guarantees.md and the chaos suite";
}

TEST_F(DevBrokerTransactions, OffsetsOfAnAbortedTransactionAreNotCommitted) {
  // (Trivially true on the dev broker, which stores no transactional offsets at all; on a real
  // broker this is the property that makes a crashed transaction replay from its start.)
  kafka::Producer p(producer_config(broker.bootstrap(), "t-abort-offsets"));
  ASSERT_FALSE(p.init_transactions(30s));
  auto consumer = group_consumer(broker.bootstrap(), "g-abort");
  ASSERT_FALSE(consumer->subscribe({"in"}));
  kafka::MessageBatch batch;
  join(*consumer, batch);
  ASSERT_FALSE(p.begin_transaction());
  ASSERT_FALSE(p.send_offsets_to_transaction({{"in", 0, Offset::at(5), {}}}, *consumer, 30s));
  ASSERT_FALSE(p.commit_transaction(30s));
  ASSERT_FALSE(p.begin_transaction());
  ASSERT_FALSE(p.send_offsets_to_transaction({{"in", 0, Offset::at(9), {}}}, *consumer, 30s));
  ASSERT_FALSE(p.abort_transaction(30s));
  std::vector<kafka::TopicPartition> committed{{"in", 0, Offset::none(), {}}};
  ASSERT_FALSE(consumer->committed(committed, 10s));
  RecordProperty("offset_after_abort", committed[0].offset.to_string());
  EXPECT_NE(committed[0].offset, Offset::at(9));
  batch.clear();
  consumer->close();
}

// A read_committed consumer must not see a transaction's records before it commits (the last
// stable offset holds them back). The mock's last stable offset is its high watermark.
TEST_F(DevBrokerTransactions, OpenTransactionRecordsAreVisibleBeforeCommitOnTheDevBroker) {
  kafka::Producer p(producer_config(broker.bootstrap(), "t-open"));
  ASSERT_FALSE(p.init_transactions(30s));
  ASSERT_FALSE(p.begin_transaction());
  send_all(p, "out", {"pending"});
  ASSERT_FALSE(p.flush(10s));
  const auto before = read_values(broker.bootstrap(), "out", true, 1000ms);
  RecordProperty("visible_before_commit", std::to_string(before.size()));
  EXPECT_EQ(before.size(), 1u) << "the dev broker now holds open transactions back: update docs/guarantees.md";
  ASSERT_FALSE(p.commit_transaction(30s));
}

// On a real broker a second producer with the same transactional.id fences the first: its next
// transactional call fails fatally, so a zombie cannot commit. The dev broker lets both commit.
TEST_F(DevBrokerTransactions, SameTransactionalIdDoesNotFenceTheOlderProducerOnTheDevBroker) {
  kafka::Producer old_p(producer_config(broker.bootstrap(), "t-fence"));
  ASSERT_FALSE(old_p.init_transactions(30s));
  ASSERT_FALSE(old_p.begin_transaction());
  send_all(old_p, "out", {"zombie"});
  kafka::Producer new_p(producer_config(broker.bootstrap(), "t-fence"));
  ASSERT_FALSE(new_p.init_transactions(30s));
  const auto r = old_p.commit_transaction(10s);
  RecordProperty("fenced", r ? r.message : std::string("not fenced"));
  EXPECT_FALSE(r) << "the dev broker now fences (" << r.message << "): update docs/guarantees.md";
}

}  // namespace
}  // namespace sw::test
