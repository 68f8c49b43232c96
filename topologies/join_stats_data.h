#pragma once
// Sample data for join-stats: a product catalogue (the static dataset) and sales events that name
// its products, with Zipf-skewed popularity (a few products sell most), prices around each
// product's list price (cents), quantities, the odd event without a quantity (null), and
// optionally unknown products. The ids match topologies/data/join-stats/products.json, which
// products_json() produces. Deterministic per seed: the load generator's --mode join-stats, the
// shipped events.jsonl, the tests and the benchmark use it.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/time.h"

namespace sw::join_stats {

struct GeneratorConfig {
  std::uint64_t seed = 1;
  std::uint32_t products = 200;
  std::uint32_t stores = 20;
  double zipf_exponent = 1.1;       // 0: uniform
  double unknown_rate = 0.0;        // fraction of events naming a product the catalogue lacks
  double null_quantity_rate = 0.01; // fraction of events whose quantity is null
  double out_of_order = 0.0;        // fraction shifted back by up to max_disorder
  std::chrono::milliseconds max_disorder{5000};
};

std::string product_id(std::uint32_t index);  // "p-0007"
std::string product_category(std::uint32_t index);
std::int64_t product_list_price_cents(std::uint32_t index);

// The catalogue rows as a JSON array, one object per line.
std::string products_json(std::uint32_t products);

class SalesEventGenerator {
 public:
  explicit SalesEventGenerator(const GeneratorConfig& config);
  // One sale at event time `now` (before any disorder); the key is the order id.
  void next(TimestampMs now, std::string& key, std::string& value);

 private:
  std::uint64_t rand();
  double uniform() { return static_cast<double>(rand() >> 11) * 0x1.0p-53; }
  GeneratorConfig config_;
  std::uint64_t state_;
  std::vector<double> cumulative_;  // Zipf CDF over products
  std::uint64_t sequence_ = 0;
};

// The shipped sample (topologies/data/join-stats): products.json (200 products) and events.jsonl
// (1200 sales over ten minutes from 2026-01-01T10:00:00Z, 1% unknown products).
std::string sample_products();
std::string sample_events();
void write_sample_files(const std::filesystem::path& dir);

}  // namespace sw::join_stats
