// join-stats' binary records as read back from the repartition and changelog topics, and its
// dataset rows (topologies/join_stats.cpp). The first byte picks the format: a sample (one-phase
// repartition record), group statistics (partials and window state), or dataset rows as JSON.
// Any bytes: never a crash; what deserializes re-serializes to bytes that deserialize to the same
// record, merges with itself without overflow, and renders as valid JSON.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_check.h"
#include "topologies/join_stats.h"

using namespace sw;
using namespace sw::join_stats;

namespace {

constexpr std::size_t kFields = 3;

const EventSpec& spec() {
  static const EventSpec s{[] {
    Config c;
    c.fields = {"price", "quantity", "discount"};
    return c;
  }()};
  return s;
}

template <class T>
void roundtrip(const Serde<T>& serde, const T& value) {
  std::string once, twice, error;
  serde.serialize(value, once);
  T again{};
  FUZZ_CHECK(serde.deserialize(once, again, error));
  serde.serialize(again, twice);
  FUZZ_CHECK(once == twice);
}

void render(const GroupStats& s) {
  std::string json;
  stats_json(json, spec(), "group", Window{1767261600000, 1767261660000}, s);
  const auto j = nlohmann::json::parse(json, nullptr, false);
  FUZZ_CHECK(!j.is_discarded());
  FUZZ_CHECK(j["stats"].size() == kFields);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string error;
  switch (data[0] % 3) {
    case 0: {
      static const auto serde = sample_serde(kFields);
      Sample s;
      if (!serde.deserialize(in, s, error)) return 0;
      roundtrip(serde, s);
      auto stats = make_stats(kFields);
      add_sample(stats, s);
      add_sample(stats, s);
      roundtrip(group_stats_serde(kFields), stats);
      render(stats);
      break;
    }
    case 1: {
      static const auto serde = group_stats_serde(kFields);
      GroupStats s;
      if (!serde.deserialize(in, s, error)) return 0;
      roundtrip(serde, s);
      auto merged = make_stats(kFields);
      merge(merged, s);
      merge(merged, s);
      FUZZ_CHECK(merged.count == 2 * s.count);
      for (std::size_t i = 0; i < kFields; ++i) FUZZ_CHECK(merged.fields[i].sum == 2 * s.fields[i].sum);
      render(merged);
      break;
    }
    default: {
      const auto rows = nlohmann::json::parse(in, nullptr, false);
      if (rows.is_discarded()) return 0;
      for (const auto& row : rows.is_array() ? rows : nlohmann::json::array({rows})) {
        std::string key;
        Row r;
        for (const char* group : {"category", ""}) {
          if (parse_row(row, "product_id", group, key, r, error)) {
            FUZZ_CHECK(!key.empty());
            if (!*group) FUZZ_CHECK(r.group.empty());
          } else {
            FUZZ_CHECK(!error.empty());
          }
        }
      }
      break;
    }
  }
  return 0;
}
