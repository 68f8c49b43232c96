#include "lake/json_schema.h"

#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace sw::lake {

namespace {

using J = nlohmann::ordered_json;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::invalid_argument((where.empty() ? std::string("the schema") : "property " + where) + ": " + what);
}

std::set<std::string> types_of(const J& node, const std::string& where) {
  std::set<std::string> types;
  if (!node.contains("type")) return types;
  const J& t = node["type"];
  if (t.is_string()) {
    types.insert(t.get<std::string>());
  } else if (t.is_array()) {
    for (const auto& x : t) {
      if (!x.is_string()) fail(where, "\"type\" lists a non-string");
      types.insert(x.get<std::string>());
    }
  } else {
    fail(where, "\"type\" must be a string or an array of strings");
  }
  return types;
}

std::optional<double> number_keyword(const J& node, const char* key, const std::string& where) {
  if (!node.contains(key)) return std::nullopt;
  if (!node[key].is_number()) fail(where, std::string("\"") + key + "\" must be a number");
  return node[key].get<double>();
}

std::optional<std::size_t> count_keyword(const J& node, const char* key, const std::string& where) {
  if (!node.contains(key)) return std::nullopt;
  if (!node[key].is_number_unsigned()) fail(where, std::string("\"") + key + "\" must be a non-negative integer");
  return node[key].get<std::size_t>();
}

Field convert(const std::string& name, const J& node, const std::string& where, int depth);

std::vector<Field> convert_properties(const J& node, const std::string& where, int depth, bool& additional) {
  if (!node.contains("properties") || !node["properties"].is_object() || node["properties"].empty())
    fail(where, "an object needs \"properties\" (free-form objects have no column type)");
  if (node.contains("patternProperties")) fail(where, "\"patternProperties\" is not supported");
  std::set<std::string> required;
  if (node.contains("required")) {
    if (!node["required"].is_array()) fail(where, "\"required\" must be an array");
    for (const auto& r : node["required"]) {
      if (!r.is_string()) fail(where, "\"required\" lists a non-string");
      required.insert(r.get<std::string>());
    }
  }
  for (const auto& r : required)
    if (!node["properties"].contains(r)) fail(where, "\"required\" names " + r + ", which is not a property");
  additional = true;
  if (node.contains("additionalProperties")) {
    const J& a = node["additionalProperties"];
    if (a.is_boolean()) additional = a.get<bool>();
    else if (!a.is_object()) fail(where, "\"additionalProperties\" must be a boolean or a schema");
  }
  std::vector<Field> fields;
  for (const auto& [key, child] : node["properties"].items()) {
    const std::string child_where = where.empty() ? key : where + "." + key;
    if (key.empty()) fail(where, "a property has an empty name");
    Field f = convert(key, child, child_where, depth + 1);
    f.required = required.count(key) > 0;
    if (!f.required) f.nullable = true;
    fields.push_back(std::move(f));
  }
  return fields;
}

Field convert(const std::string& name, const J& node, const std::string& where, int depth) {
  if (depth > 16) fail(where, "nested too deeply");
  if (!node.is_object()) fail(where, "must be a schema object");
  for (const char* k : {"$ref", "oneOf", "anyOf", "allOf", "not", "if"})
    if (node.contains(k)) fail(where, std::string("\"") + k + "\" is not supported");
  Field f;
  f.name = name;
  if (node.contains("description") && node["description"].is_string())
    f.description = node["description"].get<std::string>();
  auto types = types_of(node, where);
  const bool null_allowed = types.erase("null") > 0;
  f.nullable = null_allowed;

  // String enumerations.
  auto add_enum = [&](const J& values) {
    for (const auto& v : values) {
      if (!v.is_string()) fail(where, "only string values are supported in \"enum\" and \"const\"");
      f.constraints.enumeration.push_back(v.get<std::string>());
    }
  };
  if (node.contains("const")) add_enum(J::array({node["const"]}));
  if (node.contains("enum")) {
    if (!node["enum"].is_array()) fail(where, "\"enum\" must be an array");
    J values = J::array();
    for (const auto& v : node["enum"])
      if (!v.is_null()) values.push_back(v);
    add_enum(values);
  }
  if (types.empty()) {
    if (!f.constraints.enumeration.empty()) types.insert("string");
    else fail(where, "no \"type\"");
  }

  f.constraints.minimum = number_keyword(node, "minimum", where);
  f.constraints.maximum = number_keyword(node, "maximum", where);
  if (auto x = number_keyword(node, "exclusiveMinimum", where)) {
    f.constraints.minimum = x;
    f.constraints.exclusive_minimum = true;
  }
  if (auto x = number_keyword(node, "exclusiveMaximum", where)) {
    f.constraints.maximum = x;
    f.constraints.exclusive_maximum = true;
  }
  f.constraints.min_length = count_keyword(node, "minLength", where);
  f.constraints.max_length = count_keyword(node, "maxLength", where);
  f.constraints.min_items = count_keyword(node, "minItems", where);
  f.constraints.max_items = count_keyword(node, "maxItems", where);

  const std::string format = node.contains("format") && node["format"].is_string() ? node["format"].get<std::string>() : "";
  if (format == "date-time" && (types == std::set<std::string>{"string"} ||
                                 types == std::set<std::string>{"string", "integer"})) {
    f.kind = Kind::timestamp_ms;  // RFC 3339 and Spark's forms; integers as epoch seconds or milliseconds
  } else if (types == std::set<std::string>{"string"}) {
    f.kind = Kind::string;
  } else if (types == std::set<std::string>{"string", "integer"}) {
    f.kind = Kind::string;
    f.integer_as_string = true;
  } else if (types == std::set<std::string>{"integer"}) {
    f.kind = Kind::int64;
  } else if (types == std::set<std::string>{"number"} || types == std::set<std::string>{"number", "integer"}) {
    f.kind = Kind::float64;
  } else if (types == std::set<std::string>{"boolean"}) {
    f.kind = Kind::boolean;
  } else if (types == std::set<std::string>{"array"}) {
    if (!node.contains("items") || !node["items"].is_object()) fail(where, "an array needs \"items\" (one schema)");
    Field element = convert("element", node["items"], where + "[]", depth + 1);
    if (element.kind == Kind::list || element.kind == Kind::map)
      fail(where, "lists of lists are not supported");
    f.kind = Kind::list;
    f.children.push_back(std::move(element));
  } else if (types == std::set<std::string>{"object"}) {
    f.kind = Kind::structure;
    f.children = convert_properties(node, where, depth, f.additional_properties);
  } else {
    std::string list;
    for (const auto& t : types) list += (list.empty() ? "" : ", ") + t;
    fail(where, "type [" + list + "] has no column type (string, integer, number, boolean, array, object, "
                "or string and integer for ids)");
  }
  if (f.kind != Kind::string && !f.constraints.enumeration.empty())
    fail(where, "\"enum\" and \"const\" are supported on strings only");
  return f;
}

}  // namespace

Schema schema_from_json_schema(const nlohmann::ordered_json& doc) {
  if (!doc.is_object()) throw std::invalid_argument("the schema is not a JSON object");
  const auto types = types_of(doc, "");
  if (!types.empty() && types != std::set<std::string>{"object"})
    throw std::invalid_argument("the schema must describe an object (\"type\": \"object\")");
  Schema s;
  s.fields = convert_properties(doc, "", 0, s.additional_properties);
  return s;
}

Schema load_json_schema_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot read schema file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::ordered_json doc;
  try {
    doc = nlohmann::ordered_json::parse(ss.str());
  } catch (const std::exception& e) {
    throw std::invalid_argument("schema file " + path + " is not JSON: " + e.what());
  }
  try {
    return schema_from_json_schema(doc);
  } catch (const std::exception& e) {
    throw std::invalid_argument("schema file " + path + ": " + e.what());
  }
}

}  // namespace sw::lake
