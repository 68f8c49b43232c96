#pragma once
// Typed reads of one field of a JSON object with a reason on failure, for event parsers that
// dead-letter what they reject ("field X is not a string", "field Y is out of range").
#include <cmath>
#include <string>
#include <string_view>

#include "common/time.h"
#include "serde/json.h"

namespace sw::json {

// The value's JSON type is `type`; otherwise `error` says "field NAME is not a WHAT".
inline bool has_type(simdjson::ondemand::value v, std::string_view name, simdjson::ondemand::json_type type,
                     const char* what, std::string& error) {
  simdjson::ondemand::json_type actual;
  if (v.type().get(actual)) {
    error = "malformed JSON in field " + std::string(name);
    return false;
  }
  if (actual != type) {
    error = "field " + std::string(name) + " is not a " + what;
    return false;
  }
  return true;
}

// One pass over a JSON object, for event parsers: `classify(key)` gives a known field's bit (0:
// unknown), `read(bit, key, value)` reads a known field (false: `error` is set). Unknown fields
// must still be valid JSON (On-Demand would skip them unchecked); a known field twice, trailing
// content and anything but an object are errors. `seen` gets the bits of the fields read.
template <class Classify, class Read>
[[nodiscard]] bool parse_object(std::string_view text, unsigned& seen, Classify&& classify, Read&& read, std::string& error) {
  seen = 0;
  simdjson::ondemand::document doc;
  if (auto e = thread_parser().parse(text, doc)) {
    error = std::string("malformed JSON: ") + describe(e);
    return false;
  }
  simdjson::ondemand::object obj;
  if (auto e = doc.get_object().get(obj)) {
    error = e == simdjson::INCORRECT_TYPE ? std::string("not a JSON object") : std::string("malformed JSON: ") + describe(e);
    return false;
  }
  for (auto field_result : obj) {
    simdjson::ondemand::field field;
    if (auto e = std::move(field_result).get(field)) {
      error = std::string("malformed JSON: ") + describe(e);
      return false;
    }
    std::string_view key;
    if (field.unescaped_key().get(key)) {
      error = "malformed JSON key";
      return false;
    }
    const unsigned bit = classify(key);
    if (!bit) {
      if (auto e = validate(field.value())) {
        error = std::string("malformed JSON: ") + describe(e);
        return false;
      }
      continue;
    }
    if (seen & bit) {
      error = "duplicate field " + std::string(key);
      return false;
    }
    seen |= bit;
    // The unescaped key lives in the parser's string buffer, which reading the value appends to:
    // `read` must not keep it past the call.
    if (!read(bit, key, field.value())) return false;
  }
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) == simdjson::SUCCESS) {
    error = "malformed JSON: trailing content";
    return false;
  }
  return true;
}

[[nodiscard]] inline bool read_string(simdjson::ondemand::value v, std::string_view name, std::string_view& out, std::string& error) {
  if (!has_type(v, name, simdjson::ondemand::json_type::string, "string", error)) return false;
  if (auto e = v.get_string().get(out)) {
    error = "field " + std::string(name) + " is not a valid string: " + describe(e);
    return false;
  }
  return true;
}

// A string identifier (frame_id, user_id, ...): a JSON string, or a JSON integer taken as its
// decimal text, as Spark's from_json reads a number into a STRING column. A float, boolean, null,
// object or array is an error: an id written as 1.5 or true is a producer bug, not a format.
// An integer's text is its JSON token ("042" is not JSON, "-7" stays "-7"); it points into the
// parser's padded copy of the record, valid while the record is processed.
[[nodiscard]] inline bool read_id(simdjson::ondemand::value v, std::string_view name, std::string_view& out, std::string& error) {
  simdjson::ondemand::json_type type;
  if (v.type().get(type)) {
    error = "malformed JSON in field " + std::string(name);
    return false;
  }
  if (type == simdjson::ondemand::json_type::number) {
    std::string_view token = v.raw_json_token();
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' || token.back() == '\r'))
      token.remove_suffix(1);
    // JSON's integer grammar: -?(0|[1-9][0-9]*). The token is a number, so anything else in it
    // (a fraction, an exponent) makes it a float, and a malformed one is a float too.
    std::size_t i = !token.empty() && token[0] == '-' ? 1 : 0;
    bool integer = i < token.size() && (token[i] != '0' || token.size() == i + 1);
    for (; integer && i < token.size(); ++i) integer = token[i] >= '0' && token[i] <= '9';
    if (!integer) {
      error = "field " + std::string(name) + " is a number but not an integer (an id is a string or an integer)";
      return false;
    }
    out = token;
    return true;
  }
  if (type != simdjson::ondemand::json_type::string) {
    error = "field " + std::string(name) + " is not a string or an integer";
    return false;
  }
  if (auto e = v.get_string().get(out)) {
    error = "field " + std::string(name) + " is not a valid string: " + describe(e);
    return false;
  }
  return true;
}

// An event time: a string in any form parse_timestamp takes (RFC 3339, "YYYY-MM-DD HH:MM:SS",
// with or without a zone; without one it is in `default_zone`), or an integer of epoch seconds or
// milliseconds (epoch_to_event_time); within the event-time range (check_event_time).
[[nodiscard]] inline bool read_timestamp(simdjson::ondemand::value v, std::string_view name, const TimeZone* default_zone,
                           TimestampMs& out, std::string& error) {
  simdjson::ondemand::json_type type;
  if (v.type().get(type)) {
    error = "malformed JSON in field " + std::string(name);
    return false;
  }
  TimeParseError te = TimeParseError::none;
  if (type == simdjson::ondemand::json_type::string) {
    std::string_view s;
    if (v.get_string().get(s)) {
      error = "field " + std::string(name) + " is not a valid string";
      return false;
    }
    te = parse_event_time(s, out, default_zone);
  } else if (type == simdjson::ondemand::json_type::number) {
    std::int64_t n = 0;
    if (v.get_int64().get(n)) {
      error = "bad timestamp: a number must be integer epoch seconds or milliseconds";
      return false;
    }
    te = epoch_to_event_time(n, out);
  } else {
    error = "field " + std::string(name) + " is not a string or a number";
    return false;
  }
  if (te != TimeParseError::none) {
    error = std::string("bad timestamp: ") + to_string(te);
    return false;
  }
  return true;
}

// A finite number in [min, max].
[[nodiscard]] inline bool read_number(simdjson::ondemand::value v, std::string_view name, double min, double max, double& out,
                        std::string& error) {
  if (!has_type(v, name, simdjson::ondemand::json_type::number, "number", error)) return false;
  if (auto e = v.get_double().get(out)) {
    // "-Infinity" starts like a number: simdjson calls it the wrong type, it is a bad number.
    error = "field " + std::string(name) + " is not a valid number: " +
            describe(e == simdjson::INCORRECT_TYPE ? simdjson::NUMBER_ERROR : e);
    return false;
  }
  if (!std::isfinite(out) || out < min || out > max) {
    error = "field " + std::string(name) + " is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    return false;
  }
  return true;
}

// An integer in [min, max].
[[nodiscard]] inline bool read_integer(simdjson::ondemand::value v, std::string_view name, std::int64_t min, std::int64_t max,
                         std::int64_t& out, std::string& error) {
  if (!has_type(v, name, simdjson::ondemand::json_type::number, "number", error)) return false;
  if (v.get_int64().get(out)) {
    error = "field " + std::string(name) + " is not an integer";
    return false;
  }
  if (out < min || out > max) {
    error = "field " + std::string(name) + " is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    return false;
  }
  return true;
}

}  // namespace sw::json
