#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sw::kafka {

inline constexpr std::int64_t kOffsetInvalid = -1001;    // RD_KAFKA_OFFSET_INVALID
inline constexpr std::int64_t kOffsetBeginning = -2;     // RD_KAFKA_OFFSET_BEGINNING
inline constexpr std::int64_t kOffsetEnd = -1;           // RD_KAFKA_OFFSET_END
inline constexpr std::int32_t kPartitionUnassigned = -1; // RD_KAFKA_PARTITION_UA

struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = kOffsetInvalid;
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
