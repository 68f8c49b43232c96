#pragma once
// Realistic render-farm telemetry: one event per rendered frame, scenes drawn from a Zipf
// distribution (a few hot scenes carry most frames, the seed's skew), render times that depend
// on the scene's complexity, failures and retries. The ids match the sample dimension files
// (topologies/data/render-farm), which write_dimension_files() produces. Deterministic per seed.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/time.h"

namespace sw::render_farm {

struct GeneratorConfig {
  std::uint64_t seed = 1;
  std::uint32_t scenes = 200;
  std::uint32_t nodes = 120;
  double zipf_exponent = 1.1;   // 0: uniform
  double failure_rate = 0.02;
  double retry_rate = 0.03;
  double unknown_rate = 0.0;    // fraction of events naming a scene or node that no table holds
  double out_of_order = 0.0;    // fraction shifted back by up to max_disorder
  std::chrono::milliseconds max_disorder{5000};
};

std::string scene_id(std::uint32_t index);  // "scene-0007"
std::string node_id(std::uint32_t index);   // "node-042"

// The sample dimension rows for `scenes` scenes and `nodes` nodes, as the generator sees them.
std::string scenes_json(std::uint32_t scenes);        // a JSON array
std::string nodes_json_lines(std::uint32_t nodes);    // JSON lines
void write_dimension_files(const std::filesystem::path& dir, std::uint32_t scenes, std::uint32_t nodes);

class RenderEventGenerator {
 public:
  explicit RenderEventGenerator(const GeneratorConfig& config);
  // One frame event at event time `now` (before any disorder); the key is the frame id.
  void next(TimestampMs now, std::string& key, std::string& value);

 private:
  std::uint64_t rand();
  double uniform() { return static_cast<double>(rand() >> 11) * 0x1.0p-53; }
  double gaussian();
  GeneratorConfig config_;
  std::uint64_t state_;
  std::vector<double> cumulative_;  // Zipf CDF over scenes
  std::uint64_t sequence_ = 0;
};

// Mean render time and frame budget of a scene, in ms (shared with the dimension files).
double scene_mean_render_ms(std::uint32_t index);
double scene_frame_budget_ms(std::uint32_t index);

}  // namespace sw::render_farm
