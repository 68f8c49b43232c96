// streamwright-telemetra-sink: upserts Telemetra's chat-summary and moments topics into
// PostgreSQL (tables chat_summary_minute and moments), committing offsets after the database.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/program_options.hpp>

#include <csignal>
#include <iostream>

#include "common/duration.h"
#include "common/options.h"
#include "common/secret_file.h"
#include "metrics/http_server.h"
#include "pg/conninfo.h"
#include "sink.h"

namespace po = boost::program_options;

namespace {
sw::telemetra::PgSink* g_sink = nullptr;
extern "C" void on_signal(int) {
  if (g_sink) g_sink->stop();
}

// The seed's variable names; flags win.
std::string env_option(const std::string& env) {
  if (env == "KAFKA_BOOTSTRAP_SERVERS") return "bootstrap-servers";
  if (env == "POSTGRES_URL") return "postgres-url";
  if (env == "POSTGRES_USER") return "postgres-user";
  if (env == "POSTGRES_PASSWORD") return "postgres-password";
  if (env == "POSTGRES_PASSWORD_FILE") return "postgres-password-file";
  if (env == "STREAMWRIGHT_KAFKA_PROPERTIES_FILE") return "kafka-properties-file";
  return "";
}
}  // namespace

int main(int argc, char** argv) {
  po::options_description desc("streamwright-telemetra-sink options");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("bootstrap-servers", po::value<std::string>(), "Kafka bootstrap servers (env KAFKA_BOOTSTRAP_SERVERS)")
    ("postgres-url", po::value<std::string>(),
         "jdbc:postgresql://host:port/db, a libpq URI, or key=value pairs (env POSTGRES_URL)")
    ("postgres-user", po::value<std::string>()->default_value(""), "database user (env POSTGRES_USER)")
    ("postgres-password", po::value<std::string>()->default_value(""),
         "database password (env POSTGRES_PASSWORD; prefer the environment or a file: they keep the secret off the command line)")
    ("postgres-password-file", po::value<std::string>(),
         "read the database password from this file, e.g. a mounted Secret (env POSTGRES_PASSWORD_FILE); "
         "--postgres-password and POSTGRES_PASSWORD win")
    ("group-id", po::value<std::string>()->default_value("telemetra-sink"), "consumer group")
    ("summary-topic", po::value<std::string>()->default_value("chat-summary"), "window summaries (JSON)")
    ("moments-topic", po::value<std::string>()->default_value("moments"), "moments (JSON)")
    ("kafka-property", po::value<std::vector<std::string>>()->composing(), "extra librdkafka property key=value")
    ("kafka-properties-file", po::value<std::vector<std::string>>()->composing(),
         "librdkafka properties as key=value lines, repeatable (env STREAMWRIGHT_KAFKA_PROPERTIES_FILE); "
         "KAFKA_PROPERTY_* and --kafka-property win")
    ("batch-rows", po::value<unsigned>()->default_value(2000), "rows per database transaction (at most)")
    ("batch-linger", po::value<std::string>()->default_value("200ms"), "how long to gather a batch while records arrive")
    ("max-backoff", po::value<std::string>()->default_value("10s"), "longest wait between database retries")
    ("db-check-interval", po::value<std::string>()->default_value("5s"),
         "while nothing is written, how often the database connection is checked (/readyz is 503 when it fails)")
    ("metrics-address", po::value<std::string>()->default_value("0.0.0.0"), "address of the HTTP endpoint")
    ("metrics-port", po::value<unsigned>()->default_value(9464), "port of /metrics, /healthz, /readyz (0: any free port)")
    ("log-level", po::value<std::string>()->default_value("info"), "trace, debug, info, warn, error");
  // clang-format on
  po::variables_map vm;
  sw::telemetra::SinkConfig config;
  try {
    const auto parsed = po::parse_command_line(argc, argv, desc);
    sw::reject_negative_unsigned(parsed, desc);
    po::store(parsed, vm);
    po::store(po::parse_environment(desc, env_option), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << desc << "\nKafka properties also come from KAFKA_PROPERTY_<KEY> environment variables; a key ending in\n"
                << ".file reads its value from a file (KAFKA_PROPERTY_SASL_PASSWORD_FILE=/run/secrets/kafka/password).\n"
                << "libpq's own PGPASSFILE (a .pgpass file) works too when no password is given.\n";
      return 0;
    }
    if (!vm.count("bootstrap-servers")) throw std::invalid_argument("--bootstrap-servers (or KAFKA_BOOTSTRAP_SERVERS) is required");
    if (!vm.count("postgres-url")) throw std::invalid_argument("--postgres-url (or POSTGRES_URL) is required");
    config.bootstrap_servers = vm["bootstrap-servers"].as<std::string>();
    // Precedence as for Kafka properties: the file, then POSTGRES_PASSWORD, then the flag.
    std::string password = vm["postgres-password"].as<std::string>();
    if (password.empty() && vm.count("postgres-password-file"))
      password = sw::read_secret_file(vm["postgres-password-file"].as<std::string>(), "--postgres-password-file");
    config.conninfo = sw::pg::make_conninfo(vm["postgres-url"].as<std::string>(), vm["postgres-user"].as<std::string>(),
                                            password);
    config.kafka.set_user_properties(
        vm.count("kafka-properties-file") ? vm["kafka-properties-file"].as<std::vector<std::string>>()
                                          : std::vector<std::string>{},
        vm.count("kafka-property") ? vm["kafka-property"].as<std::vector<std::string>>() : std::vector<std::string>{},
        "--kafka-property", sw::kafka::ClientRoles::consumer);
    config.group_id = vm["group-id"].as<std::string>();
    config.summary_topic = vm["summary-topic"].as<std::string>();
    config.moments_topic = vm["moments-topic"].as<std::string>();
    config.batch_rows = vm["batch-rows"].as<unsigned>();
    if (config.batch_rows == 0) throw std::invalid_argument("--batch-rows must be positive");
    if (!sw::valid_log_level(vm["log-level"].as<std::string>()))
      throw std::invalid_argument("--log-level must be trace, debug, info, warn, error, critical or off");
    config.batch_linger = sw::parse_duration(vm["batch-linger"].as<std::string>());
    config.max_backoff = sw::parse_duration(vm["max-backoff"].as<std::string>());
    if (config.max_backoff < config.min_backoff) config.max_backoff = config.min_backoff;
    config.db_check_interval = sw::parse_duration(vm["db-check-interval"].as<std::string>());
    if (config.db_check_interval.count() <= 0) throw std::invalid_argument("--db-check-interval must be positive");
    if (vm["metrics-port"].as<unsigned>() > 65535) throw std::invalid_argument("--metrics-port must be below 65536");
  } catch (const std::exception& e) {
    std::cerr << "streamwright-telemetra-sink: " << sw::name_the_option(vm, e.what()) << "\n";
    return 2;
  }

  auto logger = spdlog::stderr_color_mt("telemetra-sink");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  spdlog::set_level(spdlog::level::from_str(vm["log-level"].as<std::string>()));
  spdlog::info("PostgreSQL: {}", sw::pg::redact(config.conninfo));
  spdlog::info("Kafka settings:\n{}", config.kafka.redacted());

  sw::metrics::Registry registry;
  std::unique_ptr<sw::telemetra::PgSink> sink;
  std::unique_ptr<sw::metrics::HttpServer> http;
  try {
    sink = std::make_unique<sw::telemetra::PgSink>(config, registry);
    auto* s = sink.get();
    http = std::make_unique<sw::metrics::HttpServer>(
        vm["metrics-address"].as<std::string>(), static_cast<std::uint16_t>(vm["metrics-port"].as<unsigned>()),
        [s, &registry](const std::string& path) -> sw::metrics::HttpResponse {
          if (path == "/metrics") return {200, "text/plain; version=0.0.4; charset=utf-8", registry.render()};
          if (path == "/healthz")
            return s->alive() ? sw::metrics::HttpResponse{200, "text/plain", "ok\n"}
                              : sw::metrics::HttpResponse{503, "text/plain", "stalled\n"};
          if (path == "/readyz")
            return s->ready() ? sw::metrics::HttpResponse{200, "text/plain", "ready\n"}
                              : sw::metrics::HttpResponse{503, "text/plain", "not ready\n"};
          return {404, "text/plain", "not found\n"};
        });
    std::cout << "metrics-port " << http->port() << std::endl;
  } catch (const std::exception& e) {
    spdlog::error("cannot start: {}", e.what());
    return 1;
  }
  g_sink = sink.get();
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  int code = 0;
  try {
    sink->run();
  } catch (const std::exception& e) {
    spdlog::error("sink failed: {}", e.what());
    code = 1;
  }
  g_sink = nullptr;
  http->stop();
  sink.reset();
  spdlog::info("sink stopped");
  return code;
}
