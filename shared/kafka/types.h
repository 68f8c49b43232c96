#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/offset.h"

namespace sw::kafka {

using sw::Offset;

// The producer's "any partition": its partitioner chooses from the key (RD_KAFKA_PARTITION_UA).
// A partition number is otherwise never negative.
inline constexpr std::int32_t kAnyPartition = -1;

struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;
  Offset offset;  // none: not given (where a list asks for one: the group's committed offset)
  std::string metadata;  // offset-commit metadata (used to persist per-partition stream time)

  bool operator==(const TopicPartition& o) const { return topic == o.topic && partition == o.partition; }
};

struct TopicSpec {
  std::string name;
  std::int32_t partitions = 1;
  std::int32_t replication_factor = 1;
  std::vector<std::pair<std::string, std::string>> configs;
};

}  // namespace sw::kafka
