#pragma once
// streamwright-lake-sink's configuration, from flags and then STREAMWRIGHT_* environment
// variables (KAFKA_BOOTSTRAP_SERVERS for --bootstrap-servers).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options/variables_map.hpp>

#include "kafka/config.h"
#include "lake/parquet/metadata.h"
#include "lake/schema.h"
#include "lake/table_layout.h"

namespace sw::lake_sink {

struct TableConfig {
  std::string topic;
  std::string location;  // a path or file:// URI
  std::string name;      // the table's name (the location's last part)
  std::string schema_source;  // the file, or "built-in <name>"
  lake::Schema schema;        // the topic's records
  std::vector<lake::PartitionColumn> partitions;
  std::string dead_letter_topic;
};

struct SinkConfig {
  std::string bootstrap_servers;
  kafka::Config kafka;  // user properties
  std::string group_id = "lake-sink";
  std::vector<TableConfig> tables;
  // A table's files are committed when one reaches target_file_bytes (on disk, estimated) or
  // when its oldest uncommitted record is max_file_age old.
  std::uint64_t target_file_bytes = 128ull << 20;
  std::chrono::milliseconds max_file_age{60000};
  std::size_t row_group_bytes = 32u << 20;
  // Rows held in memory over all open files; beyond it the largest row group is written early.
  std::size_t buffer_bytes = 256u << 20;
  // Records fetched ahead of processing.
  std::size_t consumer_buffer_bytes = 128u << 20;
  lake::parquet::Codec codec = lake::parquet::Codec::zstd;
  int zstd_level = 3;
  int checkpoint_interval = 10;
  std::size_t max_record_bytes = 1u << 20;
  std::size_t max_dead_letter_bytes = 256u << 10;
  bool start_at_latest = false;
  std::string default_time_zone = "UTC";
  unsigned max_poll_records = 10000;
  std::chrono::milliseconds min_backoff{200};
  std::chrono::milliseconds max_backoff{30000};
  std::chrono::milliseconds shutdown_timeout{30000};
  std::string crash_point;  // STREAMWRIGHT_LAKE_TEST_CRASH_AT (tests only)
};

// Parses argv and the environment. Returns 0 and fills `config` and `vm` (the shell's options:
// logging, the HTTP endpoint), or prints help/versions (returns -1: exit 0) or an error naming
// the flag (returns 2).
int parse_options(int argc, char** argv, SinkConfig& config, boost::program_options::variables_map& vm);

// The JSON Schemas of topologies/schemas, compiled in: (topic, JSON text).
const std::vector<std::pair<std::string, std::string>>& builtin_schemas();

}  // namespace sw::lake_sink
