#pragma once
// The replay of `streamwright-loadgen --replay FILE` (the seed's JSON-file producer), without
// Kafka: records read from the file (see json_splitter.h for the forms), validated, keyed by a
// field, sent as compact JSON, timestamps moved forward on every pass of a loop.
//
// A record is sent as its original text with the whitespace between tokens removed: field order,
// number spelling and string escapes stay as written (no re-serialisation), one record per line.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "services/loadgen/json_splitter.h"
#include "services/loadgen/replay_time.h"

namespace sw::loadgen {

struct ReplayOptions {
  std::string path;
  // The record key: a string is its value, a number or a boolean its JSON text. Records without
  // the field (or with null or an empty string in it) are sent without a key; an object or array
  // in it makes the record bad. Empty: no keys at all.
  std::string key_field = "user_id";
  // Top-level fields moved forward on each pass after the first (epoch milliseconds or time
  // strings, see replay_time.h). A record whose field holds anything else is bad.
  std::vector<std::string> shift_fields;
  enum class ShiftBy { span, wall, fixed };
  // span: each pass moves event time by the first pass's span (last minus first timestamp) plus
  // the average step between records, rounded up to the timestamps' precision: evenly spaced data
  // continues without a gap or an overlap. wall: by the wall-clock time since the first pass
  // started. fixed: by shift_fixed_ms per pass.
  ShiftBy shift_by = ShiftBy::span;
  std::int64_t shift_fixed_ms = 0;
  std::size_t max_record_bytes = 1000000;  // librdkafka's default message.max.bytes
};

struct ReplayRecord {
  bool ok = false;
  bool has_key = false;
  std::string_view key;    // valid until the next record
  std::string_view value;  // compact JSON, valid until the next record
  std::uint64_t line = 0;
  std::int64_t array_index = -1;
  std::string problem;     // why the record is bad (when !ok)
  // "line 17" or "array element [3] (line 17)".
  std::string where() const;
};

// Validates one value and finds its key and timestamps (no I/O).
class RecordDecoder {
 public:
  explicit RecordDecoder(const ReplayOptions& options);
  // Adds shift_ms to the timestamp fields. Timestamps are counted in stats() while collect is set.
  bool decode(const RawRecord& raw, std::int64_t shift_ms, bool collect, ReplayRecord& out);

  struct TimeStats {
    std::int64_t min_ms = INT64_MAX, max_ms = INT64_MIN;
    std::uint64_t records = 0;         // records with at least one timestamp
    std::int64_t precision_ms = 1000;  // the finest step the timestamps are written with
  };
  const TimeStats& stats() const noexcept { return stats_; }

 private:
  struct Span {
    std::size_t pos, len;
    TokenTime time;
  };
  bool bad(ReplayRecord& out, std::string problem);
  std::string syntax_problem(std::string_view text);
  const ReplayOptions& options_;
  simdjson::dom::parser parser_;
  std::vector<char> padded_;    // the record as written, padded for simdjson
  std::vector<char> compact_;   // the record with the whitespace between tokens removed
  std::string shifted_;         // the record with its timestamps moved
  std::string key_;             // an unescaped key
  std::vector<Span> spans_;
  TimeStats stats_;
};

// The shift of each pass under the span rule (see ReplayOptions::ShiftBy); 0 without timestamps.
std::int64_t span_step_ms(const RecordDecoder::TimeStats& stats) noexcept;

// The file, pass after pass.
class Replay {
 public:
  explicit Replay(ReplayOptions options);  // opens the file; throws std::runtime_error
  // The next record of this pass (check ok); false at the end of the pass. Throws
  // std::runtime_error when the file cannot be read (e.g. corrupt gzip data).
  bool next(ReplayRecord& out);
  // Starts the next pass at the beginning of the file. wall_elapsed_ms: time since the first
  // pass started (for ShiftBy::wall).
  void next_pass(std::int64_t wall_elapsed_ms);
  std::uint64_t pass() const noexcept { return pass_; }  // 0-based
  std::int64_t shift_ms() const noexcept { return shift_ms_; }
  bool gzip() const noexcept { return source_->gzip(); }
  std::string layout() const { return splitter_->layout(); }
  const RecordDecoder::TimeStats& time_stats() const noexcept { return decoder_.stats(); }
  const ReplayOptions& options() const noexcept { return options_; }

 private:
  ReplayOptions options_;
  std::unique_ptr<FileSource> source_;
  std::unique_ptr<JsonSplitter> splitter_;
  RecordDecoder decoder_;
  RawRecord raw_;
  std::uint64_t pass_ = 0;
  std::int64_t shift_ms_ = 0;
  std::int64_t span_step_ = -1;
};

}  // namespace sw::loadgen
