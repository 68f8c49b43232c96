// streamwright-telemetra-sink: upserts Telemetra's chat-summary and moments topics into
// PostgreSQL (tables chat_summary_minute and moments), committing offsets after the database.
#include <spdlog/spdlog.h>

#include <boost/program_options.hpp>

#include <iostream>

#include "common/duration.h"
#include "service/options.h"
#include "common/secret_file.h"
#include "service/shell.h"
#include "pg/conninfo.h"
#include "sink.h"

namespace po = boost::program_options;

namespace {
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
    ("batch-rows", po::value<unsigned>()->default_value(2000), "rows per database transaction (at most)")
    ("batch-linger", po::value<std::string>()->default_value("200ms"), "how long to gather a batch while records arrive")
    ("max-backoff", po::value<std::string>()->default_value("10s"), "longest wait between database retries")
    ("db-check-interval", po::value<std::string>()->default_value("5s"),
         "while nothing is written, how often the database connection is checked (/readyz is 503 when it fails)")
    ("shutdown-timeout", po::value<std::string>()->default_value("30s"),
         "after SIGTERM, exit anyway if committing and leaving the group takes longer (e.g. broker or database gone)");
  // clang-format on
  sw::add_kafka_property_options(desc);
  sw::add_http_options(desc);
  sw::add_log_options(desc);
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
    config.kafka = sw::kafka_properties(vm, sw::kafka::ClientRoles::consumer);
    config.group_id = vm["group-id"].as<std::string>();
    config.summary_topic = vm["summary-topic"].as<std::string>();
    config.moments_topic = vm["moments-topic"].as<std::string>();
    config.batch_rows = vm["batch-rows"].as<unsigned>();
    if (config.batch_rows == 0) throw std::invalid_argument("--batch-rows must be positive");
    config.batch_linger = sw::parse_duration(vm["batch-linger"].as<std::string>());
    config.max_backoff = sw::parse_duration(vm["max-backoff"].as<std::string>());
    if (config.max_backoff < config.min_backoff) config.max_backoff = config.min_backoff;
    config.db_check_interval = sw::parse_duration(vm["db-check-interval"].as<std::string>());
    if (config.db_check_interval.count() <= 0) throw std::invalid_argument("--db-check-interval must be positive");
    if (sw::parse_duration(vm["shutdown-timeout"].as<std::string>()).count() <= 0)
      throw std::invalid_argument("--shutdown-timeout must be positive");
    sw::check_shell_options(vm);
  } catch (const std::exception& e) {
    std::cerr << "streamwright-telemetra-sink: " << sw::name_the_option(vm, e.what()) << "\n";
    return 2;
  }

  sw::ServiceShell shell("streamwright-telemetra-sink");
  shell.start_logging(vm, "telemetra-sink");
  spdlog::info("PostgreSQL: {}", sw::pg::redact(config.conninfo));
  spdlog::info("Kafka settings:\n{}", config.kafka.redacted());

  sw::metrics::Registry registry;
  std::unique_ptr<sw::telemetra::PgSink> sink;
  try {
    sink = std::make_unique<sw::telemetra::PgSink>(config, registry);
    auto* s = sink.get();
    shell.serve(vm, registry, [s] { return s->alive(); }, [s] { return s->ready(); });
  } catch (const std::exception& e) {
    spdlog::error("cannot start: {}", e.what());
    return 1;
  }
  const int code = shell.run([&] { sink->run(); }, [&] { sink->stop(); },
                             sw::parse_duration(vm["shutdown-timeout"].as<std::string>()), [&] { sink.reset(); });
  spdlog::info("sink stopped");
  return code;
}
