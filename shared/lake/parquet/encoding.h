#pragma once
// Parquet's value encodings: the RLE / bit-packed hybrid (definition and repetition levels,
// dictionary indices) and PLAIN.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace sw::lake::parquet {

// Bits needed for values up to max_value (0 for 0).
inline int bit_width(std::uint64_t max_value) noexcept {
  int w = 0;
  while (max_value) {
    ++w;
    max_value >>= 1;
  }
  return w;
}

// Appends the RLE / bit-packed hybrid encoding of `n` values, each below 2^bit_width
// (1 <= bit_width <= 32): runs of 8 or more equal values as RLE runs, the rest bit-packed in
// groups of 8 (the last group padded with zeros; readers know the value count).
void rle_encode(const std::uint16_t* values, std::size_t n, int bit_width, std::string& out);
void rle_encode(const std::uint32_t* values, std::size_t n, int bit_width, std::string& out);

// Reads an RLE / bit-packed hybrid stream.
class RleDecoder {
 public:
  RleDecoder() = default;
  RleDecoder(const std::uint8_t* data, std::size_t size, int bit_width)
      : p_(data), end_(data + size), bit_width_(bit_width) {}
  // Reads `n` values; false if the stream ends first or is malformed.
  bool get(std::uint32_t* out, std::size_t n);

 private:
  bool next_run();

  const std::uint8_t* p_ = nullptr;
  const std::uint8_t* end_ = nullptr;
  int bit_width_ = 0;
  std::uint32_t rle_value_ = 0;
  std::size_t rle_left_ = 0;
  const std::uint8_t* packed_ = nullptr;  // the current bit-packed run
  std::size_t packed_left_ = 0;           // values left in it
  std::size_t packed_index_ = 0;          // next value's index in it
};

// PLAIN encoding of single values.
template <class T>
inline void plain_put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // little-endian hosts only (x86-64, aarch64)
  out.append(b, sizeof(T));
}
inline void plain_put_bytes(std::string& out, std::string_view v) {
  plain_put<std::uint32_t>(out, static_cast<std::uint32_t>(v.size()));
  out.append(v);
}

// Booleans, PLAIN: one bit each, least significant bit first.
void plain_put_booleans(const std::uint8_t* values, std::size_t n, std::string& out);

}  // namespace sw::lake::parquet
