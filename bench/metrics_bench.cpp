// What a metric update costs on the processing thread: Streamwright's registry against
// prometheus-cpp (Debian's prometheus-cpp-dev), for the operations the hot path performs
// (counter increments per record or per batch, a sampled latency histogram), and a scrape.
//
//   build/bin/streamwright-metrics-bench [--iterations N]
//
// Prints ns per operation for each; the numbers back the choice in docs/architecture.md.
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "metrics/metrics.h"

namespace {

template <class F>
double ns_per_op(std::uint64_t n, F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < n; ++i) f(i);
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / static_cast<double>(n);
}

// Two threads on one series: a stage's processing thread and a concurrent scrape are on
// different series, but tasks share counters such as outputs.
template <class F>
double ns_per_op_two_threads(std::uint64_t n, F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  std::thread other([&] {
    for (std::uint64_t i = 0; i < n; ++i) f(i);
  });
  for (std::uint64_t i = 0; i < n; ++i) f(i);
  other.join();
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / static_cast<double>(n);
}

volatile double sink_ = 0;

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t n = 20'000'000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--iterations") == 0) n = std::strtoull(argv[i + 1], nullptr, 10);

  sw::metrics::Registry ours;
  auto& counter = ours.counter("bench_records_total", "records", sw::metrics::labels({{"stage", "parse"}}));
  auto& histogram = ours.histogram("bench_latency_seconds", "latency", sw::metrics::labels({{"stage", "parse"}}),
                                   sw::metrics::latency_buckets());
  const auto buckets = sw::metrics::latency_buckets();
  auto registry = std::make_shared<prometheus::Registry>();
  auto& pc = prometheus::BuildCounter().Name("bench_records_total").Help("records").Register(*registry).Add({{"stage", "parse"}});
  auto& ph = prometheus::BuildHistogram()
                 .Name("bench_latency_seconds")
                 .Help("latency")
                 .Register(*registry)
                 .Add({{"stage", "parse"}}, prometheus::Histogram::BucketBoundaries(buckets.begin(), buckets.end()));
  // A scrape of a stage-sized registry: 60 series.
  for (int i = 0; i < 58; ++i) {
    const auto l = std::to_string(i);
    ours.counter("bench_series_total", "series", sw::metrics::labels({{"i", l}})).inc(static_cast<std::uint64_t>(i));
    prometheus::BuildCounter().Name("bench_series_total").Help("series").Register(*registry).Add({{"i", l}}).Increment(i);
  }
  prometheus::TextSerializer serializer;

  std::printf("operation\tstreamwright ns/op\tprometheus-cpp ns/op\n");
  std::printf("counter increment\t%.2f\t%.2f\n", ns_per_op(n, [&](std::uint64_t) { counter.inc(); }),
              ns_per_op(n, [&](std::uint64_t) { pc.Increment(); }));
  std::printf("counter increment, 2 threads\t%.2f\t%.2f\n", ns_per_op_two_threads(n / 4, [&](std::uint64_t) { counter.inc(); }),
              ns_per_op_two_threads(n / 4, [&](std::uint64_t) { pc.Increment(); }));
  std::printf("histogram observe\t%.2f\t%.2f\n",
              ns_per_op(n / 4, [&](std::uint64_t i) { histogram.observe(static_cast<double>(i % 1000) * 1e-4); }),
              ns_per_op(n / 4, [&](std::uint64_t i) { ph.Observe(static_cast<double>(i % 1000) * 1e-4); }));
  std::printf("histogram observe, 2 threads\t%.2f\t%.2f\n",
              ns_per_op_two_threads(n / 16, [&](std::uint64_t i) { histogram.observe(static_cast<double>(i % 1000) * 1e-4); }),
              ns_per_op_two_threads(n / 16, [&](std::uint64_t i) { ph.Observe(static_cast<double>(i % 1000) * 1e-4); }));
  std::printf("scrape of 60 series\t%.0f\t%.0f\n", ns_per_op(2000, [&](std::uint64_t) { sink_ = static_cast<double>(ours.render().size()); }),
              ns_per_op(2000, [&](std::uint64_t) { sink_ = static_cast<double>(serializer.Serialize(registry->Collect()).size()); }));
  return 0;
}
