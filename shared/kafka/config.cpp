#include "kafka/config.h"

#include <algorithm>
#include <array>
#include <cctype>

#include <unistd.h>

namespace sw::kafka {

Config& Config::set_raw(std::string key, std::string value) {
  for (auto& [k, v] : entries_) {
    if (k == key) {
      v = std::move(value);
      return *this;
    }
  }
  entries_.emplace_back(std::move(key), std::move(value));
  return *this;
}

bool Config::set_from_assignment(std::string_view assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0) return false;
  set_raw(std::string(assignment.substr(0, eq)), std::string(assignment.substr(eq + 1)));
  return true;
}

Config& Config::set_from_environment(std::string_view prefix) {
  for (char** e = environ; *e; ++e) {
    const std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (entry.substr(0, prefix.size()) != prefix || eq == std::string_view::npos || eq == prefix.size()) continue;
    std::string key(entry.substr(prefix.size(), eq - prefix.size()));
    for (auto& c : key) c = c == '_' ? '.' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    set_raw(std::move(key), std::string(entry.substr(eq + 1)));
  }
  return *this;
}

std::optional<std::string> Config::get(std::string_view key) const {
  for (const auto& [k, v] : entries_)
    if (k == key) return v;
  return std::nullopt;
}

bool Config::is_secret_key(std::string_view key) {
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  static constexpr std::array<std::string_view, 5> markers{"password", "secret", "key.pem", "token", "jaas"};
  for (auto m : markers)
    if (lower.find(m) != std::string::npos) return true;
  // ssl.key.location names a file, not a secret; ssl.key.password is caught above.
  return false;
}

std::string Config::redacted() const {
  std::string out;
  for (const auto& [k, v] : entries_) {
    out += k;
    out += '=';
    out += is_secret_key(k) ? std::string("***") : v;
    out += '\n';
  }
  return out;
}

}  // namespace sw::kafka
