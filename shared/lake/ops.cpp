#include "lake/ops.h"

#include <algorithm>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

#include "lake/delta/schema.h"
#include "lake/delta/stats.h"
#include "lake/parquet/reader.h"
#include "lake/parquet/writer.h"
#include "lake/table_layout.h"

namespace sw::lake::ops {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string human(std::int64_t bytes) {
  std::ostringstream s;
  if (bytes >= (1LL << 30)) s << std::fixed << std::setprecision(2) << static_cast<double>(bytes) / (1LL << 30) << " GiB";
  else if (bytes >= (1LL << 20)) s << std::fixed << std::setprecision(2) << static_cast<double>(bytes) / (1LL << 20) << " MiB";
  else if (bytes >= (1LL << 10)) s << std::fixed << std::setprecision(1) << static_cast<double>(bytes) / (1LL << 10) << " KiB";
  else s << bytes << " B";
  return s.str();
}

// The columns the files hold: the table's schema without its partition columns.
bool data_schema(const delta::Snapshot& s, Schema& out, std::string& error) {
  Schema table;
  try {
    table = delta::parse_schema_string(s.metadata.schema_string);
  } catch (const std::exception& e) {
    error = e.what();
    return false;
  }
  const std::set<std::string> parts(s.metadata.partition_columns.begin(), s.metadata.partition_columns.end());
  for (const auto& p : parts)
    if (!table.find(p)) {
      error = "partition column " + p + " is not in the schema";
      return false;
    }
  for (auto& f : table.fields)
    if (!parts.count(f.name)) out.fields.push_back(f);
  return true;
}

// Same names, kinds and nesting; nullability may differ (Spark writes every column nullable).
bool compatible(const Field& file, const Field& table, std::string& why, const std::string& where) {
  if (file.name != table.name && where.find("[]") == std::string::npos) {
    why = where + ": column " + file.name + " where the table has " + table.name;
    return false;
  }
  if (file.kind != table.kind) {
    why = where + ": " + to_string(file.kind) + " in the file, " + to_string(table.kind) + " in the table";
    return false;
  }
  if (file.children.size() != table.children.size()) {
    why = where + ": different nested fields";
    return false;
  }
  for (std::size_t i = 0; i < file.children.size(); ++i)
    if (!compatible(file.children[i], table.children[i], why, where + "." + table.children[i].name)) return false;
  return true;
}

bool compatible(const Schema& file, const Schema& table, std::string& why) {
  if (file.fields.size() != table.fields.size()) {
    std::string names;
    for (const auto& f : file.fields) names += (names.empty() ? "" : ", ") + f.name;
    why = std::to_string(file.fields.size()) + " columns (" + names + "), the table has " +
          std::to_string(table.fields.size());
    return false;
  }
  for (std::size_t i = 0; i < file.fields.size(); ++i)
    if (!compatible(file.fields[i], table.fields[i], why, table.fields[i].name)) return false;
  return true;
}

bool load(fs::FileLayer& layer, delta::Snapshot& s, std::string& error) {
  delta::DeltaLog log(layer);
  if (auto ec = log.load(s, error)) {
    if (error.empty()) error = ec.message();
    return false;
  }
  if (s.version < 0) {
    error = "no Delta table at " + layer.root() + " (no _delta_log)";
    return false;
  }
  std::string why;
  if (!delta::can_read(s.protocol, why)) {
    error = why;
    return false;
  }
  return true;
}

}  // namespace

std::chrono::milliseconds parse_retention(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 12) throw std::invalid_argument("invalid retention '" + text + "' (e.g. 7d, 36h, 90m)");
  const long long n = std::stoll(text.substr(0, i));
  const std::string unit = text.substr(i);
  long long ms = 0;
  if (unit == "d") ms = n * 86400000LL;
  else if (unit == "h") ms = n * 3600000LL;
  else if (unit == "m") ms = n * 60000LL;
  else if (unit == "s") ms = n * 1000LL;
  else if (unit == "ms") ms = n;
  else throw std::invalid_argument("invalid retention '" + text + "' (units: d, h, m, s, ms)");
  return std::chrono::milliseconds(ms);
}

nlohmann::json ValidateReport::to_json() const {
  return {{"version", version},
          {"checkpoint_version", checkpoint_version},
          {"min_reader_version", protocol.min_reader_version},
          {"min_writer_version", protocol.min_writer_version},
          {"partition_columns", partition_columns},
          {"files", files},
          {"rows", rows},
          {"bytes", bytes},
          {"txns", txns},
          {"schema", schema},
          {"problems", problems},
          {"ok", problems.empty()}};
}

void ValidateReport::print(std::ostream& out, const std::string& location) const {
  out << "table     " << location << "\n";
  out << "version   " << version;
  if (checkpoint_version >= 0) out << " (replayed from the checkpoint at " << checkpoint_version << ")";
  out << "\nprotocol  reader " << protocol.min_reader_version << ", writer " << protocol.min_writer_version << "\n";
  out << "files     " << files << "\nrows      " << rows << "\nbytes     " << bytes << " (" << human(bytes) << ")\n";
  if (!partition_columns.empty()) {
    out << "partitioned by";
    for (const auto& p : partition_columns) out << " " << p;
    out << "\n";
  }
  out << "schema\n";
  std::istringstream lines(schema);
  for (std::string line; std::getline(lines, line);) out << "  " << line << "\n";
  if (!txns.empty()) {
    out << "progress (txn appId = version)\n";
    for (const auto& [app, v] : txns) out << "  " << app << " = " << v << "\n";
  }
  if (problems.empty()) {
    out << "OK: every file is present, readable and as the log describes it\n";
  } else {
    out << problems.size() << " problem" << (problems.size() == 1 ? "" : "s") << ":\n";
    for (const auto& p : problems) out << "  " << p << "\n";
  }
}

ValidateReport validate(fs::FileLayer& layer, bool deep) {
  ValidateReport r;
  delta::Snapshot s;
  std::string error;
  if (!load(layer, s, error)) {
    r.problems.push_back(error);
    return r;
  }
  r.version = s.version;
  r.checkpoint_version = s.checkpoint_version;
  r.protocol = s.protocol;
  r.partition_columns = s.metadata.partition_columns;
  r.files = s.files.size();
  r.bytes = s.total_bytes();
  for (const auto& [app, t] : s.txns) r.txns[app] = t.version;
  Schema table, data;
  try {
    table = delta::parse_schema_string(s.metadata.schema_string);
    r.schema = table.describe();
  } catch (const std::exception& e) {
    r.problems.push_back(std::string("schema: ") + e.what());
    return r;
  }
  if (!data_schema(s, data, error)) {
    r.problems.push_back(error);
    return r;
  }
  for (const auto& [uri, add] : s.files) {
    const std::string path = delta::decode_path(uri);
    auto problem = [&](const std::string& what) { r.problems.push_back(path + ": " + what); };
    if (add.has_deletion_vector) problem("has a deletion vector (not supported)");
    for (const auto& p : s.metadata.partition_columns)
      if (!add.partition_values.count(p)) problem("no partition value for " + p);
    if (!fs::is_safe_relative_path(path)) {
      problem("not a path inside the table");
      continue;
    }
    fs::FileInfo info;
    if (auto ec = layer.stat(path, info)) {
      problem("missing (" + ec.message() + ")");
      continue;
    }
    if (static_cast<std::int64_t>(info.size) != add.size)
      problem("is " + std::to_string(info.size) + " bytes, the log says " + std::to_string(add.size));
    parquet::ParquetReader reader;
    std::string e;
    if (!reader.open(layer, path, e)) {
      problem("footer: " + e);
      continue;
    }
    std::string why;
    if (!compatible(reader.schema().schema(), data, why)) problem("schema differs from the table's: " + why);
    const auto logged = delta::num_records(add);
    if (logged >= 0 && logged != reader.num_rows())
      problem("holds " + std::to_string(reader.num_rows()) + " rows, the log says " + std::to_string(logged));
    r.rows += reader.num_rows();
    if (deep) {
      for (std::size_t g = 0; g < reader.metadata().row_groups.size(); ++g) {
        std::vector<nlohmann::ordered_json> rows;
        if (!reader.read_rows(g, rows, e)) {
          problem("row group " + std::to_string(g) + ": " + e);
          break;
        }
      }
    }
  }
  return r;
}

bool live_files(fs::FileLayer& layer, std::vector<std::string>& out, std::string& error) {
  delta::Snapshot s;
  if (!load(layer, s, error)) return false;
  out.clear();
  for (const auto& [uri, add] : s.files) out.push_back(delta::decode_path(uri));
  return true;
}

OptimizeReport optimize(fs::FileLayer& layer, const OptimizeOptions& o) {
  OptimizeReport r;
  delta::DeltaLog log(layer);
  delta::Snapshot s;
  if (!load(layer, s, r.error)) return r;
  std::string why;
  if (!delta::can_write(s.protocol, s.metadata, why)) {
    r.error = why;
    return r;
  }
  Schema data;
  if (!data_schema(s, data, r.error)) return r;
  const auto file_schema = std::make_shared<parquet::ParquetSchema>(data);
  const std::uint64_t small = o.small_file_bytes ? o.small_file_bytes : o.target_file_bytes / 2;

  // Small files by partition.
  std::map<delta::PartitionValues, std::vector<const delta::Add*>> groups;
  for (const auto& [uri, add] : s.files)
    if (static_cast<std::uint64_t>(add.size) < small && !add.has_deletion_vector) groups[add.partition_values].push_back(&add);

  std::vector<delta::Add> adds;
  std::vector<delta::Remove> removes;
  std::vector<std::string> written;
  auto cleanup = [&] {
    for (const auto& p : written) (void)layer.remove(p);
  };
  std::string partition_dir;
  parquet::Compressor compressor(o.codec, o.zstd_level);
  for (auto& [values, files] : groups) {
    if (files.size() < 2) continue;
    std::sort(files.begin(), files.end(), [](const delta::Add* a, const delta::Add* b) { return a->path < b->path; });
    // Bins of about the target size.
    std::vector<std::vector<const delta::Add*>> bins(1);
    std::uint64_t bin_bytes = 0;
    for (const auto* f : files) {
      if (!bins.back().empty() && bin_bytes + static_cast<std::uint64_t>(f->size) > o.target_file_bytes) {
        bins.emplace_back();
        bin_bytes = 0;
      }
      bins.back().push_back(f);
      bin_bytes += static_cast<std::uint64_t>(f->size);
    }
    // The directory of the partition, from one of its files.
    const std::string first = delta::decode_path(files.front()->path);
    const auto slash = first.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : first.substr(0, slash);
    for (const auto& bin : bins) {
      if (bin.size() < 2) continue;
      if (o.dry_run) {
        r.files_removed += bin.size();
        for (const auto* f : bin) r.bytes_removed += f->size;
        ++r.files_added;
        continue;
      }
      std::error_code ec;
      const std::string out_path =
          data_file_path(dir, o.codec == parquet::Codec::zstd ? "zstd" : o.codec == parquet::Codec::snappy ? "snappy" : "");
      auto out = layer.create(out_path, ec);
      if (!out) {
        r.error = "create " + out_path + ": " + ec.message();
        cleanup();
        return r;
      }
      parquet::WriterOptions wo;
      wo.codec = o.codec;
      wo.zstd_level = o.zstd_level;
      wo.created_by = "streamwright-lake optimize";
      parquet::ParquetWriter writer(file_schema, wo, std::move(out), &compressor);
      std::int64_t rows = 0;
      for (const auto* f : bin) {
        const std::string path = delta::decode_path(f->path);
        parquet::ParquetReader reader;
        std::string e;
        if (!reader.open(layer, path, e)) {
          r.error = path + ": " + e;
          writer.abort();
          cleanup();
          return r;
        }
        if (!reader.schema().schema().same_shape(data)) {
          // Column-level copying needs the same levels: a file written with other nullability
          // (another engine) is left as it is.
          if (!compatible(reader.schema().schema(), data, e)) {
            r.error = path + ": schema differs from the table's: " + e;
            writer.abort();
            cleanup();
            return r;
          }
        }
        for (std::size_t g = 0; g < reader.metadata().row_groups.size(); ++g) {
          for (std::size_t leaf = 0; leaf < file_schema->leaves().size(); ++leaf) {
            parquet::ColumnData col;
            if (!reader.read_column(g, leaf, col, e)) {
              r.error = path + ": " + e;
              writer.abort();
              cleanup();
              return r;
            }
            writer.column(leaf).append(col);
          }
          writer.rows_added(reader.metadata().row_groups[g].num_rows);
          rows += reader.metadata().row_groups[g].num_rows;
          if ((ec = writer.maybe_flush())) {
            r.error = "writing " + out_path + ": " + ec.message();
            cleanup();
            return r;
          }
        }
      }
      parquet::FileSummary summary;
      if ((ec = writer.finish(summary))) {
        r.error = "writing " + out_path + ": " + ec.message();
        cleanup();
        return r;
      }
      written.push_back(out_path);
      fs::FileInfo info;
      delta::Add a;
      a.path = delta::encode_path(out_path);
      a.partition_values = values;
      a.size = static_cast<std::int64_t>(summary.bytes);
      a.modification_time = layer.stat(out_path, info) ? now_ms() : info.modified_ms;
      a.data_change = false;
      a.stats = delta::stats_json(*file_schema, summary);
      adds.push_back(std::move(a));
      r.bytes_added += static_cast<std::int64_t>(summary.bytes);
      r.rows += rows;
      for (const auto* f : bin) {
        delta::Remove rm;
        rm.path = f->path;
        rm.deletion_timestamp = now_ms();
        rm.data_change = false;
        rm.extended_file_metadata = true;
        rm.partition_values = f->partition_values;
        rm.size = f->size;
        removes.push_back(std::move(rm));
        r.bytes_removed += f->size;
      }
    }
  }
  r.files_removed = o.dry_run ? r.files_removed : removes.size();
  r.files_added = o.dry_run ? r.files_added : adds.size();
  if (o.dry_run || adds.empty()) return r;
  delta::Commit c;
  c.adds = adds;
  c.removes = removes;
  c.commit_info = {{"operation", "OPTIMIZE"},
                   {"engineInfo", "streamwright-lake"},
                   {"isBlindAppend", false},
                   {"operationMetrics", {{"numRemovedFiles", std::to_string(removes.size())},
                                         {"numAddedFiles", std::to_string(adds.size())}}}};
  delta::CommitResult cr;
  std::string error;
  if (auto ec = delta::commit(log, s, c, cr, error)) {
    r.error = "commit: " + (error.empty() ? ec.message() : error);
    // The new files stay if the commit might have landed; vacuum removes them otherwise.
    return r;
  }
  if (cr.version < 0) {
    std::string list;
    for (const auto& x : cr.conflicts) list += (list.empty() ? "" : ", ") + x;
    r.error = "another writer removed files being compacted (" + list + "); nothing committed";
    cleanup();
    return r;
  }
  r.version = cr.version;
  return r;
}

VacuumReport vacuum(fs::FileLayer& layer, const VacuumOptions& o) {
  VacuumReport r;
  delta::Snapshot s;
  if (!load(layer, s, r.error)) return r;
  const std::int64_t cutoff = now_ms() - o.retain.count();
  std::set<std::string> keep;
  for (const auto& [uri, a] : s.files) keep.insert(delta::decode_path(uri));
  for (const auto& [uri, rm] : s.tombstones)
    if (rm.deletion_timestamp.value_or(0) >= cutoff) keep.insert(delta::decode_path(uri));
  std::vector<fs::FileInfo> all;
  if (auto ec = layer.list("", true, all)) {
    r.error = "listing " + layer.root() + ": " + ec.message();
    return r;
  }
  for (const auto& f : all) {
    // The log, and directories Delta reserves ('_' prefixes: _delta_log, _change_data, ...).
    bool reserved = false;
    for (std::size_t at = 0, slash; (slash = f.path.find('/', at)) != std::string::npos; at = slash + 1)
      reserved = reserved || f.path[at] == '_';
    const std::string name = f.path.substr(f.path.rfind('/') == std::string::npos ? 0 : f.path.rfind('/') + 1);
    const bool hidden = !name.empty() && (name[0] == '.' || name[0] == '_');
    // Temporaries a crashed writer left (data files, and commits that were never linked into
    // the log): hidden names ending in .tmp.
    const bool temporary = !name.empty() && name[0] == '.' && name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0;
    if ((reserved && !temporary) || (hidden && !temporary)) continue;
    if (keep.count(f.path)) continue;
    if (f.modified_ms >= cutoff) {
      ++r.kept_recent;
      continue;
    }
    if (!o.dry_run) {
      if (auto ec = layer.remove(f.path); ec && ec != std::errc::no_such_file_or_directory) {
        r.error = "deleting " + f.path + ": " + ec.message();
        return r;
      }
    }
    r.deleted.push_back(f.path);
    r.bytes += static_cast<std::int64_t>(f.size);
  }
  return r;
}

}  // namespace sw::lake::ops
