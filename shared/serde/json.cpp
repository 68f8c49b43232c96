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

const char* describe(simdjson::error_code e) { return simdjson::error_message(e); }

}  // namespace sw::json
