#pragma once
// Event time across stages.
//
// Entry: each input partition p has a stream time S_p, the largest event timestamp of the valid
// records read from p so far (plus idle advancement). Lateness is decided against S_p where a
// record enters, and S_p is committed with the partition's offset so a replay decides alike.
//
// Downstream: every upstream task publishes S_p of its input partitions to every partition of
// the repartition topic, in order with the data. A downstream task's event time is the minimum
// over all upstream input partitions, so it only passes a point once every upstream partition
// has, whatever the number of replicas or their speed.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/time.h"

namespace sw {

// Status of one upstream input partition as seen downstream.
inline constexpr TimestampMs kWatermarkUnknown = INT64_MIN;      // not heard from yet: holds time back
inline constexpr TimestampMs kWatermarkEmpty = INT64_MIN + 1;    // idle and never had a record: ignored

class UpstreamWatermarks {
 public:
  UpstreamWatermarks() = default;
  explicit UpstreamWatermarks(std::size_t partitions) : times_(partitions, kWatermarkUnknown) {}

  void resize(std::size_t partitions) { times_.resize(partitions, kWatermarkUnknown); }
  std::size_t size() const noexcept { return times_.size(); }

  // Watermarks only move forward; a replayed older value is ignored. Empty yields to any time.
  // Unknown replaces only Empty: an upstream task restarted with a partition committed as empty
  // does not know yet whether records arrived meanwhile, so downstream holds until it does.
  void update(std::size_t partition, TimestampMs t) noexcept {
    if (partition >= times_.size()) return;
    TimestampMs& cur = times_[partition];
    if (t == kWatermarkUnknown) {
      if (cur == kWatermarkEmpty) cur = kWatermarkUnknown;
      return;
    }
    if (cur == kWatermarkUnknown || cur == kWatermarkEmpty) {
      cur = t;
    } else if (t != kWatermarkEmpty && t > cur) {
      cur = t;
    }
  }

  // Minimum over partitions with a time; kNoTimestamp while any partition is unknown or when all
  // are empty.
  TimestampMs current() const noexcept {
    TimestampMs result = kNoTimestamp;
    bool any = false;
    for (TimestampMs t : times_) {
      if (t == kWatermarkUnknown) return kNoTimestamp;
      if (t == kWatermarkEmpty) continue;
      result = any ? std::min(result, t) : t;
      any = true;
    }
    return any ? result : kNoTimestamp;
  }

  const std::vector<TimestampMs>& values() const noexcept { return times_; }
  std::vector<TimestampMs>& values() noexcept { return times_; }

 private:
  std::vector<TimestampMs> times_;
};

}  // namespace sw
