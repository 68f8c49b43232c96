#pragma once
// What the lake's process tests share: records with their expected rows, the sink as a real
// process, waiting for a table to hold every offset, and reading a table back with the
// independent readers (tests/lake/read_table.mjs: a JavaScript Delta replay, DuckDB, hyparquet).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "harness.h"

namespace sw::test::lake {

// A record as produced, and the row the table must hold for it (readers.mjs's canonical form:
// int64 and timestamps as decimal strings, partition values as strings).
struct Produced {
  std::int32_t partition = 0;
  std::string value;
  nlohmann::json row;
};

// Records of the render farm's topics; `i` picks the content deterministically.
Produced render_metric(int i, int partitions);
Produced node_metric(int i, int partitions);
// Render events spread over `hours` hours of event time, with the input forms the pipeline
// takes (integer ids, "YYYY-MM-DD HH:MM:SS", epoch milliseconds, optional fields); the row
// carries date and hour.
Produced render_event(int i, int partitions, int hours = 3);

// A stable text of a row: keys sorted, every number as a double in round-trip form.
std::string canon(const nlohmann::json& row);
// The rows' canonical texts, sorted: a multiset to compare.
std::vector<std::string> canon_sorted(const std::vector<nlohmann::json>& rows);
std::vector<std::string> canon_sorted(const nlohmann::json& rows);

// The sink as a process. `tables`: "--table", "topic=path", ...; the defaults roll quickly.
std::unique_ptr<Service> start_sink(const DevBroker& broker, std::vector<std::string> args, const std::filesystem::path& log,
                                    std::vector<std::string> env = {});

// The table's txn versions by app id, read with the C++ library (-1 entries absent).
std::map<std::string, std::int64_t> table_progress(const std::string& table);
// Waits until the table holds <group>-<p> = end[p] for every partition.
bool wait_for_progress(const std::string& table, const std::string& group, const std::vector<std::int64_t>& end,
                       std::chrono::seconds timeout);

// read_table.mjs's document for a table (checks inside: hyparquet equals DuckDB per file, DuckDB's
// count and the footer equal the log's numRecords). Throws if node fails.
nlohmann::json read_table(const std::string& table, const std::string& replay = "checkpoint", bool rows = true);

// Runs SQL statements (";\n" between them) in DuckDB (tests/lake/duckdb_sql.mjs) and returns the
// last one's rows in readers.mjs's canonical form; `scratch` holds the SQL file. Fails the test
// (and returns null) if node fails.
nlohmann::json duckdb_rows(const std::string& sql, const std::filesystem::path& scratch);

// streamwright-lake ARGS: exit code and output.
int lake_tool(const std::vector<std::string>& args, std::string* output = nullptr);

std::string source_dir();

}  // namespace sw::test::lake
