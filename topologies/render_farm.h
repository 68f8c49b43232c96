#pragma once
// The render-farm telemetry pipeline (seed: render-events, scenes and hardware_nodes dimensions).
//
//   render-events --enrich--> <app>-frames-by-scene-repartition --aggregate------> render-metrics
//                         \-> <app>-frames-by-node-repartition  --node-aggregate-> node-metrics
//
// enrich: validate each frame event and join it with both dimension tables in memory (broadcast
// join, no repartition); by default it also pre-aggregates per (scene, window) and per (node,
// window) and sends one partial per key and window at each commit (two-phase aggregation).
// aggregate / node-aggregate: merge per window (tumbling or hopping, with grace) and emit the
// final metrics. Flags switch each optimization off to reproduce the seed's baseline.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "common/time_zone.h"
#include "sketch/ddsketch.h"
#include "topology/dsl.h"

namespace sw::render_farm {

struct Config {
  std::string input_topic = "render-events";
  std::string dead_letter_topic = "render-events-dlq";
  std::string scene_metrics_topic = "render-metrics";
  std::string node_metrics_topic = "node-metrics";
  std::string scenes_source;  // "file:<path>", "topic:<name>" or a path (required)
  std::string nodes_source;
  std::chrono::milliseconds window_size{60'000};
  std::chrono::milliseconds window_advance{0};  // 0: tumbling (= size)
  std::chrono::milliseconds grace{600'000};
  EmitStrategy emit = EmitStrategy::on_window_close;
  MissingRow unknown_ids = MissingRow::keep;
  std::size_t max_record_bytes = 64 * 1024;
  std::chrono::milliseconds dimension_check_interval{1000};
  // The seed's optimizations, each of which can be switched off for the baseline.
  bool broadcast_join = true;   // false: scenes joined after the shuffle, in the aggregator
  bool pre_aggregate = true;    // false: every frame crosses the repartition topic
  std::chrono::milliseconds state_retention{0};  // 0: window + grace; longer keeps closed windows
  bool cache_dimensions = true;  // false: re-read the dimension files before every batch
  TimeZone default_time_zone;    // of timestamps written without a zone
};

enum class FrameStatus : std::uint8_t { ok = 0, failed = 1, retry = 2 };

// A validated frame event. Views point into the parser's buffers: valid while it is processed.
struct RenderEvent {
  std::string_view frame_id, scene_id, node_id, error;
  double render_time_ms = 0;
  double gpu_utilization = 0;
  double cpu_utilization = -1;  // -1: absent
  double memory_mb = -1;
  std::int64_t attempt = 1;
  FrameStatus status = FrameStatus::ok;
  TimestampMs timestamp = kNoTimestamp;
};
// frame_id, scene_id and node_id are strings or integers (their text); timestamp as
// json::read_timestamp takes it (docs/input-formats.md).
bool parse_render_event(std::string_view json, RenderEvent& out, std::string& error,
                        const TimeZone* default_zone = nullptr);

// Dimension rows.
struct Scene {
  std::string project, sequence;
  double complexity = 0;
  double frame_budget_ms = -1;  // -1: no budget
};
struct HardwareNode {
  std::string gpu_model, pool;
  double gpu_memory_gb = 0;
  std::int64_t cpu_cores = 0;
};
bool parse_scene_row(const nlohmann::json& row, std::string& key, Scene& out, std::string& error);
bool parse_node_row(const nlohmann::json& row, std::string& key, HardwareNode& out, std::string& error);

// A frame after the joins. Views point into the input record, the tables or the repartition
// record: valid while it is processed.
struct Frame {
  std::string_view scene_id, node_id, project, gpu_model;
  std::int64_t render_us = 0;      // render time in microseconds (sums stay exact integers)
  std::int64_t gpu_ppm = 0;        // GPU utilisation in parts per million
  std::int64_t budget_us = -1;     // frame budget of the scene, -1: none or unknown
  FrameStatus status = FrameStatus::ok;
  bool scene_joined = false;       // false: the scenes join happens after the shuffle
};
Serde<Frame> frame_serde();

// A set of short strings (node ids): an open-addressing table whose 16-byte slots hold ids of up
// to 15 bytes inline, so the per-frame "seen this node?" is one hash and one cache line, with no
// allocation unless the node is new (longer ids live in a side vector).
class StringSet {
 public:
  bool insert(std::string_view s);  // true if it was new
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  void clear() noexcept;
  void reserve(std::size_t n);
  std::vector<std::string_view> sorted() const;
  template <class F>
  void for_each(F&& f) const {
    for (const auto& slot : slots_)
      if (slot.tag != kEmpty) f(view(slot));
  }

 private:
  static constexpr std::uint8_t kEmpty = 0, kLong = 0xFF;  // else: inline, length = tag - 1
  struct Slot {
    char bytes[15];
    std::uint8_t tag;
  };
  std::string_view view(const Slot& slot) const;
  void rehash(std::size_t slots);
  std::vector<Slot> slots_;
  std::vector<std::string> long_;  // ids longer than 15 bytes; a kLong slot holds the index
  std::size_t size_ = 0;
};

// Per scene and window. Also the partial aggregate of the two-phase aggregation: merging two
// gives exactly what aggregating their frames together gives (integer sums, a set of nodes,
// a DDSketch whose merge adds bucket counts).
struct SceneStats {
  std::int64_t frames = 0, failed = 0, retried = 0, over_budget = 0;
  std::int64_t render_us_sum = 0, render_us_max = 0, gpu_ppm_sum = 0;
  std::string project;
  StringSet nodes;  // serialized sorted and front-coded
  sketch::DDSketch render_ms{0.01};
};
void add_frame(SceneStats& s, const Frame& f);
void merge(SceneStats& into, const SceneStats& partial);
Serde<SceneStats> scene_stats_serde();
void scene_metrics_json(std::string& out, std::string_view scene_id, const Window& w, const SceneStats& s);

struct NodeStats {
  std::int64_t frames = 0, failed = 0, gpu_ppm_sum = 0;
  std::string gpu_model;
};
void add_frame(NodeStats& s, const Frame& f);
void merge(NodeStats& into, const NodeStats& partial);
Serde<NodeStats> node_stats_serde();
void node_metrics_json(std::string& out, std::string_view node_id, const Window& w, const NodeStats& s);

// The dimension tables a topology built from `config` uses (shared by the stages of a process).
struct Tables {
  std::shared_ptr<table::GlobalTable<Scene>> scenes;
  std::shared_ptr<table::GlobalTable<HardwareNode>> nodes;
};
Tables make_tables(const Config& config);

// Throws std::invalid_argument for an inconsistent configuration.
Topology build(const Config& config, const std::string& application_id = "render-farm");
Topology build(const Config& config, const Tables& tables, const std::string& application_id = "render-farm");

}  // namespace sw::render_farm
