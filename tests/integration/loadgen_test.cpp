// streamwright-loadgen as a process against the dev broker: the JSON-file producer of the seeds
// (--replay of every file form, keys, bad records, --strict, looping with moved timestamps) and
// the seed load generator's environment variables (flags winning over them), and replicas that
// write one topic without colliding.
#include <gtest/gtest.h>
#include <zlib.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "harness.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;

struct Run {
  int code;
  std::string err;
};

Run run_loadgen(const TempDir& dir, const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  static int n = 0;
  const auto err = dir.path() / ("loadgen-" + std::to_string(++n) + ".err");
  ChildProcess p(bin_dir() + "/streamwright-loadgen", args,
                 ChildProcess::Options{false, err.string(), (dir.path() / "loadgen.out").string(), env});
  const auto code = p.wait(60s);
  std::ifstream in(err);
  std::stringstream ss;
  ss << in.rdbuf();
  return {code.value_or(-1), ss.str()};
}

class Loadgen : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    broker_ = new DevBroker({"logs:4", "replay-0:4", "replay-1:4", "replay-2:4", "replay-3:4", "replay-4:4", "replay-5:4",
                             "bad:2", "strict:2", "looped:2", "env-topic:2", "flag-topic:2", "replicas:4"});
  }
  static void TearDownTestSuite() {
    delete broker_;
    broker_ = nullptr;
  }
  // Everything in `topic` once `n` records are there (and nothing more comes for a moment: the
  // writers have exited before this is called, so a short quiet period suffices).
  static std::vector<Record> read(const std::string& topic, std::size_t n) {
    TopicReader reader(broker_->bootstrap(), topic);
    return reader.read_until([n](const std::vector<Record>& r) { return r.size() >= n; }, 30s, 300ms);
  }
  std::string write(const std::string& name, const std::string& data) {
    const auto p = (dir_.path() / name).string();
    std::ofstream(p, std::ios::binary) << data;
    return p;
  }
  std::string write_gzip(const std::string& name, const std::string& data) {
    const auto p = (dir_.path() / name).string();
    gzFile f = gzopen(p.c_str(), "wb");
    gzwrite(f, data.data(), static_cast<unsigned>(data.size()));
    gzclose(f);
    return p;
  }
  std::vector<std::string> replay_args(const std::string& file, const std::string& topic) {
    return {"--bootstrap-servers", broker_->bootstrap(), "--replay", file, "--topic", topic, "--rate", "0", "--quiet"};
  }
  static DevBroker* broker_;
  TempDir dir_;
};
DevBroker* Loadgen::broker_ = nullptr;

// 40 records with string ids, numeric ids and no id.
std::vector<nlohmann::json> records() {
  std::vector<nlohmann::json> v;
  for (int i = 0; i < 40; ++i) {
    nlohmann::json r{{"n", i}, {"text", "line\nbreak \"quoted\" {x}"}, {"nested", {{"id", "inner"}}}};
    if (i % 4 == 1) r["id"] = 1000 + i;  // a number key: its text
    else if (i % 4 != 3) r["id"] = "rec-" + std::to_string(i);
    v.push_back(r);
  }
  return v;
}

TEST_F(Loadgen, ReplaysEveryFileFormIntoTheTopic) {
  const auto recs = records();
  std::string array = nlohmann::json(recs).dump(2), pretty, lines;
  for (const auto& r : recs) {
    pretty += r.dump(2) + "\n";
    lines += r.dump() + "\n";
  }
  const std::vector<std::pair<std::string, std::string>> files{
      {"records.json", array},           {"pretty.json", pretty},         {"records.jsonl", lines},
      {"array.gz", array},               {"pretty.json.gz", pretty},      {"lines.data", lines}};
  for (std::size_t f = 0; f < files.size(); ++f) {
    const bool gz = f >= 3;
    SCOPED_TRACE(files[f].first + (gz ? " (gzip)" : ""));
    const auto path = gz ? write_gzip(files[f].first, files[f].second) : write(files[f].first, files[f].second);
    const std::string topic = "replay-" + std::to_string(f);
    auto args = replay_args(path, topic);
    args.insert(args.end(), {"--key-field", "id"});
    const auto r = run_loadgen(dir_, args);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("40 records"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("10 without a key"), std::string::npos) << r.err;
    const auto got = read(topic, recs.size());
    ASSERT_EQ(got.size(), recs.size());
    std::map<int, Record> by_n;
    for (const auto& rec : got) by_n[nlohmann::json::parse(rec.value).at("n").get<int>()] = rec;
    for (int i = 0; i < 40; ++i) {
      const auto& rec = by_n[i];
      EXPECT_EQ(rec.value, recs[static_cast<std::size_t>(i)].dump());  // compact JSON, one record a message
      const std::string key = i % 4 == 1 ? std::to_string(1000 + i) : i % 4 == 3 ? "" : "rec-" + std::to_string(i);
      EXPECT_EQ(rec.key, key) << rec.value;
    }
  }
}

TEST_F(Loadgen, BadRecordsAreSkippedOrStopAStrictRun) {
  std::string lines;
  for (int i = 1; i <= 10; ++i)
    lines += i == 6 ? "{\"user_id\": \"u6\", \"n\": }\n" : "{\"user_id\":\"u" + std::to_string(i) + "\",\"n\":" + std::to_string(i) + "}\n";
  const auto path = write("events.jsonl", lines);

  auto r = run_loadgen(dir_, replay_args(path, "bad"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("events.jsonl: line 6: bad record skipped"), std::string::npos) << r.err;
  EXPECT_EQ(read("bad", 9).size(), 9u);

  r = run_loadgen(dir_, [&] {
    auto a = replay_args(path, "strict");
    a.push_back("--strict");
    return a;
  }());
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("line 6: bad record"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stopping (--strict)"), std::string::npos) << r.err;
  const auto got = read("strict", 5);
  ASSERT_EQ(got.size(), 5u);  // the five before it, nothing after it
  std::set<std::string> keys;
  for (const auto& rec : got) keys.insert(rec.key);
  EXPECT_EQ(keys, (std::set<std::string>{"u1", "u2", "u3", "u4", "u5"}));
}

TEST_F(Loadgen, LoopingMovesTimestampsForwardEachPass) {
  const auto path = write_gzip("three.json.gz", R"([
  {"user_id": "a", "timestamp": "2026-01-01 10:00:00", "at": 1767261600000},
  {"user_id": "b", "timestamp": "2026-01-01 10:00:01", "at": 1767261601000},
  {"user_id": "c", "timestamp": "2026-01-01 10:00:02", "at": 1767261602000}
])");
  auto args = replay_args(path, "looped");
  args.insert(args.end(), {"--loop", "--count", "9", "--shift-timestamps", "timestamp,at"});
  const auto r = run_loadgen(dir_, args);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("3 passes"), std::string::npos) << r.err;
  const auto got = read("looped", 9);
  ASSERT_EQ(got.size(), 9u);
  std::set<std::string> times;
  std::set<std::int64_t> ats;
  for (const auto& rec : got) {
    const auto j = nlohmann::json::parse(rec.value);
    times.insert(j.at("timestamp").get<std::string>());
    ats.insert(j.at("at").get<std::int64_t>());
  }
  std::set<std::string> expected;
  std::set<std::int64_t> expected_at;
  for (int s = 0; s < 9; ++s) {
    expected.insert("2026-01-01 10:00:0" + std::to_string(s));
    expected_at.insert(1767261600000 + s * 1000);
  }
  EXPECT_EQ(times, expected);  // three passes, each following the one before
  EXPECT_EQ(ats, expected_at);
}

std::size_t containing(const std::vector<Record>& recs, const std::string& word) {
  std::size_t n = 0;
  for (const auto& r : recs) n += nlohmann::json::parse(r.value).at("content").get<std::string>().find(word) != std::string::npos;
  return n;
}

TEST_F(Loadgen, SeedEnvironmentVariablesAndFlagsWinningOverThem) {
  const std::vector<std::string> env{"KAFKA_BROKER=" + broker_->bootstrap(), "KAFKA_TOPIC=env-topic", "TARGET_RPS=4000",
                                     "ADDITIONAL_TERM=Absturz", "ADDITIONAL_TERM_RATE=0.5"};
  auto r = run_loadgen(dir_, {"--count", "2000"}, env);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("target 4000"), std::string::npos) << r.err;  // TARGET_RPS is the rate
  const auto from_env = read("env-topic", 2000);
  ASSERT_EQ(from_env.size(), 2000u);
  const auto with_term = containing(from_env, "Absturz");
  EXPECT_GT(with_term, 850u);
  EXPECT_LT(with_term, 1150u);

  // The same environment, with flags: the flags decide.
  r = run_loadgen(dir_, {"--count", "500", "--topic", "flag-topic", "--rate", "0", "--term", "Ausfall", "--term-rate", "1"},
                  env);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("target max"), std::string::npos) << r.err;
  const auto from_flags = read("flag-topic", 500);
  ASSERT_EQ(from_flags.size(), 500u);
  EXPECT_EQ(containing(from_flags, "Ausfall"), 500u);
  EXPECT_EQ(containing(from_flags, "Absturz"), 0u);
  EXPECT_EQ(read("env-topic", 2000).size(), 2000u);  // nothing more went to KAFKA_TOPIC

  // A bad value in the environment: exit code 2, named, before connecting.
  r = run_loadgen(dir_, {"--count", "1"},
                  {"KAFKA_BROKER=127.0.0.1:1", "ADDITIONAL_TERM=crash", "ADDITIONAL_TERM_RATE=250"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("ADDITIONAL_TERM_RATE (--term-rate) must be a fraction"), std::string::npos) << r.err;
}

TEST_F(Loadgen, ReplicasWritingOneTopicDoNotCollide) {
  // Three generators started alike, as `replicas: 3` would: their own instances and streams.
  std::vector<std::unique_ptr<ChildProcess>> procs;
  for (int i = 0; i < 3; ++i)
    procs.push_back(std::make_unique<ChildProcess>(
        bin_dir() + "/streamwright-loadgen",
        std::vector<std::string>{"--count", "3000", "--rate", "0", "--quiet"},
        ChildProcess::Options{false, (dir_.path() / ("replica-" + std::to_string(i) + ".err")).string(),
                              (dir_.path() / "replica.out").string(),
                              {"KAFKA_BROKER=" + broker_->bootstrap(), "KAFKA_TOPIC=replicas"}}));
  for (auto& p : procs) ASSERT_EQ(p->wait(60s).value_or(-1), 0);
  const auto got = read("replicas", 9000);
  ASSERT_EQ(got.size(), 9000u);
  std::set<std::string> ids, instances, first_events;
  for (const auto& r : got) {
    const auto j = nlohmann::json::parse(r.value);
    const auto id = j.at("request_id").get<std::string>();
    ids.insert(id);
    instances.insert(id.substr(0, id.rfind('-')));
    if (id.ends_with("-000000000001")) first_events.insert(j.at("user_id").get<std::string>() + j.at("content").get<std::string>());
  }
  EXPECT_EQ(ids.size(), 9000u);
  EXPECT_EQ(instances.size(), 3u);
  EXPECT_EQ(first_events.size(), 3u);  // not three copies of one stream
}

}  // namespace
}  // namespace sw::test
