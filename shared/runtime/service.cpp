#include "runtime/service.h"

#include <spdlog/spdlog.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <atomic>
#include <memory>
#include <optional>
#include <thread>

#include "common/duration.h"
#include "service/options.h"
#include "kafka/client.h"
#include "runtime/memory_budget.h"
#include "service/shell.h"

namespace po = boost::program_options;

namespace sw {

namespace {
std::string upper_snake(const std::string& option) {
  std::string out;
  for (char c : option) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}
}  // namespace

std::string env_name_for_option(const std::string& option) {
  if (option == "bootstrap-servers") return "KAFKA_BOOTSTRAP_SERVERS";
  if (option == "state-dir") return "CHECKPOINT_LOCATION";
  return "STREAMWRIGHT_" + upper_snake(option);
}

void check_group_instance_id(const std::string& id) {
  if (id.empty()) return;
  const auto legal = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  };
  if (id.size() > 249 || id == "." || id == ".." || !std::all_of(id.begin(), id.end(), legal))
    throw std::invalid_argument("--group-instance-id '" + id +
                                "' is not a valid Kafka group instance id (at most 249 of a-z A-Z 0-9 . _ -)");
}

int service_main(int argc, char** argv, const ServiceDefinition& def) {
  po::options_description common("Common options");
  // clang-format off
  common.add_options()
    ("help,h", "show this help")
    ("version", "show versions")
    ("stage", po::value<std::string>(), "the stage (sub-topology) of the pipeline to run")
    ("describe", "print the topology and exit")
    ("list-topics", "print the topics the topology uses, one per line as 'name role', and exit")
    ("bootstrap-servers", po::value<std::string>(), "Kafka bootstrap servers (env KAFKA_BOOTSTRAP_SERVERS)")
    ("application-id", po::value<std::string>()->default_value(def.default_application_id),
         "prefix of consumer groups, internal topics and state")
    ("state-dir", po::value<std::string>()->default_value("/tmp/streamwright-state"),
         "directory for RocksDB state (env CHECKPOINT_LOCATION)")
    ("commit-interval", po::value<std::string>()->default_value("500ms"), "how often state is flushed and offsets committed")
    ("processing-guarantee", po::value<std::string>()->default_value("at_least_once"),
         "at_least_once, or exactly_once: each commit is one Kafka transaction (outputs, changelog, offsets)")
    ("transaction-timeout", po::value<std::string>()->default_value("10s"),
         "exactly_once: how long the broker waits before aborting a dead replica's open transaction")
    ("idle-timeout", po::value<std::string>()->default_value("5s"),
         "a caught-up input partition quiet this long lets event time follow the wall clock")
    ("internal-partitions", po::value<int>()->default_value(0),
         "partitions of repartition topics created by this stage (0: as many as its input, at most 32)")
    ("shutdown-timeout", po::value<std::string>()->default_value("30s"),
         "after SIGTERM, exit anyway if committing and leaving the group takes longer (e.g. broker gone)")
    ("memory-budget-mb", po::value<unsigned>()->default_value(kDefaultMemoryBudgetMb),
         "peak RSS the process aims at (MiB), split over its buffers: read-ahead 1/6; producer 1/3 in a stateless "
         "stage, 1/6 in a stateful one; RocksDB 1/5 and cached windows 1/5 in a stateful one. The rest is fixed "
         "cost. Each buffer's own flag below wins over its share")
    ("consumer-buffer-mb", po::value<unsigned>(), "fetched records held ahead of processing (MiB; default: a share of the budget)")
    ("producer-buffer-mb", po::value<unsigned>(),
         "output held until the broker acknowledges it (MiB; default: a share of the budget); input pauses when half of it is used")
    ("group-instance-id", po::value<std::string>()->default_value(""),
         "static group membership: a stable id for this replica, e.g. its StatefulSet pod name; a replica restarted "
         "within the session timeout takes its partitions back without a rebalance (empty: dynamic membership)")
    ("standby-replicas", po::value<unsigned>()->default_value(0),
         "stateful stages: warm copies of tasks kept on other replicas, as Kafka Streams' num.standby.replicas; at "
         "least 1: each replica keeps every task it does not run warm from the changelogs, so a task taken over "
         "restores only its last second (0: none, a task taken over restores its whole changelog)")
    ("max-poll-records", po::value<unsigned>()->default_value(10000), "records per poll")
    ("rocksdb-cache-mb", po::value<unsigned>(), "RocksDB block cache and memtable budget (MiB; default: a share of the budget)")
    ("state-cache-entries", po::value<unsigned>(),
         "windows (and per-key histories) held in memory by all of the stage's tasks together (default: a share of "
         "the budget at 320 B a window); beyond it, state "
         "lives in RocksDB and is read back when needed (a stage's own --max-cached-windows bounds each task)")
    ("starting-offsets", po::value<std::string>()->default_value("earliest"),
         "with no committed offset, an entry stage starts at the earliest retained record or at the latest (Spark's startingOffsets)")
    ("default-time-zone", po::value<std::string>()->default_value("UTC"),
         "zone of input timestamps written without one (\"2026-01-01 10:15:30\"): UTC, an offset such as +02:00, or an IANA name such as Europe/Berlin");

  // clang-format on
  add_kafka_property_options(common);
  add_http_options(common);
  add_log_options(common);
  po::options_description pipeline("Pipeline options");
  if (def.add_options) def.add_options(pipeline);
  po::options_description all;
  all.add(common).add(pipeline);

  po::variables_map vm;
  try {
    const auto parsed = po::parse_command_line(argc, argv, all);
    reject_negative_unsigned(parsed, all);
    po::store(parsed, vm);
    std::vector<std::string> names;
    for (const auto& o : all.options()) names.push_back(o->long_name());
    const auto from_env = po::parse_environment(all, [&](const std::string& env) -> std::string {
      for (const auto& n : names)
        if (env_name_for_option(n) == env) return n;
      return "";
    });
    reject_negative_unsigned(from_env, all);
    po::store(from_env, vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << def.name << ": " << e.what() << "\nTry '" << def.name << " --help'.\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << def.name << ": " << def.description << "\n\nUsage: " << def.name
              << " --stage STAGE --bootstrap-servers HOST:PORT [options]\n\n"
              << common << "\n"
              << pipeline << "\nEvery option can also be set as an environment variable: "
              << "STREAMWRIGHT_<OPTION> (e.g. STREAMWRIGHT_WINDOW_SIZE), and KAFKA_BOOTSTRAP_SERVERS,\n"
              << "CHECKPOINT_LOCATION for --bootstrap-servers and --state-dir. Flags win.\n"
              << "Kafka properties also come from KAFKA_PROPERTY_<KEY> (KAFKA_PROPERTY_SASL_PASSWORD sets\n"
              << "sasl.password): keep secrets out of the command line. A key ending in .file reads the value\n"
              << "from a file (KAFKA_PROPERTY_SASL_PASSWORD_FILE=/run/secrets/kafka/password, or\n"
              << "sasl.password.file=... in a properties file). Precedence: properties files < KAFKA_PROPERTY_* < --kafka-property.\n";
    return 0;
  }
  if (vm.count("version")) {
    std::cout << def.name << " (streamwright) librdkafka " << kafka::librdkafka_version() << "\n";
    return 0;
  }

  ServiceShell shell(def.name);
  shell.start_logging(vm, "streamwright");

  std::unique_ptr<Topology> topology;
  RunnerConfig rc;
  try {
    const auto app = vm["application-id"].as<std::string>();
    if (app.empty()) throw std::invalid_argument("--application-id must not be empty");
    topology = std::make_unique<Topology>(def.build(vm, app));
    if (vm.count("describe")) {
      std::cout << topology->describe();
      return 0;
    }
    if (vm.count("list-topics")) {
      for (const auto& t : topology->topics()) std::cout << t.name << ' ' << to_string(t.role) << '\n';
      return 0;
    }
    if (!vm.count("stage"))
      throw std::invalid_argument("--stage is required; this pipeline has: " + topology->stage_names());
    const std::string stage_name = vm["stage"].as<std::string>();
    topology->subtopology(stage_name);  // validates the name
    if (!vm.count("bootstrap-servers"))
      throw std::invalid_argument("--bootstrap-servers (or KAFKA_BOOTSTRAP_SERVERS) is required");
    rc.bootstrap_servers = vm["bootstrap-servers"].as<std::string>();
    // Files, then KAFKA_PROPERTY_<KEY>, then --kafka-property; librdkafka checks them all here,
    // before anything connects.
    rc.kafka = kafka_properties(vm, kafka::ClientRoles::both);
    rc.state_dir = vm["state-dir"].as<std::string>();
    rc.commit_interval = parse_duration(vm["commit-interval"].as<std::string>());
    rc.idle_timeout = parse_duration(vm["idle-timeout"].as<std::string>());
    if (rc.commit_interval.count() <= 0) throw std::invalid_argument("--commit-interval must be positive");
    const auto guarantee = vm["processing-guarantee"].as<std::string>();
    if (guarantee != "at_least_once" && guarantee != "exactly_once")
      throw std::invalid_argument("--processing-guarantee must be at_least_once or exactly_once, not '" + guarantee + "'");
    rc.exactly_once = guarantee == "exactly_once";
    const auto starting = vm["starting-offsets"].as<std::string>();
    if (starting != "earliest" && starting != "latest")
      throw std::invalid_argument("--starting-offsets must be earliest or latest, not '" + starting + "'");
    rc.start_at_latest = starting == "latest";
    rc.transaction_timeout = parse_duration(vm["transaction-timeout"].as<std::string>());
    if (rc.transaction_timeout < std::chrono::seconds(1))
      throw std::invalid_argument("--transaction-timeout must be at least 1s");
    rc.internal_partitions = vm["internal-partitions"].as<int>();
    if (rc.internal_partitions < 0) throw std::invalid_argument("--internal-partitions must not be negative");
    rc.group_instance_id = vm["group-instance-id"].as<std::string>();
    check_group_instance_id(rc.group_instance_id);
    rc.max_poll_records = vm["max-poll-records"].as<unsigned>();
    rc.standby_replicas = vm["standby-replicas"].as<unsigned>();
    const auto given = [&](const char* name) {
      return vm.count(name) ? std::optional<unsigned>(vm[name].as<unsigned>()) : std::nullopt;
    };
    const bool stateful = !topology->subtopology(stage_name).stores.empty();
    apply_memory_split(split_memory_budget(vm["memory-budget-mb"].as<unsigned>(), stateful,
                                           {given("consumer-buffer-mb"), given("producer-buffer-mb"),
                                            given("rocksdb-cache-mb"), given("state-cache-entries")}),
                       rc);
    if (stateful)
      spdlog::info("stage {}: memory budget {} MiB: read-ahead {} MiB, producer {} MiB, RocksDB {} MiB, {} cached windows",
                   stage_name, vm["memory-budget-mb"].as<unsigned>(), rc.consumer_buffer_bytes >> 20,
                   rc.producer_buffer_bytes >> 20, rc.rocksdb.block_cache_bytes >> 20, rc.rocksdb.max_cached_entries);
    else
      spdlog::info("stage {}: memory budget {} MiB: read-ahead {} MiB, producer {} MiB (stateless)", stage_name,
                   vm["memory-budget-mb"].as<unsigned>(), rc.consumer_buffer_bytes >> 20, rc.producer_buffer_bytes >> 20);
    if (parse_duration(vm["shutdown-timeout"].as<std::string>()).count() <= 0)
      throw std::invalid_argument("--shutdown-timeout must be positive");
    if (rc.max_poll_records == 0) throw std::invalid_argument("--max-poll-records must be positive");
    check_shell_options(vm);
  } catch (const std::exception& e) {
    std::cerr << def.name << ": " << name_the_option(vm, e.what()) << "\n";
    return 2;
  }

  const std::string stage = vm["stage"].as<std::string>();
  metrics::Registry registry;
  std::unique_ptr<Runner> runner;
  try {
    spdlog::info("{} stage {}: Kafka settings:\n{}", def.name, stage, rc.kafka.redacted());
    runner = std::make_unique<Runner>(*topology, stage, rc, registry);
    Runner* r = runner.get();
    shell.serve(vm, registry, [r] { return r->alive(); }, [r] { return r->ready(); });
  } catch (const std::exception& e) {
    spdlog::error("cannot start: {}", e.what());
    return 1;
  }
  // A clean stop commits and leaves the group, which can block while the broker is unreachable.
  // Offsets are only ever committed after their outputs are durable, so giving up is safe: the
  // next owner replays from the last commit.
  const int code = shell.run([&] { runner->run(); }, [&] { runner->stop(); },
                             parse_duration(vm["shutdown-timeout"].as<std::string>()), [&] { runner.reset(); });
  spdlog::info("stage {} stopped", stage);
  return code;
}

}  // namespace sw
