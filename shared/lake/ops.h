#pragma once
// Table maintenance (streamwright-lake): validate, optimize (compaction), vacuum, and the file
// list and DuckDB views of a table's current version.
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lake/delta/log.h"
#include "lake/fs/file_layer.h"
#include "lake/parquet/metadata.h"

namespace sw::lake::ops {

struct ValidateReport {
  std::int64_t version = -1;
  std::int64_t checkpoint_version = -1;
  delta::Protocol protocol;
  std::string schema;  // described, one field per line
  std::vector<std::string> partition_columns;
  std::size_t files = 0;
  std::int64_t rows = 0;
  std::int64_t bytes = 0;
  std::map<std::string, std::int64_t> txns;
  std::vector<std::string> problems;  // empty: the table is sound
  nlohmann::json to_json() const;
  void print(std::ostream& out, const std::string& location) const;
};

// Replays the log as the Delta protocol says and checks every live file: it exists with the
// logged size, its footer parses, its schema is the table's (without the partition columns),
// its row count is the logged numRecords, and its partition values name every partition column.
// `deep` also decodes every page of every column and assembles every row.
ValidateReport validate(fs::FileLayer& layer, bool deep);

struct OptimizeOptions {
  std::uint64_t target_file_bytes = 128ull << 20;
  std::uint64_t small_file_bytes = 0;  // files below this are compacted (0: target / 2)
  parquet::Codec codec = parquet::Codec::zstd;
  int zstd_level = 3;
  bool dry_run = false;
};
struct OptimizeReport {
  std::int64_t version = -1;  // the new version, -1 if nothing was committed
  std::size_t files_removed = 0, files_added = 0;
  std::int64_t bytes_removed = 0, bytes_added = 0, rows = 0;
  std::string error;  // empty on success
};
// Compacts the small files of each partition into files of about the target size, in one new
// version: remove (dataChange false) for the old files, add for the new. Concurrent appends do
// not conflict; if another writer removed one of the files meanwhile, the new files are deleted
// and nothing is committed.
OptimizeReport optimize(fs::FileLayer& layer, const OptimizeOptions& options);

struct VacuumOptions {
  std::chrono::milliseconds retain{7LL * 24 * 3600 * 1000};
  bool dry_run = false;
};
struct VacuumReport {
  std::vector<std::string> deleted;  // paths relative to the table
  std::int64_t bytes = 0;
  std::size_t kept_recent = 0;  // unreferenced but younger than the retention
  std::string error;
};
// Deletes the files no version within the retention refers to: not live, not removed less than
// `retain` ago, and older than `retain` (which also covers files a crashed writer never
// committed, and hidden temporaries, also those of commits that never reached the log). The log
// itself and directories starting with '_' are kept.
VacuumReport vacuum(fs::FileLayer& layer, const VacuumOptions& options);

// The paths (relative to the table) of the live files of the current version.
bool live_files(fs::FileLayer& layer, std::vector<std::string>& out, std::string& error);

// "7d", "36h", "90m", "30s", "250ms": a retention. Throws std::invalid_argument.
std::chrono::milliseconds parse_retention(const std::string& text);

}  // namespace sw::lake::ops
