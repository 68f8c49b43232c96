#pragma once
// Little helpers for the internal binary formats (repartition envelopes, changelog keys).
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace sw::bytes {

template <class T>
inline void put(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));  // little-endian hosts only (x86-64, aarch64)
  out.append(buf, sizeof(T));
}

// Big-endian, so byte order sorts like the signed value (sign bit flipped) in RocksDB.
inline void put_sortable_i64(std::string& out, std::int64_t v) {
  auto u = static_cast<std::uint64_t>(v) ^ (1ULL << 63);
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(u & 0xff);
    u >>= 8;
  }
  out.append(buf, 8);
}

inline std::int64_t get_sortable_i64(const char* p) {
  std::uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<unsigned char>(p[i]);
  return static_cast<std::int64_t>(u ^ (1ULL << 63));
}

inline void put_sortable_u32(std::string& out, std::uint32_t v) {
  char buf[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                 static_cast<char>(v)};
  out.append(buf, 4);
}

inline std::uint32_t get_sortable_u32(const char* p) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(p[0])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(p[1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(p[2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(p[3]));
}

// LEB128 unsigned varint: small numbers (counts, deltas) in one or two bytes.
inline void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
inline void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

// Bounds-checked sequential reader; any short read sets ok() to false and yields zeros.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  template <class T>
  T get() {
    T v{};
    if (pos_ + sizeof(T) > data_.size()) {
      ok_ = false;
      return v;
    }
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::uint64_t get_varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) break;
      const auto b = static_cast<unsigned char>(data_[pos_++]);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok_ = false;
    return 0;
  }
  // A length-prefixed string, as a view into the data.
  std::string_view get_string() {
    const auto n = get_varint();
    if (!ok_ || n > data_.size() - pos_) {
      ok_ = false;
      return {};
    }
    const auto s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string_view rest() const { return data_.substr(pos_ <= data_.size() ? pos_ : data_.size()); }
  bool ok() const { return ok_; }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace sw::bytes
