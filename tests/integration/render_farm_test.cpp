// The render-farm pipeline end to end: the dev broker and the three stages as real processes.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "common/time.h"
#include "harness.h"
#include "topologies/render_farm_data.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;
namespace rf = render_farm;
constexpr int kPartitions = 4;
constexpr std::uint32_t kScenes = 40, kNodes = 16;

// What every (scene, window) must report: the exact fields.
struct Metrics {
  std::int64_t frames = 0, failed = 0, retried = 0, over_budget = 0;
  double max_render = 0;
  std::set<std::string> nodes;
  std::string project;
  bool operator==(const Metrics& o) const {
    return frames == o.frames && failed == o.failed && retried == o.retried && over_budget == o.over_budget &&
           max_render == o.max_render && nodes == o.nodes && project == o.project;
  }
};
using Key = std::pair<std::string, std::string>;  // scene, window start

class RenderFarmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<DevBroker>(std::vector<std::string>{
        "render-events:4", "render-events-dlq:1", "render-metrics:4", "node-metrics:4",
        "render-farm-frames-by-scene-repartition:4", "render-farm-frames-by-node-repartition:4",
        "render-farm-scene-metrics-changelog:4", "render-farm-node-metrics-changelog:4", "studio-scenes:1"});
    rf::write_dimension_files(dir_.path() / "dims", kScenes, kNodes);
    std::ifstream in(dir_.path() / "dims" / "scenes.json");
    for (const auto& row : nlohmann::json::parse(in)) scenes_[row["scene_id"]] = row;
  }
  void TearDown() override {
    if (HasFailure())
      for (auto& s : services_) dump_log(s->log());
    for (auto& s : services_) s->process().stop(30s);
  }
  Service& start(const std::string& stage, const std::string& instance, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--stage", stage, "--bootstrap-servers", broker_->bootstrap(), "--metrics-port", "0",
                                  "--state-dir", (dir_.path() / ("state-" + instance)).string(), "--commit-interval",
                                  "200ms", "--window-size", "2s", "--grace", "3s"};
    // Defaults the test may override in `extra`.
    for (const auto& [option, value] : std::vector<std::pair<std::string, std::string>>{
             {"--idle-timeout", "1s"},
             {"--nodes", (dir_.path() / "dims" / "hardware_nodes.jsonl").string()},
             {"--scenes", (dir_.path() / "dims" / "scenes.json").string()}})
      if (std::find(extra.begin(), extra.end(), option) == extra.end()) args.insert(args.end(), {option, value});
    args.insert(args.end(), extra.begin(), extra.end());
    services_.push_back(std::make_unique<Service>("streamwright-render-farm", args,
                                                  dir_.path() / (stage + "-" + instance + ".log")));
    return *services_.back();
  }
  // The expected metrics of the produced frames, computed from the input and the scenes file.
  // Disorder stays below the grace, so no frame is late.
  std::map<Key, Metrics> oracle(const std::vector<std::string>& input, TimestampMs window) const {
    std::map<Key, Metrics> out;
    for (const auto& json : input) {
      const auto e = nlohmann::json::parse(json);
      TimestampMs ts;
      EXPECT_EQ(parse_rfc3339(e["timestamp"].get<std::string>(), ts), TimeParseError::none);
      const std::string scene = e["scene_id"];
      auto& m = out[{scene, format_rfc3339(ts - ts % window)}];
      const double render = e["render_time_ms"];
      ++m.frames;
      m.failed += e["status"] == "failed";
      m.retried += e["status"] == "retry";
      m.max_render = std::max(m.max_render, render);
      m.nodes.insert(e["node_id"].get<std::string>());
      const auto it = scenes_.find(scene);
      if (it != scenes_.end()) {
        m.project = it->second["project"];
        m.over_budget += render > it->second["frame_budget_ms"].get<double>();
      }
    }
    return out;
  }
  // Reads render-metrics until every expected window is there; duplicates (at-least-once after
  // a kill) must be identical. Returns the distinct metrics.
  std::map<Key, Metrics> read_metrics(std::size_t expected_windows, std::chrono::seconds timeout) {
    TopicReader reader(broker_->bootstrap(), "render-metrics");
    auto distinct = [](const std::vector<Record>& records) {
      std::set<Key> keys;
      for (const auto& r : records) {
        const auto j = nlohmann::json::parse(r.value);
        keys.emplace(j["scene_id"], j["window_start"]);
      }
      return keys.size();
    };
    const auto& records =
        reader.read_until([&](const auto& r) { return distinct(r) >= expected_windows; }, timeout, 3000ms);
    std::map<Key, Metrics> out;
    std::map<Key, std::string> raw;
    for (const auto& r : records) {
      const auto j = nlohmann::json::parse(r.value);
      const Key k{j["scene_id"], j["window_start"]};
      EXPECT_EQ(r.key, k.first);
      auto [it, inserted] = raw.emplace(k, r.value);
      if (!inserted) {
        EXPECT_EQ(it->second, r.value) << "conflicting results for one window";
        continue;
      }
      Metrics m;
      m.frames = j["frames"];
      m.failed = j["failed_frames"];
      m.retried = j["retried_frames"];
      m.over_budget = j["over_budget_frames"];
      m.max_render = j["max_render_time_ms"];
      m.project = j["project"];
      // The output carries the count of distinct nodes; the oracle's set gives the same count.
      const std::size_t n = j["nodes"];
      for (std::size_t i = 0; i < n; ++i) m.nodes.insert("#" + std::to_string(i));
      out[k] = m;
    }
    return out;
  }
  static std::map<Key, Metrics> anonymise_nodes(std::map<Key, Metrics> m) {
    for (auto& [k, v] : m) {
      const auto n = v.nodes.size();
      v.nodes.clear();
      for (std::size_t i = 0; i < n; ++i) v.nodes.insert("#" + std::to_string(i));
    }
    return m;
  }

  TempDir dir_;
  std::unique_ptr<DevBroker> broker_;
  std::vector<std::unique_ptr<Service>> services_;
  std::map<std::string, nlohmann::json> scenes_;
};

// A live stream of frames at event time = now, for `seconds`, about 2000 frames/s.
std::vector<std::string> produce_live(const std::string& bootstrap, std::chrono::seconds seconds, std::uint64_t seed) {
  rf::GeneratorConfig g;
  g.scenes = kScenes;
  g.nodes = kNodes;
  g.seed = seed;
  g.failure_rate = 0.05;
  g.retry_rate = 0.05;
  g.out_of_order = 0.1;
  g.max_disorder = 1000ms;  // below the 3 s grace
  rf::RenderEventGenerator gen(g);
  return test::produce_live(bootstrap, "render-events", kPartitions, seconds,
                           [&gen](std::int64_t now, std::string& key, std::string& value) { gen.next(now, key, value); });
}

class RenderFarmKillTest : public RenderFarmTest, public ::testing::WithParamInterface<std::string> {};

// The aggregator restores from the changelog alone; a killed enrich stage replays from its
// last commit, ending each pre-aggregation chunk where the commit says, and the aggregator drops
// the partials it already merged.
TEST_P(RenderFarmKillTest, StageKilledMidStreamGivesExactFinalMetrics) {
  const std::string kill_stage = GetParam();
  Service* enrich = &start("enrich", "e1");
  Service* aggregate = &start("aggregate", "a1");
  Service& nodes = start("node-aggregate", "n1");
  ASSERT_TRUE(enrich->wait_ready(60s));
  ASSERT_TRUE(aggregate->wait_ready(60s));
  ASSERT_TRUE(nodes.wait_ready(60s));

  std::vector<std::string> produced;
  std::thread producer([&] { produced = produce_live(broker_->bootstrap(), 12s, 11); });
  // Mid-stream: the aggregate has taken part of the input when the stage dies.
  const bool aggregate_dies = kill_stage == "aggregate";
  kill_mid_stream(broker_->bootstrap(), *aggregate, aggregate_dies ? *aggregate : *enrich, "render-events", [&] {
    if (aggregate_dies)
      aggregate = &start("aggregate", "a1-fresh");  // no local state: the changelog alone
    else
      enrich = &start("enrich", "e2");
  });
  producer.join();

  const auto expected = anonymise_nodes(oracle(produced, 2000));
  ASSERT_GT(expected.size(), 50u);
  const auto got = read_metrics(expected.size(), 90s);
  EXPECT_EQ(got.size(), expected.size());
  std::size_t mismatches = 0;
  for (const auto& [k, m] : expected) {
    const auto it = got.find(k);
    if (it == got.end() || !(it->second == m)) {
      if (++mismatches <= 5) ADD_FAILURE() << "window " << k.first << " " << k.second << " differs";
    }
  }
  EXPECT_EQ(mismatches, 0u);
  if (kill_stage == "aggregate") {
    EXPECT_GT(aggregate->metric("streamwright_restored_records_total"), 0);
  }
  EXPECT_TRUE(enrich->process().running());
}

INSTANTIATE_TEST_SUITE_P(Kill, RenderFarmKillTest, ::testing::Values("aggregate", "enrich"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

TEST_F(RenderFarmTest, TwoAggregatorReplicasGiveTheSameOutputAsOne) {
  auto& enrich = start("enrich", "e1");
  auto& a1 = start("aggregate", "a1");
  auto& a2 = start("aggregate", "a2");
  start("node-aggregate", "n1");
  ASSERT_TRUE(enrich.wait_ready(60s));
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  double n1 = 0, n2 = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    n1 = a1.metric("streamwright_assigned_partitions");
    n2 = a2.metric("streamwright_assigned_partitions");
    if (n1 > 0 && n2 > 0 && n1 + n2 == kPartitions) break;
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_EQ(n1 + n2, kPartitions);
  ASSERT_GT(n1, 0);
  const auto produced = produce_live(broker_->bootstrap(), 6s, 5);
  const auto expected = anonymise_nodes(oracle(produced, 2000));
  EXPECT_EQ(read_metrics(expected.size(), 60s), expected);
  EXPECT_GT(a1.metric("streamwright_records_consumed_total"), 0);
  EXPECT_GT(a2.metric("streamwright_records_consumed_total"), 0);
}

std::string frame(const std::string& scene, const std::string& node, TimestampMs ts) {
  return nlohmann::json{{"frame_id", "f"}, {"scene_id", scene}, {"node_id", node}, {"render_time_ms", 1000},
                        {"gpu_utilization", 0.5}, {"timestamp", format_rfc3339(ts)}}
      .dump();
}

// What Spark's from_json accepted, through the real processes: integer frame, scene and node ids
// (in the events and in the dimension files) joined and reported as their text, and
// "YYYY-MM-DD HH:MM:SS.fff" timestamps without a zone, read in --default-time-zone.
TEST_F(RenderFarmTest, IntegerIdsAndZonelessTimestampsAreJoinedAndWindowed) {
  {
    std::ofstream scenes(dir_.path() / "int-scenes.json");
    scenes << R"([{"scene_id":7,"project":"aurora","frame_budget_ms":1500}])";
    std::ofstream nodes(dir_.path() / "int-nodes.jsonl");
    nodes << R"({"node_id":3,"gpu_model":"A100","cpu_cores":64})" << "\n";
  }
  const std::vector<std::string> extra{"--scenes", (dir_.path() / "int-scenes.json").string(), "--nodes",
                                       (dir_.path() / "int-nodes.jsonl").string(), "--idle-timeout", "1h",
                                       "--default-time-zone", "Europe/Berlin"};
  auto& enrich = start("enrich", "e1", extra);
  start("aggregate", "a1", extra);
  start("node-aggregate", "n1", extra);
  ASSERT_TRUE(enrich.wait_ready(60s));
  TestProducer p(broker_->bootstrap());
  // 11:00:00.250 and 11:00:01.750 in Berlin (CET) are 10:00:00.250Z and 10:00:01.750Z.
  p.send("render-events", 0, "7",
         R"({"frame_id":1001,"scene_id":7,"node_id":3,"render_time_ms":1000,"gpu_utilization":0.5,"timestamp":"2026-01-01 11:00:00.250"})");
  p.send("render-events", 1, "7",
         R"({"frame_id":1002,"scene_id":7,"node_id":3,"render_time_ms":2000,"gpu_utilization":0.7,"timestamp":"2026-01-01 11:00:01.750"})");
  for (std::int32_t part = 0; part < kPartitions; ++part)  // event time moves on: the window closes
    p.send("render-events", part, "7",
           R"({"frame_id":9,"scene_id":7,"node_id":3,"render_time_ms":1,"gpu_utilization":0.1,"timestamp":"2026-01-01 12:00:00"})");
  p.flush();
  TopicReader metrics(broker_->bootstrap(), "render-metrics");
  const auto& records = metrics.read_until(
      [](const auto& r) {
        return std::any_of(r.begin(), r.end(), [](const Record& x) { return x.value.find("T10:00:00Z") != std::string::npos; });
      },
      60s);
  const Record* first = nullptr;
  for (const auto& r : records)
    if (r.value.find("\"window_start\":\"2026-01-01T10:00:00Z\"") != std::string::npos) first = &r;
  ASSERT_NE(first, nullptr);
  const auto j = nlohmann::json::parse(first->value);
  EXPECT_EQ(first->key, "7");
  EXPECT_EQ(j["scene_id"], "7");
  EXPECT_EQ(j["project"], "aurora");
  EXPECT_EQ(j["frames"], 2);
  EXPECT_EQ(j["over_budget_frames"], 1);
  EXPECT_EQ(j["nodes"], 1);
  // Spark's percentile_approx: of two frames, p95 is the larger.
  EXPECT_NEAR(j["p95_render_time_ms"].get<double>(), 2000, 20);
  TopicReader node_metrics(broker_->bootstrap(), "node-metrics");
  const auto& nodes = node_metrics.read_until([](const auto& r) { return !r.empty(); }, 60s);
  ASSERT_FALSE(nodes.empty());
  const auto n = nlohmann::json::parse(nodes.front().value);
  EXPECT_EQ(n["node_id"], "3");
  EXPECT_EQ(n["gpu_model"], "A100");
  EXPECT_EQ(n["window_start"], "2026-01-01T10:00:00Z");
  EXPECT_EQ(enrich.metric("streamwright_dead_letter_records_total"), 0);
}

// Scenes from a compacted topic, read whole by the enrich stage; a new row takes effect mid-run.
// Unknown ids and bad records go to the dead-letter topic with a reason.
TEST_F(RenderFarmTest, TopicTableUpdatesTakeEffectAndUnknownIdsAreDeadLettered) {
  TestProducer p(broker_->bootstrap());
  p.send("studio-scenes", 0, "scene-0001", R"({"scene_id":"scene-0001","project":"aurora","frame_budget_ms":500})");
  p.flush();
  auto& enrich = start("enrich", "e1", {"--scenes", "topic:studio-scenes", "--unknown-ids", "dead-letter", "--pre-aggregate", "false"});
  auto& aggregate = start("aggregate", "a1", {"--scenes", "topic:studio-scenes", "--unknown-ids", "dead-letter", "--pre-aggregate", "false"});
  start("node-aggregate", "n1", {"--scenes", "topic:studio-scenes", "--unknown-ids", "dead-letter", "--pre-aggregate", "false"});
  ASSERT_TRUE(enrich.wait_ready(60s));
  ASSERT_TRUE(aggregate.wait_ready(60s));
  EXPECT_EQ(enrich.metric("streamwright_table_rows{table=\"scenes\"}"), 1);

  const TimestampMs t0 = wall_clock_ms() / 2000 * 2000;
  p.send("render-events", 0, "node-001", frame("scene-0001", "node-001", t0 + 100));
  p.send("render-events", 1, "node-001", frame("scene-0404", "node-001", t0 + 200));  // unknown scene
  p.send("render-events", 2, "node-999", frame("scene-0001", "node-999", t0 + 300));  // unknown node
  p.send("render-events", 3, "x", "{\"frame_id\":");
  p.flush();
  // All four enriched with the first table (three of them dead-lettered) before it changes.
  ASSERT_TRUE(eventually(
      [&] {
        return enrich.metric("streamwright_records_consumed_total{stage=\"enrich\",topic=\"render-events\"") >= 4 &&
               enrich.metric("streamwright_dead_letter_records_total") >= 3;
      },
      30s));
  // The studio renames the project: later frames carry the new name.
  p.send("studio-scenes", 0, "scene-0001", R"({"scene_id":"scene-0001","project":"borealis","frame_budget_ms":500})");
  p.flush();
  const auto wait_rows = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < wait_rows &&
         enrich.metric("streamwright_table_reloads_total{table=\"scenes\",result=\"ok\"}") < 2)
    std::this_thread::sleep_for(100ms);
  // Event time now: idle partitions have followed the wall clock, so an older frame would be late.
  const TimestampMs t1 = (wall_clock_ms() / 2000 + 1) * 2000;
  p.send("render-events", 0, "node-001", frame("scene-0001", "node-001", t1));
  p.flush();

  TopicReader metrics(broker_->bootstrap(), "render-metrics");
  const auto& records = metrics.read_until([](const auto& r) { return r.size() >= 2; }, 60s);
  std::map<std::string, std::string> project_by_window;
  for (const auto& r : records) {
    const auto j = nlohmann::json::parse(r.value);
    project_by_window[j["window_start"]] = j["project"];
    EXPECT_EQ(j["over_budget_frames"], 1) << r.value;
  }
  EXPECT_EQ(project_by_window[format_rfc3339(t0)], "aurora");
  EXPECT_EQ(project_by_window[format_rfc3339(t1)], "borealis");

  TopicReader dlq(broker_->bootstrap(), "render-events-dlq");
  const auto& dead = dlq.read_until([](const auto& r) { return r.size() >= 3; }, 30s, 500ms);
  ASSERT_EQ(dead.size(), 3u);
  std::set<std::string> reasons;
  for (const auto& r : dead) reasons.insert(r.headers.at("streamwright.error"));
  EXPECT_TRUE(reasons.count("unknown scenes key 'scene-0404'"));
  EXPECT_TRUE(reasons.count("unknown hardware_nodes key 'node-999'"));
  EXPECT_EQ(enrich.metric("streamwright_dead_letter_records_total"), 3);
  EXPECT_TRUE(enrich.process().running());
}

TEST_F(RenderFarmTest, MissingOrBrokenDimensionDataStopsStartUpWithAClearMessage) {
  TempDir d;
  {
    std::ofstream(d.path() / "broken.json") << "[{\"scene_id\": ";
  }
  for (const auto& scenes : {(d.path() / "missing.json").string(), (d.path() / "broken.json").string()}) {
    std::vector<std::string> args{"--stage", "enrich", "--bootstrap-servers", broker_->bootstrap(), "--scenes", scenes,
                                  "--nodes", (dir_.path() / "dims" / "hardware_nodes.jsonl").string(),
                                  "--metrics-port", "0", "--state-dir", d.path().string()};
    const auto err = d.path() / "stderr.log";
    std::filesystem::remove(err);
    ChildProcess proc(bin_dir() + "/streamwright-render-farm", args, ChildProcess::Options{true, err.string(), "", {}});
    while (proc.read_line(30s)) {
    }
    EXPECT_NE(proc.wait(30s).value_or(0), 0);
    std::ifstream in(err);
    const std::string out(std::istreambuf_iterator<char>(in), {});
    // An unreadable file is a usage error before anything connects; a broken one fails the load.
    const std::string expected = scenes.find("missing") != std::string::npos ? "--scenes: cannot read '" + scenes + "'"
                                                                             : "table scenes: cannot load " + scenes;
    EXPECT_NE(out.find(expected), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace sw::test
