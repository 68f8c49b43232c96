// join-stats (seed 001) through the TopologyTestDriver: exact decimals, the event parser and the
// dataset rows, statistics against an independent computation, unknown keys passed or
// dead-lettered, a dataset change taking effect, one or two phases and a bounded window cache
// giving the same outputs, crashes and restores changing nothing, the output schema, and the
// malformed-input corpus.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <unistd.h>

#include "../support/bad_input_corpus.h"
#include "common/time.h"
#include "testing/topology_test_driver.h"
#include "topologies/join_stats.h"
#include "topologies/join_stats_data.h"

namespace sw {
namespace {

using testing::TopologyTestDriver;
namespace js = join_stats;
constexpr TimestampMs kT = 1767261600000;  // 2026-01-01T10:00:00Z, the driver's start

// ---------------------------------------------------------------------------------------------
// exact decimals

std::optional<std::int64_t> scaled(std::string_view token, int decimals = 6) {
  std::int64_t v = 0;
  if (!js::parse_scaled(token, decimals, v)) return std::nullopt;
  return v;
}

TEST(JoinStatsDecimal, ReadsJsonNumberTokensExactly) {
  EXPECT_EQ(scaled("0"), 0);
  EXPECT_EQ(scaled("-0"), 0);
  EXPECT_EQ(scaled("19.99"), 19'990'000);
  EXPECT_EQ(scaled("-19.99"), -19'990'000);
  EXPECT_EQ(scaled("0.1"), 100'000);  // no binary rounding: 0.1 is exactly 100000 units
  EXPECT_EQ(scaled("3"), 3'000'000);
  EXPECT_EQ(scaled("1.5e3"), 1'500'000'000);
  EXPECT_EQ(scaled("1.5E+3"), 1'500'000'000);
  EXPECT_EQ(scaled("25e-1"), 2'500'000);
  EXPECT_EQ(scaled("123456789.123456"), 123'456'789'123'456);
  EXPECT_EQ(scaled("0.00000000000000000000000000000000000000000000000000000000000000000000001"), 0);
  EXPECT_EQ(scaled("1" + std::string(80, '0') + "e-80"), 1'000'000);  // more digits than the buffer
  EXPECT_EQ(scaled("2 \n"), 2'000'000);                                // the token's trailing space
  // More decimals than kept: half away from zero.
  EXPECT_EQ(scaled("0.0000005"), 1);
  EXPECT_EQ(scaled("0.00000049999999"), 0);
  EXPECT_EQ(scaled("-0.0000005"), -1);
  EXPECT_EQ(scaled("2.5", 0), 3);
  EXPECT_EQ(scaled("-2.5", 0), -3);
  EXPECT_EQ(scaled("2.4999", 0), 2);
  EXPECT_EQ(scaled("0.5e-0", 0), 1);
  // The limit: 9e18 units.
  EXPECT_EQ(scaled("9000000000000"), 9'000'000'000'000'000'000);
  EXPECT_EQ(scaled("-9e12"), -9'000'000'000'000'000'000);
  EXPECT_EQ(scaled("9000000000000.000001"), std::nullopt);
  EXPECT_EQ(scaled("1e13"), std::nullopt);
  EXPECT_EQ(scaled("1e999"), std::nullopt);
  EXPECT_EQ(scaled("9000000000000000000", 0), 9'000'000'000'000'000'000);
  EXPECT_EQ(scaled("9000000000000000001", 0), std::nullopt);
  EXPECT_EQ(scaled("99999999999999999999", 0), std::nullopt);
  EXPECT_EQ(scaled("9", 9), 9'000'000'000);
  EXPECT_EQ(scaled("9000000000", 9), 9'000'000'000'000'000'000);
  EXPECT_EQ(scaled("9000000001", 9), std::nullopt);
  // Not JSON numbers.
  for (const char* bad : {"", "-", "01", "1.", ".5", "1e", "1e+", "+1", "0x10", "1.5.5", "Infinity", "-Infinity", "NaN",
                          "1 2", "--1", "1e5e5"})
    EXPECT_EQ(scaled(bad), std::nullopt) << bad;
  EXPECT_DOUBLE_EQ(js::value_limit(6), 9e12);
  EXPECT_DOUBLE_EQ(js::value_limit(0), 9e18);
}

std::string decimal(js::i128 v, int decimals = 6) {
  std::string out;
  js::append_decimal(out, v, decimals);
  return out;
}

TEST(JoinStatsDecimal, PrintsShortestDecimalsAndRoundsQuotients) {
  EXPECT_EQ(decimal(0), "0");
  EXPECT_EQ(decimal(19'990'000), "19.99");
  EXPECT_EQ(decimal(-19'990'000), "-19.99");
  EXPECT_EQ(decimal(3'000'000), "3");
  EXPECT_EQ(decimal(1), "0.000001");
  EXPECT_EQ(decimal(-1), "-0.000001");
  EXPECT_EQ(decimal(1'000'000'100'000), "1000000.1");
  EXPECT_EQ(decimal(7, 0), "7");
  EXPECT_EQ(decimal(1234, 2), "12.34");
  // Beyond 64 bits: a sum of many large values.
  const js::i128 big = static_cast<js::i128>(9'000'000'000'000'000'000LL) * 1'000'000;
  EXPECT_EQ(decimal(big), "9000000000000000000");
  EXPECT_EQ(decimal(-big - 5), "-9000000000000000000.000005");
  EXPECT_EQ(js::rounded_quotient(10, 4), 3);  // 2.5 -> 3
  EXPECT_EQ(js::rounded_quotient(-10, 4), -3);
  EXPECT_EQ(js::rounded_quotient(9, 4), 2);  // 2.25
  EXPECT_EQ(js::rounded_quotient(11, 4), 3);  // 2.75
  EXPECT_EQ(js::rounded_quotient(-11, 4), -3);
  EXPECT_EQ(js::rounded_quotient(1, 3), 0);
  EXPECT_EQ(js::rounded_quotient(2, 3), 1);
  EXPECT_EQ(js::rounded_quotient(big, 1), big);
}

// ---------------------------------------------------------------------------------------------
// parsing

js::Config default_config(const std::string& dataset = "products.json") {
  js::Config c;
  c.dataset_source = dataset;
  return c;
}

struct Parsed {
  bool ok = false;
  js::Event event;
  std::string error;
};
Parsed parse(const std::string& json, const js::Config& c = default_config(), const TimeZone* zone = nullptr) {
  const js::EventSpec spec(c);
  Parsed p;
  p.ok = js::parse_event(json, spec, p.event, p.error, zone);
  return p;
}

TEST(JoinStatsParse, ReadsTheConfiguredFieldsExactlyAndSkipsTheOthers) {
  const auto p = parse(
      R"({"order_id":"o-1","product_id":"p-0001","store_id":"s-03","price":19.99,"quantity":2,"timestamp":"2026-01-01T10:15:30Z","extra":{"a":[1,2.5,null]}})");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.key, "p-0001");
  EXPECT_EQ(p.event.group, "");
  EXPECT_EQ(format_rfc3339(p.event.timestamp), "2026-01-01T10:15:30Z");
  EXPECT_EQ(p.event.present, 3u);
  EXPECT_EQ(p.event.values[0], 19'990'000);
  EXPECT_EQ(p.event.values[1], 2'000'000);
}

TEST(JoinStatsParse, AbsentAndNullNumbersAreNoValue) {
  auto p = parse(R"({"product_id":"p","price":null,"timestamp":"2026-01-01T10:00:00Z"})");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.present, 0u);
  p = parse(R"({"product_id":"p","quantity":-4.25,"timestamp":"2026-01-01T10:00:00Z"})");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.present, 2u);
  EXPECT_EQ(p.event.values[1], -4'250'000);
}

// What Spark's from_json accepted: integer ids as their text, timestamps without a zone (UTC, or
// --default-time-zone) and epoch seconds or milliseconds.
TEST(JoinStatsParse, AcceptsIntegerIdsAndSparkTimestampForms) {
  auto p = parse(R"({"product_id":42,"price":1,"timestamp":"2026-01-01 10:15:30"})");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.key, "42");
  EXPECT_EQ(format_rfc3339(p.event.timestamp), "2026-01-01T10:15:30Z");
  p = parse(R"({"product_id":-7,"timestamp":1767262530})");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.key, "-7");
  EXPECT_EQ(format_rfc3339(p.event.timestamp), "2026-01-01T10:15:30Z");
  p = parse(R"({"product_id":"p","timestamp":1767262530250})");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(format_rfc3339(p.event.timestamp), "2026-01-01T10:15:30.250Z");
  const TimeZone tokyo = TimeZone::parse("Asia/Tokyo");
  p = parse(R"({"product_id":"p","timestamp":"2026-01-01 19:15:30.5"})", default_config(), &tokyo);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(format_rfc3339(p.event.timestamp), "2026-01-01T10:15:30.500Z");
  p = parse(R"({"product_id":"p","timestamp":"2026-01-01T19:15:30+09:00"})", default_config(), &tokyo);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(format_rfc3339(p.event.timestamp), "2026-01-01T10:15:30Z");
}

TEST(JoinStatsParse, ConfiguredNamesGroupsFromTheEventAndTheJoinKeyAsGroup) {
  auto c = default_config();
  c.join_key = "sku";
  c.timestamp_field = "ts";
  c.fields = {"amount", "tax", "weight"};
  c.group_by = "event.region";
  auto p = parse(R"({"sku":"a","region":"emea","amount":1.25,"weight":3,"ts":"2026-01-01T10:00:00Z","price":"ignored"})", c);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.key, "a");
  EXPECT_EQ(p.event.group, "emea");
  EXPECT_EQ(p.event.present, 0b101u);
  EXPECT_EQ(p.event.values[2], 3'000'000);
  p = parse(R"({"sku":"a","region":7,"ts":"2026-01-01T10:00:00Z"})", c);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.group, "7");
  p = parse(R"({"sku":"a","region":null,"ts":"2026-01-01T10:00:00Z"})", c);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.group, "");
  p = parse(R"({"sku":"a","ts":"2026-01-01T10:00:00Z"})", c);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.group, "");
  p = parse(R"({"sku":"a","region":1.5,"ts":"2026-01-01T10:00:00Z"})", c);
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.error, "field region is a number but not an integer (an id is a string or an integer)");
  p = parse(R"({"sku":"a","region":"x","region":"y","ts":"2026-01-01T10:00:00Z"})", c);
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.error, "duplicate field region");
  c.group_by = "event.sku";  // the key itself
  p = parse(R"({"sku":5,"ts":"2026-01-01T10:00:00Z"})", c);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.group, "5");
  c.decimals = 2;
  p = parse(R"({"sku":5,"amount":0.005,"tax":-0.004,"ts":"2026-01-01T10:00:00Z"})", c);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.event.values[0], 1);
  EXPECT_EQ(p.event.values[1], 0);
  p = parse(R"({"sku":5,"amount":1e17,"ts":"2026-01-01T10:00:00Z"})", c);
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.error, "field amount is out of range [-9e16, 9e16]");
}

TEST(JoinStatsParse, RejectsBadRecordsWithASpecificReason) {
  const std::string ts = R"("timestamp":"2026-01-01T10:00:00Z")";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"{", "malformed JSON: JSON document ended early in the middle of an object or array."},
      {"[1,2]", "not a JSON object"},
      {"{" + ts + "}", "missing field product_id"},
      {R"({"product_id":"p"})", "missing field timestamp"},
      {R"({"product_id":"",)" + ts + "}", "field product_id is empty"},
      {R"({"product_id":null,)" + ts + "}", "field product_id is not a string or an integer"},
      {R"({"product_id":1.5,)" + ts + "}", "field product_id is a number but not an integer (an id is a string or an integer)"},
      {R"({"product_id":"p","price":"19.99",)" + ts + "}", "field price is not a number"},
      {R"({"product_id":"p","quantity":true,)" + ts + "}", "field quantity is not a number"},
      {R"({"product_id":"p","price":1e13,)" + ts + "}", "field price is out of range [-9e12, 9e12]"},
      {R"({"product_id":"p","price":1e999,)" + ts + "}", "field price is not a valid number: Problem while parsing a number"},
      {R"({"product_id":"p","price":-Infinity,)" + ts + "}", "field price is not a valid number: Problem while parsing a number"},
      {R"({"product_id":"p","price":NaN,)" + ts + "}", "malformed JSON in field price"},
      {R"({"product_id":"p","price":1,"price":2,)" + ts + "}", "duplicate field price"},
      {R"({"product_id":"p","timestamp":"2026-02-30T10:00:00Z"})", "bad timestamp: timestamp has a field out of range"},
      {R"({"product_id":"p","timestamp":true})", "field timestamp is not a string or a number"},
      {R"({"product_id":"p",)" + ts + "} {}", "malformed JSON: trailing content"},
  };
  for (const auto& [input, reason] : cases) {
    const auto p = parse(input);
    EXPECT_FALSE(p.ok) << input;
    EXPECT_EQ(p.error, reason) << input;
  }
}

TEST(JoinStatsConfig, InconsistentConfigurationsAreRejected) {
  auto expect_rejected = [](js::Config c, const std::string& what) {
    try {
      js::build(c);
      ADD_FAILURE() << "accepted: " << what;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  auto c = default_config();
  c.group_by = "category";
  expect_rejected(c, "--group-by must be event.<field> or dataset.<field>");
  c = default_config();
  c.group_by = "dataset.";
  expect_rejected(c, "--group-by must be");
  c = default_config();
  c.fields = {"price", "price"};
  expect_rejected(c, "field price is named twice");
  c = default_config();
  c.fields = {"price", "product_id"};
  expect_rejected(c, "cannot be both a numeric field and the join key");
  c = default_config();
  c.fields = {"timestamp"};
  expect_rejected(c, "cannot be both");
  c = default_config();
  c.fields = std::vector<std::string>(17, "f");
  for (std::size_t i = 0; i < c.fields.size(); ++i) c.fields[i] += std::to_string(i);
  expect_rejected(c, "at most 16 numeric fields");
  c = default_config();
  c.decimals = 10;
  expect_rejected(c, "--decimals must be between 0 and 9");
  c = default_config();
  c.join_key = "timestamp";
  expect_rejected(c, "the timestamp field and the join key must differ");
  c = default_config();
  c.unknown_keys = MissingRow::dead_letter;  // partials would depend on the dataset's content
  expect_rejected(c, "needs --pre-aggregate false");
  c = default_config("");
  expect_rejected(c, "no dataset source");
  c = default_config();
  c.window_advance = std::chrono::minutes(2);  // advance larger than the window
  EXPECT_THROW(js::build(c), std::invalid_argument);
  c = default_config();
  c.max_cached_windows = 0;
  expect_rejected(c, "--max-cached-windows must be positive");
  c = default_config();
  c.fields.clear();  // count only
  EXPECT_NO_THROW(js::build(c));
}

TEST(JoinStatsData, DatasetRowsTakeIntegerIdsAndRejectMistypedAttributes) {
  std::string key, error;
  js::Row row;
  auto parse_row = [&](const char* json, const std::string& group = "category") {
    return js::parse_row(nlohmann::json::parse(json), "product_id", group, key, row, error);
  };
  ASSERT_TRUE(parse_row(R"({"product_id":7,"category":"books"})")) << error;
  EXPECT_EQ(key, "7");
  EXPECT_EQ(row.group, "books");
  ASSERT_TRUE(parse_row(R"({"product_id":"p","category":12})")) << error;
  EXPECT_EQ(row.group, "12");
  ASSERT_TRUE(parse_row(R"({"product_id":"p","category":null})")) << error;
  EXPECT_EQ(row.group, "");
  ASSERT_TRUE(parse_row(R"({"product_id":"p"})")) << error;
  EXPECT_EQ(row.group, "");
  ASSERT_TRUE(parse_row(R"({"product_id":"p","category":1.5})", "")) << "the attribute is not read when grouping by the event";
  EXPECT_FALSE(parse_row(R"({"product_id":"p","category":1.5})"));
  EXPECT_EQ(error, "field category is not a string or an integer");
  EXPECT_FALSE(parse_row(R"({"product_id":7.5,"category":"books"})"));
  EXPECT_EQ(error, "field product_id is not a string or an integer");
  EXPECT_FALSE(parse_row(R"({"category":"books"})"));
  EXPECT_EQ(error, "missing field product_id");
  EXPECT_FALSE(parse_row(R"({"product_id":"","category":"books"})"));
  EXPECT_EQ(error, "field product_id is empty");
  EXPECT_FALSE(parse_row(R"([1])"));
}

// The load generator's products and the shipped dataset must agree, or every join would miss;
// the shipped events are the generator's too. SW_UPDATE_SAMPLE_DATA=1 rewrites them.
TEST(JoinStatsData, ShippedSampleFilesMatchTheGenerator) {
  const std::filesystem::path shipped = std::filesystem::path(SW_SOURCE_DIR) / "topologies/data/join-stats";
  if (std::getenv("SW_UPDATE_SAMPLE_DATA")) js::write_sample_files(shipped);
  auto read = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(read(shipped / "products.json"), js::sample_products());
  EXPECT_EQ(read(shipped / "events.jsonl"), js::sample_events());
  // The catalogue parses as the pipeline reads it, and every event parses.
  const auto products = nlohmann::json::parse(read(shipped / "products.json"));
  EXPECT_EQ(products.size(), 200u);
  const js::EventSpec spec(default_config());
  std::istringstream events(read(shipped / "events.jsonl"));
  std::size_t n = 0;
  for (std::string line; std::getline(events, line); ++n) {
    js::Event e;
    std::string error;
    EXPECT_TRUE(js::parse_event(line, spec, e, error)) << line << ": " << error;
  }
  EXPECT_EQ(n, 1200u);
}

// ---------------------------------------------------------------------------------------------
// statistics

js::Sample sample(std::initializer_list<std::optional<std::int64_t>> values, bool matched = true) {
  js::Sample s;
  s.matched = matched;
  std::size_t i = 0;
  for (const auto& v : values) {
    if (v) {
      s.present |= 1u << i;
      s.values[i] = *v;
    }
    ++i;
  }
  return s;
}

TEST(JoinStatsStatistics, MergeEqualsAggregatingTogetherAndTheSerdesRoundTrip) {
  auto a = js::make_stats(3), b = js::make_stats(3), all = js::make_stats(3);
  for (int i = 0; i < 50; ++i) {
    const auto s = sample({i * 1'000'003LL - 20'000'000, i % 4 == 0 ? std::nullopt : std::optional<std::int64_t>(i),
                           std::nullopt},
                          i % 7 != 0);
    js::add_sample(i < 17 ? a : b, s);
    js::add_sample(all, s);
  }
  js::merge(a, b);
  const auto spec = js::EventSpec([] {
    auto c = default_config();
    c.fields = {"x", "y", "z"};
    return c;
  }());
  std::string x, y;
  js::stats_json(x, spec, "g", Window{kT, kT + 60'000}, a);
  js::stats_json(y, spec, "g", Window{kT, kT + 60'000}, all);
  EXPECT_EQ(x, y);
  const auto j = nlohmann::json::parse(x);
  EXPECT_EQ(j["count"], 50);
  EXPECT_EQ(j["unmatched"], 8);
  EXPECT_EQ(j["stats"]["y"]["count"], 37);
  EXPECT_TRUE(j["stats"]["z"]["sum"].is_null());
  EXPECT_EQ(j["stats"]["z"]["count"], 0);

  const auto serde = js::group_stats_serde(3);
  std::string bytes, again, error;
  serde.serialize(a, bytes);
  js::GroupStats back;
  ASSERT_TRUE(serde.deserialize(bytes, back, error)) << error;
  serde.serialize(back, again);
  EXPECT_EQ(again, bytes);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    js::GroupStats cut;
    EXPECT_FALSE(serde.deserialize(std::string_view(bytes).substr(0, n), cut, error)) << "truncated at " << n;
  }
  EXPECT_FALSE(js::group_stats_serde(2).deserialize(bytes, back, error)) << "another field count";
  EXPECT_FALSE(serde.deserialize(bytes + "x", back, error));

  const auto ss = js::sample_serde(3);
  const auto s = sample({-5, std::nullopt, 9'000'000'000'000'000'000LL}, false);
  bytes.clear();
  ss.serialize(s, bytes);
  js::Sample t;
  ASSERT_TRUE(ss.deserialize(bytes, t, error)) << error;
  EXPECT_EQ(t.present, s.present);
  EXPECT_EQ(t.values[0], -5);
  EXPECT_EQ(t.values[2], s.values[2]);
  EXPECT_FALSE(t.matched);
  EXPECT_FALSE(js::sample_serde(2).deserialize(bytes, t, error)) << "a field beyond the configured ones";
}

TEST(JoinStatsStatistics, StoredValuesThatCouldOverflowAreRejected) {
  auto s = js::make_stats(1);
  js::add_sample(s, sample({9'000'000'000'000'000'000LL}));
  js::add_sample(s, sample({9'000'000'000'000'000'000LL}));
  const auto serde = js::group_stats_serde(1);
  std::string bytes, error;
  serde.serialize(s, bytes);
  js::GroupStats back;
  ASSERT_TRUE(serde.deserialize(bytes, back, error)) << error;
  EXPECT_EQ(back.fields[0].sum, s.fields[0].sum);
  s.fields[0].sum *= 2;  // larger than count * limit
  bytes.clear();
  serde.serialize(s, bytes);
  EXPECT_FALSE(serde.deserialize(bytes, back, error));
  EXPECT_EQ(error, "bad group statistics");
  // Found by fuzz_join_stats_state: a minimum of INT64_MIN (its magnitude overflowed the check).
  s = js::make_stats(1);
  js::add_sample(s, sample({-5}));
  s.fields[0].min = INT64_MIN;
  bytes.clear();
  serde.serialize(s, bytes);
  EXPECT_FALSE(serde.deserialize(bytes, back, error));
  s = js::make_stats(1);
  s.count = std::int64_t{1} << 57;
  bytes.clear();
  serde.serialize(s, bytes);
  EXPECT_FALSE(serde.deserialize(bytes, back, error));
}

// ---------------------------------------------------------------------------------------------
// the pipeline

struct Dataset {
  std::filesystem::path dir;
  explicit Dataset(std::uint32_t products = 60) {
    dir = std::filesystem::temp_directory_path() / ("sw-js-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "products.json") << js::products_json(products);
  }
  ~Dataset() { std::filesystem::remove_all(dir); }
  std::string path() const { return (dir / "products.json").string(); }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

using Input = std::vector<std::pair<std::string, std::string>>;

// Sales spread over `minutes` of event time, with skew, unknown products, null quantities and
// disorder within the grace.
Input generate(std::size_t n, int minutes, std::uint32_t products = 60, double unknown = 0.03, std::uint64_t seed = 1) {
  js::GeneratorConfig g;
  g.seed = seed;
  g.products = products;
  g.unknown_rate = unknown;
  g.null_quantity_rate = 0.05;
  g.out_of_order = 0.1;
  g.max_disorder = std::chrono::seconds(20);
  js::SalesEventGenerator gen(g);
  Input out(n);
  for (std::size_t i = 0; i < n; ++i)
    gen.next(kT + static_cast<TimestampMs>(i) * minutes * 60'000 / static_cast<TimestampMs>(n), out[i].first, out[i].second);
  return out;
}

struct PipelineRun {
  explicit PipelineRun(const js::Config& c, TopologyTestDriver::Options o = {})
      : dataset(js::make_dataset(c)), topology(js::build(c, dataset)), driver(topology, o) {}
  std::shared_ptr<table::GlobalTable<js::Row>> dataset;
  Topology topology;
  TopologyTestDriver driver;
  void feed(const Input& input, std::size_t commit_every, const std::function<void(std::size_t)>& between = {}) {
    for (std::size_t i = 0; i < input.size(); ++i) {
      driver.pipe_input("events", input[i].first, input[i].second);
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
  std::multiset<std::string> output() {
    std::multiset<std::string> out;
    for (const auto& r : driver.all_records("event-stats")) out.insert(r.value);
    return out;
  }
};

js::Config config_for(const Dataset& d) {
  js::Config c;
  c.dataset_source = d.path();
  return c;
}

// The statistics, computed here from the input and the dataset file with nlohmann and integers:
// prices in cents, quantities whole (what the generator writes), so everything is exact.
struct FieldExpect {
  std::int64_t count = 0, sum = 0, min = INT64_MAX, max = INT64_MIN;  // hundredths
};
struct Expect {
  std::int64_t count = 0, unmatched = 0;
  std::map<std::string, FieldExpect> fields;
};
using ExpectKey = std::pair<std::string, std::string>;  // group ("<null>" for null), window start

std::map<ExpectKey, Expect> oracle(const Input& input, const std::string& dataset_file, const std::string& group_by,
                                   TimestampMs size, TimestampMs advance = 0) {
  std::map<std::string, nlohmann::json> rows;
  std::ifstream in(dataset_file);
  for (const auto& row : nlohmann::json::parse(in)) rows[row["product_id"]] = row;
  if (advance == 0) advance = size;
  std::map<ExpectKey, Expect> out;
  for (const auto& [key, value] : input) {
    const auto e = nlohmann::json::parse(value);
    TimestampMs ts;
    EXPECT_EQ(parse_rfc3339(e["timestamp"].get<std::string>(), ts), TimeParseError::none);
    const auto row = rows.find(e["product_id"].get<std::string>());
    std::string group = "<null>";
    if (group_by == "dataset.category") {
      if (row != rows.end()) group = row->second["category"];
    } else if (group_by == "event.store_id") {
      group = e["store_id"];
    }
    for (TimestampMs start = ts - ((ts % advance) + advance) % advance; start > ts - size; start -= advance) {
      auto& x = out[{group, format_rfc3339(start)}];
      ++x.count;
      x.unmatched += row == rows.end();
      for (const char* f : {"price", "quantity"}) {
        auto& fe = x.fields[f];
        if (!e.contains(f) || e[f].is_null()) continue;
        const std::int64_t v = std::llround(e[f].get<double>() * 100);
        ++fe.count;
        fe.sum += v;
        fe.min = std::min(fe.min, v);
        fe.max = std::max(fe.max, v);
      }
    }
  }
  return out;
}

std::int64_t hundredths(const nlohmann::json& v) { return static_cast<std::int64_t>(std::llround(v.get<double>() * 100)); }

void expect_matches_oracle(const std::vector<testing::OutputRecord>& got, const std::map<ExpectKey, Expect>& expected,
                           const std::string& group_by) {
  ASSERT_EQ(got.size(), expected.size());
  std::set<ExpectKey> seen;
  for (const auto& r : got) {
    const auto j = nlohmann::json::parse(r.value);
    const std::string group = j["group"].is_null() ? "<null>" : j["group"].get<std::string>();
    const ExpectKey k{group, j["window_start"]};
    SCOPED_TRACE(r.value);
    EXPECT_TRUE(seen.insert(k).second) << "two records for one group and window";
    EXPECT_EQ(r.key, j["group"].is_null() ? "" : group);
    EXPECT_EQ(j["group_by"], group_by);
    const auto it = expected.find(k);
    ASSERT_NE(it, expected.end());
    const auto& x = it->second;
    EXPECT_EQ(j["count"], x.count);
    EXPECT_EQ(j["unmatched"], x.unmatched);
    ASSERT_EQ(j["stats"].size(), 2u);
    for (const auto& [name, fe] : x.fields) {
      const auto& s = j["stats"][name];
      EXPECT_EQ(s["count"], fe.count) << name;
      if (fe.count == 0) {
        for (const char* k2 : {"sum", "avg", "min", "max"}) EXPECT_TRUE(s[k2].is_null()) << name << " " << k2;
        continue;
      }
      EXPECT_EQ(hundredths(s["sum"]), fe.sum) << name;
      EXPECT_EQ(hundredths(s["min"]), fe.min) << name;
      EXPECT_EQ(hundredths(s["max"]), fe.max) << name;
      // avg to 6 decimals, rounded half away from zero.
      const double avg = static_cast<double>(fe.sum) / 100.0 / static_cast<double>(fe.count);
      EXPECT_NEAR(s["avg"].get<double>(), avg, 5.1e-7) << name;
    }
  }
}

TEST(JoinStatsTopology, EveryStatisticMatchesAnIndependentComputation) {
  Dataset d;
  PipelineRun run(config_for(d));
  const auto input = generate(6000, 5);
  run.feed(input, 700);
  run.finish();
  const auto expected = oracle(input, d.path(), "dataset.category", 60'000);
  ASSERT_GT(expected.size(), 40u);
  ASSERT_TRUE(expected.count({"<null>", "2026-01-01T10:00:00Z"})) << "the unknown products' null group";
  expect_matches_oracle(run.driver.all_records("event-stats"), expected, "dataset.category");
  EXPECT_EQ(run.driver.counter("dead_lettered"), 0u);
  EXPECT_EQ(run.driver.counter("late"), 0u);
  std::int64_t unmatched = 0;
  for (const auto& [k, x] : expected) unmatched += x.unmatched;
  EXPECT_EQ(run.dataset->misses(), static_cast<std::uint64_t>(unmatched)) << "unknown keys are counted";
}

TEST(JoinStatsTopology, HoppingWindowsPerAnEventAttribute) {
  Dataset d;
  auto c = config_for(d);
  c.group_by = "event.store_id";
  c.window_size = std::chrono::minutes(2);
  c.window_advance = std::chrono::seconds(30);
  c.grace = std::chrono::minutes(1);
  PipelineRun run(c);
  const auto input = generate(4000, 4);
  run.feed(input, 500);
  run.finish();
  const auto expected = oracle(input, d.path(), "event.store_id", 120'000, 30'000);
  expect_matches_oracle(run.driver.all_records("event-stats"), expected, "event.store_id");
}

TEST(JoinStatsTopology, OneOrTwoPhasesAndABoundOfOneCachedWindowGiveIdenticalOutputs) {
  Dataset d;
  const auto input = generate(5000, 4);
  for (auto advance : {std::chrono::milliseconds(0), std::chrono::milliseconds(20'000)}) {
    SCOPED_TRACE(advance.count());
    auto two = config_for(d), one = config_for(d), bounded = config_for(d);
    two.window_advance = one.window_advance = bounded.window_advance = advance;
    one.pre_aggregate = false;
    bounded.max_cached_windows = 1;
    PipelineRun a(two), b(one), e(bounded);
    a.feed(input, 400);
    b.feed(input, 400);
    e.feed(input, 400);
    a.finish();
    b.finish();
    e.finish();
    EXPECT_FALSE(a.output().empty());
    EXPECT_EQ(a.output(), b.output());
    EXPECT_EQ(a.output(), e.output());
  }
}

TEST(JoinStatsTopology, PartialsAreFarFewerThanEvents) {
  Dataset d;
  PipelineRun run(config_for(d));
  run.feed(generate(8000, 2), 4000);
  run.finish();
  std::size_t partials = 0;
  for (const auto& r : run.driver.all_records("join-stats-samples-by-group-repartition"))
    partials += !r.value.empty() && r.value[0] == 'D';
  EXPECT_GT(partials, 0u);
  EXPECT_LT(partials, 8000u / 20) << "one partial per group, window and chunk";
}

std::string sale(const std::string& product, const std::string& price, const std::string& quantity, int second) {
  return R"({"order_id":"o","product_id":")" + product + R"(","price":)" + price + R"(,"quantity":)" + quantity +
         R"(,"timestamp":")" + format_rfc3339(kT + second * 1000LL) + "\"}";
}

std::map<std::string, nlohmann::json> by_group(const std::vector<testing::OutputRecord>& records) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& r : records) {
    const auto j = nlohmann::json::parse(r.value);
    out[(j["group"].is_null() ? std::string("<null>") : j["group"].get<std::string>()) + "@" +
        j["window_start"].get<std::string>().substr(11, 5)] = j;
  }
  return out;
}

// Known answers, as text: exact sums of prices, averages rounded to 6 decimals, null statistics
// for a field without values.
TEST(JoinStatsTopology, KnownAnswersWithUnknownKeysPassedAsTheNullGroup) {
  Dataset d(5);  // p-0000 .. p-0004
  const std::string cat0 = js::product_category(0), cat1 = js::product_category(1);
  ASSERT_NE(cat0, cat1);
  PipelineRun run(config_for(d));
  run.driver.pipe_input("events", "k", sale("p-0000", "0.1", "1", 1));
  run.driver.pipe_input("events", "k", sale("p-0000", "0.2", "2", 2));
  run.driver.pipe_input("events", "k", sale("p-0000", "0.3", "null", 3));
  run.driver.pipe_input("events", "k", sale("p-0001", "10", "null", 4));
  run.driver.pipe_input("events", "k", sale("p-0404", "2.5", "3", 5));  // unknown: null group
  run.driver.pipe_input("events", "k", sale("p-0405", "-1.25", "3", 6));
  run.finish();
  const auto out = by_group(run.driver.all_records("event-stats"));
  ASSERT_EQ(out.size(), 3u);
  const auto& a = out.at(cat0 + "@10:00");
  EXPECT_EQ(a["count"], 3);
  EXPECT_EQ(a["unmatched"], 0);
  EXPECT_EQ(a["stats"]["price"].dump(), R"({"avg":0.2,"count":3,"max":0.3,"min":0.1,"sum":0.6})");
  EXPECT_EQ(a["stats"]["quantity"].dump(), R"({"avg":1.5,"count":2,"max":2,"min":1,"sum":3})");
  const auto& b = out.at(cat1 + "@10:00");
  EXPECT_EQ(b["stats"]["quantity"].dump(), R"({"avg":null,"count":0,"max":null,"min":null,"sum":null})");
  const auto& n = out.at("<null>@10:00");
  EXPECT_EQ(n["count"], 2);
  EXPECT_EQ(n["unmatched"], 2);
  EXPECT_EQ(n["stats"]["price"]["sum"], 1.25);
  EXPECT_EQ(n["stats"]["price"]["min"], -1.25);
  EXPECT_EQ(run.dataset->misses(), 2u);
  // The raw text: shortest decimals, in the configured field order.
  std::string raw;
  for (const auto& r : run.driver.all_records("event-stats"))
    if (r.key == cat0) raw = r.value;
  EXPECT_EQ(raw, R"({"group_by":"dataset.category","group":")" + cat0 +
                     R"(","window_start":"2026-01-01T10:00:00Z","window_end":"2026-01-01T10:01:00Z","count":3,"unmatched":0,)"
                     R"("stats":{"price":{"count":3,"sum":0.6,"avg":0.2,"min":0.1,"max":0.3},)"
                     R"("quantity":{"count":2,"sum":3,"avg":1.5,"min":1,"max":2}}})");
  // An average that does not come out even: 0.1 / 3 to 6 decimals.
  PipelineRun third(config_for(d));
  third.driver.pipe_input("events", "k", sale("p-0000", "0.1", "null", 1));
  third.driver.pipe_input("events", "k", sale("p-0000", "0", "null", 2));
  third.driver.pipe_input("events", "k", sale("p-0000", "0", "null", 3));
  third.finish();
  const auto t = by_group(third.driver.all_records("event-stats"));
  EXPECT_EQ(t.at(cat0 + "@10:00")["stats"]["price"]["avg"].dump(), "0.033333");
}

TEST(JoinStatsTopology, UnknownKeysAreDeadLetteredWhenAsked) {
  Dataset d(5);
  auto c = config_for(d);
  c.unknown_keys = MissingRow::dead_letter;
  c.pre_aggregate = false;  // dead-lettering by the dataset's content rules out partials
  PipelineRun run(c);
  run.driver.pipe_input("events", "k", sale("p-0404", "1", "1", 1));
  run.driver.pipe_input("events", "k", sale("p-0001", "1", "1", 2));
  run.driver.pipe_input("events", "k", R"({"product_id":7,"price":1,"timestamp":"2026-01-01T10:00:03Z"})");
  run.driver.pipe_input("events", "k", "not json");
  run.finish();
  const auto dlq = run.driver.all_records("events-dlq");
  ASSERT_EQ(dlq.size(), 3u);
  std::multiset<std::string> reasons;
  for (const auto& r : dlq)
    for (const auto& [h, v] : r.headers)
      if (h == "streamwright.error") reasons.insert(v);
  EXPECT_EQ(reasons.count("unknown dataset key 'p-0404'"), 1u);
  EXPECT_EQ(reasons.count("unknown dataset key '7'"), 1u);
  EXPECT_EQ(run.driver.counter("dead_lettered"), 3u);
  const auto out = run.driver.all_records("event-stats");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(out[0].value)["unmatched"], 0);
  EXPECT_EQ(run.dataset->misses(), 2u);
}

TEST(JoinStatsTopology, AChangedDatasetFileTakesEffectWithoutARestart) {
  Dataset d(5);
  auto c = config_for(d);
  c.dataset_check_interval = std::chrono::milliseconds(1000);
  PipelineRun run(c);
  const std::string cat1 = js::product_category(1);
  run.driver.pipe_input("events", "k", sale("p-0001", "1", "1", 1));
  run.driver.pipe_input("events", "k", sale("p-0099", "1", "1", 2));  // unknown for now
  // The catalogue moves p-0001 to another category and adds p-0099 (integer ids join by text).
  {
    std::ofstream out(d.path());
    out << R"([{"product_id":"p-0001","category":"clearance"},{"product_id":"p-0099","category":"new"},{"product_id":7,"category":"seven"}])";
  }
  std::filesystem::last_write_time(d.path(), std::filesystem::file_time_type::clock::now() + std::chrono::seconds(5));
  run.driver.advance_wall_clock(2000);
  run.driver.pipe_input("events", "k", sale("p-0001", "1", "1", 70));  // the next window
  run.driver.pipe_input("events", "k", sale("p-0099", "1", "1", 71));
  run.driver.pipe_input("events", "k", R"({"product_id":"7","price":1,"timestamp":"2026-01-01T10:01:12Z"})");
  // A broken file is ignored: the last good dataset stays.
  {
    std::ofstream out(d.path());
    out << R"([{"product_id":)";
  }
  std::filesystem::last_write_time(d.path(), std::filesystem::file_time_type::clock::now() + std::chrono::seconds(10));
  run.driver.advance_wall_clock(2000);
  run.driver.pipe_input("events", "k", sale("p-0001", "1", "1", 130));
  run.finish();
  const auto out = by_group(run.driver.all_records("event-stats"));
  EXPECT_EQ(out.size(), 6u);
  EXPECT_EQ(out.at(cat1 + "@10:00")["count"], 1);
  EXPECT_EQ(out.at("<null>@10:00")["unmatched"], 1);
  EXPECT_EQ(out.at("clearance@10:01")["count"], 1);
  EXPECT_EQ(out.at("new@10:01")["unmatched"], 0);
  EXPECT_EQ(out.at("seven@10:01")["count"], 1);
  EXPECT_EQ(out.at("clearance@10:02")["count"], 1);
  EXPECT_EQ(run.dataset->reloads(), 2u) << "the initial load and one change; the broken file is not a reload";
}

TEST(JoinStatsTopology, CrashesAndRestoresGiveIdenticalOutputs) {
  Dataset d;
  const auto input = generate(6000, 5);
  // The extra records piped before each crash of enrich are real input: the reference gets them too.
  auto feed_with_extras = [&](PipelineRun& run, const std::function<void(std::size_t)>& crash) {
    run.feed(input, 500, [&](std::size_t done) {
      if (done % 1500 == 0) run.driver.pipe_input("events", input[done % input.size()].first, input[done % input.size()].second);
      crash(done);
    });
    run.finish();
  };
  for (const std::size_t bound : {std::size_t{1'000'000}, std::size_t{1}}) {
    SCOPED_TRACE(bound);
    auto c = config_for(d);
    c.max_cached_windows = bound;
    PipelineRun reference(c);
    feed_with_extras(reference, [](std::size_t) {});
    PipelineRun run(c);
    int crashes = 0;
    feed_with_extras(run, [&](std::size_t done) {
      if (done % 1500 == 0) {
        // Partials of the open chunks are downstream, the offsets are not committed: the replay
        // cuts the input at the same offsets, and the aggregator drops what it merged.
        run.driver.send_chunks_then_crash("enrich");
        ++crashes;
      }
      if (done == 1000) run.driver.crash_and_restart("aggregate", false);  // the changelog alone
      if (done == 3500) run.driver.crash_and_restart("aggregate", true);   // local state and checkpoints
    });
    EXPECT_EQ(crashes, 4);
    EXPECT_GT(run.driver.counter("deduplicated"), 0u) << "the replayed partials should have been recognised";
    EXPECT_FALSE(reference.output().empty());
    EXPECT_EQ(run.output(), reference.output());
  }
  // One phase: records, not partials, are replayed and dropped downstream.
  auto c = config_for(d);
  c.pre_aggregate = false;
  PipelineRun reference(c), run(c);
  reference.feed(input, 500);
  reference.finish();
  run.feed(input, 500, [&](std::size_t done) {
    if (done == 2000) run.driver.crash_and_restart("enrich", false);
    if (done == 4000) run.driver.crash_and_restart("aggregate", false);
  });
  run.finish();
  EXPECT_EQ(run.output(), reference.output());
}

TEST(JoinStatsTopology, EarlyEmitUpdatesEndWithTheFinalResult) {
  Dataset d(5);
  auto c = config_for(d), final_c = config_for(d);
  c.emit = EmitStrategy::on_window_update;
  PipelineRun early(c), final_run(final_c);
  const auto input = generate(500, 1, 5, 0.0);
  early.feed(input, 100);
  final_run.feed(input, 100);
  early.finish();
  final_run.finish();
  std::map<std::string, std::string> last;  // group+window -> last update
  for (const auto& r : early.driver.all_records("event-stats")) {
    const auto j = nlohmann::json::parse(r.value);
    last[j["group"].dump() + j["window_start"].get<std::string>()] = r.value;
  }
  std::multiset<std::string> last_values;
  for (const auto& [k, v] : last) last_values.insert(v);
  EXPECT_GT(early.driver.all_records("event-stats").size(), last.size());
  EXPECT_EQ(last_values, final_run.output());
}

// A small JSON Schema validator for what the shipped schemas use: type (one or a list),
// required, properties, additionalProperties (false or a schema), $ref into $defs, minimum,
// minLength, pattern and format date-time.
void validate(const nlohmann::json& schema, const nlohmann::json& root, const nlohmann::json& v, const std::string& at,
              std::vector<std::string>& errors) {
  if (schema.contains("$ref")) {
    const std::string ref = schema["$ref"];
    ASSERT_EQ(ref.rfind("#/$defs/", 0), 0u) << ref;
    return validate(root["$defs"][ref.substr(8)], root, v, at, errors);
  }
  if (schema.contains("type")) {
    std::vector<std::string> types;
    if (schema["type"].is_array())
      for (const auto& t : schema["type"]) types.push_back(t);
    else
      types.push_back(schema["type"]);
    bool ok = false;
    for (const auto& t : types)
      ok |= (t == "object" && v.is_object()) || (t == "string" && v.is_string()) || (t == "null" && v.is_null()) ||
            (t == "integer" && v.is_number_integer()) || (t == "number" && v.is_number());
    if (!ok) return errors.push_back(at + ": not " + schema["type"].dump());
  }
  if (v.is_number() && schema.contains("minimum") && v.get<double>() < schema["minimum"].get<double>())
    errors.push_back(at + ": below the minimum");
  if (v.is_string()) {
    const std::string s = v;
    if (schema.contains("minLength") && s.size() < schema["minLength"].get<std::size_t>()) errors.push_back(at + ": too short");
    if (schema.contains("pattern") && !std::regex_search(s, std::regex(schema["pattern"].get<std::string>())))
      errors.push_back(at + ": does not match the pattern");
    TimestampMs t;
    if (schema.value("format", "") == "date-time" && parse_rfc3339(s, t) != TimeParseError::none)
      errors.push_back(at + ": not a date-time");
  }
  if (!v.is_object()) return;
  for (const auto& name : schema.value("required", nlohmann::json::array()))
    if (!v.contains(name.get<std::string>())) errors.push_back(at + ": missing " + name.get<std::string>());
  for (const auto& [name, value] : v.items()) {
    if (schema.contains("properties") && schema["properties"].contains(name)) {
      validate(schema["properties"][name], root, value, at + "." + name, errors);
    } else if (schema.contains("additionalProperties")) {
      const auto& extra = schema["additionalProperties"];
      if (extra.is_boolean()) {
        if (!extra.get<bool>()) errors.push_back(at + ": unexpected " + name);
      } else {
        validate(extra, root, value, at + "." + name, errors);
      }
    }
  }
}

TEST(JoinStatsTopology, OutputsFollowTheJsonSchema) {
  std::ifstream in(std::filesystem::path(SW_SOURCE_DIR) / "topologies/schemas/join-stats.schema.json");
  const auto schema = nlohmann::json::parse(in);
  // The validator catches what it should.
  std::vector<std::string> errors;
  validate(schema, schema, nlohmann::json::parse(R"({"group_by":"category","group":"","count":0,"stats":{"p":{"count":1}}})"), "$",
           errors);
  EXPECT_GE(errors.size(), 6u) << ::testing::PrintToString(errors);

  Dataset d;
  auto c = config_for(d);
  c.fields = {"price", "quantity", "discount"};  // a field no event has: null statistics
  PipelineRun run(c);
  run.feed(generate(2000, 2), 500);
  run.finish();
  const auto out = run.driver.all_records("event-stats");
  ASSERT_FALSE(out.empty());
  bool null_group = false;
  for (const auto& r : out) {
    const auto j = nlohmann::json::parse(r.value);
    null_group |= j["group"].is_null();
    errors.clear();
    validate(schema, schema, j, "$", errors);
    EXPECT_TRUE(errors.empty()) << r.value << "\n" << ::testing::PrintToString(errors);
    EXPECT_EQ(j["stats"].size(), 3u);
    EXPECT_TRUE(j["stats"]["discount"]["sum"].is_null());
  }
  EXPECT_TRUE(null_group);
}

// The shipped sample through the pipeline: every event counted once, the unknown products in the
// null group.
TEST(JoinStatsTopology, TheShippedSampleGivesEveryEventOnce) {
  const std::filesystem::path dir = std::filesystem::path(SW_SOURCE_DIR) / "topologies/data/join-stats";
  js::Config c;
  c.dataset_source = "file:" + (dir / "products.json").string();
  PipelineRun run(c);
  std::ifstream events(dir / "events.jsonl");
  std::size_t n = 0;
  for (std::string line; std::getline(events, line); ++n) run.driver.pipe_input("events", "k" + std::to_string(n), line);
  run.finish();
  std::int64_t count = 0, unmatched = 0;
  for (const auto& r : run.driver.all_records("event-stats")) {
    const auto j = nlohmann::json::parse(r.value);
    count += j["count"].get<std::int64_t>();
    unmatched += j["unmatched"].get<std::int64_t>();
    EXPECT_EQ(j["unmatched"] != 0, j["group"].is_null()) << r.value;
  }
  EXPECT_EQ(count, 1200);
  EXPECT_GT(unmatched, 3);
  EXPECT_LT(unmatched, 30);
  EXPECT_EQ(run.driver.counter("dead_lettered"), 0u);
  EXPECT_EQ(run.driver.counter("late"), 0u);
}

// ---------------------------------------------------------------------------------------------
// the malformed-input corpus (tests/data/bad-input/join-stats.tsv)

TEST(BadInput, JoinStatsDeadLettersEveryRecordWithItsReason) {
  namespace bad = testing::bad_input;
  const auto rows = bad::load(std::string(SW_SOURCE_DIR) + "/tests/data/bad-input/join-stats.tsv");
  ASSERT_GE(rows.size(), 40u);
  Dataset d(5);
  PipelineRun run(config_for(d));
  for (const auto& row : rows) run.driver.pipe_input("events", "k", row.value, 0);
  const auto dead = run.driver.read_output("events-dlq");
  ASSERT_EQ(dead.size(), rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ASSERT_FALSE(dead[i].headers.empty()) << "line " << rows[i].line;
    EXPECT_EQ(dead[i].headers[0].first, "streamwright.error");
    EXPECT_TRUE(rows[i].matches(dead[i].headers[0].second))
        << "line " << rows[i].line << ": reason \"" << dead[i].headers[0].second << "\", expected "
        << (rows[i].prefix ? "prefix " : "") << "\"" << rows[i].reason << "\"";
    EXPECT_EQ(dead[i].value, rows[i].value) << "line " << rows[i].line << ": the dead letter carries the original bytes";
  }
  // A valid record after all that is processed, and on time.
  run.driver.pipe_input("events", "k", sale("p-0001", "19.99", "2", 5), 0);
  run.finish();
  const auto out = run.driver.all_records("event-stats");
  ASSERT_EQ(out.size(), 1u);
  const auto j = nlohmann::json::parse(out[0].value);
  EXPECT_EQ(j["window_start"], "2026-01-01T10:00:00Z");
  EXPECT_EQ(j["count"], 1);
  EXPECT_EQ(j["stats"]["price"]["sum"], 19.99);
  EXPECT_EQ(run.driver.counter("dead_lettered"), rows.size());
  EXPECT_EQ(run.driver.counter("late"), 0u);
}

}  // namespace
}  // namespace sw
