#include "runtime/runner.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <thread>

#include "metrics/rates.h"
#include "runtime/restore.h"
#include "table/global_table.h"

namespace sw {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {
std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}
std::uint32_t new_generation(std::uint32_t previous) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  std::uint32_t g;
  do g = static_cast<std::uint32_t>(rng()); while (g == 0 || g == previous);
  return g;
}
}  // namespace

struct Runner::Metrics {
  Metrics(metrics::Registry& r, const std::string& stage_name, const std::string& group_id)
      : registry(r), stage(stage_name), group(group_id) {
    const auto l = metrics::labels({{"stage", stage}});
    dead_lettered = &r.counter("streamwright_dead_letter_records_total", "Records sent to a dead-letter topic", l);
    late_entry = &r.counter("streamwright_late_records_dropped_total",
                            "Records dropped as too late for every window",
                            metrics::labels({{"stage", stage}, {"decided", "entry"}}));
    late_downstream = &r.counter("streamwright_late_records_dropped_total",
                                 "Records dropped as too late for every window",
                                 metrics::labels({{"stage", stage}, {"decided", "downstream"}}));
    deduplicated = &r.counter("streamwright_duplicate_records_dropped_total",
                              "Replayed upstream records recognised and dropped", l);
    outputs = &r.counter("streamwright_output_records_total", "Records written to output topics", l);
    store_writes = &r.counter("streamwright_state_store_writes_total",
                              "Window store writes (puts and deletes), each also sent to the changelog", l);
    e2e_latency = &r.histogram("streamwright_record_latency_seconds",
                               "Time from a record's append to the input topic until it is processed (sampled)", l,
                               metrics::latency_buckets());
    batch_seconds = &r.histogram("streamwright_batch_processing_seconds", "Time to process one polled batch", l,
                                 metrics::latency_buckets());
    commit_seconds = &r.histogram("streamwright_commit_seconds",
                                  "From a commit's start (state flushed, producer epoch sealed) to its offset commit; at-least-once processing goes on meanwhile", l,
                                  metrics::latency_buckets());
    commits = &r.counter("streamwright_commits_total", "Offset commits", l);
    rebalances = &r.counter("streamwright_rebalances_total", "Partition assignments and revocations", l);
    restored = &r.counter("streamwright_restored_records_total", "Changelog records read while restoring state", l);
    restoring = &r.gauge("streamwright_restore_in_progress", "1 while state is being restored", l);
    assigned = &r.gauge("streamwright_assigned_partitions", "Partitions assigned to this replica", l);
    event_time_lag = &r.gauge("streamwright_event_time_lag_seconds",
                              "Wall clock minus the stage's event time (watermark)", l);
    state_keys = &r.gauge("streamwright_state_store_keys", "Approximate keys in the local state stores", l);
    state_bytes = &r.gauge("streamwright_state_store_bytes", "Approximate bytes in the local state stores", l);
    cached_windows = &r.gauge("streamwright_cached_windows", "Open windows held in memory", l);
    ready = &r.gauge("streamwright_ready", "1 when the stage is assigned, restored and processing", l);
    backpressure_pauses = &r.counter("streamwright_backpressure_pauses_total",
                                     "Times the input was paused because unacknowledged output filled the producer budget", l);
    paused = &r.gauge("streamwright_input_paused", "1 while the input is paused for backpressure", l);
    producer_bytes = &r.gauge("streamwright_producer_unacknowledged_bytes",
                              "Output bytes produced but not yet acknowledged by the broker", l);
    input_rate = &r.gauge("streamwright_input_records_per_second",
                          "Records appended per second to the input partitions this replica holds (last 10 s; Spark's inputRowsPerSecond)", l);
    processed_rate = &r.gauge("streamwright_processed_records_per_second",
                              "Records processed per second (last 10 s; Spark's processedRowsPerSecond)", l);
  }
  metrics::Counter& appended(const std::string& topic) {
    auto it = appended_by_topic.find(topic);
    if (it != appended_by_topic.end()) return *it->second;
    auto& c = registry.counter("streamwright_input_appended_records_total",
                               "Records appended to the input partitions this replica holds, from their end offsets",
                               metrics::labels({{"stage", stage}, {"topic", topic}}));
    appended_by_topic.emplace(topic, &c);
    return c;
  }
  std::uint64_t consumed_total() const {
    std::uint64_t n = 0;
    for (const auto& [topic, c] : consumed_by_topic) n += c->value();
    return n;
  }
  metrics::Counter& consumed(const std::string& topic) {
    auto it = consumed_by_topic.find(topic);
    if (it != consumed_by_topic.end()) return *it->second;
    auto& c = registry.counter("streamwright_records_consumed_total", "Records read from input topics",
                               metrics::labels({{"stage", stage}, {"topic", topic}}));
    consumed_by_topic.emplace(topic, &c);
    return c;
  }
  metrics::Registry& registry;
  std::string stage, group;
  metrics::Counter *dead_lettered, *late_entry, *late_downstream, *deduplicated, *outputs, *store_writes, *commits, *rebalances,
      *restored, *backpressure_pauses;
  metrics::Histogram *e2e_latency, *batch_seconds, *commit_seconds;
  metrics::Gauge *restoring, *assigned, *event_time_lag, *state_keys, *state_bytes, *cached_windows, *ready, *paused,
      *producer_bytes, *input_rate, *processed_rate;
  std::map<std::string, metrics::Counter*> consumed_by_topic, appended_by_topic;
  // Input rate against processed rate, sampled with the lag metrics.
  metrics::AppendTracker end_offsets;
  metrics::RateWindow input_window, processed_window;
  std::chrono::steady_clock::time_point last_rate_sample = std::chrono::steady_clock::now();
  std::uint64_t last_consumed = 0;
};

// Sends task output through the producer; remembers the first send error so the next commit
// fails instead of committing offsets past a record that was never written.
class Runner::Collector final : public RecordCollector {
 public:
  Collector(kafka::Producer& producer, metrics::Registry& registry, std::string stage)
      : producer_(producer), registry_(registry), stage_(std::move(stage)) {}

  TopicId topic(const std::string& name) override {
    const auto id = producer_.topic(name);
    if (id >= partitions_.size()) {
      partitions_.resize(id + 1, 0);
      produced_.resize(id + 1, nullptr);
      produced_bytes_.resize(id + 1, nullptr);
    }
    if (partitions_[id] == 0) {
      std::int32_t n = 0;
      std::error_code ec;
      for (int attempt = 0; attempt < 5; ++attempt) {
        ec = producer_.partition_count(name, n, 5s);
        if (!ec) break;
        std::this_thread::sleep_for(500ms);
      }
      if (ec || n <= 0) throw std::runtime_error("topic " + name + " is not available: " + ec.message());
      partitions_[id] = n;
      produced_[id] = &registry_.counter("streamwright_records_produced_total", "Records written, by topic",
                                         metrics::labels({{"stage", stage_}, {"topic", name}}));
      produced_bytes_[id] = &registry_.counter("streamwright_bytes_produced_total",
                                               "Key and value bytes written, by topic (repartition and changelog traffic)",
                                               metrics::labels({{"stage", stage_}, {"topic", name}}));
    }
    return id;
  }
  std::int32_t partitions(TopicId t) override { return partitions_[t]; }
  void send(TopicId t, std::int32_t partition, std::string_view key, std::string_view value,
            TimestampMs ts) override {
    const auto ec = producer_.send(t, partition, key, value, ts == kNoTimestamp ? 0 : ts);
    if (ec) note_error(t, ec);
    produced_[t]->inc();
    produced_bytes_[t]->inc(key.size() + value.size());
  }
  void send_with_headers(TopicId t, std::int32_t partition, std::string_view key, std::string_view value,
                         const std::vector<std::pair<std::string, std::string>>& headers, TimestampMs ts) override {
    const auto ec = producer_.send_with_headers(t, partition, key, &value, headers, ts == kNoTimestamp ? 0 : ts);
    if (ec) note_error(t, ec);
    produced_[t]->inc();
    produced_bytes_[t]->inc(key.size() + value.size());
  }
  std::int64_t last_acked_offset(TopicId t, std::int32_t partition) override {
    return producer_.last_acked_offset(t, partition);
  }
  void track_offsets(TopicId t) override { producer_.track_offsets(t); }
  std::error_code take_error() { return std::exchange(error_, {}); }

 private:
  void note_error(TopicId t, std::error_code ec) {
    if (!error_) {
      error_ = ec;
      spdlog::error("cannot send to {}: {}", producer_.topic_name(t), ec.message());
    }
  }
  kafka::Producer& producer_;
  metrics::Registry& registry_;
  std::string stage_;
  std::vector<std::int32_t> partitions_;
  std::vector<metrics::Counter*> produced_, produced_bytes_;
  std::error_code error_;
};

// Reads changelog partitions of one topic together: one assignment, so each fetch carries all
// of them (a broker answers with about one batch per partition per fetch).
class Runner::KafkaChangelogReader final : public ChangelogSource {
 public:
  KafkaChangelogReader(kafka::Consumer& consumer, std::string topic, metrics::Counter& restored)
      : consumer_(consumer), topic_(std::move(topic)), restored_(restored) {}
  bool bounds(std::int32_t partition, std::int64_t& low, std::int64_t& high) override {
    const auto ec = consumer_.query_watermarks(topic_, partition, low, high, 10s);
    if (ec) spdlog::error("cannot read offsets of {} [{}]: {}", topic_, partition, ec.message());
    return !ec;
  }
  bool read(const std::vector<Range>& ranges, const RecordFn& f) override {
    struct Progress {
      std::int64_t next, high;
    };
    std::map<std::int32_t, Progress> progress;
    std::vector<kafka::TopicPartition> assignment;
    for (const auto& r : ranges) {
      if (r.from >= r.high) continue;
      progress[r.partition] = {r.from, r.high};
      assignment.push_back({topic_, r.partition, r.from, {}});
    }
    if (assignment.empty()) return true;
    if (consumer_.assign(assignment)) return false;
    kafka::MessageBatch batch(10000);
    auto last_progress = Clock::now();
    bool ok = true;
    while (!progress.empty()) {
      const auto n = consumer_.poll(batch, 10000, 100ms);
      Progress* cur = nullptr;
      std::int32_t cur_partition = -1;
      for (std::size_t i = 0; i < n; ++i) {
        const auto m = batch[i];
        if (m.error()) continue;
        if (!cur || m.partition() != cur_partition) {
          const auto it = progress.find(m.partition());
          cur = it == progress.end() ? nullptr : &it->second;
          cur_partition = m.partition();
        }
        if (!cur || m.offset() < cur->next || m.offset() >= cur->high) continue;
        f(m.partition(), m.offset(), m.key(), m.value());
        cur->next = m.offset() + 1;
      }
      for (auto it = progress.begin(); it != progress.end();) {
        // Under read_committed, aborted records and transaction markers are skipped: the position
        // can pass `high` without a record at high - 1.
        if (it->second.next < it->second.high) {
          const auto pos = consumer_.position(topic_, it->first);
          if (pos > it->second.next) it->second.next = pos;
        }
        it = it->second.next >= it->second.high ? progress.erase(it) : std::next(it);
      }
      if (n > 0) {
        restored_.inc(n);
        last_progress = Clock::now();
      } else if (Clock::now() - last_progress > 60s) {
        for (const auto& [p, pr] : progress)
          spdlog::error("restore of {} [{}] stalled at offset {} of {}", topic_, p, pr.next, pr.high);
        ok = false;
        break;
      }
    }
    batch.clear();
    consumer_.assign({});
    return ok;
  }

 private:
  kafka::Consumer& consumer_;
  std::string topic_;
  metrics::Counter& restored_;
};

Runner::Runner(const Topology& topology, const std::string& stage, RunnerConfig config, metrics::Registry& registry)
    : topology_(topology), def_(topology.subtopology(stage)), config_(std::move(config)), registry_(registry) {
  const std::string group = topology.group_id(def_.name);
  metrics_ = std::make_unique<Metrics>(registry, def_.name, group);
  if (config_.bootstrap_servers.empty()) throw std::runtime_error("no Kafka bootstrap servers configured");
  const std::string client_id = config_.client_id.empty() ? group : config_.client_id;

  kafka::Config common;
  common.set(kafka::keys::bootstrap_servers, config_.bootstrap_servers);
  common.set(kafka::keys::client_id, client_id);
  common.set(kafka::keys::topic_metadata_refresh_interval_ms, 10000);

  kafka::Config pc = common;
  pc.set(kafka::keys::linger_ms, 5);
  pc.set(kafka::keys::batch_num_messages, 10000);
  pc.set(kafka::keys::queue_buffering_max_messages, 500000);
  // Twice the pause threshold: sends go on (into the budget's upper half) while the input pauses.
  pc.set(kafka::keys::queue_buffering_max_kbytes,
         std::max<std::int64_t>(1024, static_cast<std::int64_t>(config_.producer_buffer_bytes >> 10)));
  pc.set(kafka::keys::acks, "all");
  if (config_.exactly_once) {
    // A transactional.id unique to this live replica: zombies are fenced by the consumer
    // group's generation (KIP-447), so it need not follow partitions around. A replica that died
    // mid-transaction holds read_committed readers back until the broker aborts its transaction
    // after transaction.timeout.ms.
    std::string txn_id = config_.transactional_id;
    if (txn_id.empty()) {
      char host[256] = {};
      if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
      txn_id = group + "-" + host + "-" + std::to_string(getpid());
    }
    pc.set_raw("transactional.id", txn_id);
    pc.set_raw("transaction.timeout.ms", std::to_string(config_.transaction_timeout.count()));
  }
  for (const auto& [k, v] : config_.kafka.entries()) pc.set_raw(k, v);
  producer_ = std::make_unique<kafka::Producer>(pc);
  if (config_.exactly_once) {
    const auto r = producer_->init_transactions(config_.flush_timeout);
    if (r) throw std::runtime_error("cannot initialise Kafka transactions: " + r.message);
  }
  collector_ = std::make_unique<Collector>(*producer_, registry, def_.name);

  kafka::Config cc = common;
  cc.set(kafka::keys::group_id, group);
  cc.set(kafka::keys::auto_offset_reset, config_.start_at_latest && !def_.internal_sources ? "latest" : "earliest");
  cc.set(kafka::keys::fetch_wait_max_ms, 10);
  // The read-ahead limits apply to the whole consumer queue (partition queues forward into it).
  // Once over them, librdkafka 2.0 stops fetching and only looks again when a broker thread wakes
  // (up to a second later), so the limits must sit well above what one processing cycle drains:
  // the message count never binds, the byte budget bounds memory.
  cc.set(kafka::keys::queued_min_messages, 1000000);
  cc.set(kafka::keys::queued_max_messages_kbytes, static_cast<std::int64_t>(config_.consumer_buffer_bytes >> 10));
  // One fetch response is buffered whole before it is queued: keep it inside the same budget.
  const auto fetch_bytes = std::clamp<std::int64_t>(static_cast<std::int64_t>(config_.consumer_buffer_bytes / 2),
                                                    1 << 20, 50 << 20);
  cc.set_raw("fetch.max.bytes", std::to_string(fetch_bytes));
  cc.set_raw("receive.message.max.bytes", std::to_string(fetch_bytes + (1 << 20)));
  cc.set(kafka::keys::session_timeout_ms, 10000);
  cc.set(kafka::keys::heartbeat_interval_ms, 1000);
  // Transactional outputs of an upstream stage count only once committed (in either mode, so
  // that stages may be switched to exactly-once one at a time).
  cc.set(kafka::keys::isolation_level, "read_committed");
  for (const auto& [k, v] : config_.kafka.entries()) cc.set_raw(k, v);

  // Topics: inputs must exist; internal topics are created where the broker allows it.
  std::int32_t input_partitions = 0;
  for (const auto& t : def_.source_topics) {
    std::int32_t n = 0;
    if (!def_.internal_sources) {
      if (auto ec = producer_->partition_count(t, n, 10s))
        throw std::runtime_error("input topic " + t + " is not available: " + ec.message());
      if (input_partitions && n != input_partitions)
        throw std::runtime_error("input topics of stage " + def_.name + " are not co-partitioned");
      input_partitions = n;
    }
  }
  std::vector<kafka::TopicSpec> internal;
  const std::int32_t upstream_default = [&] {
    if (config_.internal_partitions > 0) return config_.internal_partitions;
    return input_partitions > 0 ? input_partitions : 0;
  }();
  for (const auto& t : def_.repartition_sinks)
    if (upstream_default > 0) internal.push_back({t, upstream_default, 1, {}});
  producer_->create_topics(internal, 10s);
  if (def_.internal_sources) {
    for (const auto& t : def_.source_topics) {
      std::int32_t n = 0;
      if (auto ec = producer_->partition_count(t, n, 10s))
        throw std::runtime_error("repartition topic " + t + " is not available: " + ec.message() +
                                 " (start the upstream stage first, or create it)");
      input_partitions = n;
    }
    std::vector<kafka::TopicSpec> changelogs;
    for (const auto& s : def_.stores)
      changelogs.push_back({topology.changelog_topic(s), input_partitions, 1, {{"cleanup.policy", "compact,delete"}}});
    producer_->create_topics(changelogs, 10s);
    for (const auto& s : def_.stores) {
      std::int32_t n = 0;
      const auto cl = topology.changelog_topic(s);
      if (auto ec = producer_->partition_count(cl, n, 10s))
        throw std::runtime_error("changelog topic " + cl + " is not available: " + ec.message());
      if (n != input_partitions)
        throw std::runtime_error("changelog topic " + cl + " has " + std::to_string(n) + " partitions but " +
                                 def_.source_topics.front() + " has " + std::to_string(input_partitions) +
                                 "; they must match");
    }
    for (const auto& entry : topology.entry_topics()) {
      std::int32_t n = 0;
      const bool upstream = std::find(def_.upstream_entry_topics.begin(), def_.upstream_entry_topics.end(), entry) !=
                            def_.upstream_entry_topics.end();
      if (upstream) {
        if (auto ec = producer_->partition_count(entry, n, 10s))
          throw std::runtime_error("upstream input topic " + entry + " is not available: " + ec.message());
      }
      upstream_partitions_.push_back(upstream ? n : 0);
    }
  }
  // Resolve every topic this stage writes now, so a missing one fails at start-up.
  for (const auto& use : topology.topics()) {
    const bool writes = (use.subtopology == def_.name &&
                         (use.role == TopicRole::output || use.role == TopicRole::dead_letter ||
                          use.role == TopicRole::changelog));
    if (writes) collector_->topic(use.name);
  }
  for (const auto& t : def_.repartition_sinks) collector_->topic(t);
  repartition_sinks_ = def_.repartition_sinks;

  if (!def_.stores.empty()) {
    rocksdb_ = std::make_unique<state::RocksDbResources>(config_.rocksdb);
    const auto dir = std::filesystem::path(config_.state_dir) / topology.application_id() / def_.name;
    for (const auto& s : def_.stores) stores_[s] = std::make_unique<state::RocksDbStore>(dir, s, *rocksdb_);
    kafka::Config rc = common;
    rc.set(kafka::keys::group_id, group + "-restore");
    rc.set(kafka::keys::fetch_wait_max_ms, 10);
    // As for the main consumer: a read-ahead limit that binds stalls fetching (up to a second
    // until a broker thread looks again). The message count never binds; an eighth of the main
    // consumer's byte budget bounds memory (librdkafka's per-message overhead is several times a
    // changelog record's size; a sixteenth was slower, 0.73 against 1.29 M records/s).
    const auto restore_bytes = std::max<std::int64_t>(4 << 20, static_cast<std::int64_t>(config_.consumer_buffer_bytes / 8));
    const auto restore_fetch_bytes = std::clamp<std::int64_t>(restore_bytes / 2, 1 << 20, 50 << 20);
    rc.set(kafka::keys::queued_min_messages, 1000000);
    rc.set(kafka::keys::queued_max_messages_kbytes, restore_bytes >> 10);
    rc.set_raw("fetch.max.bytes", std::to_string(restore_fetch_bytes));
    rc.set_raw("receive.message.max.bytes", std::to_string(restore_fetch_bytes + (1 << 20)));
    rc.set(kafka::keys::isolation_level, "read_committed");
    for (const auto& [k, v] : config_.kafka.entries()) rc.set_raw(k, v);
    restore_consumer_ = std::make_unique<kafka::Consumer>(rc, nullptr);
  }
  consumer_ = std::make_unique<kafka::Consumer>(cc, this);
  // Global tables load whole before the first record is processed.
  table::TableEnv env{config_.bootstrap_servers, {}, &registry_, client_id};
  for (const auto& [k, v] : config_.kafka.entries()) env.kafka.emplace_back(k, v);
  for (const auto& t : def_.global_tables) t->open(env);
  last_loop_ms_.store(steady_ms());
}

Runner::~Runner() {
  tasks_.clear();
  for (const auto& t : def_.global_tables) t->close();
  // Consumed messages hold references into their client: destroying the client while a batch
  // still holds messages makes rd_kafka_destroy() wait forever.
  batch_.clear();
  consumer_.reset();
  restore_consumer_.reset();
}

bool Runner::alive() const noexcept {
  // A long restore runs inside the rebalance callback; it has its own progress metric and alert
  // (streamwright_restored_records_total, StreamwrightRestoreStalled), so it does not count as hung.
  return restoring_.load(std::memory_order_relaxed) ||
         steady_ms() - last_loop_ms_.load(std::memory_order_relaxed) < 60000;
}

std::unique_ptr<Task> Runner::create_task(std::int32_t partition, const std::vector<RestoreResult>& restored,
                                          std::int64_t& start_offset) {
  TaskMeta meta;
  start_offset = kafka::kOffsetInvalid;
  std::uint32_t previous_generation = 0;
  bool restored_meta = false;
  for (const auto& result : restored) {
    if (result.has_meta && TaskMeta::decode(result.meta, meta)) {
      restored_meta = true;
      previous_generation = result.generation;
    }
  }
  if (restored_meta && def_.internal_sources) start_offset = meta.input_offset;
  meta.generation = new_generation(previous_generation);
  TaskCounters counters{metrics_->late_entry, metrics_->late_downstream, metrics_->dead_lettered,
                        metrics_->deduplicated, metrics_->outputs, metrics_->store_writes};
  std::map<std::string, state::RocksDbStore*> stores;
  for (auto& [n, s] : stores_) stores[n] = s.get();
  auto task = std::make_unique<Task>(topology_, def_, partition, *collector_, std::move(stores), counters,
                                     upstream_partitions_, std::move(meta));
  const auto now = wall_clock_ms();
  for (std::size_t i = 0; i < def_.source_topics.size(); ++i) task->note_activity(i, now);
  return task;
}

void Runner::on_partitions_assigned(std::vector<kafka::TopicPartition>& partitions) {
  metrics_->rebalances->inc();
  ready_.store(false);
  metrics_->ready->set(0);
  std::vector<std::int32_t> created;
  std::vector<std::int32_t> fresh;
  for (const auto& tp : partitions)
    if (!tasks_.count(tp.partition) && std::find(fresh.begin(), fresh.end(), tp.partition) == fresh.end())
      fresh.push_back(tp.partition);
  // Every new partition's state is restored in one pass per store (one assignment of all its
  // changelog partitions), then the tasks are created from what the restore found.
  std::map<std::int32_t, std::vector<RestoreResult>> restored;
  for (const auto p : fresh) restored[p];
  if (!fresh.empty() && !stores_.empty()) {
    struct RestoringFlag {
      std::atomic<bool>& flag;
      metrics::Gauge& gauge;
      RestoringFlag(std::atomic<bool>& f, metrics::Gauge& g) : flag(f), gauge(g) {
        flag.store(true);
        gauge.set(1);
      }
      ~RestoringFlag() {
        flag.store(false);
        gauge.set(0);
      }
    } restoring(restoring_, *metrics_->restoring);
    for (auto& [name, store] : stores_) {
      const auto changelog = topology_.changelog_topic(name);
      KafkaChangelogReader reader(*restore_consumer_, changelog, *metrics_->restored);
      const auto t0 = Clock::now();
      const auto results = restore_partitions(*store, fresh, reader);
      const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      std::uint64_t records = 0, discarded = 0;
      for (const auto& r : results) {
        spdlog::info("restored {} [{}]: {} records from offset {} to {} ({}), {} discarded", changelog, r.partition,
                     r.records, r.start_offset, r.end_offset, r.full ? "full" : "from checkpoint", r.discarded);
        records += r.records;
        discarded += r.discarded;
        restored[r.partition].push_back(r);
      }
      spdlog::info("restored {} ({} partitions): {} records, {} discarded, {:.3f}s", changelog, results.size(),
                   records, discarded, secs);
    }
  }
  for (auto& tp : partitions) {
    auto it = tasks_.find(tp.partition);
    if (it == tasks_.end()) {
      std::int64_t start = kafka::kOffsetInvalid;
      tasks_[tp.partition] = create_task(tp.partition, restored[tp.partition], start);
      created.push_back(tp.partition);
      if (start >= 0) tp.offset = start;
    }
  }
  if (!def_.internal_sources && !created.empty()) {
    // Entry partitions resume with the stream time committed alongside their offset.
    // Only the tasks created now: a task that stays keeps its own, newer position.
    std::vector<kafka::TopicPartition> committed;
    for (const auto& tp : partitions)
      if (std::find(created.begin(), created.end(), tp.partition) != created.end()) committed.push_back(tp);
    std::error_code ec;
    for (int attempt = 0; attempt < 3; ++attempt) {
      ec = consumer_->committed(committed, 10s);
      if (!ec) break;
      spdlog::warn("cannot read committed offsets (attempt {}): {}", attempt + 1, ec.message());
    }
    bool pre_aggregating = false;
    for (auto p : created) pre_aggregating = pre_aggregating || tasks_[p]->pre_aggregating();
    if (ec && pre_aggregating) {
      // Without the committed chunk end a replay could cut the input elsewhere and double-count
      // or lose partials: stop, and let the restarted process try again.
      throw std::runtime_error("cannot read the committed offsets and chunk ends: " + ec.message());
    }
    if (!ec) {
      for (const auto& tp : committed) {
        auto& task = tasks_[tp.partition];
        for (std::size_t i = 0; i < def_.source_topics.size(); ++i)
          if (def_.source_topics[i] == tp.topic) task->restore_commit(i, tp.metadata);
      }
    }
  }
  if (paused_) repause_ = true;  // new partitions start unpaused
  std::string list;
  for (const auto& tp : partitions) list += tp.topic + "[" + std::to_string(tp.partition) + "] ";
  spdlog::info("stage {}: assigned {}", def_.name, list);
  metrics_->assigned->set(static_cast<double>(tasks_.size()));
  ready_.store(true);
  metrics_->ready->set(1);
}

void Runner::on_partitions_revoked(const std::vector<kafka::TopicPartition>& partitions) {
  metrics_->rebalances->inc();
  // After a failure the tasks may be ahead of what is durable (or the transaction broken):
  // their partitions go back uncommitted, to be replayed from the last commit.
  if (!failed_) commit("revoke", true);
  for (const auto& tp : partitions) tasks_.erase(tp.partition);
  std::string list;
  for (const auto& tp : partitions) list += tp.topic + "[" + std::to_string(tp.partition) + "] ";
  spdlog::info("stage {}: revoked {}", def_.name, list);
  metrics_->assigned->set(static_cast<double>(tasks_.size()));
}

void Runner::on_partitions_lost(const std::vector<kafka::TopicPartition>& partitions) {
  metrics_->rebalances->inc();
  spdlog::warn("stage {}: {} partitions lost without commit; their uncommitted work will be replayed",
               def_.name, partitions.size());
  for (const auto& tp : partitions) {
    tasks_.erase(tp.partition);
    if (pending_commit_) {
      // Another member owns them now: the commit in flight must not write their offsets.
      auto& pc = *pending_commit_;
      std::erase_if(pc.offsets, [&](const kafka::TopicPartition& o) { return o.partition == tp.partition; });
      std::erase(pc.partitions, tp.partition);
    }
  }
  metrics_->assigned->set(static_cast<double>(tasks_.size()));
}

void Runner::run() {
  try {
    run_loop();
  } catch (...) {
    failed_ = true;
    throw;
  }
}

void Runner::run_loop() {
  if (config_.exactly_once) {
    if (const auto r = producer_->begin_transaction()) throw std::runtime_error("begin transaction: " + r.message);
    sent_at_txn_begin_ = producer_->sent();
  }
  if (auto ec = consumer_->subscribe(def_.source_topics)) throw std::runtime_error("subscribe: " + ec.message());
  spdlog::info("stage {} of {} running (group {})", def_.name, topology_.application_id(),
               topology_.group_id(def_.name));
  auto next_punctuate = Clock::now();
  auto next_commit = Clock::now() + config_.commit_interval;
  auto next_metrics = Clock::now();
  while (!stop_.load(std::memory_order_relaxed)) {
    last_loop_ms_.store(steady_ms(), std::memory_order_relaxed);
    const auto n = consumer_->poll(batch_, config_.max_poll_records, 20ms);
    if (n > 0) {
      const TimestampMs wall = wall_clock_ms();
      for (const auto& t : def_.global_tables) t->before_batch(wall);
      process_batch();
    }
    producer_->poll_events(0ms);  // delivery reports release the producer's memory
    if (pending_commit_) complete_commit(false);
    apply_backpressure();
    const auto now = Clock::now();
    if (now >= next_punctuate) {
      punctuate(wall_clock_ms());
      next_punctuate = now + config_.punctuate_interval;
    }
    if (now >= next_commit && !pending_commit_) {
      commit("interval", false);
      next_commit = now + config_.commit_interval;
    }
    if (now >= next_metrics) {
      update_lag_metrics();
      next_metrics = now + 1s;
    }
    if (auto ec = producer_->fatal_error()) throw std::runtime_error("producer fatal error: " + ec.message());
  }
  spdlog::info("stage {}: stopping: committing and leaving the group", def_.name);
  batch_.clear();  // release the last batch's messages before the consumer closes
  commit("shutdown", true);
  consumer_->close();  // revokes (commits again if needed) and leaves the group
  if (config_.exactly_once) {
    // Whatever is still in the open transaction (at most heartbeat watermarks) is covered by no
    // committed offset.
    if (const auto r = producer_->abort_transaction(config_.flush_timeout))
      spdlog::warn("aborting the last, empty transaction: {}", r.message);
  } else if (const auto held = producer_->in_flight()) {
    // The last commit covered everything that matters; what is left (watermark heartbeats) is
    // covered by no offset and would be sent again. Worth a short wait, not the flush timeout:
    // a broker that is gone must not hold the shutdown.
    if (auto ec = producer_->flush(std::min<std::chrono::milliseconds>(config_.flush_timeout, 2s)))
      spdlog::warn("final flush: {} records not delivered ({}); they are covered by no committed offset", held,
                   ec.message());
  }
  ready_.store(false);
}

void Runner::process_batch() {
  const auto t0 = Clock::now();
  const TimestampMs now_wall = wall_clock_ms();
  Task* task = nullptr;
  std::int32_t task_partition = -1;
  std::string_view last_topic;
  metrics::Counter* consumed = nullptr;
  std::uint64_t consumed_count = 0;
  const bool entry = !def_.internal_sources;
  for (std::size_t i = 0; i < batch_.size(); ++i) {
    batch_.prefetch_ahead(i);
    const auto m = batch_[i];
    if (m.error()) {
      if (!kafka::is(m.error(), kafka::Errc::partition_eof))
        spdlog::warn("consume error on {} [{}]: {}", m.topic(), m.partition(), m.error().message());
      continue;
    }
    if (m.partition() != task_partition) {
      auto it = tasks_.find(m.partition());
      task = it == tasks_.end() ? nullptr : it->second.get();
      task_partition = m.partition();
    }
    if (!task) continue;
    const InputRecord rec{m.topic(), m.partition(), m.offset(), m.key(), m.value(), m.value_is_null(),
                          m.timestamp_ms()};
    if (rec.topic != last_topic) {
      if (consumed) consumed->inc(consumed_count);
      consumed_count = 0;
      consumed = &metrics_->consumed(std::string(rec.topic));
      last_topic = rec.topic;
    }
    ++consumed_count;
    task->process(rec);
    if (entry) task->note_activity(task->last_source(), now_wall);
    if ((i & 63) == 0 && rec.timestamp > 0)
      metrics_->e2e_latency->observe(static_cast<double>(std::max<TimestampMs>(0, now_wall - rec.timestamp)) / 1000.0);
  }
  if (consumed) consumed->inc(consumed_count);
  if (entry) watermarks_changed_ = true;
  metrics_->batch_seconds->observe(std::chrono::duration<double>(Clock::now() - t0).count());
}

void Runner::punctuate(TimestampMs now_wall) {
  for (const auto& t : def_.global_tables) t->maintain(now_wall);
  if (!def_.internal_sources) {
    for (auto& [p, task] : tasks_) {
      for (std::size_t i = 0; i < def_.source_topics.size(); ++i) {
        const auto& topic = def_.source_topics[i];
        std::int64_t lo = 0, hi = 0;
        const bool known = consumer_->cached_watermarks(topic, p, lo, hi);
        const auto pos = consumer_->position(topic, p);
        const bool caught_up = known && (pos >= hi || (pos < 0 && hi <= lo));
        if (task->advance_idle(i, now_wall, config_.idle_timeout.count(), caught_up)) watermarks_changed_ = true;
      }
    }
    publish_watermarks(false);
  } else {
    for (auto& [p, task] : tasks_) task->advance_event_time();
  }
}

void Runner::publish_watermarks(bool force) {
  const auto now = Clock::now();
  const bool heartbeat = now - last_publish_ >= 1s;
  if (!force && !heartbeat && (!watermarks_changed_ || now - last_publish_ < config_.watermark_interval)) return;
  wm_entries_.clear();
  for (auto& [p, task] : tasks_) task->append_watermarks(wm_entries_);
  last_publish_ = now;
  watermarks_changed_ = false;
  if (wm_entries_.empty()) return;
  envelope::encode_watermarks(wm_value_, wm_entries_);
  const auto ts = wall_clock_ms();
  for (const auto& topic : repartition_sinks_) {
    const auto id = collector_->topic(topic);
    const auto parts = collector_->partitions(id);
    for (std::int32_t d = 0; d < parts; ++d) producer_->send(id, d, {}, wm_value_, ts);
  }
}

void Runner::commit(const char* reason, bool wait) {
  // One commit in flight: its flush must reach RocksDB before the next one is sealed.
  if (pending_commit_ && !complete_commit(wait)) return;
  const auto t0 = Clock::now();
  if (!def_.internal_sources) send_chunks(reason);
  std::vector<Task*> progressed;
  for (auto& [p, task] : tasks_)
    if (task->has_progress()) progressed.push_back(task.get());
  // Under exactly-once, records sent without progress (watermarks, dead letters of skipped
  // input) are invisible until a transaction commits them.
  const bool pending_sends = config_.exactly_once && producer_->sent() != sent_at_txn_begin_;
  if (progressed.empty() && !pending_sends) return;
  if (!def_.internal_sources && !progressed.empty()) publish_watermarks(true);
  for (auto* t : progressed) t->flush();
  std::vector<kafka::TopicPartition> offsets;
  std::vector<OffsetCommit> wanted;
  for (auto* t : progressed) {
    wanted.clear();
    t->committable(wanted);
    for (auto& c : wanted) {
      std::int64_t off = c.offset;
      if (off < 0) off = consumer_->position(def_.source_topics[c.source], t->partition());
      if (off < 0) continue;
      offsets.push_back({def_.source_topics[c.source], t->partition(), off, std::move(c.metadata)});
    }
  }
  // A record that was never enqueued is in no epoch: committing past it would lose it.
  if (!config_.exactly_once) {
    if (auto ec = collector_->take_error())
      throw std::runtime_error("an output record was not accepted: " + ec.message());
  }
  // Everything sent so far (outputs, changelog records and markers, watermarks) is what the
  // offsets cover; later records belong to the next commit.
  producer_->seal();
  PendingCommit pending{std::move(offsets), {}, reason, t0};
  for (auto* t : progressed) {
    pending.partitions.push_back(t->partition());
    t->clear_progress();
  }
  pending_commit_ = std::move(pending);
  if (config_.exactly_once) {
    commit_transaction(pending_commit_->offsets, reason);
    wait = true;  // the transaction committed: every record of it is acknowledged
  }
  complete_commit(wait);
}

bool Runner::complete_commit(bool wait) {
  auto& pending = *pending_commit_;
  if (!producer_->sealed_acknowledged()) {
    const auto deadline = pending.started + config_.flush_timeout;
    if (wait) {
      while (!producer_->sealed_acknowledged() && Clock::now() < deadline) producer_->poll_events(10ms);
    }
    if (!producer_->sealed_acknowledged()) {
      if (Clock::now() < deadline) return false;
      throw std::runtime_error(std::string("cannot deliver outputs (") + pending.reason +
                               "): not acknowledged within the flush timeout");
    }
  }
  // Offsets may be committed only once every output and changelog record they cover is
  // acknowledged; if one failed, the process must not commit and restarts from the last commit.
  if (auto ec = producer_->take_delivery_error())
    throw std::runtime_error(std::string("cannot deliver outputs (") + pending.reason + "): " + ec.message());
  // Local state follows what is durable: RocksDB sees a flush only once its changelog records
  // are acknowledged or, under exactly-once, their transaction committed, so state written by
  // an aborted transaction never reaches the local store.
  for (const auto p : pending.partitions) {
    auto it = tasks_.find(p);
    if (it != tasks_.end()) it->second->commit_local();
  }
  // Under exactly-once the transaction committed the offsets atomically with the outputs;
  // committing them again directly is redundant on a real broker (one more round trip per
  // commit) but keeps the mode correct on brokers that accept TxnOffsetCommit without storing
  // it, the dev broker among them (dev_broker_transactions_test.cpp).
  if (auto ec = consumer_->commit_sync(pending.offsets))
    spdlog::warn("offset commit ({}) failed: {}", pending.reason, ec.message());
  metrics_->commits->inc();
  metrics_->commit_seconds->observe(std::chrono::duration<double>(Clock::now() - pending.started).count());
  pending_commit_.reset();
  return true;
}

void Runner::commit_transaction(std::vector<kafka::TopicPartition>& offsets, const char* reason) {
  kafka::TxnResult r;
  if (auto ec = collector_->take_error()) {
    // A record that was never enqueued is not in the transaction: committing would lose it.
    r.error = ec;
    r.abortable = true;
    r.message = "an output record was not accepted: " + ec.message();
  }
  // librdkafka classifies each failure: a retriable one may repeat the same call.
  const auto with_retries = [&](const char* what, const auto& call) {
    for (int attempt = 1;; ++attempt) {
      r = call();
      if (!r || !r.retriable || attempt == 5) return;
      spdlog::warn("{} ({}) attempt {} failed, retrying: {}", what, reason, attempt, r.message);
    }
  };
  if (!r)
    with_retries("send offsets to transaction",
                 [&] { return producer_->send_offsets_to_transaction(offsets, *consumer_, config_.flush_timeout); });
  if (!r) with_retries("commit transaction", [&] { return producer_->commit_transaction(config_.flush_timeout); });
  if (r) {
    if (r.abortable) {
      if (const auto a = producer_->abort_transaction(config_.flush_timeout))
        spdlog::error("abort transaction: {}", a.message);
    }
    // The in-memory state has run ahead of what committed: the process restarts and resumes
    // from the last committed transaction.
    throw std::runtime_error(std::string("transaction commit (") + reason + ") failed" +
                             (r.fatal ? " fatally" : "") + ": " + r.message);
  }
  if (const auto b = producer_->begin_transaction()) throw std::runtime_error("begin transaction: " + b.message);
  sent_at_txn_begin_ = producer_->sent();
}

void Runner::send_chunks(const char* reason) {
  // Two-phase aggregation: the end of every input chunk whose partials are about to go
  // downstream is committed first, so that a replay cuts the input at the same offsets.
  std::vector<kafka::TopicPartition> intents;
  std::vector<Task*> ready;
  OffsetCommit c;
  for (auto& [p, task] : tasks_) {
    if (!task->pre_aggregating()) continue;
    if (task->chunk_intent(c)) {
      intents.push_back({def_.source_topics[c.source], p, c.offset, std::move(c.metadata)});
    }
    ready.push_back(task.get());
  }
  if (!intents.empty()) {
    if (auto ec = consumer_->commit_sync(intents)) {
      // Nothing was sent: the chunks stay open and are retried at the next commit.
      spdlog::warn("chunk commit ({}) failed: {}", reason, ec.message());
      return;
    }
  }
  for (auto* t : ready) t->send_chunk();
}

void Runner::apply_backpressure() {
  const auto held = producer_->unacknowledged_bytes();
  const auto high = config_.producer_buffer_bytes / 2, low = config_.producer_buffer_bytes / 4;
  if ((!paused_ && held > high) || (paused_ && repause_)) {
    if (auto ec = consumer_->pause(consumer_->assignment())) {
      spdlog::warn("stage {}: cannot pause input: {}", def_.name, ec.message());
      return;
    }
    if (!paused_) {
      metrics_->backpressure_pauses->inc();
      spdlog::debug("stage {}: {} bytes unacknowledged: input paused", def_.name, held);
    }
    paused_ = true;
    repause_ = false;
    metrics_->paused->set(1);
  } else if (paused_ && held < low) {
    if (auto ec = consumer_->resume(consumer_->assignment())) {
      spdlog::warn("stage {}: cannot resume input: {}", def_.name, ec.message());
      return;
    }
    paused_ = false;
    metrics_->paused->set(0);
    spdlog::debug("stage {}: {} bytes unacknowledged: input resumed", def_.name, held);
  }
}

void Runner::update_lag_metrics() {
  metrics_->producer_bytes->set(static_cast<double>(producer_->unacknowledged_bytes()));
  std::vector<std::pair<std::string, double>> lag, current;
  std::uint64_t appended = 0;
  TimestampMs min_time = kNoTimestamp;
  std::size_t cached = 0;
  for (auto& [p, task] : tasks_) {
    cached += task->cached_windows();
    for (std::size_t i = 0; i < def_.source_topics.size(); ++i) {
      const auto& topic = def_.source_topics[i];
      std::int64_t lo = 0, hi = 0;
      if (!consumer_->cached_watermarks(topic, p, lo, hi)) continue;
      if (const auto n = metrics_->end_offsets.observe(topic, p, hi)) {
        metrics_->appended(topic).inc(n);
        appended += n;
      }
      auto pos = consumer_->position(topic, p);
      if (pos < 0) pos = lo;
      const double l = static_cast<double>(std::max<std::int64_t>(0, hi - pos));
      const auto labels = metrics::labels(
          {{"consumergroup", metrics_->group}, {"topic", topic}, {"partition", std::to_string(p)}});
      lag.emplace_back(labels, l);
      current.emplace_back(labels, static_cast<double>(pos));
      const TimestampMs t = def_.internal_sources ? task->event_time() : task->stream_time(i);
      if (t != kNoTimestamp && (min_time == kNoTimestamp || t < min_time)) min_time = t;
    }
  }
  {
    const bool measured = metrics_->end_offsets.end_round();
    const auto now = std::chrono::steady_clock::now();
    const double dt = std::chrono::duration<double>(now - metrics_->last_rate_sample).count();
    const std::uint64_t consumed = metrics_->consumed_total();
    // Both over the same samples, from the first round that measured the input on.
    if (measured) {
      metrics_->input_window.add(dt, static_cast<double>(appended));
      metrics_->processed_window.add(dt, static_cast<double>(consumed - metrics_->last_consumed));
    }
    metrics_->last_rate_sample = now;
    metrics_->last_consumed = consumed;
    metrics_->input_rate->set(metrics_->input_window.rate());
    metrics_->processed_rate->set(metrics_->processed_window.rate());
  }
  // No kafka_consumergroup_lag_sum here: promtool rejects a gauge ending in _sum; Prometheus
  // sums the per-partition series (sum by (consumergroup, topic)) just as well.
  registry_.set_dynamic_gauges("kafka_consumergroup_lag", "Consumer group lag in records, per partition",
                               std::move(lag));
  registry_.set_dynamic_gauges("kafka_consumergroup_current_offset", "Consumer group position, per partition",
                               std::move(current));
  if (min_time != kNoTimestamp)
    metrics_->event_time_lag->set(static_cast<double>(wall_clock_ms() - min_time) / 1000.0);
  metrics_->cached_windows->set(static_cast<double>(cached));
  double keys = 0, bytes = 0;
  for (auto& [n, s] : stores_) {
    keys += static_cast<double>(s->approximate_keys());
    bytes += static_cast<double>(s->approximate_bytes());
  }
  metrics_->state_keys->set(keys);
  metrics_->state_bytes->set(bytes);
}

}  // namespace sw
