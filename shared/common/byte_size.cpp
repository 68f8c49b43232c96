#include "common/byte_size.h"

#include <cctype>
#include <charconv>
#include <stdexcept>

namespace sw {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}
}  // namespace

std::uint64_t parse_byte_size(std::string_view text) {
  const auto t = trim(text);
  std::uint64_t n = 0;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), n);
  if (r.ptr == t.data())
    throw std::invalid_argument("invalid size '" + std::string(text) + "' (e.g. 128MiB, 64MB, 1048576)");
  if (r.ec == std::errc::result_out_of_range) throw std::invalid_argument("size '" + std::string(text) + "' is too large");
  std::string unit(trim(t.substr(static_cast<std::size_t>(r.ptr - t.data()))));
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::uint64_t scale = 0;
  if (unit.empty() || unit == "b") scale = 1;
  else if (unit == "k" || unit == "kib") scale = 1ull << 10;
  else if (unit == "m" || unit == "mib") scale = 1ull << 20;
  else if (unit == "g" || unit == "gib") scale = 1ull << 30;
  else if (unit == "kb") scale = 1000;
  else if (unit == "mb") scale = 1000000;
  else if (unit == "gb") scale = 1000000000;
  else throw std::invalid_argument("invalid size '" + std::string(text) + "' (units: KiB, MiB, GiB, KB, MB, GB)");
  if (n > UINT64_MAX / scale) throw std::invalid_argument("size '" + std::string(text) + "' is too large");
  return n * scale;
}

std::string format_byte_size(std::uint64_t b) {
  if (b >= (1ull << 30) && b % (1ull << 30) == 0) return std::to_string(b >> 30) + "GiB";
  if (b >= (1ull << 20) && b % (1ull << 20) == 0) return std::to_string(b >> 20) + "MiB";
  if (b >= (1ull << 10) && b % (1ull << 10) == 0) return std::to_string(b >> 10) + "KiB";
  return std::to_string(b) + "B";
}

}  // namespace sw
