#include "lake/parquet/encoding.h"

#include <algorithm>

#include "lake/parquet/thrift.h"

namespace sw::lake::parquet {

namespace {

// Bit-packed runs hold at most 63 groups, so that the run header fits in one byte.
constexpr std::size_t kMaxGroupsPerRun = 63;

template <class T>
std::size_t run_length(const T* v, std::size_t i, std::size_t n) {
  std::size_t j = i + 1;
  while (j < n && v[j] == v[i]) ++j;
  return j - i;
}

template <class T>
void put_rle_run(std::string& out, T value, std::size_t count, int bit_width) {
  thrift::put_uvarint(out, static_cast<std::uint64_t>(count) << 1);
  const int bytes = (bit_width + 7) / 8;
  auto v = static_cast<std::uint32_t>(value);
  for (int b = 0; b < bytes; ++b) {
    out.push_back(static_cast<char>(v & 0xff));
    v >>= 8;
  }
}

// values[begin, end) bit-packed; `end - begin` is padded up to a multiple of 8 with zeros.
template <class T>
void put_packed_run(std::string& out, const T* values, std::size_t begin, std::size_t end, int bit_width) {
  const std::size_t groups = (end - begin + 7) / 8;
  thrift::put_uvarint(out, (static_cast<std::uint64_t>(groups) << 1) | 1);
  std::uint64_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < groups * 8; ++i) {
    const std::uint64_t v = begin + i < end ? static_cast<std::uint64_t>(values[begin + i]) : 0;
    acc |= v << bits;
    bits += bit_width;
    while (bits >= 8) {
      out.push_back(static_cast<char>(acc & 0xff));
      acc >>= 8;
      bits -= 8;
    }
  }
  // groups * 8 * bit_width is a multiple of 8: nothing is left over.
}

template <class T>
void encode(const T* v, std::size_t n, int bit_width, std::string& out) {
  std::size_t i = 0;
  while (i < n) {
    const std::size_t run = run_length(v, i, n);
    if (run >= 8) {
      put_rle_run(out, v[i], run, bit_width);
      i += run;
      continue;
    }
    // A literal stretch, in whole groups of 8, until a group would start with a run of 8 or more
    // (or the data ends, where the last group is padded).
    const std::size_t start = i;
    do {
      i = std::min(i + 8, n);
    } while (i < n && (i - start) / 8 < kMaxGroupsPerRun && run_length(v, i, n) < 8);
    put_packed_run(out, v, start, i, bit_width);
  }
}

}  // namespace

void rle_encode(const std::uint16_t* values, std::size_t n, int bit_width, std::string& out) {
  encode(values, n, bit_width, out);
}
void rle_encode(const std::uint32_t* values, std::size_t n, int bit_width, std::string& out) {
  encode(values, n, bit_width, out);
}

bool RleDecoder::next_run() {
  // Runs of length zero are legal but carry nothing: skip them.
  while (p_ < end_) {
    std::uint64_t header = 0;
    for (int shift = 0;; shift += 7) {
      if (p_ >= end_ || shift > 35) return false;
      const std::uint8_t b = *p_++;
      header |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    if (header & 1) {
      const std::uint64_t groups = header >> 1;
      const std::uint64_t bytes = groups * static_cast<std::uint64_t>(bit_width_);
      // A writer may end a stream with a short final run: take what is there.
      const std::uint64_t have = std::min(bytes, static_cast<std::uint64_t>(end_ - p_));
      packed_ = p_;
      packed_left_ = static_cast<std::size_t>(
          bit_width_ == 0 ? groups * 8 : std::min<std::uint64_t>(groups * 8, have * 8 / bit_width_));
      packed_index_ = 0;
      p_ += have;
      if (packed_left_ > 0) return true;
      continue;
    }
    rle_left_ = static_cast<std::size_t>(header >> 1);
    const int bytes = (bit_width_ + 7) / 8;
    if (end_ - p_ < bytes) return false;
    std::uint32_t v = 0;
    for (int b = 0; b < bytes; ++b) v |= static_cast<std::uint32_t>(p_[b]) << (8 * b);
    p_ += bytes;
    rle_value_ = v;
    if (rle_left_ > 0) return true;
  }
  return false;
}

bool RleDecoder::get(std::uint32_t* out, std::size_t n) {
  const std::uint64_t mask = bit_width_ >= 32 ? 0xffffffffULL : ((1ULL << bit_width_) - 1);
  std::size_t done = 0;
  while (done < n) {
    if (rle_left_ == 0 && packed_left_ == 0 && !next_run()) return false;
    if (rle_left_ > 0) {
      const std::size_t k = std::min(rle_left_, n - done);
      std::fill(out + done, out + done + k, rle_value_);
      done += k;
      rle_left_ -= k;
      continue;
    }
    while (packed_left_ > 0 && done < n) {
      const std::size_t bit = packed_index_ * static_cast<std::size_t>(bit_width_);
      std::uint64_t word = 0;
      const std::size_t byte = bit / 8;
      const std::size_t need = (bit % 8 + static_cast<std::size_t>(bit_width_) + 7) / 8;
      for (std::size_t b = 0; b < need; ++b) word |= static_cast<std::uint64_t>(packed_[byte + b]) << (8 * b);
      out[done++] = static_cast<std::uint32_t>((word >> (bit % 8)) & mask);
      ++packed_index_;
      --packed_left_;
    }
  }
  return true;
}

void plain_put_booleans(const std::uint8_t* values, std::size_t n, std::string& out) {
  std::uint8_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    acc |= static_cast<std::uint8_t>((values[i] ? 1 : 0) << bits);
    if (++bits == 8) {
      out.push_back(static_cast<char>(acc));
      acc = 0;
      bits = 0;
    }
  }
  if (bits) out.push_back(static_cast<char>(acc));
}

}  // namespace sw::lake::parquet
