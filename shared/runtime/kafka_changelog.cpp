#include "runtime/kafka_changelog.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>

namespace sw {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

bool KafkaChangelogSource::bounds(std::int32_t partition, std::int64_t& low, std::int64_t& high) {
  const auto ec = consumer_.query_watermarks(topic_, partition, low, high, 10s);
  if (ec) spdlog::error("cannot read offsets of {} [{}]: {}", topic_, partition, ec.message());
  return !ec;
}

bool KafkaChangelogSource::read(const std::vector<Range>& ranges, const RecordFn& f) {
  struct Progress {
    std::int64_t next, high;
  };
  std::map<std::int32_t, Progress> progress;
  std::vector<kafka::TopicPartition> assignment;
  for (const auto& r : ranges) {
    if (r.from >= r.high) continue;
    progress[r.partition] = {r.from, r.high};
    assignment.push_back({topic_, r.partition, Offset::at(r.from), {}});
  }
  if (assignment.empty()) return true;
  if (consumer_.assign(assignment)) return false;
  kafka::MessageBatch batch(10000);
  auto last_progress = Clock::now();
  bool ok = true;
  while (!progress.empty()) {
    if (cancel_ && cancel_->load(std::memory_order_relaxed)) {
      ok = false;
      break;
    }
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
        const auto pos = consumer_.position(topic_, it->first).value_or(-1);
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
  if (const auto ec = consumer_.assign({})) {
    spdlog::error("restore consumer of {} could not release its partitions: {}", topic_, ec.message());
    ok = false;
  }
  return ok;
}

}  // namespace sw
