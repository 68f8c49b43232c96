#pragma once
// A mergeable quantile sketch with a relative-error guarantee (DDSketch, Masson et al., VLDB
// 2019): every quantile it reports is within `relative_accuracy` of the exact value of some
// element at that rank. Values fall into logarithmic buckets; merging adds bucket counts, so
// partial sketches from many tasks combine exactly as if one sketch had seen every value. Used
// for per-window percentiles (p95 render time) where exact percentiles would keep every value.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sw::sketch {

class DDSketch {
 public:
  // relative_accuracy in (0, 0.5); 0.01 keeps quantiles within 1%.
  explicit DDSketch(double relative_accuracy = 0.01);

  // Values must be finite and non-negative (times, sizes, utilisations); others are ignored.
  void add(double value, std::uint64_t count = 1);
  // Requires the same relative accuracy; returns false (and changes nothing) otherwise.
  bool merge(const DDSketch& other);

  // q in [0, 1]. Returns 0 for an empty sketch.
  // As Spark's percentile_approx: the smallest stored value with at least q of all values at or
  // below it (the ceil(q n)-th smallest), within the relative accuracy.
  double quantile(double q) const;
  std::uint64_t count() const noexcept { return count_; }
  double min() const noexcept { return min_; }
  double max() const noexcept { return max_; }
  double sum() const noexcept { return sum_; }
  double relative_accuracy() const noexcept { return alpha_; }
  bool empty() const noexcept { return count_ == 0; }

  // Compact binary form for changelogs and repartition topics.
  void serialize(std::string& out) const;
  static bool deserialize(std::string_view in, DDSketch& out);

 private:
  int bucket_index(double value) const;
  double bucket_value(int index) const;

  double alpha_;
  double gamma_;
  double log_gamma_;
  std::uint64_t zero_count_ = 0;  // values below the smallest indexable magnitude
  int offset_ = 0;                // bucket index of counts_[0]
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  double min_ = 0, max_ = 0, sum_ = 0;
};

}  // namespace sw::sketch
