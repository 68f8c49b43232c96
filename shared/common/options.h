#pragma once
// Shared command-line conventions of the tools (load generator, launcher, lag exporter).
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

}  // namespace sw
