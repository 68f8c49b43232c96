#include "services/console/options.h"

#include <iostream>

#include "common/duration.h"
#include "service/options.h"
#include "service/shell.h"
#include "services/console/pipeline_info.h"
#include "topologies/registry.h"

namespace po = boost::program_options;

namespace sw::console {

std::string HttpUrl::origin() const {
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

HttpUrl parse_http_url(const std::string& text, const std::string& what) {
  auto bad = [&](const std::string& why) {
    return UsageError(what + ": '" + text + "' " + why + " (expected http://HOST[:PORT][/PATH])");
  };
  const std::string scheme = "http://";
  if (text.rfind("https://", 0) == 0) throw bad("uses https, which the console does not speak");
  if (text.rfind(scheme, 0) != 0) throw bad("is not an http:// URL");
  HttpUrl u;
  u.text = text;
  std::string rest = text.substr(scheme.size());
  const auto slash = rest.find('/');
  u.path = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string hostport = rest.substr(0, slash);
  if (hostport.find('@') != std::string::npos) throw bad("has user information");
  std::string port;
  if (!hostport.empty() && hostport.front() == '[') {
    const auto close = hostport.find(']');
    if (close == std::string::npos) throw bad("has an unclosed IPv6 address");
    u.host = hostport.substr(1, close - 1);
    const auto after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw bad("has text after the IPv6 address");
      port = after.substr(1);
    }
  } else {
    const auto colon = hostport.rfind(':');
    u.host = hostport.substr(0, colon);
    if (colon != std::string::npos) port = hostport.substr(colon + 1);
  }
  if (u.host.empty()) throw bad("has no host");
  if (u.host.find_first_of(" \t?#") != std::string::npos) throw bad("has a malformed host");
  if (!port.empty() || hostport.find(':') != std::string::npos) {
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
      throw bad("has a malformed port");
    const unsigned long p = std::stoul(port);
    if (p == 0 || p > 65535) throw bad("has a port outside 1-65535");
    u.port = static_cast<std::uint16_t>(p);
  }
  return u;
}

namespace {

void usage_text(const po::options_description& desc) {
  std::string names;
  for (const auto& n : topologies::names()) names += (names.empty() ? "" : ", ") + n;
  std::cout << "streamwright console: a live web view of a running pipeline (read-only)\n\n"
            << "usage: streamwright console --topology NAME --bootstrap-servers HOST:PORT [--metrics-url [STAGE=]URL ...]\n"
            << "                            [--prometheus-url URL [--prometheus-selector MATCHERS]] [--address A] [--port N]\n\n"
            << "pipelines: " << names << "\n\n"
            << desc
            << "\nStage metrics come from --metrics-url (each stage replica's /metrics; a host name with several\n"
               "addresses, such as a headless Service, is one replica per address) or from a Prometheus server\n"
               "(--prometheus-url). Kafka properties also come from KAFKA_PROPERTY_<KEY> environment variables.\n"
               "The page and its JSON API (/api/...) are described in docs/console.md.\n";
}

}  // namespace

std::optional<Options> parse_options(int argc, const char* const* argv) {
  po::options_description desc("Options");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("topology", po::value<std::string>(), "the pipeline (its stages, groups, topics and stores come from the catalogue)")
    ("application-id", po::value<std::string>()->default_value(""), "the pipeline's application id (default: its name)")
    ("bootstrap-servers", po::value<std::string>(), "Kafka bootstrap servers (env KAFKA_BOOTSTRAP_SERVERS)")
    ("metrics-url", po::value<std::vector<std::string>>()->composing(),
         "[STAGE=]http://HOST:PORT/metrics of a stage or sink (repeatable); without STAGE=, the stage label of its metrics tells")
    ("prometheus-url", po::value<std::string>(), "http://HOST:PORT of a Prometheus server that scrapes the stages (instead of or besides --metrics-url)")
    ("prometheus-selector", po::value<std::string>()->default_value(""),
         "label matchers added to every Prometheus query, e.g. namespace=\"streaming\"")
    ("address", po::value<std::string>()->default_value("127.0.0.1"), "address the console listens on")
    ("port", po::value<unsigned>()->default_value(9466), "port of the page and the API (0: any free port)")
    ("interval", po::value<std::string>()->default_value("2s"), "how often metrics and Kafka are read")
    ("history", po::value<std::string>()->default_value("15m"), "how much history the charts keep (memory is bounded by it)")
    ("scrape-timeout", po::value<std::string>()->default_value("1500ms"), "how long one metrics request may take");
  // clang-format on
  add_kafka_property_options(desc);
  add_log_options(desc);
  Options o;
  try {
    const auto parsed = po::command_line_parser(argc, argv).options(desc).run();
    reject_negative_unsigned(parsed, desc);
    po::store(parsed, o.vm);
    po::store(bootstrap_from_environment(desc), o.vm);
    po::notify(o.vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  } catch (const std::invalid_argument& e) {  // a negative number for an unsigned option
    throw UsageError(e.what());
  }
  const auto& vm = o.vm;
  if (vm.count("help")) {
    usage_text(desc);
    return std::nullopt;
  }
  try {
    if (!vm.count("topology")) throw UsageError("--topology is required (one of the pipelines `streamwright list` shows)");
    o.pipeline = vm["topology"].as<std::string>();
    o.application_id = vm["application-id"].as<std::string>();
    PipelineInfo info;
    try {
      info = describe_pipeline(o.pipeline, o.application_id);
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("--topology: ") + e.what());
    }
    if (!vm.count("bootstrap-servers") || vm["bootstrap-servers"].as<std::string>().empty())
      throw UsageError("--bootstrap-servers is required (or KAFKA_BOOTSTRAP_SERVERS)");
    o.bootstrap_servers = vm["bootstrap-servers"].as<std::string>();
    if (vm.count("metrics-url")) {
      for (const auto& spec : vm["metrics-url"].as<std::vector<std::string>>()) {
        MetricsEndpoint e;
        std::string url = spec;
        const auto eq = spec.find('=');
        if (eq != std::string::npos && spec.rfind("http", 0) != 0) {
          e.stage = spec.substr(0, eq);
          url = spec.substr(eq + 1);
          if (!info.stage(e.stage)) {
            std::string known;
            for (const auto& s : info.stages) known += (known.empty() ? "" : ", ") + s.name;
            throw UsageError("--metrics-url: " + o.pipeline + " has no stage '" + e.stage + "' (stages: " + known + ")");
          }
        }
        e.url = parse_http_url(url, "--metrics-url");
        o.metrics.push_back(std::move(e));
      }
    }
    if (vm.count("prometheus-url")) o.prometheus = parse_http_url(vm["prometheus-url"].as<std::string>(), "--prometheus-url");
    o.prometheus_selector = vm["prometheus-selector"].as<std::string>();
    if (!o.prometheus_selector.empty() && !o.prometheus)
      throw UsageError("--prometheus-selector needs --prometheus-url");
    if (o.prometheus_selector.find_first_of("{}") != std::string::npos)
      throw UsageError("--prometheus-selector takes matchers without braces, e.g. namespace=\"streaming\",job=~\"crash.*\"");
    o.address = vm["address"].as<std::string>();
    if (o.address.empty()) throw UsageError("--address must not be empty");
    if (vm["port"].as<unsigned>() > 65535) throw UsageError("--port must be below 65536");
    o.port = static_cast<std::uint16_t>(vm["port"].as<unsigned>());
    auto duration = [&](const char* name) {
      try {
        return parse_duration(vm[name].as<std::string>());
      } catch (const std::exception& e) {
        throw UsageError(std::string("--") + name + ": " + e.what());
      }
    };
    o.interval = duration("interval");
    if (o.interval < std::chrono::milliseconds(200)) throw UsageError("--interval must be at least 200ms");
    o.history = duration("history");
    if (o.history < o.interval * 2) throw UsageError("--history must cover at least two intervals");
    if (o.history > std::chrono::hours(24)) throw UsageError("--history must be at most 24h (it is held in memory)");
    o.scrape_timeout = duration("scrape-timeout");
    if (o.scrape_timeout.count() <= 0) throw UsageError("--scrape-timeout must be positive");
    o.log_level = vm["log-level"].as<std::string>();
    try {
      check_shell_options(vm);
      o.kafka = kafka_properties(vm, kafka::ClientRoles::consumer);
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());
    }
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    throw UsageError(name_the_option(vm, e.what()));
  }
  return o;
}

}  // namespace sw::console
