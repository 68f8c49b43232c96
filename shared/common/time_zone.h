#pragma once
// The zone of timestamps that carry none ("2026-01-01 10:15:30"): `--default-time-zone`. UTC, a
// fixed offset, or an IANA zone read once from the system's tz database, so that converting a
// record's local time is a binary search over transitions, with no global state (no TZ, no
// localtime_r) and no allocation.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sw {

class TimeZone {
 public:
  TimeZone() = default;  // UTC

  // "UTC", "Z", "GMT", a fixed offset ("+02:00", "-0530", "+05", "UTC+01:00"), or an IANA name
  // ("Europe/Berlin") looked up under $TZDIR or /usr/share/zoneinfo. Throws std::invalid_argument
  // naming the spec when it is none of these.
  static TimeZone parse(std::string_view spec);
  // The same, reading IANA zones under `tzdir` (tests).
  static TimeZone parse(std::string_view spec, const std::string& tzdir);

  // The UTC instant of a wall-clock time in this zone, given as epoch milliseconds of the same
  // fields read as UTC. As java.time (Spark) resolves them: a time that occurs twice (clocks set
  // back) takes the earlier offset; a time that does not exist (clocks set forward) moves forward
  // by the length of the gap.
  std::int64_t to_utc_ms(std::int64_t local_ms) const noexcept;
  // Seconds east of UTC in effect at a UTC instant.
  std::int32_t offset_at(std::int64_t utc_seconds) const noexcept;

  const std::string& name() const noexcept { return name_; }
  bool is_utc() const noexcept { return !transitions_ && fixed_offset_ == 0; }

 private:
  struct Transition {
    std::int64_t at;      // UTC seconds from which `offset` applies
    std::int32_t offset;  // seconds east of UTC
  };
  std::string name_ = "UTC";
  std::int32_t fixed_offset_ = 0;  // before the first transition, or always when there are none
  std::shared_ptr<const std::vector<Transition>> transitions_;

  static TimeZone load_tzif(const std::string& name, const std::string& path);
};

}  // namespace sw
