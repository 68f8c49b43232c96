#pragma once
// Realistic log events for the crash monitor (the seeds' load generator): users, a severity
// mix, a rate of crash mentions, and optional out-of-order and late timestamps. Deterministic
// for a given seed.
#include <array>
#include <chrono>
#include <cstdint>
#include <string>

#include "common/time.h"

namespace sw::crash_monitor {

struct GeneratorConfig {
  std::uint64_t seed = 1;
  std::uint32_t users = 1000;
  double crash_rate = 0.1;                   // fraction of events whose content mentions a crash
  std::array<double, 4> severity_weights{40, 30, 20, 10};  // Low, Medium, High, Critical
  double out_of_order = 0.0;                 // fraction shifted back by up to max_disorder
  std::chrono::milliseconds max_disorder{5000};
  double late = 0.0;                         // fraction shifted back by late_by
  std::chrono::milliseconds late_by{60000};
};

// Parses "Low=40,Medium=30,High=20,Critical=10"; throws std::invalid_argument.
std::array<double, 4> parse_severity_mix(const std::string& text);

class LogGenerator {
 public:
  explicit LogGenerator(const GeneratorConfig& config);
  // One event at event time `now` (before any disorder): key is the user id.
  void next(TimestampMs now, std::string& key, std::string& value);

 private:
  std::uint64_t rand();
  double uniform() { return static_cast<double>(rand() >> 11) * 0x1.0p-53; }
  GeneratorConfig config_;
  std::uint64_t state_;
  std::array<double, 4> cumulative_{};
  std::uint64_t sequence_ = 0;
};

inline constexpr std::array<const char*, 4> kSeverities{"Low", "Medium", "High", "Critical"};

}  // namespace sw::crash_monitor
