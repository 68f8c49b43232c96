#pragma once
// The console's HTTP server (cpp-httplib with a thread pool): the embedded page, the JSON API and
// its Server-Sent Events stream. Read-only: GET and HEAD; anything else is 405.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace sw::console {

class Model;

class Server {
 public:
  // Binds at construction (throws std::runtime_error when the address is bad or the port taken);
  // port 0 picks a free one.
  Server(const std::string& address, std::uint16_t port, Model& model);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  // Ends the event streams, stops accepting, and waits for every thread. Idempotent.
  void stop();

  static constexpr int kWorkers = 24;
  // Event streams open at once; more get 503 and the page polls instead. The rest of the pool
  // stays free for the API and the page.
  static constexpr int kMaxEventStreams = 8;

 private:
  Model& model_;
  std::unique_ptr<httplib::Server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> streams_{0};
};

}  // namespace sw::console
