#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "topology/envelope.h"
#include "window/watermarks.h"

namespace sw::envelope {
namespace {

RecordContext sample_context() {
  RecordContext ctx;
  ctx.source_topic = 3;
  ctx.source_partition = 17;
  ctx.source_offset = 123'456'789'012;
  ctx.source_seq = 4'000'000'007;
  ctx.event_time = 1767262530123;
  ctx.entry_stream_time = 1767262540000;
  return ctx;
}

// ---------------------------------------------------------------------------------------------
// data records

TEST(EnvelopeData, HeaderLayout) {
  std::string out;
  encode_data(out, sample_context());
  EXPECT_EQ(out.size(), kDataHeaderSize);
  EXPECT_EQ(kDataHeaderSize, 35u);
  EXPECT_EQ(out[0], kData);
}

TEST(EnvelopeData, RoundTripWithPayload) {
  const RecordContext in = sample_context();
  std::string out = "previous contents are cleared";
  encode_data(out, in);
  static constexpr char kPayload[] = "payload with \0 nul and \xff bytes";
  const std::string payload(kPayload, sizeof kPayload - 1);
  out += payload;

  RecordContext ctx;
  std::string_view got;
  ASSERT_TRUE(decode_data(out, ctx, got));
  EXPECT_EQ(ctx.source_topic, in.source_topic);
  EXPECT_EQ(ctx.source_partition, in.source_partition);
  EXPECT_EQ(ctx.source_offset, in.source_offset);
  EXPECT_EQ(ctx.source_seq, in.source_seq);
  EXPECT_EQ(ctx.event_time, in.event_time);
  EXPECT_EQ(ctx.entry_stream_time, in.entry_stream_time);
  EXPECT_EQ(got, payload);
  EXPECT_EQ(got.data(), out.data() + kDataHeaderSize) << "payload should be a view into the input";
}

TEST(EnvelopeData, RoundTripEmptyPayload) {
  std::string out;
  encode_data(out, sample_context());
  RecordContext ctx;
  std::string_view got = "not empty";
  ASSERT_TRUE(decode_data(out, ctx, got));
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(ctx.source_offset, 123'456'789'012);
}

TEST(EnvelopeData, RoundTripExtremeValues) {
  for (const RecordContext& in : {
           RecordContext{kNoTimestamp, kNoTimestamp, kNoTimestamp, 0, 0, -1},
           RecordContext{std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min(), 0,
                         std::numeric_limits<std::uint16_t>::max(), std::numeric_limits<std::int32_t>::max(),
                         std::numeric_limits<std::int64_t>::max()},
           RecordContext{-1, -2, 0, 1, -1, 0},
       }) {
    std::string out;
    encode_data(out, in);
    out += "x";
    RecordContext ctx;
    std::string_view payload;
    ASSERT_TRUE(decode_data(out, ctx, payload));
    EXPECT_EQ(ctx.event_time, in.event_time);
    EXPECT_EQ(ctx.entry_stream_time, in.entry_stream_time);
    EXPECT_EQ(ctx.source_topic, in.source_topic);
    EXPECT_EQ(ctx.source_partition, in.source_partition);
    EXPECT_EQ(ctx.source_offset, in.source_offset);
    EXPECT_EQ(payload, "x");
  }
}

TEST(EnvelopeData, RejectsShortInput) {
  std::string out;
  encode_data(out, sample_context());
  RecordContext ctx;
  std::string_view payload;
  EXPECT_FALSE(decode_data("", ctx, payload));
  EXPECT_FALSE(decode_data("R", ctx, payload));
  for (std::size_t n = 0; n < kDataHeaderSize; ++n) {
    SCOPED_TRACE(n);
    EXPECT_FALSE(decode_data(std::string_view(out.data(), n), ctx, payload));
  }
}

TEST(EnvelopeData, RejectsWrongMagic) {
  std::string out;
  encode_data(out, sample_context());
  out += "payload";
  RecordContext ctx;
  std::string_view payload;
  for (char magic : {kWatermark, 'r', '\0', 'X', '{'}) {
    SCOPED_TRACE(std::string(1, magic));
    std::string bad = out;
    bad[0] = magic;
    EXPECT_FALSE(decode_data(bad, ctx, payload));
  }
}

TEST(EnvelopeData, RejectsAWatermarkRecord) {
  std::string wm;
  encode_watermarks(wm, {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}});
  RecordContext ctx;
  std::string_view payload;
  EXPECT_FALSE(decode_data(wm, ctx, payload));
}

// ---------------------------------------------------------------------------------------------
// watermark records

void expect_entries_eq(const std::vector<WatermarkEntry>& a, const std::vector<WatermarkEntry>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(a[i].topic, b[i].topic);
    EXPECT_EQ(a[i].partition, b[i].partition);
    EXPECT_EQ(a[i].stream_time, b[i].stream_time);
  }
}

TEST(EnvelopeWatermarks, RoundTrip) {
  const std::vector<WatermarkEntry> in = {
      {0, 0, 1767262530123},
      {0, 1, kWatermarkEmpty},
      {1, 0, -5},
      {std::numeric_limits<std::uint16_t>::max(), std::numeric_limits<std::int32_t>::max(),
       std::numeric_limits<std::int64_t>::max()},
  };
  std::string out = "junk";
  encode_watermarks(out, in);
  EXPECT_EQ(out[0], kWatermark);
  EXPECT_EQ(out.size(), 5 + in.size() * 14);
  std::vector<WatermarkEntry> got = {{9, 9, 9}};  // cleared by decode
  ASSERT_TRUE(decode_watermarks(out, got));
  expect_entries_eq(got, in);
}

TEST(EnvelopeWatermarks, RoundTripEmptyList) {
  std::string out;
  encode_watermarks(out, {});
  EXPECT_EQ(out.size(), 5u);
  std::vector<WatermarkEntry> got = {{1, 1, 1}};
  ASSERT_TRUE(decode_watermarks(out, got));
  EXPECT_TRUE(got.empty());
}

TEST(EnvelopeWatermarks, RejectsWrongLength) {
  std::string out;
  encode_watermarks(out, {{1, 2, 3}, {4, 5, 6}});
  std::vector<WatermarkEntry> got;
  for (std::size_t n = 0; n < out.size(); ++n) {
    SCOPED_TRACE(n);
    EXPECT_FALSE(decode_watermarks(std::string_view(out.data(), n), got));
    EXPECT_TRUE(got.empty());
  }
  EXPECT_FALSE(decode_watermarks(out + "x", got));
  EXPECT_FALSE(decode_watermarks(out + std::string(14, '\0'), got)) << "an extra entry not counted in the header";
  EXPECT_TRUE(got.empty());
}

TEST(EnvelopeWatermarks, RejectsCountThatDoesNotMatch) {
  std::string out;
  encode_watermarks(out, {{1, 2, 3}});
  out[1] = 2;  // claims two entries, carries one
  std::vector<WatermarkEntry> got;
  EXPECT_FALSE(decode_watermarks(out, got));
  out[1] = 0;  // claims none, carries one
  EXPECT_FALSE(decode_watermarks(out, got));
  // A huge count must not be trusted (nor allocate).
  std::string huge(1, kWatermark);
  bytes::put<std::uint32_t>(huge, 0xffffffffu);
  EXPECT_FALSE(decode_watermarks(huge, got));
}

TEST(EnvelopeWatermarks, RejectsWrongMagic) {
  std::string out;
  encode_watermarks(out, {{1, 2, 3}});
  std::vector<WatermarkEntry> got;
  out[0] = kData;
  EXPECT_FALSE(decode_watermarks(out, got));
  out[0] = 'w';
  EXPECT_FALSE(decode_watermarks(out, got));
}

TEST(EnvelopeWatermarks, RejectsADataRecord) {
  std::string data;
  encode_data(data, sample_context());
  std::vector<WatermarkEntry> got;
  EXPECT_FALSE(decode_watermarks(data, got));
}

}  // namespace
}  // namespace sw::envelope
