#pragma once
// JSON records into Parquet columns: one pass of simdjson On-Demand over a record, writing each
// field's value (or null) with its definition and repetition levels straight into the column
// buffers of the table's leaves. A record that does not fit the schema leaves the buffers as they
// were and yields a reason for the dead-letter topic ("missing field frames", "field frames is
// not an integer", "unknown field x", ...). No allocation per record once buffers have grown.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/time_zone.h"
#include "lake/parquet/column.h"

namespace sw::lake {

class JsonShredder {
 public:
  // `default_zone`: the zone of timestamps written without one (nullptr: UTC). Kept by pointer.
  explicit JsonShredder(std::shared_ptr<const parquet::ParquetSchema> schema, const TimeZone* default_zone = nullptr);
  ~JsonShredder();
  JsonShredder(const JsonShredder&) = delete;
  JsonShredder& operator=(const JsonShredder&) = delete;

  // Appends one row to `columns` (one per leaf). False: nothing appended, `error` says why.
  bool shred(std::string_view json, std::vector<parquet::ColumnData>& columns, std::string& error);

  const parquet::ParquetSchema& schema() const noexcept { return *schema_; }

 private:
  struct Node;
  struct Impl;
  std::shared_ptr<const parquet::ParquetSchema> schema_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sw::lake
