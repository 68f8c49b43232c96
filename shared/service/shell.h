#pragma once
// The shell every Streamwright program runs its work in: the options every service shares
// (Kafka properties, the HTTP endpoint, logging), logging, the /metrics, /healthz and /readyz
// endpoint, and a signal-driven stop with a shutdown watchdog. The stage services, the sinks and
// the lag exporter use it, so they start, report and stop alike.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "kafka/config.h"
#include "metrics/http_server.h"
#include "metrics/metrics.h"

namespace sw {

// --kafka-property and --kafka-properties-file.
void add_kafka_property_options(boost::program_options::options_description& d);
// --metrics-address and --metrics-port (default `port`).
void add_http_options(boost::program_options::options_description& d, unsigned default_port = 9464);
// --log-level.
void add_log_options(boost::program_options::options_description& d);
// Properties files, then KAFKA_PROPERTY_<KEY>, then --kafka-property, checked by librdkafka for
// `roles`; throws std::invalid_argument naming the source of a bad one.
kafka::Config kafka_properties(const boost::program_options::variables_map& vm, kafka::ClientRoles roles);
// Throws std::invalid_argument for a bad --log-level or --metrics-port.
void check_shell_options(const boost::program_options::variables_map& vm);

class ServiceShell {
 public:
  explicit ServiceShell(std::string program);
  ~ServiceShell();
  ServiceShell(const ServiceShell&) = delete;
  ServiceShell& operator=(const ServiceShell&) = delete;

  // Logs to stderr as `logger`, at the option's level, in the common pattern.
  void start_logging(const boost::program_options::variables_map& vm, const std::string& logger);

  // Serves /metrics from the registry and /healthz, /readyz from the callbacks (and `more` for
  // any other path), on --metrics-address and --metrics-port; prints "metrics-port N" on stdout,
  // which the launcher and the tests read. Throws std::runtime_error if it cannot listen.
  void serve(const boost::program_options::variables_map& vm, metrics::Registry& registry, std::function<bool()> alive,
             std::function<bool()> ready, metrics::HttpServer::Handler more = {});
  void serve(const std::string& address, std::uint16_t port, metrics::Registry& registry, std::function<bool()> alive,
             std::function<bool()> ready, metrics::HttpServer::Handler more = {});
  std::uint16_t port() const noexcept;

  // Runs `work` on this thread until it returns. SIGTERM and SIGINT make the shell call `stop`
  // (from its own thread, never from the signal handler). From the first stop (or the end of
  // `work`), `shutdown_timeout` bounds everything that follows, `work`'s return and then
  // `cleanup` (closing clients, leaving the group): past it the process logs and exits with
  // code 1, which is safe because nothing is committed before it is durable. Returns 0, or 1 when
  // `work` threw (logged).
  int run(const std::function<void()>& work, const std::function<void()>& stop, std::chrono::milliseconds shutdown_timeout,
          const std::function<void()>& cleanup = {});

 private:
  std::string program_;
  std::unique_ptr<metrics::HttpServer> http_;
};

}  // namespace sw
