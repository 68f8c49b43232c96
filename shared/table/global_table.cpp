#include "table/global_table.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "metrics/metrics.h"

namespace sw::table {

using namespace std::chrono_literals;

TableSource TableSource::parse(const std::string& spec) {
  TableSource s;
  if (spec.rfind("topic:", 0) == 0) {
    s.kind = Kind::topic;
    s.location = spec.substr(6);
  } else {
    s.kind = Kind::file;
    s.location = spec.rfind("file:", 0) == 0 ? spec.substr(5) : spec;
  }
  if (s.location.empty()) throw std::invalid_argument("table source '" + spec + "' names no file or topic");
  return s;
}

std::string TableSource::describe() const { return (kind == Kind::topic ? "topic:" : "file:") + location; }

GlobalTableBase::GlobalTableBase(std::string name, TableSource source, ReloadPolicy policy,
                                 std::chrono::milliseconds check_interval)
    : name_(std::move(name)), source_(std::move(source)), policy_(policy), check_interval_(check_interval) {}

GlobalTableBase::~GlobalTableBase() { close(); }

void GlobalTableBase::note_miss() noexcept {
  misses_.fetch_add(1, std::memory_order_relaxed);
  if (miss_counter_) miss_counter_->inc();
}

void GlobalTableBase::open(const TableEnv& env) {
  if (open_) return;
  if (env.registry) {
    const auto l = metrics::labels({{"table", name_}});
    rows_gauge_ = &env.registry->gauge("streamwright_table_rows", "Rows in a global (dimension) table", l);
    reload_ok_ = &env.registry->counter("streamwright_table_reloads_total", "Global table loads, by result",
                                        metrics::labels({{"table", name_}, {"result", "ok"}}));
    reload_failed_ = &env.registry->counter("streamwright_table_reloads_total", "Global table loads, by result",
                                            metrics::labels({{"table", name_}, {"result", "failed"}}));
    rejected_counter_ = &env.registry->counter("streamwright_table_rejected_rows_total",
                                               "Global table rows skipped as invalid", l);
    miss_counter_ = &env.registry->counter("streamwright_table_lookup_misses_total",
                                           "Lookups (joins) that found no row", l);
  }
  if (source_.kind == TableSource::Kind::file) {
    std::string error;
    if (!load_file(error, true))
      throw std::runtime_error("table " + name_ + ": cannot load " + source_.location + ": " + error);
  } else {
    if (!env.open_topic)
      throw std::runtime_error("table " + name_ + ": a topic source needs Kafka (bootstrap servers)");
    feed_ = env.open_topic(source_.location, env.client_id + "-" + name_);
    std::uint64_t applied = 0;
    feed_->read_to_end([&](const RowFeed::Row& r) {
      ++applied;
      apply(r);
    });
    if (applied > 0) {
      ++reloads_;
      if (reload_ok_) reload_ok_->inc();
    }
  }
  open_ = true;
  update_gauges();
  spdlog::info("table {}: {} rows from {}", name_, size(), source_.describe());
}

void GlobalTableBase::close() {
  feed_.reset();
  open_ = false;
}

void GlobalTableBase::before_batch(TimestampMs now) {
  if (!open_) return;
  if (source_.kind == TableSource::Kind::file && policy_ == ReloadPolicy::every_batch) {
    // The uncached baseline: read and parse the whole file again, changed or not.
    std::string error;
    if (!load_file(error, true))
      spdlog::error("table {}: keeping {} rows; cannot reload {}: {}", name_, size(), source_.location, error);
    return;
  }
  maintain(now);
}

void GlobalTableBase::maintain(TimestampMs now) {
  if (!open_) return;
  if (source_.kind == TableSource::Kind::topic) {
    if (now >= next_check_) {
      std::uint64_t applied = 0;
      feed_->read_new([&](const RowFeed::Row& r) {
        ++applied;
        apply(r);
      });
      if (applied > 0) {
        ++reloads_;
        if (reload_ok_) reload_ok_->inc();
        update_gauges();
      }
      next_check_ = now + 50;  // new rows within ~50 ms, without a poll per batch
    }
    return;
  }
  if (now < next_check_) return;
  next_check_ = now + check_interval_.count();
  std::string error;
  if (!load_file(error, false))
    spdlog::error("table {}: keeping {} rows; cannot reload {}: {}", name_, size(), source_.location, error);
}

bool GlobalTableBase::load_file(std::string& error, bool force) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto stamp = fs::last_write_time(source_.location, ec);
  if (ec) return error = ec.message(), false;
  const auto size = fs::file_size(source_.location, ec);
  if (ec) return error = ec.message(), false;
  const std::int64_t ticks = stamp.time_since_epoch().count();
  if (!force && ticks == file_stamp_ && size == file_size_) return true;
  // A file that failed to load is retried only once it changes again (one error, not one per check).
  if (!force && ticks == failed_stamp_ && size == failed_size_) return true;
  failed_stamp_ = ticks;
  failed_size_ = size;
  std::ifstream in(source_.location, std::ios::binary);
  if (!in) return error = "cannot open the file", false;
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  begin_load();
  std::size_t rows = 0, bad = 0;
  std::string row_error, first_error;
  auto add = [&](const nlohmann::json& row) {
    ++rows;
    if (!row.is_object()) row_error = "a row is not a JSON object";
    else if (stage_row(row, row_error)) return;
    if (first_error.empty()) first_error = row_error;
    ++bad;
  };
  const auto first = text.find_first_not_of(" \t\r\n");
  try {
    if (first != std::string::npos && text[first] == '[') {
      const auto doc = nlohmann::json::parse(text);
      for (const auto& row : doc) add(row);
    } else {
      std::size_t pos = 0, line_no = 0;
      while (pos < text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        ++line_no;
        const std::string_view line(text.data() + pos, end - pos);
        pos = end + 1;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        try {
          add(nlohmann::json::parse(line));
        } catch (const nlohmann::json::exception& e) {
          throw std::runtime_error("line " + std::to_string(line_no) + ": " + e.what());
        }
      }
    }
  } catch (const std::exception& e) {
    // A file that is not JSON (or caught half-written) changes nothing; the next check retries.
    if (reload_failed_) reload_failed_->inc();
    return error = std::string("not a JSON array or JSON lines: ") + e.what(), false;
  }
  if (open_ && rows == bad && this->size() > 0 && !(ticks == empty_stamp_ && size == empty_size_)) {
    // An empty file replacing a table is more often a file caught mid-rewrite than a wish to
    // drop every row: it takes effect only if it is still the same at the next check.
    empty_stamp_ = ticks;
    empty_size_ = size;
    failed_stamp_ = 0;
    spdlog::warn("table {}: {} has no valid rows; keeping {} rows unless it is unchanged at the next check", name_,
                 source_.location, this->size());
    return true;
  }
  if (bad > 0) {
    rejected_ += bad;
    if (rejected_counter_) rejected_counter_->inc(bad);
    spdlog::warn("table {}: skipped {} of {} rows in {}; first problem: {}", name_, bad, rows, source_.location,
                 first_error);
  }
  publish_load();
  failed_stamp_ = 0;
  file_stamp_ = ticks;
  file_size_ = size;
  ++reloads_;
  if (reload_ok_) reload_ok_->inc();
  if (open_) spdlog::info("table {}: reloaded {} rows from {}", name_, this->size(), source_.location);
  update_gauges();
  return true;
}

void GlobalTableBase::apply(const RowFeed::Row& r) {
  if (r.deleted) {
    erase_row(r.key);
    return;
  }
  std::string error;
  const auto row = nlohmann::json::parse(r.value, nullptr, false);
  if (row.is_discarded() || !row.is_object() || !upsert_row(row, error)) {
    ++rejected_;
    if (rejected_counter_) rejected_counter_->inc();
    spdlog::warn("table {}: skipped record at {}: {}", name_, r.where,
                 row.is_discarded() ? "not JSON" : (row.is_object() ? error : "not a JSON object"));
  }
}

void GlobalTableBase::update_gauges() {
  if (rows_gauge_) rows_gauge_->set(static_cast<double>(size()));
}

}  // namespace sw::table
