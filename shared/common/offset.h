#pragma once
// A position in a partition's log. Plain integers gave -1 four meanings ("the log's end" to
// librdkafka, "none recorded", "the consumer's current position", "the group's committed
// offset"), told apart only by comments; here each meaning has its own name and the absolute
// value is read only where it exists.
#include <cassert>
#include <cstdint>
#include <limits>
#include <string>

namespace sw {

class Offset {
 public:
  // No offset: nothing recorded yet, or a position not known.
  constexpr Offset() noexcept = default;
  static constexpr Offset none() noexcept { return Offset(); }
  // An absolute offset (from 0).
  static constexpr Offset at(std::int64_t n) noexcept {
    assert(n >= 0);
    return Offset(n);
  }
  // Where to start reading, resolved when consumption starts: the log's first or next offset,
  // or the consumer group's committed offset (the reset policy applies when there is none).
  static constexpr Offset beginning() noexcept { return Offset(kBeginning); }
  static constexpr Offset end() noexcept { return Offset(kEnd); }
  static constexpr Offset committed() noexcept { return Offset(kCommitted); }

  constexpr bool is_none() const noexcept { return v_ == kNone; }
  constexpr bool is_absolute() const noexcept { return v_ >= 0; }
  constexpr bool is_beginning() const noexcept { return v_ == kBeginning; }
  constexpr bool is_end() const noexcept { return v_ == kEnd; }
  constexpr bool is_committed() const noexcept { return v_ == kCommitted; }
  // The absolute offset; only for is_absolute().
  constexpr std::int64_t value() const noexcept {
    assert(is_absolute());
    return v_;
  }
  // The absolute offset, or `fallback` for any other.
  constexpr std::int64_t value_or(std::int64_t fallback) const noexcept { return is_absolute() ? v_ : fallback; }
  // The offset after this one; only for is_absolute().
  constexpr Offset next() const noexcept { return at(value() + 1); }

  constexpr bool operator==(const Offset& o) const noexcept = default;

  // "42", "none", "beginning", "end" or "committed", for logs and messages.
  std::string to_string() const {
    switch (v_) {
      case kNone: return "none";
      case kBeginning: return "beginning";
      case kEnd: return "end";
      case kCommitted: return "committed";
      default: return std::to_string(v_);
    }
  }

 private:
  static constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::min();
  static constexpr std::int64_t kBeginning = -2;
  static constexpr std::int64_t kEnd = -1;
  static constexpr std::int64_t kCommitted = -3;
  constexpr explicit Offset(std::int64_t v) noexcept : v_(v) {}
  std::int64_t v_ = kNone;
};

}  // namespace sw
