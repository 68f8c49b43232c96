#pragma once
// JSON on the hot path: simdjson On-Demand over a reusable padded buffer (one per thread), and
// a small writer for output records. nlohmann-json is for configuration and tools.
#include <cstdint>
#include <string>
#include <string_view>

#include <simdjson.h>

namespace sw::json {

// Parses `text` into a document that borrows from a thread-local padded copy. The document
// (and every string_view taken from it) is valid until the next call on the same thread.
// Returns false and sets `error` if the input is not JSON at all.
class Parser {
 public:
  simdjson::error_code parse(std::string_view text, simdjson::ondemand::document& doc);

 private:
  simdjson::ondemand::parser parser_;
  std::string buffer_;
};

Parser& thread_parser();

// Appends `s` as a JSON string literal (quotes included), escaping as RFC 8259 requires.
void append_string(std::string& out, std::string_view s);

// Fully checks a value that On-Demand would otherwise skip (nested objects and arrays up to a
// depth limit). Returns SUCCESS or the first error.
simdjson::error_code validate(simdjson::ondemand::value value, int depth = 0);

// A short, human-readable name for a simdjson error, for dead-letter reasons.
const char* describe(simdjson::error_code e);

}  // namespace sw::json
