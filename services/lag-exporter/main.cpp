// streamwright-lag-exporter: consumer-group lag for any Kafka (and the dev broker), with
// kafka_exporter's metric names. It reads committed offsets (OffsetFetch) and watermarks
// (ListOffsets) only, so it needs neither __consumer_offsets nor DescribeGroups.
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
#include "metrics/metrics.h"
#include "metrics/rates.h"
#include "service/shell.h"
#include "topologies/registry.h"

namespace po = boost::program_options;
using namespace std::chrono_literals;

namespace {

struct GroupSpec {
  std::string group;
  std::vector<std::string> topics;
};

struct PartitionLag {
  std::string group, topic;
  std::int32_t partition;
  std::int64_t committed, low, high;
};

class Collector {
 public:
  Collector(std::string bootstrap, sw::kafka::Config extra, std::vector<GroupSpec> groups, sw::metrics::Registry& r)
      : bootstrap_(std::move(bootstrap)), extra_(std::move(extra)), groups_(std::move(groups)), registry_(r) {
    sw::kafka::Config c = base();
    c.set(sw::kafka::keys::group_id, "streamwright-lag-exporter-peek");
    c.set(sw::kafka::keys::fetch_wait_max_ms, 10);
    c.set_raw("fetch.max.bytes", "1048576");
    peek_ = std::make_unique<sw::kafka::Consumer>(c, nullptr);
    scrapes_ = &r.counter("streamwright_lag_exporter_collections_total", "Completed lag collections");
    errors_ = &r.counter("streamwright_lag_exporter_errors_total", "Failed broker requests during collection");
    duration_ = &r.gauge("streamwright_lag_exporter_collection_seconds", "Duration of the last collection");
  }

  bool collect() {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<PartitionLag> rows;
    bool ok = true;
    for (const auto& g : groups_) {
      auto& consumer = group_consumer(g.group);
      for (const auto& topic : g.topics) {
        std::int32_t n = 0;
        if (auto ec = consumer.partition_count(topic, n, 5s)) {
          spdlog::warn("lag: topic {}: {}", topic, ec.message());
          errors_->inc();
          ok = false;
          continue;
        }
        std::vector<sw::kafka::TopicPartition> parts;
        for (std::int32_t p = 0; p < n; ++p) parts.push_back({topic, p, sw::kafka::kOffsetInvalid, {}});
        if (auto ec = consumer.committed(parts, 5s)) {
          spdlog::warn("lag: committed offsets of {} on {}: {}", g.group, topic, ec.message());
          errors_->inc();
          ok = false;
          continue;
        }
        for (const auto& tp : parts) {
          std::int64_t lo = 0, hi = 0;
          if (auto ec = consumer.query_watermarks(topic, tp.partition, lo, hi, 5s)) {
            errors_->inc();
            ok = false;
            continue;
          }
          rows.push_back({g.group, topic, tp.partition, tp.offset, lo, hi});
        }
      }
    }
    publish(rows);
    scrapes_->inc();
    duration_->set(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (ok) last_ok_.store(std::chrono::steady_clock::now().time_since_epoch().count());
    return ok;
  }

  bool healthy(std::chrono::milliseconds interval) const {
    const auto last = std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(last_ok_.load()));
    return std::chrono::steady_clock::now() - last < interval * 3 + 10s;
  }

 private:
  sw::kafka::Config base() const {
    sw::kafka::Config c;
    c.set(sw::kafka::keys::bootstrap_servers, bootstrap_);
    c.set(sw::kafka::keys::client_id, "streamwright-lag-exporter");
    for (const auto& [k, v] : extra_.entries()) c.set_raw(k, v);
    return c;
  }
  sw::kafka::Consumer& group_consumer(const std::string& group) {
    auto it = consumers_.find(group);
    if (it != consumers_.end()) return *it->second;
    // A client with the group's id fetches its committed offsets; it never subscribes, so it
    // never joins the group or disturbs its members.
    auto c = base();
    c.set(sw::kafka::keys::group_id, group);
    return *consumers_.emplace(group, std::make_unique<sw::kafka::Consumer>(c, nullptr)).first->second;
  }

  // Lag in seconds: age of the oldest record not yet consumed (the one at the committed offset).
  std::map<std::tuple<std::string, std::int32_t, std::int64_t>, sw::TimestampMs> oldest_unconsumed(
      const std::vector<PartitionLag>& rows) {
    std::map<std::tuple<std::string, std::int32_t, std::int64_t>, sw::TimestampMs> out;
    std::vector<sw::kafka::TopicPartition> assign;
    std::set<std::pair<std::string, std::int32_t>> seen;
    for (const auto& r : rows) {
      const auto from = r.committed >= 0 ? r.committed : r.low;
      if (from >= r.high || !seen.emplace(r.topic, r.partition).second) continue;
      assign.push_back({r.topic, r.partition, from, {}});
    }
    if (assign.empty()) return out;
    std::map<std::pair<std::string, std::int32_t>, std::int64_t> wanted;
    for (const auto& a : assign) wanted[{a.topic, a.partition}] = a.offset;
    if (peek_->assign(assign)) return out;
    sw::kafka::MessageBatch batch(1000);
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    std::size_t found = 0;
    while (found < wanted.size() && std::chrono::steady_clock::now() < deadline) {
      const auto n = peek_->poll(batch, 1000, 100ms);
      for (std::size_t i = 0; i < n; ++i) {
        const auto m = batch[i];
        if (m.error()) continue;
        auto w = wanted.find({std::string(m.topic()), m.partition()});
        if (w == wanted.end() || m.offset() < w->second) continue;
        const auto key = std::make_tuple(std::string(m.topic()), m.partition(), w->second);
        if (out.emplace(key, m.timestamp_ms()).second) ++found;
      }
    }
    if (const auto ec = peek_->assign({})) spdlog::warn("releasing the timestamp probe's partitions failed: {}", ec.message());
    return out;
  }

  void publish(const std::vector<PartitionLag>& rows) {
    using sw::metrics::labels;
    const auto oldest = oldest_unconsumed(rows);
    const auto now = sw::wall_clock_ms();
    std::vector<std::pair<std::string, double>> lag, lag_seconds, current, topic_current, topic_oldest, sum;
    std::map<std::pair<std::string, std::string>, double> sums;
    std::set<std::pair<std::string, std::int32_t>> topic_seen;
    std::map<std::string, double> appended;
    for (const auto& r : rows) {
      const auto p = std::to_string(r.partition);
      const auto l = labels({{"consumergroup", r.group}, {"topic", r.topic}, {"partition", p}});
      // No commit yet: everything retained is unconsumed (kafka_exporter reports the offset as -1).
      const std::int64_t from = r.committed >= 0 ? r.committed : r.low;
      const double records = static_cast<double>(std::max<std::int64_t>(0, r.high - from));
      lag.emplace_back(l, records);
      current.emplace_back(l, static_cast<double>(r.committed >= 0 ? r.committed : -1));
      sums[{r.group, r.topic}] += records;
      if (records == 0) {
        lag_seconds.emplace_back(l, 0);
      } else if (auto it = oldest.find({r.topic, r.partition, from}); it != oldest.end() && it->second > 0) {
        lag_seconds.emplace_back(l, static_cast<double>(std::max<sw::TimestampMs>(0, now - it->second)) / 1000.0);
      }
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

  std::string bootstrap_;
  sw::kafka::Config extra_;
  std::vector<GroupSpec> groups_;
  sw::metrics::Registry& registry_;
  std::map<std::string, std::unique_ptr<sw::kafka::Consumer>> consumers_;
  sw::metrics::AppendTracker end_offsets_;
  std::map<std::string, sw::metrics::RateWindow> append_windows_;
  std::chrono::steady_clock::time_point last_publish_ = std::chrono::steady_clock::now();
  std::unique_ptr<sw::kafka::Consumer> peek_;
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
  std::vector<GroupSpec> groups;
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
        GroupSpec g{spec.substr(0, eq), {}};
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
  std::unique_ptr<Collector> collector;
  std::atomic<bool> stop{false};
  try {
    collector = std::make_unique<Collector>(vm["bootstrap-servers"].as<std::string>(), extra, groups, registry);
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
      [&] { stop.store(true); }, std::chrono::seconds(30), [&] { collector.reset(); });
}
