#pragma once
// Reading a service's own HTTP endpoints on loopback (launcher, tests, benchmarks), and summing
// samples out of Prometheus text.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace sw::metrics {

struct HttpResult {
  int status = 0;  // 0: no answer (refused, timed out)
  std::string body;
};

HttpResult http_get(std::uint16_t port, const std::string& path,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

// Sum of the samples whose line starts with `selector`: a metric name (every series of it) or a
// name with a label prefix such as `name{stage="parse"`.
double sum_samples(std::string_view exposition, std::string_view selector);

}  // namespace sw::metrics
