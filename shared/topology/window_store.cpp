#include "topology/window_store.h"

#include "common/bytes.h"
#include "metrics/metrics.h"

namespace sw {

ChangeLoggingWindowStore::ChangeLoggingWindowStore(std::unique_ptr<RocksDbWindowStore> inner,
                                                   RecordCollector& collector, const std::string& changelog_topic,
                                                   std::int32_t partition, std::uint32_t generation)
    : inner_(std::move(inner)), collector_(collector), partition_(partition), generation_(generation) {
  topic_ = collector_.topic(changelog_topic);
  collector_.track_offsets(topic_);
}

void ChangeLoggingWindowStore::put(const state::WindowKey& key, std::string_view value) {
  state::encode_changelog_key(key_, key);
  state::encode_changelog_value(value_, false, generation_, value);
  collector_.send(topic_, partition_, key_, value_, wall_clock_ms());
  inner_->put(key, value);
}

void ChangeLoggingWindowStore::remove(const state::WindowKey& key) {
  state::encode_changelog_key(key_, key);
  state::encode_changelog_value(value_, true, generation_, {});
  collector_.send(topic_, partition_, key_, value_, wall_clock_ms());
  inner_->remove(key);
}

void ChangeLoggingWindowStore::flush(std::string_view task_meta) {
  // The marker commits the flush on restore: records of a flush without one are discarded.
  value_.clear();
  bytes::put<std::uint32_t>(value_, generation_);
  value_.append(task_meta);
  collector_.send(topic_, partition_, std::string_view(&state::kChangelogMarkerType, 1), value_, wall_clock_ms());
  inner_->flush(task_meta);
}

void ChangeLoggingWindowStore::commit() {
  inner_->commit();
  const auto last = collector_.last_acked_offset(topic_, partition_);
  if (last.is_absolute()) inner_->checkpoint(last.value() + 1);
}

void MeteredWindowStore::put(const state::WindowKey& key, std::string_view value) {
  if (writes_) writes_->inc();
  inner_->put(key, value);
}

void MeteredWindowStore::remove(const state::WindowKey& key) {
  if (writes_) writes_->inc();
  inner_->remove(key);
}

std::unique_ptr<WindowStore> make_window_store(TaskContext& ctx, const std::string& store_name,
                                               const std::string& changelog_topic) {
  auto rocks = std::make_unique<RocksDbWindowStore>(ctx.store(store_name), ctx.partition());
  auto logged = std::make_unique<ChangeLoggingWindowStore>(std::move(rocks), ctx.collector(), changelog_topic,
                                                           ctx.partition(), ctx.generation());
  return std::make_unique<MeteredWindowStore>(std::move(logged), ctx.counters().store_writes);
}

}  // namespace sw
