#pragma once
// The Parquet view of a table schema: its schema elements, and its leaf columns with their
// maximum definition and repetition levels (Dremel's encoding of nesting and nulls); and
// ColumnData, one leaf column's levels and values, as the writer buffers them and the reader
// decodes them.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lake/parquet/metadata.h"
#include "lake/schema.h"

namespace sw::lake::parquet {

struct Leaf {
  std::vector<std::string> path;  // names from the top-level field down (list/map groups included)
  Kind kind = Kind::string;
  PhysicalType physical = PhysicalType::byte_array;
  int max_def = 0;
  int max_rep = 0;
  // The top-level field this leaf belongs to, and whether it sits under a list or map (no
  // Delta statistics there).
  std::size_t top_field = 0;
};

class ParquetSchema {
 public:
  // Throws std::invalid_argument for what Parquet (or this writer) cannot represent.
  explicit ParquetSchema(Schema schema);
  // From a file's schema elements (the reader); throws std::invalid_argument naming the column
  // for structures this reader does not understand.
  static ParquetSchema from_elements(const std::vector<SchemaElement>& elements);

  const Schema& schema() const noexcept { return schema_; }
  const std::vector<SchemaElement>& elements() const noexcept { return elements_; }
  const std::vector<Leaf>& leaves() const noexcept { return leaves_; }
  // Leaves under a field (depth-first order): the count, for walking the tree alongside them.
  static std::size_t leaf_count(const Field& f) noexcept;

 private:
  ParquetSchema() = default;
  void add(const Field& f, std::vector<std::string>& path, int def, int rep, std::size_t top);

  Schema schema_;
  std::vector<SchemaElement> elements_;
  std::vector<Leaf> leaves_;
};

PhysicalType physical_type(Kind k);

// One leaf column: an entry per value or null (definition level below max_def means null at
// some depth; repetition level says at which depth a new list element starts). Values are kept
// densely, only for entries at max_def, in the vector of their type.
struct ColumnData {
  std::vector<std::uint16_t> def, rep;  // empty when the leaf's max level is 0
  std::vector<std::int64_t> i64;        // int64, timestamp
  std::vector<std::int32_t> i32;        // int32, date
  std::vector<double> f64;
  std::vector<std::uint8_t> b;          // boolean
  std::string bytes;                    // strings, concatenated
  std::vector<std::uint32_t> ends;      // end offset of each string in `bytes`
  std::size_t entries = 0;

  std::size_t values() const noexcept { return i64.size() + i32.size() + f64.size() + b.size() + ends.size(); }
  std::string_view str(std::size_t i) const noexcept {
    const std::uint32_t begin = i == 0 ? 0 : ends[i - 1];
    return std::string_view(bytes).substr(begin, ends[i] - begin);
  }
  void push_str(std::string_view s) {
    bytes.append(s);
    ends.push_back(static_cast<std::uint32_t>(bytes.size()));
  }
  void clear() noexcept {
    def.clear();
    rep.clear();
    i64.clear();
    i32.clear();
    f64.clear();
    b.clear();
    bytes.clear();
    ends.clear();
    entries = 0;
  }
  // About the PLAIN-encoded size: what row groups are sized by.
  std::size_t estimated_bytes() const noexcept {
    return (def.size() + rep.size()) / 4 + i64.size() * 8 + f64.size() * 8 + i32.size() * 4 + b.size() / 8 +
           bytes.size() + ends.size() * 4;
  }

  struct Mark {
    std::size_t entries, def, rep, i64, i32, f64, b, bytes, ends;
  };
  Mark mark() const noexcept { return {entries, def.size(), rep.size(), i64.size(), i32.size(), f64.size(), b.size(), bytes.size(), ends.size()}; }
  void rollback(const Mark& m) {
    entries = m.entries;
    def.resize(m.def);
    rep.resize(m.rep);
    i64.resize(m.i64);
    i32.resize(m.i32);
    f64.resize(m.f64);
    b.resize(m.b);
    bytes.resize(m.bytes);
    ends.resize(m.ends);
  }
  // Appends another column's entries (same leaf type): compaction copies columns this way.
  void append(const ColumnData& o);
};

}  // namespace sw::lake::parquet
