#include "topologies/join_stats_data.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace sw::join_stats {

namespace {
constexpr std::array<const char*, 12> kCategories{"books",  "electronics", "garden", "toys",   "grocery", "sports",
                                                  "beauty", "home",        "music",  "office", "outdoor", "pets"};
constexpr std::array<const char*, 7> kBrands{"acme", "brightline", "cobalt", "dunmore", "evergreen", "fable", "granite"};

std::string format(const char* fmt, std::uint32_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, i);
  return buf;
}

void append_cents(std::string& out, std::int64_t cents) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(cents / 100), static_cast<long long>(cents % 100));
  out += buf;
}
}  // namespace

std::string product_id(std::uint32_t i) { return format("p-%04u", i); }
// Every category, spread over the ids (popular products, the low ids, fall in different ones).
std::string product_category(std::uint32_t i) { return kCategories[((i * 2654435761u) >> 16) % kCategories.size()]; }
std::int64_t product_list_price_cents(std::uint32_t i) { return 199 + static_cast<std::int64_t>((i * 7919u) % 24800u); }

std::string products_json(std::uint32_t products) {
  std::string out = "[\n";
  for (std::uint32_t i = 0; i < products; ++i) {
    out += "  {\"product_id\": \"" + product_id(i) + "\", \"category\": \"" + product_category(i) + "\", \"brand\": \"" +
           kBrands[i % kBrands.size()] + "\", \"list_price\": ";
    append_cents(out, product_list_price_cents(i));
    out += i + 1 < products ? "},\n" : "}\n";
  }
  out += "]\n";
  return out;
}

SalesEventGenerator::SalesEventGenerator(const GeneratorConfig& c) : config_(c), state_(c.seed * 0x9E3779B97F4A7C15ULL + 7) {
  if (c.products == 0 || c.stores == 0) throw std::invalid_argument("products and stores must be positive");
  cumulative_.resize(c.products);
  double total = 0;
  for (std::uint32_t i = 0; i < c.products; ++i) {
    total += 1.0 / std::pow(static_cast<double>(i + 1), c.zipf_exponent);
    cumulative_[i] = total;
  }
  for (auto& v : cumulative_) v /= total;
}

std::uint64_t SalesEventGenerator::rand() {
  // xorshift64*: fast, good enough for load and deterministic.
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return state_ * 2685821657736338717ULL;
}

void SalesEventGenerator::next(TimestampMs now, std::string& key, std::string& value) {
  const double u = uniform();
  const auto product = static_cast<std::uint32_t>(
      std::min<std::ptrdiff_t>(std::lower_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin(),
                               static_cast<std::ptrdiff_t>(config_.products - 1)));
  const bool unknown = config_.unknown_rate > 0 && uniform() < config_.unknown_rate;
  const auto store = static_cast<std::uint32_t>(rand() % config_.stores);
  // 80% to 110% of the list price, in cents.
  const std::int64_t list = product_list_price_cents(product);
  const std::int64_t price = std::max<std::int64_t>(1, list * (80 + static_cast<std::int64_t>(rand() % 31)) / 100);
  // 1 most of the time, up to 8.
  std::uint32_t quantity = 1;
  while (quantity < 8 && uniform() < 0.35) ++quantity;
  const bool null_quantity = config_.null_quantity_rate > 0 && uniform() < config_.null_quantity_rate;
  TimestampMs ts = now;
  if (config_.out_of_order > 0 && uniform() < config_.out_of_order)
    ts -= static_cast<TimestampMs>(uniform() * static_cast<double>(config_.max_disorder.count()));
  const std::uint64_t seq = ++sequence_;

  char buf[48];
  std::snprintf(buf, sizeof buf, "o-%llu-%08llu", static_cast<unsigned long long>(config_.seed),
                static_cast<unsigned long long>(seq));
  key = buf;
  value.clear();
  value += "{\"order_id\":\"";
  value += key;
  value += "\",\"product_id\":\"";
  value += unknown ? format("p-x%04u", product) : product_id(product);
  value += "\",\"store_id\":\"";
  value += format("s-%02u", store);
  value += "\",\"price\":";
  append_cents(value, price);
  value += ",\"quantity\":";
  if (null_quantity)
    value += "null";
  else
    value += std::to_string(quantity);
  value += ",\"timestamp\":\"";
  format_rfc3339(ts, value);
  value += "\"}";
}

std::string sample_products() { return products_json(200); }

std::string sample_events() {
  GeneratorConfig g;
  g.unknown_rate = 0.01;
  g.out_of_order = 0.05;
  SalesEventGenerator gen(g);
  constexpr TimestampMs kStart = 1767261600000;  // 2026-01-01T10:00:00Z
  constexpr int kEvents = 1200;
  std::string out, key, value;
  for (int i = 0; i < kEvents; ++i) {
    gen.next(kStart + static_cast<TimestampMs>(i) * 600'000 / kEvents, key, value);
    out += value;
    out += '\n';
  }
  return out;
}

void write_sample_files(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "products.json") << sample_products();
  std::ofstream(dir / "events.jsonl") << sample_events();
}

}  // namespace sw::join_stats
