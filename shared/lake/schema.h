#pragma once
// A table's schema: a tree of named, typed fields, from which the Parquet schema (leaf columns
// with their definition and repetition levels) and the Delta schema string are derived.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sw::lake {

enum class Kind : std::uint8_t {
  string,
  int32,
  int64,
  float64,
  boolean,
  timestamp_ms,  // UTC, milliseconds since the epoch
  date,          // days since the epoch (partition columns only)
  list,          // children[0] is the element
  map,           // string keys; children[0] is the value
  structure,     // children are the fields
};
const char* to_string(Kind k) noexcept;
inline bool is_primitive(Kind k) noexcept { return k != Kind::list && k != Kind::map && k != Kind::structure; }

// What a JSON record must satisfy beyond its type (from JSON Schema keywords).
struct Constraints {
  std::optional<double> minimum, maximum;
  bool exclusive_minimum = false, exclusive_maximum = false;
  std::optional<std::size_t> min_length, max_length;  // strings, in code points
  std::optional<std::size_t> min_items, max_items;    // lists
  std::vector<std::string> enumeration;               // strings: the allowed values (empty: any)
  bool empty() const noexcept {
    return !minimum && !maximum && !min_length && !max_length && !min_items && !max_items && enumeration.empty();
  }
};

struct Field {
  std::string name;
  Kind kind = Kind::string;
  bool nullable = true;  // may be null (or absent); list elements and map values too
  std::vector<Field> children;
  // JSON input: a string column also takes a JSON integer, as its decimal text (ids).
  bool integer_as_string = false;
  // JSON input: the field may be absent (a required field may still allow an explicit null).
  bool required = false;
  // JSON input, structs: fields the schema does not name are allowed (and dropped).
  bool additional_properties = true;
  Constraints constraints;
  std::string description;

  static Field primitive(std::string name, Kind kind, bool nullable = true) {
    Field f;
    f.name = std::move(name);
    f.kind = kind;
    f.nullable = nullable;
    return f;
  }
  static Field list_of(std::string name, Field element, bool nullable = true) {
    Field f;
    f.name = std::move(name);
    f.kind = Kind::list;
    f.nullable = nullable;
    element.name = "element";
    f.children.push_back(std::move(element));
    return f;
  }
  static Field map_of(std::string name, Field value, bool nullable = true) {
    Field f;
    f.name = std::move(name);
    f.kind = Kind::map;
    f.nullable = nullable;
    value.name = "value";
    f.children.push_back(std::move(value));
    return f;
  }
  static Field struct_of(std::string name, std::vector<Field> fields, bool nullable = true) {
    Field f;
    f.name = std::move(name);
    f.kind = Kind::structure;
    f.nullable = nullable;
    f.children = std::move(fields);
    return f;
  }
};

// Same names, kinds, nullability and nesting (constraints and descriptions are ignored).
bool same_shape(const Field& a, const Field& b);

struct Schema {
  std::vector<Field> fields;
  bool additional_properties = true;  // JSON input: top-level fields not named are allowed (dropped)
  const Field* find(const std::string& name) const;
  bool same_shape(const Schema& o) const;
  // One line per field, indented by nesting: "name: type (nullable)".
  std::string describe() const;
};

}  // namespace sw::lake
