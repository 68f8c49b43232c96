#include "lake/delta/log.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "lake/crash_points.h"
#include "lake/delta/schema.h"
#include "lake/json_shredder.h"
#include "lake/parquet/reader.h"
#include "lake/parquet/writer.h"

namespace sw::lake::delta {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string digits20(std::int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(v));
  return buf;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The checkpoint's columns, as Delta readers expect them (every field nullable).
Schema checkpoint_schema() {
  using F = Field;
  auto s = [](const char* n) { return F::primitive(n, Kind::string); };
  auto l = [](const char* n) { return F::primitive(n, Kind::int64); };
  auto b = [](const char* n) { return F::primitive(n, Kind::boolean); };
  auto string_map = [](const char* n) { return F::map_of(n, F::primitive("value", Kind::string, true)); };
  Schema schema;
  schema.fields.push_back(F::struct_of("txn", {s("appId"), l("version"), l("lastUpdated")}));
  schema.fields.push_back(F::struct_of(
      "add", {s("path"), string_map("partitionValues"), l("size"), l("modificationTime"), b("dataChange"), s("stats"),
              string_map("tags")}));
  schema.fields.push_back(F::struct_of("remove", {s("path"), l("deletionTimestamp"), b("dataChange"),
                                                   b("extendedFileMetadata"), string_map("partitionValues"), l("size")}));
  schema.fields.push_back(F::struct_of(
      "metaData", {s("id"), s("name"), s("description"), F::struct_of("format", {s("provider"), string_map("options")}),
                   s("schemaString"), F::list_of("partitionColumns", F::primitive("element", Kind::string, true)),
                   string_map("configuration"), l("createdTime")}));
  schema.fields.push_back(F::struct_of(
      "protocol", {F::primitive("minReaderVersion", Kind::int32), F::primitive("minWriterVersion", Kind::int32),
                   F::list_of("readerFeatures", F::primitive("element", Kind::string, true)),
                   F::list_of("writerFeatures", F::primitive("element", Kind::string, true))}));
  return schema;
}

std::shared_ptr<const parquet::ParquetSchema> checkpoint_parquet_schema() {
  static const auto schema = std::make_shared<const parquet::ParquetSchema>(checkpoint_schema());
  return schema;
}

bool schemas_match(const Metadata& a, const Metadata& b) {
  if (a.partition_columns != b.partition_columns) return false;
  try {
    return parse_schema_string(a.schema_string).same_shape(parse_schema_string(b.schema_string));
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

std::string version_path(std::int64_t v) { return std::string(kLogDir) + "/" + digits20(v) + ".json"; }
std::string checkpoint_path(std::int64_t v) { return std::string(kLogDir) + "/" + digits20(v) + ".checkpoint.parquet"; }

bool can_read(const Protocol& p, std::string& why) {
  if (p.min_reader_version <= 1) return true;
  if (p.min_reader_version == 3 && p.reader_features.empty()) return true;
  why = "the table needs Delta reader version " + std::to_string(p.min_reader_version);
  for (const auto& f : p.reader_features) why += (&f == &p.reader_features.front() ? " (" : ", ") + f;
  if (!p.reader_features.empty()) why += ")";
  why += "; this build reads version 1 tables";
  return false;
}

bool can_write(const Protocol& p, const Metadata& m, std::string& why) {
  if (!can_read(p, why)) return false;
  if (p.min_writer_version > 2) {
    why = "the table needs Delta writer version " + std::to_string(p.min_writer_version) + "; this build writes version 2";
    return false;
  }
  for (const auto& [k, v] : m.configuration)
    if (k.rfind("delta.constraints.", 0) == 0) {
      why = "the table has a CHECK constraint (" + k + "), which this writer cannot enforce";
      return false;
    }
  if (m.schema_string.find("delta.invariants") != std::string::npos) {
    why = "the table has column invariants, which this writer cannot enforce";
    return false;
  }
  return true;
}

std::error_code DeltaLog::read_version(std::int64_t version, Actions& out, std::string& error) {
  std::string text;
  if (auto ec = layer_.read(version_path(version), text)) return ec;
  if (!parse_json_lines(text, out, error)) {
    error = version_path(version) + ": " + error;
    return std::make_error_code(std::errc::bad_message);
  }
  return {};
}

std::error_code DeltaLog::write_version(std::int64_t version, const Actions& actions) {
  return layer_.put_if_absent(version_path(version), to_json_lines(actions));
}

std::error_code DeltaLog::read_checkpoint(std::int64_t version, int parts, Snapshot& out, std::string& error) {
  out = Snapshot{};
  std::vector<std::string> files;
  if (parts <= 1) {
    files.push_back(checkpoint_path(version));
  } else {
    for (int p = 1; p <= parts; ++p) {
      char buf[64];
      std::snprintf(buf, sizeof buf, ".checkpoint.%010d.%010d.parquet", p, parts);
      files.push_back(std::string(kLogDir) + "/" + digits20(version) + buf);
    }
  }
  Actions all;
  for (const auto& f : files) {
    parquet::ParquetReader reader;
    if (!reader.open(layer_, f, error)) {
      error = f + ": " + error;
      return std::make_error_code(std::errc::bad_message);
    }
    for (std::size_t g = 0; g < reader.metadata().row_groups.size(); ++g) {
      std::vector<nlohmann::ordered_json> rows;
      if (!reader.read_rows(g, rows, error)) {
        error = f + ": " + error;
        return std::make_error_code(std::errc::bad_message);
      }
      for (const auto& row : rows)
        for (const auto& [column, value] : row.items()) {
          if (value.is_null()) continue;
          static const std::set<std::string> kinds{"txn", "add", "remove", "metaData", "protocol"};
          if (!kinds.count(column)) continue;
          std::string e;
          if (!parse_action(nlohmann::json{{column, nlohmann::json::parse(value.dump())}}, all, e)) {
            error = f + ": " + e;
            return std::make_error_code(std::errc::bad_message);
          }
        }
    }
  }
  if (!all.protocol || !all.metadata) {
    error = checkpoint_path(version) + ": no protocol or metaData";
    return std::make_error_code(std::errc::bad_message);
  }
  out.apply(all);
  out.version = version;
  out.checkpoint_version = version;
  return {};
}

std::error_code DeltaLog::load(Snapshot& out, std::string& error) {
  out = Snapshot{};
  std::vector<fs::FileInfo> listing;
  if (auto ec = layer_.list(kLogDir, false, listing)) return ec;
  std::set<std::int64_t> commits;
  std::map<std::int64_t, std::pair<int, std::set<int>>> checkpoints;  // version -> (parts, parts seen)
  const std::string prefix = std::string(kLogDir) + "/";
  for (const auto& f : listing) {
    const std::string name = f.path.substr(prefix.size());
    if (name.size() < 21 || !all_digits(name.substr(0, 20)) || name[20] != '.') continue;
    const std::int64_t v = std::stoll(name.substr(0, 20));
    const std::string rest = name.substr(21);
    if (rest == "json") {
      commits.insert(v);
    } else if (rest == "checkpoint.parquet") {
      checkpoints[v] = {1, {1}};
    } else if (rest.size() == 40 && rest.rfind("checkpoint.", 0) == 0 && rest[21] == '.' &&
               rest.substr(32) == ".parquet" && all_digits(rest.substr(11, 10)) && all_digits(rest.substr(22, 10))) {
      const int part = std::stoi(rest.substr(11, 10)), parts = std::stoi(rest.substr(22, 10));
      auto& c = checkpoints[v];
      c.first = parts;
      c.second.insert(part);
    }
  }
  if (commits.empty() && checkpoints.empty()) return {};  // no table
  // The newest complete checkpoint that reads.
  std::int64_t base = -1;
  std::string checkpoint_errors;
  for (auto it = checkpoints.rbegin(); it != checkpoints.rend(); ++it) {
    const auto& [parts, seen] = it->second;
    if (static_cast<int>(seen.size()) != parts) continue;
    std::string e;
    if (read_checkpoint(it->first, parts, out, e)) {
      checkpoint_errors += e + "; ";
      continue;
    }
    base = it->first;
    break;
  }
  if (base < 0) {
    out = Snapshot{};
    if (!commits.count(0)) {
      error = "the log starts at version " + (commits.empty() ? std::string("?") : std::to_string(*commits.begin())) +
              " and no checkpoint could be read" + (checkpoint_errors.empty() ? "" : ": " + checkpoint_errors);
      return std::make_error_code(std::errc::bad_message);
    }
  }
  std::int64_t v = base + 1;
  for (; commits.count(v); ++v) {
    Actions a;
    if (auto ec = read_version(v, a, error)) return ec;
    out.apply(a);
    out.version = v;
  }
  if (!commits.empty() && *commits.rbegin() >= v) {
    error = "the log has a gap: version " + std::to_string(v) + " is missing before " + std::to_string(*commits.rbegin());
    return std::make_error_code(std::errc::bad_message);
  }
  if (out.version >= 0 && !out.has_metadata) {
    error = "the log has no metaData action";
    return std::make_error_code(std::errc::bad_message);
  }
  return {};
}

std::error_code DeltaLog::update(Snapshot& s, std::string& error) {
  if (s.version < 0) return load(s, error);
  for (;;) {
    Actions a;
    const auto ec = read_version(s.version + 1, a, error);
    if (ec == std::errc::no_such_file_or_directory) return {};
    if (ec) return ec;
    s.apply(a);
    ++s.version;
  }
}

std::error_code DeltaLog::write_checkpoint(const Snapshot& s, std::int64_t tombstone_retention_ms, std::string& error) {
  if (s.version < 0) return {};
  auto schema = checkpoint_parquet_schema();
  parquet::WriterOptions o;
  o.codec = parquet::Codec::snappy;  // what every Delta reader reads
  o.created_by = "streamwright lake (Delta checkpoint)";
  std::error_code ec;
  auto file = layer_.create(checkpoint_path(s.version), ec);
  if (ec) return ec;
  parquet::ParquetWriter writer(schema, o, std::move(file));
  JsonShredder shredder(schema);
  std::vector<parquet::ColumnData> staging(schema->leaves().size());
  std::int64_t rows = 0, adds = 0;
  auto row = [&](const nlohmann::json& action) -> bool {
    for (auto& c : staging) c.clear();
    if (!shredder.shred(action.dump(), staging, error)) return false;
    for (std::size_t i = 0; i < staging.size(); ++i) writer.column(i).append(staging[i]);
    writer.row_added();
    ++rows;
    return true;
  };
  bool ok = row(to_json(s.protocol)) && row(to_json(s.metadata));
  for (auto it = s.txns.begin(); ok && it != s.txns.end(); ++it) ok = row(to_json(it->second));
  for (auto it = s.files.begin(); ok && it != s.files.end(); ++it, ++adds) ok = row(to_json(it->second));
  const std::int64_t cutoff = now_ms() - tombstone_retention_ms;
  for (auto it = s.tombstones.begin(); ok && it != s.tombstones.end(); ++it)
    if (it->second.deletion_timestamp.value_or(0) >= cutoff) ok = row(to_json(it->second));
  if (!ok) {
    writer.abort();
    error = "checkpoint: " + error;
    return std::make_error_code(std::errc::bad_message);
  }
  parquet::FileSummary summary;
  if ((ec = writer.finish(summary))) return ec;
  crash::point(crash::kDuringCheckpoint);
  // _last_checkpoint only moves forward.
  std::string current;
  if (!layer_.read(kLastCheckpoint, current)) {
    const auto j = nlohmann::json::parse(current, nullptr, false);
    if (j.is_object() && j.value("version", std::int64_t{-1}) >= s.version) return {};
  }
  const nlohmann::json last = {{"version", s.version}, {"size", rows}, {"sizeInBytes", summary.bytes},
                               {"numOfAddFiles", adds}};
  return layer_.put(kLastCheckpoint, last.dump());
}

std::error_code commit(DeltaLog& log, Snapshot& s, const Commit& c, CommitResult& result, std::string& error,
                       const CommitOptions& options) {
  result = CommitResult{};
  for (;;) {
    if (++result.attempts > options.max_attempts) {
      error = "gave up after " + std::to_string(options.max_attempts) + " lost races";
      return std::make_error_code(std::errc::resource_unavailable_try_again);
    }
    // Expectations against the table as it is now.
    const bool create = s.version < 0;
    if (create && !c.table) {
      error = "the table does not exist";
      return std::make_error_code(std::errc::no_such_file_or_directory);
    }
    if (!create) {
      std::string why;
      if (!can_write(s.protocol, s.metadata, why)) {
        error = why;
        return std::make_error_code(std::errc::operation_not_supported);
      }
      if (c.table && !schemas_match(*c.table, s.metadata)) result.conflicts.push_back("schema");
    }
    for (const auto& t : c.txns)
      if (s.txn_version(t.app_id) != t.expected) result.conflicts.push_back(t.app_id);
    for (const auto& r : c.removes)
      if (!s.files.count(r.path)) result.conflicts.push_back(r.path);
    if (!result.conflicts.empty()) return {};

    Actions a;
    const std::int64_t now = now_ms();
    nlohmann::json info = c.commit_info;
    info["timestamp"] = now;
    a.commit_info = info;
    if (create) {
      a.protocol = c.protocol;
      Metadata m = *c.table;
      if (!m.created_time) m.created_time = now;
      a.metadata = std::move(m);
    }
    for (const auto& t : c.txns) a.txns.push_back(Txn{t.app_id, t.version, now});
    a.removes = c.removes;
    a.adds = c.adds;
    const std::int64_t v = s.version + 1;
    const auto ec = log.write_version(v, a);
    if (ec == std::errc::file_exists) {
      // Another writer took this version: catch up and check again.
      if (auto uec = log.update(s, error)) return uec;
      continue;
    }
    if (ec) return ec;
    s.apply(a);
    s.version = v;
    result.version = v;
    crash::point(crash::kAfterCommit);
    if (options.checkpoint_interval > 0 && v > 0 && v % options.checkpoint_interval == 0) {
      std::string e;
      if (const auto cec = log.write_checkpoint(s, options.tombstone_retention_ms, e))
        result.checkpoint_error = e.empty() ? cec.message() : e;
      else
        result.checkpointed = true;
    }
    return {};
  }
}

}  // namespace sw::lake::delta
