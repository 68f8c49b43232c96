// The render-farm topology (parsers, serdes and aggregates are in render_farm.cpp).
#include <cmath>
#include <stdexcept>

#include "topologies/render_farm.h"

namespace sw::render_farm {

namespace {
std::int64_t micros(double ms) { return std::llround(ms * 1000.0); }
std::int64_t ppm(double fraction) { return std::llround(fraction * 1e6); }
}  // namespace

// ---------------------------------------------------------------------------------------------
// topology

Tables make_tables(const Config& c) {
  if (c.scenes_source.empty()) throw std::invalid_argument("no scenes table source (--scenes)");
  if (c.nodes_source.empty()) throw std::invalid_argument("no hardware-nodes table source (--nodes)");
  const auto policy = c.cache_dimensions ? table::ReloadPolicy::on_change : table::ReloadPolicy::every_batch;
  Tables t;
  t.scenes = std::make_shared<table::GlobalTable<Scene>>("scenes", table::TableSource::parse(c.scenes_source),
                                                         parse_scene_row, policy, c.dimension_check_interval);
  t.nodes = std::make_shared<table::GlobalTable<HardwareNode>>(
      "hardware_nodes", table::TableSource::parse(c.nodes_source), parse_node_row, policy, c.dimension_check_interval);
  return t;
}

Topology build(const Config& c, const std::string& application_id) { return build(c, make_tables(c), application_id); }

Topology build(const Config& c, const Tables& tables, const std::string& application_id) {
  if (c.input_topic.empty() || c.dead_letter_topic.empty() || c.scene_metrics_topic.empty() ||
      c.node_metrics_topic.empty())
    throw std::invalid_argument("topic names must not be empty");
  if (!c.broadcast_join && c.pre_aggregate)
    throw std::invalid_argument("pre-aggregation needs the broadcast join (over-budget frames need the scene's budget)");
  if (c.pre_aggregate && c.unknown_ids == MissingRow::dead_letter)
    throw std::invalid_argument(
        "dead-lettering unknown ids needs --pre-aggregate false: partials must not depend on the tables' content");
  if (!c.broadcast_join && c.unknown_ids == MissingRow::dead_letter)
    throw std::invalid_argument("dead-lettering unknown scenes needs the broadcast join (the shuffle join runs after the input)");
  if (c.state_retention.count() < 0) throw std::invalid_argument("state retention must not be negative");
  const auto advance = c.window_advance.count() == 0 ? c.window_size : c.window_advance;
  const auto windows = TimeWindows::hopping(c.window_size, advance, c.grace);
  auto scenes = tables.scenes;
  auto nodes = tables.nodes;

  StreamsBuilder builder(application_id);
  Consumed<std::string_view, RenderEvent> consumed{
      serdes::string_view(),
      {[](const RenderEvent&, std::string&) {},
       [zone = c.default_time_zone](std::string_view in, RenderEvent& out, std::string& error) {
         return parse_render_event(in, out, error, &zone);
       }},
      [](const std::string_view&, const RenderEvent& e, const InputRecord&) { return e.timestamp; },
      c.dead_letter_topic,
      c.max_record_bytes};

  auto events = builder.stream<std::string_view, RenderEvent>(c.input_topic, consumed, "enrich");
  auto with_node = events.join<HardwareNode, Frame>(
      nodes, [](const std::string_view&, const RenderEvent& e) { return e.node_id; },
      [](const std::string_view&, const RenderEvent& e, const HardwareNode* n) {
        Frame f;
        f.scene_id = e.scene_id;
        f.node_id = e.node_id;
        f.render_us = micros(e.render_time_ms);
        f.gpu_ppm = ppm(e.gpu_utilization);
        f.status = e.status;
        if (n) f.gpu_model = n->gpu_model;
        return f;
      },
      c.unknown_ids, "hardware-node");
  KStream<std::string_view, Frame> frames = with_node;
  if (c.broadcast_join) {
    frames = with_node.join<Scene, Frame>(
        scenes, [](const std::string_view&, const Frame& f) { return f.scene_id; },
        [](const std::string_view&, const Frame& in, const Scene* s) {
          Frame f = in;
          f.scene_joined = true;
          if (s) {
            f.project = s->project;
            f.budget_us = s->frame_budget_ms >= 0 ? micros(s->frame_budget_ms) : -1;
          }
          return f;
        },
        c.unknown_ids, "scene");
  }

  // The shuffle join (baseline): the scene's attributes are looked up per frame after the
  // repartition, in the aggregator, as a join of the re-keyed stream with the scenes table.
  auto add_scene_frame = [scenes](const std::string& scene_id, const Frame& in, SceneStats& s) {
    if (in.scene_joined) return add_frame(s, in);
    Frame f = in;
    if (const Scene* row = scenes->find(scene_id)) {
      f.project = row->project;
      f.budget_us = row->frame_budget_ms >= 0 ? micros(row->frame_budget_ms) : -1;
    } else {
      scenes->note_miss();
    }
    add_frame(s, f);
  };

  auto by_scene = frames.group_by<std::string>(
      [](const std::string_view&, const Frame& f) { return std::string(f.scene_id); },
      Grouped<std::string, Frame>{"frames-by-scene", "aggregate", serdes::string(), frame_serde()});
  auto by_node = frames.group_by<std::string>(
      [](const std::string_view&, const Frame& f) { return std::string(f.node_id); },
      Grouped<std::string, Frame>{"frames-by-node", "node-aggregate", serdes::string(), frame_serde()});

  Materialized<std::string, SceneStats> scene_store{"scene-metrics", serdes::string(), scene_stats_serde()};
  scene_store.retention = c.state_retention;
  Materialized<std::string, NodeStats> node_store{"node-metrics", serdes::string(), node_stats_serde()};
  node_store.retention = c.state_retention;

  auto scene_windows = by_scene.window_by(windows, c.emit);
  auto node_windows = by_node.window_by(windows, c.emit);
  auto scene_init = [] { return SceneStats{}; };
  auto node_init = [] { return NodeStats{}; };
  auto node_add = [](const std::string&, const Frame& f, NodeStats& s) { add_frame(s, f); };
  auto scene_merge = [](const std::string&, const SceneStats& p, SceneStats& s) { merge(s, p); };
  auto node_merge = [](const std::string&, const NodeStats& p, NodeStats& s) { merge(s, p); };

  KTable<std::string, SceneStats> scene_table =
      c.pre_aggregate ? scene_windows.aggregate<SceneStats>(scene_init, add_scene_frame, scene_merge, scene_store)
                      : scene_windows.aggregate<SceneStats>(scene_init, add_scene_frame, scene_store);
  KTable<std::string, NodeStats> node_table =
      c.pre_aggregate ? node_windows.aggregate<NodeStats>(node_init, node_add, node_merge, node_store)
                      : node_windows.aggregate<NodeStats>(node_init, node_add, node_store);
  if (!c.broadcast_join) builder.use_table("aggregate", scenes);

  scene_table.to_stream()
      .map<std::string, std::string>(
          [](const Windowed<std::string>& k, const SceneStats& s) {
            std::pair<std::string, std::string> kv(k.key, {});
            scene_metrics_json(kv.second, k.key, k.window, s);
            return kv;
          },
          "scene-metrics-json")
      .to(c.scene_metrics_topic, Produced<std::string, std::string>{serdes::string(), serdes::string()});
  node_table.to_stream()
      .map<std::string, std::string>(
          [](const Windowed<std::string>& k, const NodeStats& s) {
            std::pair<std::string, std::string> kv(k.key, {});
            node_metrics_json(kv.second, k.key, k.window, s);
            return kv;
          },
          "node-metrics-json")
      .to(c.node_metrics_topic, Produced<std::string, std::string>{serdes::string(), serdes::string()});
  return builder.build();
}

}  // namespace sw::render_farm
