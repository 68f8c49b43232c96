// Offsets: each logical position has its own name, and only an absolute offset has a value.
#include <gtest/gtest.h>

#include "common/offset.h"

namespace sw {
namespace {

TEST(Offset, EachMeaningIsItsOwnValue) {
  const Offset named[] = {Offset::none(), Offset::beginning(), Offset::end(), Offset::committed(), Offset::at(0)};
  for (std::size_t i = 0; i < std::size(named); ++i)
    for (std::size_t j = 0; j < std::size(named); ++j) EXPECT_EQ(named[i] == named[j], i == j) << i << " " << j;
  EXPECT_EQ(Offset(), Offset::none());
  EXPECT_TRUE(Offset::none().is_none());
  EXPECT_TRUE(Offset::beginning().is_beginning());
  EXPECT_TRUE(Offset::end().is_end());
  EXPECT_TRUE(Offset::committed().is_committed());
}

TEST(Offset, OnlyAnAbsoluteOffsetHasAValue) {
  EXPECT_TRUE(Offset::at(0).is_absolute());
  EXPECT_EQ(Offset::at(41).next(), Offset::at(42));
  EXPECT_EQ(Offset::at(7).value(), 7);
  for (const auto o : {Offset::none(), Offset::beginning(), Offset::end(), Offset::committed()}) {
    EXPECT_FALSE(o.is_absolute());
    EXPECT_EQ(o.value_or(-5), -5);
  }
  EXPECT_EQ(Offset::at(3).value_or(-5), 3);
}

TEST(Offset, PrintsItsMeaning) {
  EXPECT_EQ(Offset::at(42).to_string(), "42");
  EXPECT_EQ(Offset::none().to_string(), "none");
  EXPECT_EQ(Offset::beginning().to_string(), "beginning");
  EXPECT_EQ(Offset::end().to_string(), "end");
  EXPECT_EQ(Offset::committed().to_string(), "committed");
}

}  // namespace
}  // namespace sw
