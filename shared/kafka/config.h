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

// How long the group waits for a replica that stopped heartbeating (SIGKILL, a lost node) before
// its partitions move: the floor of every failover. 6 s is the lowest a stock broker accepts
// (group.min.session.timeout.ms); heartbeats go every second from librdkafka's own thread, so a
// busy or restoring replica still sends them.
inline constexpr std::int64_t kDefaultSessionTimeoutMs = 6000;

// Which clients a program creates from a configuration (for Config::validate).
enum class ClientRoles { consumer = 1, producer = 2, both = 3 };

class Config {
 public:
  Config& set(Key<std::string> k, std::string value) { return set_raw(std::string(k.name), std::move(value)); }
  Config& set(Key<bool> k, bool value) { return set_raw(std::string(k.name), value ? "true" : "false"); }
  Config& set(Key<std::int64_t> k, std::int64_t value) {
    return set_raw(std::string(k.name), std::to_string(value));
  }
  // Any librdkafka property; a later value for the same key replaces the earlier one.
  Config& set_raw(std::string key, std::string value);
  // Parses "key=value"; returns false if there is no '='. Sets the value as given (no ".file"
  // indirection, no check); set_user_property() is for user input.
  bool set_from_assignment(std::string_view assignment);

  // Sets every property given as an environment variable PREFIX<KEY>: KAFKA_PROPERTY_SASL_PASSWORD
  // sets sasl.password. Secrets can then come from a Kubernetes Secret instead of the command line.
  // KAFKA_PROPERTY_SASL_PASSWORD_FILE=/path reads sasl.password from a file (see set_user_property).
  Config& set_from_environment(std::string_view prefix = "KAFKA_PROPERTY_");

  // One property a user supplied; `source` names where it came from ("--kafka-property",
  // "KAFKA_PROPERTY_SASL_PASSWORD", "client.properties:3") for error messages. A key ending in
  // ".file" names a file whose contents (trailing line breaks removed) become the value of the
  // key without the suffix: sasl.password.file=/run/secrets/kafka/password sets sasl.password.
  // librdkafka checks the name and value at once. Throws std::invalid_argument naming the source
  // and the key, never a secret's value.
  Config& set_user_property(std::string key, std::string value, const std::string& source);
  // A Java-style properties file: key=value (or key: value) lines; blank lines and lines starting
  // with # or ! are skipped; whitespace around the key and before the value is dropped; values are
  // taken literally (no escapes, no continuation lines). Throws std::invalid_argument naming the
  // flag, the file and the line.
  Config& set_from_properties_file(const std::string& path, const std::string& flag = "--kafka-properties-file");
  // Everything a user can supply, in increasing precedence: each properties file, then the
  // environment (KAFKA_PROPERTY_<KEY>), then the key=value assignments of `flag`. Then validate().
  // The one entry point the services and tools use.
  Config& set_user_properties(const std::vector<std::string>& files, const std::vector<std::string>& assignments,
                              const std::string& flag = "--kafka-property", ClientRoles roles = ClientRoles::both);
  // Lets librdkafka check the whole configuration (unknown properties, bad values, conflicting
  // settings, unreadable certificate or key files, a wrong ssl.key.password) by creating a
  // producer and a consumer handle without bootstrap servers: nothing connects. Throws
  // std::invalid_argument with librdkafka's reason, secret values replaced by "***".
  // `roles`: the kinds of client the program creates from this configuration (a producer is
  // checked the way Producer creates it, with idempotence on unless turned off).
  void validate(ClientRoles roles = ClientRoles::both) const;

  std::optional<std::string> get(std::string_view key) const;
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

  // The configuration as "k=v" lines with secrets (passwords, keys, tokens) replaced by "***".
  std::string redacted() const;
  static bool is_secret_key(std::string_view key);
  // `text` with the value of every secret property of this configuration replaced by "***", for
  // messages that might quote one (librdkafka's errors).
  std::string scrub(std::string text) const;

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
  // Keys whose value was read from a file (key -> path): redacted() names the file instead.
  std::vector<std::pair<std::string, std::string>> from_files_;
};

}  // namespace sw::kafka
