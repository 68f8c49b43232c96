#pragma once
// The malformed-input corpus of tests/data/bad-input/<pipeline>.tsv: one bad record per line, with
// the dead-letter reason the pipeline must give it.
//
//   <reason> TAB <encoding> TAB <payload>
//
// - reason: the exact `streamwright.error` header, or a prefix of it when it ends with '*'.
// - encoding: `text` (the payload as written; `@repeat(N,X)` expands to X written N times, X
//   without ')'), or `hex` (the record's bytes in hex, for invalid UTF-8 and control bytes).
// Blank lines and lines starting with '#' are comments. Header-only, shared by the unit and the
// integration tests.
#include <cstddef>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sw::testing::bad_input {

struct Row {
  std::size_t line = 0;  // in the file, for messages
  std::string reason;    // without the trailing '*'
  bool prefix = false;   // reason is a prefix of the expected reason
  std::string value;     // the record's bytes

  bool matches(std::string_view actual) const {
    return prefix ? actual.substr(0, reason.size()) == reason : actual == reason;
  }
};

inline std::string expand_repeats(std::string_view text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto at = text.find("@repeat(", pos);
    if (at == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    out.append(text.substr(pos, at - pos));
    const auto comma = text.find(',', at);
    const auto close = text.find(')', comma == std::string_view::npos ? at : comma);
    if (comma == std::string_view::npos || close == std::string_view::npos)
      throw std::invalid_argument("bad @repeat in '" + std::string(text) + "'");
    const auto count = std::stoul(std::string(text.substr(at + 8, comma - at - 8)));
    const auto unit = text.substr(comma + 1, close - comma - 1);
    for (std::size_t i = 0; i < count; ++i) out.append(unit);
    pos = close + 1;
  }
  return out;
}

inline std::string from_hex(std::string_view hex) {
  auto nibble = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument("bad hex digit in '" + std::string(hex) + "'");
  };
  std::string out;
  std::size_t i = 0;
  while (i < hex.size()) {
    if (hex[i] == ' ') {
      ++i;
      continue;
    }
    if (i + 1 >= hex.size()) throw std::invalid_argument("odd hex length in '" + std::string(hex) + "'");
    out += static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1]));
    i += 2;
  }
  return out;
}

inline std::vector<Row> parse(std::string_view text) {
  std::vector<Row> rows;
  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    const auto t1 = line.find('\t');
    const auto t2 = t1 == std::string_view::npos ? t1 : line.find('\t', t1 + 1);
    if (t2 == std::string_view::npos)
      throw std::invalid_argument("line " + std::to_string(line_no) + ": expected reason<TAB>encoding<TAB>payload");
    Row row;
    row.line = line_no;
    row.reason = std::string(line.substr(0, t1));
    if (!row.reason.empty() && row.reason.back() == '*') {
      row.prefix = true;
      row.reason.pop_back();
    }
    const auto encoding = line.substr(t1 + 1, t2 - t1 - 1);
    const auto payload = line.substr(t2 + 1);
    if (encoding == "text") row.value = expand_repeats(payload);
    else if (encoding == "hex") row.value = from_hex(payload);
    else throw std::invalid_argument("line " + std::to_string(line_no) + ": unknown encoding '" + std::string(encoding) + "'");
    rows.push_back(std::move(row));
  }
  return rows;
}

inline std::vector<Row> load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str());
}

}  // namespace sw::testing::bad_input
