#pragma once
// Typed librdkafka configuration. Well-known keys are constants so a typo is a compile error;
// any other librdkafka property (TLS, SASL, tuning) passes through with set_raw().
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sw::kafka {

template <class T>
struct Key {
  std::string_view name;
};

namespace keys {
inline constexpr Key<std::string> bootstrap_servers{"bootstrap.servers"};
inline constexpr Key<std::string> client_id{"client.id"};
inline constexpr Key<std::string> group_id{"group.id"};
inline constexpr Key<std::string> auto_offset_reset{"auto.offset.reset"};
inline constexpr Key<std::string> partition_assignment_strategy{"partition.assignment.strategy"};
inline constexpr Key<std::string> isolation_level{"isolation.level"};
inline constexpr Key<std::string> compression_type{"compression.type"};
inline constexpr Key<std::string> acks{"acks"};
inline constexpr Key<bool> enable_auto_commit{"enable.auto.commit"};
inline constexpr Key<bool> enable_auto_offset_store{"enable.auto.offset.store"};
inline constexpr Key<bool> enable_idempotence{"enable.idempotence"};
inline constexpr Key<bool> enable_partition_eof{"enable.partition.eof"};
inline constexpr Key<std::int64_t> session_timeout_ms{"session.timeout.ms"};
inline constexpr Key<std::int64_t> heartbeat_interval_ms{"heartbeat.interval.ms"};
inline constexpr Key<std::int64_t> max_poll_interval_ms{"max.poll.interval.ms"};
inline constexpr Key<std::int64_t> fetch_wait_max_ms{"fetch.wait.max.ms"};
inline constexpr Key<std::int64_t> queued_min_messages{"queued.min.messages"};
inline constexpr Key<std::int64_t> queued_max_messages_kbytes{"queued.max.messages.kbytes"};
inline constexpr Key<std::int64_t> linger_ms{"linger.ms"};
inline constexpr Key<std::int64_t> batch_num_messages{"batch.num.messages"};
inline constexpr Key<std::int64_t> batch_size{"batch.size"};
inline constexpr Key<std::int64_t> queue_buffering_max_messages{"queue.buffering.max.messages"};
inline constexpr Key<std::int64_t> queue_buffering_max_kbytes{"queue.buffering.max.kbytes"};
inline constexpr Key<std::int64_t> message_max_bytes{"message.max.bytes"};
inline constexpr Key<std::int64_t> statistics_interval_ms{"statistics.interval.ms"};
inline constexpr Key<std::int64_t> topic_metadata_refresh_interval_ms{"topic.metadata.refresh.interval.ms"};
}  // namespace keys

class Config {
 public:
  Config& set(Key<std::string> k, std::string value) { return set_raw(std::string(k.name), std::move(value)); }
  Config& set(Key<bool> k, bool value) { return set_raw(std::string(k.name), value ? "true" : "false"); }
  Config& set(Key<std::int64_t> k, std::int64_t value) {
    return set_raw(std::string(k.name), std::to_string(value));
  }
  // Any librdkafka property; a later value for the same key replaces the earlier one.
  Config& set_raw(std::string key, std::string value);
  // Parses "key=value"; returns false if there is no '='.
  bool set_from_assignment(std::string_view assignment);

  // Sets every property given as an environment variable PREFIX<KEY>: KAFKA_PROPERTY_SASL_PASSWORD
  // sets sasl.password. Secrets can then come from a Kubernetes Secret instead of the command line.
  Config& set_from_environment(std::string_view prefix = "KAFKA_PROPERTY_");

  std::optional<std::string> get(std::string_view key) const;
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

  // The configuration as "k=v" lines with secrets (passwords, keys, tokens) replaced by "***".
  std::string redacted() const;
  static bool is_secret_key(std::string_view key);

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

}  // namespace sw::kafka
