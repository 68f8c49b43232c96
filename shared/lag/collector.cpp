#include "lag/collector.h"

#include <chrono>
#include <set>

#include "kafka/client.h"

namespace sw::lag {

using namespace std::chrono_literals;

Collector::Collector(std::string bootstrap, kafka::Config extra, std::vector<GroupSpec> groups, std::string client_id,
                     std::vector<std::string> extra_topics)
    : bootstrap_(std::move(bootstrap)),
      extra_(std::move(extra)),
      groups_(std::move(groups)),
      client_id_(std::move(client_id)),
      extra_topics_(std::move(extra_topics)) {
  kafka::Config c = base();
  c.set(kafka::keys::group_id, client_id_ + "-peek");
  c.set(kafka::keys::fetch_wait_max_ms, 10);
  c.set_raw("fetch.max.bytes", "1048576");
  peek_ = std::make_unique<kafka::Consumer>(c, nullptr);
}

Collector::~Collector() = default;

kafka::Config Collector::base() const {
  kafka::Config c;
  c.set(kafka::keys::bootstrap_servers, bootstrap_);
  c.set(kafka::keys::client_id, client_id_);
  for (const auto& [k, v] : extra_.entries()) c.set_raw(k, v);
  return c;
}

kafka::Consumer& Collector::group_consumer(const std::string& group) {
  auto it = consumers_.find(group);
  if (it != consumers_.end()) return *it->second;
  // A client with the group's id fetches its committed offsets; it never subscribes, so it
  // never joins the group or disturbs its members.
  auto c = base();
  c.set(kafka::keys::group_id, group);
  return *consumers_.emplace(group, std::make_unique<kafka::Consumer>(c, nullptr)).first->second;
}

Collection Collector::collect(std::chrono::milliseconds timeout) {
  const auto t0 = std::chrono::steady_clock::now();
  Collection out;
  std::set<std::pair<std::string, std::int32_t>> topic_seen;
  auto note_topic = [&](const std::string& topic, std::int32_t p, std::int64_t lo, std::int64_t hi) {
    if (topic_seen.emplace(topic, p).second) out.topics.push_back({topic, p, lo, hi});
  };
  for (const auto& g : groups_) {
    auto& consumer = group_consumer(g.group);
    for (const auto& topic : g.topics) {
      if (cancelled_.load()) break;
      std::int32_t n = 0;
      if (auto ec = consumer.partition_count(topic, n, timeout)) {
        out.warnings.push_back("topic " + topic + ": " + ec.message());
        ++out.failed_requests;
        continue;
      }
      std::vector<kafka::TopicPartition> parts;
      for (std::int32_t p = 0; p < n; ++p) parts.push_back({topic, p, Offset::none(), {}});
      if (auto ec = consumer.committed(parts, timeout)) {
        out.warnings.push_back("committed offsets of " + g.group + " on " + topic + ": " + ec.message());
        ++out.failed_requests;
        continue;
      }
      for (const auto& tp : parts) {
        if (cancelled_.load()) break;
        std::int64_t lo = 0, hi = 0;
        if (auto ec = consumer.query_watermarks(topic, tp.partition, lo, hi, timeout)) {
          ++out.failed_requests;
          continue;
        }
        out.partitions.push_back({g.group, topic, tp.partition, tp.offset.value_or(-1), lo, hi, std::nullopt});
        note_topic(topic, tp.partition, lo, hi);
      }
    }
  }
  for (const auto& topic : extra_topics_) {
    if (cancelled_.load()) break;
    std::int32_t n = 0;
    if (auto ec = peek_->partition_count(topic, n, timeout)) {
      out.warnings.push_back("topic " + topic + ": " + ec.message());
      ++out.failed_requests;
      continue;
    }
    for (std::int32_t p = 0; p < n && !cancelled_.load(); ++p) {
      if (topic_seen.count({topic, p})) continue;
      std::int64_t lo = 0, hi = 0;
      if (auto ec = peek_->query_watermarks(topic, p, lo, hi, timeout)) {
        ++out.failed_requests;
        continue;
      }
      note_topic(topic, p, lo, hi);
    }
  }
  if (!cancelled_.load()) read_oldest_unconsumed(out);
  out.cancelled = cancelled_.load();
  out.at_ms = wall_clock_ms();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

// Lag in seconds: the timestamp of the oldest record not yet consumed (the one at the committed
// offset), read with a group-less assignment, for at most 3 s. A partition read by several
// groups is peeked at the first group's position only.
void Collector::read_oldest_unconsumed(Collection& out) {
  auto& rows = out.partitions;
  std::vector<kafka::TopicPartition> assign;
  std::set<std::pair<std::string, std::int32_t>> seen;
  for (const auto& r : rows) {
    if (r.from() >= r.high || !seen.emplace(r.topic, r.partition).second) continue;
    assign.push_back({r.topic, r.partition, Offset::at(r.from()), {}});
  }
  if (assign.empty()) return;
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> wanted;
  for (const auto& a : assign) wanted[{a.topic, a.partition}] = a.offset.value();
  if (const auto ec = peek_->assign(assign)) {
    out.warnings.push_back("assigning the timestamp probe failed: " + ec.message());
    return;
  }
  std::map<std::tuple<std::string, std::int32_t, std::int64_t>, TimestampMs> found;
  {
    kafka::MessageBatch batch(1000);
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (found.size() < wanted.size() && std::chrono::steady_clock::now() < deadline && !cancelled_.load()) {
      const auto n = peek_->poll(batch, 1000, 100ms);
      for (std::size_t i = 0; i < n; ++i) {
        const auto m = batch[i];
        if (m.error()) continue;
        auto w = wanted.find({std::string(m.topic()), m.partition()});
        if (w == wanted.end() || m.offset() < w->second) continue;
        found.emplace(std::make_tuple(std::string(m.topic()), m.partition(), w->second), m.timestamp_ms());
      }
    }
  }
  if (const auto ec = peek_->assign({}))
    out.warnings.push_back("releasing the timestamp probe's partitions failed: " + ec.message());
  for (auto& r : rows) {
    if (r.lag_records() == 0) continue;
    if (auto it = found.find({r.topic, r.partition, r.from()}); it != found.end() && it->second > 0)
      r.oldest_unconsumed_ms = it->second;
  }
}

}  // namespace sw::lag
