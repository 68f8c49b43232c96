#include <gtest/gtest.h>

#include <vector>

#include "window/watermarks.h"

namespace sw {
namespace {

TEST(UpstreamWatermarks, SentinelsAreDistinct) {
  EXPECT_EQ(kWatermarkUnknown, kNoTimestamp);
  EXPECT_NE(kWatermarkEmpty, kWatermarkUnknown);
  EXPECT_LT(kWatermarkEmpty, TimestampMs{0});
}

TEST(UpstreamWatermarks, StartsUnknown) {
  UpstreamWatermarks w(3);
  EXPECT_EQ(w.size(), 3u);
  EXPECT_EQ(w.values(), (std::vector<TimestampMs>(3, kWatermarkUnknown)));
  EXPECT_EQ(w.current(), kNoTimestamp);
}

TEST(UpstreamWatermarks, NoPartitionsHasNoTime) {
  UpstreamWatermarks w;
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(w.current(), kNoTimestamp);
}

TEST(UpstreamWatermarks, UnknownWhileAnyPartitionUnknown) {
  UpstreamWatermarks w(3);
  w.update(0, 1000);
  EXPECT_EQ(w.current(), kNoTimestamp);
  w.update(2, 500);
  EXPECT_EQ(w.current(), kNoTimestamp);
  w.update(1, 2000);
  EXPECT_EQ(w.current(), 500);
}

TEST(UpstreamWatermarks, MinimumOverPartitions) {
  UpstreamWatermarks w(3);
  w.update(0, 3000);
  w.update(1, 1000);
  w.update(2, 2000);
  EXPECT_EQ(w.current(), 1000);
  w.update(1, 4000);  // the slowest catches up; partition 2 is now the minimum
  EXPECT_EQ(w.current(), 2000);
  w.update(2, 5000);
  EXPECT_EQ(w.current(), 3000);
}

TEST(UpstreamWatermarks, NegativeTimesAreRealTimes) {
  UpstreamWatermarks w(2);
  w.update(0, -5000);
  w.update(1, 10);
  EXPECT_EQ(w.current(), -5000);
}

TEST(UpstreamWatermarks, MonotonicOlderValueIgnored) {
  UpstreamWatermarks w(2);
  w.update(0, 1000);
  w.update(1, 2000);
  w.update(0, 500);  // a replayed older watermark
  EXPECT_EQ(w.values()[0], 1000);
  EXPECT_EQ(w.current(), 1000);
  w.update(0, 1000);  // equal: no change
  EXPECT_EQ(w.values()[0], 1000);
  w.update(0, 1500);
  EXPECT_EQ(w.current(), 1500);
}

TEST(UpstreamWatermarks, UnknownUpdateIsIgnored) {
  UpstreamWatermarks w(1);
  w.update(0, 1000);
  w.update(0, kWatermarkUnknown);
  EXPECT_EQ(w.current(), 1000);
  UpstreamWatermarks fresh(1);
  fresh.update(0, kWatermarkUnknown);
  EXPECT_EQ(fresh.values()[0], kWatermarkUnknown);
}

TEST(UpstreamWatermarks, UnknownRevokesEmptyButNoTime) {
  UpstreamWatermarks w(2);
  w.update(0, kWatermarkEmpty);
  w.update(1, 5000);
  EXPECT_EQ(w.current(), 5000);
  w.update(0, kWatermarkUnknown);  // the upstream task restarted: partition 0 may have records
  EXPECT_EQ(w.current(), kNoTimestamp);
  w.update(0, 1000);
  EXPECT_EQ(w.current(), 1000);
  w.update(0, kWatermarkUnknown);  // a time is never taken back
  EXPECT_EQ(w.current(), 1000);
}

TEST(UpstreamWatermarks, EmptyPartitionsAreIgnored) {
  UpstreamWatermarks w(3);
  w.update(0, kWatermarkEmpty);
  w.update(1, 700);
  EXPECT_EQ(w.current(), kNoTimestamp) << "partition 2 is still unknown";
  w.update(2, 900);
  EXPECT_EQ(w.current(), 700) << "empty partition 0 must not hold time back";
}

TEST(UpstreamWatermarks, AllEmptyHasNoTime) {
  UpstreamWatermarks w(2);
  w.update(0, kWatermarkEmpty);
  w.update(1, kWatermarkEmpty);
  EXPECT_EQ(w.current(), kNoTimestamp);
}

TEST(UpstreamWatermarks, RealTimeReplacesEmpty) {
  UpstreamWatermarks w(2);
  w.update(0, kWatermarkEmpty);
  w.update(1, 5000);
  EXPECT_EQ(w.current(), 5000);
  // A real time, even one far behind the others, replaces empty and now holds time back.
  w.update(0, 100);
  EXPECT_EQ(w.values()[0], 100);
  EXPECT_EQ(w.current(), 100);
}

TEST(UpstreamWatermarks, NegativeRealTimeReplacesEmpty) {
  UpstreamWatermarks w(1);
  w.update(0, kWatermarkEmpty);
  w.update(0, -1);
  EXPECT_EQ(w.current(), -1);
}

TEST(UpstreamWatermarks, EmptyDoesNotReplaceARealTime) {
  UpstreamWatermarks w(2);
  w.update(0, 1000);
  w.update(1, 2000);
  w.update(0, kWatermarkEmpty);
  EXPECT_EQ(w.values()[0], 1000);
  EXPECT_EQ(w.current(), 1000);
}

TEST(UpstreamWatermarks, OutOfRangePartitionIgnored) {
  UpstreamWatermarks w(2);
  w.update(2, 1000);
  w.update(100, 1000);
  EXPECT_EQ(w.size(), 2u);
  EXPECT_EQ(w.values(), (std::vector<TimestampMs>(2, kWatermarkUnknown)));
  w.update(0, 10);
  w.update(1, 20);
  w.update(2, 1);
  EXPECT_EQ(w.current(), 10);
}

TEST(UpstreamWatermarks, ResizeAddsUnknownPartitions) {
  UpstreamWatermarks w(1);
  w.update(0, 1000);
  EXPECT_EQ(w.current(), 1000);
  w.resize(2);
  EXPECT_EQ(w.values()[0], 1000);
  EXPECT_EQ(w.current(), kNoTimestamp);
  w.update(1, 1500);
  EXPECT_EQ(w.current(), 1000);
}

}  // namespace
}  // namespace sw
