// Times the window cache (shared/topology/window_cache.h) on its own, in memory (a store that
// holds nothing: the cache is complete, as below its bound): the per-record update, and closing
// one window end's windows while many more ends stay open, against a scan of the whole cache
// (how closing worked before the close-order index). Reports; asserts nothing.
//
// Usage: sw_window_cache_bench [--keys K] [--open-ends E] [--steps S]
//   K keys, each with a window open at E consecutive ends (K * E cached windows); each step
//   adds the next end's windows and closes the earliest end's K windows.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "topology/serde.h"
#include "topology/window_cache.h"

namespace {

using namespace sw;
using Clock = std::chrono::steady_clock;

class NullStore final : public WindowStore {
 public:
  bool get(const state::WindowKey&, std::string&) override { return false; }
  void scan_until(TimestampMs, const std::function<void(const state::WindowKey&, std::string_view)>&) override {}
  void put(const state::WindowKey&, std::string_view) override {}
  void remove(const state::WindowKey&) override {}
  void flush(std::string_view) override {}
  void commit() override {}
};

// The closing of the aggregates before the index: visit every cached window, sort those due.
struct ScanningCache {
  using Keyed = detail::WindowKeyed<std::string>;
  struct Entry {
    std::int64_t value;
    TimestampMs end;
  };
  Keyed::Map<Entry> map;
  std::vector<Keyed::Map<Entry>::value_type*> closing;
  Entry& find_or_create(const std::string& key, const Window& w) {
    auto it = map.find(Keyed::CacheKeyView{key, w.start});
    if (it == map.end()) it = map.emplace(Keyed::CacheKey{key, w.start}, Entry{0, w.end}).first;
    return it->second;
  }
  std::size_t close(TimestampMs bound) {
    closing.clear();
    for (auto& kv : map)
      if (kv.second.end <= bound) closing.push_back(&kv);
    std::sort(closing.begin(), closing.end(), [](const auto* a, const auto* b) {
      return a->second.end != b->second.end ? a->second.end < b->second.end : a->first.key < b->first.key;
    });
    for (auto* kv : closing) map.erase(map.find(Keyed::CacheKeyView{kv->first.key, kv->first.start}));
    return closing.size();
  }
};

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

int main(int argc, char** argv) {
  std::size_t keys = 20'000, open_ends = 50, steps = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::size_t v = std::strtoull(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--keys")) keys = v;
    else if (!std::strcmp(argv[i], "--open-ends")) open_ends = v;
    else if (!std::strcmp(argv[i], "--steps")) steps = v;
    else {
      std::fprintf(stderr, "usage: %s [--keys K] [--open-ends E] [--steps S]\n", argv[0]);
      return 2;
    }
  }
  if (keys == 0 || open_ends == 0 || steps == 0) {
    std::fprintf(stderr, "every count must be positive\n");
    return 2;
  }
  constexpr TimestampMs kSize = 10'000;
  std::vector<std::string> names(keys);
  for (std::size_t k = 0; k < keys; ++k) names[k] = "user-" + std::to_string(k * 7919 % 1'000'003);
  const auto window = [&](std::size_t end_index) {
    const TimestampMs end = static_cast<TimestampMs>(end_index + 1) * kSize;
    return Window{end - kSize, end};
  };

  NullStore store;
  detail::WindowCache<std::string, std::int64_t> cache(store, {serdes::string(), serdes::int64(), std::nullopt},
                                                       [] { return std::int64_t{0}; }, {SIZE_MAX, 0, true});
  ScanningCache scanning;
  for (std::size_t e = 0; e < open_ends; ++e)
    for (std::size_t k = 0; k < keys; ++k) {
      auto& item = cache.find_or_create(names[k], window(e));
      ++item.second.value;
      scanning.find_or_create(names[k], window(e)).value++;
    }

  // Updates of cached windows: the per-record path.
  const std::size_t updates = 2'000'000;
  auto t0 = Clock::now();
  for (std::size_t i = 0; i < updates; ++i) {
    auto& item = cache.find_or_create(names[(i * 40503) % keys], window(open_ends - 1 - i % 4));
    ++item.second.value;
    item.second.dirty = true;
  }
  const double update_s = seconds_since(t0);

  std::vector<detail::WindowCache<std::string, std::int64_t>::Item*> closing, expiring;
  double index_s = 0, scan_s = 0;
  std::size_t closed_index = 0, closed_scan = 0;
  for (std::size_t s = 0; s < steps; ++s) {
    const std::size_t next = open_ends + s;
    for (std::size_t k = 0; k < keys; ++k) {
      ++cache.find_or_create(names[k], window(next)).second.value;
      scanning.find_or_create(names[k], window(next)).value++;
    }
    const TimestampMs bound = window(s).end;
    t0 = Clock::now();
    cache.take_due(bound, closing, expiring);
    for (auto* item : closing) cache.erase(*item);
    index_s += seconds_since(t0);
    closed_index += closing.size();
    t0 = Clock::now();
    closed_scan += scanning.close(bound);
    scan_s += seconds_since(t0);
  }
  if (closed_index != closed_scan || cache.size() != scanning.map.size()) {
    std::fprintf(stderr, "the two caches disagree: %zu against %zu windows closed\n", closed_index, closed_scan);
    return 1;
  }
  std::printf("# window cache: %zu keys x %zu open ends = %zu cached windows, %zu closing steps of %zu windows\n",
              keys, open_ends, keys * open_ends, steps, keys);
  std::printf("| operation | per step ms | per window ns | windows visited per step |\n| --- | ---: | ---: | ---: |\n");
  std::printf("| update a cached window (per record) | | %.1f | |\n", update_s * 1e9 / static_cast<double>(updates));
  std::printf("| close one end, close-order index | %.3f | %.1f | %.0f |\n", index_s * 1e3 / static_cast<double>(steps),
              index_s * 1e9 / static_cast<double>(closed_index),
              static_cast<double>(cache.closing_visits()) / static_cast<double>(steps));
  std::printf("| close one end, scan of the whole cache | %.3f | %.1f | %zu |\n", scan_s * 1e3 / static_cast<double>(steps),
              scan_s * 1e9 / static_cast<double>(closed_scan), keys * (open_ends + 1));
  return 0;
}
