// The replay reader of streamwright-loadgen --replay: every file form (JSON array, pretty-printed
// objects, JSON lines, gzip of each), bad records with their line or array index, huge records,
// keys, compact output and timestamps moved forward on each pass.
#include <gtest/gtest.h>
#include <zlib.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "services/loadgen/json_splitter.h"
#include "services/loadgen/replay.h"
#include "services/loadgen/replay_time.h"

namespace sw::loadgen {
namespace {

namespace fs = std::filesystem;

// ------------------------------------------------------------------------------ test helpers

struct Split {
  std::string text;
  std::uint64_t line;
  std::int64_t index;
  std::string problem;
};

std::vector<Split> split(const std::string& data, std::size_t chunk = SIZE_MAX, std::size_t max_record = 1000000,
                         std::size_t buffer = 1 << 20, std::string* layout = nullptr) {
  StringSource src(data, chunk);
  JsonSplitter splitter(src, max_record, buffer);
  std::vector<Split> out;
  RawRecord r;
  while (splitter.next(r)) out.push_back({std::string(r.text), r.line, r.array_index, r.problem});
  if (layout) *layout = splitter.layout();
  return out;
}

class TempFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sw-replay-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& data) {
    const auto p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << data;
    return p;
  }
  // gzip, optionally as several members (as `cat a.gz b.gz` or pigz make).
  std::string write_gzip(const std::string& name, const std::string& data, int members = 1) {
    const auto p = (dir_ / name).string();
    std::remove(p.c_str());
    const std::size_t part = (data.size() + members - 1) / members;
    for (int m = 0; m < members; ++m) {
      gzFile f = gzopen(p.c_str(), m == 0 ? "wb" : "ab");
      const auto piece = data.substr(std::min(data.size(), m * part), part);
      gzwrite(f, piece.data(), static_cast<unsigned>(piece.size()));
      gzclose(f);
    }
    return p;
  }
  static std::string read_all(const std::string& path) {
    FileSource src(path);
    std::string out;
    char buf[4096];
    while (std::size_t n = src.read(buf, sizeof buf)) out.append(buf, n);
    return out;
  }
  struct Replayed {
    bool ok;
    bool has_key;
    std::string key, value, where, problem;
  };
  std::vector<Replayed> replay_all(const ReplayOptions& o, std::vector<std::string>* values = nullptr) {
    Replay r(o);
    std::vector<Replayed> out;
    ReplayRecord rec;
    while (r.next(rec)) {
      out.push_back({rec.ok, rec.has_key, std::string(rec.key), std::string(rec.value), rec.where(), rec.problem});
      if (values) values->push_back(rec.ok ? std::string(rec.value) : "BAD: " + rec.problem);
    }
    return out;
  }
  fs::path dir_;
};

// Five records in the three forms a JSON-file producer meets.
const std::vector<nlohmann::json> kRecords = [] {
  std::vector<nlohmann::json> v;
  for (int i = 0; i < 5; ++i)
    v.push_back({{"user_id", "u" + std::to_string(i)},
                 {"n", i},
                 {"msg", "a \"quoted\" {brace} [bracket], comma\\n"},
                 {"nested", {{"list", {1, 2, {{"x", "}"}}}}}}});
  return v;
}();
std::string as_array() { return nlohmann::json(kRecords).dump(2); }
std::string as_pretty_objects() {
  std::string s;
  for (const auto& r : kRecords) s += r.dump(2) + "\n";
  return s;
}
std::string as_lines() {
  std::string s;
  for (const auto& r : kRecords) s += r.dump() + "\n";
  return s;
}

// ------------------------------------------------------------------------------ the splitter

TEST(JsonSplitter, ReadsEveryFormAtEveryChunkBoundary) {
  for (const auto& [name, data, layout] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"array", as_array(), "JSON array"},
           {"pretty objects", as_pretty_objects(), "JSON objects"},
           {"JSON lines", as_lines(), "JSON lines"}}) {
    for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{64}, SIZE_MAX}) {
      SCOPED_TRACE(name + ", chunks of " + std::to_string(chunk));
      std::string seen_layout;
      const auto parts = split(data, chunk, 1000000, 16, &seen_layout);  // a tiny buffer: values span refills
      ASSERT_EQ(parts.size(), kRecords.size());
      for (std::size_t i = 0; i < parts.size(); ++i) {
        EXPECT_EQ(parts[i].problem, "");
        EXPECT_EQ(nlohmann::json::parse(parts[i].text), kRecords[i]);
        EXPECT_EQ(parts[i].index, name == "array" ? static_cast<std::int64_t>(i) : -1);
      }
      EXPECT_EQ(seen_layout, layout);
    }
  }
}

TEST(JsonSplitter, CountsLinesOfEachValue) {
  const auto lines = split(as_lines());
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i].line, i + 1);
  const auto text = as_pretty_objects();
  const auto pretty = split(text);
  const auto per_object = static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n') / 5);
  for (std::size_t i = 0; i < pretty.size(); ++i) EXPECT_EQ(pretty[i].line, 1 + i * per_object);
  const auto array = split(as_array());
  EXPECT_EQ(array[0].line, 2u);  // "[" on line 1
}

TEST(JsonSplitter, ToleratesByteOrderMarkCrLfBlankLinesCommasAndEmptyInput) {
  const auto parts = split("\xEF\xBB\xBF{\"a\":1}\r\n\r\n  {\"a\":2},\r\n{\"a\":3}", 1);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].text, "{\"a\":1}");
  EXPECT_EQ(parts[1].text, "{\"a\":2}");
  EXPECT_EQ(parts[1].line, 3u);
  EXPECT_EQ(parts[2].text, "{\"a\":3}");
  EXPECT_TRUE(split("").empty());
  EXPECT_TRUE(split(" \n\n\t").empty());
  EXPECT_TRUE(split("[]").empty());
  EXPECT_EQ(split("[\n{\"a\":1},\n]").size(), 1u);  // a trailing comma
}

TEST(JsonSplitter, CutsAJsonLinesRecordThatEndsEarly) {
  // Line 2 is cut short (inside an object, and inside a string on line 4): the next line's '{'
  // in the first column starts the next record.
  const auto parts = split("{\"a\":1}\n{\"a\":2,\n{\"a\":3}\n{\"a\":\"unterminated\n{\"a\":5}\n");
  ASSERT_EQ(parts.size(), 5u);
  EXPECT_EQ(parts[0].problem, "");
  EXPECT_EQ(parts[1].line, 2u);
  EXPECT_NE(parts[1].problem.find("not closed before line 3"), std::string::npos) << parts[1].problem;
  EXPECT_EQ(parts[2].text, "{\"a\":3}");
  EXPECT_EQ(parts[2].problem, "");
  EXPECT_EQ(parts[3].line, 4u);
  EXPECT_EQ(parts[3].problem, "a line ends inside a string");
  EXPECT_EQ(parts[4].text, "{\"a\":5}");
  EXPECT_EQ(parts[4].line, 5u);
  // After a key's colon the '{' fits: the value runs on (and is cut at the next line that cannot).
  const auto colon = split("{\"a\":2,\"b\":\n{\"a\":3}\n{\"a\":4}\n");
  ASSERT_EQ(colon.size(), 2u);
  EXPECT_NE(colon[0].problem.find("not closed before line 3"), std::string::npos) << colon[0].problem;
  EXPECT_EQ(colon[1].text, "{\"a\":4}");
  // A nested object in the first column of a multi-line value is not a cut: it fits.
  const auto nested = split("{\"a\":\n{\"b\":1},\n\"c\":[\n{\"d\":2}]}\n");
  ASSERT_EQ(nested.size(), 1u);
  EXPECT_EQ(nested[0].problem, "");
}

TEST(JsonSplitter, ReportsStrayTextAndTheEndOfInputInsideAValue) {
  const auto parts = split("not json at all\n42\n{\"a\":1}\n{\"a\":[1,2");
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[0].text, "not json at all");
  EXPECT_EQ(parts[1].text, "42");
  EXPECT_EQ(parts[2].text, "{\"a\":1}");
  EXPECT_EQ(parts[3].problem, "the input ends inside this value");
  EXPECT_EQ(parts[3].line, 4u);
}

TEST(JsonSplitter, SkipsAHugeValueWithoutKeepingIt) {
  const std::string huge = "{\"blob\":\"" + std::string(5'000'000, 'x') + "\"}";
  const std::string data = "{\"a\":1}\n" + huge + "\n{\"a\":3}\n";
  for (std::size_t buffer : {std::size_t{4096}, std::size_t{1} << 20}) {
    StringSource src(data);
    JsonSplitter splitter(src, 1000, buffer);
    RawRecord r;
    ASSERT_TRUE(splitter.next(r));
    EXPECT_EQ(r.text, "{\"a\":1}");
    ASSERT_TRUE(splitter.next(r));
    EXPECT_EQ(r.line, 2u);
    EXPECT_EQ(r.problem, "larger than --max-record-bytes (1000 bytes)");
    EXPECT_TRUE(r.text.empty());
    ASSERT_TRUE(splitter.next(r));
    EXPECT_EQ(r.text, "{\"a\":3}");
    EXPECT_EQ(r.line, 3u);
    EXPECT_FALSE(splitter.next(r));
  }
  // Exactly at the limit is fine; one byte more is not.
  EXPECT_EQ(split("{\"a\":\"12\"}", SIZE_MAX, 10)[0].problem, "");
  EXPECT_NE(split("{\"a\":\"123\"}", SIZE_MAX, 10)[0].problem, "");
  // A huge line of stray text (no brackets) ends with its line too.
  const auto junk = split(std::string(100000, 'z') + "\n{\"a\":1}", SIZE_MAX, 100, 4096);
  ASSERT_EQ(junk.size(), 2u);
  EXPECT_NE(junk[0].problem.find("larger than"), std::string::npos);
  EXPECT_EQ(junk[1].text, "{\"a\":1}");
}

// ------------------------------------------------------------------------------ files, gzip

TEST_F(TempFiles, GzipIsRecognisedByItsMagicBytesNotItsName) {
  const auto data = as_lines();
  EXPECT_EQ(read_all(write_gzip("records.json", data)), data);          // gzip without .gz
  EXPECT_EQ(read_all(write("plain.json.gz", data)), data);              // .gz that is not gzip
  EXPECT_EQ(read_all(write_gzip("members.gz", data, 3)), data);         // concatenated members
  EXPECT_TRUE(FileSource(write_gzip("x.gz", data)).gzip());
  EXPECT_FALSE(FileSource(write("y.gz", data)).gzip());
}

TEST_F(TempFiles, BrokenGzipIsAnErrorNotBadRecords) {
  const auto path = write_gzip("r.gz", as_lines() + as_lines() + as_lines());
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto truncated = write("truncated.gz", bytes.substr(0, bytes.size() / 2));
  EXPECT_THROW(read_all(truncated), std::runtime_error);
  std::string corrupt = bytes;
  for (std::size_t i = 20; i < corrupt.size() - 10; i += 7) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
  EXPECT_THROW(read_all(write("corrupt.gz", corrupt)), std::runtime_error);
  EXPECT_THROW(FileSource(dir_.string()), std::runtime_error);       // a directory
  EXPECT_THROW(FileSource((dir_ / "missing").string()), std::runtime_error);
}

TEST_F(TempFiles, ReplaysEveryFormPlainAndGzipped) {
  for (const auto& [name, data] : std::vector<std::pair<std::string, std::string>>{
           {"array.json", as_array()}, {"pretty.json", as_pretty_objects()}, {"lines.jsonl", as_lines()}}) {
    for (bool gz : {false, true}) {
      SCOPED_TRACE(name + (gz ? " (gzip)" : ""));
      ReplayOptions o;
      o.path = gz ? write_gzip(name + ".gz", data) : write(name, data);
      std::vector<std::string> values;
      const auto recs = replay_all(o, &values);
      ASSERT_EQ(recs.size(), kRecords.size());
      for (std::size_t i = 0; i < recs.size(); ++i) {
        EXPECT_TRUE(recs[i].ok) << values[i];
        EXPECT_EQ(values[i], kRecords[i].dump());  // compact: the same bytes nlohmann would write here
        EXPECT_EQ(recs[i].key, "u" + std::to_string(i));
      }
    }
  }
}

TEST_F(TempFiles, BadRecordsAreReportedWithTheirLineOrArrayIndex) {
  ReplayOptions o;
  o.path = write("bad-array.json", "[\n  {\"user_id\": \"a\"},\n  {\"user_id\": \"b\",},\n  7,\n  {\"user_id\": \"d\"}\n]\n");
  auto recs = replay_all(o);
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_TRUE(recs[0].ok);
  EXPECT_FALSE(recs[1].ok);
  EXPECT_EQ(recs[1].where, "array element [1] (line 3)");
  EXPECT_NE(recs[1].problem.find("invalid JSON"), std::string::npos) << recs[1].problem;
  EXPECT_FALSE(recs[2].ok);
  EXPECT_EQ(recs[2].where, "array element [2] (line 4)");
  EXPECT_EQ(recs[2].problem, "not a JSON object: 7");
  EXPECT_TRUE(recs[3].ok);
  EXPECT_EQ(recs[3].key, "d");

  o.path = write("bad.jsonl", "{\"user_id\":\"a\"}\n{\"user_id\":\"b\", \"x\": tru}\n[1]\n{\"user_id\":\"d\"}\n");
  recs = replay_all(o);
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[1].where, "line 2");
  EXPECT_NE(recs[1].problem.find("invalid literal"), std::string::npos) << recs[1].problem;
  EXPECT_EQ(recs[2].where, "line 3");
  EXPECT_NE(recs[2].problem.find("not a JSON object"), std::string::npos);
  EXPECT_TRUE(recs[3].ok);

  // In a pretty-printed object the message says which of its lines is wrong.
  o.path = write("bad-pretty.json", "{\n  \"user_id\": \"a\"\n}\n{\n  \"user_id\": \"b\",\n  \"n\": 1 2\n}\n");
  recs = replay_all(o);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_TRUE(recs[0].ok);
  EXPECT_EQ(recs[1].where, "line 4");
  EXPECT_NE(recs[1].problem.find("at its line 3"), std::string::npos) << recs[1].problem << " / " << recs[1].where;
}

// ------------------------------------------------------------------------------ keys, values

struct Decoded {
  bool ok, has_key;
  std::string key, problem;
};
Decoded decode(const std::string& text, const std::string& key_field = "user_id", std::vector<std::string> shift = {},
               std::int64_t shift_ms = 0, std::string* value = nullptr) {
  ReplayOptions o;
  o.key_field = key_field;
  o.shift_fields = std::move(shift);
  RecordDecoder d(o);
  RawRecord raw;
  raw.text = text;
  raw.object = !text.empty() && text[0] == '{';
  raw.line = 1;
  ReplayRecord out;
  d.decode(raw, shift_ms, true, out);
  if (value) *value = out.ok ? std::string(out.value) : "";
  return {out.ok, out.has_key, std::string(out.key), out.problem};
}

TEST(RecordDecoder, KeysFromStringsNumbersAndBooleans) {
  auto key = [](const std::string& text) {
    const auto r = decode(text);
    EXPECT_TRUE(r.ok) << r.problem;
    return r.has_key ? r.key : std::string("<none>");
  };
  EXPECT_EQ(key(R"({"user_id":"u-1"})"), "u-1");
  EXPECT_EQ(key(R"({"user_id":"caf\u00e9 \"q\""})"), "caf\xc3\xa9 \"q\"");  // escapes resolved
  EXPECT_EQ(key(R"({"user_id":42})"), "42");                                  // a number: its text
  EXPECT_EQ(key(R"({"user_id":1.50e3})"), "1.50e3");
  EXPECT_EQ(key(R"({"user_id":-7})"), "-7");
  EXPECT_EQ(key(R"({"user_id":true})"), "true");
  EXPECT_EQ(key(R"({"user_id":null})"), "<none>");
  EXPECT_EQ(key(R"({"user_id":""})"), "<none>");
  EXPECT_EQ(key(R"({"other":"x"})"), "<none>");                               // missing: no key
  EXPECT_EQ(key(R"({"nested":{"user_id":"inner"},"user_id":"outer"})"), "outer");  // top level only
  EXPECT_EQ(key(R"({"user\u005fid":"escaped-name"})"), "escaped-name");
  EXPECT_EQ(key(R"({"user_id":123456789012345678901234567890})"), "123456789012345678901234567890");
  EXPECT_FALSE(decode(R"({"user_id":{"a":1}})").ok);
  EXPECT_EQ(decode(R"({"user_id":[1]})").problem, "key field 'user_id' is an array");
  EXPECT_FALSE(decode(R"({"user_id":"x"})", "").has_key);  // no key field at all
}

TEST(RecordDecoder, SendsCompactJsonWithTheOriginalTokens) {
  std::string v;
  ASSERT_TRUE(decode("{ \"b\" : 1.50 ,\n  \"a\" : \"x  y\\u0041\\n\" ,\"c\":[ 1 , {} ] }", "a", {}, 0, &v).ok);
  EXPECT_EQ(v, R"({"b":1.50,"a":"x  y\u0041\n","c":[1,{}]})");  // field order, spelling, escapes kept
}

TEST(RecordDecoder, RejectsWhatIsNotOneValidObject) {
  EXPECT_FALSE(decode(R"({"a":1}{"b":2})").ok);
  EXPECT_FALSE(decode(R"({"a":01})").ok);
  EXPECT_FALSE(decode("{\"a\":\"\xff\"}").ok);  // invalid UTF-8
  EXPECT_FALSE(decode(R"({"a":1,})").ok);
  EXPECT_FALSE(decode("{\"a\":1 2}").ok);  // not "12": validated before the whitespace goes
  EXPECT_FALSE(decode("{\"a\":tr ue}").ok);
  EXPECT_NE(decode("[1]").problem.find("not a JSON object"), std::string::npos);
}

// ------------------------------------------------------------------------------ timestamps

std::string shifted(const std::string& token, std::int64_t ms) {
  TokenTime t;
  if (!parse_token_time(token, t)) return "INVALID";
  std::string out;
  if (!append_shifted(t, ms, out)) return "OUT OF RANGE";
  return out;
}

TEST(ReplayTime, ShiftsKeepTheWrittenForm) {
  EXPECT_EQ(shifted(R"("2026-01-01T10:00:00Z")", 3600000), R"("2026-01-01T11:00:00Z")");
  EXPECT_EQ(shifted(R"("2026-01-01T23:59:59.500Z")", 1500), R"("2026-01-02T00:00:01.000Z")");
  EXPECT_EQ(shifted(R"("2026-12-31 23:00:00")", 3600000), R"("2027-01-01 00:00:00")");    // Spark's form
  EXPECT_EQ(shifted(R"("2028-02-28t12:00:00.1+02:00")", 86400000), R"("2028-02-29t12:00:00.1+02:00")");
  EXPECT_EQ(shifted(R"("2026-03-01T00:00:00.123456-0530")", -124), R"("2026-02-28T23:59:59.999456-0530")");
  EXPECT_EQ(shifted(R"("2026-01-01T10:00:00+01")", 60000), R"("2026-01-01T10:01:00+01")");
  EXPECT_EQ(shifted(R"("2026-01-01T10:00:00Z")", 1234), R"("2026-01-01T10:00:01Z")");  // no fraction: none added
  EXPECT_EQ(shifted("1767225600000", 86400000), "1767312000000");                       // epoch milliseconds
  EXPECT_EQ(shifted(R"("9999-12-31T23:59:59Z")", 1000), "OUT OF RANGE");  // no five-digit years
  EXPECT_EQ(shifted(R"("0000-01-01 00:00:00")", -1), "OUT OF RANGE");
  for (const char* bad : {R"("2026-13-01T00:00:00Z")", R"("2026-02-30 00:00:00")", R"("2026-01-01T24:00:00Z")",
                          R"("2026-01-01")", R"("10:00:00")", R"("2026-01-01T10:00Z")", R"("2026-01-01T10:00:00 UTC")",
                          R"("2026-01-01T10:00:00.Z")", "1.5e12", "true", "\"\""})
    EXPECT_EQ(shifted(bad, 0), "INVALID") << bad;
  TokenTime t;
  ASSERT_TRUE(parse_token_time(R"("2026-01-01T12:00:00+02:00")", t));
  EXPECT_EQ(t.instant_ms(), 1767261600000);  // 10:00Z
}

TEST(RecordDecoder, ShiftsOnlyTheNamedTopLevelFields) {
  std::string v;
  const auto r = decode(R"({"ts":"2026-01-01 10:00:00","at":1767261600000,"inner":{"ts":"2026-01-01 10:00:00"},"n":null})",
                        "", {"ts", "at", "n"}, 60000, &v);
  ASSERT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(v, R"({"ts":"2026-01-01 10:01:00","at":1767261660000,"inner":{"ts":"2026-01-01 10:00:00"},"n":null})");
  const auto bad = decode(R"({"ts":"yesterday"})", "", {"ts"}, 60000);
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.problem.find("field 'ts' is not a timestamp"), std::string::npos) << bad.problem;
  EXPECT_NE(decode(R"({"ts":"9999-12-31T23:59:59Z"})", "", {"ts"}, 1000).problem.find("leaves the range"), std::string::npos);
  std::string missing;
  EXPECT_TRUE(decode(R"({"other":1})", "", {"ts"}, 60000, &missing).ok);  // no field: sent as it is
  EXPECT_EQ(missing, R"({"other":1})");
}

TEST(ReplayTime, SpanStepContinuesEvenlySpacedData) {
  RecordDecoder::TimeStats s;
  s.records = 3600;  // one record a second, 10:00:00 .. 10:59:59
  s.min_ms = 0;
  s.max_ms = 3599000;
  s.precision_ms = 1000;
  EXPECT_EQ(span_step_ms(s), 3600000);
  s.records = 36000;  // ten a second, seconds only: still one hour
  EXPECT_EQ(span_step_ms(s), 3600000);
  s.precision_ms = 1;
  s.records = 5;
  s.max_ms = 400;  // 0, 100, ... 400 ms
  EXPECT_EQ(span_step_ms(s), 500);
  s.records = 1;  // a single timestamp: one step of its precision
  s.max_ms = 0;
  s.precision_ms = 1000;
  EXPECT_EQ(span_step_ms(s), 1000);
  EXPECT_EQ(span_step_ms(RecordDecoder::TimeStats{}), 0);
}

TEST_F(TempFiles, EachPassMovesTimestampsForward) {
  std::string data;
  for (int i = 0; i < 5; ++i) data += R"({"id":)" + std::to_string(i) + R"(,"ts":"2026-01-01T10:00:0)" + std::to_string(i) + "Z\"}\n";
  ReplayOptions o;
  o.path = write_gzip("events.jsonl.gz", data);
  o.key_field = "id";
  o.shift_fields = {"ts"};
  Replay r(o);
  ReplayRecord rec;
  std::vector<std::string> values;
  for (int pass = 0; pass < 3; ++pass) {
    if (pass > 0) r.next_pass(0);
    while (r.next(rec)) values.push_back(std::string(rec.value));
  }
  ASSERT_EQ(values.size(), 15u);
  EXPECT_EQ(values[0], R"({"id":0,"ts":"2026-01-01T10:00:00Z"})");
  EXPECT_EQ(values[4], R"({"id":4,"ts":"2026-01-01T10:00:04Z"})");
  EXPECT_EQ(values[5], R"({"id":0,"ts":"2026-01-01T10:00:05Z"})");  // the next pass follows on
  EXPECT_EQ(values[14], R"({"id":4,"ts":"2026-01-01T10:00:14Z"})");

  o.shift_by = ReplayOptions::ShiftBy::wall;
  Replay wall(o);
  while (wall.next(rec)) {
  }
  wall.next_pass(90000);  // 90 s after the replay started
  ASSERT_TRUE(wall.next(rec));
  EXPECT_EQ(std::string(rec.value), R"({"id":0,"ts":"2026-01-01T10:01:30Z"})");

  o.shift_by = ReplayOptions::ShiftBy::fixed;
  o.shift_fixed_ms = 86400000;
  Replay daily(o);
  while (daily.next(rec)) {
  }
  daily.next_pass(0);
  daily.next_pass(0);
  ASSERT_TRUE(daily.next(rec));
  EXPECT_EQ(std::string(rec.value), R"({"id":0,"ts":"2026-01-03T10:00:00Z"})");
}

}  // namespace
}  // namespace sw::loadgen
