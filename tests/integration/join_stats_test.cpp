// join-stats end to end: the dev broker and both stages as real processes (SIGKILL of either
// stage mid-stream, a dataset from a compacted topic changing mid-run, Spark-style input, start-up
// errors), and the launcher's demo on the shipped sample dataset.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "common/time.h"
#include "harness.h"
#include "topologies/join_stats_data.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;
namespace js = join_stats;
constexpr int kPartitions = 4;
constexpr std::uint32_t kProducts = 60;

// The exact statistics of one group and window, in hundredths (the generator writes cents and
// whole quantities).
struct Stats {
  std::int64_t count = 0, unmatched = 0;
  std::map<std::string, std::array<std::int64_t, 4>> fields;  // count, sum, min, max
  bool operator==(const Stats& o) const { return count == o.count && unmatched == o.unmatched && fields == o.fields; }
};
using Key = std::pair<std::string, std::string>;  // group ("<null>"), window start

std::int64_t hundredths(const nlohmann::json& v) { return static_cast<std::int64_t>(std::llround(v.get<double>() * 100)); }

class JoinStatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<DevBroker>(std::vector<std::string>{
        "events:4", "events-dlq:1", "event-stats:4", "join-stats-samples-by-group-repartition:4",
        "join-stats-group-stats-changelog:4", "catalogue:1"});
    std::filesystem::create_directories(dir_.path() / "data");
    std::ofstream(dir_.path() / "data" / "products.json") << js::products_json(kProducts);
    std::ifstream in(dir_.path() / "data" / "products.json");
    for (const auto& row : nlohmann::json::parse(in)) categories_[row["product_id"]] = row["category"];
  }
  void TearDown() override {
    if (HasFailure())
      for (auto& s : services_) dump_log(s->log());
    for (auto& s : services_) s->process().stop(30s);
  }
  Service& start(const std::string& stage, const std::string& instance, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--stage", stage, "--bootstrap-servers", broker_->bootstrap(), "--metrics-port", "0",
                                  "--state-dir", (dir_.path() / ("state-" + instance)).string(), "--commit-interval",
                                  "200ms"};
    // Defaults the test may override in `extra`.
    for (const auto& [option, value] : std::vector<std::pair<std::string, std::string>>{
             {"--idle-timeout", "1s"},
             {"--window-size", "2s"},
             {"--grace", "3s"},
             {"--dataset", (dir_.path() / "data" / "products.json").string()}})
      if (std::find(extra.begin(), extra.end(), option) == extra.end()) args.insert(args.end(), {option, value});
    args.insert(args.end(), extra.begin(), extra.end());
    services_.push_back(
        std::make_unique<Service>("streamwright-join-stats", args, dir_.path() / (stage + "-" + instance + ".log")));
    return *services_.back();
  }
  // The statistics of the produced sales per category and window, computed from the input and the
  // dataset file. Disorder stays below the grace, so no sale is late.
  std::map<Key, Stats> oracle(const std::vector<std::string>& input, TimestampMs window) const {
    std::map<Key, Stats> out;
    for (const auto& json : input) {
      const auto e = nlohmann::json::parse(json);
      TimestampMs ts;
      EXPECT_EQ(parse_rfc3339(e["timestamp"].get<std::string>(), ts), TimeParseError::none);
      const auto it = categories_.find(e["product_id"]);
      auto& s = out[{it == categories_.end() ? "<null>" : it->second, format_rfc3339(ts - ts % window)}];
      ++s.count;
      s.unmatched += it == categories_.end();
      for (const char* f : {"price", "quantity"}) {
        auto& x = s.fields.try_emplace(f, std::array<std::int64_t, 4>{0, 0, INT64_MAX, INT64_MIN}).first->second;
        if (e[f].is_null()) continue;
        const auto v = hundredths(e[f]);
        ++x[0];
        x[1] += v;
        x[2] = std::min(x[2], v);
        x[3] = std::max(x[3], v);
      }
    }
    return out;
  }
  // Reads event-stats until every expected window is there; duplicates (at-least-once after a
  // kill) must be identical. Returns the distinct statistics.
  std::map<Key, Stats> read_stats(std::size_t expected_windows, std::chrono::seconds timeout) {
    TopicReader reader(broker_->bootstrap(), "event-stats");
    auto key_of = [](const nlohmann::json& j) {
      return Key{j["group"].is_null() ? "<null>" : j["group"].get<std::string>(), j["window_start"]};
    };
    auto distinct = [&](const std::vector<Record>& records) {
      std::set<Key> keys;
      for (const auto& r : records) keys.insert(key_of(nlohmann::json::parse(r.value)));
      return keys.size();
    };
    const auto& records =
        reader.read_until([&](const auto& r) { return distinct(r) >= expected_windows; }, timeout, 3000ms);
    std::map<Key, Stats> out;
    std::map<Key, std::string> raw;
    for (const auto& r : records) {
      const auto j = nlohmann::json::parse(r.value);
      const Key k = key_of(j);
      EXPECT_EQ(r.key, j["group"].is_null() ? "" : k.first);
      auto [it, inserted] = raw.emplace(k, r.value);
      if (!inserted) {
        EXPECT_EQ(it->second, r.value) << "conflicting results for one window";
        continue;
      }
      Stats s;
      s.count = j["count"];
      s.unmatched = j["unmatched"];
      for (const char* f : {"price", "quantity"}) {
        const auto& x = j["stats"][f];
        auto& y = s.fields[f];
        y = {x["count"].get<std::int64_t>(), 0, INT64_MAX, INT64_MIN};
        if (y[0] == 0) continue;
        y[1] = hundredths(x["sum"]);
        y[2] = hundredths(x["min"]);
        y[3] = hundredths(x["max"]);
        // The average is the exact sum over the count, to 6 decimals.
        EXPECT_NEAR(x["avg"].get<double>(), static_cast<double>(y[1]) / 100.0 / static_cast<double>(y[0]), 5.1e-7) << r.value;
      }
      out[k] = s;
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<DevBroker> broker_;
  std::vector<std::unique_ptr<Service>> services_;
  std::map<std::string, std::string> categories_;  // product -> category
};

// A live stream of sales at event time = now, for `seconds`, about 2000 sales/s.
std::vector<std::string> produce_live(const std::string& bootstrap, std::chrono::seconds seconds, std::uint64_t seed) {
  js::GeneratorConfig g;
  g.products = kProducts;
  g.seed = seed;
  g.unknown_rate = 0.03;
  g.null_quantity_rate = 0.05;
  g.out_of_order = 0.1;
  g.max_disorder = 1000ms;  // below the 3 s grace
  js::SalesEventGenerator gen(g);
  return test::produce_live(bootstrap, "events", kPartitions, seconds,
                           [&gen](std::int64_t now, std::string& key, std::string& value) { gen.next(now, key, value); });
}

class JoinStatsKillTest : public JoinStatsTest, public ::testing::WithParamInterface<std::string> {};

// The aggregator restores from the changelog alone; a killed enrich stage replays from its last
// commit, ending each pre-aggregation chunk where the commit says, and the aggregator drops the
// partials it already merged. Either way every statistic is exact.
TEST_P(JoinStatsKillTest, StageKilledMidStreamGivesExactStatistics) {
  const std::string kill_stage = GetParam();
  Service* enrich = &start("enrich", "e1");
  Service* aggregate = &start("aggregate", "a1");
  ASSERT_TRUE(enrich->wait_ready(60s));
  ASSERT_TRUE(aggregate->wait_ready(60s));

  std::vector<std::string> produced;
  std::thread producer([&] { produced = produce_live(broker_->bootstrap(), 12s, 21); });
  // Mid-stream: the aggregate has taken part of the input when the stage dies.
  const bool aggregate_dies = kill_stage == "aggregate";
  kill_mid_stream(broker_->bootstrap(), *aggregate, aggregate_dies ? *aggregate : *enrich, "events", [&] {
    if (aggregate_dies)
      aggregate = &start("aggregate", "a1-fresh");  // no local state: the changelog alone
    else
      enrich = &start("enrich", "e2");
  });
  producer.join();

  const auto expected = oracle(produced, 2000);
  ASSERT_GT(expected.size(), 50u);
  const auto got = read_stats(expected.size(), 90s);
  EXPECT_EQ(got.size(), expected.size());
  std::size_t mismatches = 0;
  for (const auto& [k, s] : expected) {
    const auto it = got.find(k);
    if (it == got.end() || !(it->second == s)) {
      if (++mismatches <= 5) ADD_FAILURE() << "window " << k.first << " " << k.second << " differs";
    }
  }
  EXPECT_EQ(mismatches, 0u);
  if (kill_stage == "aggregate") {
    EXPECT_GT(aggregate->metric("streamwright_restored_records_total"), 0);
  } else {
    // Unknown products are counted by the enrich stage that saw them (the new one: since restart).
    EXPECT_GT(enrich->metric("streamwright_table_lookup_misses_total"), 0);
  }
  EXPECT_TRUE(enrich->process().running());
  EXPECT_TRUE(aggregate->process().running());
  EXPECT_EQ(enrich->metric("streamwright_dead_letter_records_total"), 0);
}

INSTANTIATE_TEST_SUITE_P(Kill, JoinStatsKillTest, ::testing::Values("aggregate", "enrich"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// The dataset from a compacted topic, read whole by the enrich stage; a changed row takes effect
// mid-run. What Spark's from_json accepted: integer ids (in the events and the rows) joined by
// their text, timestamps without a zone read in --default-time-zone. Unknown keys and bad records
// go to the dead-letter topic with a reason.
TEST_F(JoinStatsTest, TopicDatasetUpdatesTakeEffectAndUnknownKeysAreDeadLettered) {
  TestProducer p(broker_->bootstrap());
  p.send("catalogue", 0, "7", R"({"sku":7,"category":"books"})");
  p.send("catalogue", 0, "8", R"({"sku":"8","category":"toys"})");
  p.flush();
  const std::vector<std::string> extra{"--dataset", "topic:catalogue", "--join-key", "product", "--dataset-key", "sku",
                                       "--fields", "amount", "--timestamp-field", "ts", "--unknown-keys", "dead-letter",
                                       "--default-time-zone", "+05:30"};
  auto& enrich = start("enrich", "e1", extra);
  auto& aggregate = start("aggregate", "a1", extra);
  ASSERT_TRUE(enrich.wait_ready(60s));
  ASSERT_TRUE(aggregate.wait_ready(60s));
  EXPECT_EQ(enrich.metric("streamwright_table_rows{table=\"dataset\"}"), 2);

  // Local times at +05:30, written without a zone.
  const TimestampMs t0 = wall_clock_ms() / 2000 * 2000;
  auto local = [](TimestampMs t) {
    auto s = format_rfc3339(t + 19'800'000);  // "YYYY-MM-DDTHH:MM:SS[.fff]Z" 5.5 hours on
    s.pop_back();
    s[10] = ' ';
    return s;
  };
  auto sale = [&](const std::string& product, const std::string& amount, TimestampMs t) {
    return R"({"product":)" + product + R"(,"amount":)" + amount + R"(,"ts":")" + local(t) + "\"}";
  };
  p.send("events", 0, "a", sale("7", "1.5", t0 + 100));
  p.send("events", 1, "b", sale("\"7\"", "2.25", t0 + 200));
  p.send("events", 2, "c", sale("9", "1", t0 + 300));  // unknown
  p.send("events", 3, "d", R"({"product":7,"amount":"3","ts":")" + local(t0 + 400) + "\"}");
  p.flush();
  // All four joined with the first dataset (two of them dead-lettered) before it changes.
  ASSERT_TRUE(eventually(
      [&] {
        return enrich.metric("streamwright_records_consumed_total{stage=\"enrich\",topic=\"events\"") >= 4 &&
               enrich.metric("streamwright_dead_letter_records_total") >= 2;
      },
      30s));
  // The catalogue moves product 7 to another category: later sales count there.
  p.send("catalogue", 0, "7", R"({"sku":7,"category":"clearance"})");
  p.flush();
  const auto wait_rows = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < wait_rows &&
         enrich.metric("streamwright_table_reloads_total{table=\"dataset\",result=\"ok\"}") < 2)
    std::this_thread::sleep_for(100ms);
  // Event time now: idle partitions have followed the wall clock, so an older sale would be late.
  const TimestampMs t1 = (wall_clock_ms() / 2000 + 1) * 2000;
  p.send("events", 0, "e", sale("7", "4", t1));
  p.flush();

  TopicReader stats(broker_->bootstrap(), "event-stats");
  const auto& records = stats.read_until([](const auto& r) { return r.size() >= 2; }, 60s);
  std::map<std::string, nlohmann::json> by_window;
  for (const auto& r : records) {
    const auto j = nlohmann::json::parse(r.value);
    by_window[j["window_start"]] = j;
  }
  ASSERT_EQ(by_window.size(), 2u);
  const auto& first = by_window[format_rfc3339(t0)];
  EXPECT_EQ(first["group"], "books");
  EXPECT_EQ(first["count"], 2);
  EXPECT_EQ(first["stats"]["amount"]["sum"], 3.75);
  EXPECT_EQ(first["stats"]["amount"]["avg"], 1.875);
  EXPECT_EQ(by_window[format_rfc3339(t1)]["group"], "clearance");

  TopicReader dlq(broker_->bootstrap(), "events-dlq");
  const auto& dead = dlq.read_until([](const auto& r) { return r.size() >= 2; }, 30s, 500ms);
  ASSERT_EQ(dead.size(), 2u);
  std::set<std::string> reasons;
  for (const auto& r : dead) reasons.insert(r.headers.at("streamwright.error"));
  EXPECT_TRUE(reasons.count("unknown dataset key '9'")) << *reasons.begin();
  EXPECT_TRUE(reasons.count("field amount is not a number")) << *reasons.begin();
  EXPECT_EQ(enrich.metric("streamwright_dead_letter_records_total"), 2);
  EXPECT_EQ(enrich.metric("streamwright_table_lookup_misses_total"), 1);
  EXPECT_TRUE(enrich.process().running());
}

TEST_F(JoinStatsTest, MissingOrBrokenDatasetOrBadOptionsStopStartUpWithAClearMessage) {
  TempDir d;
  {
    std::ofstream(d.path() / "broken.json") << "[{\"product_id\": ";
  }
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"--stage", "enrich", "--bootstrap-servers", broker_->bootstrap(), "--metrics-port", "0",
                                  "--state-dir", d.path().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto err = d.path() / "stderr.log";
    std::filesystem::remove(err);
    ChildProcess proc(bin_dir() + "/streamwright-join-stats", args, ChildProcess::Options{true, err.string(), "", {}});
    while (proc.read_line(30s)) {
    }
    const int code = proc.wait(30s).value_or(-1);
    std::ifstream in(err);
    return std::pair<int, std::string>(code, std::string(std::istreambuf_iterator<char>(in), {}));
  };
  // An unreadable file is a usage error before anything connects; a broken one fails the load.
  auto [code, out] = run({"--dataset", (d.path() / "missing.json").string()});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("--dataset: cannot read '" + (d.path() / "missing.json").string() + "'"), std::string::npos) << out;
  std::tie(code, out) = run({"--dataset", (d.path() / "broken.json").string()});
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("table dataset: cannot load " + (d.path() / "broken.json").string()), std::string::npos) << out;
  const auto dataset = (dir_.path() / "data" / "products.json").string();
  for (const auto& [args, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--group-by", "category"}, "--group-by must be event.<field> or dataset.<field>, not 'category'"},
           {{"--fields", "price,,quantity"}, "--fields has an empty name"},
           {{"--fields", "price,price"}, "field price is named twice in --fields"},
           {{"--decimals", "12"}, "--decimals must be between 0 and 9"},
           {{"--unknown-keys", "drop"}, "--unknown-keys must be 'pass' or 'dead-letter', not 'drop'"},
           {{"--unknown-keys", "dead-letter", "--pre-aggregate", "true"}, "needs --pre-aggregate false"},
           {{"--max-cached-windows", "-1"}, "--max-cached-windows must not be negative"},
       }) {
    std::vector<std::string> a{"--dataset", dataset};
    a.insert(a.end(), args.begin(), args.end());
    std::tie(code, out) = run(a);
    EXPECT_EQ(code, 2) << message << "\n" << out;
    EXPECT_NE(out.find(message), std::string::npos) << out;
  }
}

TEST(JoinStatsLauncher, DemoShowsStatisticsPerCategoryFromTheSampleDataset) {
  TempDir dir;
  ChildProcess demo(bin_dir() + "/streamwright",
                    {"demo", "join-stats", "--duration", "25", "--rate", "5000", "--work-dir", (dir.path() / "work").string()},
                    ChildProcess::Options{true, (dir.path() / "demo.err").string(), "", {}});
  std::string out;
  while (auto line = demo.read_line(90s)) out += *line + "\n";
  EXPECT_EQ(demo.wait(30s).value_or(-1), 0) << out;
  // The shipped products joined: categories are named, not null.
  EXPECT_NE(out.find("STATS {\"group_by\":\"dataset.category\",\"group\":\"books\""), std::string::npos) << out;
  EXPECT_EQ(out.find("\"group\":null"), std::string::npos) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(enrich in [1-9][0-9]*/s processed [1-9][0-9]*/s lag)"))) << out;
  for (const char* stage : {"enrich", "aggregate"})
    EXPECT_NE(out.find(std::string("stage ") + stage + " stopped (exit 0)"), std::string::npos) << out;
}

}  // namespace
}  // namespace sw::test
