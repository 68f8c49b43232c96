// Timestamps moved by a replay pass (services/loadgen/replay_time.cpp): any token, never a crash;
// a moved timestamp parses back in the same form, at the instant it was moved to (cut to the
// precision of its form), and moving it back restores a millisecond-precise original exactly.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "services/loadgen/replay_time.h"

using namespace sw::loadgen;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return 0;
  std::int64_t shift = 0;
  std::memcpy(&shift, data, 8);
  shift %= 4'000'000'000'000;  // +-127 years
  const std::string_view token(reinterpret_cast<const char*>(data + 8), size - 8);
  TokenTime t;
  if (!parse_token_time(token, t)) return 0;
  std::string moved;
  if (!append_shifted(t, shift, moved)) return 0;
  TokenTime m;
  FUZZ_CHECK(parse_token_time(moved, m));
  FUZZ_CHECK(m.number == t.number && m.separator == t.separator && m.fraction_digits == t.fraction_digits &&
             m.zone == t.zone && m.offset_min == t.offset_min && m.sub_ms == t.sub_ms);
  const std::int64_t p = t.precision_ms();
  const std::int64_t want = t.local_ms + shift;
  const std::int64_t floor_want = want - ((want % p) + p) % p;
  FUZZ_CHECK(m.local_ms == floor_want);
  if (!t.number && t.fraction_digits >= 3) {
    std::string back;
    FUZZ_CHECK(append_shifted(m, -shift, back));
    FUZZ_CHECK(back == token);
  }
  return 0;
}
