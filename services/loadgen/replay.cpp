#include "services/loadgen/replay.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace sw::loadgen {

namespace {

// The end of the JSON string starting at text[pos] ('"'): the index after its closing quote.
std::size_t string_end(std::string_view text, std::size_t pos) noexcept {
  for (std::size_t i = pos + 1; i < text.size(); ++i) {
    if (text[i] == '\\')
      ++i;
    else if (text[i] == '"')
      return i + 1;
  }
  return text.size();
}

// The end of the JSON value starting at text[pos] in compact, valid JSON.
std::size_t value_end(std::string_view text, std::size_t pos) noexcept {
  const char c = text[pos];
  if (c == '"') return string_end(text, pos);
  if (c == '{' || c == '[') {
    int depth = 0;
    for (std::size_t i = pos; i < text.size(); ++i) {
      const char d = text[i];
      if (d == '"') {
        i = string_end(text, i) - 1;
      } else if (d == '{' || d == '[') {
        ++depth;
      } else if ((d == '}' || d == ']') && --depth == 0) {
        return i + 1;
      }
    }
    return text.size();
  }
  std::size_t i = pos;
  while (i < text.size() && text[i] != ',' && text[i] != '}' && text[i] != ']') ++i;
  return i;
}

// The value of a JSON string token (with quotes), escapes resolved.
std::string unescape(std::string_view token) {
  return nlohmann::json::parse(token.begin(), token.end()).get<std::string>();
}

bool key_is(std::string_view raw_key, const std::string& name) {
  if (raw_key.find('\\') == std::string_view::npos) return raw_key.substr(1, raw_key.size() - 2) == name;
  return unescape(raw_key) == name;
}

// The start of a text for a message: printable, at most 60 characters.
std::string snippet(std::string_view text) {
  std::string s;
  for (char c : text.substr(0, 60)) s += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  if (text.size() > 60) s += "...";
  return s;
}

}  // namespace

std::string ReplayRecord::where() const {
  if (array_index >= 0) return "array element [" + std::to_string(array_index) + "] (line " + std::to_string(line) + ")";
  return "line " + std::to_string(line);
}

RecordDecoder::RecordDecoder(const ReplayOptions& options) : options_(options) {}

bool RecordDecoder::bad(ReplayRecord& out, std::string problem) {
  out.ok = false;
  out.problem = std::move(problem);
  return false;
}

// nlohmann-json's description of the syntax error, at the line of the file it is on.
std::string RecordDecoder::syntax_problem(std::string_view text) {
  try {
    const auto parsed = nlohmann::json::parse(text.begin(), text.end());
    (void)parsed;
  } catch (const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    const auto col = what.find("column ");
    const auto colon = col == std::string::npos ? std::string::npos : what.find(": ", col);
    if (colon != std::string::npos) what = what.substr(colon + 2);
    const std::size_t at = std::min<std::size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    const auto lines = static_cast<std::uint64_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
    return lines > 0 ? "invalid JSON (at its line " + std::to_string(lines + 1) + "): " + what : "invalid JSON: " + what;
  } catch (const std::exception& e) {
    return std::string("invalid JSON: ") + e.what();
  }
  return {};
}

bool RecordDecoder::decode(const RawRecord& raw, std::int64_t shift_ms, bool collect, ReplayRecord& out) {
  out.ok = false;
  out.has_key = false;
  out.key = {};
  out.value = {};
  out.line = raw.line;
  out.array_index = raw.array_index;
  out.problem.clear();
  if (!raw.problem.empty()) return bad(out, raw.problem);
  if (!raw.object) return bad(out, "not a JSON object: " + snippet(raw.text));

  // Validated as written (whitespace can separate tokens: "1 2" is not "12"), then sent with the
  // whitespace between tokens removed.
  const std::size_t n = raw.text.size();
  if (padded_.size() < n + simdjson::SIMDJSON_PADDING) padded_.resize(n + simdjson::SIMDJSON_PADDING);
  std::memcpy(padded_.data(), raw.text.data(), n);
  if (parser_.parse(padded_.data(), n, false).error() != simdjson::SUCCESS) {
    // simdjson also refuses valid JSON it cannot represent (integers beyond 64 bits): ask again.
    auto problem = syntax_problem(raw.text);
    if (!problem.empty()) return bad(out, problem);
  }
  if (compact_.size() < n) compact_.resize(n);
  std::size_t len = 0;
  if (simdjson::minify(raw.text.data(), n, compact_.data(), len) != simdjson::SUCCESS)
    return bad(out, "invalid JSON (an unterminated string)");
  const std::string_view text(compact_.data(), len);

  // The top-level fields that matter: the key and the timestamps.
  std::string_view key_token;
  bool key_found = false;
  spans_.clear();
  if (!options_.key_field.empty() || !options_.shift_fields.empty()) {
    std::size_t i = 1;
    while (i < text.size() && text[i] == '"') {
      const std::size_t key_end = string_end(text, i);
      const std::string_view raw_key = text.substr(i, key_end - i);
      const std::size_t vpos = key_end + 1;  // after ':'
      const std::size_t vend = value_end(text, vpos);
      const std::string_view value = text.substr(vpos, vend - vpos);
      if (!key_found && !options_.key_field.empty() && key_is(raw_key, options_.key_field)) {
        key_found = true;
        key_token = value;
      }
      for (const auto& field : options_.shift_fields) {
        if (!key_is(raw_key, field)) continue;
        if (value == "null") break;
        TokenTime t;
        if (!parse_token_time(value, t))
          return bad(out, "field '" + field +
                              "' is not a timestamp (RFC 3339, YYYY-MM-DD HH:MM:SS or epoch milliseconds): " +
                              snippet(value));
        spans_.push_back({vpos, value.size(), t});
        break;
      }
      i = vend + 1;  // after ',' (or past the closing brace)
    }
  }
  if (key_found) {
    const char c = key_token.front();
    if (c == '{' || c == '[')
      return bad(out, "key field '" + options_.key_field + "' is " + (c == '{' ? "an object" : "an array"));
    if (c == '"') {
      if (key_token.find('\\') == std::string_view::npos) {
        out.key = key_token.substr(1, key_token.size() - 2);
      } else {
        key_ = unescape(key_token);
        out.key = key_;
      }
      out.has_key = !out.key.empty();
    } else if (key_token != "null") {
      out.key = key_token;  // a number or a boolean: its text
      out.has_key = true;
    }
  }

  if (collect && !spans_.empty()) {
    ++stats_.records;
    for (const auto& s : spans_) {
      stats_.min_ms = std::min(stats_.min_ms, s.time.instant_ms());
      stats_.max_ms = std::max(stats_.max_ms, s.time.instant_ms());
      stats_.precision_ms = std::min(stats_.precision_ms, s.time.precision_ms());
    }
  }
  if (shift_ms == 0 || spans_.empty()) {
    out.value = text;
  } else {
    shifted_.clear();
    std::size_t at = 0;
    for (const auto& s : spans_) {
      shifted_.append(text.data() + at, s.pos - at);
      if (!append_shifted(s.time, shift_ms, shifted_))
        return bad(out, "a timestamp field moved by " + std::to_string(shift_ms) +
                            " ms leaves the range its form can hold: " + snippet(text.substr(s.pos, s.len)));
      at = s.pos + s.len;
    }
    shifted_.append(text.data() + at, text.size() - at);
    out.value = shifted_;
  }
  out.ok = true;
  return true;
}

std::int64_t span_step_ms(const RecordDecoder::TimeStats& stats) noexcept {
  if (stats.records == 0) return 0;
  const std::int64_t span = stats.max_ms - stats.min_ms;
  const std::int64_t gap = stats.records > 1 ? span / static_cast<std::int64_t>(stats.records - 1) : 0;
  const std::int64_t unit = std::max<std::int64_t>(stats.precision_ms, 1);
  const std::int64_t step = (span + gap + unit - 1) / unit * unit;
  return std::max(step, unit);
}

Replay::Replay(ReplayOptions options)
    : options_(std::move(options)),
      source_(std::make_unique<FileSource>(options_.path)),
      splitter_(std::make_unique<JsonSplitter>(*source_, options_.max_record_bytes)),
      decoder_(options_) {}

bool Replay::next(ReplayRecord& out) {
  if (!splitter_->next(raw_)) return false;
  decoder_.decode(raw_, shift_ms_, pass_ == 0, out);
  return true;
}

void Replay::next_pass(std::int64_t wall_elapsed_ms) {
  ++pass_;
  switch (options_.shift_by) {
    case ReplayOptions::ShiftBy::span:
      if (span_step_ < 0) span_step_ = span_step_ms(decoder_.stats());
      shift_ms_ = static_cast<std::int64_t>(pass_) * span_step_;
      break;
    case ReplayOptions::ShiftBy::wall:
      shift_ms_ = wall_elapsed_ms;
      break;
    case ReplayOptions::ShiftBy::fixed:
      shift_ms_ = static_cast<std::int64_t>(pass_) * options_.shift_fixed_ms;
      break;
  }
  if (options_.shift_fields.empty()) shift_ms_ = 0;
  splitter_.reset();
  source_ = std::make_unique<FileSource>(options_.path);
  splitter_ = std::make_unique<JsonSplitter>(*source_, options_.max_record_bytes);
}

}  // namespace sw::loadgen
