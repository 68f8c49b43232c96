#include "metrics/http_client.h"

#include <httplib.h>

#include <charconv>
#include <cstdlib>

namespace sw::metrics {

HttpResult http_get(std::uint16_t port, const std::string& path, std::chrono::milliseconds timeout) {
  HttpResult result;
  httplib::Client client("127.0.0.1", port);
  const auto sec = static_cast<time_t>(timeout.count() / 1000);
  const auto usec = static_cast<time_t>((timeout.count() % 1000) * 1000);
  client.set_connection_timeout(sec, usec);
  client.set_read_timeout(sec, usec);
  client.set_write_timeout(sec, usec);
  if (auto res = client.Get(path)) {
    result.status = res->status;
    result.body = std::move(res->body);
  }
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
