// The render farm's catalogue entry: its service options, demo and deployment settings.
#include <fstream>

#include "common/duration.h"
#include "topologies/catalog.h"
#include "topologies/render_farm.h"

namespace sw::topologies {

namespace po = boost::program_options;

Pipeline render_farm_pipeline() {
  Pipeline p;
  p.name = "render-farm";
  p.service.name = "streamwright-render-farm";
  p.service.description = "per-scene and per-node render metrics from frame events (stages: enrich, aggregate, node-aggregate)";
  p.service.default_application_id = "render-farm";
  p.service.add_options = [](po::options_description& d) {
    // clang-format off
    d.add_options()
      ("input-topic", po::value<std::string>()->default_value("render-events"), "frame events (JSON)")
      ("dlq-topic", po::value<std::string>()->default_value("render-events-dlq"), "invalid records, with the reason in a header")
      ("metrics-topic", po::value<std::string>()->default_value("render-metrics"), "per-scene window metrics (JSON)")
      ("node-metrics-topic", po::value<std::string>()->default_value("node-metrics"), "per-node window metrics (JSON)")
      ("scenes", po::value<std::string>()->default_value(""),
           "scenes table: file:<path> (JSON array or lines), topic:<name> (compacted), or a path (env STREAMWRIGHT_SCENES)")
      ("nodes", po::value<std::string>()->default_value(""), "hardware_nodes table, as --scenes (env STREAMWRIGHT_NODES)")
      ("window-size", po::value<std::string>()->default_value("1m"), "window size")
      ("window-advance", po::value<std::string>()->default_value("0s"), "hopping windows: advance (0s: tumbling)")
      ("grace", po::value<std::string>()->default_value("10m"), "how long a window accepts late records (the watermark delay)")
      ("emit", po::value<std::string>()->default_value("final"), "final: one result per window when it closes; early: every update")
      ("unknown-ids", po::value<std::string>()->default_value("pass"),
           "events whose scene or node no table holds: pass (empty attributes, counted) or dead-letter")
      ("max-record-bytes", po::value<unsigned>()->default_value(65536), "larger input records are dead-lettered")
      ("dimension-check-interval", po::value<std::string>()->default_value("1s"), "how often dimension files are checked for changes")
      ("join", po::value<std::string>()->default_value("broadcast"),
           "broadcast: join the scenes in the enrich stage; shuffle: after the repartition (baseline)")
      ("pre-aggregate", po::value<bool>()->default_value(true), "two-phase aggregation (false: every frame crosses the repartition topic)")
      ("state-retention", po::value<std::string>()->default_value("0s"), "keep windows this long after they end (0s: window + grace)")
      ("dimension-cache", po::value<bool>()->default_value(true), "false: re-read the dimension files before every batch (baseline)")
      ("baseline", "the seed's baseline: shuffle join, no pre-aggregation, 24h state retention, no dimension cache");
    // clang-format on
  };
  p.service.build = [](const po::variables_map& vm, const std::string& app) {
    render_farm::Config c;
    c.input_topic = vm["input-topic"].as<std::string>();
    c.dead_letter_topic = vm["dlq-topic"].as<std::string>();
    c.scene_metrics_topic = vm["metrics-topic"].as<std::string>();
    c.node_metrics_topic = vm["node-metrics-topic"].as<std::string>();
    c.scenes_source = vm["scenes"].as<std::string>();
    c.nodes_source = vm["nodes"].as<std::string>();
    // A table file that cannot be read would only fail after connecting: say so now.
    for (const char* option : {"scenes", "nodes"}) {
      const auto& source = vm[option].as<std::string>();
      if (source.empty() || source.rfind("topic:", 0) == 0) continue;
      const auto path = source.rfind("file:", 0) == 0 ? source.substr(5) : source;
      if (!std::ifstream(path)) throw std::invalid_argument(std::string("--") + option + ": cannot read '" + path + "'");
    }
    c.window_size = parse_duration(vm["window-size"].as<std::string>());
    c.window_advance = parse_duration(vm["window-advance"].as<std::string>());
    c.grace = parse_duration(vm["grace"].as<std::string>());
    const auto emit = vm["emit"].as<std::string>();
    if (emit == "final") c.emit = EmitStrategy::on_window_close;
    else if (emit == "early") c.emit = EmitStrategy::on_window_update;
    else throw std::invalid_argument("--emit must be 'final' or 'early', not '" + emit + "'");
    const auto unknown = vm["unknown-ids"].as<std::string>();
    if (unknown == "pass") c.unknown_ids = MissingRow::keep;
    else if (unknown == "dead-letter") c.unknown_ids = MissingRow::dead_letter;
    else throw std::invalid_argument("--unknown-ids must be 'pass' or 'dead-letter', not '" + unknown + "'");
    c.max_record_bytes = vm["max-record-bytes"].as<unsigned>();
    c.dimension_check_interval = parse_duration(vm["dimension-check-interval"].as<std::string>());
    const auto join = vm["join"].as<std::string>();
    if (join != "broadcast" && join != "shuffle")
      throw std::invalid_argument("--join must be 'broadcast' or 'shuffle', not '" + join + "'");
    c.broadcast_join = join == "broadcast";
    c.pre_aggregate = vm["pre-aggregate"].as<bool>();
    c.state_retention = parse_duration(vm["state-retention"].as<std::string>());
    c.cache_dimensions = vm["dimension-cache"].as<bool>();
    if (vm.count("baseline")) {
      c.broadcast_join = false;
      c.pre_aggregate = false;
      c.state_retention = std::chrono::hours(24);
      c.cache_dimensions = false;
    }
    c.default_time_zone = TimeZone::parse(vm["default-time-zone"].as<std::string>());
    return render_farm::build(c, app);
  };
  p.build_default = [](const std::string& app) {
    // Tables are only described here, never opened: the sources are placeholders.
    render_farm::Config c;
    c.scenes_source = "scenes.json";
    c.nodes_source = "hardware_nodes.jsonl";
    return render_farm::build(c, app);
  };
  p.input_topic_options = {{"render-events", "inputTopic"}};
  p.output_topic = "render-metrics";
  p.dead_letter_topic = "render-events-dlq";
  p.output_label = "METRICS";
  p.defaults = {{"--scenes", "{data}/render-farm/scenes.json"}, {"--nodes", "{data}/render-farm/hardware_nodes.jsonl"}};
  p.demo_defaults = {{"--window-size", "10s"}, {"--grace", "5s"}};
  p.required_options = {
      {"scenes", "the scenes table: topic:NAME (a compacted topic) or a file in the image, e.g. /usr/share/streamwright/render-farm/scenes.json"},
      {"nodes", "the hardware-nodes table: topic:NAME (a compacted topic) or a file in the image, e.g. /usr/share/streamwright/render-farm/hardware_nodes.jsonl"}};
  p.loadgen_mode = "render-farm";
  p.loadgen_args = {"--topic", "render-events"};
  p.sample_data = "render-farm";
  // Seed 000's lake: the metrics tables and the raw events, partitioned by date and hour.
  p.lake_tables = {{"render-metrics", "render_metrics", ""},
                   {"node-metrics", "node_metrics", ""},
                   {"render-events", "raw_events", "date:timestamp,hour:timestamp"}};
  return p;
}

}  // namespace sw::topologies
