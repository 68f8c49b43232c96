#include "kafka/owed_offsets.h"

#include <algorithm>

namespace sw::kafka {

void OwedOffsets::owe(TopicPartition tp) {
  auto owed = std::find(offsets_.begin(), offsets_.end(), tp);  // same topic and partition
  if (owed == offsets_.end())
    offsets_.push_back(std::move(tp));
  else
    *owed = std::move(tp);
}

void OwedOffsets::forget(const TopicPartition& tp) { std::erase(offsets_, tp); }

std::optional<std::error_code> OwedOffsets::commit(Consumer& consumer, When when) {
  if (offsets_.empty()) return std::nullopt;
  const auto now = Clock::now();
  if (when == When::settled) {
    if (held_until_ && now < *held_until_) return std::nullopt;
    if (consumer.group_joining()) {
      if (!joining_since_) joining_since_ = now;
      if (now - *joining_since_ < kMaxJoinWait) return std::nullopt;
    } else {
      joining_since_.reset();
    }
  }
  const auto assignment = consumer.assignment();
  std::erase_if(offsets_, [&](const TopicPartition& tp) {
    return std::find(assignment.begin(), assignment.end(), tp) == assignment.end();
  });
  if (offsets_.empty()) return std::nullopt;
  if (auto ec = consumer.commit_sync(offsets_)) {
    held_until_ = now + (is(ec, Errc::rebalance_in_progress) ? kRebalanceHold : kRetrySpacing);
    return ec;
  }
  held_until_.reset();
  offsets_.clear();
  return std::error_code{};
}

}  // namespace sw::kafka
