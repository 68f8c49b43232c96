#pragma once
// The console's command line: `streamwright console --topology NAME --bootstrap-servers B ...`.
// Everything is checked here, before anything starts; a bad flag is a UsageError (exit code 2).
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "kafka/config.h"

namespace sw::console {

struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// An http:// URL, split.
struct HttpUrl {
  std::string text;  // as given
  std::string host;  // without brackets for IPv6
  std::uint16_t port = 80;
  std::string path;  // starts with '/'
  std::string origin() const;  // http://host:port
};
// Throws UsageError naming `what` for anything but http://HOST[:PORT][/PATH].
HttpUrl parse_http_url(const std::string& text, const std::string& what);

struct MetricsEndpoint {
  std::string stage;  // given as STAGE=URL; "" when the stage is to be read from the metrics
  HttpUrl url;
};

struct Options {
  std::string pipeline;
  std::string application_id;  // "" : the pipeline's name
  std::string bootstrap_servers;
  kafka::Config kafka;  // user properties (files, KAFKA_PROPERTY_*, --kafka-property)
  std::vector<MetricsEndpoint> metrics;
  std::optional<HttpUrl> prometheus;
  std::string prometheus_selector;  // label matchers added to every query, e.g. namespace="x"
  std::string address = "127.0.0.1";
  std::uint16_t port = 9466;
  std::chrono::milliseconds interval{2000};
  std::chrono::milliseconds history{15 * 60 * 1000};
  std::chrono::milliseconds scrape_timeout{1500};
  std::string log_level = "info";
  boost::program_options::variables_map vm;  // for the service shell's logging
};

// Parses and checks argv (argv[0] is the program). Returns nullopt after printing --help.
// Throws UsageError with a message naming the flag.
std::optional<Options> parse_options(int argc, const char* const* argv);

}  // namespace sw::console
