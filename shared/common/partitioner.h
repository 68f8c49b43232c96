#pragma once
// Kafka's default key partitioner (murmur2, as in the Java client), so records keyed by
// Streamwright land where a Kafka Streams or Java producer would put them.
#include <cstdint>
#include <string_view>

namespace sw {

std::uint32_t murmur2(std::string_view key) noexcept;

inline std::int32_t partition_for_key(std::string_view key, std::int32_t partitions) noexcept {
  return static_cast<std::int32_t>((murmur2(key) & 0x7fffffffU) % static_cast<std::uint32_t>(partitions));
}

}  // namespace sw
