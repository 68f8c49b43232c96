#include "serde/json.h"

#include <cstring>

namespace sw::json {

simdjson::error_code Parser::parse(std::string_view text, simdjson::ondemand::document& doc) {
  const std::size_t need = text.size() + simdjson::SIMDJSON_PADDING;
  if (buffer_.size() < need) buffer_.resize(std::max(need, buffer_.size() * 2));
  std::memcpy(buffer_.data(), text.data(), text.size());
  std::memset(buffer_.data() + text.size(), 0, simdjson::SIMDJSON_PADDING);
  return parser_.iterate(buffer_.data(), text.size(), buffer_.size()).get(doc);
}

Parser& thread_parser() {
  static thread_local Parser parser;
  return parser;
}

void append_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

simdjson::error_code validate(simdjson::ondemand::value value, int depth) {
  using simdjson::ondemand::json_type;
  if (depth > 64) return simdjson::DEPTH_ERROR;
  json_type type;
  if (auto e = value.type().get(type)) return e;
  switch (type) {
    case json_type::object: {
      simdjson::ondemand::object obj;
      if (auto e = value.get_object().get(obj)) return e;
      for (auto f : obj) {
        simdjson::ondemand::field field;
        if (auto e = std::move(f).get(field)) return e;
        std::string_view key;
        if (auto e = field.unescaped_key().get(key)) return e;
        if (auto e = validate(field.value(), depth + 1)) return e;
      }
      return simdjson::SUCCESS;
    }
    case json_type::array: {
      simdjson::ondemand::array arr;
      if (auto e = value.get_array().get(arr)) return e;
      for (auto element : arr) {
        simdjson::ondemand::value v;
        if (auto e = std::move(element).get(v)) return e;
        if (auto e = validate(v, depth + 1)) return e;
      }
      return simdjson::SUCCESS;
    }
    case json_type::string: {
      std::string_view s;
      return value.get_string().get(s);
    }
    case json_type::number: {
      // Every valid JSON number reads as a double (big integers round); what does not (1e999,
      // "-Infinity") is a number error, not the "wrong type" an integer retry would report.
      double d;
      const auto e = value.get_double().get(d);
      return e == simdjson::INCORRECT_TYPE ? simdjson::NUMBER_ERROR : e;
    }
    case json_type::boolean: {
      bool b;
      return value.get_bool().get(b);
    }
    case json_type::null: {
      bool is_null = false;
      if (auto e = value.is_null().get(is_null)) return e;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::TAPE_ERROR;
}

const char* describe(simdjson::error_code e) { return simdjson::error_message(e); }

}  // namespace sw::json
