#pragma once
// DSL extensions, kept out of the fluent types so they evolve independently:
//
//  * stream_topics(): one entry stage reading several external topics (each with its own
//    deserializer and dead-letter topic) into one typed stream - a merge at the source.
//  * aggregate_with_history(): an emit-final windowed aggregation whose closing windows are
//    folded, per key and in window order, into a per-key history that lives in the SAME store
//    (and changelog) as the windows (detail::WindowedHistoryAggregate says why).
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "topology/dsl.h"

namespace sw {

// Reads several external topics in one new entry stage; every topic's records become one stream.
template <class K, class V>
KStream<K, V> stream_topics(StreamsBuilder& b, const std::vector<std::pair<std::string, Consumed<K, V>>>& inputs,
                            const std::string& stage) {
  if (inputs.empty()) throw std::invalid_argument("stage " + stage + ": no input topics");
  auto& g = detail::DslAccess::draft(b);
  const std::size_t sub = g.add_subtopology(stage, false);
  auto node = std::make_shared<detail::Node<K, V>>();
  auto instances = std::make_shared<detail::PerTaskInstances<K, V>>(node);
  for (const auto& [topic, consumed] : inputs) {
    if (consumed.dead_letter_topic.empty()) throw std::invalid_argument("stream " + topic + ": no dead-letter topic");
    const auto index = g.add_entry_topic(topic);
    g.sub(sub).source_topics.push_back(topic);
    g.sub(sub).sources[topic] = [index, consumed, instances](TaskContext& ctx) -> std::unique_ptr<SourceNode> {
      Forwarder<K, V> f;
      f.add(std::make_unique<detail::SharedForwardProcessor<K, V>>(instances->get(ctx)));
      return std::make_unique<detail::ExternalSource<K, V>>(ctx, index, consumed, std::move(f));
    };
    g.add_topic(topic, TopicRole::input, sub);
    g.add_topic(consumed.dead_letter_topic, TopicRole::dead_letter, sub);
    g.describe(sub, "source " + topic + " (dead letters to " + consumed.dead_letter_topic + ")");
  }
  if (inputs.size() > 1) g.describe(sub, "merge of " + std::to_string(inputs.size()) + " sources");
  return detail::DslAccess::stream(&g, sub, node);
}

// Emit-final windowed aggregate whose closed windows are folded per key, in window order, into a
// persistent history: close(key, window, aggregate, history&, out&) produces the output value.
// Bounded like any windowed aggregate: mat.max_cached_windows and mat.max_cached_histories.
template <class VO, class K, class V, class VA, class H>
KTable<K, VO> aggregate_with_history(TimeWindowedKStream<K, V> windowed, std::function<VA()> init,
                                     std::function<void(const K&, const V&, VA&)> agg,
                                     std::type_identity_t<detail::HistoryClose<K, VA, H, VO>> close,
                                     MaterializedWithHistory<K, VA, H> mat) {
  const TimeWindows windows = detail::DslAccess::windows(windowed);
  const std::string store = mat.store_name;
  return detail::DslAccess::wire<VA, VO, false>(
      windowed, store, "window-aggregate-with-history " + store + " " + windows.describe() + " emit-final",
      std::move(init), std::move(agg), {}, {},
      [windows, close = std::move(close), mat = std::move(mat)](TaskContext& ctx, std::function<VA()> initial,
                                                                 const std::string& changelog,
                                                                 Forwarder<Windowed<K>, VO> out) {
        return std::make_unique<detail::WindowedHistoryAggregate<K, VA, H, VO>>(ctx, windows, std::move(initial), close,
                                                                                mat, changelog, std::move(out));
      });
}

}  // namespace sw
