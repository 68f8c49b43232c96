// streamwright-lake-sink: Kafka topics into Delta Lake tables of Parquet files, exactly once
// (docs/lake.md). Options, logging, the health endpoint and signals; the work is in sink.cpp.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "common/duration.h"
#include "config.h"
#include "metrics/http_server.h"
#include "sink.h"

namespace {
sw::lake_sink::LakeSink* g_sink = nullptr;
// Set by a signal or when the run ends; the watchdog reads this, never the sink (which main
// destroys while the watchdog may still be looking).
std::atomic<bool> g_stopping{false};
extern "C" void on_signal(int) {
  g_stopping.store(true);
  if (g_sink) g_sink->stop();
}
}  // namespace

int main(int argc, char** argv) {
  sw::lake_sink::SinkConfig config;
  if (const int rc = sw::lake_sink::parse_options(argc, argv, config)) return rc < 0 ? 0 : rc;

  auto logger = spdlog::stderr_color_mt("lake-sink");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  if (!config.crash_point.empty())
    spdlog::error("STREAMWRIGHT_LAKE_TEST_CRASH_AT={}: this process kills itself at that point (tests only)",
                  config.crash_point);
  spdlog::info("Kafka settings:\n{}", config.kafka.redacted());

  sw::metrics::Registry registry;
  std::unique_ptr<sw::lake_sink::LakeSink> sink;
  std::unique_ptr<sw::metrics::HttpServer> http;
  try {
    sink = std::make_unique<sw::lake_sink::LakeSink>(config, registry);
    auto* s = sink.get();
    http = std::make_unique<sw::metrics::HttpServer>(
        config.metrics_address, static_cast<std::uint16_t>(config.metrics_port),
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
    spdlog::info("metrics and health on {}:{}", config.metrics_address, http->port());
    // Tools and tests read this line to find the port when --metrics-port 0 is used.
    std::cout << "metrics-port " << http->port() << std::endl;
  } catch (const std::exception& e) {
    spdlog::error("cannot start: {}", e.what());
    return 1;
  }

  // The final commit and leaving the group can block while Kafka or the storage is unreachable.
  // Giving up is safe: the tables hold every partition's progress, and the next owner resumes there.
  std::atomic<bool> finished{false};
  std::thread watchdog([&] {
    while (!finished.load() && !g_stopping.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto deadline = std::chrono::steady_clock::now() + config.shutdown_timeout;
    while (!finished.load()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        spdlog::error("shutdown did not finish within {}; exiting without a clean leave",
                      sw::format_duration(config.shutdown_timeout));
        spdlog::default_logger()->flush();
        std::_Exit(1);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

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
    spdlog::error("lake sink failed: {}", e.what());
    code = 1;
  }
  g_sink = nullptr;
  g_stopping.store(true);  // arms the watchdog for the rest of the shutdown, whatever ended the run
  sink->stop();
  http->stop();
  sink.reset();
  finished.store(true);
  watchdog.join();
  spdlog::info("lake sink stopped");
  return code;
}
