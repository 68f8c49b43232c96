// streamwright-bench-tool: small measuring helpers for bench/crash_monitor_bench.sh.
//
//   offsets  per-partition low/high watermarks of a topic and their total; exit 1 if any low
//            watermark is not 0 (the dev broker dropped data: each mock partition keeps at most
//            5 MiB or 100,000 batches)
//   consume  reads a whole topic with a group-less consumer (all partitions assigned from the
//            beginning) and reports the raw consume rate, timed from the first record to the N-th
//   watch    polls the /metrics endpoints of the entry stage (parse) and the downstream stages
//            every few tens of milliseconds and reports when processing started and finished,
//            with the CPU time (/proc/PID/stat) of the given processes over that interval
//   scan     reads a whole topic and reports its records and bytes, per partition and the
//            largest partition's share (skew); optionally writes the sorted values to a file
//   latency  tails an output topic (and a sample of the input topic's partitions) while a
//            pipeline runs under load and reports latency percentiles: input append to output
//            append, matched through the repartition envelope's source partition/offset, or
//            from the output record's timestamp (the input's, carried through by the stages)
//
// Output lines are `key=value` (after a human-readable header for offsets) so the script can
// read them with grep; diagnostics go to stderr.
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kafka/client.h"
#include "metrics/http_client.h"

namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr const char* kProgram = "streamwright-bench-tool";

int usage() {
  std::cerr << "usage: " << kProgram << " offsets --bootstrap-servers B --topic T\n"
            << "       " << kProgram << " consume --bootstrap-servers B --topic T --expect N [--timeout-s S]\n"
            << "       " << kProgram
            << " watch --parse-port P --aggregate-port P --expect N --repartition-topic T\n"
            << "             [--input-topic logs] [--pid NAME=PID ...] [--interval-ms 50] [--timeout-s 120]\n"
            << "             [--parse-stage parse] [--aggregate-stage aggregate] [--also PORT:STAGE:TOPIC ...]\n"
            << "       " << kProgram << " scan --bootstrap-servers B --topic T [--data-prefix R] [--values-out FILE]\n"
            << "       " << kProgram
            << " latency --bootstrap-servers B --output-topic T [--input-topic I --sample-partitions K]\n"
            << "             [--envelope] [--data-prefix D] [--warmup-s W] [--duration-s D] [--cdf-out FILE]\n"
            << "run '" << kProgram << " COMMAND --help' for the options of a command\n";
  return 2;
}

// Parses the options of a subcommand (argv[2..]); returns an exit code if the caller must stop.
std::optional<int> parse_options(int argc, char** argv, po::options_description& desc, po::variables_map& vm) {
  desc.add_options()("help,h", "show this help");
  try {
    po::store(po::parse_command_line(argc - 1, argv + 1, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << kProgram << " " << argv[1] << ": " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  return std::nullopt;
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// ---------------------------------------------------------------------------------------------
// offsets

int cmd_offsets(int argc, char** argv) {
  po::options_description desc(std::string(kProgram) +
                               " offsets: watermarks of every partition of a topic; exit 1 if data was dropped\n\n"
                               "Options");
  // clang-format off
  desc.add_options()
    ("bootstrap-servers", po::value<std::string>()->required(), "Kafka bootstrap servers")
    ("topic", po::value<std::string>()->required(), "topic to inspect");
  // clang-format on
  po::variables_map vm;
  if (auto rc = parse_options(argc, argv, desc, vm)) return *rc;
  const auto topic = vm["topic"].as<std::string>();

  sw::kafka::Config config;
  config.set(sw::kafka::keys::bootstrap_servers, vm["bootstrap-servers"].as<std::string>());
  config.set(sw::kafka::keys::client_id, "streamwright-bench-tool");
  sw::kafka::Consumer consumer(config, nullptr);
  std::int32_t partitions = 0;
  if (auto ec = consumer.partition_count(topic, partitions, 10s)) {
    std::cerr << kProgram << " offsets: topic " << topic << ": " << ec.message() << "\n";
    return 2;
  }
  std::int64_t records = 0, dropped = 0, high_total = 0;
  int dropped_partitions = 0;
  std::cout << "partition low high\n";
  for (std::int32_t p = 0; p < partitions; ++p) {
    std::int64_t low = 0, high = 0;
    if (auto ec = consumer.query_watermarks(topic, p, low, high, 10s)) {
      std::cerr << kProgram << " offsets: " << topic << " [" << p << "]: " << ec.message() << "\n";
      return 2;
    }
    std::cout << p << " " << low << " " << high << (low != 0 ? "  <- data dropped" : "") << "\n";
    records += high - low;
    high_total += high;
    dropped += low;
    if (low != 0) ++dropped_partitions;
  }
  std::cout << "topic=" << topic << "\npartitions=" << partitions << "\nhigh_total=" << high_total
            << "\nrecords=" << records << "\ndropped=" << dropped << "\ndropped_partitions=" << dropped_partitions
            << "\n";
  if (dropped_partitions > 0) {
    std::cerr << kProgram << " offsets: " << dropped << " records of " << topic << " were dropped by the broker in "
              << dropped_partitions << " partitions (low watermark > 0)\n";
    return 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// consume

int cmd_consume(int argc, char** argv) {
  po::options_description desc(std::string(kProgram) +
                               " consume: read a whole topic from the beginning without a consumer group\n\n"
                               "Options");
  // clang-format off
  desc.add_options()
    ("bootstrap-servers", po::value<std::string>()->required(), "Kafka bootstrap servers")
    ("topic", po::value<std::string>()->required(), "topic to read")
    ("expect", po::value<std::uint64_t>()->required(), "stop after this many records")
    ("max-poll-records", po::value<std::size_t>()->default_value(10000), "records per poll")
    ("timeout-s", po::value<double>()->default_value(60), "give up after this long without a record")
    ("queue-kb", po::value<std::int64_t>()->default_value(1048576), "queued.max.messages.kbytes (read-ahead)")
    ("wake-ms", po::value<int>()->default_value(0), "wake fetching after this long without a record (0: off)");
  // clang-format on
  po::variables_map vm;
  if (auto rc = parse_options(argc, argv, desc, vm)) return *rc;
  const auto topic = vm["topic"].as<std::string>();
  const int wake_ms = vm["wake-ms"].as<int>();
  const auto expect = vm["expect"].as<std::uint64_t>();
  const auto max_poll = vm["max-poll-records"].as<std::size_t>();
  const auto stall = std::chrono::duration<double>(vm["timeout-s"].as<double>());
  if (expect == 0 || max_poll == 0) {
    std::cerr << kProgram << " consume: --expect and --max-poll-records must be positive\n";
    return 2;
  }

  // The settings the dev-broker notes recommend for throughput: short empty-fetch waits and a
  // deep pre-fetch queue (the defaults reach only about a fifth of the rate).
  sw::kafka::Config config;
  config.set(sw::kafka::keys::bootstrap_servers, vm["bootstrap-servers"].as<std::string>());
  config.set(sw::kafka::keys::client_id, "streamwright-bench-tool");
  config.set(sw::kafka::keys::fetch_wait_max_ms, 10);
  config.set(sw::kafka::keys::queued_min_messages, 1000000);
  config.set(sw::kafka::keys::queued_max_messages_kbytes, vm["queue-kb"].as<std::int64_t>());
  sw::kafka::Consumer consumer(config, nullptr);
  std::int32_t partitions = 0;
  if (auto ec = consumer.partition_count(topic, partitions, 10s)) {
    std::cerr << kProgram << " consume: topic " << topic << ": " << ec.message() << "\n";
    return 2;
  }
  std::vector<sw::kafka::TopicPartition> assignment;
  for (std::int32_t p = 0; p < partitions; ++p) assignment.push_back({topic, p, sw::Offset::beginning(), {}});
  if (auto ec = consumer.assign(assignment)) {
    std::cerr << kProgram << " consume: assign: " << ec.message() << "\n";
    return 2;
  }

  sw::kafka::MessageBatch batch(max_poll);
  std::uint64_t records = 0, errors = 0, first_batch = 0, bytes = 0;
  Clock::time_point first{}, last{};
  auto last_progress = Clock::now();
  consumer.set_fetch_wakeup(std::chrono::milliseconds(wake_ms));
  while (records < expect) {
    const auto n = consumer.poll(batch, max_poll, 100ms);
    const auto now = Clock::now();
    std::uint64_t got = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto m = batch[i];
      if (m.error()) {
        ++errors;
        continue;
      }
      bytes += m.value().size() + m.key().size();
      ++got;
    }
    if (got > 0) {
      if (records == 0) {
        first = now;
        first_batch = got;
      }
      records += got;
      last = now;
      last_progress = now;
    } else if (now - last_progress > stall) {
      std::cerr << kProgram << " consume: no record for " << stall.count() << " s; got " << records << " of "
                << expect << "\n";
      std::cout << "records=" << records << "\ncomplete=0\n";
      return 1;
    }
  }
  const double secs = seconds_between(first, last);
  // Records in the first batch arrived at the start of the interval, so they are not part of it.
  const double rate = secs > 0 ? static_cast<double>(records - first_batch) / secs : 0.0;
  std::cout << "records=" << records << "\ncomplete=1\nfirst_batch=" << first_batch << "\nerrors=" << errors
            << "\nbytes=" << bytes << "\nwakes=" << consumer.fetch_wakeups() << "\nseconds=" << secs << "\nrecords_per_s=" << static_cast<std::uint64_t>(rate)
            << "\n";
  return 0;
}

// ---------------------------------------------------------------------------------------------
// scan

int cmd_scan(int argc, char** argv) {
  po::options_description desc(std::string(kProgram) +
                               " scan: records and bytes of a whole topic, per partition, and the largest share\n\n"
                               "Options");
  // clang-format off
  desc.add_options()
    ("bootstrap-servers", po::value<std::string>()->required(), "Kafka bootstrap servers")
    ("topic", po::value<std::string>()->required(), "topic to read")
    ("data-prefix", po::value<std::string>()->default_value(""),
         "count separately the records whose value starts with this (e.g. R: repartition data, not watermarks)")
    ("values-out", po::value<std::string>(), "write every value, sorted, one per line, to this file")
    ("timeout-s", po::value<double>()->default_value(60), "give up after this long");
  // clang-format on
  po::variables_map vm;
  if (auto rc = parse_options(argc, argv, desc, vm)) return *rc;
  const auto topic = vm["topic"].as<std::string>();
  const auto prefix = vm["data-prefix"].as<std::string>();
  sw::kafka::Config config;
  config.set(sw::kafka::keys::bootstrap_servers, vm["bootstrap-servers"].as<std::string>());
  config.set(sw::kafka::keys::client_id, "streamwright-bench-tool");
  config.set(sw::kafka::keys::fetch_wait_max_ms, 10);
  sw::kafka::Consumer consumer(config, nullptr);
  std::int32_t partitions = 0;
  if (auto ec = consumer.partition_count(topic, partitions, 10s)) {
    std::cerr << kProgram << " scan: topic " << topic << ": " << ec.message() << "\n";
    return 2;
  }
  std::vector<std::int64_t> high(static_cast<std::size_t>(partitions)), next(high.size(), 0);
  std::vector<sw::kafka::TopicPartition> assignment;
  std::int64_t dropped = 0;
  for (std::int32_t p = 0; p < partitions; ++p) {
    std::int64_t low = 0;
    if (auto ec = consumer.query_watermarks(topic, p, low, high[static_cast<std::size_t>(p)], 10s)) {
      std::cerr << kProgram << " scan: " << ec.message() << "\n";
      return 2;
    }
    dropped += low;
    next[static_cast<std::size_t>(p)] = low;
    assignment.push_back({topic, p, sw::Offset::beginning(), {}});
  }
  if (auto ec = consumer.assign(assignment)) {
    std::cerr << kProgram << " scan: assign: " << ec.message() << "\n";
    return 2;
  }
  std::vector<std::uint64_t> records(high.size(), 0), bytes(high.size(), 0), data(high.size(), 0);
  std::vector<std::string> values;
  const bool keep = vm.count("values-out") > 0;
  sw::kafka::MessageBatch batch(10000);
  const auto deadline = Clock::now() + std::chrono::duration<double>(vm["timeout-s"].as<double>());
  auto done = [&] {
    for (std::size_t p = 0; p < high.size(); ++p)
      if (next[p] < high[p]) return false;
    return true;
  };
  while (!done()) {
    if (Clock::now() > deadline) {
      std::cerr << kProgram << " scan: timed out reading " << topic << "\n";
      return 1;
    }
    const auto n = consumer.poll(batch, 10000, 100ms);
    for (std::size_t i = 0; i < n; ++i) {
      const auto m = batch[i];
      if (m.error()) continue;
      const auto p = static_cast<std::size_t>(m.partition());
      next[p] = m.offset() + 1;
      ++records[p];
      bytes[p] += m.key().size() + m.value().size();
      if (!prefix.empty() && m.value().substr(0, prefix.size()) == prefix) ++data[p];
      if (keep) values.emplace_back(m.value());
    }
  }
  batch.clear();
  std::uint64_t total_records = 0, total_bytes = 0, total_data = 0, max_records = 0, max_bytes = 0, max_data = 0;
  for (std::size_t p = 0; p < high.size(); ++p) {
    total_records += records[p];
    total_bytes += bytes[p];
    total_data += data[p];
    max_records = std::max(max_records, records[p]);
    max_bytes = std::max(max_bytes, bytes[p]);
    max_data = std::max(max_data, data[p]);
  }
  auto share = [](std::uint64_t part, std::uint64_t total) { return total ? static_cast<double>(part) / static_cast<double>(total) : 0.0; };
  std::printf("topic=%s\npartitions=%d\nrecords=%llu\nbytes=%llu\ndata_records=%llu\ndropped=%lld\n", topic.c_str(),
              partitions, static_cast<unsigned long long>(total_records), static_cast<unsigned long long>(total_bytes),
              static_cast<unsigned long long>(total_data), static_cast<long long>(dropped));
  std::printf("max_partition_record_share=%.4f\nmax_partition_byte_share=%.4f\nmax_partition_data_share=%.4f\n",
              share(max_records, total_records), share(max_bytes, total_bytes), share(max_data, total_data));
  if (keep) {
    std::sort(values.begin(), values.end());
    std::ofstream out(vm["values-out"].as<std::string>());
    for (const auto& v : values) out << v << '\n';
    if (!out) {
      std::cerr << kProgram << " scan: cannot write " << vm["values-out"].as<std::string>() << "\n";
      return 2;
    }
  }
  return dropped > 0 ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// watch

// GET http://127.0.0.1:port/path; the body, or nullopt unless the server answered 200.
std::optional<std::string> http_get(std::uint16_t port, const char* path) {
  auto r = sw::metrics::http_get(port, path, std::chrono::milliseconds(2000));
  if (r.status != 200) return std::nullopt;
  return std::move(r.body);
}

// Sum of the samples of a metric whose labels include every given name="value" pair; nullopt if
// no sample matches (the metric does not exist yet).
std::optional<double> metric(std::string_view text, std::string_view name,
                             const std::vector<std::pair<std::string, std::string>>& labels) {
  std::optional<double> sum;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const auto line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty() || line[0] == '#' || line.substr(0, name.size()) != name) continue;
    const auto rest = line.substr(name.size());
    if (rest.empty() || (rest[0] != '{' && rest[0] != ' ')) continue;
    std::string_view label_text;
    if (rest[0] == '{') {
      const auto close = rest.find('}');
      if (close == std::string_view::npos) continue;
      label_text = rest.substr(1, close - 1);
    }
    bool match = true;
    for (const auto& [k, v] : labels) {
      const std::string want = k + "=\"" + v + "\"";
      // Labels are comma-separated; match whole entries only.
      bool found = false;
      for (std::size_t at = label_text.find(want); at != std::string_view::npos; at = label_text.find(want, at + 1)) {
        const bool starts = at == 0 || label_text[at - 1] == ',';
        const bool ends = at + want.size() == label_text.size() || label_text[at + want.size()] == ',';
        if (starts && ends) {
          found = true;
          break;
        }
      }
      if (!found) {
        match = false;
        break;
      }
    }
    if (!match) continue;
    const auto sp = line.rfind(' ');
    try {
      const double value = std::stod(std::string(line.substr(sp + 1)));
      sum = sum.value_or(0.0) + value;
    } catch (const std::exception&) {
    }
  }
  return sum;
}

// utime + stime of a process in clock ticks (fields 14 and 15 of /proc/PID/stat), or -1.
long long cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return -1;
  const auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(text.substr(close + 2));
  // Fields from 3 (state) on; utime and stime are fields 14 and 15.
  std::string field;
  for (int i = 3; i < 14; ++i)
    if (!(rest >> field)) return -1;
  long long utime = 0, stime = 0;
  if (!(rest >> utime >> stime)) return -1;
  return utime + stime;
}

// Busy time of the whole machine in clock ticks: the first line of /proc/stat minus idle and
// iowait (guest time is already part of user and nice), or -1.
long long machine_busy_ticks() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  long long v[8] = {};
  if (!(in >> cpu) || cpu != "cpu") return -1;
  for (auto& x : v)
    if (!(in >> x)) return -1;
  // user nice system idle iowait irq softirq steal
  return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

struct Sample {
  Clock::time_point t;
  bool parse_ok = false, aggregate_ok = false;
  double parse_consumed = 0;       // records of the input topic consumed by parse
  double parse_produced = 0;       // data records parse sent to the repartition topic
  double parse_dead_letters = 0;
  double parse_batch_seconds = 0;  // sum of streamwright_batch_processing_seconds
  double aggregate_consumed = 0;   // records of the repartition topic consumed (data + watermarks)
  std::optional<double> aggregate_lag;  // kafka_consumergroup_lag summed over the repartition topic
  double aggregate_batch_seconds = 0;
  std::vector<double> also_produced, also_consumed;  // per --also stage: parse's output to it, its input
  bool also_ok = true;
  std::vector<long long> cpu;
  long long self_cpu = 0;     // this tool
  long long machine_busy = 0; // all CPUs, all processes (/proc/stat)
};

int cmd_watch(int argc, char** argv) {
  po::options_description desc(
      std::string(kProgram) +
      " watch: time the crash-monitor stages from their metrics\n\n"
      "Polls both /metrics endpoints. Processing starts at the last sample in which parse had\n"
      "consumed nothing, the parse stage is done at the first sample in which it has consumed\n"
      "--expect records, and the pipeline is done at the first sample in which, in addition, the\n"
      "aggregate has consumed at least as many records of the repartition topic as parse sent\n"
      "there. The aggregate's lag (kafka_consumergroup_lag summed over the topic's partitions)\n"
      "is recomputed only once a second, so it is checked once it has been refreshed after the\n"
      "end: it must be 0. The aggregate's count includes parse's watermark records (a few per\n"
      "100 ms), so the end may be early by the delivery of that many data records (milliseconds).\n\n"
      "Options");
  // clang-format off
  desc.add_options()
    ("parse-port", po::value<std::vector<unsigned>>()->required()->composing(),
         "metrics port of the parse stage (repeatable: replicas, summed)")
    ("aggregate-port", po::value<std::vector<unsigned>>()->required()->composing(),
         "metrics port of the aggregate stage (repeatable: replicas, summed)")
    ("expect", po::value<std::uint64_t>()->required(), "records of the input topic")
    ("input-topic", po::value<std::string>()->default_value("logs"), "input topic of parse")
    ("repartition-topic", po::value<std::string>()->required(), "topic from parse to aggregate")
    ("pid", po::value<std::vector<std::string>>()->composing(), "NAME=PID of a process whose CPU time to measure (repeatable)")
    ("interval-ms", po::value<unsigned>()->default_value(50), "sampling interval")
    ("timeout-s", po::value<double>()->default_value(120), "give up after this long")
    ("trace", po::value<std::string>(), "write every sample to this file (tab-separated)")
    ("parse-stage", po::value<std::string>()->default_value("parse"), "stage label of the entry stage")
    ("aggregate-stage", po::value<std::string>()->default_value("aggregate"), "stage label of the downstream stage")
    ("lag-tolerance", po::value<unsigned>()->default_value(0),
         "records of lag accepted at the check after the end (the entry stage's watermark heartbeats, one per\n"
         "repartition partition and second, can be in flight then)")
    ("also", po::value<std::vector<std::string>>()->composing(),
         "PORT:STAGE:TOPIC of a further downstream stage that must also have caught up (repeatable)");
  // clang-format on
  po::variables_map vm;
  if (auto rc = parse_options(argc, argv, desc, vm)) return *rc;
  const auto parse_stage = vm["parse-stage"].as<std::string>();
  const auto aggregate_stage = vm["aggregate-stage"].as<std::string>();
  struct Also {
    std::uint16_t port;
    std::string stage, topic;
  };
  std::vector<Also> also;
  if (vm.count("also")) {
    for (const auto& a : vm["also"].as<std::vector<std::string>>()) {
      const auto c1 = a.find(':'), c2 = a.find(':', c1 == std::string::npos ? 0 : c1 + 1);
      try {
        if (c1 == std::string::npos || c2 == std::string::npos) throw std::invalid_argument(a);
        also.push_back({static_cast<std::uint16_t>(std::stoul(a.substr(0, c1))), a.substr(c1 + 1, c2 - c1 - 1),
                        a.substr(c2 + 1)});
      } catch (const std::exception&) {
        std::cerr << kProgram << " watch: --also expects PORT:STAGE:TOPIC, got '" << a << "'\n";
        return 2;
      }
    }
  }
  std::ofstream trace;
  if (vm.count("trace")) {
    trace.open(vm["trace"].as<std::string>());
    if (!trace) {
      std::cerr << kProgram << " watch: cannot write " << vm["trace"].as<std::string>() << "\n";
      return 2;
    }
  }
  const auto parse_ports = vm["parse-port"].as<std::vector<unsigned>>();
  const auto aggregate_ports = vm["aggregate-port"].as<std::vector<unsigned>>();
  for (const auto port : parse_ports)
    if (port == 0 || port > 65535) {
      std::cerr << kProgram << " watch: ports must be between 1 and 65535\n";
      return 2;
    }
  for (const auto port : aggregate_ports)
    if (port == 0 || port > 65535) {
      std::cerr << kProgram << " watch: ports must be between 1 and 65535\n";
      return 2;
    }
  const double expect = static_cast<double>(vm["expect"].as<std::uint64_t>());
  const auto input = vm["input-topic"].as<std::string>();
  const auto repartition = vm["repartition-topic"].as<std::string>();
  const auto interval = std::chrono::milliseconds(vm["interval-ms"].as<unsigned>());
  const auto timeout = std::chrono::duration<double>(vm["timeout-s"].as<double>());
  std::vector<std::pair<std::string, pid_t>> pids;
  if (vm.count("pid")) {
    for (const auto& s : vm["pid"].as<std::vector<std::string>>()) {
      const auto eq = s.find('=');
      try {
        if (eq == std::string::npos || eq == 0) throw std::invalid_argument(s);
        pids.emplace_back(s.substr(0, eq), static_cast<pid_t>(std::stol(s.substr(eq + 1))));
      } catch (const std::exception&) {
        std::cerr << kProgram << " watch: --pid expects NAME=PID, got '" << s << "'\n";
        return 2;
      }
    }
  }

  auto take = [&]() {
    Sample s;
    // CPU first, then the metrics: the pair belongs to the same instant within a millisecond.
    for (const auto& [name, pid] : pids) s.cpu.push_back(cpu_ticks(pid));
    s.self_cpu = cpu_ticks(::getpid());
    s.machine_busy = machine_busy_ticks();
    s.t = Clock::now();
    // Replicas: every counter is summed over their endpoints; a sample is good when all answered.
    s.parse_ok = true;
    s.also_produced.assign(also.size(), 0.0);
    for (const auto port : parse_ports) {
      const auto text = http_get(static_cast<std::uint16_t>(port), "/metrics");
      if (!text) {
        s.parse_ok = false;
        continue;
      }
      s.parse_consumed +=
          metric(*text, "streamwright_records_consumed_total", {{"stage", parse_stage}, {"topic", input}}).value_or(0);
      s.parse_produced +=
          metric(*text, "streamwright_records_produced_total", {{"stage", parse_stage}, {"topic", repartition}})
              .value_or(0);
      s.parse_dead_letters += metric(*text, "streamwright_dead_letter_records_total", {{"stage", parse_stage}}).value_or(0);
      s.parse_batch_seconds +=
          metric(*text, "streamwright_batch_processing_seconds_sum", {{"stage", parse_stage}}).value_or(0);
      for (std::size_t i = 0; i < also.size(); ++i)
        s.also_produced[i] +=
            metric(*text, "streamwright_records_produced_total", {{"stage", parse_stage}, {"topic", also[i].topic}})
                .value_or(0);
    }
    for (const auto& a : also) {
      const auto text = http_get(a.port, "/metrics");
      if (!text) s.also_ok = false;
      s.also_consumed.push_back(
          text ? metric(*text, "streamwright_records_consumed_total", {{"stage", a.stage}, {"topic", a.topic}}).value_or(0)
               : 0);
    }
    s.aggregate_ok = true;
    for (const auto port : aggregate_ports) {
      const auto text = http_get(static_cast<std::uint16_t>(port), "/metrics");
      if (!text) {
        s.aggregate_ok = false;
        continue;
      }
      s.aggregate_consumed +=
          metric(*text, "streamwright_records_consumed_total", {{"stage", aggregate_stage}, {"topic", repartition}})
              .value_or(0);
      // Summed over the per-partition series (partitions whose watermarks the consumer has not
      // seen yet have none), and over the replicas.
      if (const auto lag = metric(*text, "kafka_consumergroup_lag", {{"topic", repartition}}))
        s.aggregate_lag = s.aggregate_lag.value_or(0.0) + *lag;
      s.aggregate_batch_seconds +=
          metric(*text, "streamwright_batch_processing_seconds_sum", {{"stage", aggregate_stage}}).value_or(0);
    }
    return s;
  };

  const auto begin = Clock::now();
  std::optional<Sample> start, parse_done, end;
  Sample last_zero, s;
  bool have_zero = false;
  // Pauses of parse: stretches of at least 100 ms in which its consumed count did not grow.
  constexpr auto kStall = 100ms;
  Clock::time_point last_progress_t{};
  double last_consumed = 0, stall_seconds = 0;
  int stalls = 0;
  std::size_t samples = 0;
  auto next = Clock::now();
  while (true) {
    s = take();
    ++samples;
    if (trace.is_open()) {
      if (samples == 1) {
        trace << "t_s\tparse_consumed\tparse_produced\tparse_batch_s\taggregate_consumed\taggregate_lag";
        for (const auto& [name, pid] : pids) trace << "\tcpu_ticks_" << name;
        trace << "\tmachine_busy_ticks\n";
      }
      trace << seconds_between(begin, s.t) << '\t' << s.parse_consumed << '\t' << s.parse_produced << '\t'
            << s.parse_batch_seconds << '\t' << s.aggregate_consumed << '\t'
            << (s.aggregate_lag ? std::to_string(static_cast<long long>(*s.aggregate_lag)) : std::string("-"));
      for (const auto c : s.cpu) trace << '\t' << c;
      trace << '\t' << s.machine_busy << '\n';
    }
    if (s.parse_ok && s.parse_consumed == 0) {
      last_zero = s;
      have_zero = true;
    }
    if (!start && s.parse_ok && s.parse_consumed > 0) {
      if (!have_zero) {
        std::cerr << kProgram << " watch: parse had consumed records before the first sample; start watching "
                     "before it joins its group\n";
        return 1;
      }
      start = last_zero;
    }
    if (start && !parse_done && s.parse_ok) {
      if (s.parse_consumed > last_consumed) {
        if (last_progress_t != Clock::time_point{} && s.t - last_progress_t >= kStall + interval) {
          // The pause ended somewhere in the last interval: count it from the last progress
          // sample to the one before this one.
          stall_seconds += seconds_between(last_progress_t, s.t) - std::chrono::duration<double>(interval).count();
          ++stalls;
        }
        last_consumed = s.parse_consumed;
        last_progress_t = s.t;
      }
    }
    if (start && !parse_done && s.parse_consumed >= expect) parse_done = s;
    // Not the lag gauge: it is recomputed once a second, so a stale non-zero value would add up
    // to a second (and a stale zero could end the interval early).
    bool also_done = s.also_ok && s.parse_ok;
    for (std::size_t i = 0; also_done && i < also.size(); ++i)
      also_done = s.also_consumed[i] >= s.also_produced[i];
    if (parse_done && s.parse_ok && s.aggregate_ok && s.aggregate_consumed >= s.parse_produced && also_done) {
      end = s;
      break;
    }
    if (Clock::now() - begin > timeout) {
      std::cerr << kProgram << " watch: timed out after " << timeout.count() << " s: parse consumed "
                << s.parse_consumed << " of " << expect << ", aggregate consumed " << s.aggregate_consumed
                << " of the repartition topic, lag "
                << (s.aggregate_lag ? std::to_string(*s.aggregate_lag) : std::string("unknown")) << "\n";
      std::cout << "complete=0\nparse_consumed=" << static_cast<std::uint64_t>(s.parse_consumed) << "\n";
      return 1;
    }
    next += interval;
    const auto now = Clock::now();
    if (next > now)
      std::this_thread::sleep_until(next);
    else
      next = now;  // a slow scrape: do not try to catch up with a burst
  }

  // The lag gauge is recomputed once a second: confirm it on a value computed after the end.
  std::this_thread::sleep_for(1300ms);
  const Sample check = take();
  const double lag_tolerance = vm["lag-tolerance"].as<unsigned>();
  const bool lag_confirmed = check.aggregate_ok && check.aggregate_lag && *check.aggregate_lag <= lag_tolerance;

  auto out = [](const char* key, double v) { std::printf("%s=%.6f\n", key, v); };
  std::printf("complete=1\nsamples=%zu\n", samples);
  out("start_s", seconds_between(begin, start->t));
  out("parse_seconds", seconds_between(start->t, parse_done->t));
  out("e2e_seconds", seconds_between(start->t, end->t));
  std::printf("parse_consumed=%.0f\nparse_consumed_final=%.0f\n", parse_done->parse_consumed, check.parse_consumed);
  std::printf("parse_dead_letters=%.0f\n", check.parse_dead_letters);
  std::printf("repartition_produced=%.0f\naggregate_consumed=%.0f\n", end->parse_produced, end->aggregate_consumed);
  std::printf("aggregate_lag_confirmed=%d\n", lag_confirmed ? 1 : 0);
  out("parse_batch_seconds", end->parse_batch_seconds - start->parse_batch_seconds);
  std::printf("parse_stalls=%d\n", stalls);
  out("parse_stall_seconds", stall_seconds);
  out("aggregate_batch_seconds", end->aggregate_batch_seconds - start->aggregate_batch_seconds);
  for (std::size_t i = 0; i < pids.size(); ++i) {
    const auto a = start->cpu[i], b = end->cpu[i];
    std::printf("cpu_ticks_%s=%lld\n", pids[i].first.c_str(), a >= 0 && b >= 0 ? b - a : -1LL);
    const auto c = parse_done->cpu[i];
    std::printf("cpu_ticks_parse_phase_%s=%lld\n", pids[i].first.c_str(), a >= 0 && c >= 0 ? c - a : -1LL);
  }
  std::printf("cpu_ticks_watch=%lld\n", end->self_cpu - start->self_cpu);
  std::printf("cpu_ticks_machine=%lld\n", start->machine_busy >= 0 && end->machine_busy >= 0
                                              ? end->machine_busy - start->machine_busy
                                              : -1LL);
  if (!lag_confirmed) {
    std::cerr << kProgram << " watch: the aggregate's lag on " << repartition << " was "
              << (check.aggregate_lag ? std::to_string(*check.aggregate_lag) : std::string("unknown"))
              << " after its refresh\n";
    return 1;
  }
  return 0;
}


// ---------------------------------------------------------------------------------------------
// latency

std::int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Percentile (0..1) of sorted values, nearest rank.
double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0.0;
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

void print_percentiles(const char* prefix, std::vector<double>& v) {
  std::sort(v.begin(), v.end());
  std::printf("%s_samples=%zu\n", prefix, v.size());
  if (v.empty()) return;
  double sum = 0;
  for (const auto x : v) sum += x;
  std::printf("%s_mean_ms=%.3f\n%s_p50_ms=%.3f\n%s_p90_ms=%.3f\n%s_p99_ms=%.3f\n%s_p999_ms=%.3f\n%s_max_ms=%.3f\n",
              prefix, sum / static_cast<double>(v.size()), prefix, percentile(v, 0.5), prefix, percentile(v, 0.9), prefix,
              percentile(v, 0.99), prefix, percentile(v, 0.999), prefix, v.back());
}

int cmd_latency(int argc, char** argv) {
  po::options_description desc(
      std::string(kProgram) +
      " latency: latency of a running pipeline, from its input and output topics\n\n"
      "Tails the output topic from its end (and, with --input-topic, partitions 0..K-1 of the\n"
      "input topic) with one group-less consumer and notes when each record becomes visible\n"
      "(wall clock, microseconds). With --envelope, each output data record names its source\n"
      "partition and offset (repartition envelope): its latency is its visibility minus that\n"
      "input record's visibility, both seen by this consumer (append to append; the consumer's\n"
      "own fetch delay applies to both ends). Every output record also gives visibility minus\n"
      "its record timestamp (the stages carry the input's timestamp, the producer's CreateTime,\n"
      "to their outputs): ts_* (includes the input producer's batching, see input_delay_*).\n\n"
      "Options");
  // clang-format off
  desc.add_options()
    ("bootstrap-servers", po::value<std::string>()->required(), "Kafka bootstrap servers")
    ("output-topic", po::value<std::string>()->required(), "topic the stage writes")
    ("input-topic", po::value<std::string>(), "topic the stage reads (for envelope matching)")
    ("sample-partitions", po::value<int>()->default_value(8), "input partitions tailed (0..K-1)")
    ("source-topic-index", po::value<int>()->default_value(0), "envelope source topic id of --input-topic")
    ("envelope", "output records are repartition envelopes (data records start with 'D')")
    ("data-prefix", po::value<std::string>()->default_value(""), "count only output values starting with this")
    ("warmup-s", po::value<double>()->default_value(2), "records seen before this are not counted")
    ("duration-s", po::value<double>()->default_value(10), "measure this long after the warm-up")
    ("fetch-wait-ms", po::value<int>()->default_value(2), "fetch.wait.max.ms of the tailing consumer")
    ("poll-ms", po::value<int>()->default_value(1), "batch poll timeout (records are stamped when it returns)")
    ("isolation-level", po::value<std::string>()->default_value("read_uncommitted"), "read_committed under exactly-once")
    ("cdf-out", po::value<std::string>(), "write the latency CDF (ms, fraction; up to 1000 points) here")
    ("match-topic", po::value<std::string>(),
         "a downstream stage's output (alerts, aggregates) whose records carry the key and record timestamp\n"
         "of their trigger on --output-topic: matched on (key, timestamp) to time that stage (stage2_*) and,\n"
         "through the trigger's envelope, the whole path from input append (e2e_*)")
    ("match-cdf-out", po::value<std::string>(), "write the e2e_* latency CDF here");
  // clang-format on
  po::variables_map vm;
  if (auto rc = parse_options(argc, argv, desc, vm)) return *rc;
  const auto out_topic = vm["output-topic"].as<std::string>();
  const bool envelope = vm.count("envelope") > 0;
  const auto prefix = vm["data-prefix"].as<std::string>();
  const auto src_index = vm["source-topic-index"].as<int>();
  const auto poll_ms = vm["poll-ms"].as<int>();
  const bool with_input = vm.count("input-topic") > 0;
  const auto in_topic = with_input ? vm["input-topic"].as<std::string>() : std::string();

  sw::kafka::Config config;
  config.set(sw::kafka::keys::bootstrap_servers, vm["bootstrap-servers"].as<std::string>());
  config.set(sw::kafka::keys::client_id, "streamwright-bench-tool-latency");
  config.set(sw::kafka::keys::fetch_wait_max_ms, vm["fetch-wait-ms"].as<int>());
  config.set(sw::kafka::keys::isolation_level, vm["isolation-level"].as<std::string>());
  sw::kafka::Consumer consumer(config, nullptr);
  std::vector<sw::kafka::TopicPartition> assignment;
  std::int32_t out_parts = 0, in_parts = 0;
  if (auto ec = consumer.partition_count(out_topic, out_parts, 10s)) {
    std::cerr << kProgram << " latency: topic " << out_topic << ": " << ec.message() << "\n";
    return 2;
  }
  for (std::int32_t p = 0; p < out_parts; ++p) assignment.push_back({out_topic, p, sw::Offset::end(), {}});
  const bool with_match = vm.count("match-topic") > 0;
  const auto match_topic = with_match ? vm["match-topic"].as<std::string>() : std::string();
  if (with_match) {
    std::int32_t parts = 0;
    if (auto ec = consumer.partition_count(match_topic, parts, 10s)) {
      std::cerr << kProgram << " latency: topic " << match_topic << ": " << ec.message() << "\n";
      return 2;
    }
    for (std::int32_t p = 0; p < parts; ++p) assignment.push_back({match_topic, p, sw::Offset::end(), {}});
  }
  if (with_input) {
    if (auto ec = consumer.partition_count(in_topic, in_parts, 10s)) {
      std::cerr << kProgram << " latency: topic " << in_topic << ": " << ec.message() << "\n";
      return 2;
    }
    in_parts = std::min(in_parts, vm["sample-partitions"].as<int>());
    for (std::int32_t p = 0; p < in_parts; ++p) assignment.push_back({in_topic, p, sw::Offset::end(), {}});
  }
  if (auto ec = consumer.assign(assignment)) {
    std::cerr << kProgram << " latency: assign: " << ec.message() << "\n";
    return 2;
  }

  // Input visibility per (partition, offset), and output observations to match at the end.
  std::unordered_map<std::uint64_t, std::int64_t> input_seen;
  struct Out {
    std::uint64_t source;
    std::int64_t seen_us;
  };
  std::vector<Out> outputs;
  // Trigger records on the output topic by key and timestamp: when visible and their source.
  struct Trigger {
    std::int64_t seen_us;
    std::uint64_t source;  // (partition << 40 | offset) of the input record, or UINT64_MAX
  };
  std::unordered_map<std::string, Trigger> triggers;
  struct Downstream {
    std::string id;
    std::int64_t seen_us;
  };
  std::vector<Downstream> downstream;
  std::uint64_t match_total = 0;
  auto trigger_id = [](std::string_view key, std::int64_t ts) {
    std::string id(key);
    id += '\0';
    id += std::to_string(ts);
    return id;
  };
  std::vector<double> ts_lat, input_delay;
  std::uint64_t out_total = 0, out_counted = 0, foreign = 0, input_total = 0;
  const auto start = Clock::now();
  const auto warm = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(vm["warmup-s"].as<double>()));
  const auto stop = warm + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(vm["duration-s"].as<double>()));
  sw::kafka::MessageBatch batch(10000);
  while (Clock::now() < stop) {
    // A short wait: librdkafka's batch poll holds records until the batch is full or the timeout
    // ends, and each record is stamped when the poll returns.
    const auto n = consumer.poll(batch, 10000, std::chrono::milliseconds(poll_ms));
    const auto now_us = wall_us();
    const bool counting = Clock::now() >= warm;
    for (std::size_t i = 0; i < n; ++i) {
      const auto m = batch[i];
      if (m.error()) continue;
      if (with_input && m.topic() == in_topic) {
        ++input_total;
        input_seen[(static_cast<std::uint64_t>(m.partition()) << 40) | static_cast<std::uint64_t>(m.offset())] = now_us;
        if (counting && m.timestamp_ms() > 0)
          input_delay.push_back(static_cast<double>(now_us - m.timestamp_ms() * 1000) / 1000.0);
        continue;
      }
      if (with_match && m.topic() == match_topic) {
        ++match_total;
        if (counting && m.timestamp_ms() > 0) downstream.push_back({trigger_id(m.key(), m.timestamp_ms()), now_us});
        continue;
      }
      ++out_total;
      const auto v = m.value();
      if (!prefix.empty() && v.substr(0, prefix.size()) != prefix) continue;
      if (envelope && (v.empty() || v[0] != 'D')) continue;
      if (!counting) continue;
      ++out_counted;
      if (m.timestamp_ms() > 0) ts_lat.push_back(static_cast<double>(now_us - m.timestamp_ms() * 1000) / 1000.0);
      if (envelope && with_input && v.size() >= 1 + 2 + 4 + 8) {
        std::uint16_t topic_id = 0;
        std::int32_t sp = 0;
        std::int64_t so = 0;
        std::memcpy(&topic_id, v.data() + 1, 2);  // little-endian, as shared/common/bytes.h writes it
        std::memcpy(&sp, v.data() + 3, 4);
        std::memcpy(&so, v.data() + 7, 8);
        if (topic_id != src_index) {
          ++foreign;
          continue;
        }
        const auto source = (static_cast<std::uint64_t>(sp) << 40) | static_cast<std::uint64_t>(so);
        if (sp < in_parts) outputs.push_back({source, now_us});
        if (with_match) triggers[trigger_id(m.key(), m.timestamp_ms())] = {now_us, sp < in_parts ? source : UINT64_MAX};
      }
    }
  }
  batch.clear();
  std::vector<double> lat;
  std::uint64_t unmatched = 0, negative = 0;
  for (const auto& o : outputs) {
    const auto it = input_seen.find(o.source);
    if (it == input_seen.end()) {
      ++unmatched;
      continue;
    }
    const double ms = static_cast<double>(o.seen_us - it->second) / 1000.0;
    if (ms < 0) ++negative;
    lat.push_back(ms);
  }
  std::printf("output_records=%llu\noutput_counted=%llu\ninput_sampled=%llu\ninput_partitions_sampled=%d\n",
              static_cast<unsigned long long>(out_total), static_cast<unsigned long long>(out_counted),
              static_cast<unsigned long long>(input_total), in_parts);
  std::printf("unmatched=%llu\nnegative=%llu\nforeign=%llu\n", static_cast<unsigned long long>(unmatched),
              static_cast<unsigned long long>(negative), static_cast<unsigned long long>(foreign));
  print_percentiles("match", lat);
  if (with_match) {
    // Downstream records seen before their trigger's warm-up cut are not in the map: unmatched.
    std::vector<double> stage2, e2e;
    std::uint64_t match_unmatched = 0;
    for (const auto& d : downstream) {
      const auto t = triggers.find(d.id);
      if (t == triggers.end()) {
        ++match_unmatched;
        continue;
      }
      stage2.push_back(static_cast<double>(d.seen_us - t->second.seen_us) / 1000.0);
      if (t->second.source == UINT64_MAX) continue;
      const auto in = input_seen.find(t->second.source);
      if (in != input_seen.end()) e2e.push_back(static_cast<double>(d.seen_us - in->second) / 1000.0);
    }
    std::printf("match_topic_records=%llu\nmatch_topic_unmatched=%llu\n", static_cast<unsigned long long>(match_total),
                static_cast<unsigned long long>(match_unmatched));
    print_percentiles("stage2", stage2);
    print_percentiles("e2e", e2e);
    if (vm.count("match-cdf-out")) {
      std::ofstream cdf(vm["match-cdf-out"].as<std::string>());
      const std::size_t points = std::min<std::size_t>(e2e.size(), 1000);
      for (std::size_t k = 0; k < points; ++k) {
        const double q = points > 1 ? static_cast<double>(k) / static_cast<double>(points - 1) : 1.0;
        cdf << percentile(e2e, std::max(q, 1e-9)) << '\t' << q << '\n';
      }
    }
  }
  print_percentiles("ts", ts_lat);
  print_percentiles("input_delay", input_delay);
  if (vm.count("cdf-out")) {
    const auto& v = envelope && with_input ? lat : ts_lat;
    std::ofstream cdf(vm["cdf-out"].as<std::string>());
    const std::size_t points = std::min<std::size_t>(v.size(), 1000);
    for (std::size_t k = 0; k < points; ++k) {
      const double q = points > 1 ? static_cast<double>(k) / static_cast<double>(points - 1) : 1.0;
      cdf << percentile(v, std::max(q, 1e-9)) << '\t' << q << '\n';
    }
    if (!cdf) {
      std::cerr << kProgram << " latency: cannot write " << vm["cdf-out"].as<std::string>() << "\n";
      return 2;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // The Kafka wrapper logs through spdlog's default logger: keep stdout for results.
  spdlog::set_default_logger(spdlog::stderr_color_mt("bench-tool"));
  spdlog::set_level(spdlog::level::warn);
  if (argc < 2) return usage();
  const std::string cmd = argv[1];
  try {
    if (cmd == "offsets") return cmd_offsets(argc, argv);
    if (cmd == "consume") return cmd_consume(argc, argv);
    if (cmd == "watch") return cmd_watch(argc, argv);
    if (cmd == "scan") return cmd_scan(argc, argv);
    if (cmd == "latency") return cmd_latency(argc, argv);
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
      usage();
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << kProgram << " " << cmd << ": " << e.what() << "\n";
    return 2;
  }
  return usage();
}
