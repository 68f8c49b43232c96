// streamwright-devbroker: the embedded dev broker (librdkafka's mock cluster).
//
// Real Kafka wire protocol on 127.0.0.1, in memory. For development, demos and tests only:
// no persistence, no TLS or SASL, at most 5 MiB (or 100,000 batches) kept per partition,
// no CreateTopics/DeleteTopics/DescribeGroups API. Topics come from --topic flags.
#include <boost/program_options.hpp>

#include <csignal>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "kafka/mock_cluster.h"

namespace po = boost::program_options;

namespace {
volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
  po::options_description desc(
      "streamwright-devbroker: an in-memory Kafka-protocol broker for development and tests\n\n"
      "Prints the bootstrap address list as the first line of stdout, then runs until SIGTERM or\n"
      "SIGINT. Limits: data lives in memory only and is lost on exit; each partition keeps at most\n"
      "5 MiB or 100,000 batches (older data is silently dropped); no TLS, no SASL; no admin API\n"
      "for creating topics (create them here with --topic; unknown topics are auto-created with\n"
      "4 partitions on first use). Production uses a real Kafka cluster.\n\nOptions");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("brokers", po::value<int>()->default_value(1), "number of brokers")
    ("topic", po::value<std::vector<std::string>>()->composing(), "a topic to create, as name:partitions (repeatable)")
    ("replication-factor", po::value<int>()->default_value(1), "replication factor of created topics");
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
    std::cout << cluster.bootstrap_servers() << std::endl;
    std::cerr << "streamwright-devbroker: " << brokers << " broker(s) at " << cluster.bootstrap_servers() << ", "
              << topics.size() << " topic(s) created\n";
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::cerr << "streamwright-devbroker: stopping\n";
  } catch (const std::exception& e) {
    std::cerr << "streamwright-devbroker: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
