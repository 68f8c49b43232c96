#pragma once
// Typed reads of one field of a JSON object with a reason on failure, for event parsers that
// dead-letter what they reject ("field X is not a string", "field Y is out of range").
#include <cmath>
#include <string>
#include <string_view>

#include "serde/json.h"

namespace sw::json {

inline bool read_string(simdjson::ondemand::value v, std::string_view name, std::string_view& out, std::string& error) {
  simdjson::ondemand::json_type type;
  if (v.type().get(type)) {
    error = "malformed JSON in field " + std::string(name);
    return false;
  }
  if (type != simdjson::ondemand::json_type::string) {
    error = "field " + std::string(name) + " is not a string";
    return false;
  }
  if (auto e = v.get_string().get(out)) {
    error = "field " + std::string(name) + " is not a valid string: " + describe(e);
    return false;
  }
  return true;
}

// A finite number in [min, max].
inline bool read_number(simdjson::ondemand::value v, std::string_view name, double min, double max, double& out,
                        std::string& error) {
  simdjson::ondemand::json_type type;
  if (v.type().get(type)) {
    error = "malformed JSON in field " + std::string(name);
    return false;
  }
  if (type != simdjson::ondemand::json_type::number) {
    error = "field " + std::string(name) + " is not a number";
    return false;
  }
  if (auto e = v.get_double().get(out)) {
    error = "field " + std::string(name) + " is not a valid number: " + describe(e);
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
  simdjson::ondemand::json_type type;
  if (v.type().get(type)) {
    error = "malformed JSON in field " + std::string(name);
    return false;
  }
  if (type != simdjson::ondemand::json_type::number) {
    error = "field " + std::string(name) + " is not a number";
    return false;
  }
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
