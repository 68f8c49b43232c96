#include "sketch/ddsketch.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "common/bytes.h"

namespace sw::sketch {

namespace {
constexpr double kMinIndexable = 1e-9;  // smaller values count as zero
constexpr std::size_t kMaxBuckets = 1u << 16;
}  // namespace

DDSketch::DDSketch(double relative_accuracy) : alpha_(relative_accuracy) {
  if (!(relative_accuracy > 0 && relative_accuracy < 0.5))
    throw std::invalid_argument("relative accuracy must be in (0, 0.5)");
  gamma_ = (1 + alpha_) / (1 - alpha_);
  log_gamma_ = std::log(gamma_);
}

int DDSketch::bucket_index(double value) const { return static_cast<int>(std::ceil(std::log(value) / log_gamma_)); }

// The value that represents bucket i, (gamma^(i-1), gamma^i], within alpha of every member.
double DDSketch::bucket_value(int index) const { return 2 * std::pow(gamma_, index) / (gamma_ + 1); }

void DDSketch::add(double value, std::uint64_t n) {
  if (!std::isfinite(value) || value < 0 || n == 0) return;
  if (count_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  count_ += n;
  sum_ += value * static_cast<double>(n);
  if (value < kMinIndexable) {
    zero_count_ += n;
    return;
  }
  const int i = bucket_index(value);
  if (counts_.empty()) {
    offset_ = i;
    counts_.assign(1, 0);
  } else if (i < offset_) {
    const auto grow = static_cast<std::size_t>(offset_ - i);
    if (counts_.size() + grow > kMaxBuckets) {
      // Collapse the lowest buckets into the first one rather than grow without bound.
      counts_.front() += n;
      return;
    }
    counts_.insert(counts_.begin(), grow, 0);
    offset_ = i;
  } else if (static_cast<std::size_t>(i - offset_) >= counts_.size()) {
    const auto size = static_cast<std::size_t>(i - offset_) + 1;
    if (size > kMaxBuckets) {
      counts_.back() += n;
      return;
    }
    counts_.resize(size, 0);
  }
  counts_[static_cast<std::size_t>(i - offset_)] += n;
}

bool DDSketch::merge(const DDSketch& o) {
  if (o.alpha_ != alpha_) return false;
  if (o.count_ == 0) return true;
  if (count_ == 0) {
    min_ = o.min_;
    max_ = o.max_;
  } else {
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
  }
  count_ += o.count_;
  sum_ += o.sum_;
  zero_count_ += o.zero_count_;
  for (std::size_t k = 0; k < o.counts_.size(); ++k) {
    if (!o.counts_[k]) continue;
    const int i = o.offset_ + static_cast<int>(k);
    // Reuse add()'s bucket bookkeeping with the bucket's own representative value.
    const auto before = count_;
    const double saved_min = min_, saved_max = max_, saved_sum = sum_;
    add(bucket_value(i), o.counts_[k]);
    count_ = before;
    min_ = saved_min;
    max_ = saved_max;
    sum_ = saved_sum;
  }
  return true;
}

double DDSketch::quantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  if (q == 0) return min_;
  if (q == 1) return max_;
  // Spark's percentile_approx: the smallest value with at least q of all values at or below it,
  // i.e. the ceil(q * n)-th smallest (1-based). Two values and q = 0.95: the larger one.
  const auto rank = std::clamp<std::uint64_t>(
      static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))), 1, count_);
  std::uint64_t seen = zero_count_;
  if (rank <= seen) return 0;
  for (std::size_t k = 0; k < counts_.size(); ++k) {
    seen += counts_[k];
    if (rank <= seen) return std::clamp(bucket_value(offset_ + static_cast<int>(k)), min_, max_);
  }
  return max_;
}

// Sparse: only non-empty buckets, as (index delta, count) varints, so a sketch of a few values
// is a few dozen bytes whatever their spread.
void DDSketch::serialize(std::string& out) const {
  bytes::put<double>(out, alpha_);
  bytes::put_varint(out, count_);
  bytes::put<double>(out, min_);
  bytes::put<double>(out, max_);
  bytes::put<double>(out, sum_);
  bytes::put_varint(out, zero_count_);
  std::uint64_t buckets = 0;
  for (auto c : counts_) buckets += c != 0;
  bytes::put_varint(out, buckets);
  bytes::put<std::int32_t>(out, offset_);
  std::size_t prev = 0;
  for (std::size_t k = 0; k < counts_.size(); ++k) {
    if (!counts_[k]) continue;
    bytes::put_varint(out, k - prev);
    bytes::put_varint(out, counts_[k]);
    prev = k;
  }
}

bool DDSketch::deserialize(std::string_view in, DDSketch& out) {
  bytes::Reader r(in);
  const double alpha = r.get<double>();
  if (!r.ok() || !(alpha > 0 && alpha < 0.5)) return false;
  DDSketch s(alpha);
  s.count_ = r.get_varint();
  s.min_ = r.get<double>();
  s.max_ = r.get<double>();
  s.sum_ = r.get<double>();
  s.zero_count_ = r.get_varint();
  const auto buckets = r.get_varint();
  s.offset_ = r.get<std::int32_t>();
  // Indexes stay where a finite positive double can put them (about +-36,000 at alpha 0.01; the
  // bound leaves room for any alpha a sketch accepts), so offset + k never overflows an int.
  constexpr std::int32_t kIndexBound = 1 << 24;
  if (!r.ok() || buckets > kMaxBuckets || s.offset_ < -kIndexBound || s.offset_ > kIndexBound) return false;
  std::uint64_t total = s.zero_count_;
  std::size_t k = 0;
  for (std::uint64_t b = 0; b < buckets; ++b) {
    const auto delta = r.get_varint();
    const auto c = r.get_varint();
    if (!r.ok() || c == 0 || (b > 0 && delta == 0) || delta >= kMaxBuckets || k + delta >= kMaxBuckets) return false;
    k += delta;
    if (k >= s.counts_.size()) s.counts_.resize(k + 1, 0);
    s.counts_[k] = c;
    total += c;
  }
  if (!r.ok() || total != s.count_ || !r.rest().empty()) return false;
  out = std::move(s);
  return true;
}

}  // namespace sw::sketch
