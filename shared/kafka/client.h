#pragma once
// RAII Kafka clients over librdkafka. Only this module includes rdkafka.h; the types below use
// forward-declared handles. Constructors throw KafkaError (start-up); hot-path calls return
// std::error_code.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "kafka/config.h"
#include "kafka/error.h"
#include "kafka/types.h"

struct rd_kafka_s;
struct rd_kafka_topic_s;
struct rd_kafka_message_s;
struct rd_kafka_queue_s;

namespace sw::kafka {

namespace detail {
struct HandleDeleter {
  void operator()(rd_kafka_s* rk) const noexcept;
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_s* q) const noexcept;
};
struct TopicDeleter {
  void operator()(rd_kafka_topic_s* t) const noexcept;
};
using HandlePtr = std::unique_ptr<rd_kafka_s, HandleDeleter>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_s, QueueDeleter>;
using TopicPtr = std::unique_ptr<rd_kafka_topic_s, TopicDeleter>;
// Whether a librdkafka "CGRPJOINSTATE" debug line ("... changed join state A -> B (state up)")
// enters a step of a group join in which the member's generation is about to change.
bool is_joining(std::string_view join_state_line) noexcept;
}  // namespace detail

// A consumed record: a view that stays valid while the MessageBatch that holds it lives.
class Message {
 public:
  explicit Message(const rd_kafka_message_s* m) : m_(m) {}
  std::error_code error() const noexcept;
  std::string_view topic() const noexcept;
  std::int32_t partition() const noexcept;
  std::int64_t offset() const noexcept;
  std::string_view key() const noexcept;
  std::string_view value() const noexcept;
  bool value_is_null() const noexcept;
  std::int64_t timestamp_ms() const noexcept;  // -1 when the record has none
  // Looks up a header by name; returns false if absent.
  bool header(std::string_view name, std::string_view& value) const noexcept;

 private:
  const rd_kafka_message_s* m_;
};

// Holds consumed messages. Clear (or destroy) it before the Consumer that filled it: librdkafka
// waits for every outstanding message when its client is destroyed.
class MessageBatch {
 public:
  MessageBatch() = default;
  explicit MessageBatch(std::size_t capacity) { msgs_.reserve(capacity); }
  MessageBatch(const MessageBatch&) = delete;
  MessageBatch& operator=(const MessageBatch&) = delete;
  ~MessageBatch() { clear(); }
  void clear() noexcept;
  std::size_t size() const noexcept { return msgs_.size(); }
  bool empty() const noexcept { return msgs_.empty(); }
  Message operator[](std::size_t i) const noexcept { return Message(msgs_[i]); }
  // Called while processing record i: starts loading the records a few places ahead (their
  // headers, then their payloads), which would otherwise be cache misses on the hot path.
  void prefetch_ahead(std::size_t i) const noexcept;

 private:
  friend class Consumer;
  std::vector<rd_kafka_message_s*> msgs_;
};

// Called from Consumer::poll() on the polling thread.
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // Partitions newly assigned (cooperative: incremental). The listener may set each entry's
  // offset to choose where consumption starts; none or Offset::committed() means the group's
  // committed offset.
  virtual void on_partitions_assigned(std::vector<TopicPartition>& partitions) = 0;
  // Partitions about to be taken away: flush and commit now.
  virtual void on_partitions_revoked(const std::vector<TopicPartition>& partitions) = 0;
  // Partitions lost without a chance to commit (session timeout): drop their state.
  virtual void on_partitions_lost(const std::vector<TopicPartition>& partitions) = 0;
};

class ClientBase {
 public:
  ClientBase(const ClientBase&) = delete;
  ClientBase& operator=(const ClientBase&) = delete;
  virtual ~ClientBase() = default;

  // Number of partitions of a topic from broker metadata; error if the topic does not exist.
  [[nodiscard]] std::error_code partition_count(const std::string& topic, std::int32_t& count,
                                  std::chrono::milliseconds timeout) const;
  // Low and high watermark offsets, asked of the broker.
  [[nodiscard]] std::error_code query_watermarks(const std::string& topic, std::int32_t partition, std::int64_t& low,
                                   std::int64_t& high, std::chrono::milliseconds timeout) const;
  // Serves queued callbacks (delivery reports, logs, errors).
  int poll_events(std::chrono::milliseconds timeout);
  // The first fatal or broker-wide error seen by the error callback, if any.
  [[nodiscard]] std::error_code fatal_error() const noexcept {
    return make_kafka_error(fatal_error_code_.load(std::memory_order_relaxed));
  }
  // Creates topics through the Admin API. Brokers that do not support it (the dev broker) and
  // topics that exist already are not errors; the returned list names the topics that failed.
  std::vector<std::string> create_topics(const std::vector<TopicSpec>& topics, std::chrono::milliseconds timeout);

 protected:
  ClientBase() = default;
  void create(bool producer, const Config& config);
  rd_kafka_s* handle() const noexcept { return rk_.get(); }
  virtual void on_delivery(const rd_kafka_message_s*) {}
  friend struct Callbacks;

  detail::HandlePtr rk_;
  std::atomic<int> fatal_error_code_{0};
  // A group member's join state, followed through librdkafka's "cgrp" debug log (librdkafka 2.0
  // has no other signal that a rebalance has begun): true from the moment it rejoins until it
  // has its new assignment.
  std::atomic<bool> group_joining_{false};
  // The "cgrp" debug context was turned on only to follow the join state: its lines are dropped.
  bool drop_debug_log_ = false;
};

// The services' fetch wake-up (Consumer::set_fetch_wakeup): two empty fetch waits
// (fetch.wait.max.ms is 10 ms) without a record while records wait on the broker.
inline constexpr std::chrono::milliseconds kFetchWakeupQuiet{20};

// The record count (queued.min.messages) that keeps a read-ahead of `budget_bytes` inside its
// budget: librdkafka's byte limit counts only the records' bytes, and each queued record also
// holds its op and message headers (about 512 B with the allocator's share). With the byte limit
// alone, 32 MiB of 50-byte records held another 200-300 MiB of headers.
inline constexpr std::int64_t kQueuedRecordBytes = 512;
inline std::int64_t read_ahead_records(std::int64_t budget_bytes) noexcept {
  return std::max<std::int64_t>(1000, budget_bytes / kQueuedRecordBytes);
}

class Consumer : public ClientBase {
 public:
  // group.id set: a group member (cooperative-sticky). Without it: a plain assign() consumer.
  Consumer(const Config& config, RebalanceListener* listener);
  ~Consumer() override;

  [[nodiscard]] std::error_code subscribe(const std::vector<std::string>& topics);
  [[nodiscard]] std::error_code assign(const std::vector<TopicPartition>& partitions);
  // Fetches up to max records into the batch (which is cleared first); serves rebalances.
  std::size_t poll(MessageBatch& batch, std::size_t max, std::chrono::milliseconds timeout);
  [[nodiscard]] std::error_code commit_sync(const std::vector<TopicPartition>& offsets);
  // Starts a commit and returns at once; its outcome is not reported (for offsets that are only
  // a hint, such as the lake sink's: its positions live in the Delta log).
  [[nodiscard]] std::error_code commit_async(const std::vector<TopicPartition>& offsets);
  // Fills offset and metadata of each entry from the group's committed offsets.
  [[nodiscard]] std::error_code committed(std::vector<TopicPartition>& partitions, std::chrono::milliseconds timeout);
  [[nodiscard]] std::error_code pause(const std::vector<TopicPartition>& partitions);
  [[nodiscard]] std::error_code resume(const std::vector<TopicPartition>& partitions);
  [[nodiscard]] std::error_code seek(const TopicPartition& tp, std::chrono::milliseconds timeout);
  // Consumer position (next offset to fetch), or none before the first fetch.
  Offset position(const std::string& topic, std::int32_t partition) const;
  // Watermarks as last seen in fetch responses (no broker round trip); false if unknown.
  bool cached_watermarks(const std::string& topic, std::int32_t partition, std::int64_t& low,
                         std::int64_t& high) const;
  std::vector<TopicPartition> assignment() const;
  // librdkafka 2.0 stops fetching once its read-ahead limits are reached, and looks again only
  // when a broker thread next wakes: up to a second later, even when the queue drained long
  // before. With a wake-up set, poll() asks one lagging partition per leader for its watermarks
  // (the request wakes that broker's thread, which then fetches again) when the queue, having
  // been near its byte limit, has drained to half of it, or when it has been empty for `quiet`
  // while an assigned, unpaused partition has records left on the broker. A wake-up reads
  // nothing and moves no position. Zero (the default) turns it off.
  void set_fetch_wakeup(std::chrono::milliseconds quiet) noexcept { wakeup_quiet_ = quiet; }
  // Wake-ups sent (each is one request per leader of a lagging partition).
  std::uint64_t fetch_wakeups() const noexcept { return wakeups_; }
  // Leaves the group (triggers the revoke callback) and stops fetching. Idempotent. Rethrows
  // an exception the revoke callback raised.
  void close();
  const std::string& group_id() const noexcept { return group_id_; }
  // The member is (re)joining its group: a JoinGroup or SyncGroup is in flight. An offset commit
  // sent now queues behind the JoinGroup on the coordinator's connection, is checked against the
  // generation that join creates and refused as an illegal generation, after which librdkafka
  // counts the member's partitions as lost and joins once more. Commits wait until it is false.
  bool group_joining() const noexcept { return group_joining_.load(std::memory_order_acquire); }

 private:
  friend struct Callbacks;
  friend class Producer;  // reads the group metadata for transactional offset commits
  void handle_rebalance(int err, void* partitions);
  void rebalance(int err, void* partitions);
  // The fetch wake-up: see set_fetch_wakeup().
  void wake_fetchers(bool only_lagging);
  void forget_paused(void* partitions);

  RebalanceListener* listener_;
  detail::QueuePtr queue_;
  std::chrono::milliseconds wakeup_quiet_{0};
  std::int64_t queue_limit_bytes_ = 0;     // queued.max.messages.kbytes
  std::int64_t queue_limit_messages_ = 0;  // queued.min.messages (librdkafka's count limit)
  double record_bytes_ = 0;             // moving average of a consumed record's key and value
  bool queue_was_full_ = false;
  std::chrono::steady_clock::time_point last_activity_{};  // last record or wake-up
  std::uint64_t wakeups_ = 0;
  std::vector<std::pair<std::string, std::int32_t>> paused_;  // sorted
  std::unordered_map<std::string, std::vector<std::int32_t>> leaders_;  // topic -> leader per partition
  std::chrono::steady_clock::time_point leaders_at_{};
  std::string group_id_;
  bool closed_ = false;
  std::exception_ptr callback_error_;
};

// The outcome of a transactional call, with librdkafka's classification of the error.
struct [[nodiscard]] TxnResult {
  std::error_code error;
  bool retriable = false;  // the same call may be tried again
  bool abortable = false;  // the transaction must be aborted; the producer stays usable
  bool fatal = false;      // the producer is unusable (fenced by a newer instance, ...)
  std::string message;
  explicit operator bool() const noexcept { return static_cast<bool>(error); }
};

class Producer : public ClientBase {
 public:
  // Idempotence is on unless the configuration turns it off explicitly.
  explicit Producer(const Config& config);
  ~Producer() override;

  using TopicId = std::uint32_t;
  // Resolves a topic name once; use the id on the hot path.
  TopicId topic(const std::string& name);
  const std::string& topic_name(TopicId id) const { return topics_[id].name; }

  // Enqueues a record (copied). kAnyPartition lets librdkafka's partitioner choose.
  // Blocks while the local queue is full (backpressure), serving delivery reports.
  [[nodiscard]] std::error_code send(TopicId topic, std::int32_t partition, std::string_view key, std::string_view value,
                       std::int64_t timestamp_ms = 0);
  // A record with headers (rare paths: dead letters); value may be null (tombstone).
  [[nodiscard]] std::error_code send_with_headers(TopicId topic, std::int32_t partition, std::string_view key,
                                    const std::string_view* value,
                                    const std::vector<std::pair<std::string, std::string>>& headers,
                                    std::int64_t timestamp_ms = 0);
  // Waits until every enqueued record is acknowledged. Returns the first delivery error since
  // the previous flush, or timed_out.
  [[nodiscard]] std::error_code flush(std::chrono::milliseconds timeout);
  std::size_t in_flight() const noexcept;
  // Records accepted by send() and send_with_headers() since the producer was created.
  std::uint64_t sent() const noexcept { return sent_; }
  // Memory held by records accepted but not yet reported delivered (or failed): key, value and
  // librdkafka's bookkeeping of each record (kRecordBookkeepingBytes, an estimate), which is as
  // large as the record itself for the small records of a telemetry stream. Delivery reports are
  // served by poll_events(), flush() and commits.
  static constexpr std::uint64_t kRecordBookkeepingBytes = 256;
  std::uint64_t unacknowledged_bytes() const noexcept {
    return sent_bytes_ - reported_bytes_.load(std::memory_order_relaxed);
  }
  std::uint64_t delivered() const noexcept { return delivered_.load(std::memory_order_relaxed); }
  // Epochs, for commits that do not stop the world: seal() closes the current epoch (every
  // record sent so far) and opens the next; sealed_acknowledged() says when each record of the
  // sealed epoch has been reported (delivered or failed). A new epoch may be sealed only once
  // the previous sealed one is acknowledged (one commit in flight); seal() waits for it if not.
  void seal();
  bool sealed_acknowledged() const noexcept;
  // The first delivery error since the previous call (or flush()), if any.
  [[nodiscard]] std::error_code take_delivery_error();
  // Remembers the offset of each acknowledged record of this topic (per partition).
  void track_offsets(TopicId topic);
  // Offset of the last acknowledged record of a tracked topic's partition among the records of
  // the sealed epoch (sent before the last seal()), or none.
  Offset last_acked_offset(TopicId topic, std::int32_t partition) const;

  // Transactions (the configuration sets transactional.id). Outputs sent between begin and
  // commit, and the input offsets given to send_offsets_to_transaction, become visible to
  // read_committed consumers atomically at commit, or never.
  [[nodiscard]] TxnResult init_transactions(std::chrono::milliseconds timeout);
  [[nodiscard]] TxnResult begin_transaction();
  // Commits `offsets` of `consumer`'s group as part of the transaction, fenced by the group's
  // generation (KIP-447): a zombie that lost its partitions cannot commit.
  [[nodiscard]] TxnResult send_offsets_to_transaction(const std::vector<TopicPartition>& offsets, const Consumer& consumer,
                                        std::chrono::milliseconds timeout);
  [[nodiscard]] TxnResult commit_transaction(std::chrono::milliseconds timeout);
  [[nodiscard]] TxnResult abort_transaction(std::chrono::milliseconds timeout);

 private:
  void on_delivery(const rd_kafka_message_s* m) override;
  struct TopicEntry {
    std::string name;
    detail::TopicPtr rkt;
  };
  std::vector<TopicEntry> topics_;
  std::unordered_map<std::string, TopicId> topic_ids_;
  std::atomic<int> first_delivery_error_{0};
  std::atomic<std::uint64_t> delivered_{0};
  std::uint64_t sent_ = 0;
  std::uint64_t sent_bytes_ = 0;
  std::atomic<std::uint64_t> reported_bytes_{0};
  // [epoch parity][topic id][partition], tracked topics only.
  std::array<std::vector<std::vector<std::int64_t>>, 2> acked_offsets_;
  std::array<std::atomic<std::int64_t>, 2> unreported_{};  // records not yet reported, per epoch parity
  unsigned epoch_ = 0;                                      // parity of the open epoch
  unsigned sealed_ = 1;                                     // parity of the last sealed epoch
};

// librdkafka's version string, for --version output.
std::string librdkafka_version();

}  // namespace sw::kafka
