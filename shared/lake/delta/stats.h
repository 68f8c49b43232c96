#pragma once
// The statistics of an add action ("stats": numRecords, minValues, maxValues, nullCount) from a
// written file's column statistics, as Delta readers use them to skip files.
#include <string>

#include "lake/parquet/column.h"
#include "lake/parquet/writer.h"

namespace sw::lake::delta {

// Top-level and struct-nested primitive columns get nullCount, and minValues/maxValues (not for
// booleans; strings only up to 32 characters, a longer minimum cut to its first 32 as a lower
// bound and a longer maximum left out; timestamps as "2026-01-01T00:00:00.000Z"). Columns inside
// lists and maps get none.
std::string stats_json(const parquet::ParquetSchema& schema, const parquet::FileSummary& summary);

// "2026-01-01T10:15:30.123Z" (always with milliseconds, as Delta writes timestamps in stats).
std::string format_stats_timestamp(std::int64_t ms);

}  // namespace sw::lake::delta
