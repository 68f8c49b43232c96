#include "sink.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

namespace sw::lake_sink {

using namespace std::chrono_literals;

namespace {

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

}  // namespace

LakeSink::LakeSink(const SinkConfig& config, metrics::Registry& registry)
    : config_(config), registry_(registry), zone_(TimeZone::parse(config.default_time_zone)) {
  const auto stage = metrics::labels({{"stage", kStage}});
  sw_dead_letters_ = &registry.counter("streamwright_dead_letter_records_total", "Records sent to a dead-letter topic", stage);
  sw_commits_ = &registry.counter("streamwright_commits_total", "Delta commits (each also commits offsets as a hint)", stage);
  sw_rebalances_ = &registry.counter("streamwright_rebalances_total", "Partition assignments and revocations", stage);
  sw_ready_ = &registry.gauge("streamwright_ready", "1 while every table's storage takes commits", stage);
  sw_assigned_ = &registry.gauge("streamwright_assigned_partitions", "Partitions assigned to this replica", stage);
  sw_commit_seconds_ = &registry.histogram("streamwright_commit_seconds",
                                           "A roll: finishing a table's files and committing them to its log", stage,
                                           metrics::latency_buckets());
  buffered_gauge_ = &registry.gauge("lake_sink_buffered_bytes", "Rows held in memory for open files (about their PLAIN size)");

  kafka::Config pc;
  pc.set(kafka::keys::bootstrap_servers, config_.bootstrap_servers);
  pc.set(kafka::keys::client_id, config_.group_id + "-dlq");
  pc.set(kafka::keys::linger_ms, 5);
  for (const auto& [k, v] : config_.kafka.entries()) pc.set_raw(k, v);
  producer_ = std::make_unique<kafka::Producer>(pc);

  for (const auto& tc : config_.tables) {
    Table t;
    t.sink = std::make_unique<TableSink>(tc, config_, registry, &zone_);
    t.sink->open();
    t.dlq = producer_->topic(tc.dead_letter_topic);
    t.consumed = &registry.counter("streamwright_records_consumed_total", "Records read from input topics",
                                   metrics::labels({{"stage", kStage}, {"topic", tc.topic}}));
    t.input_bytes = &registry.counter("lake_sink_input_bytes_total", "Value bytes of the records read for the table",
                                      metrics::labels({{"table", tc.name}}));
    t.dead_lettered = &registry.counter("lake_sink_dead_letter_records_total",
                                        "Records of the table's topic sent to its dead-letter topic",
                                        metrics::labels({{"table", tc.name}}));
    tables_.push_back(std::move(t));
  }

  kafka::Config cc;
  cc.set(kafka::keys::bootstrap_servers, config_.bootstrap_servers);
  cc.set(kafka::keys::group_id, config_.group_id);
  cc.set(kafka::keys::client_id, config_.group_id);
  cc.set(kafka::keys::auto_offset_reset, "earliest");
  // As the stages: fetch without idling, and read ahead within the budget in bytes and in
  // records (librdkafka stops fetching once over either limit).
  cc.set(kafka::keys::fetch_wait_max_ms, 10);
  cc.set(kafka::keys::queued_min_messages,
         kafka::read_ahead_records(static_cast<std::int64_t>(config_.consumer_buffer_bytes)));
  cc.set(kafka::keys::queued_max_messages_kbytes, static_cast<std::int64_t>(config_.consumer_buffer_bytes >> 10));
  const auto fetch_bytes =
      std::clamp<std::int64_t>(static_cast<std::int64_t>(config_.consumer_buffer_bytes / 2), 1 << 20, 50 << 20);
  cc.set_raw("fetch.max.bytes", std::to_string(fetch_bytes));
  cc.set_raw("receive.message.max.bytes", std::to_string(fetch_bytes + (1 << 20)));
  // As the stages: a replica that died hands its partitions over after 10 s; only committed
  // transactional input is written to the lake.
  cc.set(kafka::keys::session_timeout_ms, kafka::kDefaultSessionTimeoutMs);
  cc.set(kafka::keys::heartbeat_interval_ms, 1000);
  cc.set(kafka::keys::isolation_level, "read_committed");
  for (const auto& [k, v] : config_.kafka.entries()) cc.set_raw(k, v);
  consumer_ = std::make_unique<kafka::Consumer>(cc, this);
  consumer_->set_fetch_wakeup(kafka::kFetchWakeupQuiet);
  last_loop_ms_.store(steady_ms());
  update_ready();
}

LakeSink::~LakeSink() {
  consumer_.reset();
  producer_.reset();
}

bool LakeSink::alive() const noexcept { return steady_ms() - last_loop_ms_.load(std::memory_order_relaxed) < 60000; }

void LakeSink::update_ready() {
  bool ok = !producer_failed_ && !stop_requested();
  for (const auto& t : tables_) ok = ok && !t.backing_off;
  ready_.store(ok, std::memory_order_relaxed);
  sw_ready_->set(ok ? 1 : 0);
  sw_assigned_->set(static_cast<double>(assigned_));
}

LakeSink::Table* LakeSink::table_for(std::string_view topic) {
  for (auto& t : tables_)
    if (t.sink->topic() == topic) return &t;
  return nullptr;
}

Offset LakeSink::start_offset(const std::string& topic, std::int32_t partition) {
  if (!config_.start_at_latest) return Offset::beginning();
  std::int64_t low = 0, high = 0;
  if (auto ec = consumer_->query_watermarks(topic, partition, low, high, 10s)) {
    spdlog::warn("{} [{}]: cannot read the end offset ({}); starting at the end as it is when fetching begins", topic,
                 partition, ec.message());
    return Offset::end();
  }
  return Offset::at(high);
}

void LakeSink::seek_all(const std::vector<kafka::TopicPartition>& positions) {
  for (const auto& tp : positions)
    if (auto ec = consumer_->seek(tp, 10s))
      spdlog::warn("{} [{}]: seek to {} failed: {}", tp.topic, tp.partition, tp.offset.to_string(), ec.message());
}

void LakeSink::failed(Table& t, const std::string& what, std::vector<kafka::TopicPartition> positions) {
  t.backoff = t.backoff.count() == 0 ? config_.min_backoff : std::min(config_.max_backoff, t.backoff * 2);
  t.backing_off = true;
  t.retry_at = Clock::now() + t.backoff;
  spdlog::warn("table {}: {}; its partitions resume from the table's versions in {} ms", t.sink->config().name, what,
               t.backoff.count());
  seek_all(positions);
  if (!positions.empty()) {
    // Not paused, the partitions are re-read from the table's positions once the backoff ends.
    if (const auto ec = consumer_->pause(positions)) spdlog::warn("table {}: pause failed: {}", t.sink->config().name, ec.message());
  }
  update_ready();
}

void LakeSink::retry_due_tables() {
  const auto now = Clock::now();
  for (auto& t : tables_) {
    if (!t.backing_off || now < t.retry_at) continue;
    std::string error;
    if (!t.sink->refresh(error)) {
      failed(t, "the log is still unreadable: " + error, {});
      continue;
    }
    std::vector<kafka::TopicPartition> resume;
    for (auto tp : t.unpositioned) {
      tp.offset = t.sink->assign(tp.partition, start_offset(tp.topic, tp.partition));
      resume.push_back(tp);
    }
    t.unpositioned.clear();
    seek_all(resume);
    for (auto p : t.sink->owned()) resume.push_back({t.sink->topic(), p, Offset::none(), {}});
    if (!resume.empty()) {
      if (const auto ec = consumer_->resume(resume)) {
        failed(t, "resuming its partitions failed: " + ec.message(), resume);
        continue;
      }
    }
    t.backing_off = false;
    spdlog::info("table {}: storage readable again, version {}; resuming", t.sink->config().name, t.sink->version());
    update_ready();
  }
}

bool LakeSink::dead_letter(Table& t, const kafka::Message& m, const std::string& reason) {
  std::vector<std::pair<std::string, std::string>> headers{{"streamwright.error", reason},
                                                           {"streamwright.topic", std::string(m.topic())},
                                                           {"streamwright.partition", std::to_string(m.partition())},
                                                           {"streamwright.offset", std::to_string(m.offset())}};
  std::string_view key = m.key(), value = m.value();
  const auto limit = config_.max_dead_letter_bytes;
  if (key.size() + value.size() > limit) {
    headers.emplace_back("streamwright.original-bytes", std::to_string(key.size() + value.size()));
    key = key.substr(0, std::min(key.size(), limit / 2));
    value = value.substr(0, limit - key.size());
  }
  const bool null = m.value_is_null();
  if (auto ec = producer_->send_with_headers(t.dlq, -1, key, null ? nullptr : &value, headers,
                                             m.timestamp_ms() > 0 ? m.timestamp_ms() : 0)) {
    spdlog::error("table {}: cannot send to {}: {}", t.sink->config().name, t.sink->config().dead_letter_topic,
                  ec.message());
    return false;
  }
  t.dead_lettered->inc();
  sw_dead_letters_->inc();
  return true;
}

void LakeSink::roll(Table& t) {
  if (t.backing_off || !t.sink->has_pending()) return;
  // The roll moves the partitions past their dead letters: those must be acknowledged first.
  std::error_code delivery;
  if (producer_->in_flight() > 0) {
    delivery = producer_->flush(10s);
    if (kafka::is(delivery, kafka::Errc::timed_out)) {
      spdlog::warn("table {}: dead letters not acknowledged yet; the commit waits", t.sink->config().name);
      return;
    }
  } else {
    delivery = producer_->take_delivery_error();
  }
  if (delivery) {
    // Some dead letter (of any table) was lost: every table replays from its last commit.
    for (auto& other : tables_)
      if (!other.backing_off) failed(other, "a dead letter was not delivered (" + delivery.message() + ")", other.sink->abort());
    return;
  }
  const auto started = Clock::now();
  auto out = t.sink->roll();
  switch (out.status) {
    case TableSink::Outcome::Status::nothing:
      break;
    case TableSink::Outcome::Status::committed:
      sw_commits_->inc();
      sw_commit_seconds_->observe(std::chrono::duration<double>(Clock::now() - started).count());
      t.backoff = 0ms;
      // Kafka's committed offsets follow the table, as a hint for lag monitoring.
      if (auto ec = consumer_->commit_async(out.positions))
        spdlog::debug("offset commit (a hint) failed: {}", ec.message());
      break;
    case TableSink::Outcome::Status::conflict:
      spdlog::warn("table {}: {}; its partitions resume from the table's versions", t.sink->config().name, out.error);
      seek_all(out.positions);
      break;
    case TableSink::Outcome::Status::failed:
      failed(t, out.error, std::move(out.positions));
      break;
  }
}

void LakeSink::enforce_memory_budget() {
  std::size_t total = 0;
  for (const auto& t : tables_) total += t.sink->buffered_bytes();
  while (total > config_.buffer_bytes) {
    Table* largest = nullptr;
    std::size_t most = 0;
    for (auto& t : tables_) {
      const auto b = t.sink->buffered_bytes();
      if (b > most) {
        most = b;
        largest = &t;
      }
    }
    if (!largest) break;
    std::error_code ec;
    const auto freed = largest->sink->flush_largest(ec);
    if (ec) {
      failed(*largest, "writing a row group: " + ec.message(), largest->sink->abort());
      total -= std::min(total, most);
      continue;
    }
    if (freed == 0) break;
    total -= std::min(total, freed);
  }
  buffered_gauge_->set(static_cast<double>(total));
}

void LakeSink::on_partitions_assigned(std::vector<kafka::TopicPartition>& partitions) {
  sw_rebalances_->inc();
  ever_assigned_ = true;
  assigned_ += partitions.size();
  std::set<Table*> refreshed, unreadable;
  for (auto& tp : partitions) {
    Table* t = table_for(tp.topic);
    if (!t) continue;
    if (!refreshed.count(t) && !unreadable.count(t)) {
      std::string error;
      if (t->sink->refresh(error)) {
        refreshed.insert(t);
      } else {
        unreadable.insert(t);
        spdlog::warn("table {}: cannot read its log to position new partitions: {}", t->sink->config().name, error);
      }
    }
    if (unreadable.count(t)) {
      // Not positioned: its records are skipped until the log reads and it seeks there. The
      // table's other partitions stop too (rewound to its last known versions and paused), so
      // that nothing is skipped past while the table backs off.
      if (!t->backing_off) failed(*t, "its log is unreadable", t->sink->abort());
      t->unpositioned.push_back({tp.topic, tp.partition, Offset::none(), {}});
      continue;
    }
    tp.offset = t->sink->assign(tp.partition, start_offset(tp.topic, tp.partition));
    spdlog::info("{} [{}]: assigned; resuming at offset {} (table {} version {})", tp.topic, tp.partition,
                 tp.offset.is_beginning() ? std::string("earliest") : tp.offset.to_string(),
                 t->sink->config().name, t->sink->version());
  }
  update_ready();
}

void LakeSink::on_partitions_revoked(const std::vector<kafka::TopicPartition>& partitions) {
  sw_rebalances_->inc();
  assigned_ -= std::min(assigned_, partitions.size());
  // Commit what is pending for the tables that lose a partition (their files mix partitions).
  std::set<Table*> affected;
  for (const auto& tp : partitions)
    if (Table* t = table_for(tp.topic); t && t->sink->owns(tp.partition)) affected.insert(t);
  for (Table* t : affected) {
    if (t->backing_off) {
      t->sink->abort();
    } else {
      roll(*t);
      // Dead letters still unacknowledged: the revoked partitions are replayed by their next
      // owner, the others from the table's versions here.
      if (t->sink->has_pending()) seek_all(t->sink->abort());
    }
  }
  for (const auto& tp : partitions) {
    Table* t = table_for(tp.topic);
    if (!t) continue;
    t->sink->unassign(tp.partition);
    std::erase_if(t->unpositioned, [&](const kafka::TopicPartition& u) { return u.partition == tp.partition; });
    spdlog::info("{} [{}]: revoked", tp.topic, tp.partition);
  }
  update_ready();
}

void LakeSink::on_partitions_lost(const std::vector<kafka::TopicPartition>& partitions) {
  sw_rebalances_->inc();
  assigned_ -= std::min(assigned_, partitions.size());
  std::set<Table*> affected;
  for (const auto& tp : partitions)
    if (Table* t = table_for(tp.topic); t && t->sink->owns(tp.partition)) affected.insert(t);
  for (const auto& tp : partitions)
    if (Table* t = table_for(tp.topic)) t->sink->unassign(tp.partition);
  // Lost without a chance to commit: whatever is pending is dropped; the partitions still owned
  // replay from the table's versions (a new owner of the lost ones does the same).
  for (Table* t : affected) {
    spdlog::warn("table {}: partitions lost; dropping what was not committed", t->sink->config().name);
    seek_all(t->sink->abort());
  }
  update_ready();
}

void LakeSink::run() {
  std::vector<std::string> topics;
  for (const auto& t : tables_) topics.push_back(t.sink->topic());
  if (auto ec = consumer_->subscribe(topics)) throw std::runtime_error("subscribe: " + ec.message());
  {
    std::string list;
    for (const auto& t : tables_) list += (list.empty() ? "" : ", ") + t.sink->topic() + " -> " + t.sink->config().location;
    spdlog::info("lake sink (group {}): {}", config_.group_id, list);
  }
  kafka::MessageBatch batch(config_.max_poll_records);
  std::string reason;
  while (!stop_requested()) {
    last_loop_ms_.store(steady_ms(), std::memory_order_relaxed);
    const auto n = consumer_->poll(batch, config_.max_poll_records, 100ms);
    for (std::size_t i = 0; i < n; ++i) {
      batch.prefetch_ahead(i);
      const auto m = batch[i];
      if (m.error()) {
        if (!kafka::is(m.error(), kafka::Errc::partition_eof))
          spdlog::warn("consume error on {} [{}]: {}", m.topic(), m.partition(), m.error().message());
        continue;
      }
      Table* t = table_for(m.topic());
      if (!t) continue;
      t->consumed->inc();
      t->input_bytes->inc(m.value().size());
      if (t->backing_off) continue;  // rewound: read again once the storage is back
      const auto p = m.partition();
      const auto offset = m.offset();
      if (!t->sink->owns(p)) continue;
      if (m.value_is_null() || m.value().size() > config_.max_record_bytes) {
        const std::string why = m.value_is_null() ? "null value"
                                                  : "record too large: " + std::to_string(m.value().size()) +
                                                        " bytes (limit " + std::to_string(config_.max_record_bytes) + ")";
        if (!dead_letter(*t, m, why)) {
          failed(*t, "dead-lettering failed", t->sink->abort());
          continue;
        }
        t->sink->advance(p, offset);
        continue;
      }
      switch (t->sink->add(p, offset, m.value(), reason)) {
        case TableSink::Take::row:
        case TableSink::Take::skipped:
          break;
        case TableSink::Take::rejected:
          if (!dead_letter(*t, m, reason)) failed(*t, "dead-lettering failed", t->sink->abort());
          break;
        case TableSink::Take::failed:
          failed(*t, reason, t->sink->abort());
          break;
      }
    }
    batch.clear();
    enforce_memory_budget();
    const auto now = Clock::now();
    for (auto& t : tables_)
      if (t.sink->due(now)) roll(t);
    retry_due_tables();
    producer_->poll_events(0ms);
    update_ready();
  }
  spdlog::info("stopping: committing what is pending");
  for (auto& t : tables_) roll(t);
  // librdkafka 2.0's cooperative-sticky assignor asserts (abort) when a consumer closes while its
  // first join is in flight: let the join finish first, within the shutdown timeout (records
  // polled meanwhile are not taken; the tables say where each partition starts).
  const auto join_deadline = Clock::now() + std::max<std::chrono::milliseconds>(1s, config_.shutdown_timeout - 5s);
  while (!ever_assigned_ && Clock::now() < join_deadline) {
    consumer_->poll(batch, config_.max_poll_records, 100ms);
    batch.clear();
  }
  consumer_->close();  // leaves the group (the revoke callback finds nothing left to commit)
  if (auto ec = producer_->flush(10s)) spdlog::warn("dead letters not all acknowledged at exit: {}", ec.message());
  ready_.store(false);
  sw_ready_->set(0);
}

}  // namespace sw::lake_sink
