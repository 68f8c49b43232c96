#pragma once
// A table schema from the JSON Schema of a topic's records (topologies/schemas/*.schema.json).
//
// Mapping, per property (in the order the schema lists them):
//   "string"                     -> string
//   "string", format "date-time" -> timestamp (milliseconds, UTC); with "integer" too, epoch
//                                   seconds or milliseconds are taken as well
//   ["string", "integer"]        -> string; an integer is kept as its decimal text (ids)
//   "integer"                    -> int64
//   "number"                     -> double
//   "boolean"                    -> boolean
//   "array" with "items"         -> list of the item type
//   "object" with "properties"   -> struct
//   only "const" or "enum" (strings) -> string
// A property is nullable unless it is in "required" and its type does not include "null".
// Enforced on input: type, required, additionalProperties: false, minimum, maximum,
// exclusiveMinimum, exclusiveMaximum, minLength, maxLength, enum, const, minItems, maxItems.
// Other annotations (title, description, $id, pattern, format other than date-time) are not
// enforced. Constructs without a column type ($ref, oneOf, anyOf, allOf, an object without
// properties, patternProperties) are rejected at start-up, naming the property.
#include <string>

#include <nlohmann/json.hpp>

#include "lake/schema.h"

namespace sw::lake {

// Throws std::invalid_argument naming the property and the reason.
Schema schema_from_json_schema(const nlohmann::ordered_json& doc);
// Reads and converts a file; the error names the file.
Schema load_json_schema_file(const std::string& path);

}  // namespace sw::lake
