#include "lake/json_shredder.h"

#include <cmath>
#include <stdexcept>

#include "common/time.h"
#include "serde/json.h"

namespace sw::lake {

using parquet::ColumnData;
using parquet::ParquetSchema;
namespace od = simdjson::ondemand;

struct JsonShredder::Node {
  const Field* field = nullptr;
  std::string path;  // dotted, for reasons
  Kind kind = Kind::structure;
  bool nullable = false;
  bool required = false;
  bool additional = true;
  std::size_t first_leaf = 0, leaf_count = 0;
  std::uint16_t parent_def = 0;  // definition level of the enclosing group
  std::uint16_t def = 0;         // definition level when this node is present
  std::uint16_t rep_level = 0;   // lists and maps: repetition level of their elements
  std::vector<Node> children;    // struct: fields; list: element; map: key, value
  std::vector<std::uint8_t> seen;  // struct scratch: fields seen in the current object
};

namespace {

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

std::string format_number(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  std::string s = std::to_string(v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

struct JsonShredder::Impl {
  Node root;
  const TimeZone* zone = nullptr;
  const std::vector<parquet::Leaf>* leaves = nullptr;
  std::vector<ColumnData>* cols = nullptr;
  std::vector<ColumnData::Mark> marks;

  void build(Node& n, const Field* f, std::size_t& leaf, std::uint16_t parent_def, std::uint16_t rep,
             std::string path) {
    n.field = f;
    n.kind = f->kind;
    n.nullable = f->nullable;
    n.required = f->required;
    n.additional = f->additional_properties;
    n.path = std::move(path);
    n.parent_def = parent_def;
    n.def = static_cast<std::uint16_t>(parent_def + (f->nullable ? 1 : 0));
    n.first_leaf = leaf;
    n.leaf_count = ParquetSchema::leaf_count(*f);
    if (is_primitive(f->kind)) {
      ++leaf;
      return;
    }
    if (f->kind == Kind::structure) {
      n.children.resize(f->children.size());
      n.seen.resize(f->children.size());
      for (std::size_t i = 0; i < f->children.size(); ++i)
        build(n.children[i], &f->children[i], leaf, n.def, rep, n.path + "." + f->children[i].name);
      return;
    }
    n.rep_level = static_cast<std::uint16_t>(rep + 1);
    const auto inner_def = static_cast<std::uint16_t>(n.def + 1);  // the repeated group
    if (f->kind == Kind::list) {
      n.children.resize(1);
      build(n.children[0], &f->children[0], leaf, inner_def, n.rep_level, n.path + "[]");
      return;
    }
    static const Field kKey = Field::primitive("key", Kind::string, false);
    n.children.resize(2);
    build(n.children[0], &kKey, leaf, inner_def, n.rep_level, n.path + "{key}");
    build(n.children[1], &f->children[0], leaf, inner_def, n.rep_level, n.path + "{}");
  }

  // One entry per leaf under n, with definition level `def` (a null, or an empty list or map).
  void levels_only(const Node& n, std::uint16_t rep, std::uint16_t def) {
    for (std::size_t i = n.first_leaf; i < n.first_leaf + n.leaf_count; ++i) {
      const auto& leaf = (*leaves)[i];
      auto& c = (*cols)[i];
      if (leaf.max_def > 0) c.def.push_back(def);
      if (leaf.max_rep > 0) c.rep.push_back(rep);
      ++c.entries;
    }
  }

  ColumnData& present(const Node& n, std::uint16_t rep) {
    const auto& leaf = (*leaves)[n.first_leaf];
    auto& c = (*cols)[n.first_leaf];
    if (leaf.max_def > 0) c.def.push_back(n.def);
    if (leaf.max_rep > 0) c.rep.push_back(rep);
    ++c.entries;
    return c;
  }

  static bool fail(std::string& error, std::string text) {
    error = std::move(text);
    return false;
  }
  static bool malformed(std::string& error, simdjson::error_code e) {
    return fail(error, std::string("malformed JSON: ") + json::describe(e));
  }

  bool check_range(const Node& n, double v, std::string& error) {
    const auto& c = n.field->constraints;
    const bool low = c.minimum && (c.exclusive_minimum ? v <= *c.minimum : v < *c.minimum);
    const bool high = c.maximum && (c.exclusive_maximum ? v >= *c.maximum : v > *c.maximum);
    if (!low && !high) return true;
    return fail(error, "field " + n.path + " is out of range " + (c.exclusive_minimum ? "(" : "[") +
                           (c.minimum ? format_number(*c.minimum) : "-inf") + ", " +
                           (c.maximum ? format_number(*c.maximum) : "inf") + (c.exclusive_maximum ? ")" : "]"));
  }

  bool check_string(const Node& n, std::string_view s, std::string& error) {
    const auto& c = n.field->constraints;
    if (c.empty()) return true;
    if (!c.enumeration.empty()) {
      bool ok = false;
      for (const auto& e : c.enumeration) ok = ok || e == s;
      if (!ok) {
        std::string list;
        for (const auto& e : c.enumeration) list += (list.empty() ? "" : ", ") + e;
        return fail(error, "field " + n.path + " is not one of " + list);
      }
    }
    if (c.min_length || c.max_length) {
      const auto len = utf8_length(s);
      if (c.min_length && len < *c.min_length)
        return fail(error, len == 0 ? "field " + n.path + " is empty"
                                    : "field " + n.path + " is shorter than " + std::to_string(*c.min_length) +
                                          " characters");
      if (c.max_length && len > *c.max_length)
        return fail(error, "field " + n.path + " is longer than " + std::to_string(*c.max_length) + " characters");
    }
    return true;
  }

  bool value(Node& n, od::value v, std::uint16_t rep, std::string& error) {
    od::json_type t;
    if (auto e = v.type().get(t)) return malformed(error, e);
    if (t == od::json_type::null) {
      bool is_null = false;
      if (auto e = v.is_null().get(is_null)) return malformed(error, e);
      if (!n.nullable) return fail(error, "field " + n.path + " is null");
      levels_only(n, rep, n.parent_def);
      return true;
    }
    switch (n.kind) {
      case Kind::string: {
        std::string_view s;
        if (t == od::json_type::string) {
          if (auto e = v.get_string().get(s)) return malformed(error, e);
        } else if (t == od::json_type::number && n.field->integer_as_string) {
          od::number_type nt;
          if (auto e = v.get_number_type().get(nt)) return malformed(error, e);
          if (nt == od::number_type::floating_point_number)
            return fail(error, "field " + n.path + " is a number but not an integer");
          s = v.raw_json_token();
          while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
            s.remove_suffix(1);
        } else {
          return fail(error, "field " + n.path +
                                 (n.field->integer_as_string ? " is not a string or an integer" : " is not a string"));
        }
        if (!check_string(n, s, error)) return false;
        present(n, rep).push_str(s);
        return true;
      }
      case Kind::int64:
      case Kind::int32: {
        if (t != od::json_type::number) return fail(error, "field " + n.path + " is not an integer");
        std::int64_t x = 0;
        if (v.get_int64().get(x)) {
          od::number_type nt;
          if (!v.get_number_type().get(nt) && nt == od::number_type::floating_point_number)
            return fail(error, "field " + n.path + " is not an integer");
          return fail(error, "field " + n.path + " is out of the 64-bit integer range");
        }
        if (!check_range(n, static_cast<double>(x), error)) return false;
        if (n.kind == Kind::int32) {
          if (x < INT32_MIN || x > INT32_MAX) return fail(error, "field " + n.path + " is out of the 32-bit integer range");
          present(n, rep).i32.push_back(static_cast<std::int32_t>(x));
        } else {
          present(n, rep).i64.push_back(x);
        }
        return true;
      }
      case Kind::float64: {
        if (t != od::json_type::number) return fail(error, "field " + n.path + " is not a number");
        double d = 0;
        if (v.get_double().get(d)) return fail(error, "field " + n.path + " is not a finite number");
        if (!std::isfinite(d)) return fail(error, "field " + n.path + " is not a finite number");
        if (!check_range(n, d, error)) return false;
        present(n, rep).f64.push_back(d);
        return true;
      }
      case Kind::boolean: {
        if (t != od::json_type::boolean) return fail(error, "field " + n.path + " is not a boolean");
        bool b = false;
        if (auto e = v.get_bool().get(b)) return malformed(error, e);
        present(n, rep).b.push_back(b ? 1 : 0);
        return true;
      }
      case Kind::timestamp_ms:
      case Kind::date: {
        TimestampMs ts = 0;
        TimeParseError pe = TimeParseError::none;
        if (t == od::json_type::string) {
          std::string_view s;
          if (auto e = v.get_string().get(s)) return malformed(error, e);
          pe = parse_timestamp(s, ts, zone);
        } else if (t == od::json_type::number) {
          std::int64_t x = 0;
          if (v.get_int64().get(x))
            return fail(error, "bad timestamp: field " + n.path + ": a number must be integer epoch seconds or milliseconds");
          pe = epoch_to_event_time(x, ts);
        } else {
          return fail(error, "field " + n.path + " is not a timestamp");
        }
        if (pe != TimeParseError::none) return fail(error, "bad timestamp: field " + n.path + ": " + to_string(pe));
        if (n.kind == Kind::date) {
          const std::int64_t days = ts >= 0 ? ts / 86400000 : (ts - 86399999) / 86400000;
          present(n, rep).i32.push_back(static_cast<std::int32_t>(days));
        } else {
          present(n, rep).i64.push_back(ts);
        }
        return true;
      }
      case Kind::list: {
        if (t != od::json_type::array) return fail(error, "field " + n.path + " is not an array");
        od::array arr;
        if (auto e = v.get_array().get(arr)) return malformed(error, e);
        std::size_t count = 0;
        for (auto er : arr) {
          od::value ev;
          if (auto e = std::move(er).get(ev)) return malformed(error, e);
          if (!value(n.children[0], ev, count == 0 ? rep : n.rep_level, error)) return false;
          ++count;
        }
        if (count == 0) levels_only(n, rep, n.def);
        const auto& c = n.field->constraints;
        if (c.min_items && count < *c.min_items)
          return fail(error, "field " + n.path + " has fewer than " + std::to_string(*c.min_items) + " items");
        if (c.max_items && count > *c.max_items)
          return fail(error, "field " + n.path + " has more than " + std::to_string(*c.max_items) + " items");
        return true;
      }
      case Kind::map: {
        if (t != od::json_type::object) return fail(error, "field " + n.path + " is not an object");
        od::object obj;
        if (auto e = v.get_object().get(obj)) return malformed(error, e);
        std::size_t count = 0;
        for (auto fr : obj) {
          od::field f;
          if (auto e = std::move(fr).get(f)) return malformed(error, e);
          std::string_view key;
          if (auto e = f.unescaped_key().get(key)) return malformed(error, e);
          const auto r = count == 0 ? rep : n.rep_level;
          present(n.children[0], r).push_str(key);
          if (!value(n.children[1], f.value(), r, error)) return false;
          ++count;
        }
        if (count == 0) levels_only(n, rep, n.def);
        return true;
      }
      case Kind::structure: {
        if (t != od::json_type::object) return fail(error, "field " + n.path + " is not an object");
        od::object obj;
        if (auto e = v.get_object().get(obj)) return malformed(error, e);
        return fields(n, obj, rep, error);
      }
    }
    return fail(error, "unsupported column kind");
  }

  bool fields(Node& n, od::object obj, std::uint16_t rep, std::string& error) {
    std::fill(n.seen.begin(), n.seen.end(), 0);
    std::size_t next = 0;
    for (auto fr : obj) {
      od::field f;
      if (auto e = std::move(fr).get(f)) return malformed(error, e);
      std::string_view key;
      if (auto e = f.unescaped_key().get(key)) return malformed(error, e);
      // Records usually list their fields in the schema's order: try the next one first.
      std::size_t i = next;
      if (i >= n.children.size() || n.children[i].field->name != key) {
        i = 0;
        while (i < n.children.size() && n.children[i].field->name != key) ++i;
      }
      next = i + 1;
      if (i == n.children.size()) {
        if (!n.additional)
          return fail(error, "unknown field " + (n.path.empty() ? std::string(key) : n.path + "." + std::string(key)));
        if (auto e = json::validate(f.value())) return malformed(error, e);
        continue;
      }
      if (n.seen[i]) return fail(error, "duplicate field " + n.children[i].path);
      n.seen[i] = 1;
      if (!value(n.children[i], f.value(), rep, error)) return false;
    }
    for (std::size_t i = 0; i < n.children.size(); ++i) {
      if (n.seen[i]) continue;
      const Node& c = n.children[i];
      if (c.required || !c.nullable) return fail(error, "missing field " + c.path);
      levels_only(c, rep, c.parent_def);
    }
    return true;
  }
};

namespace {

// Whether a document that is not an object is valid JSON (an array or a scalar), to tell
// "not a JSON object" from "malformed JSON".
bool valid_non_object(std::string_view text) {
  od::document doc;
  if (json::thread_parser().parse(text, doc)) return false;
  od::json_type t;
  if (doc.type().get(t)) return false;
  bool ok = false;
  switch (t) {
    case od::json_type::array: {
      od::array arr;
      if (doc.get_array().get(arr)) return false;
      ok = true;
      for (auto er : arr) {
        od::value v;
        if (std::move(er).get(v) || json::validate(v)) return false;
      }
      break;
    }
    case od::json_type::string: {
      std::string_view s;
      ok = !doc.get_string().get(s);
      break;
    }
    case od::json_type::number: {
      double d;
      ok = !doc.get_double().get(d);
      break;
    }
    case od::json_type::boolean: {
      bool b;
      ok = !doc.get_bool().get(b);
      break;
    }
    case od::json_type::null: {
      bool n = false;
      ok = !doc.is_null().get(n) && n;
      break;
    }
    default:
      return false;
  }
  const char* trailing = nullptr;
  return ok && doc.current_location().get(trailing) != simdjson::SUCCESS;
}

}  // namespace

JsonShredder::JsonShredder(std::shared_ptr<const ParquetSchema> schema, const TimeZone* default_zone)
    : schema_(std::move(schema)), impl_(std::make_unique<Impl>()) {
  impl_->zone = default_zone;
  impl_->leaves = &schema_->leaves();
  Node& root = impl_->root;
  root.kind = Kind::structure;
  root.additional = schema_->schema().additional_properties;
  const auto& fields = schema_->schema().fields;
  root.children.resize(fields.size());
  root.seen.resize(fields.size());
  std::size_t leaf = 0;
  for (std::size_t i = 0; i < fields.size(); ++i) impl_->build(root.children[i], &fields[i], leaf, 0, 0, fields[i].name);
  impl_->marks.resize(schema_->leaves().size());
}

JsonShredder::~JsonShredder() = default;

bool JsonShredder::shred(std::string_view text, std::vector<ColumnData>& columns, std::string& error) {
  if (columns.size() != schema_->leaves().size()) throw std::logic_error("JsonShredder: column count mismatch");
  auto& im = *impl_;
  im.cols = &columns;
  for (std::size_t i = 0; i < columns.size(); ++i) im.marks[i] = columns[i].mark();
  auto rollback = [&] {
    for (std::size_t i = 0; i < columns.size(); ++i) columns[i].rollback(im.marks[i]);
    return false;
  };
  od::document doc;
  if (auto e = json::thread_parser().parse(text, doc)) {
    error = std::string("malformed JSON: ") + json::describe(e);
    return false;
  }
  od::object obj;
  if (auto e = doc.get_object().get(obj)) {
    error = e == simdjson::INCORRECT_TYPE && valid_non_object(text) ? std::string("not a JSON object")
                                                                    : std::string("malformed JSON: ") + json::describe(e);
    return false;
  }
  if (!im.fields(im.root, obj, 0, error)) return rollback();
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) == simdjson::SUCCESS) {
    error = "malformed JSON: trailing content";
    return rollback();
  }
  return true;
}

}  // namespace sw::lake
