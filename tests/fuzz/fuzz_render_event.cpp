// The render farm's frame event parser (topologies/render_farm.cpp): any bytes, never a crash;
// what it accepts has ids, finite numbers in range, a known status and a plausible event time.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "fuzz_check.h"
#include "topologies/render_farm.h"

using namespace sw;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  render_farm::RenderEvent e;
  std::string error;
  if (render_farm::parse_render_event(text, e, error)) {
    FUZZ_CHECK(!e.scene_id.empty() && !e.node_id.empty());
    FUZZ_CHECK(std::isfinite(e.render_time_ms) && e.render_time_ms >= 0 && e.render_time_ms <= 1e9);
    FUZZ_CHECK(std::isfinite(e.gpu_utilization) && e.gpu_utilization >= 0 && e.gpu_utilization <= 1);
    FUZZ_CHECK(e.cpu_utilization == -1 || (e.cpu_utilization >= 0 && e.cpu_utilization <= 1));
    FUZZ_CHECK(e.memory_mb == -1 || (e.memory_mb >= 0 && e.memory_mb <= 1e9));
    FUZZ_CHECK(e.attempt >= 1 && e.attempt <= 1'000'000);
    FUZZ_CHECK(static_cast<int>(e.status) <= 2);
    FUZZ_CHECK(check_event_time(e.timestamp) == TimeParseError::none);
    for (auto s : {e.frame_id, e.scene_id, e.node_id, e.error}) FUZZ_CHECK(simdjson::validate_utf8(s.data(), s.size()));
  } else {
    FUZZ_CHECK(!error.empty());
  }
  return 0;
}
