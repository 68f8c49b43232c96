#include "lake/delta/stats.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "common/time.h"

namespace sw::lake::delta {

namespace {

using J = nlohmann::ordered_json;
constexpr std::size_t kStringPrefix = 32;

// The first `n` UTF-8 characters of s (whole characters only), and whether s was longer.
std::string_view prefix_chars(std::string_view s, std::size_t n, bool& cut) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80) {
      if (chars == n) {
        cut = true;
        return s.substr(0, i);
      }
      ++chars;
    }
  }
  cut = false;
  return s;
}

void add_field(const Field& f, const std::vector<parquet::ColumnStatistics>& cols, std::size_t& leaf, J& mins, J& maxs,
               J& nulls) {
  if (f.kind == Kind::list || f.kind == Kind::map) {
    leaf += parquet::ParquetSchema::leaf_count(f);
    return;
  }
  if (f.kind == Kind::structure) {
    J cmin = J::object(), cmax = J::object(), cnull = J::object();
    for (const auto& c : f.children) add_field(c, cols, leaf, cmin, cmax, cnull);
    if (!cmin.empty()) mins[f.name] = cmin;
    if (!cmax.empty()) maxs[f.name] = cmax;
    if (!cnull.empty()) nulls[f.name] = cnull;
    return;
  }
  const auto& s = cols[leaf++];
  nulls[f.name] = s.null_count;
  if (!s.has_min_max || s.values == 0) return;
  switch (f.kind) {
    case Kind::int64:
    case Kind::int32:
      mins[f.name] = s.min_i;
      maxs[f.name] = s.max_i;
      break;
    case Kind::float64:
      mins[f.name] = s.min_f;
      maxs[f.name] = s.max_f;
      break;
    case Kind::timestamp_ms:
      mins[f.name] = format_stats_timestamp(s.min_i);
      maxs[f.name] = format_stats_timestamp(s.max_i);
      break;
    case Kind::string: {
      bool cut = false;
      mins[f.name] = std::string(prefix_chars(s.min_s, kStringPrefix, cut));
      const auto mx = prefix_chars(s.max_s, kStringPrefix, cut);
      if (!cut) maxs[f.name] = std::string(mx);
      break;
    }
    default:
      break;  // booleans and dates: null counts only
  }
}

}  // namespace

std::string format_stats_timestamp(std::int64_t ms) {
  std::string s = format_rfc3339(ms);  // "...:30Z" or "...:30.123Z"
  if (s.size() >= 5 && s[s.size() - 5] != '.') s.insert(s.size() - 1, ".000");
  return s;
}

std::string stats_json(const parquet::ParquetSchema& schema, const parquet::FileSummary& summary) {
  J mins = J::object(), maxs = J::object(), nulls = J::object();
  std::size_t leaf = 0;
  for (const auto& f : schema.schema().fields) add_field(f, summary.columns, leaf, mins, maxs, nulls);
  J j = {{"numRecords", summary.rows}, {"minValues", mins}, {"maxValues", maxs}, {"nullCount", nulls}};
  return j.dump();
}

}  // namespace sw::lake::delta
