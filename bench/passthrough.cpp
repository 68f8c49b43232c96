// The transport floor for latency: consumes a topic and produces every record again, with the
// stages' own client settings (shared/runtime/client_config) and the same loop shape (batch
// polls of up to 10 000 records with a 20 ms timeout, offsets committed every 500 ms without
// stopping the loop), but no processing. Each output record is a repartition data envelope
// naming its source partition and offset, so `streamwright-bench-tool latency --envelope` times
// it exactly as it times a stage's output. A benchmark baseline, not a product: commits are
// asynchronous and not tied to the producer's acknowledgements.
#include <boost/program_options.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <string>
#include <unordered_map>
#include <vector>

#include "kafka/client.h"
#include "runtime/client_config.h"
#include "topology/envelope.h"

namespace po = boost::program_options;
using namespace std::chrono_literals;

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }

}  // namespace

int main(int argc, char** argv) {
  po::options_description opts("streamwright-passthrough: consume and produce again, no processing");
  // clang-format off
  opts.add_options()
    ("help,h", "show this help")
    ("bootstrap-servers", po::value<std::string>()->required(), "Kafka bootstrap servers")
    ("input-topic", po::value<std::string>()->required(), "topic to read")
    ("output-topic", po::value<std::string>()->required(), "topic to write (every record, as a data envelope)")
    ("group", po::value<std::string>()->default_value("streamwright-passthrough"), "consumer group")
    ("starting-offsets", po::value<std::string>()->default_value("latest"), "earliest or latest");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return 0;
    }
    po::notify(vm);
    const auto s = vm["starting-offsets"].as<std::string>();
    if (s != "earliest" && s != "latest") throw std::invalid_argument("--starting-offsets must be earliest or latest");
  } catch (const std::exception& e) {
    std::cerr << "streamwright-passthrough: " << e.what() << "\n";
    return 2;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);

  sw::RunnerConfig config;
  config.bootstrap_servers = vm["bootstrap-servers"].as<std::string>();
  config.start_at_latest = vm["starting-offsets"].as<std::string>() == "latest";
  const auto clients = sw::stage_client_configs(config, vm["group"].as<std::string>(), false);
  try {
    sw::kafka::Consumer consumer(clients.consumer, nullptr);
    sw::kafka::Producer producer(clients.producer);
    const auto out = producer.topic(vm["output-topic"].as<std::string>());
    if (auto ec = consumer.subscribe({vm["input-topic"].as<std::string>()})) throw std::runtime_error(ec.message());
    std::cout << "running" << std::endl;

    sw::kafka::MessageBatch batch(config.max_poll_records);
    std::unordered_map<std::int32_t, std::int64_t> next;  // partition -> next offset to commit
    const auto& topic = vm["input-topic"].as<std::string>();
    std::string value;
    sw::RecordContext ctx;
    std::uint64_t forwarded = 0;
    auto next_commit = std::chrono::steady_clock::now() + config.commit_interval;
    while (!g_stop.load()) {
      consumer.poll(batch, config.max_poll_records, 20ms);
      for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto m = batch[i];
        if (m.error()) continue;
        ctx.source_partition = m.partition();
        ctx.source_offset = m.offset();
        ctx.event_time = m.timestamp_ms();
        ctx.entry_stream_time = m.timestamp_ms();
        sw::envelope::encode_data(value, ctx);
        value.append(m.value());
        if (auto ec = producer.send(out, sw::kafka::kAnyPartition, m.key(), value)) {
          std::cerr << "streamwright-passthrough: send: " << ec.message() << "\n";
          return 1;
        }
        next[m.partition()] = m.offset() + 1;
        ++forwarded;
      }
      producer.poll_events(0ms);
      const auto now = std::chrono::steady_clock::now();
      if (now >= next_commit && !next.empty()) {
        std::vector<sw::kafka::TopicPartition> offsets;
        for (const auto& [p, o] : next) offsets.push_back({topic, p, sw::Offset::at(o), {}});
        (void)consumer.commit_async(offsets);
        next_commit = now + config.commit_interval;
      }
    }
    (void)producer.flush(10s);
    consumer.close();
    std::cout << "forwarded=" << forwarded << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "streamwright-passthrough: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
