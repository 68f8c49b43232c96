#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "common/bytes.h"
#include "sketch/ddsketch.h"

namespace sw::sketch {
namespace {

// Spark's percentile_approx definition: the ceil(q * n)-th smallest value.
double exact_quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

// As Spark's percentile_approx: p95 of two values is the larger, p50 the smaller; p95 of 20
// values is the 19th smallest, of 21 the 20th.
TEST(DDSketch, QuantilesFollowSparksPercentileDefinition) {
  DDSketch two;
  two.add(100);
  two.add(1000);
  EXPECT_NEAR(two.quantile(0.95), 1000, 10);
  EXPECT_NEAR(two.quantile(0.5), 100, 1);
  EXPECT_NEAR(two.quantile(0.51), 1000, 10);
  for (const std::size_t n : {20u, 21u, 100u, 101u}) {
    DDSketch s;
    for (std::size_t i = 1; i <= n; ++i) s.add(static_cast<double>(i) * 10);
    const double want = std::ceil(0.95 * static_cast<double>(n)) * 10;
    EXPECT_NEAR(s.quantile(0.95), want, want * 0.01) << n;
  }
}

TEST(DDSketch, EmptyAndSingleValue) {
  DDSketch s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.quantile(0.5), 0);
  s.add(123.4);
  EXPECT_EQ(s.count(), 1u);
  EXPECT_NEAR(s.quantile(0.5), 123.4, 123.4 * 0.01);
  EXPECT_EQ(s.quantile(0), 123.4);
  EXPECT_EQ(s.quantile(1), 123.4);
}

TEST(DDSketch, QuantilesStayWithinTheRelativeAccuracy) {
  for (const double alpha : {0.01, 0.005}) {
    std::mt19937_64 rng(42);
    std::lognormal_distribution<double> dist(5.0, 1.2);  // render times: ms, long tail
    std::vector<double> values;
    DDSketch s(alpha);
    for (int i = 0; i < 100000; ++i) {
      const double v = dist(rng);
      values.push_back(v);
      s.add(v);
    }
    for (const double q : {0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999}) {
      const double exact = exact_quantile(values, q);
      EXPECT_LE(std::fabs(s.quantile(q) - exact), alpha * exact * 1.000001) << "alpha " << alpha << " q " << q;
    }
    EXPECT_EQ(s.min(), *std::min_element(values.begin(), values.end()));
    EXPECT_EQ(s.max(), *std::max_element(values.begin(), values.end()));
  }
}

TEST(DDSketch, MergingPartialsEqualsOneSketchOfEverything) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> dist(0.5, 5000);
  DDSketch all;
  std::vector<DDSketch> parts(4);
  for (int i = 0; i < 20000; ++i) {
    const double v = dist(rng);
    all.add(v);
    parts[static_cast<std::size_t>(i % 4)].add(v);
  }
  DDSketch merged;
  for (const auto& p : parts) ASSERT_TRUE(merged.merge(p));
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_DOUBLE_EQ(merged.min(), all.min());
  EXPECT_DOUBLE_EQ(merged.max(), all.max());
  EXPECT_NEAR(merged.sum(), all.sum(), 1e-6 * all.sum());
  for (const double q : {0.05, 0.5, 0.95, 0.99}) EXPECT_DOUBLE_EQ(merged.quantile(q), all.quantile(q)) << q;
  EXPECT_FALSE(merged.merge(DDSketch(0.02)));
}

TEST(DDSketch, ZerosCountNegativesAndNonFiniteAreIgnored) {
  DDSketch s;
  s.add(0, 3);
  s.add(-1);
  s.add(std::nan(""));
  s.add(INFINITY);
  s.add(10);
  EXPECT_EQ(s.count(), 4u);
  EXPECT_EQ(s.quantile(0.5), 0);
  EXPECT_NEAR(s.quantile(1), 10, 0.1);
  EXPECT_THROW(DDSketch(0), std::invalid_argument);
  EXPECT_THROW(DDSketch(0.5), std::invalid_argument);
}

TEST(DDSketch, SerializesAndRejectsDamagedBytes) {
  DDSketch s;
  for (int i = 1; i <= 1000; ++i) s.add(i * 1.5);
  std::string bytes;
  s.serialize(bytes);
  DDSketch back;
  ASSERT_TRUE(DDSketch::deserialize(bytes, back));
  EXPECT_EQ(back.count(), s.count());
  for (const double q : {0.1, 0.5, 0.95}) EXPECT_DOUBLE_EQ(back.quantile(q), s.quantile(q));
  EXPECT_FALSE(DDSketch::deserialize(std::string_view(bytes).substr(0, bytes.size() - 1), back));
  std::string longer = bytes + "x";
  EXPECT_FALSE(DDSketch::deserialize(longer, back));
  std::string wrong_count = bytes;
  wrong_count[8] ^= 1;  // the total no longer matches the buckets
  EXPECT_FALSE(DDSketch::deserialize(wrong_count, back));
}

// Found by fuzz_render_aggregates: a stored sketch whose bucket offset is near INT32_MAX was
// accepted, and merging it overflowed the bucket index (undefined behaviour).
TEST(DDSketch, RejectsBucketIndexesNoValueCanHave) {
  for (const std::int32_t offset : {std::numeric_limits<std::int32_t>::max() - 10, -(1 << 30), (1 << 24) + 1}) {
    std::string bytes;
    bytes::put<double>(bytes, 0.01);
    bytes::put_varint(bytes, 1);  // count
    bytes::put<double>(bytes, 1.0);
    bytes::put<double>(bytes, 1.0);
    bytes::put<double>(bytes, 1.0);
    bytes::put_varint(bytes, 0);  // zeros
    bytes::put_varint(bytes, 1);  // buckets
    bytes::put<std::int32_t>(bytes, offset);
    bytes::put_varint(bytes, 0);  // delta
    bytes::put_varint(bytes, 1);  // count
    DDSketch back;
    EXPECT_FALSE(DDSketch::deserialize(bytes, back)) << offset;
  }
  DDSketch s;
  s.add(1e300);
  s.add(1e-300);
  std::string bytes;
  s.serialize(bytes);
  DDSketch back;
  EXPECT_TRUE(DDSketch::deserialize(bytes, back));  // extreme real values stay inside the bound
}

}  // namespace
}  // namespace sw::sketch
