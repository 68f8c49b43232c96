// The duration parser (shared/common/duration.cpp): any bytes, never a crash and only
// std::invalid_argument on bad input; an accepted duration formats and parses back to itself.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/duration.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::chrono::milliseconds d{};
  try {
    d = sw::parse_duration(text);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  FUZZ_CHECK(d.count() >= 0 && d.count() <= (1LL << 50));
  FUZZ_CHECK(sw::parse_duration(sw::format_duration(d)) == d);
  return 0;
}
