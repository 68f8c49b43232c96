#include "service/shell.h"

#include <malloc.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>

#include "common/duration.h"
#include "service/options.h"

namespace po = boost::program_options;

namespace sw {

namespace {
// The only state a signal handler touches: a lock-free flag the shell's watcher thread polls.
std::atomic<bool> g_stop_signal{false};
static_assert(std::atomic<bool>::is_always_lock_free);
extern "C" void on_stop_signal(int) { g_stop_signal.store(true, std::memory_order_relaxed); }
}  // namespace

void add_kafka_property_options(po::options_description& d) {
  // clang-format off
  d.add_options()
    ("kafka-property", po::value<std::vector<std::string>>()->composing(), "extra librdkafka property key=value (repeatable)")
    ("kafka-properties-file", po::value<std::vector<std::string>>()->composing(),
         "librdkafka properties as key=value lines, repeatable; KAFKA_PROPERTY_* and --kafka-property win");
  // clang-format on
}

void add_http_options(po::options_description& d, unsigned default_port) {
  // clang-format off
  d.add_options()
    ("metrics-address", po::value<std::string>()->default_value("0.0.0.0"), "address of the HTTP endpoint")
    ("metrics-port", po::value<unsigned>()->default_value(default_port), "port of /metrics, /healthz, /readyz (0: any free port)");
  // clang-format on
}

void add_log_options(po::options_description& d) {
  d.add_options()("log-level", po::value<std::string>()->default_value("info"), "trace, debug, info, warn, error");
}

kafka::Config kafka_properties(const po::variables_map& vm, kafka::ClientRoles roles) {
  kafka::Config c;
  c.set_user_properties(
      vm.count("kafka-properties-file") ? vm["kafka-properties-file"].as<std::vector<std::string>>() : std::vector<std::string>{},
      vm.count("kafka-property") ? vm["kafka-property"].as<std::vector<std::string>>() : std::vector<std::string>{},
      "--kafka-property", roles);
  return c;
}

void check_shell_options(const po::variables_map& vm) {
  if (vm.count("log-level") && !valid_log_level(vm["log-level"].as<std::string>()))
    throw std::invalid_argument("--log-level must be trace, debug, info, warn, error, critical or off");
  if (vm.count("metrics-port") && vm["metrics-port"].as<unsigned>() > 65535)
    throw std::invalid_argument("--metrics-port must be below 65536");
}

namespace {
// librdkafka's broker threads allocate fetched records and the processing thread frees them.
// glibc gives each allocating thread an arena (up to 8 per core) and each keeps what is freed
// into it, so the peak resident set grows with the thread count rather than with the data
// held. Two arenas: the flood of BoundedMemory peaked at 69-77 MiB instead of 75-97 MiB, at the
// same throughput. MALLOC_ARENA_MAX, when set, wins.
void limit_malloc_arenas() {
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 2);
}
}  // namespace

ServiceShell::ServiceShell(std::string program) : program_(std::move(program)) { limit_malloc_arenas(); }

ServiceShell::~ServiceShell() {
  if (http_) http_->stop();
}

void ServiceShell::start_logging(const po::variables_map& vm, const std::string& logger) {
  spdlog::set_default_logger(spdlog::stderr_color_mt(logger));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  spdlog::set_level(spdlog::level::from_str(vm.count("log-level") ? vm["log-level"].as<std::string>() : "info"));
}

void ServiceShell::serve(const po::variables_map& vm, metrics::Registry& registry, std::function<bool()> alive,
                         std::function<bool()> ready, metrics::HttpServer::Handler more) {
  serve(vm["metrics-address"].as<std::string>(), static_cast<std::uint16_t>(vm["metrics-port"].as<unsigned>()), registry,
        std::move(alive), std::move(ready), std::move(more));
}

void ServiceShell::serve(const std::string& address, std::uint16_t port, metrics::Registry& registry,
                         std::function<bool()> alive, std::function<bool()> ready, metrics::HttpServer::Handler more) {
  http_ = std::make_unique<metrics::HttpServer>(
      address, port,
      [&registry, alive = std::move(alive), ready = std::move(ready), more = std::move(more)](const std::string& path) {
        if (path == "/metrics") return metrics::HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", registry.render()};
        if (path == "/healthz")
          return alive() ? metrics::HttpResponse{200, "text/plain", "ok\n"} : metrics::HttpResponse{503, "text/plain", "stalled\n"};
        if (path == "/readyz")
          return ready() ? metrics::HttpResponse{200, "text/plain", "ready\n"}
                         : metrics::HttpResponse{503, "text/plain", "not ready\n"};
        if (more) return more(path);
        return metrics::HttpResponse{404, "text/plain", "not found\n"};
      });
  spdlog::info("metrics and health on {}:{}", address, http_->port());
  // Tools and tests read this line to find the port when --metrics-port 0 is used.
  std::cout << "metrics-port " << http_->port() << std::endl;
}

std::uint16_t ServiceShell::port() const noexcept { return http_ ? http_->port() : 0; }

int ServiceShell::run(const std::function<void()>& work, const std::function<void()>& stop,
                      std::chrono::milliseconds shutdown_timeout, const std::function<void()>& cleanup) {
  std::mutex mu;
  std::condition_variable cv;
  bool work_done = false, finished = false;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  const auto arm = [&] {  // under mu
    if (deadline == std::chrono::steady_clock::time_point::max()) deadline = std::chrono::steady_clock::now() + shutdown_timeout;
  };
  g_stop_signal.store(false);
  struct sigaction sa{}, old_term{}, old_int{};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGINT, &sa, &old_int);

  // The watcher: turns a signal into stop() (while `work` runs, so the objects stop() reaches are
  // alive), and exits the process when the shutdown outlives its bound.
  std::thread watcher([&] {
    std::unique_lock lock(mu);
    bool stopped = false;
    while (!finished) {
      cv.wait_for(lock, std::chrono::milliseconds(50));
      if (finished) break;
      if (!stopped && g_stop_signal.load(std::memory_order_relaxed)) {
        stopped = true;
        arm();
        if (!work_done) stop();
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        spdlog::error("{}: shutdown did not finish within {}; exiting without a clean stop", program_,
                      format_duration(shutdown_timeout));
        spdlog::default_logger()->flush();
        std::_Exit(1);
      }
    }
  });

  int code = 0;
  try {
    work();
  } catch (const std::exception& e) {
    spdlog::error("{} failed: {}", program_, e.what());
    code = 1;
  }
  {
    std::lock_guard lock(mu);
    work_done = true;
    arm();
  }
  if (http_) http_->stop();
  if (cleanup) cleanup();
  {
    std::lock_guard lock(mu);
    finished = true;
  }
  cv.notify_all();
  watcher.join();
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGINT, &old_int, nullptr);
  return code;
}

}  // namespace sw
