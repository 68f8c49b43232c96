// The render farm's binary records as read back from repartition and changelog topics
// (topologies/render_farm.cpp): frames, per-scene aggregates (render-metrics) and per-node
// aggregates (node-metrics). The first byte picks the format. Any bytes: never a crash; what
// deserializes re-serializes to bytes that deserialize to the same record, and merges and
// renders as JSON.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "topologies/render_farm.h"

using namespace sw;
using namespace sw::render_farm;

namespace {

template <class T>
std::string roundtrip(const Serde<T>& serde, const T& value) {
  std::string once, twice, error;
  serde.serialize(value, once);
  T again{};
  FUZZ_CHECK(serde.deserialize(once, again, error));
  serde.serialize(again, twice);
  FUZZ_CHECK(once == twice);
  return once;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string error;
  const Window w{1767261600000, 1767261660000};
  switch (data[0] % 3) {
    case 0: {
      static const auto serde = frame_serde();
      Frame f;
      if (!serde.deserialize(in, f, error)) return 0;
      roundtrip(serde, f);
      SceneStats s;
      add_frame(s, f);
      NodeStats n;
      add_frame(n, f);
      break;
    }
    case 1: {
      static const auto serde = scene_stats_serde();
      SceneStats s;
      if (!serde.deserialize(in, s, error)) return 0;
      roundtrip(serde, s);
      SceneStats merged;
      merge(merged, s);
      merge(merged, s);
      FUZZ_CHECK(merged.nodes.size() == s.nodes.size());
      std::string json;
      scene_metrics_json(json, "scene", w, merged);
      break;
    }
    default: {
      static const auto serde = node_stats_serde();
      NodeStats s;
      if (!serde.deserialize(in, s, error)) return 0;
      roundtrip(serde, s);
      NodeStats merged;
      merge(merged, s);
      merge(merged, s);
      std::string json;
      node_metrics_json(json, "node", w, merged);
      break;
    }
  }
  return 0;
}
