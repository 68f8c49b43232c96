#include "services/console/model.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace sw::console {

namespace {

using json = nlohmann::ordered_json;

// Invalid UTF-8 in record keys and values (any bytes may be on a topic) is replaced, not thrown.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json opt(const std::optional<double>& v) { return v && std::isfinite(*v) ? json(*v) : json(nullptr); }
json opt_ms(TimestampMs v) { return v > 0 ? json(v) : json(nullptr); }

const char* const kLatency = "streamwright_record_latency_seconds";
const char* const kCommit = "streamwright_commit_seconds";
const char* const kBatch = "streamwright_batch_processing_seconds";

bool histogram_family(const std::string& name) { return name == kLatency || name == kCommit || name == kBatch; }

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Model::Model(PipelineInfo pipeline, ModelSettings settings)
    : pipeline_(std::move(pipeline)),
      settings_(std::move(settings)),
      max_points_(static_cast<std::size_t>(settings_.history / settings_.interval) + 2),
      pipeline_json_([this] {
        json j = pipeline_.to_json();
        j["bootstrap_servers"] = settings_.bootstrap_servers;
        j["metrics_source"] = settings_.metrics_source;
        j["interval_ms"] = settings_.interval.count();
        j["history_ms"] = settings_.history.count();
        j["quantile_window_ms"] = settings_.quantile_window.count();
        return dump(j);
      }()) {
  std::lock_guard lock(mu_);
  rebuild();
}

std::size_t Model::history_points() const {
  std::lock_guard lock(mu_);
  return history_.size();
}

std::uint64_t Model::version() const {
  std::lock_guard lock(mu_);
  return version_;
}

std::uint64_t Model::wait_change(std::uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return shutdown_ || version_ != seen; });
  return version_;
}

void Model::shutdown() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

Model::ReplicaValues Model::read_values(const std::vector<Sample>& samples) {
  ReplicaValues v;
  for (const auto& s : samples) {
    if (!std::isfinite(s.value)) continue;
    if (ends_with(s.name, "_bucket")) {
      const auto family = s.name.substr(0, s.name.size() - 7);
      if (!histogram_family(family)) continue;
      const auto le = s.label("le");
      double bound = 0;
      if (le == "+Inf") {
        bound = std::numeric_limits<double>::infinity();
      } else {
        try {
          bound = std::stod(std::string(le));
        } catch (const std::exception&) {
          continue;
        }
      }
      v.hists[family].buckets[bound] += s.value;
      continue;
    }
    if (ends_with(s.name, "_sum") && histogram_family(s.name.substr(0, s.name.size() - 4))) {
      v.hists[s.name.substr(0, s.name.size() - 4)].sum += s.value;
      continue;
    }
    if (ends_with(s.name, "_count") && histogram_family(s.name.substr(0, s.name.size() - 6))) {
      v.hists[s.name.substr(0, s.name.size() - 6)].count += s.value;
      continue;
    }
    v.gauges[s.name] += s.value;
    if (s.name == "kafka_consumergroup_lag") {
      const auto p = s.label("partition");
      try {
        v.partitions.emplace_back(std::string(s.label("topic")), std::stoi(std::string(p)));
      } catch (const std::exception&) {
      }
    } else if (s.name == "streamwright_records_consumed_total") {
      v.consumed_by_topic[std::string(s.label("topic"))] += s.value;
    } else if (s.name == "streamwright_records_produced_total") {
      v.produced_by_topic[std::string(s.label("topic"))] += s.value;
    }
  }
  std::sort(v.partitions.begin(), v.partitions.end());
  return v;
}

void Model::attribute(Replica& r, const ReplicaScrape& s) const {
  for (const auto& sample : s.samples) {
    const auto label = sample.label("stage");
    if (label.empty()) continue;
    if (const auto* st = pipeline_.stage_by_metrics_label(std::string(label))) {
      r.stage = st->name;
      return;
    }
  }
  if (!r.stage.empty()) return;  // seen before: keep it
  if (const auto* st = pipeline_.stage(s.declared_stage)) r.stage = st->name;
  else if (const auto* by_label = pipeline_.stage_by_metrics_label(s.declared_stage)) r.stage = by_label->name;
}

void Model::apply_scrapes(const std::vector<ReplicaScrape>& round) {
  std::lock_guard lock(mu_);
  const TimestampMs now = wall_clock_ms();
  std::map<std::string, HistDelta> deltas;  // per stage, this round
  for (const auto& s : round) {
    auto& r = replicas_[s.id];
    r.id = s.id;
    r.source = s.source;
    r.declared_stage = s.declared_stage;
    r.last_attempt_ms = s.at_ms;
    attribute(r, s);
    if (s.gone) {
      if (!r.gone) r.gone_since_ms = s.at_ms;
      r.gone = true;
      if (r.up) r.down_since_ms = s.at_ms;
      r.up = false;
      r.error = s.error;
      continue;
    }
    r.gone = false;
    if (!s.ok) {
      if (r.up || r.down_since_ms == 0) r.down_since_ms = s.at_ms;
      r.up = false;
      r.error = s.error;
      continue;
    }
    r.up = true;
    r.down_since_ms = 0;
    r.error.clear();
    r.last_seen_ms = s.at_ms;
    auto values = read_values(s.samples);
    // Histogram deltas since this replica's previous scrape; a count that went down is a restart.
    auto& prev = prev_hists_[s.id];
    if (!r.stage.empty()) {
      auto& d = deltas[r.stage];
      d.at_ms = now;
      for (const auto& [family, h] : values.hists) {
        auto p = prev.find(family);
        if (p == prev.end()) continue;  // the first scrape: no interval yet
        const bool reset = h.count < p->second.count;
        auto& out = d.by_family[family];
        for (const auto& [bound, count] : h.buckets) {
          const auto pb = p->second.buckets.find(bound);
          const double before = reset || pb == p->second.buckets.end() ? 0 : pb->second;
          out.buckets[bound] += std::max(0.0, count - before);
        }
        out.count += reset ? h.count : h.count - p->second.count;
        out.sum += reset ? h.sum : std::max(0.0, h.sum - p->second.sum);
      }
    }
    prev = values.hists;
    r.values = std::move(values);
    r.values_at_ms = s.at_ms;
  }
  for (auto& [stage, d] : deltas) {
    auto& q = hist_deltas_[stage];
    q.push_back(std::move(d));
  }
  for (auto& [stage, q] : hist_deltas_)
    while (!q.empty() && q.front().at_ms < now - settings_.quantile_window.count()) q.pop_front();
  // Replicas gone (from DNS or Prometheus' targets) for longer than the history are forgotten.
  for (auto it = replicas_.begin(); it != replicas_.end();) {
    if (it->second.gone && now - it->second.gone_since_ms > settings_.history.count()) {
      prev_hists_.erase(it->first);
      it = replicas_.erase(it);
    } else {
      ++it;
    }
  }
  scraped_ = true;
  record_point(now);
  rebuild();
}

void Model::apply_kafka(const lag::Collection& c) {
  std::lock_guard lock(mu_);
  auto& k = kafka_;
  k.collected = true;
  k.last_attempt_ms = c.at_ms;
  k.warnings = c.warnings;
  k.failed_requests = c.failed_requests;
  k.seconds = c.seconds;
  const bool answered = !c.partitions.empty() || !c.topics.empty();
  if (!answered) {
    if (k.up || k.down_since_ms == 0) k.down_since_ms = c.at_ms;
    k.up = false;
    if (k.warnings.empty()) k.warnings.push_back("no broker answered");
    rebuild();
    return;
  }
  k.up = true;
  k.ever_answered = true;
  k.down_since_ms = 0;
  k.last_seen_ms = c.at_ms;
  // Keep what this collection did not reach (a topic that failed) from the previous one? No:
  // a number is shown only as read; a partition missing now is missing on the page.
  k.partitions = c.partitions;
  k.topics.clear();
  for (const auto& t : c.topics) k.topics[{t.topic, t.partition}] = t;
  // Appended records per second per partition, from successive end offsets.
  if (k.prev_at_ms > 0 && c.at_ms > k.prev_at_ms) {
    const double dt = static_cast<double>(c.at_ms - k.prev_at_ms) / 1000.0;
    k.partition_rate.clear();
    for (const auto& [key, t] : k.topics) {
      auto p = k.prev_high.find(key);
      if (p == k.prev_high.end() || t.high < p->second) continue;
      k.partition_rate[key] = static_cast<double>(t.high - p->second) / dt;
    }
  }
  k.prev_high.clear();
  for (const auto& [key, t] : k.topics) k.prev_high[key] = t.high;
  k.prev_at_ms = c.at_ms;
  k.data_at_ms = c.at_ms;
  rebuild();
}

void Model::apply_records(std::vector<TailRecord> records) {
  if (records.empty()) return;
  std::lock_guard lock(mu_);
  const auto dlqs = pipeline_.dead_letter_topics();
  for (auto& r : records) {
    ++records_seen_[r.topic];
    if (std::find(dlqs.begin(), dlqs.end(), r.topic) != dlqs.end()) {
      auto& q = dead_letters_[r.topic];
      q.push_back(std::move(r));
      while (q.size() > settings_.dead_letters_kept) q.pop_front();
    } else {
      outputs_.push_back(std::move(r));
      while (outputs_.size() > settings_.outputs_kept) outputs_.pop_front();
    }
  }
  outputs_json_ = build_outputs();
  dead_letters_json_ = build_dead_letters();
  ++version_;
  cv_.notify_all();
}

std::optional<double> Model::quantile(const std::string& stage, const std::string& family, double q, TimestampMs now) const {
  auto it = hist_deltas_.find(stage);
  if (it == hist_deltas_.end()) return std::nullopt;
  std::map<double, double> sum;
  for (const auto& d : it->second) {
    if (d.at_ms < now - settings_.quantile_window.count()) continue;
    auto f = d.by_family.find(family);
    if (f == d.by_family.end()) continue;
    for (const auto& [bound, count] : f->second.buckets) sum[bound] += count;
  }
  std::vector<std::pair<double, double>> cumulative(sum.begin(), sum.end());
  return histogram_quantile(q, cumulative);
}

std::optional<double> Model::mean(const std::string& stage, const std::string& family, TimestampMs now) const {
  auto it = hist_deltas_.find(stage);
  if (it == hist_deltas_.end()) return std::nullopt;
  double sum = 0, count = 0;
  for (const auto& d : it->second) {
    if (d.at_ms < now - settings_.quantile_window.count()) continue;
    auto f = d.by_family.find(family);
    if (f == d.by_family.end()) continue;
    sum += f->second.sum;
    count += f->second.count;
  }
  if (count <= 0) return std::nullopt;
  return sum / count;
}

void Model::record_point(TimestampMs now) {
  Point p;
  p.t = now;
  const bool kafka_fresh =
      kafka_.up && now - kafka_.data_at_ms <= std::max<std::int64_t>(3 * settings_.interval.count(), 10000);
  for (const auto& st : pipeline_.stages) {
    StagePoint sp;
    double in = 0, processed = 0, etl = 0;
    bool any = false, any_etl = false;
    for (const auto& [id, r] : replicas_) {
      if (r.stage != st.name || !r.up || !r.values) continue;
      const auto& g = r.values->gauges;
      auto get = [&](const char* n) {
        auto it = g.find(n);
        return it == g.end() ? 0.0 : it->second;
      };
      any = true;
      in += get("streamwright_input_records_per_second");
      processed += get("streamwright_processed_records_per_second");
      if (g.count("streamwright_event_time_lag_seconds") && get("streamwright_records_consumed_total") > 0) {
        etl = any_etl ? std::max(etl, get("streamwright_event_time_lag_seconds")) : get("streamwright_event_time_lag_seconds");
        any_etl = true;
      }
    }
    if (any) {
      sp.input_rate = in;
      sp.processed_rate = processed;
    }
    if (any_etl) sp.event_time_lag = etl;
    if (kafka_fresh) {
      double records = 0, seconds = 0;
      bool any_lag = false, any_seconds = false;
      for (const auto& l : kafka_.partitions) {
        if (l.group != st.group) continue;
        any_lag = true;
        records += static_cast<double>(l.lag_records());
        if (const auto s = l.lag_seconds(kafka_.data_at_ms)) {
          seconds = std::max(seconds, *s);
          any_seconds = true;
        }
      }
      if (any_lag) sp.lag_records = records;
      if (any_seconds) sp.lag_seconds = seconds;
    }
    sp.latency_p50 = quantile(st.name, kLatency, 0.5, now);
    sp.latency_p99 = quantile(st.name, kLatency, 0.99, now);
    sp.commit_p99 = quantile(st.name, kCommit, 0.99, now);
    p.stages[st.name] = sp;
  }
  history_.push_back(std::move(p));
  while (!history_.empty() && (history_.size() > max_points_ || history_.front().t < now - settings_.history.count()))
    history_.pop_front();
  // The latest point, as sent with each update.
  json j;
  j["t"] = history_.back().t;
  for (const auto& [name, sp] : history_.back().stages) {
    j["stages"][name] = {{"input_rate", opt(sp.input_rate)},         {"processed_rate", opt(sp.processed_rate)},
                         {"lag_records", opt(sp.lag_records)},       {"lag_seconds", opt(sp.lag_seconds)},
                         {"latency_p50", opt(sp.latency_p50)},       {"latency_p99", opt(sp.latency_p99)},
                         {"commit_p99", opt(sp.commit_p99)},         {"event_time_lag", opt(sp.event_time_lag)}};
  }
  last_point_json_ = dump(j);
}

std::string Model::history_json(TimestampMs since) const {
  std::lock_guard lock(mu_);
  json j;
  j["interval_ms"] = settings_.interval.count();
  j["history_ms"] = settings_.history.count();
  json t = json::array();
  std::map<std::string, std::map<std::string, json>> series;
  const char* names[] = {"input_rate", "processed_rate", "lag_records", "lag_seconds",
                         "latency_p50", "latency_p99", "commit_p99", "event_time_lag"};
  for (const auto& st : pipeline_.stages)
    for (const char* n : names) series[st.name][n] = json::array();
  for (const auto& p : history_) {
    if (p.t <= since) continue;
    t.push_back(p.t);
    for (const auto& st : pipeline_.stages) {
      auto it = p.stages.find(st.name);
      const StagePoint sp = it == p.stages.end() ? StagePoint{} : it->second;
      auto& s = series[st.name];
      s["input_rate"].push_back(opt(sp.input_rate));
      s["processed_rate"].push_back(opt(sp.processed_rate));
      s["lag_records"].push_back(opt(sp.lag_records));
      s["lag_seconds"].push_back(opt(sp.lag_seconds));
      s["latency_p50"].push_back(opt(sp.latency_p50));
      s["latency_p99"].push_back(opt(sp.latency_p99));
      s["commit_p99"].push_back(opt(sp.commit_p99));
      s["event_time_lag"].push_back(opt(sp.event_time_lag));
    }
  }
  j["t"] = std::move(t);
  j["stages"] = json::object();
  for (const auto& st : pipeline_.stages) {
    json s = json::object();
    for (const char* n : names) s[n] = std::move(series[st.name][n]);
    j["stages"][st.name] = std::move(s);
  }
  return dump(j);
}

void Model::rebuild() {
  status_json_ = build_status(wall_clock_ms());
  outputs_json_ = build_outputs();
  dead_letters_json_ = build_dead_letters();
  ++version_;
  cv_.notify_all();
}

std::string Model::build_status(TimestampMs now) const {
  json j;
  j["now_ms"] = now;
  j["pipeline"] = pipeline_.name;
  j["metrics_source"] = settings_.metrics_source;
  j["metrics_scraped"] = scraped_;
  // Kafka as the console's own clients see it.
  {
    const auto& k = kafka_;
    json kj;
    kj["bootstrap_servers"] = settings_.bootstrap_servers;
    kj["state"] = !k.collected ? "waiting" : !k.up ? "down" : k.failed_requests > 0 ? "partial" : "up";
    kj["last_seen_ms"] = opt_ms(k.last_seen_ms);
    kj["down_since_ms"] = opt_ms(k.down_since_ms);
    kj["last_attempt_ms"] = opt_ms(k.last_attempt_ms);
    kj["data_at_ms"] = opt_ms(k.data_at_ms);
    kj["collection_seconds"] = k.seconds;
    kj["failed_requests"] = k.failed_requests;
    kj["errors"] = k.warnings;
    j["kafka"] = std::move(kj);
  }
  // Which replica holds which partition, from the replicas' own lag series.
  std::map<std::pair<std::string, std::pair<std::string, std::int32_t>>, std::string> holder;  // (stage, tp) -> id
  for (const auto& [id, r] : replicas_)
    if (r.up && r.values)
      for (const auto& tp : r.values->partitions) holder[{r.stage, tp}] = id;

  j["stages"] = json::array();
  for (const auto& st : pipeline_.stages) {
    json s;
    s["name"] = st.name;
    s["kind"] = st.kind;
    s["group"] = st.group;
    json replicas = json::array();
    int up = 0, known = 0, ready = 0;
    TimestampMs oldest = 0;
    std::map<std::string, double> sums, maxes;
    std::map<std::string, double> consumed, produced;
    bool any_etl = false;
    double etl_max = 0;
    TimestampMs watermark = 0;
    for (const auto& [id, r] : replicas_) {
      if (r.stage != st.name) continue;
      ++known;
      json rj;
      rj["id"] = id;
      rj["source"] = r.source;
      rj["state"] = r.up ? "up" : r.gone ? "gone" : "down";
      rj["last_seen_ms"] = opt_ms(r.last_seen_ms);
      rj["down_since_ms"] = opt_ms(r.up ? 0 : r.down_since_ms);
      rj["last_attempt_ms"] = opt_ms(r.last_attempt_ms);
      rj["error"] = r.error.empty() ? json(nullptr) : json(r.error);
      rj["metrics_at_ms"] = opt_ms(r.values ? r.values_at_ms : 0);
      if (r.values) {
        const auto& g = r.values->gauges;
        auto get = [&](const char* n) -> json {
          auto it = g.find(n);
          return it == g.end() ? json(nullptr) : json(it->second);
        };
        rj["ready"] = get("streamwright_ready");
        rj["assigned_partitions"] = get("streamwright_assigned_partitions");
        rj["input_records_per_second"] = get("streamwright_input_records_per_second");
        rj["processed_records_per_second"] = get("streamwright_processed_records_per_second");
        rj["records_consumed_total"] = get("streamwright_records_consumed_total");
        rj["event_time_lag_seconds"] = get("streamwright_event_time_lag_seconds");
        json parts = json::array();
        for (const auto& [topic, p] : r.values->partitions) parts.push_back({{"topic", topic}, {"partition", p}});
        rj["partitions"] = std::move(parts);
      }
      replicas.push_back(std::move(rj));
      if (!r.up || !r.values) continue;
      ++up;
      const auto& g = r.values->gauges;
      if (auto it = g.find("streamwright_ready"); it != g.end() && it->second > 0) ++ready;
      oldest = oldest == 0 ? r.values_at_ms : std::min(oldest, r.values_at_ms);
      for (const auto& [name, value] : g) {
        sums[name] += value;
        maxes[name] = maxes.count(name) ? std::max(maxes[name], value) : value;
      }
      for (const auto& [t, v] : r.values->consumed_by_topic) consumed[t] += v;
      for (const auto& [t, v] : r.values->produced_by_topic) produced[t] += v;
      auto etl = g.find("streamwright_event_time_lag_seconds");
      auto cons = g.find("streamwright_records_consumed_total");
      if (etl != g.end() && cons != g.end() && cons->second > 0) {
        etl_max = any_etl ? std::max(etl_max, etl->second) : etl->second;
        const TimestampMs wm = r.values_at_ms - static_cast<TimestampMs>(std::llround(etl->second * 1000.0));
        watermark = any_etl ? std::min(watermark, wm) : wm;
        any_etl = true;
      }
    }
    const bool has_metrics_source = known > 0;
    s["state"] = !has_metrics_source ? "unknown" : up == 0 ? "down" : up < known ? "partial" : "up";
    s["replicas_up"] = up;
    s["replicas_known"] = known;
    s["replicas_ready"] = ready;
    s["metrics_at_ms"] = opt_ms(oldest);
    auto sum = [&](const char* n) -> json {
      if (up == 0) return nullptr;
      auto it = sums.find(n);
      return it == sums.end() ? json(nullptr) : json(it->second);
    };
    s["input_records_per_second"] = sum("streamwright_input_records_per_second");
    s["processed_records_per_second"] = sum("streamwright_processed_records_per_second");
    s["records_consumed_total"] = sum("streamwright_records_consumed_total");
    s["records_produced_total"] = sum("streamwright_records_produced_total");
    s["output_records_total"] = sum("streamwright_output_records_total");
    s["dead_letter_records_total"] = sum("streamwright_dead_letter_records_total");
    s["late_records_dropped_total"] = sum("streamwright_late_records_dropped_total");
    s["duplicate_records_dropped_total"] = sum("streamwright_duplicate_records_dropped_total");
    s["cached_windows"] = sum("streamwright_cached_windows");
    s["state_store_keys"] = sum("streamwright_state_store_keys");
    s["state_store_bytes"] = sum("streamwright_state_store_bytes");
    s["commits_total"] = sum("streamwright_commits_total");
    s["rebalances_total"] = sum("streamwright_rebalances_total");
    s["restore_in_progress"] = sum("streamwright_restore_in_progress");
    s["assigned_partitions"] = sum("streamwright_assigned_partitions");
    s["event_time_lag_seconds"] = any_etl ? json(etl_max) : json(nullptr);
    s["watermark_ms"] = any_etl ? json(watermark) : json(nullptr);
    s["consumed_by_topic"] = consumed;
    s["produced_by_topic"] = produced;
    {
      json extra = json::object();  // a sink's own series (rows written, database errors, ...)
      for (const auto& [name, value] : sums)
        if (name.rfind("telemetra_sink_", 0) == 0) extra[name] = value;
      s["sink"] = std::move(extra);
    }
    s["commit_seconds"] = {{"mean", opt(mean(st.name, kCommit, now))},
                           {"p99", opt(quantile(st.name, kCommit, 0.99, now))},
                           {"window_seconds", settings_.quantile_window.count() / 1000}};
    s["record_latency_seconds"] = {{"p50", opt(quantile(st.name, kLatency, 0.5, now))},
                                   {"p99", opt(quantile(st.name, kLatency, 0.99, now))},
                                   {"window_seconds", settings_.quantile_window.count() / 1000}};
    s["replicas"] = std::move(replicas);
    // Lag as Kafka says: committed offsets against end offsets, and the oldest unconsumed record's age.
    {
      json lag;
      lag["at_ms"] = opt_ms(kafka_.data_at_ms);
      json parts = json::array();
      double records = 0, max_seconds = 0;
      bool any_seconds = false, any = false;
      for (const auto& l : kafka_.partitions) {
        if (l.group != st.group) continue;
        any = true;
        const auto seconds = l.lag_seconds(kafka_.data_at_ms);
        records += static_cast<double>(l.lag_records());
        if (seconds) {
          max_seconds = std::max(max_seconds, *seconds);
          any_seconds = true;
        }
        auto h = holder.find({st.name, {l.topic, l.partition}});
        parts.push_back({{"topic", l.topic},
                         {"partition", l.partition},
                         {"committed", l.committed >= 0 ? json(l.committed) : json(nullptr)},
                         {"end", l.high},
                         {"lag_records", l.lag_records()},
                         {"lag_seconds", opt(seconds)},
                         {"holder", h == holder.end() ? json(nullptr) : json(h->second)}});
      }
      lag["records"] = any ? json(records) : json(nullptr);
      lag["max_seconds"] = any_seconds ? json(max_seconds) : json(nullptr);
      lag["partitions"] = std::move(parts);
      s["lag"] = std::move(lag);
    }
    j["stages"].push_back(std::move(s));
  }
  // Every topic's partitions as Kafka last answered.
  j["topics"] = json::array();
  {
    std::vector<std::pair<std::string, std::string>> names;  // name, role
    for (const auto& t : pipeline_.topics)
      if (std::find_if(names.begin(), names.end(), [&](const auto& n) { return n.first == t.name; }) == names.end())
        names.emplace_back(t.name, t.role);
    for (const auto& st : pipeline_.stages)
      for (const auto& t : st.input_topics)
        if (std::find_if(names.begin(), names.end(), [&](const auto& n) { return n.first == t; }) == names.end())
          names.emplace_back(t, "input");
    for (const auto& [name, role] : names) {
      json t;
      t["name"] = name;
      t["role"] = role;
      t["at_ms"] = opt_ms(kafka_.data_at_ms);
      json parts = json::array();
      std::int64_t retained = 0, ends = 0;
      double rate = 0;
      bool any_rate = false;
      for (auto it = kafka_.topics.lower_bound({name, 0}); it != kafka_.topics.end() && it->first.first == name; ++it) {
        const auto& o = it->second;
        auto r = kafka_.partition_rate.find(it->first);
        parts.push_back({{"partition", o.partition},
                         {"low", o.low},
                         {"high", o.high},
                         {"records", o.high - o.low},
                         {"append_rate", r == kafka_.partition_rate.end() ? json(nullptr) : json(r->second)}});
        retained += o.high - o.low;
        ends += o.high;
        if (r != kafka_.partition_rate.end()) {
          rate += r->second;
          any_rate = true;
        }
      }
      const bool known = !parts.empty();
      t["partitions"] = std::move(parts);
      t["records"] = known ? json(retained) : json(nullptr);
      t["end_offsets"] = known ? json(ends) : json(nullptr);
      t["append_rate"] = any_rate ? json(rate) : json(nullptr);
      j["topics"].push_back(std::move(t));
    }
  }
  // Replicas whose stage is not known (never answered, and not named with STAGE=URL).
  j["unattributed"] = json::array();
  for (const auto& [id, r] : replicas_) {
    if (!r.stage.empty()) continue;
    j["unattributed"].push_back({{"id", id},
                                 {"source", r.source},
                                 {"state", r.up ? "up" : r.gone ? "gone" : "down"},
                                 {"last_seen_ms", opt_ms(r.last_seen_ms)},
                                 {"down_since_ms", opt_ms(r.up ? 0 : r.down_since_ms)},
                                 {"error", r.error.empty() ? json(nullptr) : json(r.error)}});
  }
  return dump(j);
}

namespace {
json record_json(const TailRecord& r, const std::string& label) {
  json j{{"topic", r.topic},
         {"partition", r.partition},
         {"offset", r.offset},
         {"timestamp_ms", opt_ms(r.timestamp_ms)},
         {"read_at_ms", r.read_at_ms},
         {"key", r.key},
         {"value", r.value},
         {"value_bytes", r.value_bytes},
         {"truncated", r.value.size() < r.value_bytes}};
  if (!label.empty()) j["label"] = label;
  if (!r.headers.empty()) {
    json h = json::object();
    for (const auto& [k, v] : r.headers) h[k] = v;
    j["headers"] = std::move(h);
  }
  return j;
}
std::string header(const TailRecord& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}
}  // namespace

std::string Model::build_outputs() const {
  json j;
  j["topics"] = pipeline_.watch_topics;
  json seen = json::object();
  for (const auto& t : pipeline_.watch_topics) seen[t] = records_seen_.count(t) ? records_seen_.at(t) : 0;
  j["read_since_start"] = std::move(seen);
  j["records"] = json::array();
  std::vector<const TailRecord*> sorted;
  for (const auto& r : outputs_) sorted.push_back(&r);
  std::stable_sort(sorted.begin(), sorted.end(), [](const TailRecord* a, const TailRecord* b) {
    return a->timestamp_ms != b->timestamp_ms ? a->timestamp_ms > b->timestamp_ms : a->read_at_ms > b->read_at_ms;
  });
  for (const auto* r : sorted) {
    auto it = pipeline_.watch_labels.find(r->topic);
    j["records"].push_back(record_json(*r, it == pipeline_.watch_labels.end() ? "" : it->second));
  }
  return dump(j);
}

std::string Model::build_dead_letters() const {
  json j;
  j["topics"] = json::array();
  for (const auto& topic : pipeline_.dead_letter_topics()) {
    json t;
    t["topic"] = topic;
    std::string stage;
    for (const auto& info : pipeline_.topics)
      if (info.name == topic) stage = info.stage;
    t["stage"] = stage;
    t["read_since_start"] = records_seen_.count(topic) ? records_seen_.at(topic) : 0;
    // What Kafka holds: records retained and the sum of end offsets (every dead letter ever written).
    std::int64_t retained = 0, ends = 0;
    bool known = false;
    for (auto it = kafka_.topics.lower_bound({topic, 0}); it != kafka_.topics.end() && it->first.first == topic; ++it) {
      retained += it->second.high - it->second.low;
      ends += it->second.high;
      known = true;
    }
    t["records_in_topic"] = known ? json(retained) : json(nullptr);
    t["end_offsets"] = known ? json(ends) : json(nullptr);
    t["at_ms"] = opt_ms(kafka_.data_at_ms);
    json reasons = json::array(), recent = json::array();
    auto q = dead_letters_.find(topic);
    if (q != dead_letters_.end()) {
      std::map<std::string, std::pair<std::size_t, TimestampMs>> by_reason;
      for (const auto& r : q->second) {
        auto& e = by_reason[header(r, "streamwright.error")];
        ++e.first;
        e.second = std::max(e.second, r.timestamp_ms);
      }
      std::vector<std::pair<std::string, std::pair<std::size_t, TimestampMs>>> ordered(by_reason.begin(), by_reason.end());
      std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
      for (const auto& [reason, e] : ordered)
        reasons.push_back({{"reason", reason}, {"count", e.first}, {"last_ms", opt_ms(e.second)}});
      for (auto it = q->second.rbegin(); it != q->second.rend(); ++it) {
        auto rj = record_json(*it, "");
        rj["reason"] = header(*it, "streamwright.error");
        const auto src = header(*it, "streamwright.topic");
        rj["source"] = src.empty() ? json(nullptr)
                                   : json(src + "/" + header(*it, "streamwright.partition") + "@" +
                                          header(*it, "streamwright.offset"));
        recent.push_back(std::move(rj));
      }
    }
    t["kept"] = recent.size();
    t["reasons"] = std::move(reasons);
    t["recent"] = std::move(recent);
    j["topics"].push_back(std::move(t));
  }
  return dump(j);
}

std::string Model::status_json() const {
  std::lock_guard lock(mu_);
  return status_json_;
}
std::string Model::outputs_json() const {
  std::lock_guard lock(mu_);
  return outputs_json_;
}
std::string Model::dead_letters_json() const {
  std::lock_guard lock(mu_);
  return dead_letters_json_;
}
std::string Model::last_point_json() const {
  std::lock_guard lock(mu_);
  return last_point_json_;
}
std::string Model::snapshot_json() const {
  std::lock_guard lock(mu_);
  return "{\"version\":" + std::to_string(version_) + ",\"status\":" + status_json_ + ",\"outputs\":" + outputs_json_ +
         ",\"dead_letters\":" + dead_letters_json_ + ",\"point\":" + last_point_json_ + "}";
}
std::string Model::pipeline_json() const { return pipeline_json_; }

}  // namespace sw::console
