#include "services/console/prom_text.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace sw::console {

std::string_view Sample::label(std::string_view key) const noexcept {
  for (const auto& [k, v] : labels)
    if (k == key) return v;
  return {};
}

namespace {

bool name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

std::optional<double> parse_value(std::string_view v) {
  if (v == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (v == "+Inf" || v == "Inf") return std::numeric_limits<double>::infinity();
  if (v == "-Inf") return -std::numeric_limits<double>::infinity();
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);
  double d = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return d;
}

// One sample line: name, optional {labels}, value, optional timestamp. False if malformed.
bool parse_line(std::string_view line, Sample& out) {
  std::size_t i = 0;
  while (i < line.size() && name_char(line[i], i == 0)) ++i;
  if (i == 0) return false;
  out.name.assign(line.substr(0, i));
  out.labels.clear();
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (true) {
      while (i < line.size() && (line[i] == ' ' || line[i] == ',')) ++i;
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      const std::size_t k0 = i;
      while (i < line.size() && name_char(line[i], i == k0)) ++i;
      if (i == k0 || i >= line.size()) return false;
      std::string key(line.substr(k0, i - k0));
      while (i < line.size() && line[i] == ' ') ++i;
      if (i >= line.size() || line[i] != '=') return false;
      ++i;
      while (i < line.size() && line[i] == ' ') ++i;
      if (i >= line.size() || line[i] != '"') return false;
      ++i;
      std::string value;
      bool closed = false;
      while (i < line.size()) {
        const char c = line[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && i < line.size()) {
          const char e = line[i++];
          value += e == 'n' ? '\n' : e;  // \\ and \" stand for themselves
          continue;
        }
        value += c;
      }
      if (!closed) return false;
      out.labels.emplace_back(std::move(key), std::move(value));
    }
  }
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  std::size_t j = i;
  while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
  const auto v = parse_value(line.substr(i, j - i));
  if (!v) return false;
  out.value = *v;
  return true;
}

}  // namespace

std::vector<Sample> parse_exposition(std::string_view text) {
  std::vector<Sample> out;
  std::size_t pos = 0;
  Sample s;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    if (parse_line(line, s)) out.push_back(std::move(s));
  }
  return out;
}

std::vector<QuerySample> parse_query_result(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw std::runtime_error("not JSON");
  if (j.value("status", "") != "success")
    throw std::runtime_error("query failed: " + (j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>()
                                                                                              : std::string("no status")));
  const auto& data = j.contains("data") ? j["data"] : nlohmann::json();
  if (!data.is_object() || data.value("resultType", "") != "vector" || !data.contains("result") ||
      !data["result"].is_array())
    throw std::runtime_error("not a vector result");
  std::vector<QuerySample> out;
  for (const auto& r : data["result"]) {
    if (!r.is_object() || !r.contains("metric") || !r["metric"].is_object() || !r.contains("value") ||
        !r["value"].is_array() || r["value"].size() != 2 || !r["value"][1].is_string())
      continue;
    QuerySample q;
    for (const auto& [k, v] : r["metric"].items()) {
      if (!v.is_string()) continue;
      if (k == "__name__")
        q.sample.name = v.get<std::string>();
      else
        q.sample.labels.emplace_back(k, v.get<std::string>());
    }
    const auto v = parse_value(r["value"][1].get<std::string>());
    if (!v) continue;
    q.sample.value = *v;
    if (r["value"][0].is_number()) q.time_ms = static_cast<std::int64_t>(std::llround(r["value"][0].get<double>() * 1000.0));
    out.push_back(std::move(q));
  }
  return out;
}

std::optional<double> histogram_quantile(double q, const std::vector<std::pair<double, double>>& buckets) {
  if (buckets.empty()) return std::nullopt;
  const double total = buckets.back().second;
  if (!(total > 0)) return std::nullopt;
  const double rank = q * total;
  double prev_bound = 0, prev_count = 0;
  for (const auto& [bound, count] : buckets) {
    if (count >= rank) {
      // The +Inf bucket: the answer is the highest finite bound (as histogram_quantile does).
      if (std::isinf(bound)) return prev_bound;
      const double in_bucket = count - prev_count;
      if (in_bucket <= 0) return bound;
      return prev_bound + (bound - prev_bound) * (rank - prev_count) / in_bucket;
    }
    prev_bound = bound;
    prev_count = count;
  }
  return prev_bound;
}

}  // namespace sw::console
