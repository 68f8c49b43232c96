#pragma once
// Prometheus samples, label-aware: the text exposition format a stage's /metrics serves, and the
// JSON of a Prometheus server's instant query (/api/v1/query), both read into one form.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sw::console {

struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // in the order given, values unescaped
  double value = 0;

  // The value of a label, or "" when absent.
  std::string_view label(std::string_view key) const noexcept;
};

// Every sample of a text exposition (version 0.0.4). Comments, blank lines and malformed lines
// are skipped (a scrape never fails on one bad line); timestamps after the value are ignored.
// "NaN", "+Inf" and "-Inf" are read as such.
std::vector<Sample> parse_exposition(std::string_view text);

// The samples of a Prometheus instant query's answer (resultType "vector"), with the metric's
// name from its __name__ label, and each sample's evaluation time in `time_ms` if given.
// Throws std::runtime_error when the answer is not a successful vector result.
struct QuerySample {
  Sample sample;
  std::int64_t time_ms = 0;
};
std::vector<QuerySample> parse_query_result(std::string_view json);

// A quantile (0 < q < 1) of a histogram given as cumulative bucket counts by upper bound
// (ascending, +Inf last), by linear interpolation within the bucket, as Prometheus'
// histogram_quantile does. nullopt when the histogram is empty.
std::optional<double> histogram_quantile(double q, const std::vector<std::pair<double, double>>& cumulative_buckets);

}  // namespace sw::console
