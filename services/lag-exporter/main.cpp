// streamwright-lag-exporter: consumer-group lag for any Kafka (and the dev broker), with
// kafka_exporter's metric names. The collection (committed offsets and watermarks only) is
// shared with the console: shared/lag/collector.h.
#include <boost/program_options.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "service/options.h"
#include "common/duration.h"
#include "common/time.h"
#include "kafka/client.h"
#include "lag/collector.h"
#include "metrics/metrics.h"
#include "metrics/rates.h"
#include "service/shell.h"
#include "topologies/registry.h"

namespace po = boost::program_options;
using namespace std::chrono_literals;

namespace {

// Publishes each collection as kafka_exporter's metrics, with the append rate per topic.
class Exporter {
 public:
  Exporter(std::string bootstrap, sw::kafka::Config extra, std::vector<sw::lag::GroupSpec> groups, sw::metrics::Registry& r)
      : collector_(std::move(bootstrap), std::move(extra), std::move(groups), "streamwright-lag-exporter"), registry_(r) {
    scrapes_ = &r.counter("streamwright_lag_exporter_collections_total", "Completed lag collections");
    errors_ = &r.counter("streamwright_lag_exporter_errors_total", "Failed broker requests during collection");
    duration_ = &r.gauge("streamwright_lag_exporter_collection_seconds", "Duration of the last collection");
  }

  bool collect() {
    const auto c = collector_.collect();
    for (const auto& w : c.warnings) spdlog::warn("lag: {}", w);
    errors_->inc(c.failed_requests);
    publish(c);
    scrapes_->inc();
    duration_->set(c.seconds);
    if (c.ok()) last_ok_.store(std::chrono::steady_clock::now().time_since_epoch().count());
    return c.ok();
  }

  // From any thread: a collection in progress returns after its current request.
  void cancel() noexcept { collector_.cancel(); }

  bool healthy(std::chrono::milliseconds interval) const {
    const auto last = std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(last_ok_.load()));
    return std::chrono::steady_clock::now() - last < interval * 3 + 10s;
  }

 private:
  void publish(const sw::lag::Collection& c) {
    using sw::metrics::labels;
    const auto now = sw::wall_clock_ms();
    std::vector<std::pair<std::string, double>> lag, lag_seconds, current, topic_current, topic_oldest, sum;
    std::map<std::pair<std::string, std::string>, double> sums;
    std::set<std::pair<std::string, std::int32_t>> topic_seen;
    std::map<std::string, double> appended;
    for (const auto& r : c.partitions) {
      const auto p = std::to_string(r.partition);
      const auto l = labels({{"consumergroup", r.group}, {"topic", r.topic}, {"partition", p}});
      // No commit yet: everything retained is unconsumed (kafka_exporter reports the offset as -1).
      const double records = static_cast<double>(r.lag_records());
      lag.emplace_back(l, records);
      current.emplace_back(l, static_cast<double>(r.committed >= 0 ? r.committed : -1));
      sums[{r.group, r.topic}] += records;
      if (const auto seconds = r.lag_seconds(now)) lag_seconds.emplace_back(l, *seconds);
      if (topic_seen.emplace(r.topic, r.partition).second) {
        const auto tl = labels({{"topic", r.topic}, {"partition", p}});
        topic_current.emplace_back(tl, static_cast<double>(r.high));
        topic_oldest.emplace_back(tl, static_cast<double>(r.low));
        appended[r.topic] += static_cast<double>(end_offsets_.observe(r.topic, r.partition, r.high));
      }
    }
    // Append rate per topic (the input rate a stage is measured against), over the last 10 s.
    const bool measured = end_offsets_.end_round();
    const auto t = std::chrono::steady_clock::now();
    const double dt = std::chrono::duration<double>(t - last_publish_).count();
    last_publish_ = t;
    std::vector<std::pair<std::string, double>> append_rates;
    for (const auto& [topic, n] : appended) {
      auto& window = append_windows_.try_emplace(topic).first->second;
      if (measured) window.add(dt, n);
      append_rates.emplace_back(labels({{"topic", topic}}), window.rate());
    }
    registry_.set_dynamic_gauges("streamwright_topic_append_records_per_second",
                                 "Records appended per second to the topic, all partitions (last 10 s)", std::move(append_rates));
    for (const auto& [k, v] : sums) sum.emplace_back(labels({{"consumergroup", k.first}, {"topic", k.second}}), v);
    registry_.set_dynamic_gauges("kafka_consumergroup_lag", "Consumer group lag in records, per partition", std::move(lag));
    registry_.set_dynamic_untyped("kafka_consumergroup_lag_sum", "Consumer group lag in records, per topic", std::move(sum));
    registry_.set_dynamic_gauges("kafka_consumergroup_current_offset",
                                 "Committed offset of the consumer group, per partition (-1: none)", std::move(current));
    registry_.set_dynamic_gauges("kafka_consumergroup_lag_seconds",
                                 "Age of the oldest unconsumed record (0 when caught up), per partition",
                                 std::move(lag_seconds));
    registry_.set_dynamic_gauges("kafka_topic_partition_current_offset", "Next offset to be written, per partition",
                                 std::move(topic_current));
    registry_.set_dynamic_gauges("kafka_topic_partition_oldest_offset", "Oldest retained offset, per partition",
                                 std::move(topic_oldest));
  }

  sw::lag::Collector collector_;
  sw::metrics::Registry& registry_;
  sw::metrics::AppendTracker end_offsets_;
  std::map<std::string, sw::metrics::RateWindow> append_windows_;
  std::chrono::steady_clock::time_point last_publish_ = std::chrono::steady_clock::now();
  sw::metrics::Counter *scrapes_, *errors_;
  sw::metrics::Gauge* duration_;
  std::atomic<std::int64_t> last_ok_{0};
};

}  // namespace

int main(int argc, char** argv) {
  po::options_description desc(
      "streamwright-lag-exporter: consumer-group lag (kafka_exporter's metric names) for any Kafka\n\nOptions");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("bootstrap-servers", po::value<std::string>(), "Kafka bootstrap servers (env KAFKA_BOOTSTRAP_SERVERS)")
    ("group", po::value<std::vector<std::string>>()->composing(), "GROUP=TOPIC[,TOPIC...] to watch (repeatable)")
    ("topology", po::value<std::vector<std::string>>()->composing(), "watch every consumer group of a topology (repeatable)")
    ("application-id", po::value<std::string>()->default_value(""), "application id of --topology (default: its name)")
    ("interval", po::value<std::string>()->default_value("10s"), "how often offsets are read")
    ("metrics-address", po::value<std::string>()->default_value("0.0.0.0"), "address of the HTTP endpoint")
    ("port", po::value<unsigned>()->default_value(9465), "port of /metrics, /healthz and /readyz (0: any free port)");
  // clang-format on
  sw::add_kafka_property_options(desc);
  sw::add_log_options(desc);
  po::variables_map vm;
  std::vector<sw::lag::GroupSpec> groups;
  sw::kafka::Config extra;
  std::chrono::milliseconds interval{};
  try {
    const auto parsed = po::parse_command_line(argc, argv, desc);
    sw::reject_negative_unsigned(parsed, desc);
    po::store(parsed, vm);
    po::store(sw::bootstrap_from_environment(desc), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << desc << "\nKafka properties also come from KAFKA_PROPERTY_<KEY> environment variables; a key ending in\n"
                << ".file reads its value from a file (KAFKA_PROPERTY_SASL_PASSWORD_FILE=/run/secrets/kafka/password).\n";
      return 0;
    }
    if (!vm.count("bootstrap-servers")) throw std::invalid_argument("--bootstrap-servers is required");
    if (vm.count("group")) {
      for (const auto& spec : vm["group"].as<std::vector<std::string>>()) {
        const auto eq = spec.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
          throw std::invalid_argument("--group expects GROUP=TOPIC[,TOPIC...], got '" + spec + "'");
        if (eq + 1 < spec.size() && spec.find_first_not_of(',', eq + 1) == std::string::npos)
          throw std::invalid_argument("--group '" + spec + "' names no topic");
        sw::lag::GroupSpec g{spec.substr(0, eq), {}};
        std::stringstream ss(spec.substr(eq + 1));
        for (std::string t; std::getline(ss, t, ',');)
          if (!t.empty()) g.topics.push_back(t);
        groups.push_back(std::move(g));
      }
    }
    if (vm.count("topology")) {
      for (const auto& name : vm["topology"].as<std::vector<std::string>>()) {
        const auto topo = sw::topologies::build_default(name, vm["application-id"].as<std::string>());
        for (const auto& s : topo.subtopologies()) groups.push_back({topo.group_id(s.name), s.source_topics});
      }
    }
    if (groups.empty()) throw std::invalid_argument("nothing to watch: give --group or --topology");
    interval = sw::parse_duration(vm["interval"].as<std::string>());
    if (interval.count() <= 0) throw std::invalid_argument("--interval must be positive");
    sw::check_shell_options(vm);
    // Files, then KAFKA_PROPERTY_<KEY>, then --kafka-property; checked by librdkafka before connecting.
    extra = sw::kafka_properties(vm, sw::kafka::ClientRoles::consumer);
    if (vm["port"].as<unsigned>() > 65535) throw std::invalid_argument("--port must be below 65536");
  } catch (const std::exception& e) {
    std::cerr << "streamwright-lag-exporter: " << sw::name_the_option(vm, e.what()) << "\n";
    return 2;
  }
  sw::ServiceShell shell("streamwright-lag-exporter");
  shell.start_logging(vm, "lag-exporter");
  sw::metrics::Registry registry;
  std::unique_ptr<Exporter> collector;
  std::atomic<bool> stop{false};
  try {
    collector = std::make_unique<Exporter>(vm["bootstrap-servers"].as<std::string>(), extra, groups, registry);
    auto* c = collector.get();
    // Healthy and ready while collections succeed.
    const auto healthy = [c, interval] { return c->healthy(interval); };
    shell.serve(vm["metrics-address"].as<std::string>(), static_cast<std::uint16_t>(vm["port"].as<unsigned>()), registry,
                healthy, healthy);
  } catch (const std::exception& e) {
    spdlog::error("cannot start: {}", e.what());
    return 1;
  }
  spdlog::info("watching {} group(s) every {}", groups.size(), sw::format_duration(interval));
  return shell.run(
      [&] {
        while (!stop.load()) {
          collector->collect();
          const auto until = std::chrono::steady_clock::now() + interval;
          while (!stop.load() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(50ms);
        }
      },
      [&] {
        stop.store(true);
        collector->cancel();
      },
      std::chrono::seconds(30), [&] { collector.reset(); });
}
