#pragma once
// One topic written to one Delta table: records shredded into open Parquet files (one per
// partition directory), and a roll that finishes the files and commits them in one Delta
// version together with each Kafka partition's progress (txn appId <group>-<partition>,
// version = the next offset).
//
// The rows of a partition in a commit start exactly at the version the table held for it when
// they were read (`expected`); the commit checks that it still does, so a replica that lost a
// partition, or a replay, can never add rows twice: its commit conflicts, its files are
// deleted, and it resumes from the table's version.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config.h"
#include "common/time_zone.h"
#include "kafka/types.h"
#include "lake/delta/log.h"
#include "lake/fs/file_layer.h"
#include "lake/json_shredder.h"
#include "lake/parquet/compression.h"
#include "lake/parquet/writer.h"
#include "lake/table_layout.h"
#include "metrics/metrics.h"

namespace sw::lake_sink {

using Clock = std::chrono::steady_clock;

class TableSink {
 public:
  TableSink(const TableConfig& table, const SinkConfig& sink, metrics::Registry& registry, const TimeZone* zone);
  ~TableSink();
  TableSink(const TableSink&) = delete;
  TableSink& operator=(const TableSink&) = delete;

  const TableConfig& config() const noexcept { return table_; }
  const std::string& topic() const noexcept { return table_.topic; }
  std::string app_id(std::int32_t partition) const { return sink_.group_id + "-" + std::to_string(partition); }
  std::int64_t version() const noexcept { return snapshot_.version; }

  // Start-up: reads the log and creates the table if there is none. Throws std::runtime_error if
  // the table cannot take this topic (another schema or partitioning, a newer protocol) or the
  // storage cannot be read.
  void open();
  // Reads what other writers committed since. False (and `error`) when the log cannot be read.
  bool refresh(std::string& error);

  // Partition ownership. `start` is where the partition begins when the table holds no progress
  // for it (an offset, the beginning or the end). Returns where to seek: the table's version or start.
  Offset assign(std::int32_t partition, Offset start);
  void unassign(std::int32_t partition);
  bool owns(std::int32_t partition) const noexcept {
    return partition >= 0 && static_cast<std::size_t>(partition) < parts_.size() && parts_[partition].assigned;
  }
  std::vector<std::int32_t> owned() const;

  enum class Take { row, rejected, skipped, failed };
  // One record of an owned partition. rejected: it does not fit the schema (`reason`; the caller
  // dead-letters it, and the partition's progress moves past it). skipped: an offset already
  // taken, or a partition not owned. failed: the storage failed (`reason`); abort() and back off.
  Take add(std::int32_t partition, std::int64_t offset, std::string_view value, std::string& reason);
  // A record handled without a row (dead-lettered before parsing): progress moves past it.
  void advance(std::int32_t partition, std::int64_t offset);

  bool has_pending() const noexcept { return pending_; }
  // A roll is due: a file reached the target size, or the oldest pending record the age limit.
  bool due(Clock::time_point now) const;
  std::size_t buffered_bytes() const;
  std::int64_t pending_rows() const noexcept { return pending_rows_; }
  // Writes the largest buffered row group to its file (the memory budget); returns its bytes.
  std::size_t flush_largest(std::error_code& ec);

  struct Outcome {
    enum class Status { nothing, committed, conflict, failed } status = Status::nothing;
    std::int64_t version = -1;
    // committed: the partitions' new offsets (a hint for Kafka's committed offsets);
    // conflict/failed: where every owned partition must resume (seek there).
    std::vector<kafka::TopicPartition> positions;
    std::string error;
  };
  // Finishes every open file and commits them with the progress of every partition.
  Outcome roll();
  // Drops what is pending: open files are abandoned, files written for an uncommitted roll are
  // deleted when the log shows they are not part of the table. Returns where to resume.
  std::vector<kafka::TopicPartition> abort(bool delete_files = true);

 private:
  struct PartitionState {
    bool assigned = false;
    std::optional<std::int64_t> expected;  // the table's version for the partition when pending rows began
    Offset start = Offset::beginning();  // where to resume without a version
    std::int64_t next = -1;                // next offset after the pending records (-1: none)
  };
  struct OpenFile {
    std::unique_ptr<lake::parquet::ParquetWriter> writer;
    lake::delta::PartitionValues values;
    std::uint32_t rows_since_check = 0;
  };

  OpenFile* file_for(const std::string& key, const std::vector<lake::parquet::ColumnData>* row, std::string& reason);
  std::vector<kafka::TopicPartition> rewind_positions();
  lake::delta::Metadata table_metadata() const;
  void update_gauges();

  TableConfig table_;
  const SinkConfig& sink_;
  lake::TableLayout layout_;
  std::shared_ptr<const lake::parquet::ParquetSchema> topic_schema_, file_schema_;
  std::unique_ptr<lake::JsonShredder> shredder_;
  std::unique_ptr<lake::fs::FileLayer> fs_;
  std::unique_ptr<lake::delta::DeltaLog> log_;
  lake::delta::Snapshot snapshot_;
  lake::parquet::WriterOptions writer_options_;
  std::unique_ptr<lake::parquet::Compressor> compressor_;
  std::string codec_suffix_;
  std::vector<PartitionState> parts_;
  std::unordered_map<std::string, OpenFile> files_;
  std::vector<std::string> finished_;  // data files of the roll in progress (deleted on a failed one)
  std::vector<lake::parquet::ColumnData> staging_;
  std::string key_;
  bool pending_ = false;
  std::int64_t pending_rows_ = 0;
  Clock::time_point first_pending_{};

  metrics::Counter *rows_written_, *files_written_, *bytes_written_, *committed_, *conflicts_, *failures_,
      *lost_races_, *checkpoints_, *rejected_;
  metrics::Gauge *version_gauge_, *pending_gauge_, *open_files_gauge_;
  metrics::Histogram* file_bytes_;
};

}  // namespace sw::lake_sink
