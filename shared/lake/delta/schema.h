#pragma once
// The Delta schema string (Spark's StructType as JSON) of a table schema, and back.
#include <string>
#include <string_view>

#include "lake/schema.h"

namespace sw::lake::delta {

// {"type":"struct","fields":[{"name":...,"type":...,"nullable":...,"metadata":{...}}, ...]}.
// Field descriptions become column comments (metadata "comment").
std::string to_schema_string(const Schema& schema);
// Throws std::invalid_argument for malformed strings and types the lake cannot hold (decimal,
// binary, float, timestamp_ntz, ...), naming the column.
Schema parse_schema_string(std::string_view text);

}  // namespace sw::lake::delta
