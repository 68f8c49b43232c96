// The console against a running demo: `streamwright demo` prints the console's URL first; the
// JSON API's numbers agree with the stages' own /metrics counters and Kafka's offsets; a stage
// that stops answering is reported down with the time it was last seen, and up again after.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <map>
#include <regex>
#include <thread>

#include "common/time.h"
#include "harness.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

struct DemoStage {
  std::string name;
  pid_t pid = 0;
  std::uint16_t port = 0;
};

json api(std::uint16_t port, const std::string& path) {
  int status = 0;
  const auto body = http_get(port, path, &status);
  if (status != 200) return json();
  return json::parse(body, nullptr, false);
}

const json* stage_of(const json& status, const std::string& name) {
  if (!status.is_object() || !status.contains("stages")) return nullptr;
  for (const auto& s : status["stages"])
    if (s["name"] == name) return &s;
  return nullptr;
}

// Polls until `pred` holds for /api/status (returned) or the timeout passes (null).
template <class Pred>
json wait_status(std::uint16_t port, Pred pred, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto st = api(port, "/api/status");
    if (!st.is_discarded() && !st.is_null() && pred(st)) return st;
    std::this_thread::sleep_for(500ms);
  }
  return json();
}

TEST(Console, DemoServesTheApiWithTheStagesNumbersAndReportsAStoppedStage) {
  TempDir dir;
  ChildProcess demo(bin_dir() + "/streamwright",
                    {"demo", "crash-monitor", "--duration", "150", "--rate", "2000", "--max-alerts-shown", "0", "--work-dir",
                     (dir.path() / "work").string()},
                    ChildProcess::Options{true, (dir.path() / "demo.err").string(), "", {}});
  std::string out;
  std::uint16_t console_port = 0;
  std::vector<DemoStage> stages;
  const std::regex console_re(R"(^console http://127\.0\.0\.1:(\d+)/$)");
  const std::regex stage_re(R"(^stage (\S+) running \(pid (\d+), metrics http://127\.0\.0\.1:(\d+)/metrics)");
  bool first = true, console_running = false;
  while (auto line = demo.read_line(90s)) {
    out += *line + "\n";
    std::smatch m;
    if (first) {
      // The URL is the very first line.
      ASSERT_TRUE(std::regex_match(*line, m, console_re)) << out;
      console_port = static_cast<std::uint16_t>(std::stoi(m[1]));
      first = false;
    } else if (std::regex_search(*line, m, stage_re)) {
      stages.push_back({m[1], static_cast<pid_t>(std::stoi(m[2])), static_cast<std::uint16_t>(std::stoi(m[3]))});
    }
    if (line->rfind("console running", 0) == 0) console_running = true;
    if (line->rfind("watching", 0) == 0) break;
  }
  ASSERT_TRUE(console_running) << out;
  ASSERT_EQ(stages.size(), 2u) << out;

  // The structure: every stage the demo runs, with its consumer group.
  const auto pipeline = api(console_port, "/api/pipeline");
  ASSERT_TRUE(pipeline.is_object()) << out;
  EXPECT_EQ(pipeline["pipeline"], "crash-monitor");
  for (const auto& s : stages) {
    bool found = false;
    for (const auto& ps : pipeline["stages"]) found = found || ps["name"] == s.name;
    EXPECT_TRUE(found) << s.name << " not in " << pipeline.dump();
  }

  // Every stage up and processing, Kafka read.
  auto status = wait_status(
      console_port,
      [&](const json& st) {
        if (st["kafka"]["state"] != "up") return false;
        for (const auto& s : stages) {
          const auto* js = stage_of(st, s.name);
          if (!js || (*js)["state"] != "up" || !(*js)["records_consumed_total"].is_number() ||
              (*js)["records_consumed_total"].get<double>() <= 0)
            return false;
        }
        return true;
      },
      60s);
  ASSERT_FALSE(status.is_null()) << api(console_port, "/api/status").dump();

  // The console's counters are the stages' own: a stage's counter read before the console's
  // last scrape is at most the console's, which is at most the stage's counter read after.
  // Kafka's end offsets are read by their own poller, on its own clock (a round includes the
  // oldest-record probe, up to 3 s): compare them only with a counter read before that round began.
  const auto before_ms = wall_clock_ms();
  std::map<std::string, double> before;
  for (const auto& s : stages) before[s.name] = metric_value(http_get(s.port, "/metrics"), "streamwright_records_consumed_total");
  // Until the console has scraped every stage, and collected from Kafka, since `before` was read.
  ASSERT_TRUE(eventually(
      [&] {
        status = api(console_port, "/api/status");
        const auto& k = status["kafka"];
        if (!k.is_object() || k["state"] != "up" || !k["data_at_ms"].is_number() ||
            k["data_at_ms"].get<double>() - 1000 * k["collection_seconds"].get<double>() < static_cast<double>(before_ms))
          return false;
        for (const auto& s : stages) {
          const auto* js = stage_of(status, s.name);
          if (!js || !(*js)["records_consumed_total"].is_number() ||
              (*js)["records_consumed_total"].get<double>() < before[s.name])
            return false;
        }
        return true;
      },
      30s, 200ms));
  for (const auto& s : stages) {
    const auto after_text = http_get(s.port, "/metrics");
    const double after = metric_value(after_text, "streamwright_records_consumed_total");
    const auto* js = stage_of(status, s.name);
    ASSERT_NE(js, nullptr);
    const double shown = (*js)["records_consumed_total"].get<double>();
    EXPECT_GE(shown, before[s.name]) << s.name;
    EXPECT_LE(shown, after) << s.name;
    EXPECT_GT(shown, 0) << s.name;
    EXPECT_EQ((*js)["replicas_up"], 1) << s.name;
    ASSERT_EQ((*js)["replicas"].size(), 1u);
    const auto& r = (*js)["replicas"][0];
    EXPECT_EQ(r["state"], "up");
    EXPECT_EQ(r["source"], "http://127.0.0.1:" + std::to_string(s.port) + "/metrics");
    EXPECT_DOUBLE_EQ((*js)["assigned_partitions"].get<double>(),
                     metric_value(after_text, "streamwright_assigned_partitions"))
        << s.name;
    // Lag per partition from Kafka: each partition of each input topic, with records and seconds.
    ASSERT_TRUE(js->contains("lag")) << js->dump();
    std::size_t input_partitions = 0;
    for (const auto& ps : pipeline["stages"])
      if (ps["name"] == s.name) input_partitions = ps["input_topics"].size() * 4;  // the demo's 4 partitions
    EXPECT_EQ((*js)["lag"]["partitions"].size(), input_partitions) << js->dump();
    EXPECT_TRUE((*js)["lag"]["records"].is_number()) << js->dump();
  }
  // The input topic's end offsets, read after `before`, agree with what the first stage had
  // consumed by then: never fewer.
  double input_end = -1;
  for (const auto& t : status["topics"])
    if (t["name"] == pipeline["stages"][0]["input_topics"][0] && t["end_offsets"].is_number())
      input_end = t["end_offsets"].get<double>();
  EXPECT_GE(input_end, before[stages[0].name]) << status.dump();

  // History for the charts: points with rates (a stage's rate is measured from its second round
  // of end offsets on, so the first points may have none yet).
  json history;
  bool any_rate = false;
  for (int i = 0; i < 30 && !any_rate; ++i) {
    if (i > 0) std::this_thread::sleep_for(1s);
    history = api(console_port, "/api/history");
    ASSERT_TRUE(history.is_object());
    for (const auto& v : history["stages"][stages[0].name]["processed_rate"])
      any_rate = any_rate || (v.is_number() && v.get<double>() > 0);
  }
  EXPECT_GE(history["t"].size(), 3u);
  EXPECT_TRUE(any_rate) << history.dump();
  // Latest outputs: the demo's alerts.
  bool alerts = false;
  for (int i = 0; i < 60 && !alerts; ++i) {
    const auto o = api(console_port, "/api/outputs");
    alerts = o.is_object() && !o["records"].empty();
    if (!alerts) std::this_thread::sleep_for(1s);
  }
  EXPECT_TRUE(alerts) << api(console_port, "/api/outputs").dump();
  // Read-only.
  int post_status = 0;
  (void)http_get(console_port, "/api/nope", &post_status);
  EXPECT_EQ(post_status, 404);

  // Stop the last stage (SIGSTOP: it no longer answers, and the demo keeps running): it shows
  // as down with the time it was last seen, then up again after SIGCONT.
  const auto& victim = stages.back();
  const auto stopped_at = wall_clock_ms();
  ASSERT_EQ(::kill(victim.pid, SIGSTOP), 0);
  status = wait_status(
      console_port,
      [&](const json& st) {
        const auto* js = stage_of(st, victim.name);
        return js && (*js)["state"] == "down";
      },
      30s);
  ::kill(victim.pid, SIGCONT);
  ASSERT_FALSE(status.is_null()) << "never down: " << api(console_port, "/api/status").dump();
  const auto* down = stage_of(status, victim.name);
  const auto& replica = (*down)["replicas"][0];
  EXPECT_EQ(replica["state"], "down");
  ASSERT_TRUE(replica["last_seen_ms"].is_number()) << down->dump();
  EXPECT_LE(replica["last_seen_ms"].get<std::int64_t>(), stopped_at + 3000);
  EXPECT_GT(replica["last_seen_ms"].get<std::int64_t>(), stopped_at - 60000);
  EXPECT_TRUE(replica["error"].is_string());
  // The other stage is still up.
  EXPECT_EQ(stage_of(status, stages.front().name)->at("state"), "up");
  status = wait_status(
      console_port,
      [&](const json& st) {
        const auto* js = stage_of(st, victim.name);
        return js && (*js)["state"] == "up";
      },
      30s);
  EXPECT_FALSE(status.is_null()) << "never up again: " << api(console_port, "/api/status").dump();

  demo.signal(SIGTERM);
  EXPECT_TRUE(demo.wait(120s).has_value());
  while (auto line = demo.read_line(1s)) out += *line + "\n";
  // The console is gone with the demo.
  int after = 0;
  (void)http_get(console_port, "/api/status", &after);
  EXPECT_EQ(after, 0) << out;
}

TEST(Console, WrongFlagsAreRefusedBeforeAnythingStarts) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases{
      {{"console", "--bootstrap-servers", "127.0.0.1:1"}, "--topology"},
      {{"console", "--topology", "nope", "--bootstrap-servers", "127.0.0.1:1"}, "nope"},
      {{"console", "--topology", "crash-monitor"}, "--bootstrap-servers"},
      {{"console", "--topology", "crash-monitor", "--bootstrap-servers", "127.0.0.1:1", "--metrics-url", "localhost:9464"},
       "--metrics-url"},
      {{"console", "--topology", "crash-monitor", "--bootstrap-servers", "127.0.0.1:1", "--port", "99999"}, "--port"},
      {{"demo", "crash-monitor", "--console-port", "abc"}, "--console-port"},
  };
  for (const auto& c : cases) {
    TempDir dir;
    ChildProcess p(bin_dir() + "/streamwright", c.args, ChildProcess::Options{true, (dir.path() / "err").string(), "", {}});
    std::string out;
    while (auto line = p.read_line(20s)) out += *line + "\n";
    EXPECT_EQ(p.wait(20s).value_or(-1), 2) << c.args[1] << " " << out;
    std::ifstream in(dir.path() / "err");
    const std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(err.find(c.message), std::string::npos) << err;
    EXPECT_EQ(out.find("console http"), std::string::npos) << out;  // nothing started
  }
}

TEST(Console, AnUnreachableBrokerAndStageShowAsDownNotABlankPage) {
  TempDir dir;
  // Nothing listens on these ports.
  ChildProcess console(bin_dir() + "/streamwright",
                       {"console", "--topology", "crash-monitor", "--bootstrap-servers", "127.0.0.1:1", "--port", "0",
                        "--interval", "500ms", "--metrics-url", "parse=http://127.0.0.1:1/metrics"},
                       ChildProcess::Options{true, (dir.path() / "console.log").string(), "", {}});
  auto line = console.read_line(30s);
  ASSERT_TRUE(line && line->rfind("console http://127.0.0.1:", 0) == 0) << line.value_or("(nothing)");
  const auto port = static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  int page_status = 0;
  const auto page = http_get(port, "/", &page_status);
  EXPECT_EQ(page_status, 200);
  EXPECT_NE(page.find("<html"), std::string::npos);
  const auto status = wait_status(
      port,
      [](const json& st) {
        const auto* js = stage_of(st, "parse");
        return st["kafka"]["state"] == "down" && js && (*js)["state"] == "down";
      },
      60s);
  ASSERT_FALSE(status.is_null()) << api(port, "/api/status").dump();
  EXPECT_TRUE(status["kafka"]["last_seen_ms"].is_null());  // never seen
  EXPECT_TRUE(stage_of(status, "parse")->at("replicas")[0]["error"].is_string());
  console.signal(SIGTERM);
  EXPECT_EQ(console.wait(30s).value_or(-1), 0);
}

}  // namespace
}  // namespace sw::test
