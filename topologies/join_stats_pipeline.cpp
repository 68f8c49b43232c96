// join-stats' catalogue entry (seed 001): its service options, demo and deployment settings.
#include <fstream>
#include <sstream>

#include "common/duration.h"
#include "topologies/catalog.h"
#include "topologies/join_stats.h"

namespace sw::topologies {

namespace po = boost::program_options;

namespace {
std::vector<std::string> split_fields(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream ss(list);
  for (std::string f; std::getline(ss, f, ',');) {
    const auto b = f.find_first_not_of(" \t"), e = f.find_last_not_of(" \t");
    if (b == std::string::npos) throw std::invalid_argument("--fields has an empty name in '" + list + "'");
    out.push_back(f.substr(b, e - b + 1));
  }
  return out;
}
}  // namespace

Pipeline join_stats_pipeline() {
  Pipeline p;
  p.name = "join-stats";
  p.service.name = "streamwright-join-stats";
  p.service.description =
      "events joined with a static dataset, windowed count/sum/avg/min/max per attribute (stages: enrich, aggregate)";
  p.service.default_application_id = "join-stats";
  p.service.add_options = [](po::options_description& d) {
    // clang-format off
    d.add_options()
      ("input-topic", po::value<std::string>()->default_value("events"), "events (JSON objects)")
      ("dlq-topic", po::value<std::string>()->default_value("events-dlq"), "invalid records, with the reason in a header")
      ("output-topic", po::value<std::string>()->default_value("event-stats"), "statistics per group and window (JSON)")
      ("dataset", po::value<std::string>()->default_value(""),
           "the static dataset: file:<path> (JSON array or lines, re-read on change), topic:<name> (compacted), or a path (env STREAMWRIGHT_DATASET)")
      ("join-key", po::value<std::string>()->default_value("product_id"), "the event's field joined with the dataset (string or integer)")
      ("dataset-key", po::value<std::string>()->default_value(""), "the dataset rows' key field (default: as --join-key)")
      ("group-by", po::value<std::string>()->default_value("dataset.category"),
           "the attribute statistics are grouped by: dataset.<field> (of the joined row) or event.<field>")
      ("fields", po::value<std::string>()->default_value("price,quantity"), "comma-separated numeric fields of the event (at most 16)")
      ("timestamp-field", po::value<std::string>()->default_value("timestamp"), "the event's event-time field")
      ("decimals", po::value<int>()->default_value(6), "numbers are exact to this many decimal places, 0 to 9 (more are rounded)")
      ("window-size", po::value<std::string>()->default_value("1m"), "window size")
      ("window-advance", po::value<std::string>()->default_value("0s"), "hopping windows: advance (0s: tumbling)")
      ("grace", po::value<std::string>()->default_value("1m"), "how long a window accepts late records")
      ("emit", po::value<std::string>()->default_value("final"), "final: one result per window when it closes; early: every update")
      ("unknown-keys", po::value<std::string>()->default_value("pass"),
           "events whose key the dataset lacks: pass (null dataset attributes, counted) or dead-letter (implies --pre-aggregate false)")
      ("pre-aggregate", po::value<bool>()->default_value(true), "two-phase aggregation (false: every event crosses the repartition topic)")
      ("max-record-bytes", po::value<unsigned>()->default_value(65536), "larger input records are dead-lettered")
      ("dataset-check-interval", po::value<std::string>()->default_value("1s"), "how often a dataset file is checked for changes")
      ("max-cached-windows", po::value<std::size_t>()->default_value(1'000'000),
           "open windows held in memory per aggregate task; beyond it they are read back from RocksDB");
    // clang-format on
  };
  p.service.build = [](const po::variables_map& vm, const std::string& app) {
    join_stats::Config c;
    c.input_topic = vm["input-topic"].as<std::string>();
    c.dead_letter_topic = vm["dlq-topic"].as<std::string>();
    c.output_topic = vm["output-topic"].as<std::string>();
    c.dataset_source = vm["dataset"].as<std::string>();
    // A dataset file that cannot be read would only fail after connecting: say so now.
    if (!c.dataset_source.empty() && c.dataset_source.rfind("topic:", 0) != 0) {
      const auto path = c.dataset_source.rfind("file:", 0) == 0 ? c.dataset_source.substr(5) : c.dataset_source;
      if (!std::ifstream(path)) throw std::invalid_argument("--dataset: cannot read '" + path + "'");
    }
    c.join_key = vm["join-key"].as<std::string>();
    c.dataset_key = vm["dataset-key"].as<std::string>();
    c.group_by = vm["group-by"].as<std::string>();
    const auto fields = vm["fields"].as<std::string>();
    c.fields = fields.empty() ? std::vector<std::string>{} : split_fields(fields);
    c.timestamp_field = vm["timestamp-field"].as<std::string>();
    c.decimals = vm["decimals"].as<int>();
    c.window_size = parse_duration(vm["window-size"].as<std::string>());
    c.window_advance = parse_duration(vm["window-advance"].as<std::string>());
    c.grace = parse_duration(vm["grace"].as<std::string>());
    const auto emit = vm["emit"].as<std::string>();
    if (emit == "final") c.emit = EmitStrategy::on_window_close;
    else if (emit == "early") c.emit = EmitStrategy::on_window_update;
    else throw std::invalid_argument("--emit must be 'final' or 'early', not '" + emit + "'");
    const auto unknown = vm["unknown-keys"].as<std::string>();
    if (unknown == "pass") c.unknown_keys = MissingRow::keep;
    else if (unknown == "dead-letter") c.unknown_keys = MissingRow::dead_letter;
    else throw std::invalid_argument("--unknown-keys must be 'pass' or 'dead-letter', not '" + unknown + "'");
    // Which events count would depend on the dataset's content, so partials could differ on a
    // replay: dead-lettering aggregates in one phase, unless pre-aggregation is asked for.
    c.pre_aggregate = vm["pre-aggregate"].as<bool>();
    if (c.unknown_keys == MissingRow::dead_letter && vm["pre-aggregate"].defaulted()) c.pre_aggregate = false;
    c.max_record_bytes = vm["max-record-bytes"].as<unsigned>();
    c.dataset_check_interval = parse_duration(vm["dataset-check-interval"].as<std::string>());
    c.max_cached_windows = vm["max-cached-windows"].as<std::size_t>();
    c.default_time_zone = TimeZone::parse(vm["default-time-zone"].as<std::string>());
    return join_stats::build(c, app);
  };
  p.build_default = [](const std::string& app) {
    // The dataset is only described here, never opened: the source is a placeholder.
    join_stats::Config c;
    c.dataset_source = "products.json";
    return join_stats::build(c, app);
  };
  p.input_topic_options = {{"events", "inputTopic"}};
  p.output_topic = "event-stats";
  p.dead_letter_topic = "events-dlq";
  p.output_label = "STATS";
  p.defaults = {{"--dataset", "{data}/join-stats/products.json"}};
  p.demo_defaults = {{"--window-size", "10s"}, {"--grace", "5s"}};
  p.required_options = {
      {"dataset", "the static dataset: topic:NAME (a compacted topic) or a file in the image, e.g. /usr/share/streamwright/join-stats/products.json"}};
  p.loadgen_mode = "join-stats";
  p.loadgen_args = {"--topic", "events"};
  p.sample_data = "join-stats";
  return p;
}

}  // namespace sw::topologies
