#include "lake/parquet/thrift.h"

#include <cstring>

namespace sw::lake::thrift {

namespace {
constexpr std::size_t kMaxDepth = 64;
}

void put_uvarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void CompactWriter::field_header(std::int16_t id, Type t) {
  const int delta = id - last_id_;
  if (delta > 0 && delta <= 15) {
    out_.push_back(static_cast<char>((delta << 4) | static_cast<int>(t)));
  } else {
    out_.push_back(static_cast<char>(t));
    put_uvarint(out_, zigzag(id));
  }
  last_id_ = id;
}

void CompactWriter::field_i32(std::int16_t id, std::int32_t v) {
  field_header(id, Type::i32);
  i32(v);
}

void CompactWriter::field_i64(std::int16_t id, std::int64_t v) {
  field_header(id, Type::i64);
  i64(v);
}

void CompactWriter::field_i16(std::int16_t id, std::int16_t v) {
  field_header(id, Type::i16);
  put_uvarint(out_, zigzag(v));
}

void CompactWriter::field_byte(std::int16_t id, std::int8_t v) {
  field_header(id, Type::byte);
  out_.push_back(static_cast<char>(v));
}

void CompactWriter::field_bool(std::int16_t id, bool v) { field_header(id, v ? Type::bool_true : Type::bool_false); }

void CompactWriter::field_binary(std::int16_t id, std::string_view v) {
  field_header(id, Type::binary);
  binary(v);
}

void CompactWriter::field_double(std::int16_t id, double v) {
  field_header(id, Type::dbl);
  char b[8];
  std::memcpy(b, &v, 8);
  out_.append(b, 8);
}

void CompactWriter::binary(std::string_view v) {
  put_uvarint(out_, v.size());
  out_.append(v);
}

void CompactWriter::field_struct_begin(std::int16_t id) {
  field_header(id, Type::structure);
  struct_begin();
}

void CompactWriter::struct_begin() {
  stack_.push_back(last_id_);
  last_id_ = 0;
}

void CompactWriter::struct_end() {
  out_.push_back(0);
  last_id_ = stack_.empty() ? 0 : stack_.back();
  if (!stack_.empty()) stack_.pop_back();
}

void CompactWriter::field_list_begin(std::int16_t id, Type element, std::size_t n) {
  field_header(id, Type::list);
  if (n < 15) {
    out_.push_back(static_cast<char>((n << 4) | static_cast<std::size_t>(element)));
  } else {
    out_.push_back(static_cast<char>(0xf0 | static_cast<int>(element)));
    put_uvarint(out_, n);
  }
}

bool CompactReader::uvarint(std::uint64_t& v) {
  if (!ok_) return false;
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p_ >= end_) return fail();
    const std::uint8_t b = *p_++;
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return fail();
}

bool CompactReader::field(Type& type, std::int16_t& id) {
  if (!ok_ || p_ >= end_) return fail();
  const std::uint8_t b = *p_++;
  type = static_cast<Type>(b & 0x0f);
  if (type == Type::stop) {
    id = 0;
    return true;
  }
  if (static_cast<int>(type) > static_cast<int>(Type::structure)) return fail();
  const int delta = b >> 4;
  if (delta != 0) {
    id = static_cast<std::int16_t>(last_id_ + delta);
  } else {
    std::int16_t v = 0;
    if (!i16(v)) return false;
    id = v;
  }
  last_id_ = id;
  return true;
}

bool CompactReader::i16(std::int16_t& v) {
  std::uint64_t u = 0;
  if (!uvarint(u)) return false;
  const auto s = unzigzag(u);
  if (s < INT16_MIN || s > INT16_MAX) return fail();
  v = static_cast<std::int16_t>(s);
  return true;
}

bool CompactReader::i32(std::int32_t& v) {
  std::uint64_t u = 0;
  if (!uvarint(u)) return false;
  const auto s = unzigzag(u);
  if (s < INT32_MIN || s > INT32_MAX) return fail();
  v = static_cast<std::int32_t>(s);
  return true;
}

bool CompactReader::i64(std::int64_t& v) {
  std::uint64_t u = 0;
  if (!uvarint(u)) return false;
  v = unzigzag(u);
  return true;
}

bool CompactReader::byte(std::int8_t& v) {
  if (!ok_ || p_ >= end_) return fail();
  v = static_cast<std::int8_t>(*p_++);
  return true;
}

bool CompactReader::bool_element(bool& v) {
  std::int8_t b = 0;
  if (!byte(b)) return false;
  v = b == 1;
  return true;
}

bool CompactReader::dbl(double& v) {
  if (!ok_ || end_ - p_ < 8) return fail();
  std::memcpy(&v, p_, 8);
  p_ += 8;
  return true;
}

bool CompactReader::binary(std::string_view& v) {
  std::uint64_t n = 0;
  if (!uvarint(n)) return false;
  if (n > static_cast<std::uint64_t>(end_ - p_)) return fail();
  v = std::string_view(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(n));
  p_ += n;
  return true;
}

bool CompactReader::list_begin(Type& element, std::uint32_t& n) {
  if (!ok_ || p_ >= end_) return fail();
  const std::uint8_t b = *p_++;
  element = static_cast<Type>(b & 0x0f);
  n = b >> 4;
  if (n == 15) {
    std::uint64_t big = 0;
    if (!uvarint(big)) return false;
    n = static_cast<std::uint32_t>(big);
    if (big > UINT32_MAX) return fail();
  }
  // Every element takes at least one byte (booleans and varints included).
  if (n > static_cast<std::size_t>(end_ - p_)) return fail();
  return true;
}

bool CompactReader::struct_begin() {
  if (!ok_ || stack_.size() >= kMaxDepth) return fail();
  stack_.push_back(last_id_);
  last_id_ = 0;
  return true;
}

void CompactReader::struct_end() {
  last_id_ = stack_.empty() ? 0 : stack_.back();
  if (!stack_.empty()) stack_.pop_back();
}

bool CompactReader::skip(Type t) {
  if (!ok_) return false;
  switch (t) {
    case Type::bool_true:
    case Type::bool_false:
      return true;  // a field's value lives in its type
    case Type::byte: {
      std::int8_t b;
      return byte(b);
    }
    case Type::i16:
    case Type::i32:
    case Type::i64: {
      std::uint64_t u;
      return uvarint(u);
    }
    case Type::dbl: {
      double d;
      return dbl(d);
    }
    case Type::binary: {
      std::string_view s;
      return binary(s);
    }
    case Type::list:
    case Type::set: {
      Type e;
      std::uint32_t n = 0;
      if (!list_begin(e, n)) return false;
      for (std::uint32_t i = 0; i < n; ++i) {
        if (e == Type::bool_true || e == Type::bool_false) {
          std::int8_t b;
          if (!byte(b)) return false;
        } else if (!skip(e)) {
          return false;
        }
      }
      return true;
    }
    case Type::map: {
      std::uint64_t n = 0;
      if (!uvarint(n)) return false;
      if (n == 0) return true;
      if (n > static_cast<std::uint64_t>(end_ - p_)) return fail();
      if (p_ >= end_) return fail();
      const std::uint8_t kv = *p_++;
      const auto k = static_cast<Type>(kv >> 4), v = static_cast<Type>(kv & 0x0f);
      for (std::uint64_t i = 0; i < n; ++i)
        if (!skip(k) || !skip(v)) return false;
      return true;
    }
    case Type::structure: {
      if (!struct_begin()) return false;
      for (;;) {
        Type ft;
        std::int16_t id;
        if (!field(ft, id)) return false;
        if (ft == Type::stop) break;
        if (!skip(ft)) return false;
      }
      struct_end();
      return true;
    }
    case Type::stop:
      break;
  }
  return fail();
}

}  // namespace sw::lake::thrift
