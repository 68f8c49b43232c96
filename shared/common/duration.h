#pragma once
#include <chrono>
#include <string>
#include <string_view>

namespace sw {
// Parses "250ms", "10s", "5m", "1h" or a bare number of milliseconds. Throws
// std::invalid_argument with a message naming the text on anything else.
std::chrono::milliseconds parse_duration(std::string_view text);
std::string format_duration(std::chrono::milliseconds d);
}  // namespace sw
