// The crash monitor's log generator (streamwright-loadgen's default mode): its output for a given
// seed is fixed (benchmarks and tests depend on it), an additional term replaces the crash texts
// in exactly the chosen fraction of the messages, and instances never share request ids.
#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>

#include <set>
#include <vector>
#include <string>

#include "topologies/crash_monitor_data.h"

namespace sw::crash_monitor {
namespace {

// FNV-1a over key, value pairs of `n` events at event times 1 ms apart.
std::uint64_t digest(const GeneratorConfig& gc, int n) {
  LogGenerator gen(gc);
  std::string key, value;
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](const std::string& s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
  };
  for (int i = 0; i < n; ++i) {
    gen.next(1767225600000 + i / 7, key, value);  // several events per millisecond, as in bursts
    mix(key);
    mix(value);
  }
  return h;
}

TEST(LogGenerator, OutputForASeedIsUnchanged) {
  GeneratorConfig gc;
  EXPECT_EQ(digest(gc, 200000), 14048563583820628480ULL);
  gc.seed = 7;
  gc.users = 40;
  gc.crash_rate = 0.5;
  gc.out_of_order = 0.1;
  gc.late = 0.02;
  EXPECT_EQ(digest(gc, 200000), 4337319699055004523ULL);
}

bool contains_folded(std::string text, std::string word) {
  for (auto* s : {&text, &word})
    for (char& c : *s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return text.find(word) != std::string::npos;
}

struct Counts {
  int events = 0, with_term = 0, with_crash = 0;
};

Counts count(const GeneratorConfig& gc, int n, const std::string& term) {
  LogGenerator gen(gc);
  std::string key, value;
  Counts c;
  for (int i = 0; i < n; ++i) {
    gen.next(1767225600000 + i, key, value);
    const auto j = nlohmann::json::parse(value);  // throws unless valid JSON
    const auto content = j.at("content").get<std::string>();
    ++c.events;
    c.with_term += contains_folded(content, term);
    c.with_crash += contains_folded(content, "crash");
  }
  return c;
}

TEST(LogGenerator, TermReplacesTheCrashTextsInTheChosenFraction) {
  GeneratorConfig gc;
  gc.term = "Absturz";
  gc.term_rate = 0.25;
  const auto c = count(gc, 40000, gc.term);
  EXPECT_NEAR(c.with_term / 40000.0, 0.25, 0.01);
  EXPECT_EQ(c.with_crash, 0);  // the crash texts are off: the term is the only special word

  gc.term = "crash";  // the seed's own ADDITIONAL_TERM=crash
  gc.term_rate = 0.1;
  EXPECT_NEAR(count(gc, 40000, "crash").with_term / 40000.0, 0.1, 0.01);
}

TEST(LogGenerator, TermRateBoundsAreExact) {
  GeneratorConfig gc;
  gc.term = "in";  // a word some ordinary messages contain: those are left out
  gc.term_rate = 0;
  EXPECT_EQ(count(gc, 5000, "in").with_term, 0);
  gc.term_rate = 1;
  EXPECT_EQ(count(gc, 5000, "in").with_term, 5000);
  gc.term = "d\xc3\xa9" "faillance";
  EXPECT_EQ(count(gc, 1000, gc.term).with_term, 1000);
}

TEST(LogGenerator, RejectsTermsThatWouldBreakJsonOrCannotBeCounted) {
  for (const std::string& bad : std::vector<std::string>{"", "  ", "a\"b", "a\\b", "a\nb", "a\x01", "\x7f", "\xff", "\xc3",
                                                      "\xed\xa0\x80", std::string(65, 'x'), "e"}) {
    SCOPED_TRACE("term '" + bad + "'");
    EXPECT_FALSE(term_problem(bad).empty());
    GeneratorConfig gc;
    gc.term = bad.empty() ? " " : bad;
    EXPECT_THROW(LogGenerator{gc}, std::invalid_argument);
  }
  EXPECT_NE(term_problem("e").find("every ordinary message"), std::string::npos);
  EXPECT_EQ(term_problem("crash"), "");
  EXPECT_EQ(term_problem("out of memory"), "");
  EXPECT_EQ(term_problem(std::string(64, 'x')), "");
  GeneratorConfig gc;
  gc.term = "crash";
  gc.term_rate = 1.5;
  EXPECT_THROW(LogGenerator{gc}, std::invalid_argument);
}

std::string request_id(const std::string& value) { return nlohmann::json::parse(value).at("request_id"); }

TEST(LogGenerator, InstancesHaveTheirOwnRequestIdsAndStreams) {
  GeneratorConfig gc;
  std::string key, value;
  LogGenerator solo(gc);
  solo.next(1767225600000, key, value);
  EXPECT_EQ(request_id(value), "r-000000000001");  // instance 0: the original format

  std::set<std::string> ids;
  std::set<std::string> values;
  for (std::uint32_t instance : {1u, 2u, 0xdeadbeefu}) {
    gc.instance = instance;
    LogGenerator gen(gc);
    for (int i = 0; i < 1000; ++i) {
      gen.next(1767225600000, key, value);
      EXPECT_TRUE(ids.insert(request_id(value)).second) << value;
      values.insert(value.substr(0, value.find("request_id")));
    }
  }
  EXPECT_TRUE(ids.count("r-00000002-000000000001")) << *ids.begin();
  EXPECT_TRUE(ids.count("r-deadbeef-000000001000"));
  EXPECT_GT(values.size(), 2900u);  // their own random streams, not three copies of one
}

}  // namespace
}  // namespace sw::crash_monitor
