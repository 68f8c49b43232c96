#include "common/byte_size.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace sw {
namespace {

TEST(ByteSize, BinaryAndDecimalUnitsInAnyCase) {
  EXPECT_EQ(parse_byte_size("1048576"), 1048576u);
  EXPECT_EQ(parse_byte_size("128MiB"), 128ull << 20);
  EXPECT_EQ(parse_byte_size("128mib"), 128ull << 20);
  EXPECT_EQ(parse_byte_size(" 64 MB "), 64000000u);
  EXPECT_EQ(parse_byte_size("512K"), 512ull << 10);
  EXPECT_EQ(parse_byte_size("1GiB"), 1ull << 30);
  EXPECT_EQ(parse_byte_size("3gb"), 3000000000u);
  EXPECT_EQ(parse_byte_size("7B"), 7u);
}

TEST(ByteSize, GarbageNegativeAndOverflowAreRejectedNamingTheText) {
  for (const char* bad : {"", "MiB", "-1MiB", "12 parsecs", "1.5GiB", "99999999999999999999", "17179869184GiB"}) {
    try {
      parse_byte_size(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(ByteSize, FormatUsesTheLargestExactUnitAndRoundTrips) {
  EXPECT_EQ(format_byte_size(128ull << 20), "128MiB");
  EXPECT_EQ(format_byte_size(3ull << 10), "3KiB");
  EXPECT_EQ(format_byte_size(1000), "1000B");
  for (std::uint64_t v : {0ull, 1ull, 1536ull, 5ull << 30, 12345678ull}) EXPECT_EQ(parse_byte_size(format_byte_size(v)), v);
}

}  // namespace
}  // namespace sw
