#pragma once
// A stage's topics at start-up: its input topics must exist (and be co-partitioned); its
// repartition and changelog topics are created where the broker allows it and checked.
#include <cstdint>
#include <vector>

#include "kafka/client.h"
#include "topology/topology.h"

namespace sw {

// Throws std::runtime_error naming the topic on any problem. `internal_partitions`: partitions of
// the repartition topics this stage creates (0: as many as its input). Returns, for a stage that
// reads repartition topics, the partition count of each of the topology's entry topics upstream of
// it (0 for the others), which its tasks need to track upstream watermarks; empty otherwise.
std::vector<std::int32_t> set_up_stage_topics(kafka::Producer& admin, const Topology& topology,
                                              const SubTopologyDef& def, std::int32_t internal_partitions);

}  // namespace sw
