#pragma once
// The librdkafka settings of a stage's clients, derived from its RunnerConfig: the producer (with
// its transactional id under exactly-once), the group consumer and the restore consumer. The
// user's properties (RunnerConfig::kafka) are applied last to each.
#include <string>

#include "kafka/config.h"
#include "runtime/runner_config.h"

namespace sw {

struct StageClientConfigs {
  std::string client_id;
  kafka::Config producer, consumer, restore_consumer;
};

// `internal_sources`: the stage reads repartition topics (always from the earliest offset).
StageClientConfigs stage_client_configs(const RunnerConfig& config, const std::string& group, bool internal_sources);

}  // namespace sw
