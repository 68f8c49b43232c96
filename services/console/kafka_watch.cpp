#include "services/console/kafka_watch.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "kafka/client.h"

namespace sw::console {

using namespace std::chrono_literals;

namespace {
constexpr auto kRequestTimeout = 2s;
constexpr auto kTailRefresh = 10s;
}  // namespace

KafkaWatch::KafkaWatch(const std::string& bootstrap, const kafka::Config& properties, const PipelineInfo& pipeline,
                       Model& model, std::chrono::milliseconds interval)
    : model_(model), interval_(interval) {
  tail_topics_ = pipeline.watch_topics;
  for (const auto& t : pipeline.dead_letter_topics())
    if (std::find(tail_topics_.begin(), tail_topics_.end(), t) == tail_topics_.end()) tail_topics_.push_back(t);
  collector_ = std::make_unique<lag::Collector>(bootstrap, properties, pipeline.groups(), "streamwright-console",
                                                pipeline.unread_topics());
  kafka::Config c;
  c.set(kafka::keys::bootstrap_servers, bootstrap);
  c.set(kafka::keys::client_id, "streamwright-console-tail");
  for (const auto& [k, v] : properties.entries()) c.set_raw(k, v);
  // A group id only because librdkafka's consumer wants one: the tail is assigned, never
  // subscribed, and commits nothing.
  c.set(kafka::keys::group_id, "streamwright-console-tail");
  c.set(kafka::keys::auto_offset_reset, "latest");
  c.set(kafka::keys::fetch_wait_max_ms, 100);
  c.set_raw("fetch.max.bytes", "4194304");
  c.set_raw("queued.max.messages.kbytes", "16384");  // the tail's read-ahead is bounded
  tail_ = std::make_unique<kafka::Consumer>(c, nullptr);
  lag_thread_ = std::thread([this] { lag_loop(); });
  tail_thread_ = std::thread([this] { tail_loop(); });
}

KafkaWatch::~KafkaWatch() { stop(); }

void KafkaWatch::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_.store(true);
  }
  cv_.notify_all();
  if (collector_) collector_->cancel();
  if (lag_thread_.joinable()) lag_thread_.join();
  if (tail_thread_.joinable()) tail_thread_.join();
  if (tail_) tail_->close();
}

bool KafkaWatch::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [&] { return stopping_.load(); });
  return !stopping_.load();
}

void KafkaWatch::lag_loop() {
  bool was_down = false;
  while (!stopping_.load()) {
    const auto t0 = std::chrono::steady_clock::now();
    try {
      const auto c = collector_->collect(kRequestTimeout);
      if (c.cancelled) break;
      const bool down = c.partitions.empty() && c.topics.empty() && c.failed_requests > 0;
      if (down && !was_down)
        spdlog::warn("kafka: no answer from {}", c.warnings.empty() ? std::string("the brokers") : c.warnings.front());
      if (!down && was_down) spdlog::info("kafka: answering again");
      was_down = down;
      model_.apply_kafka(c);
    } catch (const std::exception& e) {
      spdlog::warn("kafka: collection failed: {}", e.what());
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    if (!sleep_for(std::max<std::chrono::milliseconds>(interval_ - elapsed, 100ms))) break;
  }
}

void KafkaWatch::refresh_tail_assignment() {
  std::vector<kafka::TopicPartition> assign;
  bool added = false;
  for (const auto& topic : tail_topics_) {
    if (stopping_.load()) return;
    std::int32_t n = 0;
    if (tail_->partition_count(topic, n, kRequestTimeout)) {
      // Not there (yet), or no broker answers: keep what is assigned.
      for (const auto& [tp, next] : tail_next_)
        if (tp.first == topic) assign.push_back({tp.first, tp.second, Offset::at(next), {}});
      continue;
    }
    for (std::int32_t p = 0; p < n; ++p) {
      auto it = tail_next_.find({topic, p});
      if (it == tail_next_.end()) {
        std::int64_t lo = 0, hi = 0;
        if (tail_->query_watermarks(topic, p, lo, hi, kRequestTimeout)) continue;
        it = tail_next_.emplace(std::make_pair(topic, p), std::max(lo, hi - kTailPerPartition)).first;
        added = true;
      }
      assign.push_back({topic, p, Offset::at(it->second), {}});
    }
  }
  if (added) {
    if (auto ec = tail_->assign(assign)) spdlog::warn("kafka: cannot assign the tail of outputs: {}", ec.message());
  }
}

void KafkaWatch::tail_loop() {
  kafka::MessageBatch batch(500);
  auto next_refresh = std::chrono::steady_clock::now();
  while (!stopping_.load()) {
    if (std::chrono::steady_clock::now() >= next_refresh) {
      try {
        refresh_tail_assignment();
      } catch (const std::exception& e) {
        spdlog::warn("kafka: tail of outputs: {}", e.what());
      }
      next_refresh = std::chrono::steady_clock::now() + kTailRefresh;
    }
    if (tail_next_.empty()) {
      if (!sleep_for(1s)) break;
      continue;
    }
    std::vector<TailRecord> records;
    try {
      const auto n = tail_->poll(batch, 500, 200ms);
      const auto now = wall_clock_ms();
      for (std::size_t i = 0; i < n; ++i) {
        const auto m = batch[i];
        if (m.error()) continue;
        TailRecord r;
        r.topic = std::string(m.topic());
        r.partition = m.partition();
        r.offset = m.offset();
        r.timestamp_ms = m.timestamp_ms();
        r.read_at_ms = now;
        const auto key = m.key();
        r.key = std::string(key.substr(0, TailRecord::kMaxKeyBytes));
        const auto value = m.value();
        r.value_bytes = value.size();
        r.value = std::string(value.substr(0, TailRecord::kMaxValueBytes));
        for (const char* h : {"streamwright.error", "streamwright.topic", "streamwright.partition", "streamwright.offset",
                              "streamwright.original-bytes"}) {
          std::string_view v;
          if (m.header(h, v)) r.headers.emplace_back(h, std::string(v.substr(0, 1024)));
        }
        tail_next_[{r.topic, r.partition}] = r.offset + 1;
        records.push_back(std::move(r));
      }
      batch.clear();
    } catch (const std::exception& e) {
      spdlog::warn("kafka: reading outputs: {}", e.what());
      if (!sleep_for(1s)) break;
    }
    model_.apply_records(std::move(records));
  }
  batch.clear();
}

}  // namespace sw::console
