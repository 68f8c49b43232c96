// The HTTP endpoint every service exposes to the cluster network (metrics::HttpServer on
// cpp-httplib): whatever bytes a client sends, the server neither crashes nor hangs, answers
// anything it answers with an HTTP status line, and still serves /healthz afterwards.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "fuzz_check.h"
#include "metrics/http_client.h"
#include "metrics/http_server.h"
#include "metrics/metrics.h"

namespace {
sw::metrics::Registry* g_registry = nullptr;
sw::metrics::HttpServer* g_server = nullptr;
std::uint64_t g_runs = 0;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_registry = new sw::metrics::Registry();
  g_registry->counter("fuzz_requests_total", "requests").inc();
  g_server = new sw::metrics::HttpServer("127.0.0.1", 0, [](const std::string& path) {
    if (path == "/metrics") return sw::metrics::HttpResponse{200, "text/plain; version=0.0.4", g_registry->render()};
    if (path == "/healthz") return sw::metrics::HttpResponse{200, "text/plain", "ok\n"};
    return sw::metrics::HttpResponse{404, "text/plain", "not found\n"};
  });
  return 0;
}

// A connection to the server. At thousands of connections a second the local side can run short
// of ports for a moment (the server's TIME_WAIT entries share the 4-tuples): a fresh socket is
// tried again then; a server that is gone stays refused and fails the check.
namespace {
int connect_to_server() {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(g_server->port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(fd >= 0);
    // Close with a reset: thousands of connections per second would otherwise use up the local
    // ports in TIME_WAIT.
    linger lg{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return fd;
    const int err = errno;
    ::close(fd);
    if (err != EADDRNOTAVAIL && err != EAGAIN && err != ECONNREFUSED && err != EINTR && err != ETIMEDOUT) break;
    ::usleep(10000);
  }
  return -1;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int fd = connect_to_server();
  FUZZ_CHECK(fd >= 0);
  timeval tv{0, 300000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (size) (void)::send(fd, data, size, MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0 && reply.size() < (1u << 20);) reply.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  FUZZ_CHECK(reply.empty() || reply.rfind("HTTP/1.", 0) == 0);
  if (++g_runs % 128 == 0) FUZZ_CHECK(sw::metrics::http_get(g_server->port(), "/healthz").status == 200);
  return 0;
}
