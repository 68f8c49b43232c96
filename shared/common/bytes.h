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
  std::string_view rest() const { return data_.substr(pos_ <= data_.size() ? pos_ : data_.size()); }
  bool ok() const { return ok_; }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace sw::bytes
