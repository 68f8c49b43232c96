#pragma once
// DSL extensions, kept out of the fluent types so they evolve independently:
//
//  * stream_topics(): one entry stage reading several external topics (each with its own
//    deserializer and dead-letter topic) into one typed stream - a merge at the source.
//  * aggregate_with_history(): an emit-final windowed aggregation whose closing windows are
//    folded, per key and in window order, into a per-key history that lives in the SAME store
//    (and changelog) as the windows (detail::WindowedHistoryAggregateProcessor says why).
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
template <class VO, class K, class V, class VA, class H>
KTable<K, VO> aggregate_with_history(
    TimeWindowedKStream<K, V> windowed, std::function<VA()> init, std::function<void(const K&, const V&, VA&)> agg,
    typename detail::WindowedHistoryAggregateProcessor<K, V, VA, H, VO>::Close close,
    MaterializedWithHistory<K, VA, H> mat) {
  auto& g = detail::DslAccess::draft(windowed);
  const std::size_t sub = detail::DslAccess::downstream_subtopology(windowed);
  const std::string changelog = g.changelog_topic(mat.store_name);
  auto out = std::make_shared<detail::Node<Windowed<K>, VO>>();
  const TimeWindows windows = detail::DslAccess::windows(windowed);
  detail::DslAccess::single_phase_input(windowed)->children.push_back(
      [=](TaskContext& ctx) -> std::unique_ptr<Processor<K, V>> {
        return std::make_unique<detail::WindowedHistoryAggregateProcessor<K, V, VA, H, VO>>(
            ctx, windows, init, agg, close, mat, changelog, out->instantiate(ctx));
      });
  g.sub(sub).stores.push_back(mat.store_name);
  g.add_topic(changelog, TopicRole::changelog, sub);
  g.describe(sub, "window-aggregate-with-history " + mat.store_name + " " + windows.describe() +
                      " emit-final (changelog " + changelog + ")");
  return detail::DslAccess::table(&g, sub, out);
}

}  // namespace sw
