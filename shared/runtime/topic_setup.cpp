#include "runtime/topic_setup.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

namespace sw {

using namespace std::chrono_literals;

std::int32_t internal_partition_count(std::int32_t requested, std::int32_t input_partitions) {
  if (requested > 0) return requested;
  return std::min(input_partitions, kDefaultMaxInternalPartitions);
}

std::vector<std::int32_t> set_up_stage_topics(kafka::Producer& admin, const Topology& topology,
                                              const SubTopologyDef& def, std::int32_t internal_partitions) {
  // Inputs must exist; internal topics are created where the broker allows it.
  std::int32_t input_partitions = 0;
  if (!def.internal_sources) {
    for (const auto& t : def.source_topics) {
      std::int32_t n = 0;
      if (auto ec = admin.partition_count(t, n, 10s))
        throw std::runtime_error("input topic " + t + " is not available: " + ec.message());
      if (input_partitions && n != input_partitions)
        throw std::runtime_error("input topics of stage " + def.name + " are not co-partitioned");
      input_partitions = n;
    }
  }
  std::vector<kafka::TopicSpec> internal;
  const std::int32_t repartition_partitions = internal_partition_count(internal_partitions, input_partitions);
  for (const auto& t : def.repartition_sinks)
    if (repartition_partitions > 0) internal.push_back({t, repartition_partitions, 1, {}});
  admin.create_topics(internal, 10s);
  std::vector<std::int32_t> upstream_partitions;
  if (!def.internal_sources) return upstream_partitions;

  for (const auto& t : def.source_topics) {
    std::int32_t n = 0;
    if (auto ec = admin.partition_count(t, n, 10s))
      throw std::runtime_error("repartition topic " + t + " is not available: " + ec.message() +
                               " (start the upstream stage first, or create it)");
    input_partitions = n;
  }
  std::vector<kafka::TopicSpec> changelogs;
  for (const auto& s : def.stores)
    changelogs.push_back({topology.changelog_topic(s), input_partitions, 1, {{"cleanup.policy", "compact,delete"}}});
  admin.create_topics(changelogs, 10s);
  for (const auto& s : def.stores) {
    std::int32_t n = 0;
    const auto cl = topology.changelog_topic(s);
    if (auto ec = admin.partition_count(cl, n, 10s))
      throw std::runtime_error("changelog topic " + cl + " is not available: " + ec.message());
    if (n != input_partitions)
      throw std::runtime_error("changelog topic " + cl + " has " + std::to_string(n) + " partitions but " +
                               def.source_topics.front() + " has " + std::to_string(input_partitions) +
                               "; they must match");
  }
  for (const auto& entry : topology.entry_topics()) {
    std::int32_t n = 0;
    const bool upstream = std::find(def.upstream_entry_topics.begin(), def.upstream_entry_topics.end(), entry) !=
                          def.upstream_entry_topics.end();
    if (upstream) {
      if (auto ec = admin.partition_count(entry, n, 10s))
        throw std::runtime_error("upstream input topic " + entry + " is not available: " + ec.message());
    }
    upstream_partitions.push_back(upstream ? n : 0);
  }
  return upstream_partitions;
}

}  // namespace sw
