#pragma once
// join-stats (seed 001): JSON events joined with a static JSON dataset by a configurable key, and
// reported as windowed statistics (count, and sum, avg, min and max of configurable numeric
// fields) per a configurable attribute of the event or of the joined row.
//
//   events --enrich--> <app>-samples-by-group-repartition --aggregate--> event-stats
//     \-- invalid records (and, optionally, unknown keys) --> events-dlq
//
// enrich: parse and validate each event (only the configured fields are read; the others are
// checked to be valid JSON), join it with the dataset in memory (a global table: a JSON file
// re-read on change, or a compacted topic), and pre-aggregate per (group, window): one partial
// per group and window crosses the repartition topic at each commit (two-phase aggregation).
// aggregate: merge per window (tumbling or hopping, with grace) and emit when the window closes.
//
// Numbers are read as exact decimals (the JSON token, not a binary double) scaled to
// `decimals` places into 64-bit integers; sums are 128-bit. Sums, minima and maxima are exact,
// averages are rounded to `decimals` places, and merging partials gives exactly what one
// aggregate of every event gives.
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "common/time_zone.h"
#include "topology/dsl.h"

namespace sw::join_stats {

// 128-bit integers for exact sums (a GCC and Clang extension; __extension__ keeps -Wpedantic quiet).
__extension__ using i128 = __int128;
__extension__ using u128 = unsigned __int128;

inline constexpr std::size_t kMaxFields = 16;  // numeric fields (--fields)
inline constexpr int kMaxDecimals = 9;

struct Config {
  std::string input_topic = "events";
  std::string dead_letter_topic = "events-dlq";
  std::string output_topic = "event-stats";
  std::string dataset_source;  // "file:<path>", "topic:<name>" or a path (required)
  std::string join_key = "product_id";   // the event's field holding the key
  std::string dataset_key;               // the row's field holding the key ("": as join_key)
  std::string group_by = "dataset.category";  // "dataset.<field>" (joined row) or "event.<field>"
  std::vector<std::string> fields{"price", "quantity"};  // the event's numeric fields
  std::string timestamp_field = "timestamp";
  int decimals = 6;  // numbers are exact to this many decimal places (more are rounded)
  std::chrono::milliseconds window_size{60'000};
  std::chrono::milliseconds window_advance{0};  // 0: tumbling (= size)
  std::chrono::milliseconds grace{60'000};
  EmitStrategy emit = EmitStrategy::on_window_close;
  MissingRow unknown_keys = MissingRow::keep;
  bool pre_aggregate = true;  // false: every event crosses the repartition topic
  std::size_t max_record_bytes = 64 * 1024;
  std::chrono::milliseconds dataset_check_interval{1000};
  std::size_t max_cached_windows = 1'000'000;  // per aggregate task (the window cache's bound)
  TimeZone default_time_zone;                  // of timestamps written without a zone
};

// ---------------------------------------------------------------------------------------------
// exact decimals

// A JSON number token as an integer count of 10^-decimals units, rounded half away from zero;
// false if it is not a JSON number or its magnitude exceeds limit(decimals).
bool parse_scaled(std::string_view token, int decimals, std::int64_t& out);
// 9 * 10^(18 - decimals): the largest magnitude a value may have, in units (9e18 in units).
double value_limit(int decimals);
// Appends `scaled` / 10^decimals as a JSON number: trailing zeros of the fraction dropped
// (19.990000 -> 19.99, 3.000000 -> 3).
void append_decimal(std::string& out, i128 scaled, int decimals);
// sum / count rounded half away from zero (count > 0).
i128 rounded_quotient(i128 sum, std::int64_t count);

// ---------------------------------------------------------------------------------------------
// events

// Which fields of an event are read, and how, from a Config (validated).
class EventSpec {
 public:
  explicit EventSpec(const Config& c);  // throws std::invalid_argument
  const std::string& join_key() const { return join_key_; }
  const std::string& timestamp() const { return timestamp_; }
  bool group_from_event() const { return group_from_event_; }
  const std::string& group_field() const { return group_field_; }
  const std::vector<std::string>& fields() const { return fields_; }
  int decimals() const { return decimals_; }
  const std::string& group_by() const { return group_by_; }  // "event.x" or "dataset.x"
  bool group_is_join_key() const { return group_is_join_key_; }
  const std::string& limit_text() const { return limit_text_; }  // "[-9e12, 9e12]"

  // Bit of a known field (0: unknown). Bits: 1 join key, 2 timestamp, 4 group (event), 8 << i
  // field i. A group field equal to the join key is read once, as the join key.
  unsigned classify(std::string_view key) const;

 private:
  std::string join_key_, timestamp_, group_field_, group_by_;
  bool group_from_event_ = false;
  bool group_is_join_key_ = false;
  std::vector<std::string> fields_;
  int decimals_ = 6;
  std::string limit_text_;
};

// A validated event. Views point into the parser's buffers: valid while it is processed.
struct Event {
  std::string_view key;    // the join key (non-empty)
  std::string_view group;  // the group attribute when it comes from the event ("": null)
  TimestampMs timestamp = kNoTimestamp;
  std::uint32_t present = 0;  // bit i: field i has a value (absent or null: no value)
  std::array<std::int64_t, kMaxFields> values{};  // scaled by 10^decimals
};
// The join key and a group attribute of the event are ids (strings, or integers as their text);
// an empty or null group attribute, or none, is the null group. A numeric field must be a JSON
// number within value_limit (absent or null: no value). The timestamp is required, as
// json::read_timestamp takes it (docs/input-formats.md).
bool parse_event(std::string_view json, const EventSpec& spec, Event& out, std::string& error,
                 const TimeZone* default_zone = nullptr);

// ---------------------------------------------------------------------------------------------
// the dataset

struct Row {
  std::string group;  // the group attribute when it comes from the dataset ("": null)
};
// key_field: the row's key, an id (string or integer), required and non-empty. group_field (""
// when the group comes from the event): a string or an integer, or absent or null (null group).
bool parse_row(const nlohmann::json& row, const std::string& key_field, const std::string& group_field, std::string& key,
               Row& out, std::string& error);

// ---------------------------------------------------------------------------------------------
// samples and statistics

// An event after the join. `group` views the event or the table row: valid while processed.
struct Sample {
  std::string_view group;
  bool matched = false;  // the dataset holds the event's key
  std::uint32_t present = 0;
  std::array<std::int64_t, kMaxFields> values{};
};
// What crosses the repartition topic without pre-aggregation (the group is the record's key).
Serde<Sample> sample_serde(std::size_t fields);

struct FieldStats {
  std::int64_t count = 0;  // values (events without one are not counted here)
  i128 sum = 0;        // scaled
  std::int64_t min = INT64_MAX, max = INT64_MIN;
};
// Per group and window. Also the partial aggregate of the two-phase aggregation: merging two
// gives exactly what aggregating their events together gives.
struct GroupStats {
  std::int64_t count = 0;      // events
  std::int64_t unmatched = 0;  // events whose key the dataset did not hold
  std::vector<FieldStats> fields;
};
GroupStats make_stats(std::size_t fields);
void add_sample(GroupStats& s, const Sample& sample);
void merge(GroupStats& into, const GroupStats& partial);
Serde<GroupStats> group_stats_serde(std::size_t fields);

// The output record of one group and window (docs/join-stats.md, schemas/join-stats.schema.json):
// {"group_by":..,"group":..|null,"window_start":..,"window_end":..,"count":..,"unmatched":..,
//  "stats":{"<field>":{"count":..,"sum":..,"avg":..,"min":..,"max":..},...}}
void stats_json(std::string& out, const EventSpec& spec, std::string_view group, const Window& w, const GroupStats& s);

// ---------------------------------------------------------------------------------------------
// topology

std::shared_ptr<table::GlobalTable<Row>> make_dataset(const Config& config);

// Throws std::invalid_argument for an inconsistent configuration.
Topology build(const Config& config, const std::string& application_id = "join-stats");
Topology build(const Config& config, std::shared_ptr<table::GlobalTable<Row>> dataset,
               const std::string& application_id = "join-stats");

}  // namespace sw::join_stats
