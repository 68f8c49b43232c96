#include "metrics/http_server.h"

#include <httplib.h>

#include <sys/socket.h>

#include <chrono>
#include <stdexcept>

namespace sw::metrics {

HttpServer::HttpServer(const std::string& bind_address, std::uint16_t port, Handler handler)
    : server_(std::make_unique<httplib::Server>()) {
  auto& s = *server_;
  s.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  s.set_read_timeout(kReadTimeoutSeconds, 0);
  s.set_write_timeout(kReadTimeoutSeconds, 0);
  s.set_keep_alive_timeout(kReadTimeoutSeconds);
  s.set_keep_alive_max_count(100);
  s.set_payload_max_length(64 * 1024);
  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which lets a second process bind
  // the same port and silently take half of the scrapes.
  int listen_fd = -1;
  s.set_socket_options([&listen_fd](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd = sock;
  });
  auto serve = [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
    const HttpResponse r = handler(req.path);
    res.status = r.status;
    res.set_content(r.body, r.content_type.c_str());
  };
  s.Get(".*", serve);
  // Anything but GET and HEAD (which httplib answers from the GET handler).
  const auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_content("method not allowed\n", "text/plain");
  };
  s.Post(".*", not_allowed);
  s.Put(".*", not_allowed);
  s.Delete(".*", not_allowed);
  s.Patch(".*", not_allowed);
  if (bind_address.empty()) throw std::runtime_error("empty metrics bind address");
  if (port == 0) {
    const int p = s.bind_to_any_port(bind_address);
    if (p <= 0) throw std::runtime_error("cannot listen on " + bind_address + ": bad address or no free port");
    port_ = static_cast<std::uint16_t>(p);
  } else {
    if (!s.bind_to_port(bind_address, port))
      throw std::runtime_error("cannot listen on " + bind_address + ":" + std::to_string(port) +
                               " (address in use, or not an address of this host)");
    port_ = port;
  }
  // httplib listens with a backlog of 5: a burst of connections (a port scan, scrapers at once)
  // would have SYNs dropped and retried a second later. Listening again raises the backlog.
  if (listen_fd >= 0) ::listen(listen_fd, SOMAXCONN);
  s.set_socket_options(httplib::default_socket_options);  // the hook's reference dies here
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() only reaches a server that is running: wait until it is, so that one destroyed right
  // away (a failed start-up) does not leave its thread listening.
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::stop() {
  if (!server_) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace sw::metrics
