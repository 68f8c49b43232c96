#include "metrics/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>

namespace sw::metrics {

HttpResult http_get(std::uint16_t port, const std::string& path, std::chrono::milliseconds timeout) {
  HttpResult result;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return result;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[16384];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  if (out.size() > 12 && out.rfind("HTTP/", 0) == 0) result.status = std::atoi(out.c_str() + 9);
  const auto body = out.find("\r\n\r\n");
  if (body != std::string::npos) result.body = out.substr(body + 4);
  return result;
}

double sum_samples(std::string_view text, std::string_view selector) {
  const bool whole_family = selector.find('{') == std::string_view::npos;
  double sum = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const auto line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#' || line.substr(0, selector.size()) != selector) continue;
    if (whole_family) {
      const char next = line.size() > selector.size() ? line[selector.size()] : ' ';
      if (next != '{' && next != ' ') continue;
    }
    const auto sp = line.rfind(' ');
    if (sp == std::string_view::npos) continue;
    double v = 0;
    const auto value = line.substr(sp + 1);
    if (std::from_chars(value.data(), value.data() + value.size(), v).ec == std::errc()) sum += v;
  }
  return sum;
}

}  // namespace sw::metrics
