#include "table_sink.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "lake/crash_points.h"
#include "lake/delta/schema.h"
#include "lake/delta/stats.h"

namespace sw::lake_sink {

namespace delta = lake::delta;
namespace parquet = lake::parquet;

namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* codec_suffix(parquet::Codec c) {
  switch (c) {
    case parquet::Codec::zstd: return "zstd";
    case parquet::Codec::snappy: return "snappy";
    default: return "";
  }
}

}  // namespace

TableSink::TableSink(const TableConfig& table, const SinkConfig& sink, metrics::Registry& registry, const TimeZone* zone)
    : table_(table), sink_(sink), layout_(table.schema, table.partitions) {
  topic_schema_ = std::make_shared<parquet::ParquetSchema>(layout_.topic_schema());
  file_schema_ = std::make_shared<parquet::ParquetSchema>(layout_.file_schema());
  shredder_ = std::make_unique<lake::JsonShredder>(topic_schema_, zone);
  fs_ = lake::fs::open(table.location);
  log_ = std::make_unique<delta::DeltaLog>(*fs_);
  writer_options_.codec = sink.codec;
  writer_options_.zstd_level = sink.zstd_level;
  writer_options_.row_group_bytes = sink.row_group_bytes;
  writer_options_.created_by = "streamwright-lake-sink";
  writer_options_.key_value_metadata.push_back({"streamwright.topic", table.topic});
  compressor_ = std::make_unique<parquet::Compressor>(sink.codec, sink.zstd_level);
  codec_suffix_ = codec_suffix(sink.codec);
  staging_.resize(topic_schema_->leaves().size());

  const auto l = metrics::labels({{"table", table.name}});
  rows_written_ = &registry.counter("lake_sink_rows_written_total", "Rows committed to the table", l);
  files_written_ = &registry.counter("lake_sink_files_written_total", "Parquet files committed to the table", l);
  bytes_written_ = &registry.counter("lake_sink_bytes_written_total", "Bytes of Parquet files committed to the table", l);
  committed_ = &registry.counter("lake_sink_commits_total", "Delta commits, by outcome",
                                 metrics::labels({{"table", table.name}, {"result", "committed"}}));
  conflicts_ = &registry.counter("lake_sink_commits_total", "Delta commits, by outcome",
                                 metrics::labels({{"table", table.name}, {"result", "conflict"}}));
  failures_ = &registry.counter("lake_sink_commits_total", "Delta commits, by outcome",
                                metrics::labels({{"table", table.name}, {"result", "failed"}}));
  lost_races_ = &registry.counter("lake_sink_lost_races_total",
                                  "Versions another writer created first (the commit went to a later one)", l);
  checkpoints_ = &registry.counter("lake_sink_checkpoints_total", "Delta checkpoints written", l);
  rejected_ = &registry.counter("lake_sink_rejected_records_total",
                                "Records that did not fit the table's schema (dead-lettered)", l);
  version_gauge_ = &registry.gauge("lake_sink_table_version", "The table's Delta version as this replica last saw it", l);
  pending_gauge_ = &registry.gauge("lake_sink_pending_rows", "Rows written to open files, not yet committed", l);
  open_files_gauge_ = &registry.gauge("lake_sink_open_files", "Parquet files being written", l);
  file_bytes_ = &registry.histogram("lake_sink_file_bytes", "Size of the committed Parquet files", l,
                                    {1 << 16, 1 << 18, 1 << 20, 4 << 20, 16 << 20, 64 << 20, 128 << 20, 256 << 20, 512 << 20});
}

TableSink::~TableSink() {
  for (auto& [k, f] : files_) f.writer->abort();
}

delta::Metadata TableSink::table_metadata() const {
  delta::Metadata m;
  m.id = lake::uuid4();
  m.name = table_.name;
  m.description = "Kafka topic " + table_.topic + ", written by streamwright-lake-sink";
  m.schema_string = delta::to_schema_string(layout_.table_schema());
  m.partition_columns = layout_.partition_names();
  m.configuration["delta.checkpointInterval"] = std::to_string(sink_.checkpoint_interval);
  return m;
}

void TableSink::open() {
  std::string error;
  if (auto ec = log_->load(snapshot_, error))
    throw std::runtime_error("table " + table_.location + ": cannot read its log: " + (error.empty() ? ec.message() : error));
  if (snapshot_.version < 0) {
    // Create the table now, so that readers find it (empty) before the first records arrive.
    // Another replica may create it at the same moment: then its version 0 is the table.
    delta::Actions a;
    a.protocol = delta::Protocol{};
    a.metadata = table_metadata();
    a.metadata->created_time = wall_ms();
    a.commit_info = nlohmann::json{{"timestamp", wall_ms()}, {"operation", "CREATE TABLE"},
                                   {"engineInfo", "streamwright-lake-sink"}};
    const auto ec = log_->write_version(0, a);
    if (!ec) {
      snapshot_.apply(a);
      snapshot_.version = 0;
      spdlog::info("table {}: created at {}", table_.name, table_.location);
    } else if (ec != std::errc::file_exists || log_->load(snapshot_, error)) {
      throw std::runtime_error("table " + table_.location + ": cannot create it: " + (error.empty() ? ec.message() : error));
    }
  }
  std::string why;
  if (!delta::can_write(snapshot_.protocol, snapshot_.metadata, why))
    throw std::runtime_error("table " + table_.location + ": " + why);
  const auto mine = table_metadata();
  if (snapshot_.metadata.partition_columns != mine.partition_columns)
    throw std::runtime_error("table " + table_.location + " is partitioned by [" +
                             [&] {
                               std::string s;
                               for (const auto& c : snapshot_.metadata.partition_columns) s += (s.empty() ? "" : ", ") + c;
                               return s;
                             }() +
                             "], not by what --partition-by gives for " + table_.topic + " (" +
                             lake::describe(table_.partitions) + ")");
  lake::Schema existing;
  try {
    existing = delta::parse_schema_string(snapshot_.metadata.schema_string);
  } catch (const std::exception& e) {
    throw std::runtime_error("table " + table_.location + ": " + e.what());
  }
  if (!existing.same_shape(layout_.table_schema()))
    throw std::runtime_error("table " + table_.location + " has another schema than " + table_.schema_source +
                             " gives:\n  table:\n" + existing.describe() + "  topic:\n" +
                             layout_.table_schema().describe() +
                             "(schema changes are not applied to existing tables; write to a new table)");
  version_gauge_->set(static_cast<double>(snapshot_.version));
  spdlog::info("table {}: version {}, {} files, topic {} ({}){}", table_.name, snapshot_.version,
               snapshot_.files.size(), table_.topic, table_.schema_source,
               table_.partitions.empty() ? "" : ", partitioned by " + lake::describe(table_.partitions));
}

bool TableSink::refresh(std::string& error) {
  if (auto ec = log_->update(snapshot_, error)) {
    if (error.empty()) error = ec.message();
    return false;
  }
  version_gauge_->set(static_cast<double>(snapshot_.version));
  return true;
}

Offset TableSink::assign(std::int32_t p, Offset start) {
  if (static_cast<std::size_t>(p) >= parts_.size()) parts_.resize(static_cast<std::size_t>(p) + 1);
  auto& st = parts_[p];
  st.assigned = true;
  st.expected = snapshot_.txn_version(app_id(p));
  st.start = start;
  st.next = -1;
  return st.expected ? Offset::at(*st.expected) : start;
}

void TableSink::unassign(std::int32_t p) {
  if (static_cast<std::size_t>(p) < parts_.size()) parts_[p] = PartitionState{};
}

std::vector<std::int32_t> TableSink::owned() const {
  std::vector<std::int32_t> out;
  for (std::size_t p = 0; p < parts_.size(); ++p)
    if (parts_[p].assigned) out.push_back(static_cast<std::int32_t>(p));
  return out;
}

TableSink::OpenFile* TableSink::file_for(const std::string& key, const std::vector<parquet::ColumnData>* row,
                                         std::string& reason) {
  auto it = files_.find(key);
  if (it != files_.end()) return &it->second;
  OpenFile f;
  if (row) f.values = layout_.values(*row);
  const std::string path = lake::data_file_path(layout_.directory(f.values), codec_suffix_);
  std::error_code ec;
  auto out = fs_->create(path, ec);
  if (!out) {
    reason = "cannot create " + fs_->root() + "/" + path + ": " + ec.message();
    return nullptr;
  }
  f.writer = std::make_unique<parquet::ParquetWriter>(file_schema_, writer_options_, std::move(out), compressor_.get());
  auto [pos, inserted] = files_.emplace(key, std::move(f));
  open_files_gauge_->set(static_cast<double>(files_.size()));
  return &pos->second;
}

TableSink::Take TableSink::add(std::int32_t p, std::int64_t offset, std::string_view value, std::string& reason) {
  if (!owns(p)) return Take::skipped;
  auto& st = parts_[p];
  // Never take an offset twice (a fetch from before a seek).
  if (st.next >= 0 ? offset < st.next : (st.expected && offset < *st.expected)) return Take::skipped;
  OpenFile* f = nullptr;
  if (!layout_.partitioned()) {
    f = file_for(std::string(), nullptr, reason);
    if (!f) return Take::failed;
    if (!shredder_->shred(value, f->writer->columns(), reason)) {
      rejected_->inc();
      advance(p, offset);
      return Take::rejected;
    }
  } else {
    for (auto& c : staging_) c.clear();
    if (!shredder_->shred(value, staging_, reason)) {
      rejected_->inc();
      advance(p, offset);
      return Take::rejected;
    }
    layout_.row_key(staging_, key_);
    f = file_for(key_, &staging_, reason);
    if (!f) return Take::failed;
    const auto& map = layout_.file_leaf();
    auto& cols = f->writer->columns();
    for (std::size_t i = 0; i < staging_.size(); ++i)
      if (map[i] >= 0) cols[static_cast<std::size_t>(map[i])].append(staging_[i]);
  }
  f->writer->row_added();
  if (++f->rows_since_check >= 1024) {
    f->rows_since_check = 0;
    if (auto ec = f->writer->maybe_flush()) {
      reason = "writing " + fs_->root() + "/" + f->writer->path() + ": " + ec.message();
      return Take::failed;
    }
  }
  ++pending_rows_;
  advance(p, offset);
  return Take::row;
}

void TableSink::advance(std::int32_t p, std::int64_t offset) {
  if (!owns(p)) return;
  parts_[p].next = offset + 1;
  if (!pending_) {
    pending_ = true;
    first_pending_ = Clock::now();
  }
}

bool TableSink::due(Clock::time_point now) const {
  if (!pending_) return false;
  if (now - first_pending_ >= sink_.max_file_age) return true;
  for (const auto& [k, f] : files_)
    if (f.writer->estimated_file_bytes() >= sink_.target_file_bytes) return true;
  return false;
}

std::size_t TableSink::buffered_bytes() const {
  std::size_t n = 0;
  for (const auto& [k, f] : files_) n += f.writer->buffered_bytes();
  return n;
}

std::size_t TableSink::flush_largest(std::error_code& ec) {
  OpenFile* largest = nullptr;
  std::size_t bytes = 0;
  for (auto& [k, f] : files_) {
    const auto b = f.writer->buffered_bytes();
    if (b > bytes) {
      bytes = b;
      largest = &f;
    }
  }
  if (!largest) return 0;
  ec = largest->writer->flush_row_group();
  return bytes;
}

void TableSink::update_gauges() {
  pending_gauge_->set(static_cast<double>(pending_rows_));
  open_files_gauge_->set(static_cast<double>(files_.size()));
  version_gauge_->set(static_cast<double>(snapshot_.version));
}

std::vector<kafka::TopicPartition> TableSink::rewind_positions() {
  std::vector<kafka::TopicPartition> out;
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    auto& st = parts_[i];
    if (!st.assigned) continue;
    const auto p = static_cast<std::int32_t>(i);
    st.expected = snapshot_.txn_version(app_id(p));
    st.next = -1;
    out.push_back({table_.topic, p, st.expected ? Offset::at(*st.expected) : st.start, {}});
  }
  return out;
}

std::vector<kafka::TopicPartition> TableSink::abort(bool delete_files) {
  for (auto& [k, f] : files_) f.writer->abort();
  files_.clear();
  if (delete_files) {
    for (const auto& path : finished_)
      if (auto ec = fs_->remove(path); ec && ec != std::errc::no_such_file_or_directory)
        spdlog::warn("table {}: cannot delete the uncommitted file {}: {} (vacuum removes it later)", table_.name, path,
                     ec.message());
  }
  finished_.clear();
  pending_ = false;
  pending_rows_ = 0;
  update_gauges();
  return rewind_positions();
}

TableSink::Outcome TableSink::roll() {
  Outcome out;
  if (!pending_) return out;
  const auto started = Clock::now();
  std::vector<delta::Add> adds;
  std::int64_t rows = 0;
  std::uint64_t bytes = 0;
  for (auto& [key, f] : files_) {
    parquet::FileSummary s;
    if (auto ec = f.writer->finish(s)) {
      out.status = Outcome::Status::failed;
      out.error = "finishing " + fs_->root() + "/" + f.writer->path() + ": " + ec.message();
      failures_->inc();
      out.positions = abort();
      return out;
    }
    finished_.push_back(s.path);
    lake::fs::FileInfo info;
    const std::int64_t mtime = fs_->stat(s.path, info) ? wall_ms() : info.modified_ms;
    delta::Add a;
    a.path = delta::encode_path(s.path);
    a.partition_values = f.values;
    a.size = static_cast<std::int64_t>(s.bytes);
    a.modification_time = mtime;
    a.data_change = true;
    a.stats = delta::stats_json(*file_schema_, s);
    adds.push_back(std::move(a));
    rows += s.rows;
    bytes += s.bytes;
    file_bytes_->observe(static_cast<double>(s.bytes));
  }
  files_.clear();
  lake::crash::point(lake::crash::kAfterFileWrite);

  delta::Commit c;
  c.adds = adds;
  c.table = table_metadata();
  std::vector<kafka::TopicPartition> progress;
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    const auto& st = parts_[i];
    if (!st.assigned || st.next < 0) continue;
    const auto p = static_cast<std::int32_t>(i);
    c.txns.push_back({app_id(p), st.expected, st.next});
    progress.push_back({table_.topic, p, Offset::at(st.next), {}});
  }
  c.commit_info = {{"operation", "STREAMING UPDATE"},
                   {"operationParameters", {{"outputMode", "Append"}, {"queryId", sink_.group_id}}},
                   {"engineInfo", "streamwright-lake-sink"},
                   {"isBlindAppend", true},
                   {"operationMetrics", {{"numFiles", std::to_string(adds.size())},
                                         {"numOutputRows", std::to_string(rows)},
                                         {"numOutputBytes", std::to_string(bytes)}}}};
  delta::CommitResult r;
  std::string error;
  delta::CommitOptions options;
  options.checkpoint_interval = sink_.checkpoint_interval;
  const auto ec = delta::commit(*log_, snapshot_, c, r, error, options);
  if (ec) {
    // Did it land anyway (an error after the version was created)? Only the log can say.
    std::string refresh_error;
    bool landed = false;
    const bool known = refresh(refresh_error);
    if (known && !adds.empty()) {
      landed = std::all_of(adds.begin(), adds.end(), [&](const delta::Add& a) { return snapshot_.files.count(a.path) > 0; });
    } else if (known) {
      landed = std::all_of(c.txns.begin(), c.txns.end(),
                           [&](const delta::TxnUpdate& t) { return snapshot_.txn_version(t.app_id) == t.version; });
    }
    if (!landed) {
      out.status = Outcome::Status::failed;
      out.error = "commit: " + (error.empty() ? ec.message() : error);
      failures_->inc();
      // Files are deleted only when the log could be read and does not list them.
      out.positions = abort(known);
      return out;
    }
    r.version = snapshot_.version;
    r.conflicts.clear();
  }
  if (r.version < 0) {
    std::string list;
    for (const auto& x : r.conflicts) list += (list.empty() ? "" : ", ") + x;
    out.status = Outcome::Status::conflict;
    out.error = "another writer committed " + list + " first";
    conflicts_->inc();
    out.positions = abort();
    return out;
  }
  if (r.attempts > 1) lost_races_->inc(static_cast<std::uint64_t>(r.attempts - 1));
  if (r.checkpointed) checkpoints_->inc();
  if (!r.checkpoint_error.empty())
    spdlog::warn("table {}: checkpoint at version {} failed (readers replay the JSON log instead): {}", table_.name,
                 r.version, r.checkpoint_error);
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    auto& st = parts_[i];
    if (!st.assigned || st.next < 0) continue;
    st.expected = st.next;
    st.next = -1;
  }
  finished_.clear();
  pending_ = false;
  pending_rows_ = 0;
  committed_->inc();
  rows_written_->inc(static_cast<std::uint64_t>(rows));
  files_written_->inc(adds.size());
  bytes_written_->inc(bytes);
  update_gauges();
  out.status = Outcome::Status::committed;
  out.version = r.version;
  out.positions = std::move(progress);
  spdlog::debug("table {}: version {}: {} files, {} rows, {} bytes in {} ms{}", table_.name, r.version, adds.size(), rows,
                bytes, std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count(),
                r.attempts > 1 ? " (after " + std::to_string(r.attempts - 1) + " lost races)" : "");
  return out;
}

}  // namespace sw::lake_sink
