#include "lake/delta/schema.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace sw::lake::delta {

using J = nlohmann::ordered_json;

namespace {

J type_json(const Field& f) {
  switch (f.kind) {
    case Kind::string: return "string";
    case Kind::int32: return "integer";
    case Kind::int64: return "long";
    case Kind::float64: return "double";
    case Kind::boolean: return "boolean";
    case Kind::timestamp_ms: return "timestamp";
    case Kind::date: return "date";
    case Kind::list:
      return J{{"type", "array"}, {"elementType", type_json(f.children[0])}, {"containsNull", f.children[0].nullable}};
    case Kind::map:
      return J{{"type", "map"},
               {"keyType", "string"},
               {"valueType", type_json(f.children[0])},
               {"valueContainsNull", f.children[0].nullable}};
    case Kind::structure: {
      J fields = J::array();
      for (const auto& c : f.children) {
        J meta = J::object();
        if (!c.description.empty()) meta["comment"] = c.description;
        fields.push_back(J{{"name", c.name}, {"type", type_json(c)}, {"nullable", c.nullable}, {"metadata", meta}});
      }
      return J{{"type", "struct"}, {"fields", fields}};
    }
  }
  return "string";
}

Field parse_type(const std::string& name, const J& t, bool nullable, const std::string& where, int depth) {
  if (depth > 32) throw std::invalid_argument("schema nested too deeply at " + where);
  Field f;
  f.name = name;
  f.nullable = nullable;
  if (t.is_string()) {
    const auto s = t.get<std::string>();
    if (s == "string") f.kind = Kind::string;
    else if (s == "long") f.kind = Kind::int64;
    else if (s == "integer") f.kind = Kind::int32;
    else if (s == "double") f.kind = Kind::float64;
    else if (s == "boolean") f.kind = Kind::boolean;
    else if (s == "timestamp") f.kind = Kind::timestamp_ms;
    else if (s == "date") f.kind = Kind::date;
    else throw std::invalid_argument("column " + where + ": type " + s + " is not supported by the lake");
    return f;
  }
  if (!t.is_object() || !t.contains("type") || !t["type"].is_string())
    throw std::invalid_argument("column " + where + ": malformed type");
  const auto kind = t["type"].get<std::string>();
  if (kind == "array") {
    if (!t.contains("elementType")) throw std::invalid_argument("column " + where + ": array without elementType");
    f.kind = Kind::list;
    f.children.push_back(parse_type("element", t["elementType"], t.value("containsNull", true), where + "[]", depth + 1));
  } else if (kind == "map") {
    if (t.value("keyType", J()) != J("string"))
      throw std::invalid_argument("column " + where + ": only string map keys are supported");
    f.kind = Kind::map;
    f.children.push_back(parse_type("value", t.value("valueType", J()), t.value("valueContainsNull", true), where + "{}",
                                    depth + 1));
  } else if (kind == "struct") {
    f.kind = Kind::structure;
    if (!t.contains("fields") || !t["fields"].is_array()) throw std::invalid_argument("column " + where + ": struct without fields");
    for (const auto& c : t["fields"]) {
      if (!c.is_object() || !c.contains("name") || !c["name"].is_string() || !c.contains("type"))
        throw std::invalid_argument("column " + where + ": malformed struct field");
      const auto cname = c["name"].get<std::string>();
      Field child = parse_type(cname, c["type"], c.value("nullable", true), where.empty() ? cname : where + "." + cname,
                               depth + 1);
      if (c.contains("metadata") && c["metadata"].is_object() && c["metadata"].contains("comment") &&
          c["metadata"]["comment"].is_string())
        child.description = c["metadata"]["comment"].get<std::string>();
      f.children.push_back(std::move(child));
    }
  } else {
    throw std::invalid_argument("column " + where + ": type " + kind + " is not supported by the lake");
  }
  return f;
}

}  // namespace

std::string to_schema_string(const Schema& schema) {
  Field root = Field::struct_of("", schema.fields, false);
  return type_json(root).dump();
}

Schema parse_schema_string(std::string_view text) {
  const J j = J::parse(text, nullptr, false);
  if (j.is_discarded()) throw std::invalid_argument("the table's schemaString is not JSON");
  Field root = parse_type("", j, false, "", 0);
  if (root.kind != Kind::structure) throw std::invalid_argument("the table's schema is not a struct");
  Schema s;
  s.fields = std::move(root.children);
  return s;
}

}  // namespace sw::lake::delta
