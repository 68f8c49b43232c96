// streamwright-devbroker: the embedded dev broker (librdkafka's mock cluster).
//
// Real Kafka wire protocol on 127.0.0.1, in memory. For development, demos and tests only:
// no persistence, no TLS or SASL, at most 5 MiB (or 100,000 batches) kept per partition,
// no CreateTopics/DeleteTopics/DescribeGroups API. Topics come from --topic flags.
//
// With --control-port, a small HTTP interface injects faults while clients run (see --help).
#include <boost/program_options.hpp>

#include <csignal>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kafka/mock_cluster.h"
#include "metrics/http_server.h"

namespace po = boost::program_options;

namespace {
volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) { g_stop = 1; }

constexpr const char* kControlHelp =
    "Control interface (--control-port; HTTP GET, one action per path, answers JSON or an error):\n"
    "  /brokers                               broker ids, up or down, and the leaders set so far\n"
    "  /broker/ID/down, /broker/ID/up         take a broker down (connections closed and refused) or up\n"
    "  /broker/ID/drain                       move the leadership of every --topic partition off broker ID\n"
    "                                         (to the other brokers that are up, round-robin)\n"
    "  /broker/ID/rtt/MS                      add MS milliseconds to every response of the broker\n"
    "  /errors/API/ERROR/COUNT                the next COUNT requests of API fail with ERROR, e.g.\n"
    "                                         /errors/Produce/NOT_LEADER_FOR_PARTITION/5,\n"
    "                                         /errors/OffsetCommit/REQUEST_TIMED_OUT/3 (names or numbers;\n"
    "                                         _TRANSPORT disconnects the client)\n"
    "  /errors/API/clear                      drop the errors still queued for API\n"
    "  /leader/TOPIC/PARTITION/ID             move one partition's leadership\n"
    "  /coordinator/group|transaction/KEY/ID  move a group's or transactional id's coordinator\n"
    "Broker ids are 1..--brokers. The mock does no failover of its own: a down broker stays the\n"
    "leader of its partitions and the coordinator of its groups, which stall until it is up again\n"
    "(or until drain/leader/coordinator moved them).\n";

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    const auto j = path.find('/', i);
    const auto end = j == std::string::npos ? path.size() : j;
    if (end > i) parts.push_back(path.substr(i, end - i));
    i = end;
  }
  return parts;
}

int to_int(const std::string& s, const char* what) {
  std::size_t used = 0;
  int v = 0;
  try {
    v = std::stoi(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || s.empty()) throw std::invalid_argument(std::string(what) + " must be an integer, got '" + s + "'");
  return v;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}

sw::metrics::HttpResponse json_ok(const std::string& body) { return {200, "application/json", body + "\n"}; }

sw::metrics::HttpResponse control(sw::kafka::MockCluster& cluster, const std::string& path) {
  const auto p = split_path(path);
  try {
    if (p.size() == 1 && p[0] == "healthz") return {200, "text/plain", "ok\n"};
    if (p.size() == 1 && p[0] == "brokers") {
      std::string out = "{\"brokers\":[";
      for (int b = 1; b <= cluster.brokers(); ++b) {
        if (b > 1) out += ',';
        out += "{\"id\":" + std::to_string(b) + ",\"up\":" + (cluster.broker_up(b) ? "true" : "false") + "}";
      }
      out += "],\"leaders\":{";
      bool first = true;
      for (const auto& [topic, leaders] : cluster.leaders()) {
        if (!first) out += ',';
        first = false;
        out += quoted(topic) + ":[";
        for (std::size_t i = 0; i < leaders.size(); ++i) out += (i ? "," : "") + std::to_string(leaders[i]);
        out += ']';
      }
      return json_ok(out + "}}");
    }
    if (p.size() >= 3 && p[0] == "broker") {
      const int id = to_int(p[1], "broker id");
      std::string action = p[2];
      if (p.size() == 3 && action == "down") {
        cluster.set_broker_down(id);
      } else if (p.size() == 3 && action == "up") {
        cluster.set_broker_up(id);
      } else if (p.size() == 3 && action == "drain") {
        const int moved = cluster.drain(id);
        std::cerr << "streamwright-devbroker: control: broker " << id << " drained (" << moved << " partitions moved)\n";
        return json_ok("{\"broker\":" + std::to_string(id) + ",\"moved\":" + std::to_string(moved) + "}");
      } else if (p.size() == 4 && action == "rtt") {
        cluster.set_broker_rtt(id, to_int(p[3], "rtt"));
        action += "=" + p[3];
      } else {
        return {404, "text/plain", "unknown broker action\n"};
      }
      std::cerr << "streamwright-devbroker: control: broker " << id << " " << action << "\n";
      return json_ok("{\"broker\":" + std::to_string(id) + ",\"action\":" + quoted(action) + "}");
    }
    if (p.size() >= 3 && p[0] == "errors") {
      const auto api = sw::kafka::MockCluster::api_key_from_name(p[1]);
      if (!api) throw std::invalid_argument("unknown API '" + p[1] + "' (Produce, Fetch, OffsetCommit, JoinGroup, ...)");
      if (p.size() == 3 && p[2] == "clear") {
        cluster.clear_request_errors(*api);
        std::cerr << "streamwright-devbroker: control: errors for API " << *api << " cleared\n";
        return json_ok("{\"api_key\":" + std::to_string(*api) + ",\"cleared\":true}");
      }
      if (p.size() != 4) return {404, "text/plain", "use /errors/API/ERROR/COUNT\n"};
      const auto err = sw::kafka::MockCluster::error_code_from_name(p[2]);
      if (!err) throw std::invalid_argument("unknown error '" + p[2] + "' (e.g. NOT_COORDINATOR, REQUEST_TIMED_OUT)");
      const int count = to_int(p[3], "count");
      cluster.push_request_errors(*api, count, *err);
      std::cerr << "streamwright-devbroker: control: next " << count << " requests of API " << *api << " fail with "
                << sw::kafka::MockCluster::error_name(*err) << "\n";
      return json_ok("{\"api_key\":" + std::to_string(*api) + ",\"error\":" +
                     quoted(sw::kafka::MockCluster::error_name(*err)) + ",\"count\":" + std::to_string(count) + "}");
    }
    if (p.size() == 4 && p[0] == "leader") {
      const int partition = to_int(p[2], "partition");
      const int id = to_int(p[3], "broker id");
      cluster.set_partition_leader(p[1], partition, id);
      std::cerr << "streamwright-devbroker: control: " << p[1] << "/" << partition << " led by broker " << id << "\n";
      return json_ok("{\"topic\":" + quoted(p[1]) + ",\"partition\":" + std::to_string(partition) +
                     ",\"leader\":" + std::to_string(id) + "}");
    }
    if (p.size() == 4 && p[0] == "coordinator") {
      const int id = to_int(p[3], "broker id");
      cluster.set_coordinator(p[1], p[2], id);
      std::cerr << "streamwright-devbroker: control: " << p[1] << " " << p[2] << " coordinated by broker " << id << "\n";
      return json_ok("{\"type\":" + quoted(p[1]) + ",\"key\":" + quoted(p[2]) + ",\"coordinator\":" +
                     std::to_string(id) + "}");
    }
  } catch (const std::exception& e) {
    return {400, "text/plain", std::string(e.what()) + "\n"};
  }
  return {404, "text/plain", std::string("not found; the control interface:\n") + kControlHelp};
}
}  // namespace

int main(int argc, char** argv) {
  po::options_description desc(
      "streamwright-devbroker: an in-memory Kafka-protocol broker for development and tests\n\n"
      "Prints the bootstrap address list as the first line of stdout, then runs until SIGTERM or\n"
      "SIGINT. Limits: data lives in memory only and is lost on exit; each partition keeps at most\n"
      "5 MiB or 100,000 batches (older data is silently dropped); no TLS, no SASL; no admin API\n"
      "for creating topics (create them here with --topic; unknown topics are auto-created with\n"
      "4 partitions on first use). Production uses a real Kafka cluster.\n\n" +
      std::string(kControlHelp) + "\nOptions");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("brokers", po::value<int>()->default_value(1), "number of brokers")
    ("topic", po::value<std::vector<std::string>>()->composing(), "a topic to create, as name:partitions (repeatable)")
    ("replication-factor", po::value<int>()->default_value(1), "replication factor of created topics")
    ("control-port", po::value<int>(), "serve the fault-injection control interface on 127.0.0.1:PORT (0: a free port); "
                                       "the port is printed as 'control-port N' on the second line of stdout")
    ("control-address", po::value<std::string>()->default_value("127.0.0.1"), "address the control interface binds");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "streamwright-devbroker: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  const int brokers = vm["brokers"].as<int>();
  const int rf = vm["replication-factor"].as<int>();
  if (brokers < 1 || brokers > 16) {
    std::cerr << "streamwright-devbroker: --brokers must be between 1 and 16\n";
    return 2;
  }
  if (rf < 1 || rf > brokers) {
    std::cerr << "streamwright-devbroker: --replication-factor must be between 1 and --brokers\n";
    return 2;
  }
  const int control_port = vm.count("control-port") ? vm["control-port"].as<int>() : -1;
  if (vm.count("control-port") && (control_port < 0 || control_port > 65535)) {
    std::cerr << "streamwright-devbroker: --control-port must be between 0 and 65535\n";
    return 2;
  }
  std::vector<std::pair<std::string, int>> topics;
  if (vm.count("topic")) {
    for (const auto& t : vm["topic"].as<std::vector<std::string>>()) {
      const auto colon = t.rfind(':');
      int partitions = 0;
      try {
        partitions = colon == std::string::npos ? 0 : std::stoi(t.substr(colon + 1));
      } catch (const std::exception&) {
        partitions = 0;
      }
      if (colon == 0 || colon == std::string::npos || partitions < 1 || partitions > 10000) {
        std::cerr << "streamwright-devbroker: --topic expects name:partitions (1-10000), got '" << t << "'\n";
        return 2;
      }
      topics.emplace_back(t.substr(0, colon), partitions);
    }
  }
  try {
    sw::kafka::MockCluster cluster(brokers);
    for (const auto& [name, partitions] : topics) cluster.create_topic(name, partitions, rf);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    std::unique_ptr<sw::metrics::HttpServer> control_server;
    if (control_port >= 0)
      control_server = std::make_unique<sw::metrics::HttpServer>(
          vm["control-address"].as<std::string>(), static_cast<std::uint16_t>(control_port),
          [&cluster](const std::string& path) { return control(cluster, path); });
    std::cout << cluster.bootstrap_servers() << std::endl;
    if (control_server) std::cout << "control-port " << control_server->port() << std::endl;
    std::cerr << "streamwright-devbroker: " << brokers << " broker(s) at " << cluster.bootstrap_servers() << ", "
              << topics.size() << " topic(s) created\n";
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::cerr << "streamwright-devbroker: stopping\n";
    if (control_server) control_server->stop();
  } catch (const std::exception& e) {
    std::cerr << "streamwright-devbroker: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
