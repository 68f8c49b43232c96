#pragma once
// Telemetra live-chat analytics (seed: the Telemetra Spark job), as a Streamwright pipeline.
//
//   chat-events   --+
//                   +--parse--> <app>-events-by-stream-repartition --aggregate--> chat-summary
//   viewer-events --+                                                        \--> moments
//
// parse: validate both event kinds (bad records to their dead-letter topics with a reason),
// score chat sentiment from the lexicons, re-key by stream_id. aggregate: per stream, hopping
// event-time windows (default 1 min advancing 10 s, 10 s grace) holding both the chat part and
// the viewer part of the window - the windowed join of the two aggregates. Each record is folded
// once, into its slice (one advance long); a closing slice is combined with the stream's previous
// closed slices into the window that ends with it (combine_slice), distinct chatters through one
// set per stream with a bit mask of slices per chatter. The window's chat_count is scored against
// the previous 10 closed windows of the same stream (z-score); anomalies also go to `moments` as
// `chat_spike`.
#include <chrono>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/time.h"
#include "common/time_zone.h"
#include "topology/dsl.h"
#include "topology/dsl_ext.h"

namespace sw::telemetra {

// Case-insensitive whole-word lexicon (ASCII case folding; non-ASCII bytes are word characters).
class Lexicon {
 public:
  Lexicon() = default;
  Lexicon(const std::vector<std::string>& positive, const std::vector<std::string>& negative);
  // One word per line; blank lines and lines starting with '#' are ignored.
  static std::vector<std::string> parse_word_list(std::string_view text);
  static Lexicon builtin();  // the lists shipped in topologies/data/, compiled in
  static Lexicon from_files(const std::string& positive_path, const std::string& negative_path);

  struct Matches {
    int positive = 0;
    int negative = 0;
  };
  Matches match(std::string_view message) const;
  // (positive - negative) / (positive + negative), or 0 when nothing matches.
  static double score(Matches m) {
    const int n = m.positive + m.negative;
    return n == 0 ? 0.0 : static_cast<double>(m.positive - m.negative) / static_cast<double>(n);
  }
  std::size_t positive_size() const { return positive_.size(); }
  std::size_t negative_size() const { return negative_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_set<std::string, Hash, std::equal_to<>> positive_, negative_;
};

struct Config {
  std::string chat_topic = "chat-events";
  std::string viewer_topic = "viewer-events";
  std::string chat_dead_letter_topic = "chat-events-dlq";
  std::string viewer_dead_letter_topic = "viewer-events-dlq";
  std::string summary_topic = "chat-summary";
  std::string moments_topic = "moments";
  std::chrono::milliseconds window_size{60'000};
  std::chrono::milliseconds window_advance{10'000};
  std::chrono::milliseconds grace{10'000};
  double anomaly_threshold = 3.0;
  std::size_t history_windows = 10;    // z-score baseline: previous closed windows of the stream
  std::size_t min_history_windows = 3;  // fewer than this: no z-score
  std::size_t top_emotes = 5;
  std::size_t max_record_bytes = 64 * 1024;
  // Distinct chatters are persisted in chunks of this many, written once when full, so a commit
  // writes what changed in a window rather than its whole chatter set (see ValueParts).
  std::size_t chatter_chunk = 64;
  // Windows, and separately stream histories, the aggregate holds in memory per task; beyond
  // either, the clean ones are evicted to RocksDB after a commit and read back when needed.
  std::size_t max_cached_windows = 1'000'000;
  Lexicon lexicon = Lexicon::builtin();
  TimeZone default_time_zone;  // of timestamps written without a zone
};

// A validated input event of either kind. Views point into the parser's buffers.
struct InputEvent {
  bool chat = true;
  std::string_view stream_id;
  std::string_view user_id;  // chat
  std::string_view message;  // chat
  std::vector<std::string_view> emotes;  // chat, may be empty
  std::int64_t viewer_count = 0;         // viewer
  TimestampMs timestamp = kNoTimestamp;
};
// stream_id and user_id are strings or integers (their text); timestamp as json::read_timestamp
// takes it (docs/input-formats.md).
bool parse_chat_event(std::string_view json, InputEvent& out, std::string& error, const TimeZone* default_zone = nullptr);
bool parse_viewer_event(std::string_view json, InputEvent& out, std::string& error,
                        const TimeZone* default_zone = nullptr);

// What one event contributes to its stream's windows (the repartition value).
struct Contribution {
  bool chat = true;
  std::string_view user_id;
  double sentiment = 0;
  std::vector<std::string_view> emotes;
  std::int64_t viewer_count = 0;
};
Serde<Contribution> contribution_serde();

// Transparent hashing: look strings up by view without building a std::string.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// Distinct strings in order of arrival, held compactly: one character arena, an end offset per
// string and an open-addressing index of positions (about 20 bytes plus the characters per
// string). Every hopping window of a busy stream holds each of its chatters, so the earlier
// deque<string> plus unordered_set of views (about 90 bytes per chatter and window) was most of
// the aggregate's memory.
class DistinctStrings {
 public:
  // False if `s` is already present.
  bool insert(std::string_view s) { return emplace(s).second; }
  // The position of `s`, inserted at the end if absent (second: inserted).
  std::pair<std::size_t, bool> emplace(std::string_view s);
  bool contains(std::string_view s) const;
  std::size_t size() const noexcept { return ends_.size(); }
  std::string_view operator[](std::size_t i) const noexcept {
    const std::uint32_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(chars_).substr(begin, ends_[i] - begin);
  }

 private:
  std::size_t find_slot(std::string_view s, std::size_t hash) const;
  void grow();
  std::string chars_;
  std::vector<std::uint32_t> ends_;
  std::vector<std::uint32_t> slots_;  // 0: empty, else index + 1; a power of two, at most half full
};

// Open window state: the chat part and the viewer part of one stream and window. Move-only (it
// is large; copies would be accidental).
struct WindowState {
  WindowState() = default;
  WindowState(WindowState&&) = default;
  WindowState& operator=(WindowState&&) = default;
  WindowState(const WindowState&) = delete;
  WindowState& operator=(const WindowState&) = delete;

  bool add_chatter(std::string_view user);
  std::int64_t unique_chatters() const { return static_cast<std::int64_t>(chatters.size()); }

  std::int64_t chat_count = 0;
  double sentiment_sum = 0;
  std::int64_t positive_count = 0;
  std::int64_t negative_count = 0;
  DistinctStrings chatters;  // distinct chatters in order of arrival
  std::unordered_map<std::string, std::int64_t, StringHash, std::equal_to<>> emotes;
  std::int64_t viewer_sum = 0;
  std::int64_t viewer_events = 0;
  std::uint32_t chunks_written = 0;  // full chatter chunks already persisted
};
Serde<WindowState> window_state_serde();  // the whole state in one value
// The state in parts: full chunks of `chunk` chatters (indexes 1..n, written once) and a head
// (index 0xFFFFFFFF, loaded last) with the counters, the emotes and the chatters after the last
// full chunk.
inline constexpr std::uint32_t kWindowHeadPart = 0xFFFFFFFFu;
ValueParts<WindowState> window_state_parts(std::size_t chunk);

// What one closed slice (one window advance, 10 s by default) adds to the windows that hold it.
struct SliceTotals {
  std::int64_t index = 0;  // slice start / advance
  std::int64_t chat_count = 0;
  double sentiment_sum = 0;
  std::int64_t positive_count = 0;
  std::int64_t negative_count = 0;
  std::vector<std::pair<std::string, std::int64_t>> emotes;
  std::int64_t viewer_sum = 0;
  std::int64_t viewer_events = 0;
};

// The distinct chatters of a stream's recent closed slices, one entry per chatter with a bit mask
// of the slices it was seen in (bit: slice index mod 64). A window's distinct chatters are the
// entries whose mask meets the window's slices, so each chatter is stored once per stream
// rather than once per hopping window.
class ChatterMasks {
 public:
  void mark(std::string_view chatter, std::uint64_t bits);
  // Counts the entries whose mask meets `window`, then keeps only the `keep` bits of every mask;
  // entries left without bits are dropped.
  std::int64_t count_then_keep(std::uint64_t window, std::uint64_t keep);
  void clear();
  std::size_t size() const noexcept { return masks_.size(); }  // dropped entries included
  std::string_view name(std::size_t i) const noexcept { return names_[i]; }
  std::uint64_t mask(std::size_t i) const noexcept { return masks_[i]; }

 private:
  DistinctStrings names_;
  std::vector<std::uint64_t> masks_;  // by position in names_; 0: dropped
  std::size_t dropped_ = 0;
};

// Per stream: the chat_count of its most recent closed windows (oldest first) for the z-score,
// and the closed slices still inside a window to come, which the next slice to close combines
// with its own into the window ending with it.
struct History {
  static constexpr std::int64_t kNoSlice = INT64_MIN;
  std::vector<std::int64_t> counts;
  std::int64_t last_slice = kNoSlice;  // index of the last closed slice
  std::vector<SliceTotals> recent;     // oldest first
  ChatterMasks chatters;
};
Serde<History> history_serde();

struct ZScore {
  std::optional<double> z;
  double mean = 0;
  double stddev = 0;
  std::size_t baseline = 0;  // previous windows used
};
// Population statistics over `previous`; z only with >= min_previous windows and stddev > 0.
ZScore z_score(std::int64_t value, std::span<const std::int64_t> previous, std::size_t min_previous);

struct Summary {
  std::string stream_id;
  Window window;
  std::int64_t chat_count = 0;
  std::int64_t unique_chatters = 0;
  std::optional<double> avg_sentiment;  // none without messages
  std::int64_t positive_count = 0;
  std::int64_t negative_count = 0;
  std::vector<std::pair<std::string, std::int64_t>> top_emotes;
  double chat_rate = 0;
  std::optional<double> avg_viewers;  // none without viewer events
  ZScore z;
  bool is_anomaly = false;
};
// Most used first, ties alphabetical.
std::vector<std::pair<std::string, std::int64_t>> top_emotes(
    const std::unordered_map<std::string, std::int64_t, StringHash, std::equal_to<>>& counts, std::size_t n);
// Closes `slice` (one advance long) of a stream: combines it with the history's recent slices
// into the hopping window of `slices_per_window` slices that ends with it, fills every field of
// `out` but the z-score, and keeps what later windows need of the slice in the history.
void combine_slice(const Window& slice, std::int64_t slices_per_window, std::size_t top_n, const WindowState& s,
                   History& h, Summary& out);
void summary_json(std::string& out, const Summary& s);
void moment_json(std::string& out, const Summary& s);

Topology build(const Config& config, const std::string& application_id = "telemetra");

}  // namespace sw::telemetra
