#include "lake/parquet/reader.h"

#include <cstring>

#include "lake/parquet/compression.h"
#include "lake/parquet/encoding.h"

namespace sw::lake::parquet {

namespace {

constexpr std::uint64_t kFooterTail = 8;  // footer length (4) + "PAR1"

std::uint32_t get_u32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Decoded dictionary, typed like the column.
struct Dictionary {
  std::vector<std::int64_t> i64;
  std::vector<std::int32_t> i32;
  std::vector<double> f64;
  std::vector<std::uint8_t> b;
  std::string bytes;
  std::vector<std::uint32_t> ends;
  std::size_t size = 0;
  bool present = false;
};

// PLAIN values of `physical` from [p, end) into `out` (n values); false if the data is short.
bool decode_plain(PhysicalType physical, const char*& p, const char* end, std::size_t n, ColumnData& out,
                  std::string& error) {
  const auto avail = static_cast<std::size_t>(end - p);
  switch (physical) {
    case PhysicalType::int64:
    case PhysicalType::float64: {
      if (avail / 8 < n) break;
      if (physical == PhysicalType::int64) {
        const auto at = out.i64.size();
        out.i64.resize(at + n);
        std::memcpy(out.i64.data() + at, p, n * 8);
      } else {
        const auto at = out.f64.size();
        out.f64.resize(at + n);
        std::memcpy(out.f64.data() + at, p, n * 8);
      }
      p += n * 8;
      return true;
    }
    case PhysicalType::int32: {
      if (avail / 4 < n) break;
      const auto at = out.i32.size();
      out.i32.resize(at + n);
      std::memcpy(out.i32.data() + at, p, n * 4);
      p += n * 4;
      return true;
    }
    case PhysicalType::boolean: {
      if (avail < (n + 7) / 8) break;
      for (std::size_t i = 0; i < n; ++i)
        out.b.push_back(static_cast<std::uint8_t>((static_cast<unsigned char>(p[i / 8]) >> (i % 8)) & 1));
      p += (n + 7) / 8;
      return true;
    }
    case PhysicalType::byte_array: {
      for (std::size_t i = 0; i < n; ++i) {
        if (end - p < 4) {
          error = "byte array value runs past its page";
          return false;
        }
        const std::uint32_t len = get_u32(p);
        p += 4;
        if (static_cast<std::size_t>(end - p) < len) {
          error = "byte array value runs past its page";
          return false;
        }
        out.push_str(std::string_view(p, len));
        p += len;
      }
      return true;
    }
    default:
      error = "unsupported physical type";
      return false;
  }
  error = "values run past the end of their page";
  return false;
}

bool decode_levels_v1(const char*& p, const char* end, int max_level, std::size_t n, std::vector<std::uint16_t>& out,
                      std::vector<std::uint32_t>& scratch, std::string& error) {
  if (end - p < 4) {
    error = "level data runs past its page";
    return false;
  }
  const std::uint32_t len = get_u32(p);
  p += 4;
  if (static_cast<std::size_t>(end - p) < len) {
    error = "level data runs past its page";
    return false;
  }
  RleDecoder dec(reinterpret_cast<const std::uint8_t*>(p), len, bit_width(static_cast<std::uint64_t>(max_level)));
  scratch.resize(n);
  if (!dec.get(scratch.data(), n)) {
    error = "truncated or malformed level data";
    return false;
  }
  for (auto v : scratch) {
    if (v > static_cast<std::uint32_t>(max_level)) {
      error = "level above the column's maximum";
      return false;
    }
    out.push_back(static_cast<std::uint16_t>(v));
  }
  p += len;
  return true;
}

bool decode_levels_raw(const char* p, std::size_t len, int max_level, std::size_t n, std::vector<std::uint16_t>& out,
                       std::vector<std::uint32_t>& scratch, std::string& error) {
  RleDecoder dec(reinterpret_cast<const std::uint8_t*>(p), len, bit_width(static_cast<std::uint64_t>(max_level)));
  scratch.resize(n);
  if (!dec.get(scratch.data(), n)) {
    error = "truncated or malformed level data";
    return false;
  }
  for (auto v : scratch) {
    if (v > static_cast<std::uint32_t>(max_level)) {
      error = "level above the column's maximum";
      return false;
    }
    out.push_back(static_cast<std::uint16_t>(v));
  }
  return true;
}

bool decode_values(const Leaf& leaf, Encoding enc, const char* p, const char* end, std::size_t n,
                   const Dictionary& dict, ColumnData& out, std::vector<std::uint32_t>& scratch, std::string& error) {
  if (enc == Encoding::plain) return decode_plain(leaf.physical, p, end, n, out, error);
  if (enc == Encoding::plain_dictionary || enc == Encoding::rle_dictionary) {
    if (!dict.present) {
      error = "dictionary-encoded page without a dictionary page";
      return false;
    }
    if (n == 0) return true;
    if (p >= end) {
      error = "dictionary indices missing";
      return false;
    }
    const int width = static_cast<unsigned char>(*p++);
    if (width > 32) {
      error = "dictionary index bit width above 32";
      return false;
    }
    RleDecoder dec(reinterpret_cast<const std::uint8_t*>(p), static_cast<std::size_t>(end - p), width);
    scratch.resize(n);
    if (!dec.get(scratch.data(), n)) {
      error = "truncated dictionary indices";
      return false;
    }
    for (auto idx : scratch) {
      if (idx >= dict.size) {
        error = "dictionary index out of range";
        return false;
      }
      switch (leaf.physical) {
        case PhysicalType::int64: out.i64.push_back(dict.i64[idx]); break;
        case PhysicalType::int32: out.i32.push_back(dict.i32[idx]); break;
        case PhysicalType::float64: out.f64.push_back(dict.f64[idx]); break;
        case PhysicalType::boolean: out.b.push_back(dict.b[idx]); break;
        case PhysicalType::byte_array: {
          const std::uint32_t b = idx == 0 ? 0 : dict.ends[idx - 1];
          out.push_str(std::string_view(dict.bytes).substr(b, dict.ends[idx] - b));
          break;
        }
        default: break;
      }
    }
    return true;
  }
  if (enc == Encoding::rle && leaf.physical == PhysicalType::boolean) {
    if (end - p < 4) {
      error = "RLE boolean data runs past its page";
      return false;
    }
    const std::uint32_t len = get_u32(p);
    p += 4;
    if (static_cast<std::size_t>(end - p) < len) {
      error = "RLE boolean data runs past its page";
      return false;
    }
    RleDecoder dec(reinterpret_cast<const std::uint8_t*>(p), len, 1);
    scratch.resize(n);
    if (!dec.get(scratch.data(), n)) {
      error = "truncated RLE booleans";
      return false;
    }
    for (auto v : scratch) out.b.push_back(static_cast<std::uint8_t>(v & 1));
    return true;
  }
  error = std::string("encoding ") + to_string(enc) + " is not supported";
  return false;
}

}  // namespace

bool ParquetReader::fetch(std::uint64_t offset, std::size_t length, std::string& out, std::string& error) {
  if (offset > size_ || length > size_ - offset) {
    error = "range [" + std::to_string(offset) + ", +" + std::to_string(length) + ") outside the file of " +
            std::to_string(size_) + " bytes";
    return false;
  }
  if (!layer_) {
    out.assign(data_, static_cast<std::size_t>(offset), length);
    return true;
  }
  if (auto ec = layer_->read_range(path_, offset, length, out)) {
    error = "read " + path_ + ": " + ec.message();
    return false;
  }
  return true;
}

bool ParquetReader::open(fs::FileLayer& layer, const std::string& path, std::string& error) {
  layer_ = &layer;
  path_ = path;
  fs::FileInfo info;
  if (auto ec = layer.stat(path, info)) {
    error = path + ": " + ec.message();
    return false;
  }
  size_ = info.size;
  if (size_ < 12) {
    error = "too small for a Parquet file (" + std::to_string(size_) + " bytes)";
    return false;
  }
  std::string head, tail;
  if (!fetch(0, 4, head, error) || !fetch(size_ - kFooterTail, kFooterTail, tail, error)) return false;
  if (head != "PAR1") {
    error = "no PAR1 magic at the start";
    return false;
  }
  const std::uint32_t len = get_u32(tail.data());
  if (tail.compare(4, 4, "PAR1") != 0) {
    error = "no PAR1 magic at the end (an unfinished file?)";
    return false;
  }
  if (len > size_ - 12) {
    error = "footer length " + std::to_string(len) + " exceeds the file";
    return false;
  }
  std::string footer;
  if (!fetch(size_ - kFooterTail - len, len, footer, error)) return false;
  return parse_footer(footer, size_, error);
}

bool ParquetReader::open_bytes(std::string data, std::string& error) {
  layer_ = nullptr;
  data_ = std::move(data);
  size_ = data_.size();
  if (size_ < 12 || data_.compare(0, 4, "PAR1") != 0 || data_.compare(size_ - 4, 4, "PAR1") != 0) {
    error = "not a Parquet file (PAR1 magic missing)";
    return false;
  }
  const std::uint32_t len = get_u32(data_.data() + size_ - 8);
  if (len > size_ - 12) {
    error = "footer length exceeds the file";
    return false;
  }
  return parse_footer(std::string_view(data_).substr(size_ - 8 - len, len), size_, error);
}

bool ParquetReader::parse_footer(std::string_view footer, std::uint64_t size, std::string& error) {
  if (!parse(footer, meta_, error)) return false;
  if (meta_.encrypted) {
    error = "encrypted Parquet files are not supported";
    return false;
  }
  try {
    schema_ = std::make_unique<ParquetSchema>(ParquetSchema::from_elements(meta_.schema));
  } catch (const std::exception& e) {
    error = std::string("schema: ") + e.what();
    return false;
  }
  std::int64_t rows = 0;
  const auto leaves = schema_->leaves().size();
  for (std::size_t g = 0; g < meta_.row_groups.size(); ++g) {
    const auto& rg = meta_.row_groups[g];
    if (rg.columns.size() != leaves) {
      error = "row group " + std::to_string(g) + " has " + std::to_string(rg.columns.size()) + " columns, the schema " +
              std::to_string(leaves);
      return false;
    }
    if (rg.num_rows < 0) {
      error = "row group " + std::to_string(g) + " has a negative row count";
      return false;
    }
    rows += rg.num_rows;
    for (const auto& c : rg.columns) {
      if (!c.meta_data || c.file_path) {
        error = "row group " + std::to_string(g) + ": column chunks in other files are not supported";
        return false;
      }
      const auto& m = *c.meta_data;
      const std::int64_t start = m.dictionary_page_offset && *m.dictionary_page_offset > 0
                                     ? std::min(*m.dictionary_page_offset, m.data_page_offset)
                                     : m.data_page_offset;
      if (start < 4 || m.total_compressed_size < 0 ||
          static_cast<std::uint64_t>(start) + static_cast<std::uint64_t>(m.total_compressed_size) > size - 8) {
        error = "row group " + std::to_string(g) + ": a column chunk lies outside the file";
        return false;
      }
    }
  }
  if (rows != meta_.num_rows) {
    error = "the footer says " + std::to_string(meta_.num_rows) + " rows, its row groups " + std::to_string(rows);
    return false;
  }
  return true;
}

bool ParquetReader::read_column(std::size_t row_group, std::size_t leaf_index, ColumnData& out, std::string& error) {
  out.clear();
  if (row_group >= meta_.row_groups.size() || leaf_index >= schema_->leaves().size()) {
    error = "no such row group or column";
    return false;
  }
  const Leaf& leaf = schema_->leaves()[leaf_index];
  const auto& m = *meta_.row_groups[row_group].columns[leaf_index].meta_data;
  if (m.type != leaf.physical) {
    error = "column " + leaf.path.front() + ": chunk type differs from the schema";
    return false;
  }
  const std::int64_t start = m.dictionary_page_offset && *m.dictionary_page_offset > 0
                                 ? std::min(*m.dictionary_page_offset, m.data_page_offset)
                                 : m.data_page_offset;
  std::string chunk;
  if (!fetch(static_cast<std::uint64_t>(start), static_cast<std::size_t>(m.total_compressed_size), chunk, error))
    return false;
  Dictionary dict;
  std::string page;
  std::vector<std::uint32_t> scratch;
  std::size_t pos = 0;
  const auto expected = static_cast<std::size_t>(m.num_values);
  while (out.entries < expected) {
    if (pos >= chunk.size()) {
      error = "column chunk ends after " + std::to_string(out.entries) + " of " + std::to_string(expected) + " values";
      return false;
    }
    PageHeader h;
    std::size_t used = 0;
    if (!parse(std::string_view(chunk).substr(pos), h, used, error)) return false;
    pos += used;
    if (h.compressed_page_size < 0 || h.uncompressed_page_size < 0 ||
        static_cast<std::size_t>(h.compressed_page_size) > chunk.size() - pos) {
      error = "page runs past its column chunk";
      return false;
    }
    const std::string_view body(chunk.data() + pos, static_cast<std::size_t>(h.compressed_page_size));
    pos += static_cast<std::size_t>(h.compressed_page_size);
    if (h.type == PageType::dictionary_page) {
      if (!h.dictionary_page_header || dict.present) {
        error = "unexpected dictionary page";
        return false;
      }
      if (!decompress(m.codec, body, static_cast<std::size_t>(h.uncompressed_page_size), page, error)) return false;
      ColumnData d;
      const char* p = page.data();
      const auto n = static_cast<std::size_t>(std::max(0, h.dictionary_page_header->num_values));
      if (!decode_plain(leaf.physical, p, page.data() + page.size(), n, d, error)) return false;
      dict.i64 = std::move(d.i64);
      dict.i32 = std::move(d.i32);
      dict.f64 = std::move(d.f64);
      dict.b = std::move(d.b);
      dict.bytes = std::move(d.bytes);
      dict.ends = std::move(d.ends);
      dict.size = n;
      dict.present = true;
      continue;
    }
    if (h.type == PageType::data_page && h.data_page_header) {
      const auto& dp = *h.data_page_header;
      if (dp.num_values < 0 || static_cast<std::size_t>(dp.num_values) > expected - out.entries) {
        error = "page holds more values than its column chunk";
        return false;
      }
      const auto n = static_cast<std::size_t>(dp.num_values);
      if (!decompress(m.codec, body, static_cast<std::size_t>(h.uncompressed_page_size), page, error)) return false;
      const char* p = page.data();
      const char* end = page.data() + page.size();
      if (leaf.max_rep > 0 && !decode_levels_v1(p, end, leaf.max_rep, n, out.rep, scratch, error)) return false;
      std::size_t present = n;
      if (leaf.max_def > 0) {
        const auto before = out.def.size();
        if (!decode_levels_v1(p, end, leaf.max_def, n, out.def, scratch, error)) return false;
        present = 0;
        for (std::size_t i = before; i < out.def.size(); ++i) present += out.def[i] == leaf.max_def;
      }
      if (!decode_values(leaf, dp.encoding, p, end, present, dict, out, scratch, error)) return false;
      out.entries += n;
      continue;
    }
    if (h.type == PageType::data_page_v2 && h.data_page_header_v2) {
      const auto& dp = *h.data_page_header_v2;
      if (dp.num_values < 0 || static_cast<std::size_t>(dp.num_values) > expected - out.entries ||
          dp.repetition_levels_byte_length < 0 || dp.definition_levels_byte_length < 0 ||
          static_cast<std::size_t>(dp.repetition_levels_byte_length) +
                  static_cast<std::size_t>(dp.definition_levels_byte_length) >
              body.size()) {
        error = "malformed data page v2";
        return false;
      }
      const auto n = static_cast<std::size_t>(dp.num_values);
      const auto rl = static_cast<std::size_t>(dp.repetition_levels_byte_length);
      const auto dl = static_cast<std::size_t>(dp.definition_levels_byte_length);
      if (leaf.max_rep > 0 && !decode_levels_raw(body.data(), rl, leaf.max_rep, n, out.rep, scratch, error)) return false;
      std::size_t present = n;
      if (leaf.max_def > 0) {
        const auto before = out.def.size();
        if (!decode_levels_raw(body.data() + rl, dl, leaf.max_def, n, out.def, scratch, error)) return false;
        present = 0;
        for (std::size_t i = before; i < out.def.size(); ++i) present += out.def[i] == leaf.max_def;
      }
      const std::string_view values = body.substr(rl + dl);
      const std::size_t values_size = static_cast<std::size_t>(h.uncompressed_page_size) - rl - dl;
      if (dp.is_compressed && m.codec != Codec::uncompressed) {
        if (!decompress(m.codec, values, values_size, page, error)) return false;
      } else {
        page.assign(values);
      }
      if (!decode_values(leaf, dp.encoding, page.data(), page.data() + page.size(), present, dict, out, scratch, error))
        return false;
      out.entries += n;
      continue;
    }
    // Index pages and unknown page types are skipped.
  }
  if (out.values() > out.entries) {
    error = "more values than entries";
    return false;
  }
  return true;
}

namespace {

struct Cursor {
  const ColumnData* d;
  const Leaf* leaf;
  std::size_t e = 0, v = 0;
  bool at_end() const { return e >= d->entries; }
  int def() const { return leaf->max_def == 0 ? 0 : d->def[e]; }
  int rep() const { return leaf->max_rep == 0 ? 0 : d->rep[e]; }
};

class Assembler {
 public:
  Assembler(const ParquetSchema& s, const std::vector<ColumnData>& cols) : schema_(s) {
    for (std::size_t i = 0; i < cols.size(); ++i) cursors_.push_back({&cols[i], &s.leaves()[i]});
  }

  bool row(nlohmann::ordered_json& out, std::string& error) {
    out = nlohmann::ordered_json::object();
    std::size_t leaf = 0;
    for (const auto& f : schema_.schema().fields) {
      if (!value(f, leaf, 0, 0, out[f.name], error)) return false;
      leaf += ParquetSchema::leaf_count(f);
    }
    return true;
  }

  // Every entry and value belongs to one of the rows.
  bool all_consumed(std::string& error) const {
    for (const auto& c : cursors_)
      if (c.e != c.d->entries || c.v != c.d->values()) {
        error = "column " + c.leaf->path.front() + " holds more entries than the row count";
        return false;
      }
    return true;
  }

 private:
  bool check(std::size_t leaf, std::string& error) {
    if (leaf >= cursors_.size() || cursors_[leaf].at_end()) {
      error = "column data ends before the row count";
      return false;
    }
    return true;
  }
  // One entry less on every leaf under f (a null or an empty list/map at f's level).
  bool skip(const Field& f, std::size_t first, std::string& error) {
    const auto n = ParquetSchema::leaf_count(f);
    for (std::size_t i = first; i < first + n; ++i) {
      if (!check(i, error)) return false;
      auto& c = cursors_[i];
      if (c.def() == c.leaf->max_def) {
        error = "inconsistent definition levels";
        return false;
      }
      ++c.e;
    }
    return true;
  }

  bool value(const Field& f, std::size_t first, int def_before, int rep_depth, nlohmann::ordered_json& out,
             std::string& error) {
    if (!check(first, error)) return false;
    const int d = def_before + (f.nullable ? 1 : 0);
    if (f.nullable && cursors_[first].def() < d) {
      out = nullptr;
      return skip(f, first, error);
    }
    switch (f.kind) {
      case Kind::structure: {
        out = nlohmann::ordered_json::object();
        std::size_t leaf = first;
        for (const auto& c : f.children) {
          if (!value(c, leaf, d, rep_depth, out[c.name], error)) return false;
          leaf += ParquetSchema::leaf_count(c);
        }
        return true;
      }
      case Kind::list:
      case Kind::map: {
        const bool is_map = f.kind == Kind::map;
        out = is_map ? nlohmann::ordered_json::object() : nlohmann::ordered_json::array();
        if (cursors_[first].def() < d + 1) {  // empty
          const auto n = ParquetSchema::leaf_count(f);
          for (std::size_t i = first; i < first + n; ++i) {
            if (!check(i, error)) return false;
            ++cursors_[i].e;
          }
          return true;
        }
        for (std::size_t k = 0;; ++k) {
          if (k > 0 && cursors_[first].rep() != rep_depth + 1) {
            error = "inconsistent repetition levels";
            return false;
          }
          if (is_map) {
            nlohmann::ordered_json key;
            static const Field kKey = Field::primitive("key", Kind::string, false);
            if (!value(kKey, first, d + 1, rep_depth + 1, key, error))
              return false;
            if (!value(f.children[0], first + 1, d + 1, rep_depth + 1, out[key.get<std::string>()], error))
              return false;
          } else {
            nlohmann::ordered_json element;
            if (!value(f.children[0], first, d + 1, rep_depth + 1, element, error)) return false;
            out.push_back(std::move(element));
          }
          if (cursors_[first].at_end() || cursors_[first].rep() != rep_depth + 1) break;
        }
        return true;
      }
      default:
        break;
    }
    auto& c = cursors_[first];
    if (c.def() != c.leaf->max_def) {
      error = "inconsistent definition levels";
      return false;
    }
    if (c.v >= c.d->values()) {
      error = "fewer values than entries";
      return false;
    }
    switch (f.kind) {
      case Kind::string: out = std::string(c.d->str(c.v)); break;
      case Kind::int64:
      case Kind::timestamp_ms: out = c.d->i64[c.v]; break;
      case Kind::int32:
      case Kind::date: out = c.d->i32[c.v]; break;
      case Kind::float64: out = c.d->f64[c.v]; break;
      case Kind::boolean: out = c.d->b[c.v] != 0; break;
      default: break;
    }
    ++c.v;
    ++c.e;
    return true;
  }

  const ParquetSchema& schema_;
  std::vector<Cursor> cursors_;
};

}  // namespace

bool assemble_rows(const ParquetSchema& schema, const std::vector<ColumnData>& columns, std::int64_t num_rows,
                   std::vector<nlohmann::ordered_json>& rows, std::string& error) {
  if (columns.size() != schema.leaves().size()) {
    error = "column count differs from the schema";
    return false;
  }
  Assembler a(schema, columns);
  for (std::int64_t r = 0; r < num_rows; ++r) {
    nlohmann::ordered_json row;
    if (!a.row(row, error)) return false;
    rows.push_back(std::move(row));
  }
  return a.all_consumed(error);
}

bool ParquetReader::read_rows(std::size_t row_group, std::vector<nlohmann::ordered_json>& rows, std::string& error) {
  if (row_group >= meta_.row_groups.size()) {
    error = "no such row group";
    return false;
  }
  std::vector<ColumnData> cols(schema_->leaves().size());
  for (std::size_t i = 0; i < cols.size(); ++i)
    if (!read_column(row_group, i, cols[i], error)) return false;
  return assemble_rows(*schema_, cols, meta_.row_groups[row_group].num_rows, rows, error);
}

}  // namespace sw::lake::parquet
