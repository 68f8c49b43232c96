#include "testing/topology_test_driver.h"

#include <deque>
#include <random>
#include <stdexcept>

#include "common/partitioner.h"
#include "metrics/metrics.h"
#include "runtime/restore.h"
#include "runtime/stage_core.h"
#include "table/global_table.h"
#include "topology/envelope.h"

namespace sw::testing {

class TopologyTestDriver::MemoryCollector final : public RecordCollector, public TopologyTestDriver::MemoryLogs {
 public:
  explicit MemoryCollector(std::int32_t partitions) : partitions_(partitions) {}
  TopicId topic(const std::string& name) override {
    auto it = ids_.find(name);
    if (it != ids_.end()) return it->second;
    const auto id = static_cast<TopicId>(names_.size());
    ids_[name] = id;
    names_.push_back(name);
    logs_.emplace_back(static_cast<std::size_t>(partitions_));
    return id;
  }
  std::int32_t partitions(TopicId) override { return partitions_; }
  void send(TopicId t, std::int32_t partition, std::string_view key, std::string_view value, TimestampMs ts) override {
    append(t, partition, key, value, ts, {});
  }
  void send_with_headers(TopicId t, std::int32_t partition, std::string_view key, std::string_view value,
                         const std::vector<std::pair<std::string, std::string>>& headers, TimestampMs ts) override {
    append(t, partition, key, value, ts, headers);
  }
  Offset last_acked_offset(TopicId t, std::int32_t partition) override {
    const auto n = logs_[t][static_cast<std::size_t>(partition)].size();
    return n == 0 ? Offset::none() : Offset::at(static_cast<std::int64_t>(n) - 1);
  }
  void track_offsets(TopicId) override {}

  std::vector<OutputRecord>& log(const std::string& name, std::int32_t partition) override {
    return logs_[topic(name)][static_cast<std::size_t>(partition)];
  }
  std::int32_t partition_count() const { return partitions_; }
  std::uint64_t sequence() const { return sequence_; }

 private:
  void append(TopicId t, std::int32_t partition, std::string_view key, std::string_view value, TimestampMs ts,
              std::vector<std::pair<std::string, std::string>> headers) {
    if (partition < 0) partition = key.empty() ? 0 : partition_for_key(key, partitions_);
    logs_[t][static_cast<std::size_t>(partition)].push_back(
        {partition, std::string(key), std::string(value), ts, std::move(headers)});
    ++sequence_;
  }
  std::int32_t partitions_;
  std::map<std::string, TopicId> ids_;
  std::vector<std::string> names_;
  std::deque<std::vector<std::vector<OutputRecord>>> logs_;  // deque: references stay valid
  std::uint64_t sequence_ = 0;
};

namespace {
// A changelog topic's in-memory partitions, read as the runtime reads Kafka.
class MemoryChangelogSource final : public ChangelogSource {
 public:
  MemoryChangelogSource(TopologyTestDriver::MemoryLogs& logs, std::string topic)
      : logs_(logs), topic_(std::move(topic)) {}
  bool bounds(std::int32_t partition, std::int64_t& low, std::int64_t& high) override {
    low = 0;
    high = static_cast<std::int64_t>(logs_.log(topic_, partition).size());
    return true;
  }
  bool read(const std::vector<Range>& ranges, const RecordFn& f) override {
    for (const auto& r : ranges) {
      const auto& log = logs_.log(topic_, r.partition);
      for (std::int64_t i = r.from; i < r.high; ++i) {
        const auto& rec = log[static_cast<std::size_t>(i)];
        f(r.partition, i, rec.key, rec.value);
      }
    }
    return true;
  }

 private:
  TopologyTestDriver::MemoryLogs& logs_;
  std::string topic_;
};
}  // namespace

struct TopologyTestDriver::Stage {
  const SubTopologyDef* def;
  std::map<std::string, std::unique_ptr<state::RocksDbStore>> stores;
  std::unique_ptr<StageCore> core;  // the tasks, as in the runtime
  // Committed and current positions per (source topic, partition).
  std::map<std::pair<std::string, std::int32_t>, std::size_t> position, committed;
  std::map<std::pair<std::string, std::int32_t>, std::string> committed_metadata;
  std::map<std::pair<std::string, std::int32_t>, TimestampMs> last_activity;
};

TopologyTestDriver::TopologyTestDriver(const Topology& topology, Options options)
    : topology_(topology), options_(std::move(options)), wall_clock_(options_.start_wall_clock_ms) {
  if (options_.state_dir.empty()) {
    std::random_device rd;
    state_dir_ = std::filesystem::temp_directory_path() / ("sw-driver-" + std::to_string(rd()) + std::to_string(rd()));
    own_state_dir_ = true;
  } else {
    state_dir_ = options_.state_dir;
  }
  collector_ = std::make_unique<MemoryCollector>(options_.partitions);
  for (const auto& t : topology.topics()) collector_->topic(t.name);
  rocksdb_ = std::make_unique<state::RocksDbResources>(state::RocksDbOptions{8 << 20, 8 << 20});
  for (const auto& def : topology.subtopologies())
    for (const auto& t : def.global_tables) t->open(table::TableEnv{});
  for (const auto& def : topology.subtopologies()) {
    auto stage = std::make_unique<Stage>();
    stage->def = &def;
    for (const auto& s : def.stores)
      stage->stores[s] = std::make_unique<state::RocksDbStore>(state_dir_ / def.name, s, *rocksdb_);
    create_tasks(*stage);
    stages_.push_back(std::move(stage));
  }
}

TopologyTestDriver::~TopologyTestDriver() {
  stages_.clear();
  rocksdb_.reset();
  if (own_state_dir_) {
    std::error_code ec;
    std::filesystem::remove_all(state_dir_, ec);
  }
}

void TopologyTestDriver::create_tasks(Stage& stage) {
  const auto& def = *stage.def;
  TaskCounters counters{&registry_.counter("late", ""), &registry_.counter("late_downstream", ""),
                        &registry_.counter("dead_lettered", ""), &registry_.counter("deduplicated", ""),
                        &registry_.counter("outputs", "")};
  std::vector<std::int32_t> upstream;
  if (def.internal_sources) {
    for (const auto& t : topology_.entry_topics()) {
      const bool up = std::find(def.upstream_entry_topics.begin(), def.upstream_entry_topics.end(), t) !=
                      def.upstream_entry_topics.end();
      upstream.push_back(up ? options_.partitions : 0);
    }
  }
  std::map<std::string, state::RocksDbStore*> stores;
  for (auto& [n, s] : stage.stores) stores[n] = s.get();
  // Deterministic generations (the runtime draws them at random): the sequence of records
  // written so far, per partition.
  stage.core = std::make_unique<StageCore>(
      topology_, def, *collector_, std::move(stores), counters, upstream, [this](std::int32_t p, std::uint32_t) {
        return static_cast<std::uint32_t>(collector_->sequence() + 1 + static_cast<std::uint64_t>(p));
      });
  std::vector<std::int32_t> partitions;
  for (std::int32_t p = 0; p < options_.partitions; ++p) partitions.push_back(p);
  std::map<std::string, std::unique_ptr<MemoryChangelogSource>> sources;
  const auto created = stage.core->restore_and_create(
      partitions,
      [&](const std::string& store) -> ChangelogSource& {
        auto& source = sources[store];
        source = std::make_unique<MemoryChangelogSource>(*collector_, topology_.changelog_topic(store));
        return *source;
      },
      wall_clock_);
  for (const auto& c : created) {
    for (std::size_t i = 0; i < def.source_topics.size(); ++i) {
      const auto key = std::make_pair(def.source_topics[i], c.partition);
      stage.position[key] =
          c.start_offset.is_absolute() ? static_cast<std::size_t>(c.start_offset.value()) : stage.committed[key];
      if (!def.internal_sources) {
        const auto it = stage.committed_metadata.find(key);
        if (it != stage.committed_metadata.end()) stage.core->restore_commit(key.first, c.partition, it->second);
      }
      stage.last_activity[key] = wall_clock_;
    }
  }
}

void TopologyTestDriver::pipe_input(const std::string& topic, const std::string& key, const std::string& value,
                                    std::int32_t partition) {
  const auto id = collector_->topic(topic);
  collector_->send(id, partition, key, value, wall_clock_);
  pump();
}

void TopologyTestDriver::pump() {
  for (auto& stage : stages_)
    for (const auto& t : stage->def->global_tables) t->before_batch(wall_clock_);
  for (int round = 0; round < 1000; ++round) {
    bool any = false;
    for (auto& stage : stages_) {
      for (auto& [p, task] : stage->core->tasks()) {
        for (std::size_t i = 0; i < stage->def->source_topics.size(); ++i) {
          const auto& topic = stage->def->source_topics[i];
          auto& log = collector_->log(topic, p);
          auto& pos = stage->position[{topic, p}];
          while (pos < log.size()) {
            const auto& r = log[pos];
            InputRecord rec{topic, p, static_cast<std::int64_t>(pos), r.key, r.value, false, r.timestamp};
            ++pos;
            task->process(rec);
            if (!stage->def->internal_sources) task->note_activity(i, wall_clock_);
            any = true;
          }
        }
      }
    }
    publish_watermarks();
    for (auto& stage : stages_)
      if (stage->def->internal_sources)
        if (options_.apply_event_time_on_input || punctuating_) stage->core->advance_event_time();
    bool pending = false;
    for (auto& stage : stages_)
      for (auto& [p, task] : stage->core->tasks())
        for (const auto& topic : stage->def->source_topics)
          if (stage->position[{topic, p}] < collector_->log(topic, p).size()) pending = true;
    if (!any && !pending) return;
  }
  throw std::logic_error("topology did not settle");
}

void TopologyTestDriver::publish_watermarks() {
  for (auto& stage : stages_) {
    if (stage->def->internal_sources || stage->def->repartition_sinks.empty()) continue;
    std::vector<envelope::WatermarkEntry> entries;
    stage->core->append_watermarks(entries);
    if (entries.empty()) continue;
    std::string value;
    envelope::encode_watermarks(value, entries);
    for (const auto& topic : stage->def->repartition_sinks) {
      const auto id = collector_->topic(topic);
      for (std::int32_t d = 0; d < collector_->partition_count(); ++d) {
        auto& log = collector_->log(topic, d);
        // Only publish a change, to keep the in-memory logs small.
        if (!log.empty() && log.back().value == value) continue;
        collector_->send(id, d, {}, value, wall_clock_);
      }
    }
  }
}

void TopologyTestDriver::advance_wall_clock(TimestampMs ms) {
  wall_clock_ += ms;
  punctuating_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{punctuating_};
  for (auto& stage : stages_)
    for (const auto& t : stage->def->global_tables) t->maintain(wall_clock_);
  for (auto& stage : stages_)
    if (stage->core->entry())
      stage->core->advance_idle(wall_clock_, options_.idle_timeout_ms, [](std::size_t, std::int32_t) { return true; });
  pump();
}

void TopologyTestDriver::send_chunks(Stage& stage) {
  if (!stage.core->entry()) return;
  for (const auto& c : stage.core->chunk_intents()) {
    const auto key = std::make_pair(c.topic, c.partition);
    stage.committed[key] = static_cast<std::size_t>(c.offset.value());
    stage.committed_metadata[key] = c.metadata;
  }
  stage.core->send_chunks();
}

void TopologyTestDriver::commit() {
  for (auto& stage : stages_) send_chunks(*stage);
  pump();
  for (auto& stage : stages_) {
    // Every record is acknowledged at once: the flush is durable as soon as it is made.
    auto prepared = stage->core->prepare_commit();
    stage->core->commit_local(prepared.partitions);
    for (const auto& c : prepared.offsets) {
      const auto key = std::make_pair(c.topic, c.partition);
      stage->committed[key] = c.offset.is_absolute() ? static_cast<std::size_t>(c.offset.value()) : stage->position[key];
      if (stage->core->entry()) stage->committed_metadata[key] = c.metadata;
    }
  }
  pump();
}

void TopologyTestDriver::send_chunks_then_crash(const std::string& stage_name) {
  for (auto& stage : stages_)
    if (stage->def->name == stage_name) send_chunks(*stage);
  pump();
  crash_and_restart(stage_name, true);
}

void TopologyTestDriver::crash_and_restart(const std::string& stage_name, bool keep_local_state) {
  for (auto& stage : stages_) {
    if (stage->def->name != stage_name) continue;
    stage->core.reset();
    if (!keep_local_state) {
      for (auto& [name, store] : stage->stores) {
        store.reset();
        std::filesystem::remove_all(state_dir_ / stage->def->name / name);
        std::filesystem::remove(state_dir_ / stage->def->name / (name + ".checkpoint"));
        store = std::make_unique<state::RocksDbStore>(state_dir_ / stage->def->name, name, *rocksdb_);
      }
    }
    create_tasks(*stage);
  }
  pump();
}

std::vector<OutputRecord> TopologyTestDriver::read_output(const std::string& topic) {
  auto& positions = read_positions_[topic];
  positions.resize(static_cast<std::size_t>(collector_->partition_count()), 0);
  std::vector<OutputRecord> out;
  for (std::int32_t p = 0; p < collector_->partition_count(); ++p) {
    const auto& log = collector_->log(topic, p);
    auto& pos = positions[static_cast<std::size_t>(p)];
    for (; pos < log.size(); ++pos) out.push_back(log[pos]);
  }
  return out;
}

std::vector<OutputRecord> TopologyTestDriver::all_records(const std::string& topic) {
  std::vector<OutputRecord> out;
  for (std::int32_t p = 0; p < collector_->partition_count(); ++p)
    for (const auto& r : collector_->log(topic, p)) out.push_back(r);
  return out;
}

std::uint64_t TopologyTestDriver::counter(const std::string& name) { return registry_.counter(name, "").value(); }

}  // namespace sw::testing
