#pragma once
// Sizes as users write them in flags: "128MiB", "64MB", "512KiB", "1GiB", "1048576".
#include <cstdint>
#include <string>
#include <string_view>

namespace sw {

// Binary units (K, KiB, M, MiB, G, GiB) and decimal ones (KB, MB, GB), any case, spaces allowed
// around the unit. Throws std::invalid_argument naming the text.
std::uint64_t parse_byte_size(std::string_view text);
// The largest binary unit that divides `bytes` exactly: 128MiB, 3KiB, 1000B.
std::string format_byte_size(std::uint64_t bytes);

}  // namespace sw
