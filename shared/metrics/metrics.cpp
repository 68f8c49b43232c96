#include "metrics/metrics.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace sw::metrics {

namespace {
void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0)  // integers exact up to 2^53
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    *std::to_chars(buf, buf + sizeof buf - 1, v).ptr = '\0';  // shortest exact representation
  out += buf;
}

void sample(std::string& out, const std::string& name, const std::string& labels, double v) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  append_number(out, v);
  out += '\n';
}
}  // namespace

std::string labels(std::initializer_list<std::pair<std::string_view, std::string_view>> kv) {
  std::string out;
  for (const auto& [k, v] : kv) {
    if (!out.empty()) out += ',';
    out += k;
    out += "=\"";
    for (char c : v) {
      if (c == '\\' || c == '"') {
        out += '\\';
        out += c;
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '"';
  }
  return out;
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::observe(double v) noexcept {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

void Histogram::render(const std::string& name, const std::string& lbls, std::string& out) const {
  std::uint64_t cumulative = 0;
  char le[64];
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    if (i < bounds_.size())
      std::snprintf(le, sizeof le, "%g", bounds_[i]);
    else
      std::snprintf(le, sizeof le, "+Inf");
    std::string l = lbls.empty() ? "" : lbls + ",";
    l += "le=\"";
    l += le;
    l += '"';
    sample(out, name + "_bucket", l, static_cast<double>(cumulative));
  }
  sample(out, name + "_sum", lbls, sum_.load(std::memory_order_relaxed));
  sample(out, name + "_count", lbls, static_cast<double>(count_.load(std::memory_order_relaxed)));
}

std::vector<double> latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

Registry::Family& Registry::family(const std::string& name, Type type, const std::string& help) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
  } else if (it->second.type != type) {
    throw std::logic_error("metric " + name + " registered with two types");
  }
  return it->second;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const std::string& lbls) {
  std::lock_guard lock(mu_);
  auto& f = family(name, Type::counter, help);
  for (auto& [l, c] : f.counters)
    if (l == lbls) return *c;
  Counter& c = counter_store_.emplace_back();
  f.counters.emplace_back(lbls, &c);
  return c;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const std::string& lbls) {
  std::lock_guard lock(mu_);
  auto& f = family(name, Type::gauge, help);
  for (auto& [l, g] : f.gauges)
    if (l == lbls) return *g;
  Gauge& g = gauge_store_.emplace_back();
  f.gauges.emplace_back(lbls, &g);
  return g;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help, const std::string& lbls,
                               std::vector<double> buckets) {
  std::lock_guard lock(mu_);
  auto& f = family(name, Type::histogram, help);
  for (auto& [l, h] : f.histograms)
    if (l == lbls) return *h;
  auto& h = histogram_store_.emplace_back(std::make_unique<Histogram>(std::move(buckets)));
  f.histograms.emplace_back(lbls, h.get());
  return *h;
}

void Registry::set_dynamic_gauges(const std::string& name, const std::string& help,
                                  std::vector<std::pair<std::string, double>> samples) {
  std::lock_guard lock(mu_);
  family(name, Type::gauge, help).dynamic = std::move(samples);
}

void Registry::set_dynamic_untyped(const std::string& name, const std::string& help,
                                   std::vector<std::pair<std::string, double>> samples) {
  std::lock_guard lock(mu_);
  family(name, Type::untyped, help).dynamic = std::move(samples);
}

std::string Registry::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out.reserve(8192);
  for (const auto& [name, f] : families_) {
    if (f.counters.empty() && f.gauges.empty() && f.histograms.empty() && f.dynamic.empty()) continue;
    out += "# HELP " + name + ' ';
    for (char c : f.help) {
      if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else out += c;
    }
    out += '\n';
    out += "# TYPE " + name + ' ';
    out += f.type == Type::counter ? "counter"
           : f.type == Type::gauge ? "gauge"
           : f.type == Type::histogram ? "histogram"
                                       : "untyped";
    out += '\n';
    for (const auto& [l, c] : f.counters) sample(out, name, l, static_cast<double>(c->value()));
    for (const auto& [l, g] : f.gauges) sample(out, name, l, g->value());
    for (const auto& [l, v] : f.dynamic) sample(out, name, l, v);
    for (const auto& [l, h] : f.histograms) h->render(name, l, out);
  }
  return out;
}

}  // namespace sw::metrics
