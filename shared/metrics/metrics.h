#pragma once
// A small Prometheus registry. Metrics are registered once (start-up, assignment) and updated
// on the hot path with relaxed atomics; rendering happens on the HTTP thread.
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace sw::metrics {

// "k1=\"v1\",k2=\"v2\"" from pairs, with values escaped as the exposition format requires.
std::string labels(std::initializer_list<std::pair<std::string_view, std::string_view>> kv);

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept {
    double cur = v_.load(std::memory_order_relaxed);
    while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
    }
  }
  double value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v) noexcept;
  void render(const std::string& name, const std::string& labels, std::string& out) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1 (+Inf)
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

// Buckets for latencies in seconds, 0.5 ms to 60 s.
std::vector<double> latency_buckets();

class Registry {
 public:
  Counter& counter(const std::string& name, const std::string& help, const std::string& labels = "");
  Gauge& gauge(const std::string& name, const std::string& help, const std::string& labels = "");
  Histogram& histogram(const std::string& name, const std::string& help, const std::string& labels,
                       std::vector<double> buckets);
  // Replaces all samples of a gauge family whose label sets change at run time (per-partition
  // consumer lag, which moves with rebalances).
  void set_dynamic_gauges(const std::string& name, const std::string& help,
                          std::vector<std::pair<std::string, double>> samples);
  // The same for an untyped family: for names that other tools fixed and the linter would
  // reject as gauges (kafka_exporter's kafka_consumergroup_lag_sum ends in _sum).
  void set_dynamic_untyped(const std::string& name, const std::string& help,
                           std::vector<std::pair<std::string, double>> samples);
  std::string render() const;

 private:
  enum class Type { counter, gauge, histogram, untyped };
  struct Family {
    Type type;
    std::string help;
    std::vector<std::pair<std::string, Counter*>> counters;
    std::vector<std::pair<std::string, Gauge*>> gauges;
    std::vector<std::pair<std::string, Histogram*>> histograms;
    std::vector<std::pair<std::string, double>> dynamic;
  };
  Family& family(const std::string& name, Type type, const std::string& help);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
  std::deque<Counter> counter_store_;
  std::deque<Gauge> gauge_store_;
  std::deque<std::unique_ptr<Histogram>> histogram_store_;
};

}  // namespace sw::metrics
