#pragma once
// Kafka errors as std::error_code. The values are librdkafka's rd_kafka_resp_err_t codes, so the
// category can name them without callers including rdkafka.h.
#include <string>
#include <system_error>

namespace sw::kafka {

const std::error_category& kafka_category() noexcept;

inline std::error_code make_kafka_error(int rd_kafka_resp_err) noexcept {
  return {rd_kafka_resp_err, kafka_category()};
}

// A few codes the rest of the library reacts to, mirrored from rd_kafka_resp_err_t.
enum class Errc : int {
  no_error = 0,
  queue_full = -184,      // RD_KAFKA_RESP_ERR__QUEUE_FULL
  timed_out = -185,       // RD_KAFKA_RESP_ERR__TIMED_OUT
  partition_eof = -191,   // RD_KAFKA_RESP_ERR__PARTITION_EOF
  unknown_topic = -188,   // RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC
  msg_size_too_large = 10,
  topic_already_exists = 36,
  unsupported_feature = -165,  // RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE
  invalid_request = 42,
  rebalance_in_progress = 27,  // RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS
};

inline bool is(std::error_code ec, Errc e) noexcept {
  return ec.category() == kafka_category() && ec.value() == static_cast<int>(e);
}

// Raised only at start-up (configuration, client creation), never on the hot path.
class KafkaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace sw::kafka
