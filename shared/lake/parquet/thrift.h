#pragma once
// The Thrift compact protocol, as Parquet uses it for its footer and page headers: structs of
// numbered fields (ids as deltas), zigzag varints, length-prefixed binaries, lists. Written by
// hand from the protocol's specification; no Thrift runtime, no generated code.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sw::lake::thrift {

// Compact type ids (field headers and list element types).
enum class Type : std::uint8_t {
  stop = 0,
  bool_true = 1,
  bool_false = 2,
  byte = 3,
  i16 = 4,
  i32 = 5,
  i64 = 6,
  dbl = 7,
  binary = 8,
  list = 9,
  set = 10,
  map = 11,
  structure = 12,
};

inline std::uint64_t zigzag(std::int64_t v) noexcept {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
inline std::int64_t unzigzag(std::uint64_t v) noexcept {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}
void put_uvarint(std::string& out, std::uint64_t v);

// Appends to a string. Fields must be written in increasing id order within a struct (the
// delta encoding allows any order, but readers expect the usual one).
class CompactWriter {
 public:
  explicit CompactWriter(std::string& out) : out_(out) {}

  void field_i32(std::int16_t id, std::int32_t v);
  void field_i64(std::int16_t id, std::int64_t v);
  void field_i16(std::int16_t id, std::int16_t v);
  void field_byte(std::int16_t id, std::int8_t v);
  void field_bool(std::int16_t id, bool v);
  void field_binary(std::int16_t id, std::string_view v);
  void field_double(std::int16_t id, double v);
  // A struct-valued field: the header, then the nested struct's fields, then struct_end().
  void field_struct_begin(std::int16_t id);
  void struct_end();
  // A list-valued field: the header; then `n` elements written with the element calls below
  // (structs: struct_begin() ... struct_end()).
  void field_list_begin(std::int16_t id, Type element, std::size_t n);

  // List elements.
  void i32(std::int32_t v) { put_uvarint(out_, zigzag(v)); }
  void i64(std::int64_t v) { put_uvarint(out_, zigzag(v)); }
  void binary(std::string_view v);
  void struct_begin();

  // Ends the top-level struct (writes its stop byte).
  void end() { out_.push_back(0); }

 private:
  void field_header(std::int16_t id, Type t);

  std::string& out_;
  std::int16_t last_id_ = 0;
  std::vector<std::int16_t> stack_;
};

// Reads a buffer. Every call returns false on malformed or truncated input (and stays failed);
// lengths and counts are checked against the remaining bytes, nesting is limited.
class CompactReader {
 public:
  CompactReader(const void* data, std::size_t size)
      : p_(static_cast<const std::uint8_t*>(data)), end_(p_ + size), begin_(p_) {}

  // The next field of the current struct: Type::stop at its end. A boolean field's value is
  // its type (bool_true / bool_false).
  bool field(Type& type, std::int16_t& id);
  bool i32(std::int32_t& v);
  bool i64(std::int64_t& v);
  bool i16(std::int16_t& v);
  bool byte(std::int8_t& v);
  bool dbl(double& v);
  bool binary(std::string_view& v);
  bool list_begin(Type& element, std::uint32_t& n);
  // Enter a nested struct (a struct field or a list element) / leave it after its stop.
  bool struct_begin();
  void struct_end();
  // Skips a value of the given type (unknown fields).
  bool skip(Type t);
  // Reads a boolean list element (a byte).
  bool bool_element(bool& v);

  std::size_t position() const noexcept { return static_cast<std::size_t>(p_ - begin_); }
  bool ok() const noexcept { return ok_; }
  bool fail() noexcept {
    ok_ = false;
    return false;
  }

 private:
  bool uvarint(std::uint64_t& v);

  const std::uint8_t* p_;
  const std::uint8_t* end_;
  const std::uint8_t* begin_;
  std::int16_t last_id_ = 0;
  std::vector<std::int16_t> stack_;
  bool ok_ = true;
};

}  // namespace sw::lake::thrift
