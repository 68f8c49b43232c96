#pragma once
// Realistic log events for the crash monitor (the seeds' load generator): users, a severity
// mix, a rate of crash mentions (or of any other word: the seed's ADDITIONAL_TERM), and optional
// out-of-order and late timestamps. Deterministic for a given seed and instance.
#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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
  // A word put into exactly `term_rate` of the messages' content instead of the built-in crash
  // texts (crash_rate is then unused); no other message's content contains it (ASCII case
  // ignored, as the crash monitor matches). Empty: the crash texts at crash_rate.
  std::string term;
  double term_rate = 0.1;
  // Generator processes writing to one topic use distinct instances: each has its own random
  // stream and its request ids carry the instance ("r-<8 hex digits>-<sequence>"). Instance 0
  // is the original single generator ("r-<sequence>"), byte for byte.
  std::uint32_t instance = 0;
};

// Parses "Low=40,Medium=30,High=20,Critical=10"; throws std::invalid_argument.
std::array<double, 4> parse_severity_mix(const std::string& text);

// Why `term` cannot be used as an additional term (empty when it can): it must be a non-blank
// UTF-8 word or phrase of at most kMaxTermBytes bytes without quotes, backslashes or control
// characters (it is written into JSON strings as it is), and not appear in every ordinary message.
std::string term_problem(std::string_view term);
inline constexpr std::size_t kMaxTermBytes = 64;

class LogGenerator {
 public:
  // Throws std::invalid_argument on a bad configuration (see term_problem()).
  explicit LogGenerator(const GeneratorConfig& config);
  // One event at event time `now` (before any disorder): key is the user id. No allocation once
  // `key` and `value` have grown to an event's size.
  void next(TimestampMs now, std::string& key, std::string& value);

 private:
  struct Text {
    std::string content;
    std::uint8_t module;
  };
  std::uint64_t rand();
  double uniform() { return static_cast<double>(rand() >> 11) * 0x1.0p-53; }
  GeneratorConfig config_;
  std::uint64_t state_;
  std::array<double, 4> cumulative_{};
  std::uint64_t sequence_ = 0;
  double special_rate_;             // crash_rate, or term_rate with a term
  std::vector<Text> special_;       // crash texts (module-major, 6 x 6), or the term's texts
  std::vector<Text> ordinary_;      // ordinary texts (module-major, 6 x 6), or those without the term
  std::string request_prefix_;      // "\",\"request_id\":\"r-" plus the instance, if any
  TimestampMs cached_ts_ = kNoTimestamp;  // events in a burst share their event time
  std::string cached_ts_text_;
};

inline constexpr std::array<const char*, 4> kSeverities{"Low", "Medium", "High", "Critical"};

}  // namespace sw::crash_monitor
