#include <gtest/gtest.h>

#include "runtime/topic_setup.h"

namespace sw {
namespace {

TEST(InternalPartitionCount, DefaultsToTheInputsPartitionsUpToTheCap) {
  EXPECT_EQ(internal_partition_count(0, 1), 1);
  EXPECT_EQ(internal_partition_count(0, 4), 4);
  EXPECT_EQ(internal_partition_count(0, kDefaultMaxInternalPartitions), kDefaultMaxInternalPartitions);
  // A wide input does not make the next stage's topics as wide: 128 input partitions give 32.
  EXPECT_EQ(internal_partition_count(0, 128), 32);
  EXPECT_EQ(internal_partition_count(0, 1024), 32);
}

TEST(InternalPartitionCount, AnExplicitCountWinsInBothDirections) {
  EXPECT_EQ(internal_partition_count(128, 128), 128);
  EXPECT_EQ(internal_partition_count(256, 8), 256);
  EXPECT_EQ(internal_partition_count(2, 128), 2);
}

}  // namespace
}  // namespace sw
