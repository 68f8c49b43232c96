// The render farm's dimension rows (scenes, hardware nodes) as the global table's file loader
// reads them (shared/table/global_table.cpp): a JSON array, or JSON lines, each row an object
// given to parse_scene_row and parse_node_row. Any bytes: never a crash; accepted rows have a
// key and non-negative finite numbers.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_check.h"
#include "topologies/render_farm.h"

using namespace sw::render_farm;

namespace {

void row(const nlohmann::json& r) {
  if (!r.is_object()) return;
  std::string key, error;
  Scene s;
  if (parse_scene_row(r, key, s, error)) {
    FUZZ_CHECK(!key.empty());
    FUZZ_CHECK(std::isfinite(s.complexity) && s.complexity >= 0);
    FUZZ_CHECK(s.frame_budget_ms == -1 || (std::isfinite(s.frame_budget_ms) && s.frame_budget_ms >= 0));
  } else {
    FUZZ_CHECK(!error.empty());
  }
  key.clear();
  error.clear();
  HardwareNode n;
  if (parse_node_row(r, key, n, error)) {
    FUZZ_CHECK(!key.empty());
    FUZZ_CHECK(std::isfinite(n.gpu_memory_gb) && n.gpu_memory_gb >= 0);
    FUZZ_CHECK(n.cpu_cores >= 0 && n.cpu_cores <= 1'000'000);
  } else {
    FUZZ_CHECK(!error.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '[') {
    const auto doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_array()) return 0;
    for (const auto& r : doc) row(r);
    return 0;
  }
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const auto line = text.substr(pos, end - pos);
    pos = end + 1;
    const auto r = nlohmann::json::parse(line, nullptr, false);
    if (!r.is_discarded()) row(r);
  }
  return 0;
}
