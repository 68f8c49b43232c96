#include "lake/parquet/writer.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>

#include "lake/crash_points.h"
#include "lake/parquet/encoding.h"

namespace sw::lake::parquet {

namespace {

constexpr char kMagic[] = "PAR1";

template <class T>
std::string plain_bytes(T v) {
  std::string s;
  plain_put(s, v);
  return s;
}

void put_u32_at(std::string& s, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
}

ColumnStatistics compute_stats(const ColumnData& d, const Leaf& leaf, std::size_t stats_max_bytes) {
  ColumnStatistics s;
  s.values = static_cast<std::int64_t>(d.values());
  s.null_count = static_cast<std::int64_t>(d.entries) - s.values;
  switch (leaf.kind) {
    case Kind::int64:
    case Kind::timestamp_ms:
      if (!d.i64.empty()) {
        const auto [mn, mx] = std::minmax_element(d.i64.begin(), d.i64.end());
        s.min_i = *mn;
        s.max_i = *mx;
        s.has_min_max = true;
      }
      break;
    case Kind::int32:
    case Kind::date:
      if (!d.i32.empty()) {
        const auto [mn, mx] = std::minmax_element(d.i32.begin(), d.i32.end());
        s.min_i = *mn;
        s.max_i = *mx;
        s.has_min_max = true;
      }
      break;
    case Kind::boolean:
      if (!d.b.empty()) {
        const auto [mn, mx] = std::minmax_element(d.b.begin(), d.b.end());
        s.min_i = *mn ? 1 : 0;
        s.max_i = *mx ? 1 : 0;
        s.has_min_max = true;
      }
      break;
    case Kind::float64: {
      bool any = false;
      for (double v : d.f64) {
        if (std::isnan(v)) continue;  // NaN has no place in min/max
        if (!any || v < s.min_f) s.min_f = v;
        if (!any || v > s.max_f) s.max_f = v;
        any = true;
      }
      s.has_min_max = any;
      break;
    }
    case Kind::string: {
      const std::size_t n = d.ends.size();
      if (n == 0) break;
      std::string_view mn = d.str(0), mx = mn;
      bool too_long = mn.size() > stats_max_bytes;
      for (std::size_t i = 1; i < n && !too_long; ++i) {
        const auto v = d.str(i);
        if (v.size() > stats_max_bytes) too_long = true;
        if (v < mn) mn = v;
        if (v > mx) mx = v;
      }
      s.strings_too_long = too_long;
      if (!too_long) {
        s.min_s.assign(mn);
        s.max_s.assign(mx);
        s.has_min_max = true;
      }
      break;
    }
    default:
      break;
  }
  return s;
}

Statistics to_thrift(const ColumnStatistics& s, Kind kind) {
  Statistics t;
  t.null_count = s.null_count;
  if (!s.has_min_max) return t;
  switch (kind) {
    case Kind::int64:
    case Kind::timestamp_ms:
      t.min_value = plain_bytes<std::int64_t>(s.min_i);
      t.max_value = plain_bytes<std::int64_t>(s.max_i);
      break;
    case Kind::int32:
    case Kind::date:
      t.min_value = plain_bytes<std::int32_t>(static_cast<std::int32_t>(s.min_i));
      t.max_value = plain_bytes<std::int32_t>(static_cast<std::int32_t>(s.max_i));
      break;
    case Kind::boolean:
      t.min_value = std::string(1, static_cast<char>(s.min_i));
      t.max_value = std::string(1, static_cast<char>(s.max_i));
      break;
    case Kind::float64:
      // As the format recommends: a zero minimum is written as -0.0, a zero maximum as +0.0.
      t.min_value = plain_bytes<double>(s.min_f == 0 ? -0.0 : s.min_f);
      t.max_value = plain_bytes<double>(s.max_f == 0 ? 0.0 : s.max_f);
      break;
    case Kind::string:
      t.min_value = s.min_s;
      t.max_value = s.max_s;
      break;
    default:
      break;
  }
  return t;
}

}  // namespace

void ColumnStatistics::merge(const ColumnStatistics& o, Kind kind) {
  null_count += o.null_count;
  values += o.values;
  if (o.strings_too_long || strings_too_long) {
    strings_too_long = true;
    has_min_max = false;
    min_s.clear();
    max_s.clear();
    return;
  }
  if (!o.has_min_max) return;
  if (!has_min_max) {
    has_min_max = true;
    min_i = o.min_i;
    max_i = o.max_i;
    min_f = o.min_f;
    max_f = o.max_f;
    min_s = o.min_s;
    max_s = o.max_s;
    return;
  }
  if (kind == Kind::float64) {
    min_f = std::min(min_f, o.min_f);
    max_f = std::max(max_f, o.max_f);
  } else if (kind == Kind::string) {
    if (o.min_s < min_s) min_s = o.min_s;
    if (o.max_s > max_s) max_s = o.max_s;
  } else {
    min_i = std::min(min_i, o.min_i);
    max_i = std::max(max_i, o.max_i);
  }
}

ParquetWriter::ParquetWriter(std::shared_ptr<const ParquetSchema> schema, WriterOptions options,
                             std::unique_ptr<fs::OutputFile> out, Compressor* shared)
    : schema_(std::move(schema)), options_(std::move(options)), out_(std::move(out)), compressor_(shared) {
  if (!out_) throw std::invalid_argument("ParquetWriter: no output file");
  if (options_.page_bytes == 0 || options_.row_group_bytes == 0)
    throw std::invalid_argument("ParquetWriter: page and row-group sizes must be positive");
  if (!compressor_) {
    own_compressor_ = std::make_unique<Compressor>(options_.codec, options_.zstd_level);
    compressor_ = own_compressor_.get();
  } else if (compressor_->codec() != options_.codec) {
    throw std::invalid_argument("ParquetWriter: the shared compressor has another codec");
  }
  const auto& leaves = schema_->leaves();
  columns_.resize(leaves.size());
  file_stats_.resize(leaves.size());
  meta_.version = 1;
  meta_.schema = schema_->elements();
  meta_.created_by = options_.created_by;
  meta_.key_value_metadata = options_.key_value_metadata;
  meta_.type_defined_column_orders = leaves.size();
  if (out_->append(std::string_view(kMagic, 4))) failed_ = true;
}

ParquetWriter::~ParquetWriter() {
  if (!finished_) abort();
}

std::size_t ParquetWriter::buffered_bytes() const noexcept {
  std::size_t n = 0;
  for (const auto& c : columns_) n += c.estimated_bytes();
  return n;
}

std::uint64_t ParquetWriter::file_bytes() const noexcept { return out_ ? out_->size() : 0; }

std::uint64_t ParquetWriter::estimated_file_bytes() const noexcept {
  const double ratio =
      plain_bytes_written_ > 0 ? static_cast<double>(file_bytes()) / static_cast<double>(plain_bytes_written_) : 1.0 / 3;
  return file_bytes() + static_cast<std::uint64_t>(static_cast<double>(buffered_bytes()) * ratio);
}

const std::string& ParquetWriter::path() const noexcept {
  static const std::string none;
  return out_ ? out_->path() : none;
}

void ParquetWriter::abort() noexcept {
  if (out_) out_->abort();
  failed_ = true;
}

std::error_code ParquetWriter::write_page(const PageHeader& header_template, std::string_view body,
                                          std::int64_t& uncompressed, std::int64_t& compressed) {
  compressed_.clear();
  compressor_->compress(body, compressed_);
  PageHeader h = header_template;
  h.uncompressed_page_size = static_cast<std::int32_t>(body.size());
  h.compressed_page_size = static_cast<std::int32_t>(compressed_.size());
  header_.clear();
  serialize(h, header_);
  if (auto ec = out_->append(header_)) return ec;
  if (auto ec = out_->append(compressed_)) return ec;
  uncompressed += static_cast<std::int64_t>(header_.size() + body.size());
  compressed += static_cast<std::int64_t>(header_.size() + compressed_.size());
  return {};
}

bool ParquetWriter::build_dictionary(const ColumnData& d) {
  const std::size_t n = d.ends.size();
  indices_.resize(n);
  dict_values_.clear();
  std::size_t cap = 1024;
  dict_slots_.assign(cap, 0);
  std::vector<std::size_t> hashes;
  std::size_t dict_bytes = 0;
  const std::hash<std::string_view> hasher;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string_view v = d.str(i);
    const std::size_t h = hasher(v);
    std::size_t slot = h & (cap - 1);
    std::uint32_t found = 0;
    while (const std::uint32_t s = dict_slots_[slot]) {
      if (hashes[s - 1] == h && dict_values_[s - 1] == v) {
        found = s;
        break;
      }
      slot = (slot + 1) & (cap - 1);
    }
    if (!found) {
      dict_values_.push_back(v);
      hashes.push_back(h);
      dict_bytes += v.size() + 4;
      if (dict_bytes > options_.dictionary_max_bytes) return false;
      found = static_cast<std::uint32_t>(dict_values_.size());
      dict_slots_[slot] = found;
      if (dict_values_.size() * 2 > cap) {  // grow and rehash
        cap *= 2;
        dict_slots_.assign(cap, 0);
        for (std::size_t k = 0; k < hashes.size(); ++k) {
          std::size_t s2 = hashes[k] & (cap - 1);
          while (dict_slots_[s2]) s2 = (s2 + 1) & (cap - 1);
          dict_slots_[s2] = static_cast<std::uint32_t>(k + 1);
        }
      }
    }
    indices_[i] = found - 1;
    // Mostly distinct values (ids, free text): PLAIN is smaller and cheaper.
    if ((i + 1) % 1024 == 0 && dict_values_.size() * 2 > i + 1) return false;
  }
  return n < 16 || dict_values_.size() * 2 <= n;
}

std::error_code ParquetWriter::write_column(std::size_t i, ColumnChunk& chunk, ColumnStatistics& stats) {
  const Leaf& leaf = schema_->leaves()[i];
  const ColumnData& d = columns_[i];
  stats = compute_stats(d, leaf, options_.stats_max_bytes);
  const std::size_t nvals = d.values();
  const bool dict = leaf.physical == PhysicalType::byte_array && nvals > 0 && build_dictionary(d);

  ColumnMetaData m;
  m.type = leaf.physical;
  m.path_in_schema = leaf.path;
  m.codec = options_.codec;
  m.num_values = static_cast<std::int64_t>(d.entries);
  std::int64_t unc = 0, comp = 0;
  const auto chunk_start = static_cast<std::int64_t>(out_->size());
  if (dict) {
    body_.clear();
    for (const auto v : dict_values_) plain_put_bytes(body_, v);
    PageHeader h;
    h.type = PageType::dictionary_page;
    h.dictionary_page_header = DictionaryPageHeader{static_cast<std::int32_t>(dict_values_.size()), Encoding::plain, {}};
    m.dictionary_page_offset = chunk_start;
    if (auto ec = write_page(h, body_, unc, comp)) return ec;
  }
  m.data_page_offset = static_cast<std::int64_t>(out_->size());

  const int def_w = bit_width(static_cast<std::uint64_t>(leaf.max_def));
  const int rep_w = bit_width(static_cast<std::uint64_t>(leaf.max_rep));
  const int idx_w = dict ? std::max(1, bit_width(dict_values_.size() - 1)) : 0;
  const std::size_t fixed = leaf.physical == PhysicalType::int64 || leaf.physical == PhysicalType::float64 ? 8
                            : leaf.physical == PhysicalType::int32                                          ? 4
                                                                                                           : 1;
  std::size_t e = 0, v = 0;
  while (e < d.entries) {
    std::size_t e_end = e, v_end = v, bytes = 0;
    while (e_end < d.entries) {
      const bool present = leaf.max_def == 0 || d.def[e_end] == leaf.max_def;
      if (present) {
        bytes += dict ? 2 : (leaf.physical == PhysicalType::byte_array ? d.str(v_end).size() + 4 : fixed);
        ++v_end;
      }
      ++bytes;  // levels, roughly
      ++e_end;
      // Pages end at a row boundary (repetition level 0 next).
      if (bytes >= options_.page_bytes && (leaf.max_rep == 0 || e_end == d.entries || d.rep[e_end] == 0)) break;
    }
    body_.clear();
    auto put_levels = [&](const std::vector<std::uint16_t>& levels, int width) {
      const std::size_t at = body_.size();
      body_.append(4, '\0');
      rle_encode(levels.data() + e, e_end - e, width, body_);
      put_u32_at(body_, at, static_cast<std::uint32_t>(body_.size() - at - 4));
    };
    if (leaf.max_rep > 0) put_levels(d.rep, rep_w);
    if (leaf.max_def > 0) put_levels(d.def, def_w);
    if (dict) {
      body_.push_back(static_cast<char>(idx_w));
      rle_encode(indices_.data() + v, v_end - v, idx_w, body_);
    } else {
      switch (leaf.physical) {
        case PhysicalType::int64:
          body_.append(reinterpret_cast<const char*>(d.i64.data() + v), (v_end - v) * 8);
          break;
        case PhysicalType::int32:
          body_.append(reinterpret_cast<const char*>(d.i32.data() + v), (v_end - v) * 4);
          break;
        case PhysicalType::float64:
          body_.append(reinterpret_cast<const char*>(d.f64.data() + v), (v_end - v) * 8);
          break;
        case PhysicalType::boolean:
          plain_put_booleans(d.b.data() + v, v_end - v, body_);
          break;
        case PhysicalType::byte_array:
          for (std::size_t k = v; k < v_end; ++k) plain_put_bytes(body_, d.str(k));
          break;
        default:
          break;
      }
    }
    PageHeader h;
    h.type = PageType::data_page;
    h.data_page_header =
        DataPageHeader{static_cast<std::int32_t>(e_end - e), dict ? Encoding::rle_dictionary : Encoding::plain,
                       Encoding::rle, Encoding::rle};
    if (auto ec = write_page(h, body_, unc, comp)) return ec;
    e = e_end;
    v = v_end;
  }
  m.encodings = dict ? std::vector<Encoding>{Encoding::plain, Encoding::rle, Encoding::rle_dictionary}
                     : std::vector<Encoding>{Encoding::plain, Encoding::rle};
  m.total_uncompressed_size = unc;
  m.total_compressed_size = comp;
  m.statistics = to_thrift(stats, leaf.kind);
  chunk.file_offset = chunk_start;
  chunk.meta_data = std::move(m);
  return {};
}

std::error_code ParquetWriter::flush_row_group() {
  if (failed_) return std::make_error_code(std::errc::io_error);
  if (group_rows_ == 0) return {};
  RowGroup g;
  g.num_rows = group_rows_;
  g.file_offset = static_cast<std::int64_t>(out_->size());
  g.ordinal = static_cast<std::int16_t>(std::min<std::size_t>(meta_.row_groups.size(), INT16_MAX));
  std::int64_t compressed = 0;
  const std::size_t plain = buffered_bytes();
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    ColumnChunk chunk;
    ColumnStatistics stats;
    if (auto ec = write_column(i, chunk, stats)) {
      failed_ = true;
      return ec;
    }
    g.total_byte_size += chunk.meta_data->total_uncompressed_size;
    compressed += chunk.meta_data->total_compressed_size;
    file_stats_[i].merge(stats, schema_->leaves()[i].kind);
    g.columns.push_back(std::move(chunk));
  }
  g.total_compressed_size = compressed;
  meta_.num_rows += group_rows_;
  meta_.row_groups.push_back(std::move(g));
  plain_bytes_written_ += plain;
  written_rows_ += group_rows_;
  group_rows_ = 0;
  for (auto& c : columns_) c.clear();
  crash::point(crash::kDuringFileWrite);
  return {};
}

std::error_code ParquetWriter::finish(FileSummary& summary) {
  if (failed_ || finished_) return std::make_error_code(std::errc::io_error);
  if (auto ec = flush_row_group()) return ec;
  std::string footer;
  serialize(meta_, footer);
  const auto len = static_cast<std::uint32_t>(footer.size());
  plain_put(footer, len);
  footer.append(kMagic, 4);
  if (auto ec = out_->append(footer)) {
    failed_ = true;
    return ec;
  }
  const std::uint64_t size = out_->size();
  if (auto ec = out_->finish()) {
    failed_ = true;
    return ec;
  }
  finished_ = true;
  summary.path = out_->path();
  summary.rows = meta_.num_rows;
  summary.bytes = size;
  summary.row_groups = meta_.row_groups.size();
  summary.columns = file_stats_;
  return {};
}

}  // namespace sw::lake::parquet
