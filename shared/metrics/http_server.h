#pragma once
// The HTTP endpoint of every service (/metrics, /healthz, /readyz, and the console's API): cpp-httplib
// with a thread pool, so idle, slow or many connections (a port scan, a stuck scraper) cannot hold
// a liveness probe back. GET and HEAD only.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace sw::metrics {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const std::string& path)>;
  // Binds at construction (throws std::runtime_error if the address is bad or the port taken);
  // port 0 picks one. The handler runs on the pool's threads, concurrently.
  HttpServer(const std::string& bind_address, std::uint16_t port, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  // Stops accepting, closes the connections and waits for the threads. Idempotent.
  void stop();

  // Worker threads: each open connection holds one until it sends a request or its read timeout
  // (kReadTimeout) passes; more connections than workers wait in the accept queue.
  static constexpr int kWorkers = 16;
  static constexpr int kReadTimeoutSeconds = 2;

 private:
  std::unique_ptr<httplib::Server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace sw::metrics
