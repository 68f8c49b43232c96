#pragma once
// A Parquet file writer: rows are shredded into per-column buffers (ColumnData); a row group is
// encoded and written when the buffers reach the row-group size, and finish() writes the footer.
//
// Encodings: definition and repetition levels RLE/bit-packed; strings dictionary-encoded
// (a PLAIN dictionary page, then RLE/bit-packed indices) while the column chunk's distinct values
// stay few and small, PLAIN otherwise; everything else PLAIN. Data pages v1 of about page_bytes,
// each compressed with the file's codec. Per column chunk: min, max (for strings only when both
// are at most stats_max_bytes long) and null count; the footer declares type-defined column
// orders so readers use them.
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "lake/fs/file_layer.h"
#include "lake/parquet/column.h"
#include "lake/parquet/compression.h"
#include "lake/parquet/metadata.h"

namespace sw::lake::parquet {

struct WriterOptions {
  Codec codec = Codec::zstd;
  int zstd_level = 3;
  std::size_t row_group_bytes = 32u << 20;  // buffered (about PLAIN-encoded) bytes per row group
  std::size_t page_bytes = 1u << 20;
  std::size_t dictionary_max_bytes = 1u << 20;  // a larger dictionary falls back to PLAIN
  std::size_t stats_max_bytes = 256;            // longer string min/max are left out
  std::string created_by = "streamwright lake";
  std::vector<KeyValue> key_value_metadata;
};

// Statistics of one leaf column over a row group or a whole file.
struct ColumnStatistics {
  std::int64_t null_count = 0;  // entries below the leaf's max definition level
  std::int64_t values = 0;      // non-null values
  bool has_min_max = false;
  std::int64_t min_i = 0, max_i = 0;  // int32, int64, timestamp, date, boolean (0/1)
  double min_f = 0, max_f = 0;        // double
  std::string min_s, max_s;           // string
  bool strings_too_long = false;      // some value was longer than stats_max_bytes: no string min/max
  void merge(const ColumnStatistics& o, Kind kind);
};

struct FileSummary {
  std::string path;
  std::int64_t rows = 0;
  std::uint64_t bytes = 0;
  std::size_t row_groups = 0;
  std::vector<ColumnStatistics> columns;  // per leaf
};

class ParquetWriter {
 public:
  // `shared` (optional) compresses for several writers used from one thread.
  ParquetWriter(std::shared_ptr<const ParquetSchema> schema, WriterOptions options, std::unique_ptr<fs::OutputFile> out,
                Compressor* shared = nullptr);
  ~ParquetWriter();
  ParquetWriter(const ParquetWriter&) = delete;
  ParquetWriter& operator=(const ParquetWriter&) = delete;

  const ParquetSchema& schema() const noexcept { return *schema_; }
  ColumnData& column(std::size_t leaf) noexcept { return columns_[leaf]; }
  std::vector<ColumnData>& columns() noexcept { return columns_; }
  std::size_t column_count() const noexcept { return columns_.size(); }
  // The caller appended one whole row to every column.
  void row_added() noexcept { ++group_rows_; }
  void rows_added(std::int64_t n) noexcept { group_rows_ += n; }

  // Rows so far (written and buffered), buffered bytes (PLAIN estimate), bytes in the file.
  std::int64_t rows() const noexcept { return written_rows_ + group_rows_; }
  std::int64_t buffered_rows() const noexcept { return group_rows_; }
  std::size_t buffered_bytes() const noexcept;
  std::uint64_t file_bytes() const noexcept;
  // Estimated size of the finished file: written bytes plus the buffered rows at the
  // compression ratio seen so far (or 1/3 before the first row group).
  std::uint64_t estimated_file_bytes() const noexcept;
  const std::string& path() const noexcept;

  // Writes the buffered rows as a row group when they reach the row-group size.
  std::error_code maybe_flush() {
    return buffered_bytes() >= options_.row_group_bytes ? flush_row_group() : std::error_code{};
  }
  std::error_code flush_row_group();
  // Writes the last row group and the footer, and makes the file visible (fs::OutputFile::finish).
  std::error_code finish(FileSummary& summary);
  void abort() noexcept;

 private:
  std::error_code write_column(std::size_t leaf, ColumnChunk& chunk, ColumnStatistics& stats);
  std::error_code write_page(const PageHeader& header_template, std::string_view body, std::int64_t& uncompressed,
                             std::int64_t& compressed);
  bool build_dictionary(const ColumnData& d);

  std::shared_ptr<const ParquetSchema> schema_;
  WriterOptions options_;
  std::unique_ptr<fs::OutputFile> out_;
  std::unique_ptr<Compressor> own_compressor_;
  Compressor* compressor_;
  std::vector<ColumnData> columns_;
  std::vector<ColumnStatistics> file_stats_;
  FileMetaData meta_;
  std::int64_t group_rows_ = 0;
  std::int64_t written_rows_ = 0;
  std::uint64_t plain_bytes_written_ = 0;  // estimate of what the written row groups held
  bool failed_ = false;
  bool finished_ = false;
  // Scratch, reused across pages and row groups.
  std::string body_, compressed_, header_;
  std::vector<std::uint32_t> indices_;
  std::vector<std::string_view> dict_values_;
  std::vector<std::uint32_t> dict_slots_;
};

}  // namespace sw::lake::parquet
