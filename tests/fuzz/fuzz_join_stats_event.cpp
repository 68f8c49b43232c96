// join-stats' event parser and exact decimals (topologies/join_stats.cpp). The first byte picks
// what the rest is: an event under the default options, an event under other options (group from
// the event, three fields, two decimals), or a number token. Any bytes: never a crash; what the
// parser accepts has a key, valid UTF-8, a plausible event time and values within the limit; a
// token read as a decimal agrees with strtod to within rounding, and prints back to itself.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "fuzz_check.h"
#include "topologies/join_stats.h"

using namespace sw;
using namespace sw::join_stats;

namespace {

const EventSpec& spec(int which) {
  static const EventSpec a{Config{}};
  static const EventSpec b{[] {
    Config c;
    c.join_key = "sku";
    c.group_by = "event.region";
    c.fields = {"amount", "tax", "weight"};
    c.timestamp_field = "ts";
    c.decimals = 2;
    return c;
  }()};
  return which == 0 ? a : b;
}

void check_event(std::string_view text, const EventSpec& s) {
  Event e;
  std::string error;
  if (!parse_event(text, s, e, error)) {
    FUZZ_CHECK(!error.empty());
    return;
  }
  FUZZ_CHECK(!e.key.empty());
  FUZZ_CHECK(simdjson::validate_utf8(e.key.data(), e.key.size()));
  FUZZ_CHECK(simdjson::validate_utf8(e.group.data(), e.group.size()));
  FUZZ_CHECK(check_event_time(e.timestamp) == TimeParseError::none);
  FUZZ_CHECK((e.present >> s.fields().size()) == 0);
  const auto limit = static_cast<std::int64_t>(9'000'000'000'000'000'000LL);
  for (std::size_t i = 0; i < s.fields().size(); ++i)
    if (e.present & (1u << i)) FUZZ_CHECK(e.values[i] >= -limit && e.values[i] <= limit);
  // A sample of it aggregates and renders.
  Sample sample;
  sample.group = e.group;
  sample.present = e.present;
  sample.values = e.values;
  auto stats = make_stats(s.fields().size());
  add_sample(stats, sample);
  std::string json;
  stats_json(json, s, e.group, Window{e.timestamp, e.timestamp + 60'000}, stats);
  FUZZ_CHECK(simdjson::validate_utf8(json.data(), json.size()));
}

void check_token(std::string_view token, int decimals) {
  std::int64_t v = 0;
  if (!parse_scaled(token, decimals, v)) return;
  // strtod needs a terminated string; the token is a JSON number, so strtod takes all of it.
  const std::string text(token);
  char* end = nullptr;
  const double x = std::strtod(text.c_str(), &end) * std::pow(10.0, decimals);
  FUZZ_CHECK(std::fabs(x - static_cast<double>(v)) <= 0.5 + std::fabs(x) * 4e-16 + 1e-9);
  std::string printed;
  append_decimal(printed, v, decimals);
  std::int64_t again = 0;
  FUZZ_CHECK(parse_scaled(printed, decimals, again) && again == v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: check_event(rest, spec(0)); break;
    case 1: check_event(rest, spec(1)); break;
    default:
      if (!rest.empty()) check_token(rest.substr(1), static_cast<unsigned char>(rest[0]) % (kMaxDecimals + 1));
      break;
  }
  return 0;
}
