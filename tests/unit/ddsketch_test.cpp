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

double exact_quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
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
