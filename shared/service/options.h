#pragma once
// Shared command-line conventions of the tools (load generator, launcher, lag exporter).
#include <stdexcept>
#include <string>

#include <boost/program_options.hpp>

namespace sw {

// KAFKA_BOOTSTRAP_SERVERS fills --bootstrap-servers (the seeds' variable name); flags parsed
// before it win.
inline boost::program_options::parsed_options bootstrap_from_environment(
    const boost::program_options::options_description& desc) {
  return boost::program_options::parse_environment(desc, [](const std::string& env) -> std::string {
    return env == "KAFKA_BOOTSTRAP_SERVERS" ? "bootstrap-servers" : "";
  });
}

// boost reads "-1" as a huge number for an unsigned option (lexical_cast wraps around): reject a
// sign on unsigned options, naming the option.
inline void reject_negative_unsigned(const boost::program_options::parsed_options& parsed,
                                     const boost::program_options::options_description& desc) {
  namespace po = boost::program_options;
  for (const auto& o : parsed.options) {
    const auto* d = desc.find_nothrow(o.string_key, false);
    if (!d) continue;
    const auto* sem = d->semantic().get();
    if (!dynamic_cast<const po::typed_value<unsigned>*>(sem) &&
        !dynamic_cast<const po::typed_value<unsigned long>*>(sem) &&
        !dynamic_cast<const po::typed_value<unsigned long long>*>(sem))
      continue;
    for (const auto& v : o.value) {
      const auto first = v.find_first_not_of(" \t");
      if (first != std::string::npos && v[first] == '-')
        throw std::invalid_argument("--" + o.string_key + " must not be negative, got '" + v + "'");
    }
  }
}

// Error messages that quote a value but not its option ("invalid duration 'ten'") get the
// option's name in front: "--window-size: invalid duration 'ten'". Messages naming an option
// already ("--x must ...", boost's own) are returned as they are.
inline std::string name_the_option(const boost::program_options::variables_map& vm, const std::string& message) {
  if (message.find("--") != std::string::npos || message.find("option '") != std::string::npos) return message;
  std::string names;
  for (const auto& [name, value] : vm) {
    const auto* s = boost::any_cast<std::string>(&value.value());
    if (!s || s->empty() || message.find("'" + *s + "'") == std::string::npos) continue;
    names += (names.empty() ? "--" : ", --") + name;
  }
  return names.empty() ? message : names + ": " + message;
}

// spdlog::level::from_str() turns any unknown name into "off"; services reject it instead.
inline bool valid_log_level(const std::string& level) {
  for (const char* l : {"trace", "debug", "info", "warn", "warning", "err", "error", "critical", "off"})
    if (level == l) return true;
  return false;
}

}  // namespace sw
