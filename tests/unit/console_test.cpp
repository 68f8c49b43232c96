// The console's pieces without a broker: Prometheus text and query answers, the command line,
// the model (rates, lag, down replicas, history) and the JSON its API serves.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

#include "common/time.h"
#include "services/console/model.h"
#include "services/console/options.h"
#include "services/console/pipeline_info.h"
#include "services/console/prom_text.h"
#include "services/console/web_assets.h"

namespace sw::console {
namespace {

using json = nlohmann::json;

// ---------------------------------------------------------------- Prometheus text

TEST(ConsolePromText, ReadsNamesLabelsValuesAndSkipsCommentsAndBadLines) {
  const auto samples = parse_exposition(
      "# HELP streamwright_records_consumed_total Records consumed.\n"
      "# TYPE streamwright_records_consumed_total counter\n"
      "streamwright_records_consumed_total{stage=\"parse\",topic=\"logs\"} 1234\n"
      "\n"
      "this line is { not a sample\n"
      "streamwright_ready 1 1700000000000\n"
      "escaped{reason=\"a \\\"quoted\\\" \\\\ back\\nline\"} -2.5e3\n"
      "special{x=\"1\"} NaN\n"
      "plus_inf +Inf\n"
      "minus_inf -Inf\n"
      "no_value{a=\"b\"}\n");
  ASSERT_EQ(samples.size(), 6u);
  EXPECT_EQ(samples[0].name, "streamwright_records_consumed_total");
  EXPECT_EQ(samples[0].label("stage"), "parse");
  EXPECT_EQ(samples[0].label("topic"), "logs");
  EXPECT_EQ(samples[0].label("missing"), "");
  EXPECT_DOUBLE_EQ(samples[0].value, 1234);
  EXPECT_EQ(samples[1].name, "streamwright_ready");
  EXPECT_DOUBLE_EQ(samples[1].value, 1);  // the timestamp is not the value
  EXPECT_EQ(samples[2].label("reason"), "a \"quoted\" \\ back\nline");
  EXPECT_DOUBLE_EQ(samples[2].value, -2500);
  EXPECT_TRUE(std::isnan(samples[3].value));
  EXPECT_EQ(samples[4].value, std::numeric_limits<double>::infinity());
  EXPECT_EQ(samples[5].value, -std::numeric_limits<double>::infinity());
}

TEST(ConsolePromText, HistogramQuantileInterpolatesLikePrometheus) {
  // 10 observations at or below 0.1, 10 more in (0.1, 0.5], none above.
  const std::vector<std::pair<double, double>> b{
      {0.1, 10}, {0.5, 20}, {1.0, 20}, {std::numeric_limits<double>::infinity(), 20}};
  EXPECT_NEAR(*histogram_quantile(0.5, b), 0.1, 1e-9);
  EXPECT_NEAR(*histogram_quantile(0.75, b), 0.3, 1e-9);
  EXPECT_NEAR(*histogram_quantile(0.25, b), 0.05, 1e-9);
  EXPECT_FALSE(histogram_quantile(0.5, {{0.1, 0}, {std::numeric_limits<double>::infinity(), 0}}).has_value());
  EXPECT_FALSE(histogram_quantile(0.5, {}).has_value());
}

TEST(ConsolePromText, ReadsAPrometheusInstantQueryAnswer) {
  const auto r = parse_query_result(R"({"status":"success","data":{"resultType":"vector","result":[
      {"metric":{"__name__":"streamwright_ready","stage":"parse","instance":"10.0.0.1:9464"},"value":[1700000000.5,"1"]},
      {"metric":{"__name__":"up","instance":"10.0.0.2:9464"},"value":[1700000001,"0"]}]}})");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].sample.name, "streamwright_ready");
  EXPECT_EQ(r[0].sample.label("instance"), "10.0.0.1:9464");
  EXPECT_EQ(r[0].sample.label("__name__"), "");  // the name is the sample's name, not a label
  EXPECT_DOUBLE_EQ(r[0].sample.value, 1);
  EXPECT_EQ(r[0].time_ms, 1700000000500);
  EXPECT_EQ(r[1].sample.name, "up");
  EXPECT_DOUBLE_EQ(r[1].sample.value, 0);
  EXPECT_THROW(parse_query_result(R"({"status":"error","error":"bad query"})"), std::runtime_error);
  EXPECT_THROW(parse_query_result("not json"), std::runtime_error);
}

// ---------------------------------------------------------------- options

std::optional<Options> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "streamwright-console");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_options(static_cast<int>(argv.size()), argv.data());
}

TEST(ConsoleOptions, DefaultsAndMetricsUrls) {
  const auto o = parse({"--topology", "crash-monitor", "--bootstrap-servers", "k:9092", "--metrics-url",
                        "http://10.0.0.5:9464/metrics", "--metrics-url", "parse=http://[::1]:9000/m"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->pipeline, "crash-monitor");
  EXPECT_EQ(o->bootstrap_servers, "k:9092");
  EXPECT_EQ(o->address, "127.0.0.1");  // loopback unless told
  EXPECT_EQ(o->port, 9466);
  EXPECT_EQ(o->interval, std::chrono::milliseconds(2000));
  EXPECT_EQ(o->history, std::chrono::minutes(15));
  ASSERT_EQ(o->metrics.size(), 2u);
  EXPECT_EQ(o->metrics[0].stage, "");
  EXPECT_EQ(o->metrics[0].url.host, "10.0.0.5");
  EXPECT_EQ(o->metrics[0].url.port, 9464);
  EXPECT_EQ(o->metrics[0].url.path, "/metrics");
  EXPECT_EQ(o->metrics[1].stage, "parse");
  EXPECT_EQ(o->metrics[1].url.host, "::1");
  EXPECT_EQ(o->metrics[1].url.origin(), "http://[::1]:9000");
}

TEST(ConsoleOptions, WrongFlagsAreUsageErrorsNamingTheFlag) {
  auto message = [](std::vector<std::string> args) -> std::string {
    try {
      (void)parse(std::move(args));
    } catch (const UsageError& e) {
      return e.what();
    }
    return "(accepted)";
  };
  EXPECT_NE(message({"--bootstrap-servers", "k:9092"}).find("--topology"), std::string::npos);
  EXPECT_NE(message({"--topology", "nope", "--bootstrap-servers", "k:9092"}).find("--topology"), std::string::npos);
  EXPECT_NE(message({"--topology", "crash-monitor"}).find("--bootstrap-servers"), std::string::npos);
  const std::vector<std::string> base{"--topology", "crash-monitor", "--bootstrap-servers", "k:9092"};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return message(a);
  };
  EXPECT_EQ(with({}), "(accepted)");
  EXPECT_NE(with({"--metrics-url", "https://x:1/metrics"}).find("https"), std::string::npos);
  EXPECT_NE(with({"--metrics-url", "ftp://x"}).find("--metrics-url"), std::string::npos);
  EXPECT_NE(with({"--metrics-url", "http://x:99999/metrics"}).find("port"), std::string::npos);
  EXPECT_NE(with({"--metrics-url", "nostage=http://x:1/metrics"}).find("no stage 'nostage'"), std::string::npos);
  EXPECT_NE(with({"--port", "70000"}).find("--port"), std::string::npos);
  EXPECT_NE(with({"--port", "-1"}).find("port"), std::string::npos);
  EXPECT_NE(with({"--interval", "10ms"}).find("--interval"), std::string::npos);
  EXPECT_NE(with({"--interval", "soon"}).find("--interval"), std::string::npos);
  EXPECT_NE(with({"--history", "48h"}).find("--history"), std::string::npos);
  EXPECT_NE(with({"--prometheus-selector", "a=\"b\""}).find("--prometheus-url"), std::string::npos);
  EXPECT_NE(with({"--no-such-flag"}).find("no-such-flag"), std::string::npos);
}

TEST(ConsoleOptions, HelpReturnsNothing) { EXPECT_FALSE(parse({"--help"}).has_value()); }

// ---------------------------------------------------------------- pipeline

TEST(ConsolePipeline, CrashMonitorFromTheCatalogue) {
  const auto p = describe_pipeline("crash-monitor", "");
  EXPECT_EQ(p.name, "crash-monitor");
  ASSERT_GE(p.stages.size(), 2u);
  for (const auto& s : p.stages) {
    EXPECT_FALSE(s.group.empty()) << s.name;
    EXPECT_FALSE(s.input_topics.empty()) << s.name;
  }
  EXPECT_FALSE(p.dead_letter_topics().empty());
  EXPECT_FALSE(p.watch_topics.empty());
  const auto j = p.to_json();
  EXPECT_EQ(j["stages"].size(), p.stages.size());
  EXPECT_THROW(describe_pipeline("no-such-pipeline", ""), std::invalid_argument);
}

// ---------------------------------------------------------------- model and JSON

class ConsoleModel : public ::testing::Test {
 protected:
  ConsoleModel() : info_(describe_pipeline("crash-monitor", "")) {
    settings_.bootstrap_servers = "k:9092";
    settings_.metrics_source = "test";
    settings_.interval = std::chrono::milliseconds(1000);
    settings_.history = std::chrono::milliseconds(10000);
    model_ = std::make_unique<Model>(info_, settings_);
  }

  const StageInfo& first() const { return info_.stages.front(); }

  ReplicaScrape scrape(const std::string& id, double consumed, double in_rate, double processed_rate,
                       double latency_count) const {
    ReplicaScrape s;
    s.id = id;
    s.source = id;
    s.ok = true;
    s.at_ms = wall_clock_ms();
    const std::string st = first().metrics_stage, topic = first().input_topics.front();
    s.samples = parse_exposition(
        "streamwright_records_consumed_total{stage=\"" + st + "\",topic=\"" + topic + "\"} " + std::to_string(consumed) +
        "\nstreamwright_input_records_per_second{stage=\"" + st + "\"} " + std::to_string(in_rate) +
        "\nstreamwright_processed_records_per_second{stage=\"" + st + "\"} " + std::to_string(processed_rate) +
        "\nstreamwright_ready{stage=\"" + st + "\"} 1" + "\nstreamwright_cached_windows{stage=\"" + st +
        "\"} 7\nstreamwright_event_time_lag_seconds{stage=\"" + st + "\"} 2.5" +
        "\nkafka_consumergroup_lag{consumergroup=\"g\",topic=\"" + topic + "\",partition=\"0\"} 3" +
        "\nkafka_consumergroup_lag{consumergroup=\"g\",topic=\"" + topic + "\",partition=\"1\"} 4" +
        "\nstreamwright_record_latency_seconds_bucket{stage=\"" + st + "\",le=\"0.1\"} " +
        std::to_string(latency_count) + "\nstreamwright_record_latency_seconds_bucket{stage=\"" + st +
        "\",le=\"+Inf\"} " + std::to_string(latency_count) + "\nstreamwright_record_latency_seconds_sum{stage=\"" + st +
        "\"} " + std::to_string(latency_count * 0.05) + "\nstreamwright_record_latency_seconds_count{stage=\"" + st +
        "\"} " + std::to_string(latency_count) + "\n");
    return s;
  }

  json stage_json(const json& status, const std::string& name) const {
    for (const auto& s : status["stages"])
      if (s["name"] == name) return s;
    ADD_FAILURE() << "no stage " << name << " in " << status.dump();
    return {};
  }

  PipelineInfo info_;
  ModelSettings settings_;
  std::unique_ptr<Model> model_;
};

TEST_F(ConsoleModel, PipelineJsonHasTheGraph) {
  const auto j = json::parse(model_->pipeline_json());
  ASSERT_TRUE(j.contains("stages"));
  EXPECT_EQ(j["stages"].size(), info_.stages.size());
  EXPECT_EQ(j["stages"][0]["name"], first().name);
  EXPECT_EQ(j["stages"][0]["group"], first().group);
  EXPECT_FALSE(j["topics"].empty());
  EXPECT_EQ(j["bootstrap_servers"], "k:9092");
  EXPECT_EQ(j["interval_ms"], 1000);
}

TEST_F(ConsoleModel, BeforeAnythingIsReadNothingIsInvented) {
  const auto status = json::parse(model_->status_json());
  EXPECT_EQ(status["kafka"]["state"], "waiting");
  EXPECT_TRUE(status["kafka"]["last_seen_ms"].is_null());
  const auto s = stage_json(status, first().name);
  EXPECT_TRUE(s["input_records_per_second"].is_null() || s["input_records_per_second"] == 0) << s.dump();
  EXPECT_EQ(s["replicas_up"], 0);
}

TEST_F(ConsoleModel, RatesAndCountersAreSummedOverReplicas) {
  model_->apply_scrapes({scrape("a", 1000, 100, 90, 10), scrape("b", 500, 50, 40, 10)});
  const auto s = stage_json(json::parse(model_->status_json()), first().name);
  EXPECT_EQ(s["state"], "up");
  EXPECT_EQ(s["replicas_up"], 2);
  EXPECT_DOUBLE_EQ(s["records_consumed_total"].get<double>(), 1500);
  EXPECT_DOUBLE_EQ(s["input_records_per_second"].get<double>(), 150);
  EXPECT_DOUBLE_EQ(s["processed_records_per_second"].get<double>(), 130);
  EXPECT_DOUBLE_EQ(s["cached_windows"].get<double>(), 14);
  EXPECT_DOUBLE_EQ(s["event_time_lag_seconds"].get<double>(), 2.5);
  ASSERT_EQ(s["replicas"].size(), 2u);
  EXPECT_EQ(s["replicas"][0]["partitions"].size(), 2u);
  // The watermark is the wall clock minus the event-time lag.
  const auto wm = s["watermark_ms"].get<double>();
  EXPECT_NEAR(wm, static_cast<double>(wall_clock_ms()) - 2500, 5000);
}

TEST_F(ConsoleModel, LatencyQuantilesComeFromDeltasBetweenScrapes) {
  model_->apply_scrapes({scrape("a", 1000, 100, 90, 10)});
  auto s = stage_json(json::parse(model_->status_json()), first().name);
  EXPECT_TRUE(s["record_latency_seconds"]["p50"].is_null());  // one scrape: no interval yet
  model_->apply_scrapes({scrape("a", 2000, 100, 90, 30)});
  s = stage_json(json::parse(model_->status_json()), first().name);
  ASSERT_FALSE(s["record_latency_seconds"]["p50"].is_null()) << s.dump();
  EXPECT_NEAR(s["record_latency_seconds"]["p50"].get<double>(), 0.05, 1e-9);
}

TEST_F(ConsoleModel, AReplicaThatStopsAnsweringIsDownWithItsLastSeenTime) {
  auto ok = scrape("a", 1000, 100, 90, 10);
  const auto seen = ok.at_ms;
  model_->apply_scrapes({ok});
  ReplicaScrape failed;
  failed.id = "a";
  failed.source = "a";
  failed.ok = false;
  failed.error = "connection refused";
  failed.at_ms = seen + 2000;
  model_->apply_scrapes({failed});
  const auto status = json::parse(model_->status_json());
  const auto s = stage_json(status, first().name);
  EXPECT_EQ(s["state"], "down");
  EXPECT_EQ(s["replicas_up"], 0);
  ASSERT_EQ(s["replicas"].size(), 1u);
  EXPECT_EQ(s["replicas"][0]["state"], "down");
  EXPECT_EQ(s["replicas"][0]["last_seen_ms"], seen);
  EXPECT_EQ(s["replicas"][0]["down_since_ms"], seen + 2000);
  EXPECT_EQ(s["replicas"][0]["error"], "connection refused");
  // A down replica's rates are not counted as current ones.
  EXPECT_TRUE(s["input_records_per_second"].is_null() || s["input_records_per_second"] == 0) << s.dump();
}

TEST_F(ConsoleModel, KafkaLagPerPartitionInRecordsAndSeconds) {
  lag::Collection c;
  c.at_ms = wall_clock_ms();
  const auto& topic = first().input_topics.front();
  c.partitions.push_back({first().group, topic, 0, 90, 0, 100, c.at_ms - 4000});  // 10 behind, 4 s old
  c.partitions.push_back({first().group, topic, 1, 50, 0, 50, std::nullopt});     // caught up
  c.topics.push_back({topic, 0, 0, 100});
  c.topics.push_back({topic, 1, 0, 50});
  model_->apply_kafka(c);
  const auto status = json::parse(model_->status_json());
  EXPECT_EQ(status["kafka"]["state"], "up");
  EXPECT_EQ(status["kafka"]["last_seen_ms"], c.at_ms);
  const auto s = stage_json(status, first().name);
  ASSERT_TRUE(s.contains("lag")) << s.dump();
  EXPECT_DOUBLE_EQ(s["lag"]["records"].get<double>(), 10);
  EXPECT_NEAR(s["lag"]["max_seconds"].get<double>(), 4.0, 1e-6);
  ASSERT_EQ(s["lag"]["partitions"].size(), 2u);

  // The broker stops answering: down, with when it was last seen; the last numbers stay dated.
  lag::Collection none;
  none.at_ms = c.at_ms + 2000;
  none.failed_requests = 3;
  model_->apply_kafka(none);
  const auto down = json::parse(model_->status_json());
  EXPECT_EQ(down["kafka"]["state"], "down");
  EXPECT_EQ(down["kafka"]["last_seen_ms"], c.at_ms);
  EXPECT_EQ(down["kafka"]["down_since_ms"], c.at_ms + 2000);
  EXPECT_FALSE(down["kafka"]["errors"].empty());
}

TEST_F(ConsoleModel, HistoryIsBoundedAndFiltered) {
  for (int i = 0; i < 30; ++i) model_->apply_scrapes({scrape("a", 1000.0 * i, 100, 90, 10.0 * i)});
  EXPECT_LE(model_->history_points(), model_->max_history_points());
  const auto all = json::parse(model_->history_json(0));
  ASSERT_TRUE(all.contains("t"));
  EXPECT_EQ(all["t"].size(), model_->history_points());
  const auto& series = all["stages"][first().name];
  EXPECT_EQ(series["input_rate"].size(), all["t"].size());
  EXPECT_DOUBLE_EQ(series["input_rate"].back().get<double>(), 100);
  const auto last_t = all["t"].back().get<std::int64_t>();
  EXPECT_EQ(json::parse(model_->history_json(last_t))["t"].size(), 0u);
  const auto point = json::parse(model_->last_point_json());
  EXPECT_EQ(point["t"], last_t);
}

TEST_F(ConsoleModel, OutputsAndDeadLettersKeepTheLatestWithReasons) {
  std::vector<TailRecord> records;
  const auto dlq = info_.dead_letter_topics().front();
  const auto out = info_.watch_topics.front();
  for (int i = 0; i < 150; ++i) {
    TailRecord r;
    r.topic = out;
    r.offset = i;
    r.key = "k" + std::to_string(i);
    r.value = "{\"n\":" + std::to_string(i) + "}";
    r.value_bytes = r.value.size();
    r.timestamp_ms = 1000 + i;
    records.push_back(r);
  }
  TailRecord bad;
  bad.topic = dlq;
  bad.offset = 7;
  bad.value = "garbage\xff";
  bad.value_bytes = bad.value.size();
  bad.headers = {{"streamwright.error", "not JSON"}};
  records.push_back(bad);
  model_->apply_records(records);
  const auto o = json::parse(model_->outputs_json());
  ASSERT_EQ(o["records"].size(), 100u);  // the latest 100
  bool newest = false;
  for (const auto& r : o["records"]) newest = newest || r["offset"] == 149;
  EXPECT_TRUE(newest);
  EXPECT_EQ(o["read_since_start"][out], 150);
  const auto d = json::parse(model_->dead_letters_json());  // invalid UTF-8 does not throw
  bool found = false;
  for (const auto& t : d["topics"]) {
    if (t["topic"] != dlq) continue;
    found = true;
    ASSERT_EQ(t["recent"].size(), 1u);
    EXPECT_EQ(t["recent"][0]["reason"], "not JSON");
    EXPECT_EQ(t["read_since_start"], 1);
  }
  EXPECT_TRUE(found) << d.dump();
  const auto snap = json::parse(model_->snapshot_json());
  EXPECT_TRUE(snap.contains("status"));
  EXPECT_TRUE(snap.contains("outputs"));
  EXPECT_TRUE(snap.contains("dead_letters"));
}

TEST(ConsoleWeb, ThePageAndItsScriptsAreEmbedded) {
  ASSERT_NE(find_web_asset("/"), nullptr);
  EXPECT_NE(find_web_asset("/")->body.find("<html"), std::string_view::npos);
  EXPECT_EQ(find_web_asset("/")->content_type.substr(0, 9), "text/html");
  ASSERT_NE(find_web_asset("/app.js"), nullptr);
  EXPECT_EQ(find_web_asset("/no-such-file"), nullptr);
  std::size_t n = 0;
  web_assets(n);
  EXPECT_GE(n, 3u);
}

}  // namespace
}  // namespace sw::console
