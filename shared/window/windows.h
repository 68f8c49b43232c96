#pragma once
// Event-time windows (Kafka Streams' TimeWindows): tumbling when advance == size, hopping when
// advance < size. Immutable and validated on construction; windows are [start, end).
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "common/time.h"

namespace sw {

struct Window {
  TimestampMs start = 0;
  TimestampMs end = 0;
  bool operator==(const Window& o) const { return start == o.start && end == o.end; }
};

enum class EmitStrategy {
  on_window_close,   // one final result per window, once event time passes end + grace
  on_window_update,  // a result on every update, as soon as it happens
};

class TimeWindows {
 public:
  using ms = std::chrono::milliseconds;

  static TimeWindows tumbling(ms size, ms grace) { return TimeWindows(size, size, grace); }
  static TimeWindows hopping(ms size, ms advance, ms grace) { return TimeWindows(size, advance, grace); }

  TimestampMs size_ms() const noexcept { return size_; }
  TimestampMs advance_ms() const noexcept { return advance_; }
  TimestampMs grace_ms() const noexcept { return grace_; }
  bool is_tumbling() const noexcept { return size_ == advance_; }

  // Calls f(Window) for every window containing ts, earliest first. No allocation.
  template <class F>
  void for_each_window(TimestampMs ts, F&& f) const {
    // Largest window start <= ts that is a multiple of advance (floor division for negatives).
    TimestampMs last = ts >= 0 ? ts - ts % advance_ : ts - ((ts % advance_) + advance_) % advance_;
    TimestampMs first = last - ((size_ - 1) / advance_) * advance_;
    for (TimestampMs s = first; s <= last; s += advance_)
      if (ts < s + size_) f(Window{s, s + size_});
  }

  // A window accepts records until stream time reaches end + grace.
  bool is_closed(const Window& w, TimestampMs stream_time) const noexcept {
    return stream_time != kNoTimestamp && w.end + grace_ <= stream_time;
  }

  // True if every window containing ts is closed at the given stream time.
  bool is_late(TimestampMs ts, TimestampMs stream_time) const noexcept {
    TimestampMs last_start = ts >= 0 ? ts - ts % advance_ : ts - ((ts % advance_) + advance_) % advance_;
    return is_closed(Window{last_start, last_start + size_}, stream_time);
  }

  std::string describe() const;

 private:
  TimeWindows(ms size, ms advance, ms grace) : size_(size.count()), advance_(advance.count()), grace_(grace.count()) {
    if (size_ <= 0) throw std::invalid_argument("window size must be positive");
    if (advance_ <= 0 || advance_ > size_)
      throw std::invalid_argument("window advance must be positive and at most the window size");
    if (grace_ < 0) throw std::invalid_argument("window grace must not be negative");
  }
  TimestampMs size_, advance_, grace_;
};

inline std::string TimeWindows::describe() const {
  std::string s = is_tumbling() ? "tumbling(size=" + std::to_string(size_) + "ms"
                                : "hopping(size=" + std::to_string(size_) + "ms, advance=" + std::to_string(advance_) + "ms";
  return s + ", grace=" + std::to_string(grace_) + "ms)";
}

}  // namespace sw
