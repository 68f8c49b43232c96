#pragma once
// A Parquet reader for what the lake writes and needs to read back: footers (validation), whole
// column chunks (compaction copies them column by column) and rows assembled as JSON (Delta
// checkpoints, tests). Supports PLAIN, dictionary (PLAIN_DICTIONARY / RLE_DICTIONARY) and RLE
// encodings, data pages v1 and v2, uncompressed, Snappy and ZSTD pages; anything else is an
// error naming what is unsupported. Every length, offset and count is checked against the file:
// a corrupt file is an error, never a crash.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lake/fs/file_layer.h"
#include "lake/parquet/column.h"
#include "lake/parquet/metadata.h"

namespace sw::lake::parquet {

class ParquetReader {
 public:
  // Reads the footer of `path` (two ranged reads) and derives the schema.
  bool open(fs::FileLayer& layer, const std::string& path, std::string& error);
  // A whole file in memory.
  bool open_bytes(std::string data, std::string& error);

  const FileMetaData& metadata() const noexcept { return meta_; }
  const ParquetSchema& schema() const noexcept { return *schema_; }
  std::uint64_t file_size() const noexcept { return size_; }
  std::int64_t num_rows() const noexcept { return meta_.num_rows; }

  // Decodes one column chunk (levels and values) into `out` (replaced).
  bool read_column(std::size_t row_group, std::size_t leaf, ColumnData& out, std::string& error);
  // The rows of a row group as JSON objects (timestamps as epoch milliseconds, dates as days).
  bool read_rows(std::size_t row_group, std::vector<nlohmann::ordered_json>& rows, std::string& error);

 private:
  bool parse_footer(std::string_view tail, std::uint64_t size, std::string& error);
  bool fetch(std::uint64_t offset, std::size_t length, std::string& out, std::string& error);

  fs::FileLayer* layer_ = nullptr;
  std::string path_;
  std::string data_;  // open_bytes only
  std::uint64_t size_ = 0;
  FileMetaData meta_;
  std::unique_ptr<ParquetSchema> schema_;
};

// Assembles rows from decoded leaf columns (one ColumnData per leaf of `schema`).
bool assemble_rows(const ParquetSchema& schema, const std::vector<ColumnData>& columns, std::int64_t num_rows,
                   std::vector<nlohmann::ordered_json>& rows, std::string& error);

}  // namespace sw::lake::parquet
