#include "lake/parquet/metadata.h"

#include "lake/parquet/thrift.h"

namespace sw::lake::parquet {

using thrift::CompactReader;
using thrift::CompactWriter;
using TT = thrift::Type;

const char* to_string(Codec c) noexcept {
  switch (c) {
    case Codec::uncompressed: return "UNCOMPRESSED";
    case Codec::snappy: return "SNAPPY";
    case Codec::gzip: return "GZIP";
    case Codec::lzo: return "LZO";
    case Codec::brotli: return "BROTLI";
    case Codec::lz4: return "LZ4";
    case Codec::zstd: return "ZSTD";
    case Codec::lz4_raw: return "LZ4_RAW";
  }
  return "UNKNOWN";
}

const char* to_string(Encoding e) noexcept {
  switch (e) {
    case Encoding::plain: return "PLAIN";
    case Encoding::plain_dictionary: return "PLAIN_DICTIONARY";
    case Encoding::rle: return "RLE";
    case Encoding::bit_packed: return "BIT_PACKED";
    case Encoding::delta_binary_packed: return "DELTA_BINARY_PACKED";
    case Encoding::delta_length_byte_array: return "DELTA_LENGTH_BYTE_ARRAY";
    case Encoding::delta_byte_array: return "DELTA_BYTE_ARRAY";
    case Encoding::rle_dictionary: return "RLE_DICTIONARY";
    case Encoding::byte_stream_split: return "BYTE_STREAM_SPLIT";
  }
  return "UNKNOWN";
}

namespace {

// ---- writing ---------------------------------------------------------------------------------

void write_logical(CompactWriter& w, std::int16_t id, const LogicalType& l) {
  using K = LogicalType::Kind;
  if (l.kind == K::none) return;
  w.field_struct_begin(id);  // the union
  const auto member = static_cast<std::int16_t>(l.kind);
  w.field_struct_begin(member);
  switch (l.kind) {
    case K::timestamp:
    case K::time:
      w.field_bool(1, l.adjusted_to_utc);
      w.field_struct_begin(2);  // TimeUnit union
      w.field_struct_begin(static_cast<std::int16_t>(l.unit));
      w.struct_end();
      w.struct_end();
      break;
    case K::integer:
      w.field_byte(1, l.bit_width);
      w.field_bool(2, l.is_signed);
      break;
    case K::decimal:
      w.field_i32(1, l.scale);
      w.field_i32(2, l.precision);
      break;
    default:
      break;
  }
  w.struct_end();
  w.struct_end();
}

void write_statistics(CompactWriter& w, std::int16_t id, const Statistics& s) {
  w.field_struct_begin(id);
  if (s.max_legacy) w.field_binary(1, *s.max_legacy);
  if (s.min_legacy) w.field_binary(2, *s.min_legacy);
  if (s.null_count) w.field_i64(3, *s.null_count);
  if (s.distinct_count) w.field_i64(4, *s.distinct_count);
  if (s.max_value) w.field_binary(5, *s.max_value);
  if (s.min_value) w.field_binary(6, *s.min_value);
  w.struct_end();
}

void write_schema_element(CompactWriter& w, const SchemaElement& e) {
  w.struct_begin();
  if (e.type) w.field_i32(1, static_cast<std::int32_t>(*e.type));
  if (e.type_length) w.field_i32(2, *e.type_length);
  if (e.repetition) w.field_i32(3, static_cast<std::int32_t>(*e.repetition));
  w.field_binary(4, e.name);
  if (e.num_children) w.field_i32(5, *e.num_children);
  if (e.converted_type) w.field_i32(6, static_cast<std::int32_t>(*e.converted_type));
  if (e.logical.kind == LogicalType::Kind::decimal) {
    w.field_i32(7, e.logical.scale);
    w.field_i32(8, e.logical.precision);
  }
  write_logical(w, 10, e.logical);
  w.struct_end();
}

void write_column_meta(CompactWriter& w, std::int16_t id, const ColumnMetaData& m) {
  w.field_struct_begin(id);
  w.field_i32(1, static_cast<std::int32_t>(m.type));
  w.field_list_begin(2, TT::i32, m.encodings.size());
  for (auto e : m.encodings) w.i32(static_cast<std::int32_t>(e));
  w.field_list_begin(3, TT::binary, m.path_in_schema.size());
  for (const auto& p : m.path_in_schema) w.binary(p);
  w.field_i32(4, static_cast<std::int32_t>(m.codec));
  w.field_i64(5, m.num_values);
  w.field_i64(6, m.total_uncompressed_size);
  w.field_i64(7, m.total_compressed_size);
  w.field_i64(9, m.data_page_offset);
  if (m.dictionary_page_offset) w.field_i64(11, *m.dictionary_page_offset);
  if (m.statistics) write_statistics(w, 12, *m.statistics);
  w.struct_end();
}

void write_row_group(CompactWriter& w, const RowGroup& g) {
  w.struct_begin();
  w.field_list_begin(1, TT::structure, g.columns.size());
  for (const auto& c : g.columns) {
    w.struct_begin();
    if (c.file_path) w.field_binary(1, *c.file_path);
    w.field_i64(2, c.file_offset);
    if (c.meta_data) write_column_meta(w, 3, *c.meta_data);
    w.struct_end();
  }
  w.field_i64(2, g.total_byte_size);
  w.field_i64(3, g.num_rows);
  if (g.file_offset) w.field_i64(5, *g.file_offset);
  if (g.total_compressed_size) w.field_i64(6, *g.total_compressed_size);
  if (g.ordinal) w.field_i16(7, *g.ordinal);
  w.struct_end();
}

// ---- reading ---------------------------------------------------------------------------------

// Loops over a struct's fields, calling f(type, id) for each; f returns false on error, or
// skips what it does not know (by calling r.skip(type)).
template <class F>
bool read_struct(CompactReader& r, F&& f) {
  if (!r.struct_begin()) return false;
  for (;;) {
    TT t;
    std::int16_t id;
    if (!r.field(t, id)) return false;
    if (t == TT::stop) break;
    if (!f(t, id)) return r.fail();
  }
  r.struct_end();
  return r.ok();
}

template <class E>
bool read_enum(CompactReader& r, TT t, E& out) {
  std::int32_t v;
  if (t != TT::i32 || !r.i32(v)) return false;
  out = static_cast<E>(v);
  return true;
}

bool read_i32(CompactReader& r, TT t, std::int32_t& v) {
  if (t == TT::byte) {
    std::int8_t b;
    if (!r.byte(b)) return false;
    v = b;
    return true;
  }
  return (t == TT::i32 || t == TT::i16) && r.i32(v);  // both zigzag varints
}
bool read_i64(CompactReader& r, TT t, std::int64_t& v) {
  if (t == TT::i64) return r.i64(v);
  std::int32_t s;
  if (!read_i32(r, t, s)) return false;
  v = s;
  return true;
}
bool read_bool(TT t, bool& v) {
  if (t != TT::bool_true && t != TT::bool_false) return false;
  v = t == TT::bool_true;
  return true;
}
bool read_string(CompactReader& r, TT t, std::string& v) {
  std::string_view s;
  if (t != TT::binary || !r.binary(s)) return false;
  v.assign(s);
  return true;
}

bool read_statistics(CompactReader& r, Statistics& s) {
  return read_struct(r, [&](TT t, std::int16_t id) {
    std::string v;
    std::int64_t n;
    switch (id) {
      case 1: if (!read_string(r, t, v)) return false; s.max_legacy = std::move(v); return true;
      case 2: if (!read_string(r, t, v)) return false; s.min_legacy = std::move(v); return true;
      case 3: if (!read_i64(r, t, n)) return false; s.null_count = n; return true;
      case 4: if (!read_i64(r, t, n)) return false; s.distinct_count = n; return true;
      case 5: if (!read_string(r, t, v)) return false; s.max_value = std::move(v); return true;
      case 6: if (!read_string(r, t, v)) return false; s.min_value = std::move(v); return true;
      default: return r.skip(t);
    }
  });
}

bool read_time_unit(CompactReader& r, TimeUnit& u) {
  return read_struct(r, [&](TT t, std::int16_t id) {
    if (t != TT::structure) return r.skip(t);
    if (id >= 1 && id <= 3) u = static_cast<TimeUnit>(id);
    return r.skip(t);
  });
}

bool read_logical(CompactReader& r, LogicalType& l) {
  return read_struct(r, [&](TT t, std::int16_t id) {
    if (t != TT::structure) return r.skip(t);
    l.kind = static_cast<LogicalType::Kind>(id);
    if (id == 8 || id == 7) {  // timestamp, time
      return read_struct(r, [&](TT ft, std::int16_t fid) {
        if (fid == 1) return read_bool(ft, l.adjusted_to_utc);
        if (fid == 2 && ft == TT::structure) return read_time_unit(r, l.unit);
        return r.skip(ft);
      });
    }
    if (id == 10) {
      return read_struct(r, [&](TT ft, std::int16_t fid) {
        std::int32_t v;
        if (fid == 1) {
          if (!read_i32(r, ft, v)) return false;
          l.bit_width = static_cast<std::int8_t>(v);
          return true;
        }
        if (fid == 2) return read_bool(ft, l.is_signed);
        return r.skip(ft);
      });
    }
    if (id == 5) {
      return read_struct(r, [&](TT ft, std::int16_t fid) {
        if (fid == 1) return read_i32(r, ft, l.scale);
        if (fid == 2) return read_i32(r, ft, l.precision);
        return r.skip(ft);
      });
    }
    return r.skip(t);
  });
}

bool read_schema_element(CompactReader& r, SchemaElement& e) {
  bool has_name = false;
  const bool ok = read_struct(r, [&](TT t, std::int16_t id) {
    std::int32_t v;
    switch (id) {
      case 1: if (!read_i32(r, t, v)) return false; e.type = static_cast<PhysicalType>(v); return true;
      case 2: if (!read_i32(r, t, v)) return false; e.type_length = v; return true;
      case 3: if (!read_i32(r, t, v)) return false; e.repetition = static_cast<Repetition>(v); return true;
      case 4: has_name = true; return read_string(r, t, e.name);
      case 5: if (!read_i32(r, t, v)) return false; e.num_children = v; return true;
      case 6: if (!read_i32(r, t, v)) return false; e.converted_type = static_cast<ConvertedType>(v); return true;
      case 7: return read_i32(r, t, e.logical.scale);
      case 8: return read_i32(r, t, e.logical.precision);
      case 10: return t == TT::structure ? read_logical(r, e.logical) : false;
      default: return r.skip(t);
    }
  });
  return ok && has_name;
}

bool read_column_meta(CompactReader& r, ColumnMetaData& m) {
  unsigned seen = 0;
  const bool ok = read_struct(r, [&](TT t, std::int16_t id) {
    if (id >= 1 && id <= 9) seen |= 1u << id;
    switch (id) {
      case 1: return read_enum(r, t, m.type);
      case 2: {
        TT e;
        std::uint32_t n;
        if (t != TT::list || !r.list_begin(e, n) || e != TT::i32) return false;
        for (std::uint32_t i = 0; i < n; ++i) {
          Encoding enc;
          if (!read_enum(r, TT::i32, enc)) return false;
          m.encodings.push_back(enc);
        }
        return true;
      }
      case 3: {
        TT e;
        std::uint32_t n;
        if (t != TT::list || !r.list_begin(e, n) || e != TT::binary) return false;
        for (std::uint32_t i = 0; i < n; ++i) {
          std::string s;
          if (!read_string(r, TT::binary, s)) return false;
          m.path_in_schema.push_back(std::move(s));
        }
        return true;
      }
      case 4: return read_enum(r, t, m.codec);
      case 5: return read_i64(r, t, m.num_values);
      case 6: return read_i64(r, t, m.total_uncompressed_size);
      case 7: return read_i64(r, t, m.total_compressed_size);
      case 9: return read_i64(r, t, m.data_page_offset);
      case 11: {
        std::int64_t v;
        if (!read_i64(r, t, v)) return false;
        m.dictionary_page_offset = v;
        return true;
      }
      case 12: {
        Statistics s;
        if (t != TT::structure || !read_statistics(r, s)) return false;
        m.statistics = std::move(s);
        return true;
      }
      default: return r.skip(t);
    }
  });
  constexpr unsigned required = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 7) |
                                (1u << 9);
  return ok && (seen & required) == required;
}

bool read_row_group(CompactReader& r, RowGroup& g) {
  unsigned seen = 0;
  const bool ok = read_struct(r, [&](TT t, std::int16_t id) {
    if (id >= 1 && id <= 3) seen |= 1u << id;
    switch (id) {
      case 1: {
        TT e;
        std::uint32_t n;
        if (t != TT::list || !r.list_begin(e, n) || e != TT::structure) return false;
        g.columns.resize(n);
        for (auto& c : g.columns) {
          bool has_offset = false;
          if (!read_struct(r, [&](TT ct, std::int16_t cid) {
                if (cid == 1) {
                  std::string s;
                  if (!read_string(r, ct, s)) return false;
                  c.file_path = std::move(s);
                  return true;
                }
                if (cid == 2) {
                  has_offset = true;
                  return read_i64(r, ct, c.file_offset);
                }
                if (cid == 3) {
                  ColumnMetaData m;
                  if (ct != TT::structure || !read_column_meta(r, m)) return false;
                  c.meta_data = std::move(m);
                  return true;
                }
                return r.skip(ct);
              }) ||
              !has_offset)
            return false;
        }
        return true;
      }
      case 2: return read_i64(r, t, g.total_byte_size);
      case 3: return read_i64(r, t, g.num_rows);
      case 5: {
        std::int64_t v;
        if (!read_i64(r, t, v)) return false;
        g.file_offset = v;
        return true;
      }
      case 6: {
        std::int64_t v;
        if (!read_i64(r, t, v)) return false;
        g.total_compressed_size = v;
        return true;
      }
      case 7: {
        std::int32_t v;
        if (!read_i32(r, t, v)) return false;
        g.ordinal = static_cast<std::int16_t>(v);
        return true;
      }
      default: return r.skip(t);
    }
  });
  return ok && seen == ((1u << 1) | (1u << 2) | (1u << 3));
}

}  // namespace

void serialize(const FileMetaData& m, std::string& out) {
  CompactWriter w(out);
  w.field_i32(1, m.version);
  w.field_list_begin(2, TT::structure, m.schema.size());
  for (const auto& e : m.schema) write_schema_element(w, e);
  w.field_i64(3, m.num_rows);
  w.field_list_begin(4, TT::structure, m.row_groups.size());
  for (const auto& g : m.row_groups) write_row_group(w, g);
  if (!m.key_value_metadata.empty()) {
    w.field_list_begin(5, TT::structure, m.key_value_metadata.size());
    for (const auto& kv : m.key_value_metadata) {
      w.struct_begin();
      w.field_binary(1, kv.key);
      if (kv.value) w.field_binary(2, *kv.value);
      w.struct_end();
    }
  }
  if (m.created_by) w.field_binary(6, *m.created_by);
  if (m.type_defined_column_orders > 0) {
    w.field_list_begin(7, TT::structure, m.type_defined_column_orders);
    for (std::size_t i = 0; i < m.type_defined_column_orders; ++i) {
      w.struct_begin();          // ColumnOrder union
      w.field_struct_begin(1);   // TYPE_ORDER: TypeDefinedOrder {}
      w.struct_end();
      w.struct_end();
    }
  }
  w.end();
}

void serialize(const PageHeader& h, std::string& out) {
  CompactWriter w(out);
  w.field_i32(1, static_cast<std::int32_t>(h.type));
  w.field_i32(2, h.uncompressed_page_size);
  w.field_i32(3, h.compressed_page_size);
  if (h.crc) w.field_i32(4, *h.crc);
  if (h.data_page_header) {
    const auto& d = *h.data_page_header;
    w.field_struct_begin(5);
    w.field_i32(1, d.num_values);
    w.field_i32(2, static_cast<std::int32_t>(d.encoding));
    w.field_i32(3, static_cast<std::int32_t>(d.definition_level_encoding));
    w.field_i32(4, static_cast<std::int32_t>(d.repetition_level_encoding));
    w.struct_end();
  }
  if (h.dictionary_page_header) {
    const auto& d = *h.dictionary_page_header;
    w.field_struct_begin(7);
    w.field_i32(1, d.num_values);
    w.field_i32(2, static_cast<std::int32_t>(d.encoding));
    if (d.is_sorted) w.field_bool(3, *d.is_sorted);
    w.struct_end();
  }
  if (h.data_page_header_v2) {
    const auto& d = *h.data_page_header_v2;
    w.field_struct_begin(8);
    w.field_i32(1, d.num_values);
    w.field_i32(2, d.num_nulls);
    w.field_i32(3, d.num_rows);
    w.field_i32(4, static_cast<std::int32_t>(d.encoding));
    w.field_i32(5, d.definition_levels_byte_length);
    w.field_i32(6, d.repetition_levels_byte_length);
    w.field_bool(7, d.is_compressed);
    w.struct_end();
  }
  w.end();
}

bool parse(std::string_view bytes, FileMetaData& m, std::string& error) {
  m = FileMetaData{};
  CompactReader r(bytes.data(), bytes.size());
  unsigned seen = 0;
  // The top-level struct has no struct_begin on the wire; read_struct's push is harmless.
  const bool ok = read_struct(r, [&](TT t, std::int16_t id) {
    if (id >= 1 && id <= 4) seen |= 1u << id;
    switch (id) {
      case 1: return read_i32(r, t, m.version);
      case 2: {
        TT e;
        std::uint32_t n;
        if (t != TT::list || !r.list_begin(e, n) || e != TT::structure) return false;
        m.schema.resize(n);
        for (auto& s : m.schema)
          if (!read_schema_element(r, s)) return false;
        return true;
      }
      case 3: return read_i64(r, t, m.num_rows);
      case 4: {
        TT e;
        std::uint32_t n;
        if (t != TT::list || !r.list_begin(e, n) || e != TT::structure) return false;
        m.row_groups.resize(n);
        for (auto& g : m.row_groups)
          if (!read_row_group(r, g)) return false;
        return true;
      }
      case 5: {
        TT e;
        std::uint32_t n;
        if (t != TT::list || !r.list_begin(e, n) || e != TT::structure) return false;
        for (std::uint32_t i = 0; i < n; ++i) {
          KeyValue kv;
          if (!read_struct(r, [&](TT kt, std::int16_t kid) {
                if (kid == 1) return read_string(r, kt, kv.key);
                if (kid == 2) {
                  std::string v;
                  if (!read_string(r, kt, v)) return false;
                  kv.value = std::move(v);
                  return true;
                }
                return r.skip(kt);
              }))
            return false;
          m.key_value_metadata.push_back(std::move(kv));
        }
        return true;
      }
      case 6: {
        std::string s;
        if (!read_string(r, t, s)) return false;
        m.created_by = std::move(s);
        return true;
      }
      case 7: {
        TT e;
        std::uint32_t n;
        if (t != TT::list || !r.list_begin(e, n) || e != TT::structure) return false;
        for (std::uint32_t i = 0; i < n; ++i) {
          bool type_order = false;
          if (!read_struct(r, [&](TT ct, std::int16_t cid) {
                if (cid == 1) type_order = true;
                return r.skip(ct);
              }))
            return false;
          if (type_order) ++m.type_defined_column_orders;
        }
        return true;
      }
      case 8:
        m.encrypted = true;
        return r.skip(t);
      default: return r.skip(t);
    }
  });
  if (!ok) {
    error = "malformed file metadata (Thrift compact protocol) at byte " + std::to_string(r.position());
    return false;
  }
  if (seen != ((1u << 1) | (1u << 2) | (1u << 3) | (1u << 4))) {
    error = "file metadata lacks a required field (version, schema, num_rows or row_groups)";
    return false;
  }
  return true;
}

bool parse(std::string_view bytes, PageHeader& h, std::size_t& used, std::string& error) {
  h = PageHeader{};
  CompactReader r(bytes.data(), bytes.size());
  unsigned seen = 0;
  const bool ok = read_struct(r, [&](TT t, std::int16_t id) {
    if (id >= 1 && id <= 3) seen |= 1u << id;
    switch (id) {
      case 1: return read_enum(r, t, h.type);
      case 2: return read_i32(r, t, h.uncompressed_page_size);
      case 3: return read_i32(r, t, h.compressed_page_size);
      case 4: {
        std::int32_t v;
        if (!read_i32(r, t, v)) return false;
        h.crc = v;
        return true;
      }
      case 5: {
        DataPageHeader d;
        unsigned s = 0;
        if (t != TT::structure || !read_struct(r, [&](TT ft, std::int16_t fid) {
              if (fid >= 1 && fid <= 4) s |= 1u << fid;
              switch (fid) {
                case 1: return read_i32(r, ft, d.num_values);
                case 2: return read_enum(r, ft, d.encoding);
                case 3: return read_enum(r, ft, d.definition_level_encoding);
                case 4: return read_enum(r, ft, d.repetition_level_encoding);
                default: return r.skip(ft);
              }
            }))
          return false;
        if (s != 0x1e) return false;
        h.data_page_header = d;
        return true;
      }
      case 7: {
        DictionaryPageHeader d;
        unsigned s = 0;
        if (t != TT::structure || !read_struct(r, [&](TT ft, std::int16_t fid) {
              if (fid >= 1 && fid <= 2) s |= 1u << fid;
              switch (fid) {
                case 1: return read_i32(r, ft, d.num_values);
                case 2: return read_enum(r, ft, d.encoding);
                case 3: {
                  bool b;
                  if (!read_bool(ft, b)) return false;
                  d.is_sorted = b;
                  return true;
                }
                default: return r.skip(ft);
              }
            }))
          return false;
        if (s != 0x6) return false;
        h.dictionary_page_header = d;
        return true;
      }
      case 8: {
        DataPageHeaderV2 d;
        unsigned s = 0;
        if (t != TT::structure || !read_struct(r, [&](TT ft, std::int16_t fid) {
              if (fid >= 1 && fid <= 6) s |= 1u << fid;
              switch (fid) {
                case 1: return read_i32(r, ft, d.num_values);
                case 2: return read_i32(r, ft, d.num_nulls);
                case 3: return read_i32(r, ft, d.num_rows);
                case 4: return read_enum(r, ft, d.encoding);
                case 5: return read_i32(r, ft, d.definition_levels_byte_length);
                case 6: return read_i32(r, ft, d.repetition_levels_byte_length);
                case 7: return read_bool(ft, d.is_compressed);
                default: return r.skip(ft);
              }
            }))
          return false;
        if (s != 0x7e) return false;
        h.data_page_header_v2 = d;
        return true;
      }
      default: return r.skip(t);
    }
  });
  if (!ok || seen != 0xe) {
    error = "malformed page header at byte " + std::to_string(r.position());
    return false;
  }
  used = r.position();
  return true;
}

}  // namespace sw::lake::parquet
