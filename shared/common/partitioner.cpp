#include "common/partitioner.h"

#include <cstring>

namespace sw {

std::uint32_t murmur2(std::string_view key) noexcept {
  constexpr std::uint32_t seed = 0x9747b28c;
  constexpr std::uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  const auto len = static_cast<std::uint32_t>(key.size());
  std::uint32_t h = seed ^ len;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  std::uint32_t n = len;
  while (n >= 4) {
    std::uint32_t k;
    std::memcpy(&k, data, 4);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
    data += 4;
    n -= 4;
  }
  switch (n) {
    case 3: h ^= static_cast<std::uint32_t>(data[2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<std::uint32_t>(data[1]) << 8; [[fallthrough]];
    case 1:
      h ^= data[0];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

}  // namespace sw
