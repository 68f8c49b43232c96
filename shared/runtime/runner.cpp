#include "runtime/runner.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <thread>

#include "metrics/rates.h"
#include "runtime/client_config.h"
#include "runtime/commit_modes.h"
#include "runtime/kafka_changelog.h"
#include "runtime/kafka_table_feed.h"
#include "runtime/topic_setup.h"
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
  Offset last_acked_offset(TopicId t, std::int32_t partition) override {
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

Runner::Runner(const Topology& topology, const std::string& stage, RunnerConfig config, metrics::Registry& registry)
    : topology_(topology), def_(topology.subtopology(stage)), config_(std::move(config)), registry_(registry) {
  const std::string group = topology.group_id(def_.name);
  metrics_ = std::make_unique<Metrics>(registry, def_.name, group);
  if (config_.bootstrap_servers.empty()) throw std::runtime_error("no Kafka bootstrap servers configured");
  const auto clients = stage_client_configs(config_, group, def_.internal_sources);

  producer_ = std::make_unique<kafka::Producer>(clients.producer);
  if (config_.exactly_once) {
    const auto r = producer_->init_transactions(config_.flush_timeout);
    if (r) throw std::runtime_error("cannot initialise Kafka transactions: " + r.message);
  }
  collector_ = std::make_unique<Collector>(*producer_, registry, def_.name);
  const auto upstream_partitions = set_up_stage_topics(*producer_, topology, def_, config_.internal_partitions);
  // Resolve every topic this stage writes now, so a missing one fails at start-up.
  for (const auto& use : topology.topics()) {
    const bool writes = (use.subtopology == def_.name &&
                         (use.role == TopicRole::output || use.role == TopicRole::dead_letter ||
                          use.role == TopicRole::changelog));
    if (writes) collector_->topic(use.name);
  }
  for (const auto& t : def_.repartition_sinks) collector_->topic(t);

  std::map<std::string, state::RocksDbStore*> stores;
  if (!def_.stores.empty()) {
    rocksdb_ = std::make_unique<state::RocksDbResources>(config_.rocksdb);
    const auto dir = std::filesystem::path(config_.state_dir) / topology.application_id() / def_.name;
    for (const auto& s : def_.stores) {
      stores_[s] = std::make_unique<state::RocksDbStore>(dir, s, *rocksdb_);
      stores[s] = stores_[s].get();
    }
    restore_consumer_ = std::make_unique<kafka::Consumer>(clients.restore_consumer, nullptr);
    restore_consumer_->set_fetch_wakeup(kafka::kFetchWakeupQuiet);
    if (config_.standby_replicas > 0) {
      auto sc = clients.restore_consumer;
      sc.set(kafka::keys::client_id, clients.client_id + "-standby");
      standby_consumer_ = std::make_unique<kafka::Consumer>(sc, nullptr);
      standby_consumer_->set_fetch_wakeup(kafka::kFetchWakeupQuiet);
      std::int32_t tasks = 0;
      const auto changelog = topology.changelog_topic(def_.stores.front());
      if (auto ec = standby_consumer_->partition_count(changelog, tasks, std::chrono::seconds(10)))
        throw std::runtime_error("cannot read the partitions of " + changelog + ": " + ec.message());
      const auto l = metrics::labels({{"stage", def_.name}});
      auto& records = registry.counter("streamwright_standby_records_total",
                                       "Changelog records read to keep standby copies of other replicas' tasks warm", l);
      StandbyUpdater::Counters counters{
          &registry.gauge("streamwright_standby_partitions", "Tasks of other replicas kept warm here", l),
          &registry.counter("streamwright_standby_failures_total", "Standby rounds that could not read a changelog", l)};
      // One source per store, rebuilt each round (it only holds the consumer and the topic).
      auto sources = std::make_shared<std::map<std::string, std::unique_ptr<KafkaChangelogSource>>>();
      standby_ = std::make_unique<StandbyUpdater>(
          stores, tasks,
          [this, sources, &records](const std::string& store, const std::atomic<bool>& cancel) -> ChangelogSource& {
            auto& source = (*sources)[store];
            source = std::make_unique<KafkaChangelogSource>(*standby_consumer_, topology_.changelog_topic(store),
                                                            records, &cancel);
            return *source;
          },
          config_.standby_interval, counters);
      spdlog::info("stage {}: standby replicas on: the {} tasks this replica does not run are kept warm", def_.name,
                   tasks);
    }
  }
  TaskCounters counters{metrics_->late_entry, metrics_->late_downstream, metrics_->dead_lettered,
                        metrics_->deduplicated, metrics_->outputs, metrics_->store_writes};
  core_ = std::make_unique<StageCore>(topology, def_, *collector_, std::move(stores), counters, upstream_partitions,
                                      [](std::int32_t, std::uint32_t previous) { return new_generation(previous); });
  consumer_ = std::make_unique<kafka::Consumer>(clients.consumer, this);
  consumer_->set_fetch_wakeup(kafka::kFetchWakeupQuiet);
  commits_ = make_commit_mode(config_.exactly_once, *producer_, *consumer_, config_.flush_timeout);
  // Global tables load whole before the first record is processed.
  std::vector<std::pair<std::string, std::string>> properties;
  for (const auto& [k, v] : config_.kafka.entries()) properties.emplace_back(k, v);
  table::TableEnv env{&registry_, clients.client_id, kafka_row_feeds(config_.bootstrap_servers, std::move(properties))};
  for (const auto& t : def_.global_tables) t->open(env);
  last_loop_ms_.store(steady_ms());
}

Runner::~Runner() {
  standby_.reset();  // stops its rounds before the stores and its consumer go
  standby_consumer_.reset();
  if (core_) core_->drop_all();
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

void Runner::on_partitions_assigned(std::vector<kafka::TopicPartition>& partitions) {
  metrics_->rebalances->inc();
  owed_offsets_.rebalance_ended();  // the generation is known again
  ready_.store(false);
  metrics_->ready->set(0);
  std::vector<std::int32_t> assigned;
  for (const auto& tp : partitions) assigned.push_back(tp.partition);
  if (standby_) {
    // A standby round must not write the newly assigned partitions while their tasks restore
    // (they restore from the standby's checkpoint: only what was written since its last round).
    auto active = assigned;
    for (const auto& [p, task] : core_->tasks()) active.push_back(p);
    standby_->set_active(active);
  }
  std::vector<StageCore::Created> created_tasks;
  {
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
    std::map<std::string, std::unique_ptr<KafkaChangelogSource>> sources;
    auto t0 = Clock::now();
    created_tasks = core_->restore_and_create(
        assigned,
        [&](const std::string& store) -> ChangelogSource& {
          t0 = Clock::now();
          auto& source = sources[store];
          source = std::make_unique<KafkaChangelogSource>(*restore_consumer_, topology_.changelog_topic(store),
                                                          *metrics_->restored);
          return *source;
        },
        wall_clock_ms(),
        [&](const std::string& store, const std::vector<RestoreResult>& results) {
          const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
          const auto changelog = topology_.changelog_topic(store);
          std::uint64_t records = 0, discarded = 0;
          for (const auto& r : results) {
            spdlog::info("restored {} [{}]: {} records from offset {} to {} ({}), {} discarded", changelog, r.partition,
                         r.records, r.start_offset, r.end_offset, r.full ? "full" : "from checkpoint", r.discarded);
            records += r.records;
            discarded += r.discarded;
          }
          spdlog::info("restored {} ({} partitions): {} records, {} discarded, {:.3f}s", changelog, results.size(),
                       records, discarded, secs);
        });
  }
  std::vector<std::int32_t> created;
  for (const auto& c : created_tasks) {
    created.push_back(c.partition);
    if (c.start_offset.is_absolute())
      for (auto& tp : partitions)
        if (tp.partition == c.partition) tp.offset = c.start_offset;
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
    for (auto p : created) pre_aggregating = pre_aggregating || core_->task(p)->pre_aggregating();
    if (ec && pre_aggregating) {
      // Without the committed chunk end a replay could cut the input elsewhere and double-count
      // or lose partials: stop, and let the restarted process try again.
      throw std::runtime_error("cannot read the committed offsets and chunk ends: " + ec.message());
    }
    if (!ec)
      for (const auto& tp : committed) core_->restore_commit(tp.topic, tp.partition, tp.metadata);
  }
  if (paused_) repause_ = true;  // new partitions start unpaused
  std::string list;
  for (const auto& tp : partitions) list += tp.topic + "[" + std::to_string(tp.partition) + "] ";
  spdlog::info("stage {}: assigned {}", def_.name, list);
  metrics_->assigned->set(static_cast<double>(core_->size()));
  ready_.store(true);
  metrics_->ready->set(1);
  // Standby rounds start with the first tasks, not on a first, empty assignment (cooperative
  // rebalancing hands a joining member nothing in its first round): they would start warming the
  // partitions it is about to be given. A member the group leaves without tasks starts them
  // after a while (run_loop).
  update_standby_set();
  if (standby_ && core_->size() > 0) standby_->start();
}

void Runner::on_partitions_revoked(const std::vector<kafka::TopicPartition>& partitions) {
  metrics_->rebalances->inc();
  // Revoked partitions are committed now, while this member still owns them (cooperative
  // rebalancing revokes before the generation changes).
  owed_offsets_.rebalance_ended();
  // After a failure the tasks may be ahead of what is durable (or the transaction broken):
  // their partitions go back uncommitted, to be replayed from the last commit.
  if (!failed_) commit("revoke", true);
  // What could not be committed now (held while the member rejoins, or refused) is the new
  // owner's to replay: sent later, it could move the new owner's committed offsets back.
  for (const auto& tp : partitions) {
    core_->drop(tp.partition);
    forget_offsets(tp);
  }
  update_standby_set();
  std::string list;
  for (const auto& tp : partitions) list += tp.topic + "[" + std::to_string(tp.partition) + "] ";
  spdlog::info("stage {}: revoked {}", def_.name, list);
  metrics_->assigned->set(static_cast<double>(core_->size()));
}

void Runner::on_partitions_lost(const std::vector<kafka::TopicPartition>& partitions) {
  metrics_->rebalances->inc();
  owed_offsets_.rebalance_ended();
  spdlog::warn("stage {}: {} partitions lost without commit; their uncommitted work will be replayed",
               def_.name, partitions.size());
  for (const auto& tp : partitions) {
    core_->drop(tp.partition);
    forget_offsets(tp);
  }
  update_standby_set();
  metrics_->assigned->set(static_cast<double>(core_->size()));
}

void Runner::forget_offsets(const kafka::TopicPartition& tp) {
  owed_offsets_.forget(tp);
  if (!pending_commit_) return;
  // Another member owns the partition now: the commit in flight must not write its offset.
  auto& pc = *pending_commit_;
  std::erase(pc.offsets, tp);
  std::erase(pc.partitions, tp.partition);
}

void Runner::update_standby_set() {
  if (!standby_) return;
  if (core_->size() > 0)
    no_tasks_since_.reset();
  else if (!no_tasks_since_)
    no_tasks_since_ = Clock::now();
  std::vector<std::int32_t> active;
  for (const auto& [p, task] : core_->tasks()) active.push_back(p);
  standby_->set_active(active);
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
  commits_->start();
  if (auto ec = consumer_->subscribe(def_.source_topics)) throw std::runtime_error("subscribe: " + ec.message());
  spdlog::info("stage {} of {} running (group {}{}{})", def_.name, topology_.application_id(),
               topology_.group_id(def_.name), config_.group_instance_id.empty() ? "" : ", static member ",
               config_.group_instance_id);
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
      // A member left without tasks by the group for a while is a standby only.
      if (standby_ && no_tasks_since_ && now - *no_tasks_since_ >= 10s) standby_->start();
      update_lag_metrics();
      next_metrics = now + 1s;
    }
    if (auto ec = producer_->fatal_error()) throw std::runtime_error("producer fatal error: " + ec.message());
  }
  spdlog::info("stage {}: stopping: committing and leaving the group", def_.name);
  batch_.clear();  // release the last batch's messages before the consumer closes
  commit("shutdown", true);
  consumer_->close();  // revokes (commits again if needed) and leaves the group
  if (standby_) standby_->stop();
  commits_->finish();
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
      task = core_->task(m.partition());
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
  if (core_->entry()) {
    const bool changed = core_->advance_idle(now_wall, config_.idle_timeout.count(), [&](std::size_t i, std::int32_t p) {
      const auto& topic = def_.source_topics[i];
      std::int64_t lo = 0, hi = 0;
      const bool known = consumer_->cached_watermarks(topic, p, lo, hi);
      const auto pos = consumer_->position(topic, p);
      return known && (pos.is_absolute() ? pos.value() >= hi : hi <= lo);
    });
    if (changed) watermarks_changed_ = true;
    publish_watermarks(false);
  } else {
    core_->advance_event_time();
  }
}

void Runner::publish_watermarks(bool force) {
  const auto now = Clock::now();
  const bool heartbeat = now - last_publish_ >= 1s;
  if (!force && !heartbeat && (!watermarks_changed_ || now - last_publish_ < config_.watermark_interval)) return;
  wm_entries_.clear();
  core_->append_watermarks(wm_entries_);
  last_publish_ = now;
  watermarks_changed_ = false;
  if (wm_entries_.empty()) return;
  envelope::encode_watermarks(wm_value_, wm_entries_);
  const auto ts = wall_clock_ms();
  for (const auto& topic : def_.repartition_sinks) {
    const auto id = collector_->topic(topic);
    const auto parts = collector_->partitions(id);
    for (std::int32_t d = 0; d < parts; ++d) {
      // A lost watermark only delays downstream window closing; the next heartbeat carries it again.
      if (const auto ec = producer_->send(id, d, {}, wm_value_, ts))
        spdlog::warn("watermark to {} [{}] not sent: {}", topic, d, ec.message());
    }
  }
}

void Runner::commit(const char* reason, bool wait) {
  // One commit in flight: its flush must reach RocksDB before the next one is sealed.
  if (pending_commit_ && !complete_commit(wait)) return;
  const auto t0 = Clock::now();
  if (core_->entry()) send_chunks(reason);
  const bool progress = core_->has_progress();
  // Under exactly-once, records sent without progress (watermarks, dead letters of skipped
  // input) are invisible until a transaction commits them.
  if (!progress && !commits_->has_uncommitted_sends()) {
    // Nothing new: still send what an earlier commit could not, once the group has settled.
    commit_owed_offsets(reason);
    return;
  }
  if (core_->entry() && progress) publish_watermarks(true);
  auto prepared = core_->prepare_commit();
  std::vector<kafka::TopicPartition> offsets;
  for (auto& o : prepared.offsets) {
    Offset off = o.offset;
    if (!off.is_absolute()) off = consumer_->position(o.topic, o.partition);
    if (!off.is_absolute()) continue;
    offsets.push_back({std::move(o.topic), o.partition, off, std::move(o.metadata)});
  }
  // Everything sent so far (outputs, changelog records and markers, watermarks) is what the
  // offsets cover; later records belong to the next commit.
  const bool acknowledged = commits_->seal(offsets, collector_->take_error(), reason);
  pending_commit_ = PendingCommit{std::move(offsets), std::move(prepared.partitions), reason, t0};
  complete_commit(wait || acknowledged);
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
  // While the member rejoins its group, an offset commit would be refused as an illegal
  // generation and cost it its partitions (kafka::Consumer::group_joining()): the commit stays
  // pending, and completes once the member has its new assignment.
  constexpr auto kMaxCommitHold = std::chrono::seconds(60);
  if (!pending.offsets.empty() && consumer_->group_joining() && Clock::now() - pending.started < kMaxCommitHold) {
    if (!pending.waited_for_join)
      spdlog::info("stage {}: the group is rebalancing: offsets are committed again once it has ended", def_.name);
    pending.waited_for_join = true;
    return false;
  }
  // Local state follows what is durable: RocksDB sees a flush only once its changelog records
  // are acknowledged or, under exactly-once, their transaction committed, so state written by
  // an aborted transaction never reaches the local store.
  core_->commit_local(pending.partitions);
  // Under exactly-once the transaction committed the offsets atomically with the outputs;
  // committing them again directly is redundant on a real broker (one more round trip per
  // commit) but keeps the mode correct on brokers that accept TxnOffsetCommit without storing
  // it, the dev broker among them (dev_broker_transactions_test.cpp).
  for (auto& o : pending.offsets) owed_offsets_.owe(std::move(o));
  commit_owed_offsets(pending.reason);
  metrics_->commits->inc();
  metrics_->commit_seconds->observe(std::chrono::duration<double>(Clock::now() - pending.started).count());
  pending_commit_.reset();
  return true;
}

void Runner::commit_owed_offsets(const char* reason) {
  const auto refused = owed_offsets_.commit(*consumer_);
  if (!refused || !*refused) return;
  if (kafka::is(*refused, kafka::Errc::rebalance_in_progress))
    spdlog::info("stage {}: the group is rebalancing: offsets are committed again once it has ended", def_.name);
  else
    spdlog::warn("offset commit ({}) failed, sent again with the next one: {}", reason, refused->message());
}

void Runner::send_chunks(const char* reason) {
  // Two-phase aggregation: the end of every input chunk whose partials are about to go
  // downstream is committed first, so that a replay cuts the input at the same offsets.
  if (!core_->pre_aggregating()) return;
  if (consumer_->group_joining()) return;  // as in complete_commit(): the chunks stay open
  std::vector<kafka::TopicPartition> intents;
  for (auto& c : core_->chunk_intents()) intents.push_back({std::move(c.topic), c.partition, c.offset, std::move(c.metadata)});
  if (!intents.empty()) {
    if (auto ec = consumer_->commit_sync(intents)) {
      // Nothing was sent: the chunks stay open and are retried at the next commit.
      spdlog::warn("chunk commit ({}) failed: {}", reason, ec.message());
      return;
    }
  }
  core_->send_chunks();
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
  for (auto& [p, task] : core_->tasks()) {
    for (std::size_t i = 0; i < def_.source_topics.size(); ++i) {
      const auto& topic = def_.source_topics[i];
      std::int64_t lo = 0, hi = 0;
      if (!consumer_->cached_watermarks(topic, p, lo, hi)) continue;
      if (const auto n = metrics_->end_offsets.observe(topic, p, hi)) {
        metrics_->appended(topic).inc(n);
        appended += n;
      }
      const auto pos = consumer_->position(topic, p).value_or(lo);
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
  metrics_->cached_windows->set(static_cast<double>(core_->cached_windows()));
  double keys = 0, bytes = 0;
  for (auto& [n, s] : stores_) {
    keys += static_cast<double>(s->approximate_keys());
    bytes += static_cast<double>(s->approximate_bytes());
  }
  metrics_->state_keys->set(keys);
  metrics_->state_bytes->set(bytes);
}

}  // namespace sw
