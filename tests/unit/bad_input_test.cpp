// Every record of the malformed-input corpus (tests/data/bad-input/) goes to its pipeline's
// dead-letter topic with its specific reason, and a valid record after them is still processed
// (and still on time: no rejected record moved the partition's stream time).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <unistd.h>

#include "../support/bad_input_corpus.h"
#include "common/time.h"
#include "serde/json.h"
#include "testing/topology_test_driver.h"
#include "topologies/crash_monitor.h"
#include "topologies/render_farm.h"
#include "topologies/render_farm_data.h"
#include "topologies/telemetra.h"

namespace sw {
namespace {

using testing::TopologyTestDriver;
namespace bad = testing::bad_input;

constexpr TimestampMs kT = 1767261600000;  // 2026-01-01T10:00:00Z, the driver's start

std::vector<bad::Row> corpus(const std::string& name) {
  return bad::load(std::string(SW_SOURCE_DIR) + "/tests/data/bad-input/" + name + ".tsv");
}

// Pipes every row into `topic` (partition 0) and checks the dead letters, in order, one per row.
void expect_all_dead_lettered(TopologyTestDriver& driver, const std::string& topic, const std::string& dlq,
                              const std::vector<bad::Row>& rows) {
  for (const auto& row : rows) driver.pipe_input(topic, "k", row.value, 0);
  const auto dead = driver.read_output(dlq);
  ASSERT_EQ(dead.size(), rows.size());
  EXPECT_EQ(driver.counter("dead_lettered"), rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = dead[i];
    ASSERT_FALSE(r.headers.empty()) << "line " << rows[i].line;
    EXPECT_EQ(r.headers[0].first, "streamwright.error");
    EXPECT_TRUE(rows[i].matches(r.headers[0].second))
        << "line " << rows[i].line << ": reason \"" << r.headers[0].second << "\", expected " << (rows[i].prefix ? "prefix " : "")
        << "\"" << rows[i].reason << "\"";
    EXPECT_EQ(r.value, rows[i].value) << "line " << rows[i].line << ": the dead letter carries the original bytes";
  }
}

TEST(BadInputCorpus, ParsesAndIsNotEmpty) {
  for (const char* name : {"crash-monitor", "render-farm", "telemetra-chat"}) {
    const auto rows = corpus(name);
    EXPECT_GE(rows.size(), 40u) << name;
  }
  EXPECT_EQ(bad::expand_repeats("a@repeat(3,[)b@repeat(2,xy)"), "a[[[bxyxy");
  EXPECT_EQ(bad::from_hex("7b 7D"), "{}");
}

TEST(BadInput, CrashMonitorDeadLettersEveryRecordWithItsReason) {
  const auto rows = corpus("crash-monitor");
  crash_monitor::Config c;
  const auto topology = crash_monitor::build(c);
  TopologyTestDriver driver(topology, {});
  expect_all_dead_lettered(driver, "logs", "logs-dlq", rows);
  // Three crashes in one window after all that: an alert (threshold 2) with all three.
  for (int i = 0; i < 3; ++i)
    driver.pipe_input("logs", "user-00001",
                      R"({"timestamp":"2026-01-01T10:00:0)" + std::to_string(i + 1) +
                          R"(Z","user_id":"user-00001","severity":"High","content":"Application crash detected in module auth"})",
                      0);
  driver.commit();
  driver.advance_wall_clock(3600'000);
  driver.commit();
  const auto alerts = driver.read_output("crash-alerts");
  ASSERT_EQ(alerts.size(), 1u);
  const auto j = nlohmann::json::parse(alerts[0].value);
  EXPECT_EQ(j["user_id"], "user-00001");
  EXPECT_EQ(j["window_start"], "2026-01-01T10:00:00Z");
  EXPECT_EQ(j["crash_count"], 3);
  EXPECT_EQ(driver.counter("dead_lettered"), rows.size());
  EXPECT_EQ(driver.counter("late"), 0u);
}

struct Dims {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("sw-bad-input-" + std::to_string(::getpid()));
  Dims() { render_farm::write_dimension_files(dir, 10, 5); }
  ~Dims() { std::filesystem::remove_all(dir); }
};

TEST(BadInput, RenderFarmDeadLettersEveryRecordWithItsReason) {
  const auto rows = corpus("render-farm");
  Dims dims;
  render_farm::Config c;
  c.scenes_source = (dims.dir / "scenes.json").string();
  c.nodes_source = (dims.dir / "hardware_nodes.jsonl").string();
  const auto topology = render_farm::build(c);
  TopologyTestDriver driver(topology, {});
  expect_all_dead_lettered(driver, "render-events", "render-events-dlq", rows);
  driver.pipe_input("render-events", "f1",
                    R"({"frame_id":"f1","scene_id":"scene-0001","node_id":"node-001","render_time_ms":1500.5,)"
                    R"("gpu_utilization":0.5,"timestamp":"2026-01-01T10:00:05Z","status":"ok"})",
                    0);
  driver.commit();
  driver.advance_wall_clock(3 * 3600'000);
  driver.commit();
  driver.advance_wall_clock(60'000);
  driver.commit();
  const auto scenes = driver.read_output("render-metrics");
  ASSERT_EQ(scenes.size(), 1u);
  const auto s = nlohmann::json::parse(scenes[0].value);
  EXPECT_EQ(s["scene_id"], "scene-0001");
  EXPECT_EQ(s["window_start"], "2026-01-01T10:00:00Z");
  EXPECT_EQ(s["frames"], 1);
  const auto nodes = driver.read_output("node-metrics");
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(nodes[0].value)["node_id"], "node-001");
  EXPECT_EQ(driver.counter("dead_lettered"), rows.size());
  EXPECT_EQ(driver.counter("late"), 0u);
}

TEST(BadInput, TelemetraChatDeadLettersEveryRecordWithItsReason) {
  const auto rows = corpus("telemetra-chat");
  telemetra::Config c;
  const auto topology = telemetra::build(c);
  TopologyTestDriver driver(topology, {});
  expect_all_dead_lettered(driver, "chat-events", "chat-events-dlq", rows);
  driver.pipe_input("chat-events", "s1",
                    R"({"stream_id":"s1","user_id":"u1","message":"gg","emotes":["Kappa"],"timestamp":"2026-01-01T10:00:05Z"})",
                    0);
  driver.commit();
  driver.advance_wall_clock(3600'000);
  driver.commit();
  driver.advance_wall_clock(60'000);
  driver.commit();
  const auto summaries = driver.read_output("chat-summary");
  // Hopping windows of 1 min advancing 10 s: the record is in 6 windows, each summarised once.
  ASSERT_EQ(summaries.size(), 6u);
  for (const auto& r : summaries) {
    const auto j = nlohmann::json::parse(r.value);
    EXPECT_EQ(j["stream_id"], "s1");
    EXPECT_EQ(j["chat_count"], 1);
  }
  EXPECT_EQ(driver.counter("dead_lettered"), rows.size());
  EXPECT_EQ(driver.counter("late"), 0u);
}

}  // namespace
}  // namespace sw

namespace sw {
namespace {

TEST(EventTimeBounds, AcceptsOnly2000To2100) {
  TimestampMs t = 0;
  EXPECT_EQ(parse_event_time("2000-01-01T00:00:00Z", t), TimeParseError::none);
  EXPECT_EQ(t, kMinEventTimeMs);
  EXPECT_EQ(parse_event_time("2099-12-31T23:59:59.999Z", t), TimeParseError::none);
  EXPECT_EQ(t, kMaxEventTimeMs - 1);
  t = 42;
  EXPECT_EQ(parse_event_time("1999-12-31T23:59:59.999Z", t), TimeParseError::too_early);
  EXPECT_EQ(parse_event_time("2100-01-01T00:00:00Z", t), TimeParseError::too_late);
  EXPECT_EQ(parse_event_time("9999-12-31T23:59:59Z", t), TimeParseError::too_late);
  EXPECT_EQ(parse_event_time("2026-02-30T00:00:00Z", t), TimeParseError::out_of_range);
  EXPECT_EQ(t, 42) << "a rejected time leaves the output alone";
  EXPECT_EQ(check_event_time(INT64_MAX), TimeParseError::too_late);
  EXPECT_EQ(check_event_time(INT64_MIN), TimeParseError::too_early);
}

TEST(ValidateSkippedValues, NumbersOutOfDoubleRangeAreNumberErrors) {
  // The crash monitor's unknown fields are validated: 1e999 and -Infinity are bad numbers (they
  // used to be reported as "does not have the requested type").
  for (const char* json : {R"({"x":1e999})", R"({"x":-Infinity})"}) {
    simdjson::ondemand::document doc;
    ASSERT_EQ(json::thread_parser().parse(json, doc), simdjson::SUCCESS);
    simdjson::ondemand::object obj;
    ASSERT_EQ(doc.get_object().get(obj), simdjson::SUCCESS);
    simdjson::ondemand::value v;
    ASSERT_EQ(obj.find_field("x").get(v), simdjson::SUCCESS);
    EXPECT_EQ(json::validate(v), simdjson::NUMBER_ERROR) << json;
  }
}

}  // namespace
}  // namespace sw

namespace sw {
namespace {

std::string unhex(std::string_view hex) { return testing::bad_input::from_hex(hex); }

TEST(RenderFarmState, SceneMetricsOfAHugeSketchValueIsValidJson) {
  // Found by fuzz_render_aggregates (tests/fuzz/corpus/fuzz_render_aggregates/crash-scene-metrics-json-overflow):
  // a scene aggregate read back from state whose sketch gives a p95 of about 1e300. Its "%.3f"
  // has 300 digits; the 64-byte buffer was overrun and the bytes after it appended.
  const std::string bytes = unhex(
      "03010001a895b701e0c65b90aa8901066175726f72610300086e6f64652d3030310701320502783"
      "97b14ae47e17a843f0300000001007ffd61feffffffffffff7f00000000007897400002000000000001e80202");
  render_farm::SceneStats s;
  std::string error;
  ASSERT_TRUE(render_farm::scene_stats_serde().deserialize(bytes, s, error)) << error;
  const double p95 = s.render_ms.quantile(0.95);
  ASSERT_GT(p95, 1e100);
  std::string out;
  render_farm::scene_metrics_json(out, "scene-0001", Window{kT, kT + 60'000}, s);
  const auto j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_NEAR(j["p95_render_time_ms"].get<double>() / p95, 1.0, 1e-9);
  EXPECT_EQ(j["frames"], 3);
}

TEST(RenderFarmState, CountersBeyondTwoToThe56AreRejected) {
  render_farm::NodeStats n;
  n.frames = std::int64_t{1} << 56;
  std::string bytes, error;
  render_farm::node_stats_serde().serialize(n, bytes);
  render_farm::NodeStats back;
  EXPECT_TRUE(render_farm::node_stats_serde().deserialize(bytes, back, error)) << error;
  n.frames = -1;  // 2^64 - 1 as a varint: merging two would overflow
  bytes.clear();
  render_farm::node_stats_serde().serialize(n, bytes);
  EXPECT_FALSE(render_farm::node_stats_serde().deserialize(bytes, back, error));
  EXPECT_EQ(error, "bad node aggregate");
}

}  // namespace
}  // namespace sw
