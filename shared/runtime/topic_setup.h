#pragma once
// A stage's topics at start-up: its input topics must exist (and be co-partitioned); its
// repartition and changelog topics are created where the broker allows it and checked.
#include <cstdint>
#include <vector>

#include "kafka/client.h"
#include "topology/topology.h"

namespace sw {

// Repartition topics a stage creates when --internal-partitions is 0: as many as its input, at
// most this many. The next stage's parallelism is bounded by them, but each one costs its
// consumer a producer batch per fetch and its task a changelog marker per commit. Behind a wide
// input (128 partitions) the crash monitor's aggregate, which sees 3% of the events, used 1.6x
// the CPU at 128 internal partitions as at 32. Set it explicitly beyond 32 aggregate replicas.
inline constexpr std::int32_t kDefaultMaxInternalPartitions = 32;

// The partition count of a stage's repartition topics: `requested` if positive, else the input's,
// capped at kDefaultMaxInternalPartitions.
std::int32_t internal_partition_count(std::int32_t requested, std::int32_t input_partitions);

// Throws std::runtime_error naming the topic on any problem. `internal_partitions`: partitions of
// the repartition topics this stage creates (0: the default of internal_partition_count). Returns,
// for a stage that reads repartition topics, the partition count of each of the topology's entry
// topics upstream of it (0 for the others), which its tasks need to track upstream watermarks;
// empty otherwise.
std::vector<std::int32_t> set_up_stage_topics(kafka::Producer& admin, const Topology& topology,
                                              const SubTopologyDef& def, std::int32_t internal_partitions);

}  // namespace sw
