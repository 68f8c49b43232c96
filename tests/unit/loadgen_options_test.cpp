// streamwright-loadgen's options: the seed load generator's environment variables, flags winning
// over them, clear usage errors before anything connects, and generator instances.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "services/loadgen/options.h"

namespace sw::loadgen {
namespace {

struct Parsed {
  ParseOutcome outcome;
  Settings settings;
  std::string err;
};

Parsed parse(std::vector<std::string> args, std::map<std::string, std::string> env = {}, long pid = 1234) {
  args.insert(args.begin(), "streamwright-loadgen");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  Parsed p;
  std::ostringstream out, err;
  p.outcome = parse_settings(static_cast<int>(argv.size()), argv.data(),
                             [&env](const char* name) -> const char* {
                               const auto it = env.find(name);
                               return it == env.end() ? nullptr : it->second.c_str();
                             },
                             "host-a", pid, p.settings, out, err);
  p.err = err.str();
  return p;
}

TEST(LoadgenOptions, TheSeedsEnvironmentVariables) {
  const auto p = parse({}, {{"KAFKA_BROKER", "kafka:9095"},
                            {"KAFKA_TOPIC", "seed-logs"},
                            {"TARGET_RPS", "60000"},
                            {"ADDITIONAL_TERM", "crash"},
                            {"ADDITIONAL_TERM_RATE", "0.01"}});
  ASSERT_EQ(p.outcome, ParseOutcome::run) << p.err;
  EXPECT_EQ(p.settings.bootstrap_servers, "kafka:9095");
  EXPECT_EQ(p.settings.topic, "seed-logs");
  EXPECT_EQ(p.settings.rate, 60000);
  EXPECT_EQ(p.settings.logs.term, "crash");
  EXPECT_EQ(p.settings.logs.term_rate, 0.01);
  // KAFKA_BOOTSTRAP_SERVERS still works, alone or with the same value as KAFKA_BROKER.
  EXPECT_EQ(parse({}, {{"KAFKA_BOOTSTRAP_SERVERS", "b:1"}}).settings.bootstrap_servers, "b:1");
  EXPECT_EQ(parse({}, {{"KAFKA_BOOTSTRAP_SERVERS", "b:1"}, {"KAFKA_BROKER", "b:1"}}).outcome, ParseOutcome::run);
}

TEST(LoadgenOptions, FlagsWinOverTheEnvironment) {
  const auto p = parse({"--bootstrap-servers", "flag:1", "--topic", "flag-topic", "--rate", "5", "--term", "boom",
                        "--term-rate", "0.5"},
                       {{"KAFKA_BROKER", "env:1"},
                        {"KAFKA_BOOTSTRAP_SERVERS", "other-env:1"},  // differs, but the flag decides
                        {"KAFKA_TOPIC", "env-topic"},
                        {"TARGET_RPS", "not a number"},              // never read: the flag wins
                        {"ADDITIONAL_TERM", "crash"},
                        {"ADDITIONAL_TERM_RATE", "100"}});
  ASSERT_EQ(p.outcome, ParseOutcome::run) << p.err;
  EXPECT_EQ(p.settings.bootstrap_servers, "flag:1");
  EXPECT_EQ(p.settings.topic, "flag-topic");
  EXPECT_EQ(p.settings.rate, 5);
  EXPECT_EQ(p.settings.logs.term, "boom");
  EXPECT_EQ(p.settings.logs.term_rate, 0.5);
}

// The seed's compose file: ADDITIONAL_TERM_RATE=100. Above 1 (up to 100) a rate is per cent,
// and the generator says how it read it.
TEST(LoadgenOptions, TheSeedsTermRateOfOneHundredIsReadAsPerCent) {
  const auto p = parse({}, {{"KAFKA_BROKER", "b:1"}, {"KAFKA_TOPIC", "logs"}, {"TARGET_RPS", "60000"},
                            {"ADDITIONAL_TERM", "crash"}, {"ADDITIONAL_TERM_RATE", "100"}});
  ASSERT_EQ(p.outcome, ParseOutcome::run) << p.err;
  EXPECT_EQ(p.settings.logs.term_rate, 1.0);
  EXPECT_NE(p.err.find("ADDITIONAL_TERM_RATE (--term-rate) 100 read as 100 per cent"), std::string::npos) << p.err;
  const auto five = parse({"--bootstrap-servers", "b:1", "--term", "oops", "--term-rate", "5"}, {});
  ASSERT_EQ(five.outcome, ParseOutcome::run) << five.err;
  EXPECT_DOUBLE_EQ(five.settings.logs.term_rate, 0.05);
}

TEST(LoadgenOptions, BadValuesAreUsageErrorsNamingTheirSource) {
  const std::vector<std::tuple<std::vector<std::string>, std::map<std::string, std::string>, std::string>> cases{
      {{}, {{"KAFKA_BROKER", "b:1"}, {"ADDITIONAL_TERM", "crash"}, {"ADDITIONAL_TERM_RATE", "101"}},
       "ADDITIONAL_TERM_RATE (--term-rate) must be a fraction of the messages between 0 and 1"},
      {{"--bootstrap-servers", "b:1", "--term", "crash", "--term-rate", "-0.1"}, {}, "--term-rate must be a fraction"},
      {{"--bootstrap-servers", "b:1", "--term", "crash", "--term-rate", "nan"}, {}, "--term-rate must be a fraction"},
      {{"--bootstrap-servers", "b:1", "--term", ""}, {}, "--term: the term must not be empty"},
      {{}, {{"KAFKA_BROKER", "b:1"}, {"ADDITIONAL_TERM", "say \"hi\""}}, "ADDITIONAL_TERM (--term): the term must not contain quotes"},
      {{"--bootstrap-servers", "b:1", "--term", "a\\b"}, {}, "must not contain quotes, backslashes"},
      {{"--bootstrap-servers", "b:1", "--term", "line\nbreak"}, {}, "control characters"},
      {{}, {{"KAFKA_BROKER", "b:1"}, {"ADDITIONAL_TERM", ""}}, "ADDITIONAL_TERM is set but empty"},
      {{}, {{"KAFKA_BROKER", "b:1"}, {"ADDITIONAL_TERM_RATE", "0.5"}}, "ADDITIONAL_TERM_RATE (--term-rate) needs a term"},
      {{"--bootstrap-servers", "b:1", "--term", "x", "--crash-rate", "0.2"}, {}, "with --term use --term-rate"},
      {{"--bootstrap-servers", "b:1", "--term", "x", "--mode", "render-farm"}, {}, "--term applies to the generated log events"},
      {{}, {{"KAFKA_BROKER", "b:1"}, {"TARGET_RPS", "fast"}}, "environment variable TARGET_RPS='fast'"},
      {{}, {{"KAFKA_BROKER", "b:1"}, {"TARGET_RPS", "-5"}}, "TARGET_RPS (--rate) must not be negative"},
      {{"--bootstrap-servers", "b:1", "--rate", "inf"}, {}, "--rate must not be negative"},
      {{}, {{"KAFKA_BROKER", "a:1"}, {"KAFKA_BOOTSTRAP_SERVERS", "b:1"}}, "are both set, to different values"},
      {{}, {{"KAFKA_TOPIC", "t"}}, "--bootstrap-servers is required"},
      {{"--bootstrap-servers", "b:1", "--instance", "many"}, {}, "--instance must be auto or a number"},
      {{"--bootstrap-servers", "b:1", "--instance", "4294967296"}, {}, "--instance must be auto or a number"},
      {{"--bootstrap-servers", "b:1", "--loop"}, {}, "apply to --replay"},
  };
  for (const auto& [args, env, message] : cases) {
    const auto p = parse(args, env);
    EXPECT_EQ(p.outcome, ParseOutcome::usage_error) << message;
    EXPECT_NE(p.err.find(message), std::string::npos) << "expected '" << message << "' in: " << p.err;
  }
}

TEST(LoadgenOptions, ReplayOptionsAreChecked) {
  const std::string file = std::string(SW_SOURCE_DIR) + "/README.md";  // any readable file
  const std::vector<std::string> base{"--bootstrap-servers", "b:1", "--replay", file};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  auto p = parse(with({"--loop", "--shift-timestamps", "ts, created_at", "--shift-by", "1h", "--key-field", "id",
                       "--strict", "--max-record-bytes", "4096"}));
  ASSERT_EQ(p.outcome, ParseOutcome::run) << p.err;
  ASSERT_TRUE(p.settings.replay);
  EXPECT_EQ(p.settings.replay->shift_fields, (std::vector<std::string>{"ts", "created_at"}));
  EXPECT_EQ(p.settings.replay->shift_by, ReplayOptions::ShiftBy::fixed);
  EXPECT_EQ(p.settings.replay->shift_fixed_ms, 3600000);
  EXPECT_EQ(p.settings.replay->key_field, "id");
  EXPECT_EQ(p.settings.replay->max_record_bytes, 4096u);
  EXPECT_TRUE(p.settings.loop);
  EXPECT_TRUE(p.settings.strict);
  for (const auto& [extra, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--shift-timestamps", "ts"}, "--shift-timestamps needs --loop"},
           {{"--loop", "--shift-timestamps", "ts,,x"}, "an empty field name"},
           {{"--loop", "--shift-timestamps", "ts", "--shift-by", "sometimes"}, "--shift-by must be span, wall or a duration"},
           {{"--loop", "--shift-by", "wall"}, "--shift-by needs --shift-timestamps"},
           {{"--max-record-bytes", "1"}, "--max-record-bytes must be between"},
           {{"--mode", "render-farm"}, "--mode and --replay exclude each other"},
           {{"--term", "crash"}, "not to --replay"},
       }) {
    p = parse(with(extra));
    EXPECT_EQ(p.outcome, ParseOutcome::usage_error) << message;
    EXPECT_NE(p.err.find(message), std::string::npos) << "expected '" << message << "' in: " << p.err;
  }
  p = parse({"--bootstrap-servers", "b:1", "--replay", "/nonexistent/x.json"});
  EXPECT_EQ(p.outcome, ParseOutcome::usage_error);
  EXPECT_NE(p.err.find("--replay: cannot read '/nonexistent/x.json'"), std::string::npos) << p.err;
  p = parse({"--bootstrap-servers", "b:1", "--replay", SW_SOURCE_DIR});
  EXPECT_NE(p.err.find("is a directory"), std::string::npos) << p.err;
}

TEST(LoadgenOptions, InstancesSeparateReplicasAndSeededRunsReproduce) {
  // Replicas started alike (same flags, same environment) get distinct instances and seeds.
  const auto a = parse({"--bootstrap-servers", "b:1"}, {}, 100);
  const auto b = parse({"--bootstrap-servers", "b:1"}, {}, 101);
  ASSERT_EQ(a.outcome, ParseOutcome::run);
  EXPECT_NE(a.settings.instance, 0u);
  EXPECT_NE(a.settings.instance, b.settings.instance);
  EXPECT_NE(a.settings.logs.seed, b.settings.logs.seed);
  EXPECT_EQ(a.settings.logs.instance, a.settings.instance);
  EXPECT_NE(a.settings.frames.seed, b.settings.frames.seed);
  EXPECT_NE(a.settings.chat.seed, b.settings.chat.seed);
  // Containers: the same pid on distinct hosts.
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(derive_instance("loadgen-" + std::to_string(i), 1));
  for (long pid = 2; pid < 1002; ++pid) seen.insert(derive_instance("host", pid));
  EXPECT_EQ(seen.size(), 2000u);
  EXPECT_EQ(seen.count(0), 0u);
  // --seed given: instance 0, the original stream, unless --instance says otherwise.
  const auto seeded = parse({"--bootstrap-servers", "b:1", "--seed", "7"}, {}, 100);
  EXPECT_EQ(seeded.settings.instance, 0u);
  EXPECT_EQ(seeded.settings.logs.seed, 7u);
  const auto given = parse({"--bootstrap-servers", "b:1", "--seed", "7", "--instance", "0x2a"});
  EXPECT_EQ(given.settings.instance, 42u);
  EXPECT_NE(given.settings.logs.seed, 7u);
  EXPECT_EQ(parse({"--bootstrap-servers", "b:1", "--instance", "3"}, {}, 5).settings.instance, 3u);
}

TEST(LoadgenOptions, HelpNamesTheRateUnitAndTheEnvironment) {
  std::vector<const char*> argv{"streamwright-loadgen", "--help"};
  std::ostringstream out, err;
  Settings s;
  ASSERT_EQ(parse_settings(2, argv.data(), [](const char*) -> const char* { return nullptr; }, "h", 1, s, out, err),
            ParseOutcome::done);
  for (const char* text : {"records per second sent by this process", "TARGET_RPS", "KAFKA_BROKER", "KAFKA_TOPIC",
                           "ADDITIONAL_TERM_RATE", "a fraction", "--replay", "--shift-timestamps", "--strict"})
    EXPECT_NE(out.str().find(text), std::string::npos) << text;
}

}  // namespace
}  // namespace sw::loadgen
