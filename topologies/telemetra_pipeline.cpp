// Telemetra's catalogue entry: its service options, demo and deployment settings, and its
// PostgreSQL sink.
#include <cstdlib>
#include <stdexcept>

#include "common/duration.h"
#include "topologies/catalog.h"
#include "topologies/telemetra.h"

namespace sw::topologies {

namespace po = boost::program_options;

namespace {
// ANOMALY_THRESHOLD is the seed's variable; flags and STREAMWRIGHT_ANOMALY_THRESHOLD win over it.
double anomaly_threshold(const po::variables_map& vm) {
  if (!vm["anomaly-threshold"].defaulted()) return vm["anomaly-threshold"].as<double>();
  const char* env = std::getenv("ANOMALY_THRESHOLD");
  if (!env || !*env) return vm["anomaly-threshold"].as<double>();
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(env, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || env[used] != '\0') throw std::invalid_argument(std::string("ANOMALY_THRESHOLD is not a number: ") + env);
  return v;
}
}  // namespace

Pipeline telemetra_pipeline() {
  Pipeline p;
  p.name = "telemetra";
  p.service.name = "streamwright-telemetra";
  p.service.description = "live-chat analytics per stream and window, z-score chat spikes (stages: parse, aggregate)";
  p.service.default_application_id = "telemetra";
  p.service.add_options = [](po::options_description& d) {
    // clang-format off
    d.add_options()
      ("chat-topic", po::value<std::string>()->default_value("chat-events"), "chat events (JSON)")
      ("viewer-topic", po::value<std::string>()->default_value("viewer-events"), "viewer-count events (JSON)")
      ("chat-dlq-topic", po::value<std::string>()->default_value("chat-events-dlq"), "invalid chat events, reason in a header")
      ("viewer-dlq-topic", po::value<std::string>()->default_value("viewer-events-dlq"), "invalid viewer events, reason in a header")
      ("summary-topic", po::value<std::string>()->default_value("chat-summary"), "one summary per stream and window (JSON)")
      ("moments-topic", po::value<std::string>()->default_value("moments"), "chat spikes (JSON)")
      ("window-size", po::value<std::string>()->default_value("1m"), "hopping window size")
      ("window-advance", po::value<std::string>()->default_value("10s"), "hopping window advance")
      ("grace", po::value<std::string>()->default_value("10s"), "how long a window accepts late records")
      ("anomaly-threshold", po::value<double>()->default_value(3.0), "a window is an anomaly when z > this (env ANOMALY_THRESHOLD)")
      ("history-windows", po::value<unsigned>()->default_value(10), "previous windows in the z-score baseline")
      ("lexicon-positive", po::value<std::string>(), "positive word list (default: the built-in list)")
      ("lexicon-negative", po::value<std::string>(), "negative word list (default: the built-in list)")
      ("max-record-bytes", po::value<unsigned>()->default_value(65536), "larger input records are dead-lettered")
      ("max-cached-windows", po::value<unsigned>()->default_value(1000000),
           "open windows held in memory per task; beyond it, state is read back from RocksDB (memory bound)")
      ("chatter-chunk", po::value<unsigned>()->default_value(64),
           "distinct chatters per stored chunk: a commit writes new full chunks and a small head, not whole sets");
    // clang-format on
  };
  p.service.build = [](const po::variables_map& vm, const std::string& app) {
    telemetra::Config c;
    c.chat_topic = vm["chat-topic"].as<std::string>();
    c.viewer_topic = vm["viewer-topic"].as<std::string>();
    c.chat_dead_letter_topic = vm["chat-dlq-topic"].as<std::string>();
    c.viewer_dead_letter_topic = vm["viewer-dlq-topic"].as<std::string>();
    c.summary_topic = vm["summary-topic"].as<std::string>();
    c.moments_topic = vm["moments-topic"].as<std::string>();
    c.window_size = parse_duration(vm["window-size"].as<std::string>());
    c.window_advance = parse_duration(vm["window-advance"].as<std::string>());
    c.grace = parse_duration(vm["grace"].as<std::string>());
    c.anomaly_threshold = anomaly_threshold(vm);
    c.history_windows = vm["history-windows"].as<unsigned>();
    if (vm.count("lexicon-positive") != vm.count("lexicon-negative"))
      throw std::invalid_argument("--lexicon-positive and --lexicon-negative go together");
    if (vm.count("lexicon-positive"))
      c.lexicon = telemetra::Lexicon::from_files(vm["lexicon-positive"].as<std::string>(),
                                                     vm["lexicon-negative"].as<std::string>());
    c.max_record_bytes = vm["max-record-bytes"].as<unsigned>();
    c.max_cached_windows = vm["max-cached-windows"].as<unsigned>();
    if (c.max_cached_windows == 0) throw std::invalid_argument("--max-cached-windows must be positive");
    c.chatter_chunk = vm["chatter-chunk"].as<unsigned>();
    c.default_time_zone = TimeZone::parse(vm["default-time-zone"].as<std::string>());
    return telemetra::build(c, app);
  };
  p.build_default = [](const std::string& app) { return telemetra::build(telemetra::Config{}, app); };
  p.input_topic_options = {{"chat-events", "chatTopic"}, {"viewer-events", "viewerTopic"}};
  p.output_topic = "chat-summary";
  p.dead_letter_topic = "chat-events-dlq";
  p.output_label = "ROW";
  p.watch_topics = {"chat-summary", "moments"};
  p.watch_labels = {{"moments", "MOMENT"}};
  // Rows within seconds instead of after the first minute.
  p.demo_defaults = {{"--window-size", "20s"}, {"--window-advance", "5s"}, {"--grace", "5s"}};
  p.loadgen_mode = "telemetra";
  p.loadgen_args = {"--spike-probability", "0.0002"};
  p.loadgen_topic_flags = {"--viewer-topic"};
  p.sinks = {{"streamwright-telemetra-sink", {"chat-summary", "moments"}, {"summaryTopic", "momentsTopic"}}};
  return p;
}

}  // namespace sw::topologies
