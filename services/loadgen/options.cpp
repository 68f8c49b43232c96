#include "services/loadgen/options.h"

#include <algorithm>

#include <boost/program_options.hpp>

#include <charconv>
#include <cmath>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "common/duration.h"
#include "service/options.h"

namespace po = boost::program_options;

namespace sw::loadgen {

namespace {

std::uint64_t mix64(std::uint64_t z) noexcept {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto b = item.find_first_not_of(" \t");
    const auto e = item.find_last_not_of(" \t");
    if (b == std::string::npos) throw std::invalid_argument("--shift-timestamps: an empty field name in '" + text + "'");
    out.push_back(item.substr(b, e - b + 1));
  }
  if (out.empty()) throw std::invalid_argument("--shift-timestamps needs at least one field name");
  return out;
}

}  // namespace

const std::vector<std::string>& generator_modes() {
  static const std::vector<std::string> modes{"crash-monitor", "render-farm", "telemetra", "join-stats"};
  return modes;
}

const std::vector<EnvironmentVariable>& environment_variables() {
  static const std::vector<EnvironmentVariable> vars{
      {"KAFKA_BOOTSTRAP_SERVERS", "bootstrap-servers"},
      {"KAFKA_BROKER", "bootstrap-servers"},
      {"KAFKA_TOPIC", "topic"},
      {"TARGET_RPS", "rate"},
      {"ADDITIONAL_TERM", "term"},
      {"ADDITIONAL_TERM_RATE", "term-rate"},
  };
  return vars;
}

std::uint32_t derive_instance(std::string_view hostname, long pid) noexcept {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a of the host name, then the pid mixed in
  for (unsigned char c : hostname) h = (h ^ c) * 1099511628211ULL;
  const auto v = static_cast<std::uint32_t>(mix64(h ^ mix64(static_cast<std::uint64_t>(pid))));
  return v == 0 ? 1 : v;
}

std::uint64_t instance_seed(std::uint64_t seed, std::uint32_t instance) noexcept {
  return instance == 0 ? seed : mix64(seed ^ mix64(~std::uint64_t{instance}));
}

ParseOutcome parse_settings(int argc, const char* const* argv, const Environment& env, std::string_view hostname,
                            long pid, Settings& s, std::ostream& out, std::ostream& err) {
  po::options_description desc(
      "streamwright-loadgen: log, render-frame or chat events at a target rate, or a JSON file replayed into a topic\n\n"
      "Options");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("mode", po::value<std::string>()->default_value("crash-monitor"), "what to generate: crash-monitor (log events), render-farm (frame events), telemetra (chat events to --topic, default chat-events, and viewer counts to --viewer-topic) or join-stats (sales events naming the sample products, to --topic, default events)")
    ("bootstrap-servers", po::value<std::string>(), "Kafka bootstrap servers (env KAFKA_BOOTSTRAP_SERVERS or KAFKA_BROKER)")
    ("topic", po::value<std::string>()->default_value("logs"), "topic to write (env KAFKA_TOPIC)")
    ("rate", po::value<double>()->default_value(10000),
         "records per second sent by this process (0: as fast as possible); N generator processes offer N times this "
         "(env TARGET_RPS)")
    ("count", po::value<unsigned long long>()->default_value(0), "stop after this many records (0: no limit)")
    ("duration", po::value<std::string>()->default_value("0s"), "stop after this long (0s: no limit)")
    ("instance", po::value<std::string>()->default_value("auto"),
         "this generator among several writing one topic: a number (0 is the single generator of earlier versions) or "
         "auto (from the host name and process id; 0 when --seed is given, for a reproducible run). Instances have "
         "their own random streams and request ids")
    ("users", po::value<unsigned>()->default_value(1000), "distinct user ids")
    ("crash-rate", po::value<double>()->default_value(0.1, "0.1"), "fraction of events mentioning a crash (the built-in crash texts)")
    ("term", po::value<std::string>(),
         "a word put into --term-rate of the messages (their content field) instead of the crash texts; no other "
         "message contains it (env ADDITIONAL_TERM)")
    ("term-rate", po::value<double>(), "fraction of the messages with --term, between 0 and 1 (above 1, up to 100: per cent); default 0.1 (env ADDITIONAL_TERM_RATE)")
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
    ("zipf", po::value<double>()->default_value(1.1, "1.1"), "render-farm, join-stats: Zipf exponent of scene or product popularity (0: uniform)")
    ("failure-rate", po::value<double>()->default_value(0.02, "0.02"), "render-farm: fraction of failed frames")
    ("retry-rate", po::value<double>()->default_value(0.03, "0.03"), "render-farm: fraction of retried frames")
    ("unknown-rate", po::value<double>()->default_value(0.0), "render-farm, join-stats: fraction naming a scene, node or product no table holds")
    ("write-dimensions", po::value<std::string>(), "render-farm: write the sample dimension files to this directory and exit")
    ("streams", po::value<unsigned>()->default_value(100), "telemetra: live streams")
    ("chatters", po::value<unsigned>()->default_value(500), "telemetra: distinct chatters per stream")
    ("spike-probability", po::value<double>()->default_value(0.0005, "0.0005"), "telemetra: chance per message that a chat spike starts")
    ("viewer-topic", po::value<std::string>()->default_value("viewer-events"), "telemetra: topic of viewer counts")
    ("replay", po::value<std::string>(),
         "send the records of this file instead of generating: a JSON array of objects, objects one after another "
         "(pretty-printed or not), or JSON lines; gzip-compressed or not (by its first bytes). Records are sent as "
         "compact JSON (whitespace between tokens removed, nothing else changed) at --rate")
    ("key-field", po::value<std::string>()->default_value("user_id"),
         "replay: top-level field used as the record key: a string is its value, a number or boolean its text; "
         "records without it (or with null or \"\") are sent without a key ('' for no keys)")
    ("loop", "replay: start again at the end of the file, until --count, --duration or a signal")
    ("shift-timestamps", po::value<std::string>(),
         "replay with --loop: comma-separated top-level fields moved forward on every pass (RFC 3339 or "
         "'YYYY-MM-DD HH:MM:SS' strings, written back in the same form, or epoch-millisecond numbers)")
    ("shift-by", po::value<std::string>()->default_value("span"),
         "replay: how far each pass moves: span (the file's first-to-last timestamp span plus its average step, so "
         "passes follow each other), wall (the wall-clock time since the replay started), or a duration per pass (1h)")
    ("strict", "replay: stop at the first bad record (exit code 1; nothing after it is sent); otherwise bad records "
               "are reported with their line (or array index) and skipped")
    ("max-record-bytes", po::value<unsigned long long>()->default_value(1000000),
         "replay: larger records are reported and skipped without being held in memory")
    ("kafka-property", po::value<std::vector<std::string>>()->composing(), "extra librdkafka property key=value")
    ("kafka-properties-file", po::value<std::vector<std::string>>()->composing(),
         "librdkafka properties as key=value lines, repeatable; KAFKA_PROPERTY_* and --kafka-property win")
    ("quiet", "no progress lines");
  // clang-format on

  po::variables_map vm;
  std::map<std::string, std::string> from_env;  // option -> the environment variable that set it
  auto name = [&](const std::string& option) {
    const auto it = from_env.find(option);
    return it == from_env.end() ? "--" + option : it->second + " (--" + option + ")";
  };
  try {
    const auto parsed = po::parse_command_line(argc, argv, desc);
    sw::reject_negative_unsigned(parsed, desc);
    po::store(parsed, vm);
    std::set<std::string> on_command_line;
    for (const auto& o : parsed.options) on_command_line.insert(o.string_key);
    for (const auto& var : environment_variables()) {
      const char* value = env(var.name);
      if (!value || on_command_line.count(var.option)) continue;  // flags win
      if (const auto it = from_env.find(var.option); it != from_env.end()) {
        if (vm[var.option].as<std::string>() == value) continue;
        throw std::invalid_argument(it->second + " and " + var.name + " are both set, to different values; set one");
      }
      if (*value == '\0') throw std::invalid_argument(std::string("environment variable ") + var.name + " is set but empty");
      po::parsed_options one(&desc);
      po::option o;
      o.string_key = var.option;
      o.value.push_back(value);
      o.original_tokens = {var.name, value};
      one.options.push_back(o);
      try {
        po::store(one, vm);
      } catch (const std::exception& e) {
        throw std::invalid_argument(std::string("environment variable ") + var.name + "='" + value + "': " + e.what());
      }
      from_env[var.option] = var.name;
    }
    po::notify(vm);
  } catch (const std::exception& e) {
    err << "streamwright-loadgen: " << sw::name_the_option(vm, e.what()) << "\n";
    return ParseOutcome::usage_error;
  }
  if (vm.count("help")) {
    out << desc << "\n"
        << "Environment (the seed load generator's names; flags win over them):\n"
           "  KAFKA_BROKER, KAFKA_BOOTSTRAP_SERVERS  --bootstrap-servers\n"
           "  KAFKA_TOPIC                            --topic\n"
           "  TARGET_RPS                             --rate (records per second of each generator process)\n"
           "  ADDITIONAL_TERM                        --term\n"
           "  ADDITIONAL_TERM_RATE                   --term-rate (a fraction: 0.01 puts the term into 1% of the messages)\n"
           "  KAFKA_PROPERTY_<KEY>                   a librdkafka property (KAFKA_PROPERTY_SASL_PASSWORD: sasl.password)\n";
    return ParseOutcome::done;
  }

  try {
    s.mode = vm["mode"].as<std::string>();
    if (std::find(generator_modes().begin(), generator_modes().end(), s.mode) == generator_modes().end())
      throw std::invalid_argument("--mode must be crash-monitor, render-farm, telemetra or join-stats (or use --replay FILE), not '" +
                                  s.mode + "'");
    if (vm.count("write-dimensions")) {
      s.write_dimensions = vm["write-dimensions"].as<std::string>();
      s.frames.scenes = vm["scenes"].as<unsigned>();
      s.frames.nodes = vm["nodes"].as<unsigned>();
      if (s.frames.scenes == 0 || s.frames.nodes == 0) throw std::invalid_argument("--scenes and --nodes must be positive");
      return ParseOutcome::run;
    }
    if (!vm.count("bootstrap-servers"))
      throw std::invalid_argument("--bootstrap-servers is required (or KAFKA_BOOTSTRAP_SERVERS or KAFKA_BROKER)");
    s.bootstrap_servers = vm["bootstrap-servers"].as<std::string>();
    s.topic = vm["topic"].as<std::string>();
    if (s.mode == "telemetra" && vm["topic"].defaulted()) s.topic = "chat-events";
    if (s.mode == "join-stats" && vm["topic"].defaulted()) s.topic = "events";
    if (s.topic.empty()) throw std::invalid_argument(name("topic") + " must not be empty");
    s.viewer_topic = vm["viewer-topic"].as<std::string>();
    s.rate = vm["rate"].as<double>();
    if (!std::isfinite(s.rate) || s.rate < 0)
      throw std::invalid_argument(name("rate") + " must not be negative (records per second; 0: as fast as possible)");
    s.count = vm["count"].as<unsigned long long>();
    s.duration = sw::parse_duration(vm["duration"].as<std::string>());
    s.event_time_span = sw::parse_duration(vm["event-time-span"].as<std::string>());
    s.event_time_end = sw::parse_duration(vm["event-time-end"].as<std::string>());
    if (s.event_time_span.count() > 0 && s.count == 0) throw std::invalid_argument("--event-time-span needs --count");
    s.quiet = vm.count("quiet") > 0;

    // The instance: given, or derived (0 for a seeded run, so that it reproduces).
    const auto instance = vm["instance"].as<std::string>();
    if (instance == "auto") {
      if (!vm["seed"].defaulted()) {
        s.instance = 0;
        s.instance_origin = "--seed given";
      } else {
        s.instance = derive_instance(hostname, pid);
        s.instance_origin = "from host " + std::string(hostname) + " and pid " + std::to_string(pid);
      }
    } else {
      std::uint64_t v = 0;
      const bool hex = instance.size() > 2 && instance[0] == '0' && (instance[1] == 'x' || instance[1] == 'X');
      const char* b = instance.data() + (hex ? 2 : 0);
      const char* e = instance.data() + instance.size();
      const auto r = std::from_chars(b, e, v, hex ? 16 : 10);
      if (instance.empty() || r.ec != std::errc() || r.ptr != e || v > UINT32_MAX)
        throw std::invalid_argument("--instance must be auto or a number from 0 to 4294967295, not '" + instance + "'");
      s.instance = static_cast<std::uint32_t>(v);
      s.instance_origin = "given";
    }
    const std::uint64_t seed = instance_seed(vm["seed"].as<unsigned long long>(), s.instance);

    auto& rc = s.frames;
    rc.seed = seed;
    rc.scenes = vm["scenes"].as<unsigned>();
    rc.nodes = vm["nodes"].as<unsigned>();
    rc.zipf_exponent = vm["zipf"].as<double>();
    rc.failure_rate = vm["failure-rate"].as<double>();
    rc.retry_rate = vm["retry-rate"].as<double>();
    rc.unknown_rate = vm["unknown-rate"].as<double>();
    rc.out_of_order = vm["out-of-order"].as<double>();
    rc.max_disorder = sw::parse_duration(vm["max-disorder"].as<std::string>());
    for (double f : {rc.failure_rate, rc.retry_rate, rc.unknown_rate})
      if (!(f >= 0 && f <= 1)) throw std::invalid_argument("fractions must be between 0 and 1");
    if (rc.failure_rate + rc.retry_rate > 1) throw std::invalid_argument("--failure-rate plus --retry-rate must not exceed 1");
    if (rc.scenes == 0 || rc.nodes == 0) throw std::invalid_argument("--scenes and --nodes must be positive");
    if (rc.zipf_exponent < 0) throw std::invalid_argument("--zipf must not be negative");

    auto& jc = s.sales;
    jc.seed = seed;
    jc.zipf_exponent = rc.zipf_exponent;
    jc.unknown_rate = rc.unknown_rate;
    jc.out_of_order = rc.out_of_order;
    jc.max_disorder = rc.max_disorder;

    auto& gc = s.logs;
    gc.seed = seed;
    gc.instance = s.instance;
    gc.users = vm["users"].as<unsigned>();
    gc.crash_rate = vm["crash-rate"].as<double>();
    gc.severity_weights = sw::crash_monitor::parse_severity_mix(vm["severity-mix"].as<std::string>());
    gc.out_of_order = vm["out-of-order"].as<double>();
    gc.late = vm["late"].as<double>();
    gc.max_disorder = sw::parse_duration(vm["max-disorder"].as<std::string>());
    gc.late_by = sw::parse_duration(vm["late-by"].as<std::string>());
    for (double f : {gc.crash_rate, gc.out_of_order, gc.late})
      if (!(f >= 0 && f <= 1)) throw std::invalid_argument("fractions must be between 0 and 1");
    if (gc.out_of_order + gc.late > 1) throw std::invalid_argument("--out-of-order plus --late must not exceed 1");
    if (gc.users == 0) throw std::invalid_argument("--users must be positive");

    // The seed's additional term.
    const bool replaying = vm.count("replay") > 0;
    if (vm.count("term")) {
      gc.term = vm["term"].as<std::string>();
      if (auto problem = crash_monitor::term_problem(gc.term); !problem.empty())
        throw std::invalid_argument(name("term") + ": " + problem);
      if (replaying || s.mode != "crash-monitor")
        throw std::invalid_argument(name("term") + " applies to the generated log events (--mode crash-monitor), not to " +
                                    (replaying ? std::string("--replay") : "--mode " + s.mode));
      if (!vm["crash-rate"].defaulted())
        throw std::invalid_argument("--crash-rate sets the rate of the built-in crash texts; with " + name("term") +
                                    " use --term-rate");
    }
    if (vm.count("term-rate")) {
      double r = vm["term-rate"].as<double>();
      // The seed's compose file sets ADDITIONAL_TERM_RATE=100; a rate above 1 and up to 100 is
      // read as per cent, and said so (its meaning is not documented in the seed).
      if (r > 1 && r <= 100) {
        err << "streamwright-loadgen: " << name("term-rate") << " " << r << " read as " << r
            << " per cent of the messages (a fraction: " << r / 100 << ")\n";
        r /= 100;
      }
      if (!(r >= 0 && r <= 1)) {
        std::ostringstream m;
        m << name("term-rate") << " must be a fraction of the messages between 0 and 1 (0.01: one message in 100; above 1, up to 100: per cent), got "
          << r;
        throw std::invalid_argument(m.str());
      }
      if (gc.term.empty()) throw std::invalid_argument(name("term-rate") + " needs a term (--term or ADDITIONAL_TERM)");
      gc.term_rate = r;
    }

    auto& tc = s.chat;
    tc.seed = seed;
    tc.streams = vm["streams"].as<unsigned>();
    tc.chatters_per_stream = vm["chatters"].as<unsigned>();
    tc.spike_probability = vm["spike-probability"].as<double>();

    // The replay.
    const bool replay_flags = vm.count("loop") || vm.count("shift-timestamps") || vm.count("strict") ||
                              !vm["shift-by"].defaulted() || !vm["max-record-bytes"].defaulted() ||
                              !vm["key-field"].defaulted();
    if (!replaying && replay_flags)
      throw std::invalid_argument("--key-field, --loop, --shift-timestamps, --shift-by, --strict and --max-record-bytes "
                                  "apply to --replay");
    if (replaying) {
      if (!vm["mode"].defaulted()) throw std::invalid_argument("--mode and --replay exclude each other");
      ReplayOptions r;
      r.path = vm["replay"].as<std::string>();
      r.key_field = vm["key-field"].as<std::string>();
      const auto max_bytes = vm["max-record-bytes"].as<unsigned long long>();
      if (max_bytes < 2 || max_bytes > (1ULL << 30))
        throw std::invalid_argument("--max-record-bytes must be between 2 and 1073741824");
      r.max_record_bytes = static_cast<std::size_t>(max_bytes);
      s.loop = vm.count("loop") > 0;
      s.strict = vm.count("strict") > 0;
      if (vm.count("shift-timestamps")) {
        if (!s.loop) throw std::invalid_argument("--shift-timestamps needs --loop (the first pass is sent as it is)");
        r.shift_fields = split_list(vm["shift-timestamps"].as<std::string>());
      }
      const auto by = vm["shift-by"].as<std::string>();
      if (by == "span") {
        r.shift_by = ReplayOptions::ShiftBy::span;
      } else if (by == "wall") {
        r.shift_by = ReplayOptions::ShiftBy::wall;
      } else {
        r.shift_by = ReplayOptions::ShiftBy::fixed;
        try {
          r.shift_fixed_ms = sw::parse_duration(by).count();
        } catch (const std::exception&) {
          throw std::invalid_argument("--shift-by must be span, wall or a duration (30s, 1h), not '" + by + "'");
        }
        if (r.shift_fixed_ms <= 0) throw std::invalid_argument("--shift-by must be a positive duration");
      }
      if (!vm["shift-by"].defaulted() && r.shift_fields.empty())
        throw std::invalid_argument("--shift-by needs --shift-timestamps");
      FileSource probe(r.path);  // readable (not a directory); named in the error otherwise
      s.replay = std::move(r);
    }

    auto& config = s.kafka;
    config.set(sw::kafka::keys::bootstrap_servers, s.bootstrap_servers);
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
    err << "streamwright-loadgen: " << sw::name_the_option(vm, e.what()) << "\n";
    return ParseOutcome::usage_error;
  }
  return ParseOutcome::run;
}

}  // namespace sw::loadgen
