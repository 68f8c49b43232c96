#include "runtime/kafka_table_feed.h"

#include <chrono>
#include <stdexcept>

#include "kafka/client.h"

namespace sw {

using namespace std::chrono_literals;

namespace {

class KafkaRowFeed final : public table::RowFeed {
 public:
  KafkaRowFeed(const std::string& bootstrap, const std::vector<std::pair<std::string, std::string>>& properties,
               std::string topic, const std::string& client_id)
      : topic_(std::move(topic)) {
    kafka::Config c;
    c.set(kafka::keys::bootstrap_servers, bootstrap);
    c.set(kafka::keys::client_id, client_id);
    c.set(kafka::keys::enable_partition_eof, false);
    for (const auto& [k, v] : properties) c.set_raw(k, v);
    consumer_ = std::make_unique<kafka::Consumer>(c, nullptr);
    std::int32_t parts = 0;
    if (auto ec = consumer_->partition_count(topic_, parts, 10s))
      throw std::runtime_error("topic " + topic_ + " is not available: " + ec.message());
    std::vector<kafka::TopicPartition> all;
    for (std::int32_t p = 0; p < parts; ++p) all.push_back({topic_, p, Offset::beginning(), {}});
    if (auto ec = consumer_->assign(all)) throw std::runtime_error("assign " + topic_ + ": " + ec.message());
  }
  ~KafkaRowFeed() override {
    batch_.clear();  // messages hold references into the client
    consumer_.reset();
  }

  void read_to_end(const RowFn& f) override {
    std::vector<std::int64_t> low, high;
    const auto parts = consumer_->assignment();
    for (const auto& tp : parts) {
      std::int64_t lo = 0, hi = 0;
      if (auto ec = consumer_->query_watermarks(tp.topic, tp.partition, lo, hi, 10s))
        throw std::runtime_error("cannot read offsets of " + tp.topic + ": " + ec.message());
      low.push_back(lo);
      high.push_back(hi);
    }
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    for (;;) {
      read(f, 100ms);
      bool done = true;
      for (std::size_t i = 0; i < parts.size(); ++i) {
        // An empty partition (high <= low, e.g. everything compacted away) has nothing to read.
        if (high[i] <= low[i]) continue;
        if (consumer_->position(parts[i].topic, parts[i].partition).value_or(-1) < high[i]) done = false;
      }
      if (done) return;
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("timed out loading topic " + topic_);
    }
  }

  void read_new(const RowFn& f) override { read(f, 0ms); }

 private:
  void read(const RowFn& f, std::chrono::milliseconds wait) {
    const auto n = consumer_->poll(batch_, 10000, wait);
    std::string where;
    for (std::size_t i = 0; i < n; ++i) {
      const auto m = batch_[i];
      if (m.error()) continue;
      where = std::string(m.topic()) + " [" + std::to_string(m.partition()) + "] offset " + std::to_string(m.offset());
      f(Row{m.key(), m.value(), m.value_is_null(), where});
    }
    batch_.clear();
  }

  std::string topic_;
  std::unique_ptr<kafka::Consumer> consumer_;
  kafka::MessageBatch batch_{10000};
};

}  // namespace

std::function<std::unique_ptr<table::RowFeed>(const std::string& topic, const std::string& client_id)> kafka_row_feeds(
    std::string bootstrap_servers, std::vector<std::pair<std::string, std::string>> properties) {
  return [bootstrap = std::move(bootstrap_servers), properties = std::move(properties)](const std::string& topic,
                                                                                         const std::string& client_id) {
    return std::unique_ptr<table::RowFeed>(std::make_unique<KafkaRowFeed>(bootstrap, properties, topic, client_id));
  };
}

}  // namespace sw
