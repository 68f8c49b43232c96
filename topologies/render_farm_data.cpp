#include "topologies/render_farm_data.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "serde/json.h"

namespace sw::render_farm {

namespace {
constexpr std::array<const char*, 8> kProjects{"aurora", "bluefin", "cinder", "driftwood",
                                              "ember", "foxglove", "glacier", "harbor"};
struct GpuModel {
  const char* name;
  double memory_gb;
};
constexpr std::array<GpuModel, 4> kGpus{{{"NVIDIA A100 80GB", 80}, {"NVIDIA L40S", 48}, {"NVIDIA RTX A6000", 48},
                                         {"NVIDIA RTX 4090", 24}}};
constexpr std::array<const char*, 3> kPools{"feature", "episodic", "preview"};

std::string format(const char* fmt, std::uint32_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, i);
  return buf;
}
}  // namespace

std::string scene_id(std::uint32_t i) { return format("scene-%04u", i); }
std::string node_id(std::uint32_t i) { return format("node-%03u", i); }

double scene_mean_render_ms(std::uint32_t i) {
  // 2 s to 90 s per frame, spread deterministically over the scenes.
  return 2000.0 + static_cast<double>((i * 7919u) % 88000u);
}
double scene_frame_budget_ms(std::uint32_t i) { return std::round(scene_mean_render_ms(i) * 1.25); }

std::string scenes_json(std::uint32_t scenes) {
  std::string out = "[\n";
  for (std::uint32_t i = 0; i < scenes; ++i) {
    char buf[256];
    const double complexity = std::round(scene_mean_render_ms(i) / 900.0) / 10.0;
    std::snprintf(buf, sizeof buf,
                  "  {\"scene_id\": \"%s\", \"project\": \"%s\", \"sequence\": \"sq%03u\", \"complexity\": %.1f, "
                  "\"frame_budget_ms\": %.0f}%s\n",
                  scene_id(i).c_str(), kProjects[i % kProjects.size()], 10 * (i / 8 + 1), complexity,
                  scene_frame_budget_ms(i), i + 1 < scenes ? "," : "");
    out += buf;
  }
  out += "]\n";
  return out;
}

std::string nodes_json_lines(std::uint32_t nodes) {
  std::string out;
  for (std::uint32_t i = 0; i < nodes; ++i) {
    const auto& gpu = kGpus[i % kGpus.size()];
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "{\"node_id\": \"%s\", \"gpu_model\": \"%s\", \"gpu_memory_gb\": %.0f, \"cpu_cores\": %u, "
                  "\"pool\": \"%s\"}\n",
                  node_id(i).c_str(), gpu.name, gpu.memory_gb, 32u << (i % 3), kPools[i % kPools.size()]);
    out += buf;
  }
  return out;
}

void write_dimension_files(const std::filesystem::path& dir, std::uint32_t scenes, std::uint32_t nodes) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "scenes.json") << scenes_json(scenes);
  std::ofstream(dir / "hardware_nodes.jsonl") << nodes_json_lines(nodes);
}

RenderEventGenerator::RenderEventGenerator(const GeneratorConfig& c) : config_(c), state_(c.seed * 0x9E3779B97F4A7C15ULL + 1) {
  if (c.scenes == 0 || c.nodes == 0) throw std::invalid_argument("scenes and nodes must be positive");
  cumulative_.resize(c.scenes);
  double total = 0;
  for (std::uint32_t i = 0; i < c.scenes; ++i) {
    total += 1.0 / std::pow(static_cast<double>(i + 1), c.zipf_exponent);
    cumulative_[i] = total;
  }
  for (auto& v : cumulative_) v /= total;
}

std::uint64_t RenderEventGenerator::rand() {
  // xorshift64*: fast, good enough for load and deterministic.
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return state_ * 2685821657736338717ULL;
}

double RenderEventGenerator::gaussian() {
  // Box-Muller; one value per call keeps the generator stateless between events.
  const double u1 = std::max(uniform(), 1e-12), u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * M_PI * u2);
}

void RenderEventGenerator::next(TimestampMs now, std::string& key, std::string& value) {
  const double u = uniform();
  const auto scene = static_cast<std::uint32_t>(std::lower_bound(cumulative_.begin(), cumulative_.end(), u) -
                                                cumulative_.begin());
  const auto node = static_cast<std::uint32_t>(rand() % config_.nodes);
  const bool unknown = config_.unknown_rate > 0 && uniform() < config_.unknown_rate;
  const double r = uniform();
  const char* status = r < config_.failure_rate ? "failed" : (r < config_.failure_rate + config_.retry_rate ? "retry" : "ok");
  const double render = std::max(50.0, std::round(scene_mean_render_ms(scene) * std::exp(0.35 * gaussian())));
  const double gpu = std::clamp(0.55 + 0.4 * uniform() - (status[0] == 'f' ? 0.3 : 0.0), 0.0, 1.0);
  TimestampMs ts = now;
  if (config_.out_of_order > 0 && uniform() < config_.out_of_order)
    ts -= static_cast<TimestampMs>(uniform() * static_cast<double>(config_.max_disorder.count()));
  const std::uint64_t seq = ++sequence_;

  std::string scene_name = unknown && (seq & 1) ? format("scene-x%04u", scene) : scene_id(scene);
  std::string node_name = unknown && !(seq & 1) ? format("node-x%03u", node) : node_id(node);
  // Keyed by frame: frames spread evenly over the input partitions, whatever their scene.
  key = scene_name;
  key += "-f";
  key += std::to_string(seq);
  value.clear();
  value += "{\"frame_id\":\"";
  value += key;
  value += "\",\"scene_id\":";
  json::append_string(value, scene_name);
  value += ",\"node_id\":";
  json::append_string(value, node_name);
  char buf[96];
  std::snprintf(buf, sizeof buf, ",\"render_time_ms\":%.0f,\"gpu_utilization\":%.3f,\"timestamp\":\"", render, gpu);
  value += buf;
  format_rfc3339(ts, value);
  value += "\",\"status\":\"";
  value += status;
  value += '"';
  if (status[0] == 'r') value += ",\"attempt\":2";
  if (status[0] == 'f') value += ",\"error\":\"GPU out of memory\"";
  std::snprintf(buf, sizeof buf, ",\"memory_mb\":%u}", 4096u + static_cast<unsigned>(rand() % 28672));
  value += buf;
}

}  // namespace sw::render_farm
