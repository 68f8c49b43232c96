#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "runtime/task.h"

namespace sw {
namespace {

TaskMeta sample_meta() {
  TaskMeta m;
  m.generation = 7;
  m.input_offset = 1'234'567;
  m.last_offsets = {{10, 20, -1}, {}, {5}, {0, 1, 2, 3, 4, 5, 6, 7}};
  m.watermarks = {{1767262530123, kWatermarkEmpty, kWatermarkUnknown}, {}, {-5}, {0, 1, 2, 3, 4, 5, 6, 7}};
  return m;
}

// ---------------------------------------------------------------------------------------------
// TaskMeta

TEST(TaskMeta, RoundTripSeveralTopicsAndPartitions) {
  const TaskMeta in = sample_meta();
  TaskMeta out;
  ASSERT_TRUE(TaskMeta::decode(in.encode(), out));
  EXPECT_EQ(out.input_offset, in.input_offset);
  EXPECT_EQ(out.last_offsets, in.last_offsets);
  EXPECT_EQ(out.watermarks, in.watermarks);
}

TEST(TaskMeta, RoundTripEmpty) {
  TaskMeta in;  // input_offset -1, no topics
  TaskMeta out;
  out.input_offset = 99;
  out.last_offsets = {{1}};
  out.watermarks = {{1}};
  ASSERT_TRUE(TaskMeta::decode(in.encode(), out));
  EXPECT_EQ(out.input_offset, -1);
  EXPECT_TRUE(out.last_offsets.empty());
  EXPECT_TRUE(out.watermarks.empty());
}

TEST(TaskMeta, RoundTripExtremeValues) {
  TaskMeta in;
  in.input_offset = std::numeric_limits<std::int64_t>::max();
  in.last_offsets = {{std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}};
  in.watermarks = {{std::numeric_limits<std::int64_t>::max(), kWatermarkEmpty}};
  TaskMeta out;
  ASSERT_TRUE(TaskMeta::decode(in.encode(), out));
  EXPECT_EQ(out.input_offset, in.input_offset);
  EXPECT_EQ(out.last_offsets, in.last_offsets);
  EXPECT_EQ(out.watermarks, in.watermarks);
}

TEST(TaskMeta, MissingWatermarksEncodeAsUnknown) {
  TaskMeta in;
  in.last_offsets = {{1, 2}, {3}};
  in.watermarks = {{100}};  // shorter than last_offsets in both dimensions
  TaskMeta out;
  ASSERT_TRUE(TaskMeta::decode(in.encode(), out));
  EXPECT_EQ(out.last_offsets, in.last_offsets);
  EXPECT_EQ(out.watermarks, (std::vector<std::vector<TimestampMs>>{{100, kWatermarkUnknown}, {kWatermarkUnknown}}));
}

TEST(TaskMeta, EncodingIsDeterministicAndCompact) {
  const TaskMeta in = sample_meta();
  EXPECT_EQ(in.encode(), sample_meta().encode());
  // version + input offset + topic count + per topic (count + 20 bytes per partition)
  std::size_t expected = 1 + 8 + 4;
  for (const auto& t : in.last_offsets) expected += 4 + 20 * t.size();
  EXPECT_EQ(in.encode().size(), expected);
}

TEST(TaskMeta, DecodeRejectsEveryTruncation) {
  const std::string full = sample_meta().encode();
  for (std::size_t n = 0; n < full.size(); ++n) {
    SCOPED_TRACE("length " + std::to_string(n) + " of " + std::to_string(full.size()));
    TaskMeta out;
    EXPECT_FALSE(TaskMeta::decode(full.substr(0, n), out));
  }
}

TEST(TaskMeta, DecodeRejectsWrongVersion) {
  std::string data = sample_meta().encode();
  for (unsigned char v : {0, 3, 255}) {
    SCOPED_TRACE(static_cast<int>(v));
    data[0] = static_cast<char>(v);
    TaskMeta out;
    EXPECT_FALSE(TaskMeta::decode(data, out));
  }
}

TEST(TaskMeta, DecodeRejectsImplausibleCounts) {
  // A topic count beyond any topology (and without the data to back it).
  std::string data;
  bytes::put<std::uint8_t>(data, 1);
  bytes::put<std::int64_t>(data, 0);
  bytes::put<std::uint32_t>(data, 0xffffffffu);
  TaskMeta out;
  EXPECT_FALSE(TaskMeta::decode(data, out));
  // One topic claiming four billion partitions.
  data.clear();
  bytes::put<std::uint8_t>(data, 1);
  bytes::put<std::int64_t>(data, 0);
  bytes::put<std::uint32_t>(data, 1);
  bytes::put<std::uint32_t>(data, 0xffffffffu);
  EXPECT_FALSE(TaskMeta::decode(data, out));
  // A partition count larger than the data.
  data.clear();
  bytes::put<std::uint8_t>(data, 1);
  bytes::put<std::int64_t>(data, 0);
  bytes::put<std::uint32_t>(data, 1);
  bytes::put<std::uint32_t>(data, 3);
  bytes::put<std::int64_t>(data, 1);
  bytes::put<std::int64_t>(data, 2);
  EXPECT_FALSE(TaskMeta::decode(data, out));
}

TEST(TaskMeta, DecodeRejectsGarbage) {
  TaskMeta out;
  EXPECT_FALSE(TaskMeta::decode("", out));
  EXPECT_FALSE(TaskMeta::decode("sw1;st=5", out));
  EXPECT_FALSE(TaskMeta::decode(std::string(3, '\x01'), out));
}

// ---------------------------------------------------------------------------------------------
// commit metadata

TEST(CommitMetadata, EncodedForms) {
  EXPECT_EQ(encode_commit_metadata(1767262530123, false), "sw1;st=1767262530123");
  EXPECT_EQ(encode_commit_metadata(-5, false), "sw1;st=-5");
  EXPECT_EQ(encode_commit_metadata(0, true), "sw1;st=empty");
  EXPECT_EQ(encode_commit_metadata(kNoTimestamp, true), "sw1;st=empty");
  EXPECT_EQ(encode_commit_metadata(kNoTimestamp, false), "sw1");
}

TEST(CommitMetadata, RoundTrips) {
  for (TimestampMs st : {TimestampMs{0}, TimestampMs{1767262530123}, TimestampMs{-1}, TimestampMs{-86400001},
                         std::numeric_limits<TimestampMs>::max(), kNoTimestamp + 1, kNoTimestamp}) {
    SCOPED_TRACE(st);
    TimestampMs t = 42;
    bool empty = true;
    ASSERT_TRUE(decode_commit_metadata(encode_commit_metadata(st, false), t, empty));
    EXPECT_EQ(t, st);
    EXPECT_FALSE(empty);
  }
}

TEST(CommitMetadata, RoundTripEmpty) {
  TimestampMs t = 42;
  bool empty = false;
  ASSERT_TRUE(decode_commit_metadata(encode_commit_metadata(123, true), t, empty));
  EXPECT_TRUE(empty);
  EXPECT_EQ(t, kNoTimestamp);
}

TEST(CommitMetadata, RoundTripNoStreamTime) {
  TimestampMs t = 42;
  bool empty = true;
  ASSERT_TRUE(decode_commit_metadata(encode_commit_metadata(kNoTimestamp, false), t, empty));
  EXPECT_EQ(t, kNoTimestamp);
  EXPECT_FALSE(empty);
}

TEST(CommitMetadata, RejectsForeignMetadata) {
  for (const char* in : {"", "s", "sw", "SW1;st=5", "sw2;st=5", "sw0", "xsw1;st=5", " sw1;st=5",
                         "some other client's metadata"}) {
    SCOPED_TRACE(std::string("input: \"") + in + "\"");
    TimestampMs t = 42;
    bool empty = true;
    EXPECT_FALSE(decode_commit_metadata(in, t, empty));
    EXPECT_EQ(t, kNoTimestamp) << "outputs are reset even on failure";
    EXPECT_FALSE(empty);
  }
}

TEST(CommitMetadata, RejectsGarbageNumbers) {
  for (const char* in : {"sw1;st=", "sw1;st=abc", "sw1;st=12x", "sw1;st=1.5", "sw1;st= 5", "sw1;st=5 ",
                         "sw1;st=+5", "sw1;st=--5", "sw1;st=99999999999999999999", "sw1;st=empty2",
                         "sw1;st=EMPTY", "sw1;st=0x10"}) {
    SCOPED_TRACE(std::string("input: \"") + in + "\"");
    TimestampMs t = 42;
    bool empty = true;
    EXPECT_FALSE(decode_commit_metadata(in, t, empty));
    EXPECT_FALSE(empty);
  }
}

TEST(CommitMetadata, ChunkEndRoundTrips) {
  EXPECT_EQ(encode_commit_metadata(1767262530123, false, 41), "sw1;st=1767262530123;pa=41");
  EXPECT_EQ(encode_commit_metadata(kNoTimestamp, true, 0), "sw1;st=empty;pa=0");
  EXPECT_EQ(encode_commit_metadata(kNoTimestamp, false, 7), "sw1;pa=7");
  for (std::int64_t end : {std::int64_t{0}, std::int64_t{123456789012}, std::int64_t{-1}}) {
    TimestampMs t;
    bool empty;
    std::int64_t got = 99;
    ASSERT_TRUE(decode_commit_metadata(encode_commit_metadata(5, false, end), t, empty, got));
    EXPECT_EQ(t, 5);
    EXPECT_EQ(got, end);
  }
  TimestampMs t;
  bool empty;
  std::int64_t got;
  ASSERT_TRUE(decode_commit_metadata("sw1;st=5", t, empty, got));
  EXPECT_EQ(got, -1) << "no chunk end recorded";
  for (const char* in : {"sw1;pa=", "sw1;pa=-3", "sw1;pa=x", "sw1;st=5;pa=1;pa=2", "sw1;st=5;st=6", "sw1;st=5;zz=1",
                         "sw1;"}) {
    SCOPED_TRACE(in);
    EXPECT_FALSE(decode_commit_metadata(in, t, empty, got));
  }
}

TEST(TaskMeta, Version1StateStillDecodes) {
  // Written before sequence numbers existed: an applied offset covers every position in it.
  std::string data;
  bytes::put<std::uint8_t>(data, 1);
  bytes::put<std::int64_t>(data, 10);
  bytes::put<std::uint32_t>(data, 1);
  bytes::put<std::uint32_t>(data, 1);
  bytes::put<std::int64_t>(data, 77);
  bytes::put<std::int64_t>(data, 1000);
  TaskMeta out;
  ASSERT_TRUE(TaskMeta::decode(data, out));
  EXPECT_EQ(out.last_offsets, (std::vector<std::vector<std::int64_t>>{{77}}));
  EXPECT_EQ(out.last_seqs, (std::vector<std::vector<std::uint32_t>>{{UINT32_MAX}}));
}

}  // namespace
}  // namespace sw
