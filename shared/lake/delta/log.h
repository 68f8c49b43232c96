#pragma once
// A Delta table's transaction log: replay (checkpoint, then the JSON commits after it), exclusive
// creation of the next version, checkpoints, and the optimistic commit that writers use.
//
// Layout under the table root: _delta_log/<20-digit version>.json (one action per line),
// _delta_log/<version>.checkpoint.parquet (the whole state at that version, written with this
// library's Parquet writer) and _delta_log/_last_checkpoint ({"version":..,"size":..}).
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "lake/delta/actions.h"
#include "lake/fs/file_layer.h"

namespace sw::lake::delta {

std::string version_path(std::int64_t version);     // _delta_log/00000000000000000007.json
std::string checkpoint_path(std::int64_t version);  // _delta_log/00000000000000000010.checkpoint.parquet
inline constexpr const char* kLastCheckpoint = "_delta_log/_last_checkpoint";
inline constexpr const char* kLogDir = "_delta_log";

// What this library supports: reader version 1 (no column mapping, no deletion vectors, no table
// features), writer version 2 (append-only invariants are not enforced: tables with
// delta.invariants or CHECK constraints are refused for writing).
bool can_read(const Protocol& p, std::string& why);
bool can_write(const Protocol& p, const Metadata& m, std::string& why);

class DeltaLog {
 public:
  explicit DeltaLog(fs::FileLayer& layer) : layer_(layer) {}
  fs::FileLayer& layer() noexcept { return layer_; }

  // The newest snapshot: the newest complete checkpoint that reads (any part of the log may be
  // missing before it), then every JSON commit after it, in order and without gaps. version -1
  // when there is no table. `error` explains a log that cannot be replayed.
  std::error_code load(Snapshot& out, std::string& error);
  // Applies the commits after s.version (what other writers added since).
  std::error_code update(Snapshot& s, std::string& error);
  std::error_code read_version(std::int64_t version, Actions& out, std::string& error);
  // Creates `version` exclusively: std::errc::file_exists when another writer created it first.
  std::error_code write_version(std::int64_t version, const Actions& actions);
  // Writes the checkpoint of `s` at s.version (live files, transactions, protocol, metadata and
  // the tombstones younger than the retention), then _last_checkpoint if it is not newer already.
  std::error_code write_checkpoint(const Snapshot& s, std::int64_t tombstone_retention_ms, std::string& error);
  // Reads a checkpoint (single file, or `parts` files) into `out`.
  std::error_code read_checkpoint(std::int64_t version, int parts, Snapshot& out, std::string& error);

 private:
  fs::FileLayer& layer_;
};

// One application's progress in a commit: the version the table must still hold for `app_id`
// (nullopt: none) and the version to record.
struct TxnUpdate {
  std::string app_id;
  std::optional<std::int64_t> expected;
  std::int64_t version = 0;
};

struct Commit {
  std::vector<Add> adds;
  std::vector<Remove> removes;  // each must still be a live file of the table
  std::vector<TxnUpdate> txns;
  // The table to create if there is none (protocol and metadata of version 0); when a table
  // exists, its schema and partition columns must be these.
  std::optional<Metadata> table;
  Protocol protocol;
  nlohmann::json commit_info = nlohmann::json::object();
};

struct CommitResult {
  std::int64_t version = -1;           // the version written; -1 if none
  std::vector<std::string> conflicts;  // broken expectations: app ids, removed paths, "schema"
  int attempts = 0;                    // versions tried (1 without a race)
  bool checkpointed = false;
  std::string checkpoint_error;  // a failed checkpoint does not fail the commit
};

struct CommitOptions {
  int checkpoint_interval = 10;  // checkpoint after versions that are multiples of it (0: never)
  std::int64_t tombstone_retention_ms = 7LL * 24 * 3600 * 1000;
  int max_attempts = 10000;
};

// The optimistic commit: writes version s.version + 1 if every expectation of `c` holds on `s`.
// A lost race (the version exists) brings `s` up to date and tries the next version while the
// expectations still hold; a broken one returns with `conflicts` and nothing written. After a
// success `s` is the committed version. Errors: I/O, or an unreadable log (`error`).
std::error_code commit(DeltaLog& log, Snapshot& s, const Commit& c, CommitResult& result, std::string& error,
                       const CommitOptions& options = {});

}  // namespace sw::lake::delta
