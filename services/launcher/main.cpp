// streamwright: the launcher. `demo PIPELINE` runs the dev broker, the load generator and every
// stage as separate processes with a live view; `up PIPELINE` runs the stages against any broker.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "service/options.h"
#include "common/process.h"
#include "kafka/client.h"
#include "metrics/http_client.h"
#include "topologies/catalog.h"
#include "topologies/registry.h"

namespace po = boost::program_options;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) { g_stop = 1; }

// What the launcher runs for a pipeline, derived from its catalogue entry.
struct Pipeline {
  std::string service;                // executable in build/bin
  std::vector<std::string> stages;    // in data-flow order
  std::string input_topic, output_topic, dlq_topic;
  std::vector<std::string> loadgen_args;
  std::string output_label;           // printed before each output record
  std::map<std::string, std::string> labels;  // of other watched topics
  // Stage options (pairs) added unless given after "--": always, and for the demo only.
  std::vector<std::string> defaults, demo_defaults;
  std::string sink_service;                 // writes the outputs to PostgreSQL (POSTGRES_URL)
  std::vector<std::string> watch_topics;    // shown live
  std::vector<sw::topologies::LakeTable> lake_tables;  // written by the lake sink (--lake)
};

// Sample data shipped with the source tree (dimension tables): STREAMWRIGHT_DATA_DIR, the source
// tree this was built from, or the image's copy.
std::string data_dir() {
  if (const char* d = std::getenv("STREAMWRIGHT_DATA_DIR")) return d;
  if (std::filesystem::exists(SW_SOURCE_DATA_DIR)) return SW_SOURCE_DATA_DIR;
  return "/usr/share/streamwright";
}

Pipeline plan(const sw::topologies::Pipeline& entry) {
  Pipeline p;
  p.service = entry.executable();
  const auto topology = entry.build_default(entry.name);
  for (const auto& st : topology.subtopologies()) p.stages.push_back(st.name);
  p.input_topic = entry.input_topic_options.empty() ? "" : entry.input_topic_options.front().first;
  p.output_topic = entry.output_topic;
  p.dlq_topic = entry.dead_letter_topic;
  // A pipeline without a generator of its own replays sample data (loadgen_mode "replay": the
  // arguments name the file).
  if (entry.loadgen_mode != "replay") p.loadgen_args = {"--mode", entry.loadgen_mode};
  for (auto arg : entry.loadgen_args) {
    if (const auto at = arg.find("{data}"); at != std::string::npos) arg.replace(at, 6, data_dir());
    p.loadgen_args.push_back(std::move(arg));
  }
  p.output_label = entry.output_label;
  p.labels.insert(entry.watch_labels.begin(), entry.watch_labels.end());
  auto flatten = [](const std::vector<std::pair<std::string, std::string>>& pairs) {
    std::vector<std::string> out;
    for (auto [option, value] : pairs) {
      if (const auto at = value.find("{data}"); at != std::string::npos) value.replace(at, 6, data_dir());
      out.push_back(option);
      out.push_back(value);
    }
    return out;
  };
  p.defaults = flatten(entry.defaults);
  p.demo_defaults = flatten(entry.demo_defaults);
  if (!entry.sinks.empty()) p.sink_service = entry.sinks.front().executable;
  p.lake_tables = entry.lake_tables;
  p.watch_topics = entry.watch_topics.empty() ? std::vector<std::string>{entry.output_topic} : entry.watch_topics;
  return p;
}

const std::map<std::string, Pipeline>& pipelines() {
  static const std::map<std::string, Pipeline> p = [] {
    std::map<std::string, Pipeline> out;
    for (const auto& entry : sw::topologies::catalog()) out.emplace(entry.name, plan(entry));
    return out;
  }();
  return p;
}

// A child refused its options (exit code 2): the launcher exits with 2 as well.
struct ChildUsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The end of a child's log, for a child that exited before it started.
std::string log_tail(const std::string& path) {
  std::ifstream in(path);
  std::string line, tail;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  for (std::size_t i = lines.size() > 10 ? lines.size() - 10 : 0; i < lines.size(); ++i) tail += "  " + lines[i] + "\n";
  return tail;
}

// Waits for a child's "metrics-port N" line; throws ChildUsageError if it exited with code 2.
std::uint16_t wait_started(sw::ChildProcess& proc, const std::string& what, const std::string& log) {
  auto line = proc.read_line(60s);
  if (!line || line->rfind("metrics-port ", 0) != 0) {
    const auto code = proc.wait(5s);
    if (code && *code == 2) throw ChildUsageError(what + " rejected its options:\n" + log_tail(log));
    throw std::runtime_error(what + " did not start; see " + log);
  }
  return static_cast<std::uint16_t>(std::stoi(line->substr(13)));
}

// A port on 127.0.0.1 that nothing listens on now (0 when none could be had).
std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// The Kafka options among the stages' options (after "--"), for the launcher's own consumer:
// --kafka-property K=V and --kafka-properties-file F, as separate or as --opt=value arguments.
void kafka_options(const std::vector<std::string>& args, std::vector<std::string>& properties,
                   std::vector<std::string>& files) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    for (const auto& [opt, out] : {std::pair<std::string, std::vector<std::string>*>{"--kafka-property", &properties},
                                   {"--kafka-properties-file", &files}}) {
      if (args[i] == opt && i + 1 < args.size())
        out->push_back(args[++i]);
      else if (args[i].rfind(opt + "=", 0) == 0)
        out->push_back(args[i].substr(opt.size() + 1));
    }
  }
}

struct Stage {
  std::string name;
  std::unique_ptr<sw::ChildProcess> proc;
  std::uint16_t port = 0;
};

int usage() {
  std::cerr << "usage: streamwright demo PIPELINE [--rate N] [--duration 30s] [--partitions N] [-- service options]\n"
               "       streamwright up PIPELINE --bootstrap-servers HOST:PORT [-- service options]\n"
               "       streamwright describe PIPELINE [--dot FILE] [--png FILE]\n"
               "       streamwright list [--json | --helm]\n"
               "       streamwright console --topology PIPELINE --bootstrap-servers HOST:PORT [--metrics-url URL ...] (docs/console.md)\n"
               "       streamwright lake validate|optimize|vacuum|files|sql TABLE ... (docs/lake.md)\n"
               "pipelines: ";
  std::string names;
  for (const auto& p : sw::topologies::catalog()) names += (names.empty() ? "" : ", ") + p.name;
  std::cerr << names << " (telemetra also runs its PostgreSQL sink:\n"
               "POSTGRES_URL, POSTGRES_USER, POSTGRES_PASSWORD; demo starts a throwaway PostgreSQL when POSTGRES_URL is unset)\n";
  return 2;
}

// Prints the topology; optionally writes it as Graphviz DOT and renders a PNG with `dot`.
int describe(const std::string& name, const std::vector<std::string>& args) {
  std::string dot_path, png_path;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "--dot" || args[i] == "--png") && i + 1 < args.size()) {
      (args[i] == "--dot" ? dot_path : png_path) = args[i + 1];
      ++i;
    } else {
      std::cerr << "streamwright describe: unknown argument '" << args[i] << "'\n";
      return 2;
    }
  }
  sw::Topology topology = [&] { return sw::topologies::build_default(name); }();
  std::cout << topology.describe();
  const std::string dot = sw::topologies::to_dot(topology);
  if (!png_path.empty() && dot_path.empty()) dot_path = png_path + ".dot";
  if (!dot_path.empty()) {
    std::ofstream out(dot_path);
    out << dot;
    if (!out) {
      std::cerr << "streamwright describe: cannot write " << dot_path << "\n";
      return 1;
    }
    std::cout << "wrote " << dot_path << "\n";
  }
  if (!png_path.empty()) {
    const std::string cmd = "dot -Tpng -o '" + png_path + "' '" + dot_path + "'";
    if (std::system(cmd.c_str()) != 0) {
      std::cerr << "streamwright describe: rendering with graphviz failed (is `dot` installed?)\n";
      return 1;
    }
    std::cout << "wrote " << png_path << "\n";
  }
  return 0;
}

// A throwaway PostgreSQL 15 for `demo telemetra` (initdb refuses root: as root it runs as the
// postgres user). Trust authentication on loopback only; removed with the work directory.
class ThrowawayPostgres {
 public:
  explicit ThrowawayPostgres(const std::string& dir) : dir_(dir) {
    const std::string bin = "/usr/lib/postgresql/15/bin/";
    if (!std::filesystem::exists(bin + "initdb"))
      throw std::runtime_error("PostgreSQL 15 server binaries not found (apt-get install postgresql), or set POSTGRES_URL");
    std::filesystem::create_directories(dir_);
    as_ = ::geteuid() == 0 ? "runuser -u postgres -- " : "";
    if (!as_.empty()) sh("chown -R postgres:postgres '" + dir_ + "'");
    sh(as_ + bin + "initdb -D '" + dir_ + "/data' -U postgres --auth=trust -E UTF8 --no-locale > '" + dir_ +
       "/initdb.log' 2>&1");
    port_ = 15432 + static_cast<int>(::getpid() % 1000);
    sh(as_ + bin + "pg_ctl -D '" + dir_ + "/data' -l '" + dir_ + "/postgres.log' -w -t 30 -o \"-c listen_addresses=127.0.0.1 -p " +
       std::to_string(port_) + " -k " + dir_ + "\" start > /dev/null");
    started_ = true;
    sh(as_ + "/usr/bin/psql -X -q -h 127.0.0.1 -p " + std::to_string(port_) +
       " -U postgres -d postgres -c 'CREATE DATABASE telemetra' > /dev/null");
  }
  ~ThrowawayPostgres() {
    if (started_)
      std::system((as_ + "/usr/lib/postgresql/15/bin/pg_ctl -D '" + dir_ + "/data' -m fast -w stop > /dev/null 2>&1").c_str());
  }
  std::string url() const { return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/telemetra"; }

 private:
  static void sh(const std::string& cmd) {
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  }
  std::string dir_, as_;
  int port_ = 0;
  bool started_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string command = argv[1];
  if (command == "list") {
    const std::string format = argc >= 3 ? argv[2] : "";
    if (format == "--json") {
      std::cout << sw::topologies::catalog_json();
      return 0;
    }
    if (format == "--helm") {
      std::cout << sw::topologies::helm_catalogue_yaml();
      return 0;
    }
    if (!format.empty()) {
      std::cerr << "streamwright list: unknown argument '" << format << "' (--json or --helm)\n";
      return 2;
    }
    for (const auto& [name, p] : pipelines()) {
      std::cout << name << ": stages";
      for (const auto& s : p.stages) std::cout << ' ' << s;
      std::cout << "\n";
    }
    return 0;
  }
  if (command == "lake") {
    // The lake's maintenance commands live in their own program; this is the same command line.
    const std::string tool = sw::executable_dir() + "/streamwright-lake";
    std::vector<char*> args{const_cast<char*>(tool.c_str())};
    for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
    args.push_back(nullptr);
    ::execv(tool.c_str(), args.data());
    std::perror(("streamwright: cannot run " + tool).c_str());
    return 1;
  }
  if (command == "console") {
    // The console is its own program (streamwright-console); this is the same command line.
    const std::string tool = sw::executable_dir() + "/streamwright-console";
    std::vector<char*> args{const_cast<char*>(tool.c_str())};
    for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
    args.push_back(nullptr);
    ::execv(tool.c_str(), args.data());
    std::perror(("streamwright: cannot run " + tool).c_str());
    return 1;
  }
  if (command == "--help" || command == "-h" || command == "help") {
    usage();
    return 0;
  }
  if (command == "describe" && argc >= 3) {
    try {
      return describe(argv[2], std::vector<std::string>(argv + 3, argv + argc));
    } catch (const std::invalid_argument& e) {
      std::cerr << "streamwright: " << e.what() << "\n";
      return 2;
    }
  }
  if ((command != "demo" && command != "up") || argc < 3) return usage();
  const std::string pipeline_name = argv[2];
  auto pit = pipelines().find(pipeline_name);
  if (pit == pipelines().end()) {
    std::cerr << "streamwright: unknown pipeline '" << pipeline_name << "'\n";
    return usage();
  }
  const Pipeline& pipeline = pit->second;

  // Options before "--" are the launcher's; after it they go to every stage.
  std::vector<std::string> own, passthrough;
  bool after = false;
  for (int i = 3; i < argc; ++i) {
    if (!after && std::string(argv[i]) == "--") {
      after = true;
      continue;
    }
    (after ? passthrough : own).emplace_back(argv[i]);
  }
  po::options_description desc("streamwright " + command + " options");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("bootstrap-servers", po::value<std::string>(), "Kafka bootstrap servers (up; env KAFKA_BOOTSTRAP_SERVERS)")
    ("rate", po::value<double>()->default_value(20000), "demo: load generator records per second")
    ("users", po::value<unsigned>()->default_value(200), "demo: distinct users")
    ("crash-rate", po::value<double>()->default_value(0.05), "demo: fraction of events mentioning a crash")
    ("partitions", po::value<int>()->default_value(4), "demo: partitions of every topic")
    ("duration", po::value<double>()->default_value(0), "seconds to run (0: until Ctrl-C)")
    ("work-dir", po::value<std::string>(), "state and logs (default: a new directory under /tmp)")
    ("max-alerts-shown", po::value<unsigned>()->default_value(20), "demo: alerts printed per status interval")
    ("postgres-url", po::value<std::string>(), "telemetra: the sink's database (env POSTGRES_URL; demo: a throwaway server if unset)")
    ("console-port", po::value<std::string>()->default_value("0"),
         "demo: port of the console on 127.0.0.1 (0: any free port; 'none': no console)")
    ("lake", po::value<std::string>(),
         "render-farm: write its Delta tables under this directory (demo: <work-dir>/lake unless 'none'; up: only when given)");
  // clang-format on
  po::variables_map vm;
  sw::kafka::Config kafka_settings;  // the stages' Kafka properties, for the launcher's own consumer
  try {
    const auto parsed = po::command_line_parser(own).options(desc).run();
    sw::reject_negative_unsigned(parsed, desc);
    po::store(parsed, vm);
    po::store(sw::bootstrap_from_environment(desc), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << desc << "\n";
      return 0;
    }
    if (command == "up" && !vm.count("bootstrap-servers"))
      throw std::invalid_argument("up needs --bootstrap-servers (or KAFKA_BOOTSTRAP_SERVERS)");
    if (vm["partitions"].as<int>() < 1) throw std::invalid_argument("--partitions must be positive");
    if (vm["rate"].as<double>() < 0) throw std::invalid_argument("--rate must not be negative");
    if (vm["duration"].as<double>() < 0) throw std::invalid_argument("--duration must not be negative");
    if (vm["users"].as<unsigned>() == 0) throw std::invalid_argument("--users must be positive");
    if (const auto& cp = vm["console-port"].as<std::string>(); cp != "none") {
      if (cp.empty() || cp.size() > 5 || cp.find_first_not_of("0123456789") != std::string::npos || std::stoul(cp) > 65535)
        throw std::invalid_argument("--console-port must be a port (0: any free one) or 'none'");
    }
    const double crash_rate = vm["crash-rate"].as<double>();
    if (crash_rate < 0 || crash_rate > 1) throw std::invalid_argument("--crash-rate must be between 0 and 1");
    // The same Kafka settings as the stages (files, KAFKA_PROPERTY_*, --kafka-property after
    // "--"), checked before anything starts.
    std::vector<std::string> properties, files;
    kafka_options(passthrough, properties, files);
    kafka_settings.set_user_properties(files, properties, "--kafka-property", sw::kafka::ClientRoles::consumer);
  } catch (const std::exception& e) {
    std::cerr << "streamwright: " << e.what() << "\n";
    return 2;
  }

  const std::string bin = sw::executable_dir();
  const std::string work = vm.count("work-dir") ? vm["work-dir"].as<std::string>()
                                                : "/tmp/streamwright-" + command + "-" + std::to_string(::getpid());
  std::filesystem::create_directories(work);
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  // The console's URL is the first line a demo prints: its port is chosen now, and the console
  // starts once the stages' metrics endpoints are known.
  std::uint16_t console_port = 0;
  const bool with_console = command == "demo" && vm["console-port"].as<std::string>() != "none";
  if (with_console) {
    console_port = static_cast<std::uint16_t>(std::stoul(vm["console-port"].as<std::string>()));
    if (console_port == 0) console_port = free_loopback_port();
    if (console_port == 0) {
      std::cerr << "streamwright: no free port for the console (--console-port none runs without it)\n";
      return 1;
    }
    std::cout << "console http://127.0.0.1:" << console_port << "/" << std::endl;
  }

  std::unique_ptr<sw::ChildProcess> broker, loadgen, sink, lake_sink, console;
  std::uint16_t lake_port = 0;
  std::string lake_dir;
  if (!pipeline.lake_tables.empty()) {
    if (vm.count("lake"))
      lake_dir = vm["lake"].as<std::string>() == "none" ? "" : vm["lake"].as<std::string>();
    else if (command == "demo")
      lake_dir = work + "/lake";
  } else if (vm.count("lake") && vm["lake"].as<std::string>() != "none") {
    std::cerr << "streamwright: " << pipeline_name << " writes no lake tables (--lake is for render-farm)\n";
    return 2;
  }
  std::unique_ptr<ThrowawayPostgres> postgres;
  std::uint16_t sink_port = 0;
  std::vector<Stage> stages;
  int exit_code = 0;
  try {
    std::string bootstrap;
    if (command == "demo") {
      // Topics come from the topology itself.
      std::vector<std::string> list_args{"--list-topics"};
      list_args.insert(list_args.end(), pipeline.defaults.begin(), pipeline.defaults.end());
      sw::ChildProcess lister(bin + "/" + pipeline.service, list_args, {});
      std::vector<std::string> broker_args;
      const int parts = vm["partitions"].as<int>();
      while (auto line = lister.read_line(10s)) {
        const auto sp = line->find(' ');
        const auto name = line->substr(0, sp);
        broker_args.push_back("--topic");
        broker_args.push_back(name + ":" + std::to_string(parts));
      }
      if (lister.wait(10s).value_or(1) != 0) throw std::runtime_error("cannot list the topology's topics");
      if (!lake_dir.empty())
        for (const auto& t : pipeline.lake_tables) broker_args.insert(broker_args.end(), {"--topic", t.topic + "-lake-dlq:1"});
      broker = std::make_unique<sw::ChildProcess>(bin + "/streamwright-devbroker", broker_args,
                                                  sw::ChildProcess::Options{true, work + "/devbroker.log", "", {}});
      auto line = broker->read_line(15s);
      if (!line) throw std::runtime_error("the dev broker did not start; see " + work + "/devbroker.log");
      bootstrap = *line;
      std::cout << "dev broker at " << bootstrap << " (" << broker_args.size() / 2 << " topics, " << parts
                << " partitions each)\n";
    } else {
      bootstrap = vm["bootstrap-servers"].as<std::string>();
    }

    for (const auto& s : pipeline.stages) {
      std::vector<std::string> args{"--stage", s, "--bootstrap-servers", bootstrap, "--metrics-port", "0",
                                    "--state-dir", work + "/state"};
      auto given = [&](const std::string& opt) {
        return std::find(passthrough.begin(), passthrough.end(), opt) != passthrough.end();
      };
      auto add_defaults = [&](const std::vector<std::string>& pairs) {
        for (std::size_t i = 0; i + 1 < pairs.size(); i += 2)
          if (!given(pairs[i])) args.insert(args.end(), {pairs[i], pairs[i + 1]});
      };
      add_defaults(pipeline.defaults);
      if (command == "demo") {
        // A demo should show results within seconds: shorter windows, grace and idle timeout.
        add_defaults({"--idle-timeout", "2s"});
        add_defaults(pipeline.demo_defaults);
      }
      args.insert(args.end(), passthrough.begin(), passthrough.end());
      Stage st;
      st.name = s;
      st.proc = std::make_unique<sw::ChildProcess>(bin + "/" + pipeline.service, args,
                                                   sw::ChildProcess::Options{true, work + "/" + s + ".log", "", {}});
      st.port = wait_started(*st.proc, "stage " + s, work + "/" + s + ".log");
      std::cout << "stage " << s << " running (pid " << st.proc->pid() << ", metrics http://127.0.0.1:" << st.port
                << "/metrics, log " << work << "/" << s << ".log)\n";
      stages.push_back(std::move(st));
    }

    if (!pipeline.sink_service.empty()) {
      std::string url = vm.count("postgres-url") ? vm["postgres-url"].as<std::string>() : "";
      if (url.empty() && std::getenv("POSTGRES_URL")) url = std::getenv("POSTGRES_URL");
      if (url.empty()) {
        if (command == "up") throw std::invalid_argument("up " + pipeline_name + " needs --postgres-url (or POSTGRES_URL)");
        postgres = std::make_unique<ThrowawayPostgres>(work + "/postgres");
        url = postgres->url();
        std::cout << "throwaway PostgreSQL at " << url << " (log " << work << "/postgres/postgres.log)\n";
      }
      // The URL goes through the environment; POSTGRES_USER/POSTGRES_PASSWORD(_FILE) and
      // KAFKA_PROPERTY_* are inherited; the stages' Kafka options are passed on.
      std::vector<std::string> sink_args{"--bootstrap-servers", bootstrap, "--metrics-port", "0"};
      {
        std::vector<std::string> properties, files;
        kafka_options(passthrough, properties, files);
        for (const auto& p : properties) sink_args.insert(sink_args.end(), {"--kafka-property", p});
        for (const auto& f : files) sink_args.insert(sink_args.end(), {"--kafka-properties-file", f});
      }
      sink = std::make_unique<sw::ChildProcess>(bin + "/" + pipeline.sink_service, sink_args,
                                                sw::ChildProcess::Options{true, work + "/sink.log", "", {"POSTGRES_URL=" + url}});
      sink_port = wait_started(*sink, "the sink", work + "/sink.log");
      std::cout << "sink " << pipeline.sink_service << " running (pid " << sink->pid() << ", metrics http://127.0.0.1:"
                << sink_port << "/metrics, log " << work << "/sink.log)\n";
    }

    if (!lake_dir.empty()) {
      std::filesystem::create_directories(lake_dir);
      std::vector<std::string> lake_args{"--bootstrap-servers", bootstrap, "--metrics-port", "0", "--group-id",
                                         pipeline_name + "-lake-sink"};
      if (command == "demo") lake_args.insert(lake_args.end(), {"--max-file-age", "10s"});  // tables within seconds
      std::vector<std::string> tables;
      for (const auto& t : pipeline.lake_tables) {
        lake_args.insert(lake_args.end(), {"--table", t.topic + "=" + lake_dir + "/" + t.table});
        if (!t.partition_by.empty()) lake_args.insert(lake_args.end(), {"--partition-by", t.topic + "=" + t.partition_by});
        tables.push_back(lake_dir + "/" + t.table);
      }
      {
        std::vector<std::string> properties, files;
        kafka_options(passthrough, properties, files);
        for (const auto& p : properties) lake_args.insert(lake_args.end(), {"--kafka-property", p});
        for (const auto& f : files) lake_args.insert(lake_args.end(), {"--kafka-properties-file", f});
      }
      lake_sink = std::make_unique<sw::ChildProcess>(bin + "/streamwright-lake-sink", lake_args,
                                                     sw::ChildProcess::Options{true, work + "/lake-sink.log", "", {}});
      lake_port = wait_started(*lake_sink, "the lake sink", work + "/lake-sink.log");
      std::string list;
      for (const auto& t : tables) list += " " + t;
      std::cout << "lake sink running (pid " << lake_sink->pid() << ", metrics http://127.0.0.1:" << lake_port
                << "/metrics, log " << work << "/lake-sink.log): Delta tables" << list << "\n"
                << "  query them with DuckDB (commits at least every " << (command == "demo" ? "10s" : "60s") << "):\n"
                << "    duckdb -c \"$(" << bin << "/streamwright lake sql" << list << ")\n"
                << "      SELECT scene_id, sum(frames) AS frames, max(p95_render_time_ms) AS worst_p95_ms FROM render_metrics\n"
                << "      GROUP BY scene_id ORDER BY frames DESC LIMIT 10\"\n"
                << "  check them: " << bin << "/streamwright lake validate " << tables.front() << "\n";
    }

    if (with_console) {
      std::vector<std::string> console_args{"--topology", pipeline_name, "--bootstrap-servers", bootstrap, "--port",
                                            std::to_string(console_port)};
      for (const auto& st : stages)
        console_args.insert(console_args.end(),
                            {"--metrics-url", st.name + "=http://127.0.0.1:" + std::to_string(st.port) + "/metrics"});
      if (sink)
        console_args.insert(console_args.end(),
                            {"--metrics-url", "sink=http://127.0.0.1:" + std::to_string(sink_port) + "/metrics"});
      {
        std::vector<std::string> properties, files;
        kafka_options(passthrough, properties, files);
        for (const auto& p : properties) console_args.insert(console_args.end(), {"--kafka-property", p});
        for (const auto& f : files) console_args.insert(console_args.end(), {"--kafka-properties-file", f});
      }
      console = std::make_unique<sw::ChildProcess>(bin + "/streamwright-console", console_args,
                                                   sw::ChildProcess::Options{true, work + "/console.log", "", {}});
      auto line = console->read_line(30s);
      if (!line || line->rfind("console ", 0) != 0) {
        const auto code = console->wait(5s);
        if (code && *code == 2) throw ChildUsageError("the console rejected its options:\n" + log_tail(work + "/console.log"));
        throw std::runtime_error("the console did not start; see " + work + "/console.log");
      }
      std::cout << "console running (pid " << console->pid() << ", " << line->substr(8) << ", log " << work
                << "/console.log)\n";
    }

    if (command == "demo") {
      std::vector<std::string> args = pipeline.loadgen_args;
      args.insert(args.end(), {"--bootstrap-servers", bootstrap, "--rate", std::to_string(vm["rate"].as<double>()),
                               "--out-of-order", "0.05"});
      if (pipeline_name == "crash-monitor")
        args.insert(args.end(), {"--users", std::to_string(vm["users"].as<unsigned>()), "--crash-rate",
                                 std::to_string(vm["crash-rate"].as<double>())});
      loadgen = std::make_unique<sw::ChildProcess>(bin + "/streamwright-loadgen", args,
                                                   sw::ChildProcess::Options{false, work + "/loadgen.log", "", {}});
      std::cout << "load generator: " << vm["rate"].as<double>() << " events/s into " << pipeline.input_topic
                << " (log " << work << "/loadgen.log)\n";
    }

    // Live view: alerts as they arrive, and a status line every two seconds.
    sw::kafka::Config cc = kafka_settings;
    cc.set(sw::kafka::keys::bootstrap_servers, bootstrap);
    cc.set(sw::kafka::keys::group_id, "streamwright-launcher-" + std::to_string(::getpid()));
    cc.set(sw::kafka::keys::auto_offset_reset, command == "demo" ? "earliest" : "latest");
    cc.set(sw::kafka::keys::fetch_wait_max_ms, 100);
    sw::kafka::Consumer alerts(cc, nullptr);
    const auto& watched = pipeline.watch_topics;
    if (const auto ec = alerts.subscribe(watched))
      throw std::runtime_error("cannot watch the output topics: " + ec.message());
    std::string watched_list;
    for (const auto& t : watched) watched_list += (watched_list.empty() ? "" : ", ") + t;
    std::cout << "watching " << watched_list << "; Ctrl-C stops everything\n" << std::flush;

    const double duration = vm["duration"].as<double>();
    const auto start = Clock::now();
    auto last_status = start;
    std::uint64_t alerts_seen = 0, shown_this_interval = 0;
    const unsigned max_shown = vm["max-alerts-shown"].as<unsigned>();
    sw::kafka::MessageBatch batch(1000);
    while (!g_stop) {
      if (duration > 0 && std::chrono::duration<double>(Clock::now() - start).count() >= duration) break;
      for (auto& st : stages)
        if (!st.proc->running()) throw std::runtime_error("stage " + st.name + " exited; see its log in " + work);
      if (sink && !sink->running()) throw std::runtime_error("the sink exited; see " + work + "/sink.log");
      if (lake_sink && !lake_sink->running())
        throw std::runtime_error("the lake sink exited; see " + work + "/lake-sink.log");
      if (console && !console->running()) throw std::runtime_error("the console exited; see " + work + "/console.log");
      const auto n = alerts.poll(batch, 1000, 200ms);
      for (std::size_t i = 0; i < n; ++i) {
        if (batch[i].error()) continue;
        ++alerts_seen;
        const auto other = pipeline.labels.find(std::string(batch[i].topic()));
        const std::string& label = other == pipeline.labels.end() ? pipeline.output_label : other->second;
        if (shown_this_interval++ < max_shown) std::cout << label << " " << batch[i].value() << "\n";
      }
      if (Clock::now() - last_status >= 2s) {
        last_status = Clock::now();
        std::ostringstream line;
        line << "[" << static_cast<int>(std::chrono::duration<double>(last_status - start).count()) << "s]";
        // Per stage, as Spark's progress reports: records appended to its input per second
        // against records it processed per second, and its lag.
        for (auto& st : stages) {
          const auto text = sw::metrics::http_get(st.port, "/metrics").body;
          const double input = sw::metrics::sum_samples(text, "streamwright_input_records_per_second");
          const double processed = sw::metrics::sum_samples(text, "streamwright_processed_records_per_second");
          const double lag = sw::metrics::sum_samples(text, "kafka_consumergroup_lag");
          line << " " << st.name << " in " << static_cast<long long>(input) << "/s processed "
               << static_cast<long long>(processed) << "/s lag " << lag;
          if (st.name == pipeline.stages.front())
            line << " dlq " << sw::metrics::sum_samples(text, "streamwright_dead_letter_records_total");
        }
        line << " | " << pipeline.output_topic << " " << alerts_seen;
        if (sink) {
          const auto text = sw::metrics::http_get(sink_port, "/metrics").body;
          line << " | in PostgreSQL: " << sw::metrics::sum_samples(text, "telemetra_sink_rows_written_total")
               << " rows written" << (sw::metrics::sum_samples(text, "telemetra_sink_ready") > 0 ? "" : " (sink not ready)");
        }
        if (lake_sink) {
          const auto text = sw::metrics::http_get(lake_port, "/metrics").body;
          line << " | lake: " << sw::metrics::sum_samples(text, "lake_sink_rows_written_total") << " rows committed";
        }
        if (shown_this_interval > max_shown) line << " (" << shown_this_interval - max_shown << " not shown)";
        std::cout << line.str() << std::endl;
        shown_this_interval = 0;
      }
    }
    alerts.close();
  } catch (const ChildUsageError& e) {
    std::cerr << "streamwright: " << e.what();
    exit_code = 2;
  } catch (const std::exception& e) {
    std::cerr << "streamwright: " << e.what() << "\n";
    exit_code = 1;
  }

  std::cout << "stopping..." << std::endl;
  if (loadgen) loadgen->stop(10s);
  if (console) console->stop(20s);
  for (auto& st : stages) {
    const int code = st.proc->stop(60s);
    std::cout << "stage " << st.name << " stopped (exit " << code << ")\n";
    if (code != 0 && exit_code == 0) exit_code = 1;
  }
  if (sink) std::cout << "sink stopped (exit " << sink->stop(60s) << ")\n";
  if (lake_sink) std::cout << "lake sink stopped (exit " << lake_sink->stop(60s) << ")\n";
  postgres.reset();
  if (broker) broker->stop(10s);
  std::cout << "logs and state in " << work << std::endl;
  return exit_code;
}
