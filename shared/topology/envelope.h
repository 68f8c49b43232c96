#pragma once
// The format of repartition topics. Data records carry their provenance (entry topic, partition
// and offset, so downstream tasks drop replays) and their times (event time, and the entry
// partition's stream time, so lateness stays decided where the record entered). Watermark
// records carry upstream stream times, published to every partition in order with the data.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "topology/processor.h"

namespace sw::envelope {

inline constexpr char kData = 'D';         // data records with a sequence number
inline constexpr char kDataV1 = 'R';       // before sequence numbers: decoded with seq 0
inline constexpr std::size_t kDataV1HeaderSize = 1 + 2 + 4 + 8 + 8 + 8;
inline constexpr char kWatermark = 'W';
inline constexpr std::size_t kDataHeaderSize = 1 + 2 + 4 + 8 + 4 + 8 + 8;

inline void encode_data(std::string& out, const RecordContext& ctx) {
  out.clear();
  out += kData;
  bytes::put<std::uint16_t>(out, ctx.source_topic);
  bytes::put<std::int32_t>(out, ctx.source_partition);
  bytes::put<std::int64_t>(out, ctx.source_offset);
  bytes::put<std::uint32_t>(out, ctx.source_seq);
  bytes::put<std::int64_t>(out, ctx.event_time);
  bytes::put<std::int64_t>(out, ctx.entry_stream_time);
}

// Returns false for anything that is not a well-formed data record.
inline bool decode_data(std::string_view in, RecordContext& ctx, std::string_view& payload) {
  if (!in.empty() && in[0] == kDataV1) {
    // Written by an earlier version (still in a repartition topic during an upgrade).
    if (in.size() < kDataV1HeaderSize) return false;
    bytes::Reader r(in.substr(1));
    ctx.source_topic = r.get<std::uint16_t>();
    ctx.source_partition = r.get<std::int32_t>();
    ctx.source_offset = r.get<std::int64_t>();
    ctx.source_seq = 0;
    ctx.event_time = r.get<std::int64_t>();
    ctx.entry_stream_time = r.get<std::int64_t>();
    payload = in.substr(kDataV1HeaderSize);
    return r.ok();
  }
  if (in.size() < kDataHeaderSize || in[0] != kData) return false;
  bytes::Reader r(in.substr(1));
  ctx.source_topic = r.get<std::uint16_t>();
  ctx.source_partition = r.get<std::int32_t>();
  ctx.source_offset = r.get<std::int64_t>();
  ctx.source_seq = r.get<std::uint32_t>();
  ctx.event_time = r.get<std::int64_t>();
  ctx.entry_stream_time = r.get<std::int64_t>();
  payload = in.substr(kDataHeaderSize);
  return r.ok();
}

struct WatermarkEntry {
  std::uint16_t topic = 0;
  std::int32_t partition = 0;
  TimestampMs stream_time = 0;  // or kWatermarkEmpty
};

inline void encode_watermarks(std::string& out, const std::vector<WatermarkEntry>& entries) {
  out.clear();
  out += kWatermark;
  bytes::put<std::uint32_t>(out, static_cast<std::uint32_t>(entries.size()));
  for (const auto& e : entries) {
    bytes::put<std::uint16_t>(out, e.topic);
    bytes::put<std::int32_t>(out, e.partition);
    bytes::put<std::int64_t>(out, e.stream_time);
  }
}

inline bool decode_watermarks(std::string_view in, std::vector<WatermarkEntry>& entries) {
  entries.clear();
  if (in.size() < 5 || in[0] != kWatermark) return false;
  bytes::Reader r(in.substr(1));
  const auto n = r.get<std::uint32_t>();
  if (in.size() != 5 + static_cast<std::size_t>(n) * 14) return false;
  for (std::uint32_t i = 0; i < n; ++i) {
    WatermarkEntry e;
    e.topic = r.get<std::uint16_t>();
    e.partition = r.get<std::int32_t>();
    e.stream_time = r.get<std::int64_t>();
    entries.push_back(e);
  }
  return r.ok();
}

}  // namespace sw::envelope
