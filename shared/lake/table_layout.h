#pragma once
// How a table's rows are laid out in files: its data schema (the columns in the Parquet files),
// its partition columns (derived from data fields, held in the directory names and the Delta
// log, not in the files), the partition directory of a row, and data file names.
//
// Partition spec (--partition-by TOPIC=SPEC): comma-separated columns, each
//   FIELD         the field's value (identity; a string, integer or boolean field)
//   date:FIELD    the UTC date of a timestamp field, a column named "date" (Delta type date)
//   hour:FIELD    the UTC hour (0-23) of a timestamp field, a column named "hour" (Delta type integer)
// e.g. "date:timestamp,hour:timestamp" writes date=2026-11-22/hour=5/part-....parquet.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lake/delta/actions.h"
#include "lake/parquet/column.h"
#include "lake/schema.h"

namespace sw::lake {

enum class Transform : std::uint8_t { identity, date, hour };

struct PartitionColumn {
  std::string name;    // the table column
  Transform transform = Transform::identity;
  std::string source;  // the data field
  std::size_t source_leaf = 0;
  Kind kind = Kind::string;  // the partition column's type
};

// Throws std::invalid_argument naming the part of the spec at fault.
std::vector<PartitionColumn> parse_partition_spec(std::string_view spec, const Schema& data);
std::string describe(const std::vector<PartitionColumn>& columns);

class TableLayout {
 public:
  // `topic`: the schema records are shredded with. Fields used as identity partitions leave the
  // data files (Delta keeps partition values in the log and the directory names).
  TableLayout(Schema topic, std::vector<PartitionColumn> partitions);

  const Schema& topic_schema() const noexcept { return topic_; }
  // The columns in the Parquet files.
  const Schema& file_schema() const noexcept { return file_; }
  // For each leaf of the topic schema, its leaf in the files (-1: a partition column).
  const std::vector<int>& file_leaf() const noexcept { return file_leaf_; }
  const std::vector<PartitionColumn>& partitions() const noexcept { return partitions_; }
  bool partitioned() const noexcept { return !partitions_.empty(); }
  // The Delta table schema: the file columns, then the partition columns.
  Schema table_schema() const;
  std::vector<std::string> partition_names() const;

  // A key that tells partitions apart, from one staged row (one ColumnData entry per leaf):
  // bytes appended to `key` (cleared first), no allocation once it has grown.
  void row_key(const std::vector<parquet::ColumnData>& row, std::string& key) const;
  // The partition values of a staged row, and their directory ("date=2026-01-01/hour=5").
  delta::PartitionValues values(const std::vector<parquet::ColumnData>& row) const;
  std::string directory(const delta::PartitionValues& values) const;

 private:
  Schema topic_, file_;
  std::vector<PartitionColumn> partitions_;
  std::vector<int> file_leaf_;
};

// "3f2c...-...": a random (version 4) UUID.
std::string uuid4();
// "part-<uuid>.<codec>.parquet" under `directory`.
std::string data_file_path(const std::string& directory, std::string_view codec);

}  // namespace sw::lake
