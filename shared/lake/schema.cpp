#include "lake/schema.h"

namespace sw::lake {

const char* to_string(Kind k) noexcept {
  switch (k) {
    case Kind::string: return "string";
    case Kind::int32: return "int32";
    case Kind::int64: return "int64";
    case Kind::float64: return "double";
    case Kind::boolean: return "boolean";
    case Kind::timestamp_ms: return "timestamp(ms, UTC)";
    case Kind::date: return "date";
    case Kind::list: return "list";
    case Kind::map: return "map";
    case Kind::structure: return "struct";
  }
  return "?";
}

bool same_shape(const Field& a, const Field& b) {
  if (a.name != b.name || a.kind != b.kind || a.nullable != b.nullable || a.children.size() != b.children.size())
    return false;
  for (std::size_t i = 0; i < a.children.size(); ++i) {
    // List elements and map values are named by convention only.
    if (a.kind == Kind::list || a.kind == Kind::map) {
      Field x = a.children[i], y = b.children[i];
      x.name = y.name = "";
      if (!same_shape(x, y)) return false;
    } else if (!same_shape(a.children[i], b.children[i])) {
      return false;
    }
  }
  return true;
}

const Field* Schema::find(const std::string& name) const {
  for (const auto& f : fields)
    if (f.name == name) return &f;
  return nullptr;
}

bool Schema::same_shape(const Schema& o) const {
  if (fields.size() != o.fields.size()) return false;
  for (std::size_t i = 0; i < fields.size(); ++i)
    if (!lake::same_shape(fields[i], o.fields[i])) return false;
  return true;
}

namespace {
std::string type_name(const Field& f) {
  switch (f.kind) {
    case Kind::list: return "list<" + type_name(f.children[0]) + (f.children[0].nullable ? "?" : "") + ">";
    case Kind::map: return "map<string, " + type_name(f.children[0]) + (f.children[0].nullable ? "?" : "") + ">";
    case Kind::structure: return "struct";
    default: return to_string(f.kind);
  }
}
void describe(const Field& f, int depth, std::string& out) {
  out.append(static_cast<std::size_t>(depth) * 2, ' ');
  out += f.name + ": " + type_name(f) + (f.nullable ? "" : " not null") + "\n";
  if (f.kind == Kind::structure)
    for (const auto& c : f.children) describe(c, depth + 1, out);
}
}  // namespace

std::string Schema::describe() const {
  std::string out;
  for (const auto& f : fields) lake::describe(f, 0, out);
  return out;
}

}  // namespace sw::lake
