#pragma once
// The fluent API of the DSL, after Kafka Streams: StreamsBuilder::stream -> KStream (filter, map,
// join, group_by, to) -> KGroupedStream::window_by -> TimeWindowedKStream (count, aggregate) ->
// KTable::to_stream. Each call records typed factories in the topology under construction
// (detail::TopologyDraft); each task instantiates its own processors from them. group_by cuts
// the graph: the records go through the repartition topic `<app>-<name>-repartition` into a new
// sub-topology (a separate service).
//
// The types hold no state of their own beyond where they are in the draft; their constructors
// and the draft are internal (detail::DslAccess is the one door, for the DSL's extensions).
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "table/global_table.h"
#include "topology/options.h"
#include "topology/processor.h"
#include "topology/processors.h"
#include "topology/topology.h"
#include "topology/window_aggregate.h"
#include "window/windows.h"

namespace sw {

class StreamsBuilder;
template <class K, class V>
class KStream;
template <class K, class V>
class KGroupedStream;
template <class K, class V>
class TimeWindowedKStream;
template <class K, class VA>
class KTable;

namespace detail {

// A stream grouped by a new key: the records will cross the repartition topic into the
// downstream stage. What crosses (records, or partial aggregates) is decided by the aggregation.
template <class K, class V>
struct GroupedStreamDef {
  TopologyDraft* draft;
  std::size_t upstream_sub;
  std::shared_ptr<Node<K, V>> selected;  // upstream: records with their new key
  Grouped<K, V> grouped;
  std::string topic;
  std::size_t downstream_sub;
};

// How the DSL's own code (and its extensions, topology/dsl_ext.h) reaches the fluent types'
// internals.
struct DslAccess {
  static TopologyDraft& draft(StreamsBuilder& b);
  template <class K, class V>
  static KStream<K, V> stream(TopologyDraft* draft, std::size_t sub, std::shared_ptr<Node<K, V>> node) {
    return KStream<K, V>(draft, sub, std::move(node));
  }
  template <class K, class VA>
  static KTable<K, VA> table(TopologyDraft* draft, std::size_t sub, std::shared_ptr<Node<Windowed<K>, VA>> node) {
    return KTable<K, VA>(draft, sub, std::move(node));
  }
  template <class K, class V>
  static KGroupedStream<K, V> grouped(GroupedStreamDef<K, V> def) {
    return KGroupedStream<K, V>(std::move(def));
  }
  template <class K, class V>
  static TimeWindowedKStream<K, V> windowed(GroupedStreamDef<K, V> def, TimeWindows windows, EmitStrategy emit) {
    return TimeWindowedKStream<K, V>(std::move(def), windows, emit);
  }
  template <class K, class V>
  static const TimeWindows& windows(const TimeWindowedKStream<K, V>& w) {
    return w.windows_;
  }
  // TimeWindowedKStream::wire, for aggregates of the DSL's extensions.
  template <class VA, class VO, bool kTwoPhase, class K, class V, class MakeCore>
  static KTable<K, VO> wire(TimeWindowedKStream<K, V>& w, const std::string& store, const std::string& what,
                            std::function<VA()> init, std::function<void(const K&, const V&, VA&)> agg,
                            std::function<void(const K&, const VA&, VA&)> merge, Serde<VA> partial_serde,
                            MakeCore make_core) {
    return w.template wire<VA, VO, kTwoPhase>(store, what, std::move(init), std::move(agg), std::move(merge),
                                               std::move(partial_serde), std::move(make_core));
  }
};

}  // namespace detail

template <class K, class V>
class KStream {
 public:
  KStream filter(std::function<bool(const K&, const V&)> pred, const std::string& name = "filter");

  template <class K2, class V2>
  KStream<K2, V2> map(std::function<std::pair<K2, V2>(const K&, const V&)> f, const std::string& name = "map");

  // Broadcast join with a global table, in this stage (no repartition): joiner(key, value, row)
  // where row is null for a key the table does not hold (see MissingRow).
  template <class T, class V2>
  KStream<K, V2> join(std::shared_ptr<table::GlobalTable<T>> table, std::function<std::string_view(const K&, const V&)> key_of,
                      std::function<V2(const K&, const V&, const T*)> joiner, MissingRow missing,
                      const std::string& name = "join");

  template <class KR>
  KGroupedStream<KR, V> group_by(std::function<KR(const K&, const V&)> selector, Grouped<KR, V> grouped);

  void to(const std::string& topic, Produced<K, V> produced);

 private:
  friend struct detail::DslAccess;
  KStream(detail::TopologyDraft* draft, std::size_t sub, std::shared_ptr<detail::Node<K, V>> node)
      : g_(draft), sub_(sub), node_(std::move(node)) {}
  detail::TopologyDraft* g_;
  std::size_t sub_;
  std::shared_ptr<detail::Node<K, V>> node_;
};

template <class K, class V>
class KGroupedStream {
 public:
  TimeWindowedKStream<K, V> window_by(TimeWindows windows, EmitStrategy emit = EmitStrategy::on_window_close) {
    return detail::DslAccess::windowed(def_, windows, emit);
  }

 private:
  friend struct detail::DslAccess;
  explicit KGroupedStream(detail::GroupedStreamDef<K, V> def) : def_(std::move(def)) {}
  detail::GroupedStreamDef<K, V> def_;
};

template <class K, class VA>
class KTable {
 public:
  KStream<Windowed<K>, VA> to_stream() { return detail::DslAccess::stream(g_, sub_, node_); }

 private:
  friend struct detail::DslAccess;
  KTable(detail::TopologyDraft* draft, std::size_t sub, std::shared_ptr<detail::Node<Windowed<K>, VA>> node)
      : g_(draft), sub_(sub), node_(std::move(node)) {}
  detail::TopologyDraft* g_;
  std::size_t sub_;
  std::shared_ptr<detail::Node<Windowed<K>, VA>> node_;
};

template <class K, class V>
class TimeWindowedKStream {
 public:
  // Single phase: every record crosses the repartition topic and is aggregated downstream.
  template <class VA>
  KTable<K, VA> aggregate(std::function<VA()> init, std::function<void(const K&, const V&, VA&)> agg,
                          Materialized<K, VA> mat) {
    return aggregate_impl<VA, false>(std::move(init), std::move(agg), {}, std::move(mat));
  }

  // Two phase: the entry stage folds records into partial aggregates per (key, window) and
  // sends one partial per key and window at each commit; the downstream stage merges them.
  // `merge(key, partial, into)` must make the result equal to aggregating every record directly.
  template <class VA>
  KTable<K, VA> aggregate(std::function<VA()> init, std::function<void(const K&, const V&, VA&)> agg,
                          std::function<void(const K&, const VA&, VA&)> merge, Materialized<K, VA> mat) {
    if (!merge) throw std::invalid_argument("two-phase aggregation " + mat.store_name + ": no merge function");
    return aggregate_impl<VA, true>(std::move(init), std::move(agg), std::move(merge), std::move(mat));
  }

  KTable<K, std::int64_t> count(Materialized<K, std::int64_t> mat) {
    return aggregate<std::int64_t>([] { return std::int64_t{0}; }, [](const K&, const V&, std::int64_t& c) { ++c; },
                                   std::move(mat));
  }

 private:
  friend struct detail::DslAccess;
  TimeWindowedKStream(detail::GroupedStreamDef<K, V> def, TimeWindows windows, EmitStrategy emit)
      : def_(std::move(def)), windows_(windows), emit_(emit) {}

  template <class VA, bool kTwoPhase>
  KTable<K, VA> aggregate_impl(std::function<VA()> init, std::function<void(const K&, const V&, VA&)> agg,
                               std::function<void(const K&, const VA&, VA&)> merge, Materialized<K, VA> mat) {
    const std::string what = "window-aggregate " + mat.store_name + " " + windows_.describe() +
                             (emit_ == EmitStrategy::on_window_close ? " emit-final" : " emit-on-update") +
                             (kTwoPhase ? " merging partials" : "");
    const auto windows = windows_;
    const auto emit = emit_;
    auto partials = mat.value_serde;
    const auto store = mat.store_name;
    return wire<VA, VA, kTwoPhase>(
        store, what, std::move(init), std::move(agg), std::move(merge), std::move(partials),
        [windows, emit, mat = std::move(mat)](TaskContext& ctx, std::function<VA()> initial,
                                              const std::string& changelog, Forwarder<Windowed<K>, VA> out) {
          return std::make_unique<detail::WindowedAggregate<K, VA>>(ctx, windows, emit, std::move(initial), mat,
                                                                    changelog, std::move(out));
        });
  }

  // The one wiring of every windowed aggregate. Single phase: the records cross the repartition
  // topic and are folded (`agg`) into their windows downstream. Two phase: the entry stage
  // pre-aggregates them (`agg`) and the partials (`partial_serde`) cross, to be merged (`merge`)
  // into their windows. Either way the downstream aggregate is `make_core(ctx, init, changelog,
  // out)`, a window-cache aggregate with update(key, window, context, fold), registered with its
  // store and changelog; `what` describes it (--describe).
  template <class VA, class VO, bool kTwoPhase, class MakeCore>
  KTable<K, VO> wire(const std::string& store, const std::string& what, std::function<VA()> init,
                     std::function<void(const K&, const V&, VA&)> agg, std::function<void(const K&, const VA&, VA&)> merge,
                     Serde<VA> partial_serde, MakeCore make_core) {
    static_assert(!std::is_same_v<K, std::string_view>, "windows outlive the record: the key must own its bytes");
    using Core = typename std::invoke_result_t<MakeCore&, TaskContext&, std::function<VA()>, const std::string&,
                                               Forwarder<Windowed<K>, VO>>::element_type;
    auto* g = def_.draft;
    const std::string topic = def_.topic;
    const auto grouped = def_.grouped;
    const auto windows = windows_;
    const std::string changelog = g->changelog_topic(store);
    auto out = std::make_shared<detail::Node<Windowed<K>, VO>>();
    auto core = [=](TaskContext& ctx) { return make_core(ctx, init, changelog, out->instantiate(ctx)); };
    if constexpr (!kTwoPhase) {
      def_.selected->children.push_back([topic, grouped](TaskContext& ctx) -> std::unique_ptr<Processor<K, V>> {
        return std::make_unique<detail::RepartitionSinkProcessor<K, V>>(ctx, topic, grouped.key_serde,
                                                                       grouped.value_serde);
      });
      auto node = std::make_shared<detail::Node<K, V>>();
      g->sub(def_.downstream_sub).sources[topic] = [grouped, node](TaskContext& ctx) -> std::unique_ptr<SourceNode> {
        return std::make_unique<detail::InternalSource<K, V>>(grouped.key_serde, grouped.value_serde,
                                                             node->instantiate(ctx));
      };
      node->children.push_back([=](TaskContext& ctx) -> std::unique_ptr<Processor<K, V>> {
        return std::make_unique<detail::RecordAggregateInput<K, V, VA, Core>>(ctx, windows, agg, core(ctx));
      });
    } else {
      auto& upstream = g->sub(def_.upstream_sub);
      if (upstream.table_dependent_drops)
        throw std::invalid_argument("two-phase aggregation " + store +
                                    ": its stage dead-letters records by a table's content, so a replay could produce "
                                    "different partials; use a single-phase aggregation or keep unknown keys");
      upstream.pre_aggregating = true;
      const auto ks = grouped.key_serde;
      def_.selected->children.push_back([=](TaskContext& ctx) -> std::unique_ptr<Processor<K, V>> {
        return std::make_unique<detail::PreAggregateProcessor<K, V, VA>>(ctx, windows, init, agg, topic, ks,
                                                                        partial_serde);
      });
      g->describe(def_.upstream_sub,
                  "pre-aggregate " + store + " per " + windows.describe() + " window, partials to " + topic);
      auto node = std::make_shared<detail::Node<Windowed<K>, VA>>();
      g->sub(def_.downstream_sub).sources[topic] = [windows, ks, partial_serde,
                                                    node](TaskContext& ctx) -> std::unique_ptr<SourceNode> {
        return std::make_unique<detail::PartialSource<K, VA>>(windows, ks, partial_serde, node->instantiate(ctx));
      };
      node->children.push_back([=](TaskContext& ctx) -> std::unique_ptr<Processor<Windowed<K>, VA>> {
        return std::make_unique<detail::PartialAggregateInput<K, VA, Core>>(merge, core(ctx));
      });
    }
    g->sub(def_.downstream_sub).stores.push_back(store);
    g->add_topic(changelog, TopicRole::changelog, def_.downstream_sub);
    g->describe(def_.downstream_sub, what + " (changelog " + changelog + ")");
    return detail::DslAccess::table(g, def_.downstream_sub, out);
  }

  detail::GroupedStreamDef<K, V> def_;
  TimeWindows windows_;
  EmitStrategy emit_;
};

class StreamsBuilder {
 public:
  explicit StreamsBuilder(std::string application_id) : draft_(std::move(application_id)) {}
  // Streams made by a builder point at it.
  StreamsBuilder(const StreamsBuilder&) = delete;
  StreamsBuilder& operator=(const StreamsBuilder&) = delete;

  // Reads an external topic in a new sub-topology named `stage`.
  template <class K, class V>
  KStream<K, V> stream(const std::string& topic, Consumed<K, V> consumed, const std::string& stage) {
    if (consumed.dead_letter_topic.empty()) throw std::invalid_argument("stream " + topic + ": no dead-letter topic");
    const std::size_t sub = draft_.add_subtopology(stage, false);
    auto node = std::make_shared<detail::Node<K, V>>();
    const auto index = draft_.add_entry_topic(topic);
    draft_.sub(sub).source_topics.push_back(topic);
    draft_.sub(sub).sources[topic] = [index, consumed, node](TaskContext& ctx) -> std::unique_ptr<SourceNode> {
      return std::make_unique<detail::ExternalSource<K, V>>(ctx, index, consumed, node->instantiate(ctx));
    };
    draft_.add_topic(topic, TopicRole::input, sub);
    draft_.add_topic(consumed.dead_letter_topic, TopicRole::dead_letter, sub);
    draft_.describe(sub, "source " + topic + " (dead letters to " + consumed.dead_letter_topic + ")");
    return detail::DslAccess::stream(&draft_, sub, node);
  }

  // Makes a stage open and refresh a global table that its user code reads (a join does it itself).
  void use_table(const std::string& stage, std::shared_ptr<table::GlobalTableBase> t) {
    draft_.use_table(stage, std::move(t));
  }

  Topology build() { return draft_.build(); }

 private:
  friend struct detail::DslAccess;
  detail::TopologyDraft draft_;
};

inline detail::TopologyDraft& detail::DslAccess::draft(StreamsBuilder& b) { return b.draft_; }

template <class K, class V>
KStream<K, V> KStream<K, V>::filter(std::function<bool(const K&, const V&)> pred, const std::string& name) {
  auto child = std::make_shared<detail::Node<K, V>>();
  node_->children.push_back([pred, child](TaskContext& ctx) -> std::unique_ptr<Processor<K, V>> {
    return std::make_unique<detail::FilterProcessor<K, V>>(pred, child->instantiate(ctx));
  });
  g_->describe(sub_, "filter " + name);
  return KStream<K, V>(g_, sub_, child);
}

template <class K, class V>
template <class K2, class V2>
KStream<K2, V2> KStream<K, V>::map(std::function<std::pair<K2, V2>(const K&, const V&)> f, const std::string& name) {
  auto child = std::make_shared<detail::Node<K2, V2>>();
  node_->children.push_back([f, child](TaskContext& ctx) -> std::unique_ptr<Processor<K, V>> {
    return std::make_unique<detail::MapProcessor<K, V, K2, V2>>(f, child->instantiate(ctx));
  });
  g_->describe(sub_, "map " + name);
  return detail::DslAccess::stream(g_, sub_, child);
}

template <class K, class V>
template <class KR>
KGroupedStream<KR, V> KStream<K, V>::group_by(std::function<KR(const K&, const V&)> selector,
                                              Grouped<KR, V> grouped) {
  const std::string topic = g_->app() + "-" + grouped.name + "-repartition";
  // Upstream side: select the key; the aggregation decides what is written to the topic.
  auto selected = std::make_shared<detail::Node<KR, V>>();
  node_->children.push_back([selector, selected](TaskContext& ctx) -> std::unique_ptr<Processor<K, V>> {
    return std::make_unique<detail::MapProcessor<K, V, KR, V>>(
        [selector](const K& k, const V& v) { return std::pair<KR, V>(selector(k, v), v); }, selected->instantiate(ctx));
  });
  g_->describe(sub_, "group-by " + grouped.name + " -> repartition " + topic);
  g_->sub(sub_).repartition_sinks.push_back(topic);
  // Downstream side: a new sub-topology reading the repartition topic.
  const auto entry = g_->entry_topics_of(sub_);
  const std::size_t down = g_->add_subtopology(grouped.stage, true);
  auto& def = g_->sub(down);
  def.source_topics.push_back(topic);
  def.upstream_entry_topics = entry;
  g_->add_topic(topic, TopicRole::repartition, down);
  g_->describe(down, "source " + topic);
  return detail::DslAccess::grouped(detail::GroupedStreamDef<KR, V>{g_, sub_, selected, std::move(grouped), topic, down});
}

template <class K, class V>
template <class T, class V2>
KStream<K, V2> KStream<K, V>::join(std::shared_ptr<table::GlobalTable<T>> table,
                                   std::function<std::string_view(const K&, const V&)> key_of,
                                   std::function<V2(const K&, const V&, const T*)> joiner, MissingRow missing,
                                   const std::string& name) {
  if (missing == MissingRow::dead_letter) {
    auto& def = g_->sub(sub_);
    if (def.internal_sources)
      throw std::invalid_argument("join " + name + ": only an entry stage can dead-letter (it has the input record)");
    // Partials must be a function of the input alone: a replay after a table change would
    // otherwise produce a different set of partials and misnumber them.
    if (def.pre_aggregating)
      throw std::invalid_argument("join " + name + ": dead-lettering unknown keys cannot precede a two-phase aggregation");
    def.table_dependent_drops = true;
  }
  auto child = std::make_shared<detail::Node<K, V2>>();
  node_->children.push_back([=](TaskContext& ctx) -> std::unique_ptr<Processor<K, V>> {
    return std::make_unique<detail::GlobalJoinProcessor<K, V, T, V2>>(ctx, table, key_of, joiner, missing,
                                                                      child->instantiate(ctx));
  });
  g_->use_table(sub_, table);
  g_->describe(sub_, "join " + name + " with global table " + table->name() + " (" + table->source().describe() +
                         (missing == MissingRow::keep ? ", unknown keys kept)" : ", unknown keys dead-lettered)"));
  return detail::DslAccess::stream(g_, sub_, child);
}

template <class K, class V>
void KStream<K, V>::to(const std::string& topic, Produced<K, V> produced) {
  node_->children.push_back([topic, produced](TaskContext& ctx) -> std::unique_ptr<Processor<K, V>> {
    return std::make_unique<detail::SinkProcessor<K, V>>(ctx, topic, produced);
  });
  g_->add_topic(topic, TopicRole::output, sub_);
  g_->describe(sub_, "sink " + topic);
}

}  // namespace sw
