// The render-farm pipeline through the TopologyTestDriver: parsing, known answers computed
// independently here, baseline equals optimized, two-phase aggregation exact across crashes,
// dimension reloads and unknown ids.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/time.h"
#include "testing/topology_test_driver.h"
#include "topologies/render_farm.h"
#include "topologies/render_farm_data.h"

namespace sw {
namespace {

using testing::TopologyTestDriver;
namespace rf = render_farm;
constexpr TimestampMs kT = 1767261600000;  // 2026-01-01T10:00:00Z, the driver's start

// ---------------------------------------------------------------------------------------------
// parsing

std::string valid_event() {
  return R"({"frame_id":"f1","scene_id":"scene-0001","node_id":"node-001","render_time_ms":18234,)"
         R"("gpu_utilization":0.87,"timestamp":"2026-01-01T10:15:30Z"})";
}

TEST(RenderEventParse, AcceptsTheSeedsEventAndOptionalFields) {
  rf::RenderEvent e;
  std::string error;
  ASSERT_TRUE(rf::parse_render_event(valid_event(), e, error)) << error;
  EXPECT_EQ(e.scene_id, "scene-0001");
  EXPECT_EQ(e.node_id, "node-001");
  EXPECT_DOUBLE_EQ(e.render_time_ms, 18234);
  EXPECT_DOUBLE_EQ(e.gpu_utilization, 0.87);
  EXPECT_EQ(e.status, rf::FrameStatus::ok);
  EXPECT_EQ(format_rfc3339(e.timestamp), "2026-01-01T10:15:30Z");
  const std::string full =
      R"({"frame_id":"f2","scene_id":"s","node_id":"n","render_time_ms":1.5,"gpu_utilization":0,"timestamp":"2026-01-01T10:15:30.250Z",)"
      R"("status":"retry","attempt":3,"memory_mb":4096,"cpu_utilization":0.5,"error":null,"extra":{"a":[1,2]}})";
  ASSERT_TRUE(rf::parse_render_event(full, e, error)) << error;
  EXPECT_EQ(e.status, rf::FrameStatus::retry);
  EXPECT_EQ(e.attempt, 3);
}

// What Spark's from_json accepted: integer ids keep their text; timestamps without a zone (UTC
// by default) or as epoch seconds. A number as a string in a numeric field stays an error.
TEST(RenderEventParse, AcceptsIntegerIdsAndSparkTimestampForms) {
  rf::RenderEvent e;
  std::string error;
  ASSERT_TRUE(rf::parse_render_event(
      R"({"frame_id":1001,"scene_id":7,"node_id":-3,"render_time_ms":18234,"gpu_utilization":0.87,"timestamp":"2026-01-01 10:15:30"})",
      e, error))
      << error;
  EXPECT_EQ(e.frame_id, "1001");
  EXPECT_EQ(e.scene_id, "7");
  EXPECT_EQ(e.node_id, "-3");
  EXPECT_EQ(format_rfc3339(e.timestamp), "2026-01-01T10:15:30Z");
  ASSERT_TRUE(rf::parse_render_event(
      R"({"frame_id":"f","scene_id":"s","node_id":"n","render_time_ms":1,"gpu_utilization":0.5,"timestamp":1767262530})", e,
      error))
      << error;
  EXPECT_EQ(format_rfc3339(e.timestamp), "2026-01-01T10:15:30Z");
  const TimeZone tokyo = TimeZone::parse("Asia/Tokyo");
  ASSERT_TRUE(rf::parse_render_event(
      R"({"frame_id":"f","scene_id":"s","node_id":"n","render_time_ms":1,"gpu_utilization":0.5,"timestamp":"2026-01-01 19:15:30.5"})",
      e, error, &tokyo))
      << error;
  EXPECT_EQ(format_rfc3339(e.timestamp), "2026-01-01T10:15:30.500Z");
  for (const auto& [input, reason] : std::vector<std::pair<std::string, std::string>>{
           {R"({"frame_id":1.5,"scene_id":"s","node_id":"n","render_time_ms":1,"gpu_utilization":0.5,"timestamp":"2026-01-01T10:00:00Z"})",
            "field frame_id is a number but not an integer"},
           {R"({"frame_id":"f","scene_id":true,"node_id":"n","render_time_ms":1,"gpu_utilization":0.5,"timestamp":"2026-01-01T10:00:00Z"})",
            "field scene_id is not a string or an integer"},
           {R"({"frame_id":"f","scene_id":"s","node_id":["n"],"render_time_ms":1,"gpu_utilization":0.5,"timestamp":"2026-01-01T10:00:00Z"})",
            "field node_id is not a string or an integer"},
           {R"({"frame_id":"f","scene_id":"s","node_id":"n","render_time_ms":"1234.5","gpu_utilization":0.5,"timestamp":"2026-01-01T10:00:00Z"})",
            "field render_time_ms is not a number"},
           {R"({"frame_id":"f","scene_id":"s","node_id":"n","render_time_ms":1,"gpu_utilization":"0.5","timestamp":"2026-01-01T10:00:00Z"})",
            "field gpu_utilization is not a number"},
       }) {
    EXPECT_FALSE(rf::parse_render_event(input, e, error)) << input;
    EXPECT_NE(error.find(reason), std::string::npos) << error;
  }
}

// Dimension rows: integer join keys as their text, so they meet the events' integer ids.
TEST(RenderFarmData, DimensionRowsTakeIntegerIds) {
  std::string key, error;
  rf::Scene scene;
  ASSERT_TRUE(rf::parse_scene_row(nlohmann::json::parse(R"({"scene_id":7,"project":"aurora"})"), key, scene, error)) << error;
  EXPECT_EQ(key, "7");
  rf::HardwareNode node;
  ASSERT_TRUE(rf::parse_node_row(nlohmann::json::parse(R"({"node_id":3,"gpu_model":"A100"})"), key, node, error)) << error;
  EXPECT_EQ(key, "3");
  EXPECT_FALSE(rf::parse_scene_row(nlohmann::json::parse(R"({"scene_id":7.5})"), key, scene, error));
  EXPECT_EQ(error, "field scene_id is not a string or an integer");
  EXPECT_FALSE(rf::parse_scene_row(nlohmann::json::parse(R"({"scene_id":"s","project":5})"), key, scene, error));
  EXPECT_EQ(error, "field project is not a string");
}

TEST(RenderEventParse, RejectsBadRecordsWithASpecificReason) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"{", "malformed JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"scene_id":"s","node_id":"n","render_time_ms":1,"gpu_utilization":0.5,"timestamp":"2026-01-01T10:00:00Z"})",
       "missing field frame_id"},
      {R"({"frame_id":"f","scene_id":"","node_id":"n","render_time_ms":1,"gpu_utilization":0.5,"timestamp":"2026-01-01T10:00:00Z"})",
       "field scene_id is empty"},
      {R"({"frame_id":"f","scene_id":"s","node_id":"n","render_time_ms":"1","gpu_utilization":0.5,"timestamp":"2026-01-01T10:00:00Z"})",
       "field render_time_ms is not a number"},
      {R"({"frame_id":"f","scene_id":"s","node_id":"n","render_time_ms":-1,"gpu_utilization":0.5,"timestamp":"2026-01-01T10:00:00Z"})",
       "field render_time_ms is out of range"},
      {R"({"frame_id":"f","scene_id":"s","node_id":"n","render_time_ms":1,"gpu_utilization":1.5,"timestamp":"2026-01-01T10:00:00Z"})",
       "field gpu_utilization is out of range"},
      {R"({"frame_id":"f","scene_id":"s","node_id":"n","render_time_ms":1,"gpu_utilization":0.5,"timestamp":"2026-02-30T10:00:00Z"})",
       "bad timestamp"},
      {R"({"frame_id":"f","scene_id":"s","node_id":"n","render_time_ms":1,"gpu_utilization":0.5,"timestamp":"2026-01-01T10:00:00Z","status":"done"})",
       "field status must be ok, failed or retry"},
      {R"({"frame_id":"f","scene_id":"s","scene_id":"t","node_id":"n","render_time_ms":1,"gpu_utilization":0.5,"timestamp":"2026-01-01T10:00:00Z"})",
       "duplicate field scene_id"},
      {R"({"frame_id":"f","scene_id":"s","node_id":"n","render_time_ms":1,"gpu_utilization":0.5,"timestamp":"2026-01-01T10:00:00Z","attempt":1.5})",
       "field attempt is not an integer"},
      {valid_event() + "x", "malformed JSON"},
  };
  for (const auto& [input, reason] : cases) {
    SCOPED_TRACE(input);
    rf::RenderEvent e;
    std::string error;
    EXPECT_FALSE(rf::parse_render_event(input, e, error));
    EXPECT_NE(error.find(reason), std::string::npos) << error;
  }
}

TEST(StringSet, KeepsEachIdOnceShortOrLongAcrossGrowth) {
  rf::StringSet set;
  std::set<std::string> expected;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 300; ++i) {
      // Short ids inline, and ids longer than a slot holds.
      const std::string id = (i % 3 == 0 ? "render-node-with-a-long-name-" : "n-") + std::to_string(i);
      EXPECT_EQ(set.insert(id), round == 0) << id;
      expected.insert(id);
    }
  }
  EXPECT_EQ(set.size(), expected.size());
  const auto sorted = set.sorted();
  EXPECT_TRUE(std::equal(sorted.begin(), sorted.end(), expected.begin(), expected.end()));
  set.clear();
  EXPECT_TRUE(set.empty());
  EXPECT_TRUE(set.insert(""));
  EXPECT_FALSE(set.insert(""));
}

TEST(SceneStats, SerdeRoundTripsAndMergeEqualsAggregatingTogether) {
  rf::SceneStats a, b, all;
  const std::vector<std::string> nodes{"node-001", "node-002", "node-010", "a-very-long-render-node-name-7", "node-002"};
  for (std::size_t i = 0; i < 40; ++i) {
    rf::Frame f;
    f.scene_id = "s";
    f.node_id = nodes[i % nodes.size()];
    f.project = "p";
    f.render_us = static_cast<std::int64_t>(1000 + 37 * i);
    f.gpu_ppm = static_cast<std::int64_t>(500000 + i);
    f.budget_us = 2000;
    f.status = i % 7 == 0 ? rf::FrameStatus::failed : rf::FrameStatus::ok;
    rf::add_frame(i < 15 ? a : b, f);
    rf::add_frame(all, f);
  }
  rf::merge(a, b);
  const auto serde = rf::scene_stats_serde();
  std::string x, y;
  // The published metrics of merged partials equal those of one aggregate of every frame (the
  // sketch's floating-point sum may differ in its last bits; no output uses it).
  rf::scene_metrics_json(x, "s", Window{0, 60000}, a);
  rf::scene_metrics_json(y, "s", Window{0, 60000}, all);
  EXPECT_EQ(x, y);
  x.clear();
  serde.serialize(a, x);
  rf::SceneStats back;
  std::string error;
  ASSERT_TRUE(serde.deserialize(x, back, error)) << error;
  std::string z;
  serde.serialize(back, z);
  EXPECT_EQ(z, x);
  EXPECT_EQ(back.nodes.size(), 4u);
  for (std::size_t n = 0; n < x.size(); ++n) {
    rf::SceneStats cut;
    EXPECT_FALSE(serde.deserialize(std::string_view(x).substr(0, n), cut, error)) << "truncated at " << n;
  }
}

TEST(RenderFarmData, ShippedDimensionFilesMatchTheGenerator) {
  // The load generator's ids and the sample tables must agree, or every join would miss.
  const std::filesystem::path shipped = std::filesystem::path(SW_SOURCE_DIR) / "topologies/data/render-farm";
  auto read = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(read(shipped / "scenes.json"), rf::scenes_json(200));
  EXPECT_EQ(read(shipped / "hardware_nodes.jsonl"), rf::nodes_json_lines(120));
}

// ---------------------------------------------------------------------------------------------
// the pipeline

struct Dims {
  std::filesystem::path dir;
  explicit Dims(std::uint32_t scenes = 30, std::uint32_t nodes = 12) {
    dir = std::filesystem::temp_directory_path() / ("sw-rf-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    rf::write_dimension_files(dir, scenes, nodes);
  }
  ~Dims() { std::filesystem::remove_all(dir); }
  std::string scenes() const { return (dir / "scenes.json").string(); }
  std::string nodes() const { return (dir / "hardware_nodes.jsonl").string(); }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

rf::Config config_for(const Dims& d, bool optimized) {
  rf::Config c;
  c.scenes_source = d.scenes();
  c.nodes_source = d.nodes();
  if (!optimized) {
    c.broadcast_join = false;
    c.pre_aggregate = false;
    c.state_retention = std::chrono::hours(24);
    c.cache_dimensions = false;
  }
  return c;
}

// Frame events spread over `minutes` of event time, with skewed scenes, failures and retries.
std::vector<std::pair<std::string, std::string>> generate(std::size_t n, int minutes, std::uint32_t scenes = 30,
                                                          std::uint32_t nodes = 12, double disorder = 0.1) {
  rf::GeneratorConfig g;
  g.scenes = scenes;
  g.nodes = nodes;
  g.failure_rate = 0.05;
  g.retry_rate = 0.05;
  g.out_of_order = disorder;
  g.max_disorder = std::chrono::seconds(20);
  rf::RenderEventGenerator gen(g);
  std::vector<std::pair<std::string, std::string>> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const TimestampMs ts = kT + static_cast<TimestampMs>(i) * minutes * 60'000 / static_cast<TimestampMs>(n);
    gen.next(ts, out[i].first, out[i].second);
  }
  return out;
}

// Runs the input through a driver, committing every `commit_every` records; closes every window.
struct PipelineRun {
  explicit PipelineRun(const rf::Config& c) : topology(rf::build(c)), driver(topology, {}) {}
  Topology topology;
  TopologyTestDriver driver;
  void feed(const std::vector<std::pair<std::string, std::string>>& input, std::size_t commit_every,
            const std::function<void(std::size_t)>& between = {}) {
    for (std::size_t i = 0; i < input.size(); ++i) {
      driver.pipe_input("render-events", input[i].first, input[i].second);
      if ((i + 1) % commit_every == 0) {
        driver.commit();
        if (between) between(i + 1);
      }
    }
  }
  void finish() {
    driver.commit();
    driver.advance_wall_clock(3 * 3600 * 1000);  // idle partitions follow the wall clock
    driver.commit();
    driver.advance_wall_clock(60'000);
    driver.commit();
  }
  std::multiset<std::string> output(const std::string& topic) {
    std::multiset<std::string> out;
    for (const auto& r : driver.all_records(topic)) out.insert(r.value);
    return out;
  }
};

struct Expected {
  std::int64_t frames = 0, failed = 0, retried = 0, over_budget = 0;
  double render_sum = 0, render_max = 0, gpu_sum = 0;
  std::vector<double> renders;
  std::set<std::string> nodes;
  std::string project;
};

// The scene metrics, computed directly from the input and the dimension files.
std::map<std::pair<std::string, TimestampMs>, Expected> expected_scene_metrics(
    const std::vector<std::pair<std::string, std::string>>& input, const Dims& dims, TimestampMs size) {
  std::map<std::string, nlohmann::json> scenes;
  std::ifstream in(dims.scenes());
  for (const auto& row : nlohmann::json::parse(in)) scenes[row["scene_id"]] = row;
  std::map<std::pair<std::string, TimestampMs>, Expected> out;
  for (const auto& [key, value] : input) {
    const auto e = nlohmann::json::parse(value);
    TimestampMs ts;
    EXPECT_EQ(parse_rfc3339(e["timestamp"].get<std::string>(), ts), TimeParseError::none);
    const std::string scene = e["scene_id"];
    auto& x = out[{scene, ts - ts % size}];
    const double render = e["render_time_ms"];
    ++x.frames;
    x.failed += e.value("status", "ok") == "failed";
    x.retried += e.value("status", "ok") == "retry";
    x.render_sum += render;
    x.render_max = std::max(x.render_max, render);
    x.gpu_sum += e["gpu_utilization"].get<double>();
    x.renders.push_back(render);
    x.nodes.insert(e["node_id"].get<std::string>());
    const auto it = scenes.find(scene);
    if (it != scenes.end()) {
      x.project = it->second["project"];
      x.over_budget += render > it->second["frame_budget_ms"].get<double>();
    }
  }
  return out;
}

TEST(RenderFarmTopology, SceneMetricsMatchAnIndependentComputation) {
  Dims dims;
  PipelineRun run(config_for(dims, true));
  const auto input = generate(6000, 5);
  run.feed(input, 700);
  run.finish();
  const auto expected = expected_scene_metrics(input, dims, 60'000);
  const auto got = run.driver.all_records("render-metrics");
  ASSERT_EQ(got.size(), expected.size());
  for (const auto& r : got) {
    const auto j = nlohmann::json::parse(r.value);
    TimestampMs start;
    ASSERT_EQ(parse_rfc3339(j["window_start"].get<std::string>(), start), TimeParseError::none);
    const auto it = expected.find({j["scene_id"].get<std::string>(), start});
    ASSERT_NE(it, expected.end()) << r.value;
    const Expected& x = it->second;
    SCOPED_TRACE(r.value);
    EXPECT_EQ(r.key, j["scene_id"]);
    EXPECT_EQ(j["project"], x.project);
    EXPECT_EQ(j["window_end"], format_rfc3339(start + 60'000));
    EXPECT_EQ(j["frames"], x.frames);
    EXPECT_EQ(j["failed_frames"], x.failed);
    EXPECT_EQ(j["retried_frames"], x.retried);
    EXPECT_EQ(j["over_budget_frames"], x.over_budget);
    EXPECT_EQ(j["nodes"], x.nodes.size());
    EXPECT_NEAR(j["avg_render_time_ms"].get<double>(), x.render_sum / static_cast<double>(x.frames), 0.00051);  // 3 decimals
    EXPECT_DOUBLE_EQ(j["max_render_time_ms"].get<double>(), x.render_max);
    EXPECT_NEAR(j["avg_gpu_utilization"].get<double>(), x.gpu_sum / static_cast<double>(x.frames), 1e-6);
    // p95 within the sketch's stated 1% of the exact value at the same rank (Spark's
    // percentile_approx: the ceil(0.95 n)-th smallest).
    auto sorted = x.renders;
    std::sort(sorted.begin(), sorted.end());
    const double exact = sorted[static_cast<std::size_t>(std::ceil(0.95 * static_cast<double>(sorted.size()))) - 1];
    EXPECT_NEAR(j["p95_render_time_ms"].get<double>(), exact, exact * 0.01 + 0.001);
  }
  EXPECT_EQ(run.driver.counter("dead_lettered"), 0u);
}

TEST(RenderFarmTopology, NodeMetricsCountEveryFrameOncePerNode) {
  Dims dims;
  PipelineRun run(config_for(dims, true));
  const auto input = generate(3000, 3);
  run.feed(input, 500);
  run.finish();
  std::map<std::pair<std::string, std::string>, std::pair<std::int64_t, std::int64_t>> expected;  // frames, failed
  for (const auto& [k, v] : input) {
    const auto e = nlohmann::json::parse(v);
    TimestampMs ts;
    ASSERT_EQ(parse_rfc3339(e["timestamp"].get<std::string>(), ts), TimeParseError::none);
    auto& x = expected[{e["node_id"], format_rfc3339(ts - ts % 60'000)}];
    ++x.first;
    x.second += e.value("status", "ok") == "failed";
  }
  const auto got = run.driver.all_records("node-metrics");
  ASSERT_EQ(got.size(), expected.size());
  for (const auto& r : got) {
    const auto j = nlohmann::json::parse(r.value);
    const auto& x = expected.at({j["node_id"], j["window_start"]});
    EXPECT_EQ(j["frames"], x.first);
    EXPECT_EQ(j["failed_frames"], x.second);
    EXPECT_FALSE(j["gpu_model"].get<std::string>().empty());
  }
}

TEST(RenderFarmTopology, BaselineAndOptimizedGiveIdenticalOutputs) {
  Dims dims;
  const auto input = generate(5000, 4);
  for (auto advance : {std::chrono::milliseconds(0), std::chrono::milliseconds(20'000)}) {
    SCOPED_TRACE(advance.count());
    auto optimized = config_for(dims, true), baseline = config_for(dims, false);
    optimized.window_advance = baseline.window_advance = advance;
    PipelineRun a(optimized), b(baseline);
    a.feed(input, 400);
    b.feed(input, 400);
    a.finish();
    b.finish();
    EXPECT_FALSE(a.output("render-metrics").empty());
    EXPECT_EQ(a.output("render-metrics"), b.output("render-metrics"));
    EXPECT_EQ(a.output("node-metrics"), b.output("node-metrics"));
  }
}

TEST(RenderFarmTopology, PartialsAreFarFewerThanFrames) {
  Dims dims(30, 12);
  PipelineRun run(config_for(dims, true));
  run.feed(generate(8000, 2), 4000);
  run.finish();
  std::size_t partials = 0;
  for (const auto& r : run.driver.all_records("render-farm-frames-by-scene-repartition"))
    partials += !r.value.empty() && r.value[0] == 'D';
  EXPECT_GT(partials, 0u);
  EXPECT_LT(partials, 8000u / 10) << "two-phase aggregation should send one partial per scene, window and chunk";
}

TEST(RenderFarmTopology, ACrashBetweenSendingPartialsAndCommittingChangesNothing) {
  Dims dims;
  const auto input = generate(6000, 5);
  PipelineRun reference(config_for(dims, true));
  reference.feed(input, 500);
  reference.finish();

  PipelineRun run(config_for(dims, true));
  int crashes = 0;
  run.feed(input, 500, [&](std::size_t done) {
    if (done % 1500 == 0) {
      // Partials of the open chunks are downstream, the offsets are not committed: the replay
      // must cut the input at the same offsets, and the aggregator must drop what it merged.
      run.driver.pipe_input("render-events", input[done % input.size()].first, input[done % input.size()].second);
      run.driver.send_chunks_then_crash("enrich");
      ++crashes;
    }
  });
  run.finish();
  EXPECT_EQ(crashes, 4);
  EXPECT_GT(run.driver.counter("deduplicated"), 0u) << "the replayed partials should have been recognised";
  // The extra records piped before each crash are real input: compare against a reference fed alike.
  PipelineRun reference2(config_for(dims, true));
  std::size_t i = 0;
  reference2.feed(input, 500, [&](std::size_t done) {
    if (done % 1500 == 0) reference2.driver.pipe_input("render-events", input[done % input.size()].first, input[done % input.size()].second);
    ++i;
  });
  reference2.finish();
  EXPECT_EQ(run.output("render-metrics"), reference2.output("render-metrics"));
  EXPECT_EQ(run.output("node-metrics"), reference2.output("node-metrics"));
}

TEST(RenderFarmTopology, AggregatorRestoredFromTheChangelogGivesTheSameMetrics) {
  Dims dims;
  const auto input = generate(4000, 4);
  PipelineRun reference(config_for(dims, true));
  reference.feed(input, 500);
  reference.finish();
  PipelineRun run(config_for(dims, true));
  run.feed(input, 500, [&](std::size_t done) {
    if (done == 1500) run.driver.crash_and_restart("aggregate", false);
    if (done == 3000) run.driver.crash_and_restart("node-aggregate", true);
  });
  run.finish();
  EXPECT_EQ(run.output("render-metrics"), reference.output("render-metrics"));
  EXPECT_EQ(run.output("node-metrics"), reference.output("node-metrics"));
}

TEST(RenderFarmTopology, LongRetentionKeepsClosedWindowsWithoutEmittingThemAgain) {
  Dims dims;
  auto c = config_for(dims, true);
  c.state_retention = std::chrono::hours(1);
  const auto input = generate(3000, 4);
  PipelineRun run(c), reference(config_for(dims, true));
  run.feed(input, 500, [&](std::size_t done) {
    if (done == 2000) run.driver.crash_and_restart("aggregate", true);
  });
  reference.feed(input, 500);
  reference.finish();
  run.driver.commit();
  run.driver.advance_wall_clock(20 * 60 * 1000);  // windows close, but are retained for an hour
  run.driver.commit();
  run.driver.crash_and_restart("aggregate", false);  // restored retained windows are not re-emitted
  run.finish();
  EXPECT_EQ(run.output("render-metrics"), reference.output("render-metrics"));
}

std::string frame(const std::string& scene, const std::string& node, double render, int second) {
  return nlohmann::json{{"frame_id", "f" + std::to_string(second)}, {"scene_id", scene}, {"node_id", node},
                        {"render_time_ms", render}, {"gpu_utilization", 0.5},
                        {"timestamp", format_rfc3339(kT + second * 1000LL)}}
      .dump();
}

TEST(RenderFarmTopology, UnknownIdsPassWithEmptyAttributesOrGoToTheDeadLetterTopic) {
  Dims dims(5, 5);
  {
    PipelineRun run(config_for(dims, true));
    run.driver.pipe_input("render-events", "k", frame("scene-9999", "node-004", 100, 1));
    run.driver.pipe_input("render-events", "k", frame("scene-0001", "node-999", 100, 2));
    run.finish();
    const auto out = run.driver.all_records("render-metrics");
    ASSERT_EQ(out.size(), 2u);
    std::map<std::string, nlohmann::json> by_scene;
    for (const auto& r : out) by_scene[nlohmann::json::parse(r.value)["scene_id"]] = nlohmann::json::parse(r.value);
    EXPECT_EQ(by_scene["scene-9999"]["project"], "");
    EXPECT_EQ(by_scene["scene-9999"]["over_budget_frames"], 0);
    EXPECT_EQ(by_scene["scene-0001"]["project"], "bluefin");
    const auto nodes = run.driver.all_records("node-metrics");
    ASSERT_EQ(nodes.size(), 2u);
    EXPECT_TRUE(run.driver.all_records("render-events-dlq").empty());
  }
  {
    auto c = config_for(dims, true);
    c.unknown_ids = MissingRow::dead_letter;
    c.pre_aggregate = false;  // dead-lettering by table content rules out partials
    PipelineRun run(c);
    run.driver.pipe_input("render-events", "k", frame("scene-9999", "node-004", 100, 1));
    run.driver.pipe_input("render-events", "k", frame("scene-0001", "node-999", 100, 2));
    run.driver.pipe_input("render-events", "k", frame("scene-0001", "node-001", 100, 3));
    run.driver.pipe_input("render-events", "k", "not json");
    run.finish();
    const auto dlq = run.driver.all_records("render-events-dlq");
    ASSERT_EQ(dlq.size(), 3u);
    std::set<std::string> reasons;
    for (const auto& r : dlq)
      for (const auto& [h, v] : r.headers)
        if (h == "streamwright.error") reasons.insert(v);
    EXPECT_TRUE(reasons.count("unknown scenes key 'scene-9999'")) << *reasons.begin();
    EXPECT_TRUE(reasons.count("unknown hardware_nodes key 'node-999'"));
    EXPECT_EQ(run.driver.all_records("render-metrics").size(), 1u);
  }
}

TEST(RenderFarmTopology, AChangedDimensionFileTakesEffectWithoutARestart) {
  Dims dims(5, 5);
  auto c = config_for(dims, true);
  c.dimension_check_interval = std::chrono::milliseconds(1000);
  PipelineRun run(c);
  run.driver.pipe_input("render-events", "k", frame("scene-0001", "node-001", 100, 1));
  // The studio renames the project and tightens the budget.
  {
    std::ofstream out(dims.scenes());
    out << R"([{"scene_id":"scene-0001","project":"renamed","frame_budget_ms":50}])";
  }
  std::filesystem::last_write_time(dims.scenes(), std::filesystem::file_time_type::clock::now() + std::chrono::seconds(5));
  run.driver.advance_wall_clock(2000);
  run.driver.pipe_input("render-events", "k", frame("scene-0001", "node-001", 100, 70));  // next window
  // A broken file is ignored: the last good table stays.
  {
    std::ofstream out(dims.scenes());
    out << R"([{"scene_id":)";
  }
  std::filesystem::last_write_time(dims.scenes(), std::filesystem::file_time_type::clock::now() + std::chrono::seconds(10));
  run.driver.advance_wall_clock(2000);
  run.driver.pipe_input("render-events", "k", frame("scene-0001", "node-001", 100, 130));
  run.finish();
  std::map<std::string, nlohmann::json> by_window;
  for (const auto& r : run.driver.all_records("render-metrics")) {
    const auto j = nlohmann::json::parse(r.value);
    by_window[j["window_start"]] = j;
  }
  ASSERT_EQ(by_window.size(), 3u);
  EXPECT_EQ(by_window["2026-01-01T10:00:00Z"]["project"], "bluefin");
  EXPECT_EQ(by_window["2026-01-01T10:00:00Z"]["over_budget_frames"], 0);
  EXPECT_EQ(by_window["2026-01-01T10:01:00Z"]["project"], "renamed");
  EXPECT_EQ(by_window["2026-01-01T10:01:00Z"]["over_budget_frames"], 1);
  EXPECT_EQ(by_window["2026-01-01T10:02:00Z"]["project"], "renamed");
}

TEST(RenderFarmTopology, InconsistentConfigurationsAreRejected) {
  Dims dims(2, 2);
  auto c = config_for(dims, true);
  c.broadcast_join = false;
  EXPECT_THROW(rf::build(c), std::invalid_argument);  // pre-aggregation needs the scene budget
  c = config_for(dims, true);
  c.unknown_ids = MissingRow::dead_letter;  // partials would depend on the tables' content
  EXPECT_THROW(rf::build(c), std::invalid_argument);
  c = config_for(dims, true);
  c.scenes_source.clear();
  EXPECT_THROW(rf::build(c), std::invalid_argument);
  c = config_for(dims, true);
  c.window_advance = std::chrono::minutes(2);  // advance larger than the window
  EXPECT_THROW(rf::build(c), std::invalid_argument);
}

// Every output record follows the JSON Schema shipped for consumers that chain on the topics.
void expect_matches_schema(const std::string& record, const std::string& schema_file) {
  std::ifstream in(std::filesystem::path(SW_SOURCE_DIR) / "topologies/schemas" / schema_file);
  const auto schema = nlohmann::json::parse(in);
  const auto j = nlohmann::json::parse(record);
  SCOPED_TRACE(record);
  for (const auto& name : schema["required"]) EXPECT_TRUE(j.contains(name.get<std::string>())) << name;
  for (const auto& [name, value] : j.items()) {
    ASSERT_TRUE(schema["properties"].contains(name)) << "not in the schema: " << name;
    const auto& prop = schema["properties"][name];
    const std::string type = prop["type"];
    const bool type_ok = type == "string"    ? value.is_string()
                         : type == "integer" ? value.is_number_integer()
                                             : value.is_number();
    EXPECT_TRUE(type_ok) << name << " should be " << type;
    if (prop.contains("minimum")) {
      EXPECT_GE(value.get<double>(), prop["minimum"].get<double>()) << name;
    }
    if (prop.contains("maximum")) {
      EXPECT_LE(value.get<double>(), prop["maximum"].get<double>()) << name;
    }
    if (prop.contains("format")) {
      TimestampMs t;
      EXPECT_EQ(parse_rfc3339(value.get<std::string>(), t), TimeParseError::none) << name;
    }
  }
}

TEST(RenderFarmTopology, OutputsFollowTheirJsonSchemas) {
  Dims dims;
  PipelineRun run(config_for(dims, true));
  run.feed(generate(2000, 2), 500);
  run.finish();
  const auto scenes = run.driver.all_records("render-metrics");
  const auto nodes = run.driver.all_records("node-metrics");
  ASSERT_FALSE(scenes.empty());
  ASSERT_FALSE(nodes.empty());
  for (const auto& r : scenes) expect_matches_schema(r.value, "render-metrics.schema.json");
  for (const auto& r : nodes) expect_matches_schema(r.value, "node-metrics.schema.json");
}

// Regression: a commit between processing upstream watermarks and applying them (the runtime
// applies them every 50 ms) wrote a marker whose event time was ahead of the windows actually
// closed; a restore then took those windows for emitted ones and they were never output.
TEST(RenderFarmTopology, AWindowClosedByWatermarksNotYetAppliedAtACommitIsEmittedAfterARestore) {
  Dims dims(5, 5);
  auto c = config_for(dims, true);
  c.state_retention = std::chrono::hours(1);
  auto topology = rf::build(c);
  TopologyTestDriver::Options o;
  o.apply_event_time_on_input = false;
  TopologyTestDriver driver(topology, o);
  for (std::int32_t p = 0; p < 4; ++p) driver.pipe_input("render-events", "k", frame("scene-0001", "node-001", 100, 1), p);
  driver.commit();
  // Every partition moves 20 minutes on: the first window (10:00-10:01, grace 10 min) can close.
  for (std::int32_t p = 0; p < 4; ++p)
    driver.pipe_input("render-events", "k", frame("scene-0002", "node-002", 100, 1200), p);
  driver.commit();  // partials and watermarks are processed downstream; this commit also applies them
  driver.crash_and_restart("aggregate", false);
  driver.advance_wall_clock(3 * 3600 * 1000);
  driver.commit();
  driver.advance_wall_clock(1000);
  std::map<std::string, int> emitted;
  for (const auto& r : driver.all_records("render-metrics")) ++emitted[nlohmann::json::parse(r.value)["scene_id"]];
  EXPECT_EQ(emitted["scene-0001"], 1) << "the first window must be output exactly once";
  EXPECT_EQ(emitted["scene-0002"], 1);
}

// Regression: idle advancement while a pre-aggregation chunk was open changed lateness decisions
// within the chunk, which a replay of the chunk (from its start, not idle) would decide otherwise.
TEST(RenderFarmTopology, IdleAdvancementWaitsForTheOpenChunkSoAReplayDecidesAlike) {
  Dims dims(5, 5);
  auto run_once = [&](bool crash) {
    PipelineRun run(config_for(dims, true));
    run.driver.pipe_input("render-events", "k", frame("scene-0001", "node-001", 100, 1), 0);
    run.driver.advance_wall_clock(20 * 60 * 1000);  // partition 0 is idle, its chunk still open
    run.driver.pipe_input("render-events", "k", frame("scene-0001", "node-002", 100, 2), 0);
    if (crash) run.driver.send_chunks_then_crash("enrich");
    run.finish();
    return run.output("render-metrics");
  };
  const auto plain = run_once(false);
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(*plain.begin())["frames"], 2) << *plain.begin();
  EXPECT_EQ(run_once(true), plain);
}

}  // namespace
}  // namespace sw
