#include "lake/parquet/column.h"

#include <stdexcept>

namespace sw::lake::parquet {

PhysicalType physical_type(Kind k) {
  switch (k) {
    case Kind::string: return PhysicalType::byte_array;
    case Kind::int32:
    case Kind::date: return PhysicalType::int32;
    case Kind::int64:
    case Kind::timestamp_ms: return PhysicalType::int64;
    case Kind::float64: return PhysicalType::float64;
    case Kind::boolean: return PhysicalType::boolean;
    default: throw std::invalid_argument("not a primitive kind");
  }
}

std::size_t ParquetSchema::leaf_count(const Field& f) noexcept {
  if (is_primitive(f.kind)) return 1;
  if (f.kind == Kind::map) return 1 + leaf_count(f.children[0]);  // key + value
  std::size_t n = 0;
  for (const auto& c : f.children) n += leaf_count(c);
  return n;
}

namespace {

SchemaElement primitive_element(const Field& f, Repetition r) {
  SchemaElement e;
  e.name = f.name;
  e.repetition = r;
  e.type = physical_type(f.kind);
  switch (f.kind) {
    case Kind::string:
      e.converted_type = ConvertedType::utf8;
      e.logical.kind = LogicalType::Kind::string;
      break;
    case Kind::timestamp_ms:
      e.converted_type = ConvertedType::timestamp_millis;
      e.logical.kind = LogicalType::Kind::timestamp;
      e.logical.adjusted_to_utc = true;
      e.logical.unit = TimeUnit::millis;
      break;
    case Kind::date:
      e.converted_type = ConvertedType::date;
      e.logical.kind = LogicalType::Kind::date;
      break;
    default:
      break;
  }
  return e;
}

SchemaElement group_element(const std::string& name, Repetition r, int children) {
  SchemaElement e;
  e.name = name;
  e.repetition = r;
  e.num_children = children;
  return e;
}

void check_name(const Field& f) {
  if (f.name.empty()) throw std::invalid_argument("a field has an empty name");
  if ((f.kind == Kind::list || f.kind == Kind::map) && f.children.size() != 1)
    throw std::invalid_argument("field " + f.name + ": a list or map has exactly one element or value type");
  if (f.kind == Kind::structure && f.children.empty())
    throw std::invalid_argument("field " + f.name + ": a struct needs at least one field");
}

}  // namespace

ParquetSchema::ParquetSchema(Schema schema) : schema_(std::move(schema)) {
  if (schema_.fields.empty()) throw std::invalid_argument("a table needs at least one column");
  elements_.push_back(group_element("schema", Repetition::required, static_cast<int>(schema_.fields.size())));
  elements_.back().repetition.reset();  // the root has none
  std::vector<std::string> path;
  for (std::size_t i = 0; i < schema_.fields.size(); ++i) add(schema_.fields[i], path, 0, 0, i);
}

void ParquetSchema::add(const Field& f, std::vector<std::string>& path, int def, int rep, std::size_t top) {
  check_name(f);
  const Repetition r = f.nullable ? Repetition::optional : Repetition::required;
  const int d = def + (f.nullable ? 1 : 0);
  path.push_back(f.name);
  if (is_primitive(f.kind)) {
    elements_.push_back(primitive_element(f, r));
    Leaf leaf;
    leaf.path = path;
    leaf.kind = f.kind;
    leaf.physical = physical_type(f.kind);
    leaf.max_def = d;
    leaf.max_rep = rep;
    leaf.top_field = top;
    leaves_.push_back(std::move(leaf));
  } else if (f.kind == Kind::structure) {
    elements_.push_back(group_element(f.name, r, static_cast<int>(f.children.size())));
    for (const auto& c : f.children) add(c, path, d, rep, top);
  } else if (f.kind == Kind::list) {
    // <repetition> group name (LIST) { repeated group list { <element> } }
    auto g = group_element(f.name, r, 1);
    g.converted_type = ConvertedType::list;
    g.logical.kind = LogicalType::Kind::list;
    elements_.push_back(g);
    elements_.push_back(group_element("list", Repetition::repeated, 1));
    path.push_back("list");
    Field element = f.children[0];
    element.name = "element";
    add(element, path, d + 1, rep + 1, top);
    path.pop_back();
  } else {
    // <repetition> group name (MAP) { repeated group key_value { required binary key; <value> } }
    auto g = group_element(f.name, r, 1);
    g.converted_type = ConvertedType::map;
    g.logical.kind = LogicalType::Kind::map;
    elements_.push_back(g);
    elements_.push_back(group_element("key_value", Repetition::repeated, 2));
    path.push_back("key_value");
    add(Field::primitive("key", Kind::string, false), path, d + 1, rep + 1, top);
    Field value = f.children[0];
    value.name = "value";
    add(value, path, d + 1, rep + 1, top);
    path.pop_back();
  }
  path.pop_back();
}

namespace {

// Reads the subtree starting at elements[i] into a Field; advances i.
Field field_from_elements(const std::vector<SchemaElement>& el, std::size_t& i, int depth) {
  if (i >= el.size()) throw std::invalid_argument("schema elements end early");
  if (depth > 32) throw std::invalid_argument("schema nested too deeply");
  const SchemaElement& e = el[i++];
  Field f;
  f.name = e.name;
  const auto rep = e.repetition.value_or(Repetition::required);
  if (rep == Repetition::repeated)
    throw std::invalid_argument("column " + e.name + ": a repeated field outside a LIST or MAP group is not supported");
  f.nullable = rep == Repetition::optional;
  if (!e.num_children || *e.num_children == 0) {
    if (!e.type) throw std::invalid_argument("column " + e.name + " has no type");
    const auto lk = e.logical.kind;
    switch (*e.type) {
      case PhysicalType::byte_array: f.kind = Kind::string; break;
      case PhysicalType::int64:
        if (lk == LogicalType::Kind::timestamp || e.converted_type == ConvertedType::timestamp_millis ||
            e.converted_type == ConvertedType::timestamp_micros) {
          if ((lk == LogicalType::Kind::timestamp && e.logical.unit != TimeUnit::millis) ||
              e.converted_type == ConvertedType::timestamp_micros)
            throw std::invalid_argument("column " + e.name + ": only millisecond timestamps are supported");
          f.kind = Kind::timestamp_ms;
        } else {
          f.kind = Kind::int64;
        }
        break;
      case PhysicalType::int32:
        f.kind = (lk == LogicalType::Kind::date || e.converted_type == ConvertedType::date) ? Kind::date : Kind::int32;
        break;
      case PhysicalType::float64: f.kind = Kind::float64; break;
      case PhysicalType::boolean: f.kind = Kind::boolean; break;
      default:
        throw std::invalid_argument("column " + e.name + ": physical type " +
                                    std::to_string(static_cast<int>(*e.type)) + " is not supported");
    }
    return f;
  }
  const int n = *e.num_children;
  const bool is_list = e.logical.kind == LogicalType::Kind::list || e.converted_type == ConvertedType::list;
  const bool is_map = e.logical.kind == LogicalType::Kind::map || e.converted_type == ConvertedType::map ||
                      e.converted_type == ConvertedType::map_key_value;
  if (is_list || is_map) {
    if (n != 1 || i >= el.size()) throw std::invalid_argument("column " + e.name + ": malformed LIST or MAP group");
    const SchemaElement& g = el[i++];
    if (g.repetition != Repetition::repeated || !g.num_children)
      throw std::invalid_argument("column " + e.name + ": only the three-level LIST and MAP layouts are supported");
    if (is_list) {
      if (*g.num_children != 1) throw std::invalid_argument("column " + e.name + ": a list element must be one field");
      f.kind = Kind::list;
      Field element = field_from_elements(el, i, depth + 1);
      element.name = "element";
      f.children.push_back(std::move(element));
    } else {
      if (*g.num_children != 2) throw std::invalid_argument("column " + e.name + ": a map entry must be key and value");
      f.kind = Kind::map;
      Field key = field_from_elements(el, i, depth + 1);
      if (key.kind != Kind::string || key.nullable)
        throw std::invalid_argument("column " + e.name + ": only required string map keys are supported");
      Field value = field_from_elements(el, i, depth + 1);
      value.name = "value";
      f.children.push_back(std::move(value));
    }
    return f;
  }
  f.kind = Kind::structure;
  for (int c = 0; c < n; ++c) f.children.push_back(field_from_elements(el, i, depth + 1));
  return f;
}

}  // namespace

ParquetSchema ParquetSchema::from_elements(const std::vector<SchemaElement>& elements) {
  if (elements.empty() || !elements[0].num_children)
    throw std::invalid_argument("the file's schema has no root group");
  Schema s;
  std::size_t i = 1;
  for (int c = 0; c < *elements[0].num_children; ++c) s.fields.push_back(field_from_elements(elements, i, 0));
  if (i != elements.size()) throw std::invalid_argument("the file's schema has elements outside its root");
  return ParquetSchema(std::move(s));
}

namespace {
template <class T>
void append_vector(std::vector<T>& to, const std::vector<T>& from) {
  // One row's worth (the common case: a staged row) without the range-insert machinery.
  if (from.size() <= 4) {
    for (const auto& v : from) to.push_back(v);
  } else {
    to.insert(to.end(), from.begin(), from.end());
  }
}
}  // namespace

void ColumnData::append(const ColumnData& o) {
  append_vector(def, o.def);
  append_vector(rep, o.rep);
  append_vector(i64, o.i64);
  append_vector(i32, o.i32);
  append_vector(f64, o.f64);
  append_vector(b, o.b);
  const auto base = static_cast<std::uint32_t>(bytes.size());
  bytes.append(o.bytes);
  for (auto e : o.ends) ends.push_back(base + e);
  entries += o.entries;
}

}  // namespace sw::lake::parquet
