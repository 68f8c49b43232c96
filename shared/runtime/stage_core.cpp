#include "runtime/stage_core.h"

#include <algorithm>

namespace sw {

StageCore::StageCore(const Topology& topology, const SubTopologyDef& def, RecordCollector& collector,
                     std::map<std::string, state::RocksDbStore*> stores, TaskCounters counters,
                     std::vector<std::int32_t> upstream_partitions, GenerationFn generation)
    : topology_(topology),
      def_(def),
      collector_(collector),
      stores_(std::move(stores)),
      counters_(counters),
      upstream_partitions_(std::move(upstream_partitions)),
      generation_(std::move(generation)) {}

std::vector<StageCore::Created> StageCore::restore_and_create(const std::vector<std::int32_t>& partitions,
                                                              const ChangelogFor& changelog, TimestampMs now_wall,
                                                              const RestoredFn& on_restored) {
  std::vector<std::int32_t> fresh;
  for (const auto p : partitions)
    if (!tasks_.count(p) && std::find(fresh.begin(), fresh.end(), p) == fresh.end()) fresh.push_back(p);
  // Every new partition's state is restored in one pass per store (one read of all its changelog
  // partitions), then the tasks are created from what the restore found.
  std::map<std::int32_t, std::vector<RestoreResult>> restored;
  for (const auto p : fresh) restored[p];
  if (!fresh.empty()) {
    for (auto& [name, store] : stores_) {
      const auto results = restore_partitions(*store, fresh, changelog(name));
      if (on_restored) on_restored(name, results);
      for (const auto& r : results) restored[r.partition].push_back(r);
    }
  }
  std::vector<Created> created;
  for (const auto p : fresh) {
    TaskMeta meta;
    std::uint32_t previous_generation = 0;
    bool restored_meta = false;
    for (const auto& result : restored[p]) {
      if (result.has_meta && TaskMeta::decode(result.meta, meta)) {
        restored_meta = true;
        previous_generation = result.generation;
      }
    }
    const Offset start = restored_meta && def_.internal_sources && meta.input_offset >= 0 ? Offset::at(meta.input_offset)
                                                                                           : Offset::committed();
    meta.generation = generation_(p, previous_generation);
    auto task = std::make_unique<Task>(topology_, def_, p, collector_, stores_, counters_, upstream_partitions_,
                                       std::move(meta));
    for (std::size_t i = 0; i < def_.source_topics.size(); ++i) task->note_activity(i, now_wall);
    tasks_[p] = std::move(task);
    created.push_back({p, start});
  }
  return created;
}

Task* StageCore::task(std::int32_t partition) const {
  const auto it = tasks_.find(partition);
  return it == tasks_.end() ? nullptr : it->second.get();
}

void StageCore::restore_commit(const std::string& topic, std::int32_t partition, std::string_view metadata) {
  Task* t = task(partition);
  if (!t) return;
  for (std::size_t i = 0; i < def_.source_topics.size(); ++i)
    if (def_.source_topics[i] == topic) t->restore_commit(i, metadata);
}

bool StageCore::pre_aggregating() const {
  return std::any_of(tasks_.begin(), tasks_.end(), [](const auto& e) { return e.second->pre_aggregating(); });
}

bool StageCore::advance_idle(TimestampMs now_wall, TimestampMs idle_timeout,
                             const std::function<bool(std::size_t, std::int32_t)>& caught_up) {
  bool changed = false;
  for (auto& [p, task] : tasks_)
    for (std::size_t i = 0; i < def_.source_topics.size(); ++i)
      if (task->advance_idle(i, now_wall, idle_timeout, caught_up(i, p))) changed = true;
  return changed;
}

void StageCore::advance_event_time() {
  for (auto& [p, task] : tasks_) task->advance_event_time();
}

void StageCore::append_watermarks(std::vector<envelope::WatermarkEntry>& out) const {
  for (const auto& [p, task] : tasks_) task->append_watermarks(out);
}

std::vector<SourceOffset> StageCore::chunk_intents() const {
  std::vector<SourceOffset> intents;
  OffsetCommit c;
  for (const auto& [p, task] : tasks_)
    if (task->pre_aggregating() && task->chunk_intent(c))
      intents.push_back({def_.source_topics[c.source], p, c.offset, std::move(c.metadata)});
  return intents;
}

void StageCore::send_chunks() {
  for (auto& [p, task] : tasks_)
    if (task->pre_aggregating()) task->send_chunk();
}

bool StageCore::has_progress() const {
  return std::any_of(tasks_.begin(), tasks_.end(), [](const auto& e) { return e.second->has_progress(); });
}

StageCore::PreparedCommit StageCore::prepare_commit() {
  PreparedCommit out;
  std::vector<Task*> progressed;
  for (auto& [p, task] : tasks_)
    if (task->has_progress()) progressed.push_back(task.get());
  for (auto* t : progressed) t->flush();
  std::vector<OffsetCommit> wanted;
  for (auto* t : progressed) {
    wanted.clear();
    t->committable(wanted);
    for (auto& c : wanted) out.offsets.push_back({def_.source_topics[c.source], t->partition(), c.offset, std::move(c.metadata)});
    out.partitions.push_back(t->partition());
    t->clear_progress();
  }
  return out;
}

void StageCore::commit_local(const std::vector<std::int32_t>& partitions) {
  for (const auto p : partitions)
    if (Task* t = task(p)) t->commit_local();
}

std::size_t StageCore::cached_windows() const {
  std::size_t n = 0;
  for (const auto& [p, task] : tasks_) n += task->cached_windows();
  return n;
}

}  // namespace sw
