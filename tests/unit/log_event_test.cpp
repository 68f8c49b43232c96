#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>
#include <string_view>

#include "serde/json.h"
#include "topologies/crash_monitor.h"

namespace sw::crash_monitor {
namespace {

constexpr std::string_view kValid =
    R"({"user_id":"u1","severity":"High","content":"app crashed","timestamp":"2026-01-01T10:15:30.123Z"})";

// The parsed event with its views copied out (they die with the next parse).
struct Parsed {
  bool ok = false;
  std::string error;
  std::string user_id, severity, content;
  TimestampMs timestamp = kNoTimestamp;
};

Parsed parse(std::string_view json) {
  Parsed p;
  LogEvent e;
  p.ok = parse_log_event(json, e, p.error);
  if (p.ok) {
    p.user_id = e.user_id;
    p.severity = e.severity;
    p.content = e.content;
    p.timestamp = e.timestamp;
  }
  return p;
}

// Asserts that `json` is rejected with an error containing `message`.
void expect_rejected(std::string_view json, std::string_view message) {
  SCOPED_TRACE(std::string("input: ") + std::string(json));
  const Parsed p = parse(json);
  EXPECT_FALSE(p.ok);
  EXPECT_NE(p.error.find(message), std::string::npos) << "error was: \"" << p.error << "\", expected to contain \""
                                                      << message << "\"";
}

// An event with the four fields, where `value_json` is the JSON text of `field`'s value.
std::string event_with(std::string_view field, std::string_view value_json) {
  auto val = [&](std::string_view name, std::string_view def) {
    return std::string(name == field ? value_json : def);
  };
  return "{\"user_id\":" + val("user_id", "\"u1\"") + ",\"severity\":" + val("severity", "\"High\"") +
         ",\"content\":" + val("content", "\"crash\"") + ",\"timestamp\":" +
         val("timestamp", "\"2026-01-01T10:15:30Z\"") + "}";
}

// An event with the four fields except `missing`.
std::string event_without(std::string_view missing) {
  std::string out = "{";
  auto add = [&](std::string_view name, std::string_view value) {
    if (name == missing) return;
    if (out.size() > 1) out += ',';
    out += '"';
    out += name;
    out += "\":";
    out += value;
  };
  add("user_id", "\"u1\"");
  add("severity", "\"High\"");
  add("content", "\"crash\"");
  add("timestamp", "\"2026-01-01T10:15:30Z\"");
  out += '}';
  return out;
}

// ---------------------------------------------------------------------------------------------
// accepted input

TEST(ParseLogEvent, ValidEvent) {
  const Parsed p = parse(kValid);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.user_id, "u1");
  EXPECT_EQ(p.severity, "High");
  EXPECT_EQ(p.content, "app crashed");
  EXPECT_EQ(p.timestamp, 1767262530123);
}

TEST(ParseLogEvent, ExtraFieldsOfAnyTypeAreSkipped) {
  const Parsed p = parse(
      R"({"host":"h1","user_id":"u1","n":12.5,"severity":"Critical","tags":["a",{"b":[1,2]}],)"
      R"("content":"boom","meta":{"x":null,"y":true},"timestamp":"2026-01-01T12:15:30+02:00","z":false})");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.user_id, "u1");
  EXPECT_EQ(p.severity, "Critical");
  EXPECT_EQ(p.content, "boom");
  EXPECT_EQ(p.timestamp, 1767262530000);
}

TEST(ParseLogEvent, FieldOrderDoesNotMatter) {
  const Parsed p =
      parse(R"({"timestamp":"2026-01-01T10:15:30Z","content":"c","severity":"Low","user_id":"someone"})");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.user_id, "someone");
  EXPECT_EQ(p.severity, "Low");
  EXPECT_EQ(p.content, "c");
  EXPECT_EQ(p.timestamp, 1767262530000);
}

TEST(ParseLogEvent, EscapedStringsAreUnescaped) {
  const Parsed p = parse(
      R"({"user_id":"u\"1\\x\/y","severity":"Hi\tgh","content":"line1\nline2 \u00e9 \ud83d\ude00 \u0041",)"
      R"("timestamp":"2026-01-01T10:15:30Z"})");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.user_id, "u\"1\\x/y");
  EXPECT_EQ(p.severity, "Hi\tgh");
  EXPECT_EQ(p.content, "line1\nline2 \xC3\xA9 \xF0\x9F\x98\x80 A");
}

TEST(ParseLogEvent, EscapedKeysAreMatchedUnescaped) {
  const Parsed p = parse(
      R"({"user\u005fid":"u1","severity":"High","content":"crash","timestamp":"2026-01-01T10:15:30Z"})");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.user_id, "u1");
}

TEST(ParseLogEvent, EscapesInEveryFieldKeepEarlierValuesIntact) {
  // All four values go through the unescaping buffer; earlier views must survive later fields.
  const Parsed p = parse(
      R"({"user_id":"a\nb","severity":"c\nd","content":"e\nf","timestamp":"2026-01-01T10:15:30\u005a"})");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.user_id, "a\nb");
  EXPECT_EQ(p.severity, "c\nd");
  EXPECT_EQ(p.content, "e\nf");
  EXPECT_EQ(p.timestamp, 1767262530000);
}

TEST(ParseLogEvent, WhitespaceAroundTheObject) {
  const Parsed p = parse(std::string(" \n\t") + std::string(kValid) + " \r\n ");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.user_id, "u1");
}

TEST(ParseLogEvent, EmptySeverityAndContentAreAllowed) {
  const Parsed p = parse(R"({"user_id":"u","severity":"","content":"","timestamp":"2026-01-01T10:15:30Z"})");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.severity, "");
  EXPECT_EQ(p.content, "");
}

TEST(ParseLogEvent, ParserIsReusableAfterErrors) {
  expect_rejected(R"({"user_id":"u1)", "malformed JSON");
  expect_rejected("[1]", "not a JSON object");
  const Parsed p = parse(kValid);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.user_id, "u1");
}

TEST(ParseLogEvent, InputIsNotReadPastItsView) {
  // The views end before the closing quote / brace; the bytes after them in memory must not be used.
  const std::string buffer = std::string(kValid);
  EXPECT_FALSE(parse(std::string_view(buffer.data(), buffer.size() - 1)).ok);
  expect_rejected(std::string_view(buffer.data(), buffer.size() - 2), "malformed JSON");
}

TEST(ParseLogEvent, SerdeDeserializesThroughTheParser) {
  const auto serde = log_event_serde();
  LogEvent e;
  std::string error;
  ASSERT_TRUE(serde.deserialize(kValid, e, error)) << error;
  EXPECT_EQ(e.user_id, "u1");
  EXPECT_EQ(e.timestamp, 1767262530123);
  EXPECT_FALSE(serde.deserialize("[]", e, error));
  EXPECT_NE(error.find("not a JSON object"), std::string::npos) << error;
}

// ---------------------------------------------------------------------------------------------
// rejected input

TEST(ParseLogEvent, RejectsNonJson) {
  expect_rejected("hello world", "not a JSON object");
  expect_rejected("tru", "not a JSON object");
  expect_rejected("", "malformed JSON");
  expect_rejected("   ", "malformed JSON");
}

TEST(ParseLogEvent, RejectsNonObjectJson) {
  expect_rejected(R"(["user_id","u1"])", "not a JSON object");
  expect_rejected("[]", "not a JSON object");
  expect_rejected(R"("a string")", "not a JSON object");
  expect_rejected("42", "not a JSON object");
  expect_rejected("null", "not a JSON object");
}

TEST(ParseLogEvent, RejectsTruncatedJson) {
  const std::string full(kValid);
  for (std::size_t cut = 1; cut < full.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut) + ": " + full.substr(0, cut));
    EXPECT_FALSE(parse(full.substr(0, cut)).ok);
  }
  // Cut inside a string: the tokenizer itself reports it.
  expect_rejected(full.substr(0, full.size() - 5), "malformed JSON: A string is opened, but never closed");
}

// A truncated object is malformed JSON, not "not a JSON object": simdjson returns
// INCOMPLETE_ARRAY_OR_OBJECT (not INCORRECT_TYPE) when the root object's brackets do not balance.
TEST(ParseLogEvent, TruncatedObjectIsReportedAsMalformedJson) {
  const std::string full(kValid);
  // Before the final brace, after a comma, after a value, and right after the opening brace.
  for (std::size_t cut : {full.size() - 1, full.find(",\"content\"") + 1, full.find(",\"content\""),
                          std::size_t{1}}) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    expect_rejected(full.substr(0, cut), "malformed JSON");
  }
}

TEST(ParseLogEvent, RejectsMissingFields) {
  expect_rejected(event_without("user_id"), "missing field user_id");
  expect_rejected(event_without("severity"), "missing field severity");
  expect_rejected(event_without("content"), "missing field content");
  expect_rejected(event_without("timestamp"), "missing field timestamp");
  expect_rejected("{}", "missing field");
}

TEST(ParseLogEvent, RejectsFieldsOfTheWrongType) {
  for (const char* field : {"severity", "content"}) {
    for (const char* value : {"42", "-1.5", "null", "{}", R"({"a":"b"})", "true", "[\"x\"]"}) {
      SCOPED_TRACE(std::string(field) + " = " + value);
      expect_rejected(event_with(field, value), std::string("field ") + field + " is not a string");
    }
  }
  // An id may be an integer (below), never anything else.
  for (const char* value : {"null", "{}", R"({"a":"b"})", "true", "[\"x\"]"})
    expect_rejected(event_with("user_id", value), "field user_id is not a string or an integer");
  for (const char* value : {"-1.5", "1.0", "1e3", "12E-1"})
    expect_rejected(event_with("user_id", value), "field user_id is a number but not an integer");
  for (const char* value : {"null", "{}", "true", "[\"x\"]"})
    expect_rejected(event_with("timestamp", value), "field timestamp is not a string or a number");
  for (const char* value : {"-1.5", "1767262530.5", "1e12"})
    expect_rejected(event_with("timestamp", value), "bad timestamp: a number must be integer epoch seconds or milliseconds");
  expect_rejected(event_with("timestamp", "42"), "bad timestamp: timestamp is before 2000-01-01T00:00:00Z");
  expect_rejected(event_with("timestamp", "-1"), "bad timestamp: timestamp is before 2000-01-01T00:00:00Z");
  expect_rejected(event_with("timestamp", "99999999999999"), "bad timestamp: timestamp is not before 2100");
}

// What Spark's from_json accepted for `user_id STRING`: a number keeps its text.
TEST(ParseLogEvent, AcceptsAnIntegerUserIdAsItsText) {
  for (const auto& [json, text] : std::vector<std::pair<std::string, std::string>>{
           {"42", "42"}, {"0", "0"}, {"-7", "-7"}, {"12345678901234567890123", "12345678901234567890123"}, {"42 ", "42"}}) {
    SCOPED_TRACE(json);
    const Parsed p = parse(event_with("user_id", json));
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.user_id, text);
  }
}

// RFC 3339, Spark's "YYYY-MM-DD HH:MM:SS[.fff]" with or without a zone, and integer epoch seconds
// or milliseconds all give the same instant.
TEST(ParseLogEvent, AcceptsTheTimestampFormsSparkAccepts) {
  for (const char* ts : {"\"2026-01-01T10:15:30Z\"", "\"2026-01-01 10:15:30Z\"", "\"2026-01-01 10:15:30\"",
                         "\"2026-01-01T10:15:30\"", "\"2026-01-01 10:15:30.000\"", "\"2026-01-01 12:15:30+02:00\"",
                         "\"2026-01-01 12:15:30+0200\"", "\"2026-01-01 12:15:30+02\"", "\"2026-01-01 10:15:30 UTC\"",
                         "\"2026-01-01 10:15:30UTC\"", "\"2026-01-01 12:15:30 UTC+02:00\"", "1767262530", "1767262530000"}) {
    SCOPED_TRACE(ts);
    const Parsed p = parse(event_with("timestamp", ts));
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.timestamp, 1767262530000);
  }
}

TEST(ParseLogEvent, ATimestampWithoutAZoneIsInTheDefaultTimeZone) {
  LogEvent e;
  std::string error;
  const TimeZone berlin = TimeZone::parse("Europe/Berlin");
  ASSERT_TRUE(parse_log_event(event_with("timestamp", "\"2026-01-01 11:15:30\""), e, error, &berlin)) << error;
  EXPECT_EQ(e.timestamp, 1767262530000);  // CET: UTC+1
  ASSERT_TRUE(parse_log_event(event_with("timestamp", "\"2026-07-01 12:15:30.250\""), e, error, &berlin)) << error;
  EXPECT_EQ(e.timestamp, 1782900930250);  // CEST: UTC+2
  // A zone in the text wins over the default.
  ASSERT_TRUE(parse_log_event(event_with("timestamp", "\"2026-01-01 10:15:30Z\""), e, error, &berlin)) << error;
  EXPECT_EQ(e.timestamp, 1767262530000);
  const TimeZone plus5 = TimeZone::parse("+05:30");
  ASSERT_TRUE(parse_log_event(event_with("timestamp", "\"2026-01-01 15:45:30\""), e, error, &plus5)) << error;
  EXPECT_EQ(e.timestamp, 1767262530000);
}

TEST(ParseLogEvent, RejectsEmptyUserId) {
  expect_rejected(event_with("user_id", "\"\""), "field user_id is empty");
}

TEST(ParseLogEvent, RejectsDuplicateFields) {
  expect_rejected(
      R"({"user_id":"a","severity":"High","content":"c","timestamp":"2026-01-01T10:15:30Z","user_id":"b"})",
      "duplicate field user_id");
  expect_rejected(
      R"({"user_id":"a","severity":"High","severity":"Low","content":"c","timestamp":"2026-01-01T10:15:30Z"})",
      "duplicate field severity");
  expect_rejected(
      R"({"content":"c","user_id":"a","severity":"High","content":"d","timestamp":"2026-01-01T10:15:30Z"})",
      "duplicate field content");
  expect_rejected(
      R"({"timestamp":"2026-01-01T10:15:30Z","user_id":"a","severity":"High","content":"c","timestamp":"x"})",
      "duplicate field timestamp");
  // A duplicate written with an escape is still the same key.
  expect_rejected(
      R"({"user_id":"a","severity":"High","content":"c","timestamp":"2026-01-01T10:15:30Z","user\u005fid":"b"})",
      "duplicate field user_id");
}

TEST(ParseLogEvent, DuplicateUnknownFieldsAreAllowed) {
  const Parsed p = parse(
      R"({"x":1,"x":2,"user_id":"a","severity":"High","content":"c","timestamp":"2026-01-01T10:15:30Z"})");
  EXPECT_TRUE(p.ok) << p.error;
}

TEST(ParseLogEvent, RejectsBadTimestampSyntax) {
  for (const char* ts : {"\"\"", "\"yesterday\"", "\"2026-01-01\"", "\"2026-01-01 10:15\"", "\"2026-01-01T10:15:30+2\"",
                         "\"2026-01-01T10:15:30 +02:00\"", "\"1767262530123\"", "\"2026-01-01T10:15:30Z \"",
                         "\"2026-01-01T10:15:30.\"", "\"2026-1-1 10:15:30\"", "\"2026-01-01T10:15:30 Europe/Berlin\""}) {
    SCOPED_TRACE(ts);
    expect_rejected(event_with("timestamp", ts), "bad timestamp: timestamp is not RFC 3339 or YYYY-MM-DD HH:MM:SS");
  }
}

TEST(ParseLogEvent, RejectsTimestampOutOfRange) {
  for (const char* ts : {"\"2026-13-01T10:15:30Z\"", "\"2025-02-29T10:15:30Z\"", "\"2026-01-01T24:00:00Z\""}) {
    SCOPED_TRACE(ts);
    expect_rejected(event_with("timestamp", ts), "bad timestamp: timestamp has a field out of range");
  }
}

TEST(ParseLogEvent, RejectsTrailingContent) {
  const std::string valid(kValid);
  for (const char* tail : {"x", ",", " 1", " []", "]", "}", " {}", " \"s\"", " null"}) {
    SCOPED_TRACE(std::string("tail: ") + tail);
    EXPECT_FALSE(parse(valid + tail).ok);
  }
  EXPECT_FALSE(parse(valid + valid).ok);
  // When the input still ends in a closing brace, the specific check reports it.
  expect_rejected(valid + " {}", "malformed JSON: trailing content");
  expect_rejected(valid + "}", "malformed JSON: trailing content");
  expect_rejected(valid + valid, "malformed JSON: trailing content");
}

// Trailing content is malformed JSON whatever the input ends in (simdjson's get_object() reports
// INCOMPLETE_ARRAY_OR_OBJECT when the last structural character is not the root's closing brace).
TEST(ParseLogEvent, TrailingContentIsReportedAsMalformedJson) {
  const std::string valid(kValid);
  for (const char* tail : {"x", ",", " 1", " []", "]", " \"s\""}) {
    expect_rejected(valid + tail, "malformed JSON");
  }
}

// Invalid JSON inside a field the parser does not read is rejected: simdjson On-Demand would skip
// unread values by bracket counting without validating them (json::parse_object validates them).
TEST(ParseLogEvent, RejectsMalformedJsonInSkippedFields) {
  const std::string rest = R"("user_id":"u1","severity":"High","content":"crash","timestamp":"2026-01-01T10:15:30Z")";
  for (const std::string extra : {R"("a":tru)", R"("a":[1,2})", R"("a":01)", R"("a":{"b"})", R"("a":1x)"}) {
    SCOPED_TRACE("extra field: " + extra);
    expect_rejected("{" + extra + "," + rest + "}", "malformed JSON");
  }
}

// ---------------------------------------------------------------------------------------------
// mentions_crash

TEST(MentionsCrash, AnyLetterCase) {
  EXPECT_TRUE(mentions_crash("crash"));
  EXPECT_TRUE(mentions_crash("CRASH"));
  EXPECT_TRUE(mentions_crash("Crashed"));
  EXPECT_TRUE(mentions_crash("cRaSh"));
  EXPECT_TRUE(mentions_crash("xcrashx"));
  EXPECT_TRUE(mentions_crash("app crashed after start"));
}

TEST(MentionsCrash, AtEitherEnd) {
  EXPECT_TRUE(mentions_crash("crash at start"));
  EXPECT_TRUE(mentions_crash("ends with a crash"));
  EXPECT_TRUE(mentions_crash("ccrash"));
  EXPECT_TRUE(mentions_crash("crascrash"));
}

TEST(MentionsCrash, NoMatch) {
  EXPECT_FALSE(mentions_crash(""));
  EXPECT_FALSE(mentions_crash("c"));
  EXPECT_FALSE(mentions_crash("cras"));
  EXPECT_FALSE(mentions_crash("rash"));
  EXPECT_FALSE(mentions_crash("cras h"));
  EXPECT_FALSE(mentions_crash("crush"));
  EXPECT_FALSE(mentions_crash("c-r-a-s-h"));
  EXPECT_FALSE(mentions_crash("all good"));
  // The letters with bit 6 (0x40) cleared: case folding must only touch bit 5.
  EXPECT_FALSE(mentions_crash("\x03\x12\x01\x13\x08"));
}

TEST(MentionsCrash, OnlyLooksInsideTheView) {
  const std::string text = "xcrash";
  EXPECT_FALSE(mentions_crash(std::string_view(text.data(), 5)));  // "xcras"
  EXPECT_TRUE(mentions_crash(std::string_view(text.data() + 1, 5)));
  EXPECT_FALSE(mentions_crash(std::string_view(text.data() + 1, 4)));
}

// ---------------------------------------------------------------------------------------------
// alert_json

TEST(AlertJson, ExactOutput) {
  std::string out = "stale";
  alert_json(out, "u1", Window{1767262530000, 1767262540000}, 3);
  EXPECT_EQ(out,
            R"({"user_id":"u1","window_start":"2026-01-01T10:15:30Z","window_end":"2026-01-01T10:15:40Z",)"
            R"("crash_count":3})");
}

TEST(AlertJson, EscapesUserId) {
  std::string out;
  alert_json(out, "a\"b\\c\nd", Window{0, 10'000}, 12);
  EXPECT_EQ(out,
            R"({"user_id":"a\"b\\c\nd","window_start":"1970-01-01T00:00:00Z","window_end":"1970-01-01T00:00:10Z",)"
            R"("crash_count":12})");
}

TEST(AlertJson, EscapesControlCharacters) {
  std::string out;
  alert_json(out, std::string_view("\t\r\x01\x1f\b\f", 6), Window{500, 1500}, 0);
  EXPECT_EQ(out,
            R"({"user_id":"\t\r\u0001\u001f\b\f","window_start":"1970-01-01T00:00:00.500Z",)"
            R"("window_end":"1970-01-01T00:00:01.500Z","crash_count":0})");
}

TEST(AlertJson, OutputIsValidJsonThatRoundTrips) {
  const std::string user = "we\"ird\\ user\n\x02 \xC3\xA9";
  std::string out;
  alert_json(out, user, Window{-10'000, 0}, 7);
  simdjson::ondemand::document doc;
  ASSERT_EQ(json::thread_parser().parse(out, doc), simdjson::SUCCESS);
  std::string_view v;
  ASSERT_EQ(doc["user_id"].get_string().get(v), simdjson::SUCCESS);
  EXPECT_EQ(v, user);
  ASSERT_EQ(doc["window_start"].get_string().get(v), simdjson::SUCCESS);
  EXPECT_EQ(v, "1969-12-31T23:59:50Z");
  std::int64_t n = 0;
  ASSERT_EQ(doc["crash_count"].get_int64().get(n), simdjson::SUCCESS);
  EXPECT_EQ(n, 7);
}

}  // namespace
}  // namespace sw::crash_monitor
