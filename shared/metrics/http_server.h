#pragma once
// A minimal HTTP/1.1 server for /metrics, /healthz and /readyz: one background thread, one
// request per connection. Not a general web server.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

namespace sw::metrics {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const std::string& path)>;
  // Binds at construction (throws std::runtime_error if the port is taken); port 0 picks one.
  HttpServer(const std::string& bind_address, std::uint16_t port, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  // Stops accepting and waits for the thread. Idempotent.
  void stop();

 private:
  void serve();
  void handle(int fd);

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  Handler handler_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sw::metrics
