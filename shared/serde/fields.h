#pragma once
// Typed reads of one field of a JSON object with a reason on failure, for event parsers that
// dead-letter what they reject ("field X is not a string", "field Y is out of range").
#include <cmath>
#include <string>
#include <string_view>

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
bool parse_object(std::string_view text, unsigned& seen, Classify&& classify, Read&& read, std::string& error) {
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

inline bool read_string(simdjson::ondemand::value v, std::string_view name, std::string_view& out, std::string& error) {
  if (!has_type(v, name, simdjson::ondemand::json_type::string, "string", error)) return false;
  if (auto e = v.get_string().get(out)) {
    error = "field " + std::string(name) + " is not a valid string: " + describe(e);
    return false;
  }
  return true;
}

// A finite number in [min, max].
inline bool read_number(simdjson::ondemand::value v, std::string_view name, double min, double max, double& out,
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
inline bool read_integer(simdjson::ondemand::value v, std::string_view name, std::int64_t min, std::int64_t max,
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
