#pragma once
// Global tables from compacted topics: the Kafka side of table::RowFeed, read whole at start-up
// and followed while the stage runs.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "table/global_table.h"

namespace sw {

// The opener a stage gives its tables (table::TableEnv::open_topic): consumers with these
// bootstrap servers and extra librdkafka properties.
std::function<std::unique_ptr<table::RowFeed>(const std::string& topic, const std::string& client_id)> kafka_row_feeds(
    std::string bootstrap_servers, std::vector<std::pair<std::string, std::string>> properties);

}  // namespace sw
