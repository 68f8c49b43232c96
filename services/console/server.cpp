#include "services/console/server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <chrono>
#include <stdexcept>

#include "services/console/model.h"
#include "services/console/web_assets.h"

namespace sw::console {

using namespace std::chrono_literals;

namespace {

void json_response(httplib::Response& res, const std::string& body, int status = 200) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body, "application/json; charset=utf-8");
}

void security_headers(httplib::Response& res) {
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY");
  // Scripts and data from this origin only; uPlot sets element styles from script.
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                 "connect-src 'self'; frame-ancestors 'none'");
}

}  // namespace

Server::Server(const std::string& address, std::uint16_t port, Model& model)
    : model_(model), server_(std::make_unique<httplib::Server>()) {
  auto& s = *server_;
  s.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  s.set_read_timeout(5, 0);
  s.set_write_timeout(5, 0);
  s.set_keep_alive_timeout(5);
  s.set_keep_alive_max_count(100);
  s.set_payload_max_length(64 * 1024);
  // SO_REUSEADDR only (httplib's default adds SO_REUSEPORT: a second console could share the port).
  int listen_fd = -1;
  s.set_socket_options([&listen_fd](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd = sock;
  });
  s.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) { security_headers(res); });

  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  s.Get("/readyz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ready\n", "text/plain"); });
  s.Get("/api/pipeline", [this](const httplib::Request&, httplib::Response& res) { json_response(res, model_.pipeline_json()); });
  s.Get("/api/status", [this](const httplib::Request&, httplib::Response& res) { json_response(res, model_.status_json()); });
  s.Get("/api/outputs", [this](const httplib::Request&, httplib::Response& res) { json_response(res, model_.outputs_json()); });
  s.Get("/api/dead-letters",
        [this](const httplib::Request&, httplib::Response& res) { json_response(res, model_.dead_letters_json()); });
  s.Get("/api/snapshot", [this](const httplib::Request&, httplib::Response& res) { json_response(res, model_.snapshot_json()); });
  s.Get("/api/history", [this](const httplib::Request& req, httplib::Response& res) {
    TimestampMs since = 0;
    if (req.has_param("since")) {
      try {
        since = std::stoll(req.get_param_value("since"));
      } catch (const std::exception&) {
        json_response(res, R"({"error":"since must be a time in milliseconds since the epoch"})", 400);
        return;
      }
    }
    json_response(res, model_.history_json(since));
  });
  s.Get("/api/events", [this](const httplib::Request&, httplib::Response& res) {
    if (streams_.fetch_add(1) >= kMaxEventStreams) {
      streams_.fetch_sub(1);
      json_response(res, R"({"error":"too many event streams; poll /api/snapshot instead"})", 503);
      return;
    }
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no");
    struct Stream {
      std::uint64_t seen = ~std::uint64_t{0};
      std::chrono::steady_clock::time_point last_write{};
      bool started = false;
    };
    auto st = std::make_shared<Stream>();
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, st](std::size_t, httplib::DataSink& sink) {
          if (stopping_.load()) return false;
          if (!st->started) {
            st->started = true;
            const std::string hello = "retry: 3000\n\n";
            if (!sink.write(hello.data(), hello.size())) return false;
          }
          // At most one update a second; a keep-alive comment every 10 s shows a dead client.
          const auto since = std::chrono::steady_clock::now() - st->last_write;
          if (since < 1s) {
            std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(1s - since, 250ms));
            return !stopping_.load();
          }
          const auto v = model_.wait_change(st->seen, 500ms);
          if (stopping_.load()) return false;
          if (v != st->seen) {
            st->seen = v;
            const std::string msg = "event: snapshot\nid: " + std::to_string(v) + "\ndata: " + model_.snapshot_json() + "\n\n";
            if (!sink.write(msg.data(), msg.size())) return false;
            st->last_write = std::chrono::steady_clock::now();
          } else if (std::chrono::steady_clock::now() - st->last_write > 10s) {
            const std::string ping = ": keep-alive\n\n";
            if (!sink.write(ping.data(), ping.size())) return false;
            st->last_write = std::chrono::steady_clock::now();
          }
          return true;
        },
        [this](bool) { streams_.fetch_sub(1); });
  });
  s.Get("/api/.*", [](const httplib::Request&, httplib::Response& res) {
    json_response(res, R"({"error":"no such API path; see docs/console.md"})", 404);
  });
  s.Get(".*", [](const httplib::Request& req, httplib::Response& res) {
    const auto* a = find_web_asset(req.path);
    if (!a) {
      res.status = 404;
      res.set_content("not found\n", "text/plain");
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_content(std::string(a->body), std::string(a->content_type).c_str());
  });
  const auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "GET, HEAD");
    res.set_content("the console is read-only\n", "text/plain");
  };
  s.Post(".*", not_allowed);
  s.Put(".*", not_allowed);
  s.Delete(".*", not_allowed);
  s.Patch(".*", not_allowed);
  s.Options(".*", not_allowed);

  if (port == 0) {
    const int p = s.bind_to_any_port(address);
    if (p <= 0) throw std::runtime_error("cannot listen on " + address + ": bad address or no free port");
    port_ = static_cast<std::uint16_t>(p);
  } else {
    if (!s.bind_to_port(address, port))
      throw std::runtime_error("cannot listen on " + address + ":" + std::to_string(port) +
                               " (address in use, or not an address of this host)");
    port_ = port;
  }
  if (listen_fd >= 0) ::listen(listen_fd, SOMAXCONN);
  s.set_socket_options(httplib::default_socket_options);  // the hook's reference dies here
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running()) std::this_thread::sleep_for(1ms);
}

Server::~Server() { stop(); }

void Server::stop() {
  if (!server_) return;
  stopping_.store(true);
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace sw::console
