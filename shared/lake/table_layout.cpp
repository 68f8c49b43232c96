#include "lake/table_layout.h"

#include <cstdio>
#include <random>
#include <stdexcept>

namespace sw::lake {

namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : (a - b + 1) / b; }

std::string format_date(std::int64_t days) {
  // Howard Hinnant's civil_from_days.
  days += 719468;
  const std::int64_t era = floor_div(days, 146097);
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  return buf;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

std::vector<PartitionColumn> parse_partition_spec(std::string_view spec, const Schema& data) {
  std::vector<PartitionColumn> out;
  if (trim(spec).empty()) return out;
  std::size_t i = 0;
  while (i <= spec.size()) {
    const auto comma = std::min(spec.find(',', i), spec.size());
    const std::string part = trim(spec.substr(i, comma - i));
    i = comma + 1;
    if (part.empty()) throw std::invalid_argument("empty partition column in '" + std::string(spec) + "'");
    PartitionColumn c;
    const auto colon = part.find(':');
    if (colon == std::string::npos) {
      c.name = c.source = part;
      c.transform = Transform::identity;
    } else {
      const std::string fn = part.substr(0, colon);
      c.source = part.substr(colon + 1);
      if (fn == "date") c.transform = Transform::date;
      else if (fn == "hour") c.transform = Transform::hour;
      else throw std::invalid_argument("partition column '" + part + "': unknown function '" + fn + "' (date or hour)");
      c.name = fn;
    }
    std::size_t leaf = 0;
    const Field* src = nullptr;
    for (const auto& f : data.fields) {
      if (f.name == c.source) {
        src = &f;
        break;
      }
      leaf += parquet::ParquetSchema::leaf_count(f);
    }
    if (!src) throw std::invalid_argument("partition column '" + part + "': the schema has no field '" + c.source + "'");
    c.source_leaf = leaf;
    if (c.transform == Transform::identity) {
      if (src->kind != Kind::string && src->kind != Kind::int64 && src->kind != Kind::boolean)
        throw std::invalid_argument("partition column '" + part + "': field " + c.source + " is a " + to_string(src->kind) +
                                    "; identity partitions take strings, integers or booleans (date:/hour: for timestamps)");
      c.kind = src->kind;
    } else {
      if (src->kind != Kind::timestamp_ms)
        throw std::invalid_argument("partition column '" + part + "': field " + c.source + " is not a timestamp");
      c.kind = c.transform == Transform::date ? Kind::date : Kind::int32;
    }
    for (const auto& o : out)
      if (o.name == c.name) throw std::invalid_argument("partition column '" + c.name + "' is given twice");
    if (c.transform != Transform::identity && data.find(c.name))
      throw std::invalid_argument("partition column '" + c.name + "' has the name of a data field");
    out.push_back(std::move(c));
  }
  return out;
}

std::string describe(const std::vector<PartitionColumn>& columns) {
  std::string s;
  for (const auto& c : columns) {
    if (!s.empty()) s += ",";
    s += c.transform == Transform::identity ? c.source : c.name + ":" + c.source;
  }
  return s;
}

TableLayout::TableLayout(Schema topic, std::vector<PartitionColumn> partitions)
    : topic_(std::move(topic)), partitions_(std::move(partitions)) {
  file_.additional_properties = topic_.additional_properties;
  int next = 0;
  for (const auto& f : topic_.fields) {
    bool partition = false;
    for (const auto& p : partitions_) partition = partition || (p.transform == Transform::identity && p.source == f.name);
    const auto n = parquet::ParquetSchema::leaf_count(f);
    for (std::size_t i = 0; i < n; ++i) file_leaf_.push_back(partition ? -1 : next++);
    if (!partition) file_.fields.push_back(f);
  }
  if (file_.fields.empty()) throw std::invalid_argument("every column would be a partition column");
}

Schema TableLayout::table_schema() const {
  Schema s = file_;
  for (const auto& p : partitions_) {
    Field f = Field::primitive(p.name, p.kind, true);
    if (p.transform == Transform::identity)
      if (const Field* src = topic_.find(p.source)) f.description = src->description;
    s.fields.push_back(std::move(f));
  }
  return s;
}

std::vector<std::string> TableLayout::partition_names() const {
  std::vector<std::string> n;
  for (const auto& p : partitions_) n.push_back(p.name);
  return n;
}

void TableLayout::row_key(const std::vector<parquet::ColumnData>& row, std::string& key) const {
  key.clear();
  for (const auto& p : partitions_) {
    const auto& c = row[p.source_leaf];
    if (c.values() == 0) {
      key.push_back('\0');
      continue;
    }
    key.push_back('\1');
    std::int64_t v = 0;
    switch (p.transform) {
      case Transform::date: v = floor_div(c.i64[0], 86400000); break;
      case Transform::hour: v = floor_div(c.i64[0], 3600000); break;
      case Transform::identity:
        if (p.kind == Kind::string) {
          const auto s = c.str(0);
          const auto n = static_cast<std::uint32_t>(s.size());
          key.append(reinterpret_cast<const char*>(&n), 4);
          key.append(s);
          continue;
        }
        v = p.kind == Kind::boolean ? c.b[0] : c.i64[0];
        break;
    }
    key.append(reinterpret_cast<const char*>(&v), 8);
  }
}

delta::PartitionValues TableLayout::values(const std::vector<parquet::ColumnData>& row) const {
  delta::PartitionValues out;
  for (const auto& p : partitions_) {
    const auto& c = row[p.source_leaf];
    if (c.values() == 0) {
      out[p.name] = std::nullopt;
      continue;
    }
    switch (p.transform) {
      case Transform::date: out[p.name] = format_date(floor_div(c.i64[0], 86400000)); break;
      case Transform::hour: {
        const std::int64_t h = floor_div(c.i64[0], 3600000);
        out[p.name] = std::to_string(h - floor_div(h, 24) * 24);
        break;
      }
      case Transform::identity:
        if (p.kind == Kind::string) out[p.name] = std::string(c.str(0));
        else if (p.kind == Kind::boolean) out[p.name] = c.b[0] ? "true" : "false";
        else out[p.name] = std::to_string(c.i64[0]);
        break;
    }
  }
  return out;
}

std::string TableLayout::directory(const delta::PartitionValues& values) const {
  std::string dir;
  for (const auto& p : partitions_) {
    const auto it = values.find(p.name);
    const bool null = it == values.end() || !it->second;
    if (!dir.empty()) dir += '/';
    dir += delta::escape_partition_value(p.name) + "=" +
           (null ? std::string("__HIVE_DEFAULT_PARTITION__") : delta::escape_partition_value(*it->second));
  }
  return dir;
}

std::string uuid4() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::uint64_t a = rng(), b = rng();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string data_file_path(const std::string& directory, std::string_view codec) {
  std::string name = "part-" + uuid4() + (codec.empty() ? "" : "." + std::string(codec)) + ".parquet";
  return directory.empty() ? name : directory + "/" + name;
}

}  // namespace sw::lake
