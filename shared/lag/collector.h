#pragma once
// Consumer-group lag read from Kafka itself, for any Kafka (and the dev broker): committed offsets
// (OffsetFetch) and watermarks (ListOffsets) only, so it needs neither __consumer_offsets nor
// DescribeGroups, and it never joins the groups it watches. The lag exporter publishes what it
// collects as kafka_exporter's metrics; the console shows it.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common/time.h"
#include "kafka/config.h"

namespace sw::kafka {
class Consumer;
}

namespace sw::lag {

struct GroupSpec {
  std::string group;
  std::vector<std::string> topics;
};

// One partition of a watched topic as one group sees it.
struct PartitionLag {
  std::string group, topic;
  std::int32_t partition = 0;
  std::int64_t committed = -1;  // the group's committed offset; negative: none yet
  std::int64_t low = 0, high = 0;  // oldest retained offset, next offset to be written
  // Timestamp of the oldest unconsumed record (the one at from()); nullopt when caught up or
  // when it could not be read in time.
  std::optional<TimestampMs> oldest_unconsumed_ms;

  // Where the group resumes: its committed offset, or the oldest retained one without a commit
  // (kafka_exporter then reports the offset as -1 and everything retained as lag).
  std::int64_t from() const noexcept { return committed >= 0 ? committed : low; }
  std::int64_t lag_records() const noexcept { return high > from() ? high - from() : 0; }
  // Age of the oldest unconsumed record at `now`: 0 when caught up, nullopt when unknown.
  std::optional<double> lag_seconds(TimestampMs now) const noexcept {
    if (lag_records() == 0) return 0.0;
    if (!oldest_unconsumed_ms || *oldest_unconsumed_ms <= 0) return std::nullopt;
    return static_cast<double>(now > *oldest_unconsumed_ms ? now - *oldest_unconsumed_ms : 0) / 1000.0;
  }
};

// Watermarks of one partition of a topic no group watched here reads (or of any watched topic).
struct PartitionOffsets {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t low = 0, high = 0;
};

struct Collection {
  std::vector<PartitionLag> partitions;    // every partition of every group's topics that answered
  std::vector<PartitionOffsets> topics;    // every partition of every topic read, once each
  std::vector<std::string> warnings;       // failed requests worth logging (topic or group level)
  unsigned failed_requests = 0;            // every failed broker request, partition level included
  TimestampMs at_ms = 0;                   // wall clock when the collection ended
  double seconds = 0;                      // how long it took
  bool cancelled = false;                  // cancel() cut it short
  bool ok() const noexcept { return failed_requests == 0 && !cancelled; }
};

class Collector {
 public:
  // `client_id` names the clients (brokers log it); the consumer that reads the oldest unconsumed
  // records uses the group id `<client_id>-peek` with assign() only, so it never joins a group.
  // `extra_topics` have their watermarks read too (no group reads them: changelogs, outputs).
  Collector(std::string bootstrap, kafka::Config extra, std::vector<GroupSpec> groups, std::string client_id,
            std::vector<std::string> extra_topics = {});
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // One round: committed offsets and watermarks of every group's topics, the timestamps of the
  // oldest unconsumed records, and the extra topics' watermarks. Each broker request waits at
  // most `request_timeout`. Not thread-safe: one caller at a time.
  Collection collect(std::chrono::milliseconds request_timeout = std::chrono::seconds(5));
  // From any thread, for shutting down: a collect() in progress returns after its current
  // request, and every later one at once.
  void cancel() noexcept { cancelled_.store(true); }

 private:
  kafka::Config base() const;
  kafka::Consumer& group_consumer(const std::string& group);
  void read_oldest_unconsumed(Collection& out);

  std::string bootstrap_;
  kafka::Config extra_;
  std::vector<GroupSpec> groups_;
  std::string client_id_;
  std::vector<std::string> extra_topics_;
  std::map<std::string, std::unique_ptr<kafka::Consumer>> consumers_;
  std::unique_ptr<kafka::Consumer> peek_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace sw::lag
