#pragma once
// Delta Lake log actions (protocol, metaData, add, remove, txn, commitInfo) and the state a log
// replay produces, after the Delta transaction protocol.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sw::lake::delta {

using PartitionValues = std::map<std::string, std::optional<std::string>>;

struct Protocol {
  int min_reader_version = 1;
  int min_writer_version = 2;
  std::vector<std::string> reader_features, writer_features;  // table features (versions 3 and 7)
};

struct Metadata {
  std::string id;
  std::optional<std::string> name, description;
  std::string format_provider = "parquet";
  std::map<std::string, std::string> format_options;
  std::string schema_string;
  std::vector<std::string> partition_columns;
  std::map<std::string, std::string> configuration;
  std::optional<std::int64_t> created_time;
};

struct Add {
  std::string path;  // a relative URI (percent-encoded), as in the log
  PartitionValues partition_values;
  std::int64_t size = 0;
  std::int64_t modification_time = 0;
  bool data_change = true;
  std::optional<std::string> stats;  // JSON text
  std::map<std::string, std::string> tags;
  bool has_deletion_vector = false;  // a deletionVector was given (unsupported)
};

struct Remove {
  std::string path;
  std::optional<std::int64_t> deletion_timestamp;
  bool data_change = true;
  bool extended_file_metadata = false;
  PartitionValues partition_values;
  std::optional<std::int64_t> size;
};

struct Txn {
  std::string app_id;
  std::int64_t version = 0;
  std::optional<std::int64_t> last_updated;
};

// The actions of one commit (or of a checkpoint).
struct Actions {
  std::optional<Protocol> protocol;
  std::optional<Metadata> metadata;
  std::vector<Add> adds;
  std::vector<Remove> removes;
  std::vector<Txn> txns;
  std::optional<nlohmann::json> commit_info;
  std::size_t other = 0;  // actions of other kinds (cdc, domainMetadata, ...): counted, kept out of the state
};

// Newline-delimited JSON, one action per line, in the order commitInfo, protocol, metaData,
// txn, remove, add.
std::string to_json_lines(const Actions& a);
// Parses a commit file; false with `error` naming the line.
bool parse_json_lines(std::string_view text, Actions& out, std::string& error);
// One action from its JSON object ({"add": {...}}); unknown kinds count in `other`.
bool parse_action(const nlohmann::json& j, Actions& out, std::string& error);

nlohmann::json to_json(const Add& a);
nlohmann::json to_json(const Remove& r);
nlohmann::json to_json(const Txn& t);
nlohmann::json to_json(const Metadata& m);
nlohmann::json to_json(const Protocol& p);

// The table at one version.
struct Snapshot {
  std::int64_t version = -1;  // -1: no table yet
  Protocol protocol;
  Metadata metadata;
  bool has_metadata = false;
  std::map<std::string, Add> files;        // live files by path
  std::map<std::string, Remove> tombstones;  // removed files by path
  std::map<std::string, Txn> txns;         // by app id
  std::int64_t checkpoint_version = -1;    // the checkpoint the replay started from

  std::optional<std::int64_t> txn_version(const std::string& app_id) const {
    const auto it = txns.find(app_id);
    return it == txns.end() ? std::nullopt : std::optional<std::int64_t>(it->second.version);
  }
  // Applies one version's actions (a later action on a path wins).
  void apply(const Actions& a);
  std::int64_t total_bytes() const;
  std::int64_t total_records() const;  // from the files' stats (numRecords); -1 if a file has none
};

// Percent-encoding of paths in the log (RFC 2396: everything but unreserved characters and '/'),
// and Hive's escaping of partition values in directory names.
std::string encode_path(std::string_view path);
std::string decode_path(std::string_view uri);
std::string escape_partition_value(std::string_view value);

// numRecords from an add's stats, or -1.
std::int64_t num_records(const Add& a);

}  // namespace sw::lake::delta
