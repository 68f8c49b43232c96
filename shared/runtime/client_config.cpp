#include "runtime/client_config.h"

#include <unistd.h>

#include <algorithm>

#include "kafka/client.h"

namespace sw {

StageClientConfigs stage_client_configs(const RunnerConfig& config, const std::string& group, bool internal_sources) {
  StageClientConfigs out;
  out.client_id = config.client_id.empty() ? group : config.client_id;

  kafka::Config common;
  common.set(kafka::keys::bootstrap_servers, config.bootstrap_servers);
  common.set(kafka::keys::client_id, out.client_id);
  common.set(kafka::keys::topic_metadata_refresh_interval_ms, 10000);

  kafka::Config& pc = out.producer = common;
  pc.set(kafka::keys::linger_ms, 5);
  pc.set(kafka::keys::batch_num_messages, 10000);
  pc.set(kafka::keys::queue_buffering_max_messages, 500000);
  // Twice the pause threshold: sends go on (into the budget's upper half) while the input pauses.
  pc.set(kafka::keys::queue_buffering_max_kbytes,
         std::max<std::int64_t>(1024, static_cast<std::int64_t>(config.producer_buffer_bytes >> 10)));
  pc.set(kafka::keys::acks, "all");
  if (config.exactly_once) {
    // A transactional.id unique to this live replica: zombies are fenced by the consumer
    // group's generation (KIP-447), so it need not follow partitions around. A replica that died
    // mid-transaction holds read_committed readers back until the broker aborts its transaction
    // after transaction.timeout.ms.
    std::string txn_id = config.transactional_id;
    if (txn_id.empty()) {
      char host[256] = {};
      if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
      txn_id = group + "-" + host + "-" + std::to_string(getpid());
    }
    pc.set_raw("transactional.id", txn_id);
    pc.set_raw("transaction.timeout.ms", std::to_string(config.transaction_timeout.count()));
  }
  for (const auto& [k, v] : config.kafka.entries()) pc.set_raw(k, v);

  kafka::Config& cc = out.consumer = common;
  cc.set(kafka::keys::group_id, group);
  if (!config.group_instance_id.empty()) cc.set_raw("group.instance.id", config.group_instance_id);
  cc.set(kafka::keys::auto_offset_reset, config.start_at_latest && !internal_sources ? "latest" : "earliest");
  cc.set(kafka::keys::fetch_wait_max_ms, 10);
  // The read-ahead limits apply to the whole consumer queue (partition queues forward into it).
  // Once over them, librdkafka 2.0 stops fetching and only looks again when a broker thread wakes
  // (up to a second later); the stages' consumers wake it themselves (Consumer::set_fetch_wakeup).
  // Both limits bind: the bytes for large records, the count for small ones.
  cc.set(kafka::keys::queued_min_messages, kafka::read_ahead_records(static_cast<std::int64_t>(config.consumer_buffer_bytes)));
  cc.set(kafka::keys::queued_max_messages_kbytes, static_cast<std::int64_t>(config.consumer_buffer_bytes >> 10));
  // One fetch response is buffered whole before it is queued, and a compressed one is
  // decompressed beside it: an eighth of the budget (at most 16 MiB) keeps both inside it. The
  // crash monitor's end-to-end rate was the same as with half (1.39 M/s), the flood of
  // BoundedMemory peaked lower.
  const auto fetch_bytes = std::clamp<std::int64_t>(static_cast<std::int64_t>(config.consumer_buffer_bytes / 8),
                                                    1 << 20, 16 << 20);
  cc.set_raw("fetch.max.bytes", std::to_string(fetch_bytes));
  cc.set_raw("receive.message.max.bytes", std::to_string(fetch_bytes + (1 << 20)));
  cc.set(kafka::keys::session_timeout_ms, kafka::kDefaultSessionTimeoutMs);
  cc.set(kafka::keys::heartbeat_interval_ms, 1000);
  // Transactional outputs of an upstream stage count only once committed (in either mode, so
  // that stages may be switched to exactly-once one at a time).
  cc.set(kafka::keys::isolation_level, "read_committed");
  for (const auto& [k, v] : config.kafka.entries()) cc.set_raw(k, v);

  kafka::Config& rc = out.restore_consumer = common;
  rc.set(kafka::keys::group_id, group + "-restore");
  rc.set(kafka::keys::fetch_wait_max_ms, 10);
  // As for the main consumer: an eighth of the main consumer's budget, at least 16 MiB, in
  // bytes and in records (a changelog record is 30-60 bytes: the count binds). A fetch response
  // is queued whole, so it is kept to an eighth of that.
  const auto restore_bytes = std::max<std::int64_t>(16 << 20, static_cast<std::int64_t>(config.consumer_buffer_bytes / 8));
  const auto restore_fetch_bytes = std::clamp<std::int64_t>(restore_bytes / 8, 1 << 20, 50 << 20);
  rc.set(kafka::keys::queued_min_messages, kafka::read_ahead_records(restore_bytes));
  rc.set(kafka::keys::queued_max_messages_kbytes, restore_bytes >> 10);
  rc.set_raw("fetch.max.bytes", std::to_string(restore_fetch_bytes));
  rc.set_raw("receive.message.max.bytes", std::to_string(restore_fetch_bytes + (1 << 20)));
  rc.set(kafka::keys::isolation_level, "read_committed");
  for (const auto& [k, v] : config.kafka.entries()) rc.set_raw(k, v);
  return out;
}

}  // namespace sw
