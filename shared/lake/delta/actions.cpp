#include "lake/delta/actions.h"

namespace sw::lake::delta {

using J = nlohmann::json;

namespace {

J partition_values_json(const PartitionValues& pv) {
  J o = J::object();
  for (const auto& [k, v] : pv) o[k] = v ? J(*v) : J(nullptr);
  return o;
}

bool read_partition_values(const J& j, PartitionValues& out) {
  if (j.is_null()) return true;
  if (!j.is_object()) return false;
  for (const auto& [k, v] : j.items()) {
    if (v.is_null()) out[k] = std::nullopt;
    else if (v.is_string()) out[k] = v.get<std::string>();
    else return false;
  }
  return true;
}

std::optional<std::int64_t> opt_int(const J& o, const char* key) {
  const auto it = o.find(key);
  if (it == o.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

std::string str(const J& o, const char* key) {
  const auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool flag(const J& o, const char* key, bool dflt) {
  const auto it = o.find(key);
  return it != o.end() && it->is_boolean() ? it->get<bool>() : dflt;
}

std::map<std::string, std::string> string_map(const J& o, const char* key) {
  std::map<std::string, std::string> m;
  const auto it = o.find(key);
  if (it == o.end() || !it->is_object()) return m;
  for (const auto& [k, v] : it->items())
    if (v.is_string()) m[k] = v.get<std::string>();
  return m;
}

std::vector<std::string> string_list(const J& o, const char* key) {
  std::vector<std::string> v;
  const auto it = o.find(key);
  if (it == o.end() || !it->is_array()) return v;
  for (const auto& x : *it)
    if (x.is_string()) v.push_back(x.get<std::string>());
  return v;
}

}  // namespace

J to_json(const Add& a) {
  J j = {{"path", a.path},
         {"partitionValues", partition_values_json(a.partition_values)},
         {"size", a.size},
         {"modificationTime", a.modification_time},
         {"dataChange", a.data_change}};
  if (a.stats) j["stats"] = *a.stats;
  if (!a.tags.empty()) j["tags"] = a.tags;
  return J{{"add", j}};
}

J to_json(const Remove& r) {
  J j = {{"path", r.path}, {"dataChange", r.data_change}};
  if (r.deletion_timestamp) j["deletionTimestamp"] = *r.deletion_timestamp;
  if (r.extended_file_metadata) {
    j["extendedFileMetadata"] = true;
    j["partitionValues"] = partition_values_json(r.partition_values);
    if (r.size) j["size"] = *r.size;
  }
  return J{{"remove", j}};
}

J to_json(const Txn& t) {
  J j = {{"appId", t.app_id}, {"version", t.version}};
  if (t.last_updated) j["lastUpdated"] = *t.last_updated;
  return J{{"txn", j}};
}

J to_json(const Metadata& m) {
  J j = {{"id", m.id},
         {"format", {{"provider", m.format_provider}, {"options", m.format_options}}},
         {"schemaString", m.schema_string},
         {"partitionColumns", m.partition_columns},
         {"configuration", m.configuration}};
  if (m.name) j["name"] = *m.name;
  if (m.description) j["description"] = *m.description;
  if (m.created_time) j["createdTime"] = *m.created_time;
  return J{{"metaData", j}};
}

J to_json(const Protocol& p) {
  J j = {{"minReaderVersion", p.min_reader_version}, {"minWriterVersion", p.min_writer_version}};
  if (p.min_reader_version >= 3) j["readerFeatures"] = p.reader_features;
  if (p.min_writer_version >= 7) j["writerFeatures"] = p.writer_features;
  return J{{"protocol", j}};
}

std::string to_json_lines(const Actions& a) {
  std::string out;
  auto line = [&](const J& j) {
    out += j.dump();
    out += '\n';
  };
  if (a.commit_info) line(J{{"commitInfo", *a.commit_info}});
  if (a.protocol) line(to_json(*a.protocol));
  if (a.metadata) line(to_json(*a.metadata));
  for (const auto& t : a.txns) line(to_json(t));
  for (const auto& r : a.removes) line(to_json(r));
  for (const auto& x : a.adds) line(to_json(x));
  return out;
}

bool parse_action(const J& j, Actions& out, std::string& error) {
  if (!j.is_object() || j.size() != 1) {
    error = "an action must be an object with one key";
    return false;
  }
  const auto& [kind, body] = *j.items().begin();
  if (!body.is_object()) {
    ++out.other;  // e.g. a null column of a checkpoint row
    return true;
  }
  if (kind == "add") {
    Add a;
    a.path = str(body, "path");
    if (a.path.empty()) {
      error = "add without a path";
      return false;
    }
    if (body.contains("partitionValues") && !read_partition_values(body["partitionValues"], a.partition_values)) {
      error = "add " + a.path + ": bad partitionValues";
      return false;
    }
    a.size = opt_int(body, "size").value_or(0);
    a.modification_time = opt_int(body, "modificationTime").value_or(0);
    a.data_change = flag(body, "dataChange", true);
    if (body.contains("stats") && body["stats"].is_string()) a.stats = body["stats"].get<std::string>();
    a.tags = string_map(body, "tags");
    a.has_deletion_vector = body.contains("deletionVector") && !body["deletionVector"].is_null();
    out.adds.push_back(std::move(a));
  } else if (kind == "remove") {
    Remove r;
    r.path = str(body, "path");
    if (r.path.empty()) {
      error = "remove without a path";
      return false;
    }
    r.deletion_timestamp = opt_int(body, "deletionTimestamp");
    r.data_change = flag(body, "dataChange", true);
    r.extended_file_metadata = flag(body, "extendedFileMetadata", false);
    if (body.contains("partitionValues")) read_partition_values(body["partitionValues"], r.partition_values);
    r.size = opt_int(body, "size");
    out.removes.push_back(std::move(r));
  } else if (kind == "txn") {
    Txn t;
    t.app_id = str(body, "appId");
    const auto v = opt_int(body, "version");
    if (t.app_id.empty() || !v) {
      error = "txn without appId or version";
      return false;
    }
    t.version = *v;
    t.last_updated = opt_int(body, "lastUpdated");
    out.txns.push_back(std::move(t));
  } else if (kind == "metaData") {
    Metadata m;
    m.id = str(body, "id");
    if (body.contains("name") && body["name"].is_string()) m.name = body["name"].get<std::string>();
    if (body.contains("description") && body["description"].is_string())
      m.description = body["description"].get<std::string>();
    if (body.contains("format") && body["format"].is_object()) {
      m.format_provider = str(body["format"], "provider");
      m.format_options = string_map(body["format"], "options");
    }
    m.schema_string = str(body, "schemaString");
    if (m.schema_string.empty()) {
      error = "metaData without a schemaString";
      return false;
    }
    m.partition_columns = string_list(body, "partitionColumns");
    m.configuration = string_map(body, "configuration");
    m.created_time = opt_int(body, "createdTime");
    out.metadata = std::move(m);
  } else if (kind == "protocol") {
    Protocol p;
    const auto r = opt_int(body, "minReaderVersion"), w = opt_int(body, "minWriterVersion");
    if (!r || !w) {
      error = "protocol without minReaderVersion or minWriterVersion";
      return false;
    }
    p.min_reader_version = static_cast<int>(*r);
    p.min_writer_version = static_cast<int>(*w);
    p.reader_features = string_list(body, "readerFeatures");
    p.writer_features = string_list(body, "writerFeatures");
    out.protocol = std::move(p);
  } else if (kind == "commitInfo") {
    out.commit_info = body;
  } else {
    ++out.other;
  }
  return true;
}

bool parse_json_lines(std::string_view text, Actions& out, std::string& error) {
  std::size_t line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const J j = J::parse(line, nullptr, false);
    if (j.is_discarded()) {
      error = "line " + std::to_string(line_no) + " is not JSON";
      return false;
    }
    std::string e;
    if (!parse_action(j, out, e)) {
      error = "line " + std::to_string(line_no) + ": " + e;
      return false;
    }
  }
  return true;
}

void Snapshot::apply(const Actions& a) {
  if (a.protocol) protocol = *a.protocol;
  if (a.metadata) {
    metadata = *a.metadata;
    has_metadata = true;
  }
  for (const auto& t : a.txns) txns[t.app_id] = t;
  // Within one commit a path is either added or removed (the protocol forbids both), so order
  // between the two lists does not matter.
  for (const auto& r : a.removes) {
    files.erase(r.path);
    tombstones[r.path] = r;
  }
  for (const auto& x : a.adds) {
    tombstones.erase(x.path);
    files[x.path] = x;
  }
}

std::int64_t Snapshot::total_bytes() const {
  std::int64_t n = 0;
  for (const auto& [p, a] : files) n += a.size;
  return n;
}

std::int64_t num_records(const Add& a) {
  if (!a.stats) return -1;
  const J s = J::parse(*a.stats, nullptr, false);
  if (!s.is_object() || !s.contains("numRecords") || !s["numRecords"].is_number_integer()) return -1;
  return s["numRecords"].get<std::int64_t>();
}

std::int64_t Snapshot::total_records() const {
  std::int64_t n = 0;
  for (const auto& [p, a] : files) {
    const auto r = num_records(a);
    if (r < 0) return -1;
    n += r;
  }
  return n;
}

std::string encode_path(std::string_view path) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '.' || c == '~' || c == '/' || c == '=';
    if (keep) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string decode_path(std::string_view uri) {
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < uri.size(); ++i) {
    if (uri[i] == '%' && i + 2 < uri.size() && val(uri[i + 1]) >= 0 && val(uri[i + 2]) >= 0) {
      out += static_cast<char>(val(uri[i + 1]) * 16 + val(uri[i + 2]));
      i += 2;
    } else {
      out += uri[i];
    }
  }
  return out;
}

std::string escape_partition_value(std::string_view value) {
  // Hive's escaping of directory names (what Spark writes).
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    const bool escape = c < 0x20 || c == 0x7f || c == '"' || c == '#' || c == '%' || c == '\'' || c == '*' ||
                        c == '/' || c == ':' || c == '=' || c == '?' || c == '\\' || c == '{' || c == '[' ||
                        c == ']' || c == '^';
    if (escape) {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace sw::lake::delta
