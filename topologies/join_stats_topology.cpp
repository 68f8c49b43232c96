// The join-stats topology (parser, serdes and statistics are in join_stats.cpp).
#include <stdexcept>

#include "topologies/join_stats.h"

namespace sw::join_stats {

std::shared_ptr<table::GlobalTable<Row>> make_dataset(const Config& c) {
  if (c.dataset_source.empty()) throw std::invalid_argument("no dataset source (--dataset)");
  const EventSpec spec(c);
  const std::string key = c.dataset_key.empty() ? c.join_key : c.dataset_key;
  const std::string group = spec.group_from_event() ? std::string() : spec.group_field();
  return std::make_shared<table::GlobalTable<Row>>(
      "dataset", table::TableSource::parse(c.dataset_source),
      [key, group](const nlohmann::json& row, std::string& k, Row& out, std::string& error) {
        return parse_row(row, key, group, k, out, error);
      },
      table::ReloadPolicy::on_change, c.dataset_check_interval);
}

Topology build(const Config& c, const std::string& application_id) { return build(c, make_dataset(c), application_id); }

Topology build(const Config& c, std::shared_ptr<table::GlobalTable<Row>> dataset, const std::string& application_id) {
  if (c.input_topic.empty() || c.dead_letter_topic.empty() || c.output_topic.empty())
    throw std::invalid_argument("topic names must not be empty");
  if (c.pre_aggregate && c.unknown_keys == MissingRow::dead_letter)
    throw std::invalid_argument(
        "dead-lettering unknown keys needs --pre-aggregate false: partials must not depend on the dataset's content");
  if (c.max_cached_windows == 0) throw std::invalid_argument("--max-cached-windows must be positive");
  if (c.dataset_check_interval.count() <= 0) throw std::invalid_argument("--dataset-check-interval must be positive");
  auto spec = std::make_shared<const EventSpec>(c);
  const std::size_t n = spec->fields().size();
  const auto advance = c.window_advance.count() == 0 ? c.window_size : c.window_advance;
  const auto windows = TimeWindows::hopping(c.window_size, advance, c.grace);

  StreamsBuilder builder(application_id);
  Consumed<std::string_view, Event> consumed{
      serdes::string_view(),
      {[](const Event&, std::string&) {},
       [spec, zone = c.default_time_zone](std::string_view in, Event& out, std::string& error) {
         return parse_event(in, *spec, out, error, &zone);
       }},
      [](const std::string_view&, const Event& e, const InputRecord&) { return e.timestamp; },
      c.dead_letter_topic,
      c.max_record_bytes};
  auto events = builder.stream<std::string_view, Event>(c.input_topic, consumed, "enrich");

  // The broadcast join: the group attribute from the event or from the joined row.
  const bool group_from_event = spec->group_from_event();
  auto samples = events.join<Row, Sample>(
      std::move(dataset), [](const std::string_view&, const Event& e) { return e.key; },
      [group_from_event](const std::string_view&, const Event& e, const Row* row) {
        Sample s;
        s.group = group_from_event ? e.group : (row ? std::string_view(row->group) : std::string_view());
        s.matched = row != nullptr;
        s.present = e.present;
        s.values = e.values;
        return s;
      },
      c.unknown_keys, "dataset");

  // Group keys of up to 15 bytes stay in the string's own buffer: no allocation per event.
  auto by_group = samples.group_by<std::string>(
      [](const std::string_view&, const Sample& s) { return std::string(s.group); },
      Grouped<std::string, Sample>{"samples-by-group", "aggregate", serdes::string(), sample_serde(n)});
  Materialized<std::string, GroupStats> store{"group-stats", serdes::string(), group_stats_serde(n)};
  store.max_cached_windows = c.max_cached_windows;
  auto windowed = by_group.window_by(windows, c.emit);
  auto init = [n] { return make_stats(n); };
  auto add = [](const std::string&, const Sample& s, GroupStats& g) { add_sample(g, s); };
  auto merge_partial = [](const std::string&, const GroupStats& p, GroupStats& g) { merge(g, p); };
  KTable<std::string, GroupStats> stats = c.pre_aggregate
                                              ? windowed.aggregate<GroupStats>(init, add, merge_partial, store)
                                              : windowed.aggregate<GroupStats>(init, add, store);

  stats.to_stream()
      .map<std::string, std::string>(
          [spec](const Windowed<std::string>& k, const GroupStats& s) {
            std::pair<std::string, std::string> kv(k.key, {});
            stats_json(kv.second, *spec, k.key, k.window, s);
            return kv;
          },
          "stats-json")
      .to(c.output_topic, Produced<std::string, std::string>{serdes::string(), serdes::string()});
  return builder.build();
}

}  // namespace sw::join_stats
