#include "common/duration.h"

#include <charconv>
#include <stdexcept>

namespace sw {

std::chrono::milliseconds parse_duration(std::string_view text) {
  long long value = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || p == text.data() || value < 0)
    throw std::invalid_argument("invalid duration '" + std::string(text) + "' (use e.g. 500ms, 10s, 5m)");
  const std::string_view unit(p, static_cast<std::size_t>(text.data() + text.size() - p));
  long long mult = 0;
  if (unit.empty() || unit == "ms") mult = 1;
  else if (unit == "s") mult = 1000;
  else if (unit == "m" || unit == "min") mult = 60'000;
  else if (unit == "h") mult = 3'600'000;
  else throw std::invalid_argument("invalid duration unit in '" + std::string(text) + "' (use ms, s, m or h)");
  if (value > (1LL << 50) / mult) throw std::invalid_argument("duration '" + std::string(text) + "' is too large");
  return std::chrono::milliseconds(value * mult);
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 3'600'000 == 0 && ms) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0 && ms) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace sw
