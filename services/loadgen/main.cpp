// streamwright-loadgen: produces realistic log events at a target rate (the seeds' load
// generator), or replays a JSON-lines file into a topic at a given rate.
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "common/options.h"
#include "common/duration.h"
#include "common/time.h"
#include "kafka/client.h"
#include "topologies/crash_monitor_data.h"
#include "topologies/join_stats_data.h"
#include "topologies/render_farm_data.h"
#include "topologies/telemetra_data.h"

namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;

namespace {
volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) { g_stop = 1; }

struct Pacer {
  double rate;  // records per second; 0 = as fast as possible
  Clock::time_point start = Clock::now();
  // How many records may have been sent by now.
  std::uint64_t allowed() const {
    if (rate <= 0) return UINT64_MAX;
    return static_cast<std::uint64_t>(std::chrono::duration<double>(Clock::now() - start).count() * rate) + 1;
  }
};
}  // namespace

int main(int argc, char** argv) {
  po::options_description desc(
      "streamwright-loadgen: log or render-frame events at a target rate, or a JSON-lines file replayed\n\nOptions");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("mode", po::value<std::string>()->default_value("crash-monitor"), "what to generate: crash-monitor (log events), render-farm (frame events), telemetra (chat events to --topic, default chat-events, and viewer counts to --viewer-topic) or join-stats (sales events naming the sample products)")
    ("bootstrap-servers", po::value<std::string>(), "Kafka bootstrap servers (env KAFKA_BOOTSTRAP_SERVERS)")
    ("topic", po::value<std::string>()->default_value("logs"), "topic to write")
    ("rate", po::value<double>()->default_value(10000), "records per second (0: as fast as possible)")
    ("count", po::value<unsigned long long>()->default_value(0), "stop after this many records (0: no limit)")
    ("duration", po::value<std::string>()->default_value("0s"), "stop after this long (0s: no limit)")
    ("users", po::value<unsigned>()->default_value(1000), "distinct user ids")
    ("crash-rate", po::value<double>()->default_value(0.1), "fraction of events mentioning a crash")
    ("severity-mix", po::value<std::string>()->default_value("Low=40,Medium=30,High=20,Critical=10"), "severity weights")
    ("out-of-order", po::value<double>()->default_value(0.0), "fraction of events shifted back in time by up to --max-disorder")
    ("max-disorder", po::value<std::string>()->default_value("5s"), "largest out-of-order shift")
    ("late", po::value<double>()->default_value(0.0), "fraction of events shifted back by --late-by (beyond the grace)")
    ("late-by", po::value<std::string>()->default_value("60s"), "shift of late events")
    ("seed", po::value<unsigned long long>()->default_value(1), "random seed")
    ("event-time-span", po::value<std::string>()->default_value("0s"),
         "with --count: spread event times evenly over this span (a pre-filled history), instead of the wall clock")
    ("event-time-end", po::value<std::string>()->default_value("0s"), "with --event-time-span: the span ends this long before now")
    ("scenes", po::value<unsigned>()->default_value(200), "render-farm: scenes (ids as in the sample scenes table)")
    ("nodes", po::value<unsigned>()->default_value(120), "render-farm: render nodes")
    ("zipf", po::value<double>()->default_value(1.1), "render-farm, join-stats: Zipf exponent of scene or product popularity (0: uniform)")
    ("failure-rate", po::value<double>()->default_value(0.02), "render-farm: fraction of failed frames")
    ("retry-rate", po::value<double>()->default_value(0.03), "render-farm: fraction of retried frames")
    ("unknown-rate", po::value<double>()->default_value(0.0), "render-farm, join-stats: fraction naming a scene, node or product no table holds")
    ("write-dimensions", po::value<std::string>(), "render-farm: write the sample dimension files to this directory and exit")
    ("replay", po::value<std::string>(), "JSON-lines file to replay instead of generating")
    ("key-field", po::value<std::string>()->default_value("user_id"), "replay: JSON field used as the record key ('' for none)")
    ("kafka-property", po::value<std::vector<std::string>>()->composing(), "extra librdkafka property key=value")
    ("kafka-properties-file", po::value<std::vector<std::string>>()->composing(),
         "librdkafka properties as key=value lines, repeatable; KAFKA_PROPERTY_* and --kafka-property win")
    ("streams", po::value<unsigned>()->default_value(100), "telemetra: live streams")
    ("chatters", po::value<unsigned>()->default_value(500), "telemetra: distinct chatters per stream")
    ("spike-probability", po::value<double>()->default_value(0.0005), "telemetra: chance per message that a chat spike starts")
    ("viewer-topic", po::value<std::string>()->default_value("viewer-events"), "telemetra: topic of viewer counts")
    ("quiet", "no progress lines");
  // clang-format on
  po::variables_map vm;
  try {
    const auto parsed = po::parse_command_line(argc, argv, desc);
    sw::reject_negative_unsigned(parsed, desc);
    po::store(parsed, vm);
    po::store(sw::bootstrap_from_environment(desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "streamwright-loadgen: " << sw::name_the_option(vm, e.what()) << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  const std::string mode = vm["mode"].as<std::string>();
  if (mode != "crash-monitor" && mode != "render-farm" && mode != "telemetra" && mode != "join-stats") {
    std::cerr << "streamwright-loadgen: --mode must be crash-monitor, render-farm, telemetra or join-stats, not '" << mode
              << "'\n";
    return 2;
  }
  if (vm.count("write-dimensions")) {
    sw::render_farm::write_dimension_files(vm["write-dimensions"].as<std::string>(), vm["scenes"].as<unsigned>(),
                                           vm["nodes"].as<unsigned>());
    return 0;
  }
  sw::crash_monitor::GeneratorConfig gc;
  sw::render_farm::GeneratorConfig rc;
  std::chrono::milliseconds duration{0};
  sw::kafka::Config config;
  try {
    if (!vm.count("bootstrap-servers")) throw std::invalid_argument("--bootstrap-servers is required");
    rc.seed = vm["seed"].as<unsigned long long>();
    rc.scenes = vm["scenes"].as<unsigned>();
    rc.nodes = vm["nodes"].as<unsigned>();
    rc.zipf_exponent = vm["zipf"].as<double>();
    rc.failure_rate = vm["failure-rate"].as<double>();
    rc.retry_rate = vm["retry-rate"].as<double>();
    rc.unknown_rate = vm["unknown-rate"].as<double>();
    rc.out_of_order = vm["out-of-order"].as<double>();
    rc.max_disorder = sw::parse_duration(vm["max-disorder"].as<std::string>());
    for (double f : {rc.failure_rate, rc.retry_rate, rc.unknown_rate})
      if (f < 0 || f > 1) throw std::invalid_argument("fractions must be between 0 and 1");
    if (rc.failure_rate + rc.retry_rate > 1) throw std::invalid_argument("--failure-rate plus --retry-rate must not exceed 1");
    if (rc.scenes == 0 || rc.nodes == 0) throw std::invalid_argument("--scenes and --nodes must be positive");
    if (rc.zipf_exponent < 0) throw std::invalid_argument("--zipf must not be negative");
    gc.seed = vm["seed"].as<unsigned long long>();
    gc.users = vm["users"].as<unsigned>();
    gc.crash_rate = vm["crash-rate"].as<double>();
    gc.severity_weights = sw::crash_monitor::parse_severity_mix(vm["severity-mix"].as<std::string>());
    gc.out_of_order = vm["out-of-order"].as<double>();
    gc.late = vm["late"].as<double>();
    gc.max_disorder = sw::parse_duration(vm["max-disorder"].as<std::string>());
    gc.late_by = sw::parse_duration(vm["late-by"].as<std::string>());
    duration = sw::parse_duration(vm["duration"].as<std::string>());
    if (sw::parse_duration(vm["event-time-span"].as<std::string>()).count() > 0 && vm["count"].as<unsigned long long>() == 0)
      throw std::invalid_argument("--event-time-span needs --count");
    for (double f : {gc.crash_rate, gc.out_of_order, gc.late})
      if (f < 0 || f > 1) throw std::invalid_argument("fractions must be between 0 and 1");
    if (gc.out_of_order + gc.late > 1) throw std::invalid_argument("--out-of-order plus --late must not exceed 1");
    if (gc.users == 0) throw std::invalid_argument("--users must be positive");
    if (vm["rate"].as<double>() < 0) throw std::invalid_argument("--rate must not be negative");
    sw::parse_duration(vm["event-time-end"].as<std::string>());  // named in its message if invalid
    if (vm.count("replay") && !std::ifstream(vm["replay"].as<std::string>()))
      throw std::invalid_argument("--replay: cannot read '" + vm["replay"].as<std::string>() + "'");
    config.set(sw::kafka::keys::bootstrap_servers, vm["bootstrap-servers"].as<std::string>());
    config.set(sw::kafka::keys::linger_ms, 50);  // large batches, as high-volume producers send
    config.set(sw::kafka::keys::batch_num_messages, 10000);
    config.set(sw::kafka::keys::queue_buffering_max_messages, 1000000);
    config.set(sw::kafka::keys::client_id, "streamwright-loadgen");
    // Files, then KAFKA_PROPERTY_<KEY>, then --kafka-property; checked by librdkafka before connecting.
    config.set_user_properties(
        vm.count("kafka-properties-file") ? vm["kafka-properties-file"].as<std::vector<std::string>>()
                                          : std::vector<std::string>{},
        vm.count("kafka-property") ? vm["kafka-property"].as<std::vector<std::string>>() : std::vector<std::string>{},
        "--kafka-property", sw::kafka::ClientRoles::producer);
  } catch (const std::exception& e) {
    std::cerr << "streamwright-loadgen: " << sw::name_the_option(vm, e.what()) << "\n";
    return 2;
  }

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const bool quiet = vm.count("quiet") > 0;
  const auto count_limit = vm["count"].as<unsigned long long>();
  try {
    sw::kafka::Producer producer(config);
    const bool chat = mode == "telemetra";
    const auto topic =
        producer.topic(chat && vm["topic"].defaulted() ? std::string("chat-events") : vm["topic"].as<std::string>());
    sw::telemetra::GeneratorConfig tc;
    tc.seed = gc.seed;
    tc.streams = vm["streams"].as<unsigned>();
    tc.chatters_per_stream = vm["chatters"].as<unsigned>();
    tc.spike_probability = vm["spike-probability"].as<double>();
    std::unique_ptr<sw::telemetra::ChatGenerator> chat_gen;
    sw::kafka::Producer::TopicId viewer_topic = topic;
    if (chat) {
      chat_gen = std::make_unique<sw::telemetra::ChatGenerator>(tc);
      viewer_topic = producer.topic(vm["viewer-topic"].as<std::string>());
    }
    Pacer pacer{vm["rate"].as<double>()};
    std::uint64_t sent = 0, errors = 0, last_report_sent = 0;
    auto last_report = Clock::now();
    const auto deadline = duration.count() > 0 ? Clock::now() + duration : Clock::time_point::max();
    std::string key, value;

    std::ifstream replay;
    const bool replaying = vm.count("replay") > 0;
    std::string key_field = vm["key-field"].as<std::string>();
    if (replaying) {
      replay.open(vm["replay"].as<std::string>());
      if (!replay) throw std::runtime_error("cannot open " + vm["replay"].as<std::string>());
    }
    sw::crash_monitor::LogGenerator gen(gc);
    sw::render_farm::RenderEventGenerator render_gen(rc);
    sw::join_stats::GeneratorConfig jc;
    jc.seed = rc.seed;
    jc.zipf_exponent = rc.zipf_exponent;
    jc.unknown_rate = rc.unknown_rate;
    jc.out_of_order = rc.out_of_order;
    jc.max_disorder = rc.max_disorder;
    sw::join_stats::SalesEventGenerator sales_gen(jc);
    const auto span_ms = sw::parse_duration(vm["event-time-span"].as<std::string>()).count();
    const sw::TimestampMs span_start =
        sw::wall_clock_ms() - span_ms - sw::parse_duration(vm["event-time-end"].as<std::string>()).count();
    const double span_step = span_ms > 0 ? static_cast<double>(span_ms) / static_cast<double>(count_limit) : 0.0;
    const bool render = mode == "render-farm";
    const bool sales = mode == "join-stats";

    auto report = [&](bool final) {
      const auto now = Clock::now();
      const double dt = std::chrono::duration<double>(now - last_report).count();
      const double total = std::chrono::duration<double>(now - pacer.start).count();
      if (!quiet || final)
        std::fprintf(stderr, "loadgen: %.1fs sent %llu (%.0f/s now, %.0f/s average, target %s), %llu errors\n", total,
                     static_cast<unsigned long long>(sent), dt > 0 ? static_cast<double>(sent - last_report_sent) / dt : 0.0,
                     total > 0 ? static_cast<double>(sent) / total : 0.0,
                     pacer.rate > 0 ? std::to_string(static_cast<long long>(pacer.rate)).c_str() : "max",
                     static_cast<unsigned long long>(errors));
      last_report = now;
      last_report_sent = sent;
    };

    while (!g_stop && (count_limit == 0 || sent < count_limit) && Clock::now() < deadline) {
      const auto allowed = std::min<std::uint64_t>(pacer.allowed(), count_limit ? count_limit : UINT64_MAX);
      if (sent >= allowed) {
        producer.poll_events(std::chrono::milliseconds(1));
      } else {
        const auto wall_ms = sw::wall_clock_ms();
        const std::uint64_t burst = std::min<std::uint64_t>(allowed - sent, 10000);
        for (std::uint64_t i = 0; i < burst; ++i) {
          if (replaying) {
            if (!std::getline(replay, value)) {
              g_stop = 1;
              break;
            }
            if (value.empty()) continue;
            key.clear();
            if (!key_field.empty()) {
              const auto j = nlohmann::json::parse(value, nullptr, false);
              if (j.is_object() && j.contains(key_field) && j[key_field].is_string()) key = j[key_field].get<std::string>();
            }
          } else if (chat_gen) {
            const sw::TimestampMs now_ms =
                span_ms > 0 ? span_start + static_cast<sw::TimestampMs>(static_cast<double>(sent) * span_step) : wall_ms;
            if (chat_gen->next_event(now_ms, key, value)) {
              if (producer.send(viewer_topic, -1, key, value, 0)) ++errors;
              continue;  // viewer counts are extra: the rate counts chat events
            }
          } else {
            const sw::TimestampMs now_ms =
                span_ms > 0 ? span_start + static_cast<sw::TimestampMs>(static_cast<double>(sent) * span_step) : wall_ms;
            if (render)
              render_gen.next(now_ms, key, value);
            else if (sales)
              sales_gen.next(now_ms, key, value);
            else
              gen.next(now_ms, key, value);
          }
          if (producer.send(topic, -1, key, value, 0)) ++errors;
          ++sent;
        }
        producer.poll_events(std::chrono::milliseconds(0));
      }
      if (Clock::now() - last_report >= std::chrono::seconds(1)) report(false);
    }
    if (auto ec = producer.flush(std::chrono::seconds(60))) {
      std::cerr << "streamwright-loadgen: flush failed: " << ec.message() << "\n";
      return 1;
    }
    report(true);
    return errors ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "streamwright-loadgen: " << e.what() << "\n";
    return 1;
  }
}
