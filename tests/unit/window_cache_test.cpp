// The window cache every windowed aggregate keeps its state in (topology/window_cache.h): closing
// visits only the windows it closes; evicted windows are read back and closed from the store at
// their own time; and a run with a tiny cache bound gives byte-identical outputs to an unbounded
// one, through commits, crashes and restores (plain aggregates in every mode, and Telemetra's
// aggregate with history).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common/time.h"
#include "testing/topology_test_driver.h"
#include "topologies/crash_monitor.h"
#include "topologies/telemetra.h"
#include "topology/dsl.h"

namespace sw {
namespace {

using testing::TopologyTestDriver;
constexpr TimestampMs kT = 1767261600000;  // 2026-01-01T10:00:00Z

// A window store in memory with the real one's staging: writes wait for flush() and commit();
// get and scan see committed writes only, in the local key order (end, start, key).
class MemoryWindowStore final : public WindowStore {
 public:
  using Key = std::tuple<TimestampMs, TimestampMs, std::string>;
  std::map<Key, std::string> committed;
  std::size_t gets = 0;

  bool get(const state::WindowKey& k, std::string& value) override {
    ++gets;
    const auto it = committed.find(Key{k.end, k.start, std::string(k.key)});
    if (it == committed.end()) return false;
    value = it->second;
    return true;
  }
  void scan_until(TimestampMs end_bound,
                  const std::function<void(const state::WindowKey&, std::string_view)>& f) override {
    for (const auto& [k, v] : committed) {
      if (std::get<0>(k) > end_bound) break;
      f(state::WindowKey{std::get<1>(k), std::get<0>(k), std::get<2>(k)}, v);
    }
  }
  void put(const state::WindowKey& k, std::string_view value) override {
    batch_.emplace_back(Key{k.end, k.start, std::string(k.key)}, std::string(value));
  }
  void remove(const state::WindowKey& k) override { batch_.emplace_back(Key{k.end, k.start, std::string(k.key)}, std::nullopt); }
  void flush(std::string_view) override { sealed_ = std::move(batch_), batch_.clear(); }
  void commit() override {
    for (auto& [k, v] : sealed_) {
      if (v) committed[k] = *v;
      else committed.erase(k);
    }
    sealed_.clear();
  }
  // flush + commit, as a task's commit does.
  void flush_and_commit() {
    flush("");
    commit();
  }

 private:
  std::vector<std::pair<Key, std::optional<std::string>>> batch_, sealed_;
};

using Counts = detail::WindowCache<std::string, std::int64_t>;

Counts counts(MemoryWindowStore& store, std::size_t max_cached, TimestampMs extra_retention = 0) {
  return Counts(store, {serdes::string(), serdes::int64(), std::nullopt}, [] { return std::int64_t{0}; },
                {max_cached, extra_retention, true});
}

void add(Counts& cache, const std::string& key, TimestampMs end, std::int64_t n = 1) {
  auto& item = cache.find_or_create(key, Window{end - 10, end});
  item.second.value += n;
  item.second.dirty = true;
}

using Closed = std::vector<std::tuple<TimestampMs, std::string, std::int64_t>>;
Closed close(Counts& cache, TimestampMs bound) {
  std::vector<Counts::Item*> closing, expiring;
  cache.take_due(bound, closing, expiring);
  Closed out;
  for (auto* item : closing) {
    out.emplace_back(item->second.end, item->first.key, item->second.value);
    cache.erase(*item);
  }
  for (auto* item : expiring) cache.erase(*item);
  return out;
}

// With an index by window end, closing five of a thousand window ends visits their 50 windows
// out of 10,000; a scan of the cache would visit all of them.
TEST(WindowCache, ClosingVisitsOnlyTheWindowsItCloses) {
  MemoryWindowStore store;
  auto cache = counts(store, 1'000'000);
  for (TimestampMs end = 10; end <= 10'000; end += 10)
    for (int k = 9; k >= 0; --k) add(cache, "k" + std::to_string(k), end, end / 10);
  ASSERT_EQ(cache.size(), 10'000u);
  const auto closed = close(cache, 50);
  ASSERT_EQ(closed.size(), 50u);
  EXPECT_EQ(cache.closing_visits(), 50u);
  EXPECT_TRUE(std::is_sorted(closed.begin(), closed.end()));  // (end, key): each key's windows in order
  EXPECT_EQ(closed.front(), (std::tuple<TimestampMs, std::string, std::int64_t>{10, "k0", 1}));
  EXPECT_EQ(closed.back(), (std::tuple<TimestampMs, std::string, std::int64_t>{50, "k9", 5}));
  EXPECT_EQ(cache.size(), 9'950u);
  EXPECT_EQ(cache.earliest_due(), 60);
  EXPECT_TRUE(close(cache, 55).empty());  // nothing due: nothing visited
  EXPECT_EQ(cache.closing_visits(), 50u);
  EXPECT_EQ(close(cache, 70).size(), 20u);
  EXPECT_EQ(cache.closing_visits(), 70u);
  EXPECT_EQ(store.gets, 0u);  // a complete cache never reads the store
}

// The caches of a process share one budget: each under its own bound, together over the budget,
// and the one that flushes while the process is over it drops its clean windows after the
// commit. Nothing is lost: evicted windows are read back and close with their values.
TEST(WindowCache, CachesOverTheProcessBudgetTogetherEvictAndReadBack) {
  state::CacheBudget budget(5);
  MemoryWindowStore store_a, store_b;
  {
    Counts a(store_a, {serdes::string(), serdes::int64(), std::nullopt}, [] { return std::int64_t{0}; },
             {100, 0, true, &budget});
    Counts b(store_b, {serdes::string(), serdes::int64(), std::nullopt}, [] { return std::int64_t{0}; },
             {100, 0, true, &budget});
    auto commit = [](Counts& c, MemoryWindowStore& s) {
      c.flush();
      s.flush_and_commit();
      c.after_commit();
    };
    for (int k = 0; k < 4; ++k) add(a, "a" + std::to_string(k), 10, k + 1);
    for (int k = 0; k < 3; ++k) add(b, "b" + std::to_string(k), 10, 10);
    commit(a, store_a);  // 4 of 5: a keeps its windows
    EXPECT_EQ(a.size(), 4u);
    EXPECT_TRUE(a.complete());
    commit(b, store_b);  // 7 of 5: b drops its clean windows
    EXPECT_EQ(b.size(), 0u);
    EXPECT_FALSE(b.complete());
    EXPECT_EQ(budget.entries(), 4u);
    commit(a, store_a);  // back under the budget: a keeps them
    EXPECT_EQ(a.size(), 4u);
    add(a, "a9", 10, 9);
    add(a, "a8", 10, 8);
    commit(a, store_a);  // 6 of 5
    EXPECT_EQ(a.size(), 0u);
    EXPECT_EQ(budget.entries(), 0u);
    add(b, "b1", 10, 5);  // read back: 10 + 5
    EXPECT_EQ(close(a, 10), (Closed{{10, "a0", 1}, {10, "a1", 2}, {10, "a2", 3}, {10, "a3", 4}, {10, "a8", 8}, {10, "a9", 9}}));
    EXPECT_EQ(close(b, 10), (Closed{{10, "b0", 10}, {10, "b1", 15}, {10, "b2", 10}}));
    commit(b, store_b);
  }
  EXPECT_EQ(budget.entries(), 0u);  // caches that go (a task revoked) leave the budget
}

// Beyond the bound, clean windows leave memory after a commit. A window needed again is read
// back; windows due that are not cached are read from the store when they close, each at its
// own end (not only while some cached window happens to be due too).
TEST(WindowCache, EvictedWindowsAreReadBackAndCloseAtTheirOwnEnd) {
  MemoryWindowStore store;
  auto cache = counts(store, 0);
  for (const char* k : {"a", "b", "c"}) {
    add(cache, k, 10, 1);
    add(cache, k, 20, 2);
  }
  cache.flush();
  store.flush_and_commit();
  cache.after_commit();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.complete());
  add(cache, "b", 20, 5);  // read back: 2 + 5
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(close(cache, 10), (Closed{{10, "a", 1}, {10, "b", 1}, {10, "c", 1}}));
  EXPECT_TRUE(close(cache, 15).empty());
  EXPECT_EQ(close(cache, 20), (Closed{{20, "a", 2}, {20, "b", 7}, {20, "c", 2}}));
  store.flush_and_commit();  // the deletes
  EXPECT_TRUE(store.committed.empty());
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.earliest_due(), INT64_MAX);
}

// A closed window whose delete is staged but not committed is still in RocksDB; closing from the
// store again must not emit it twice.
TEST(WindowCache, AWindowClosedFromTheStoreIsNotClosedAgainBeforeItsDeleteIsCommitted) {
  MemoryWindowStore store;
  auto cache = counts(store, 0);
  add(cache, "a", 10);
  add(cache, "a", 20);
  cache.flush();
  store.flush_and_commit();
  cache.after_commit();
  EXPECT_EQ(close(cache, 10), (Closed{{10, "a", 1}}));
  EXPECT_EQ(close(cache, 20), (Closed{{20, "a", 1}}));  // the store still holds a@10 here
  store.flush_and_commit();
  EXPECT_TRUE(store.committed.empty());
}

// Under a retention longer than the grace, a closed window stays (cached or evicted) until its
// retention ends, and then goes without being emitted again.
TEST(WindowCache, RetainedWindowsExpireFromTheCacheOrTheStore) {
  MemoryWindowStore store;
  auto cache = counts(store, 0, 100);
  add(cache, "a", 10);
  add(cache, "b", 10);
  std::vector<Counts::Item*> closing, expiring;
  cache.take_due(10, closing, expiring);
  ASSERT_EQ(closing.size(), 2u);
  for (auto* item : closing) cache.retain(*item);
  EXPECT_EQ(cache.earliest_due(), 110);
  cache.flush();
  store.flush_and_commit();
  cache.after_commit();  // both evicted; the store holds them until 110
  cache.take_due(109, closing, expiring);
  EXPECT_TRUE(closing.empty() && expiring.empty());
  cache.take_due(110, closing, expiring);
  EXPECT_TRUE(closing.empty());
  EXPECT_EQ(expiring.size(), 2u);
  for (auto* item : expiring) cache.erase(*item);
  store.flush_and_commit();
  EXPECT_TRUE(store.committed.empty());
}

// A value kept in parts (ValueParts): chunks of two names, written once when full, and a final
// part with the rest.
struct Names {
  std::vector<std::string> names;
  std::uint32_t chunks_written = 0;
};
ValueParts<Names> names_parts() {
  ValueParts<Names> p;
  p.changed = [](Names& n, std::vector<std::pair<std::uint32_t, std::string>>& out) {
    const auto full = static_cast<std::uint32_t>(n.names.size() / 2);
    for (auto k = n.chunks_written + 1; k <= full; ++k) out.emplace_back(k, n.names[2 * k - 2] + "," + n.names[2 * k - 1]);
    n.chunks_written = full;
    out.emplace_back(kFinalValuePart, n.names.size() % 2 ? n.names.back() : "");
  };
  p.load = [](std::uint32_t part, std::string_view bytes, Names& n) {
    if (part != kFinalValuePart) {
      const auto comma = bytes.find(',');
      n.names.emplace_back(bytes.substr(0, comma));
      n.names.emplace_back(bytes.substr(comma + 1));
      n.chunks_written = part;
    } else if (!bytes.empty()) {
      n.names.emplace_back(bytes);
    }
    return true;
  };
  p.stored = [](const Names& n, std::vector<std::uint32_t>& out) {
    for (std::uint32_t k = 1; k <= n.names.size() / 2; ++k) out.push_back(k);
    out.push_back(kFinalValuePart);
  };
  return p;
}

TEST(WindowCache, ValuesInPartsAreReadBackAndClosedFromTheStore) {
  MemoryWindowStore store;
  detail::WindowCache<std::string, Names> cache(store, {serdes::string(), {}, names_parts()}, [] { return Names{}; },
                                                {0, 0, true});
  const auto append = [&](const std::string& key, TimestampMs end, std::initializer_list<const char*> names) {
    auto& item = cache.find_or_create(key, Window{end - 10, end});
    for (const char* n : names) item.second.value.names.emplace_back(n);
    item.second.dirty = true;
  };
  const auto commit = [&] {
    cache.flush();
    store.flush_and_commit();
    cache.after_commit();
  };
  append("k", 10, {"a", "b", "c", "d", "e"});
  append("kk", 10, {"x"});  // a key that is a prefix of another: parts interleave in key order
  append("k", 20, {"p"});
  commit();
  EXPECT_EQ(cache.size(), 0u);
  append("k", 10, {"f", "g"});  // read back: chunks 1, 2 and the final part
  commit();                     // writes chunk 3 and the final part only
  EXPECT_EQ(store.committed.size(), 6u);  // k@10: chunks 1-3 and the final part; kk@10; k@20
  std::vector<detail::WindowCache<std::string, Names>::Item*> closing, expiring;
  cache.take_due(10, closing, expiring);
  ASSERT_EQ(closing.size(), 2u);
  EXPECT_EQ(closing[0]->first.key, "k");
  EXPECT_EQ(closing[0]->second.value.names, (std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g"}));
  EXPECT_EQ(closing[1]->first.key, "kk");
  EXPECT_EQ(closing[1]->second.value.names, (std::vector<std::string>{"x"}));
  for (auto* item : closing) cache.erase(*item);
  store.flush_and_commit();
  EXPECT_EQ(store.committed.size(), 1u);  // every part of the closed windows is deleted: k@20 is left
}

// ---------------------------------------------------------------- through the DSL

std::string crash(const std::string& user, const std::string& severity, int second) {
  return nlohmann::json{{"user_id", user},
                        {"severity", severity},
                        {"content", "app crash"},
                        {"timestamp", format_rfc3339(kT + second * 1000LL)}}
      .dump();
}

// Found while extracting the window cache: after an eviction, closing one end's windows from
// the store left the aggregate believing nothing else was due, so the evicted windows of the
// next end were not emitted when it passed (only once some cached window happened to be due).
TEST(CrashMonitorEviction, EvictedWindowsCloseWhenTheirOwnEndPasses) {
  crash_monitor::Config config;
  config.max_cached_windows = 0;
  const Topology topology = crash_monitor::build(config);
  TopologyTestDriver driver{topology, {}};
  const auto touch_all_partitions = [&](int second) {
    for (std::int32_t p = 0; p < 4; ++p) driver.pipe_input("logs", "z", crash("z", "Low", second), p);
  };
  touch_all_partitions(0);
  for (const char* user : {"A", "B", "C"})
    for (int s : {1, 2, 3, 11, 12, 13}) driver.pipe_input("logs", user, crash(user, "High", s), 0);
  driver.commit();           // both windows of every user are evicted
  touch_all_partitions(45);  // closes [10:00:00, 10:00:10) from the store
  touch_all_partitions(55);  // closes [10:00:10, 10:00:20) from the store
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& r : driver.read_output("crash-alerts")) {
    const auto j = nlohmann::json::parse(r.value);
    got.emplace_back(j["user_id"], j["window_start"]);
  }
  std::sort(got.begin(), got.end());
  std::vector<std::pair<std::string, std::string>> want;
  for (const char* user : {"A", "B", "C"})
    for (const char* start : {"2026-01-01T10:00:00Z", "2026-01-01T10:00:10Z"}) want.emplace_back(user, start);
  EXPECT_EQ(got, want);
}

using Records = std::vector<std::tuple<std::int32_t, std::string, std::string, TimestampMs>>;
Records records(TopologyTestDriver& driver, const std::string& topic) {
  Records out;
  for (const auto& r : driver.all_records(topic)) out.emplace_back(r.partition, r.key, r.value, r.timestamp);
  return out;
}

struct Totals {
  std::uint64_t evicted, read_back;
  static Totals now() {
    return {detail::window_cache_totals().evicted.load(), detail::window_cache_totals().read_back.load()};
  }
};

// A sum per key in hopping windows, single or two phase, emit-final or on update, with or
// without a retention beyond the grace.
struct SumCase {
  bool two_phase;
  EmitStrategy emit;
  std::chrono::milliseconds retention;
};

Topology sum_topology(const SumCase& c, std::size_t max_cached_windows) {
  StreamsBuilder b("sum");
  auto windowed =
      b.stream<std::string_view, std::string_view>(
           "in",
           Consumed<std::string_view, std::string_view>{
               serdes::string_view(), serdes::string_view(),
               [](const std::string_view&, const std::string_view& v, const InputRecord&) {
                 return kT + std::stoll(std::string(v.substr(0, v.find(':')))) * 1000;
               },
               "in-dlq"},
           "read")
          .group_by<std::string>([](const std::string_view& k, const std::string_view&) { return std::string(k); },
                                 Grouped<std::string, std::string_view>{"by-key", "sum", serdes::string(),
                                                                        serdes::string_view()})
          .window_by(TimeWindows::hopping(std::chrono::seconds(10), std::chrono::seconds(5), std::chrono::seconds(5)),
                     c.emit);
  Materialized<std::string, std::int64_t> mat{"sums", serdes::string(), serdes::int64()};
  mat.max_cached_windows = max_cached_windows;
  mat.retention = c.retention;
  const std::function<std::int64_t()> init = [] { return std::int64_t{0}; };
  const std::function<void(const std::string&, const std::string_view&, std::int64_t&)> add =
      [](const std::string&, const std::string_view& v, std::int64_t& sum) {
        sum += std::stoll(std::string(v.substr(v.find(':') + 1)));
      };
  const std::function<void(const std::string&, const std::int64_t&, std::int64_t&)> merge =
      [](const std::string&, const std::int64_t& partial, std::int64_t& sum) { sum += partial; };
  auto table = c.two_phase ? windowed.aggregate<std::int64_t>(init, add, merge, mat)
                           : windowed.aggregate<std::int64_t>(init, add, mat);
  table.to_stream()
      .map<std::string, std::string>([](const Windowed<std::string>& k, const std::int64_t& n) {
        return std::pair<std::string, std::string>(
            k.key, format_rfc3339(k.window.start) + "/" + format_rfc3339(k.window.end) + "=" + std::to_string(n));
      })
      .to("out", Produced<std::string, std::string>{serdes::string(), serdes::string()});
  return b.build();
}

Records run_sums(const SumCase& c, std::size_t max_cached_windows) {
  const Topology topology = sum_topology(c, max_cached_windows);
  TopologyTestDriver driver(topology, {});
  std::uint64_t x = 7;
  int second = 0;
  for (int i = 0; i < 1500; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    if (i % 10 == 0) ++second;
    const int s = std::max(0, second - static_cast<int>((x >> 40) % 4));  // some disorder
    const std::string key = "k" + std::to_string((x >> 20) % 25);
    driver.pipe_input("in", key, std::to_string(s) + ":" + std::to_string((x >> 50) % 100), static_cast<std::int32_t>((x >> 30) % 4));
    if ((i + 1) % 37 == 0) driver.commit();
    if ((i + 1) % 211 == 0) driver.crash_and_restart("sum", (i / 211) % 2 == 0);
    if ((i + 1) % 503 == 0) driver.crash_and_restart("read", true);
    if ((i + 1) % 307 == 0) driver.send_chunks_then_crash("read");
  }
  driver.commit();
  driver.advance_wall_clock(600'000);  // idle partitions follow the wall clock: every window closes
  driver.commit();
  driver.advance_wall_clock(600'000);
  driver.commit();
  return records(driver, "out");
}

TEST(WindowCacheBound, ATinyBoundGivesByteIdenticalOutputsForEveryKindOfAggregate) {
  using std::chrono::milliseconds;
  for (const SumCase& c : {SumCase{false, EmitStrategy::on_window_close, milliseconds(0)},
                           SumCase{true, EmitStrategy::on_window_close, milliseconds(0)},
                           SumCase{false, EmitStrategy::on_window_update, milliseconds(0)},
                           SumCase{true, EmitStrategy::on_window_update, milliseconds(0)},
                           SumCase{false, EmitStrategy::on_window_close, milliseconds(60'000)},
                           SumCase{true, EmitStrategy::on_window_close, milliseconds(60'000)}}) {
    SCOPED_TRACE(std::string(c.two_phase ? "two-phase" : "single-phase") +
                 (c.emit == EmitStrategy::on_window_close ? " emit-final" : " emit-on-update") + " retention " +
                 std::to_string(c.retention.count()));
    const auto unbounded = run_sums(c, 1'000'000);
    const auto before = Totals::now();
    const auto bounded = run_sums(c, 1);
    const auto after = Totals::now();
    EXPECT_GT(after.evicted, before.evicted);
    EXPECT_GT(after.read_back, before.read_back);
    ASSERT_GT(unbounded.size(), 100u);
    EXPECT_TRUE(bounded == unbounded) << bounded.size() << " records against " << unbounded.size();
  }
}

// Telemetra: windows in parts and per-stream histories (the z-scores' baseline), both bounded.
Records telemetra_run(std::size_t max_cached_windows, Records* moments) {
  telemetra::Config config;
  config.chatter_chunk = 2;  // windows in several parts, written over several commits
  config.max_cached_windows = max_cached_windows;
  const Topology topology = telemetra::build(config);
  TopologyTestDriver driver(topology, {4, {}, 5000, kT});
  const auto chat = [&](const std::string& stream, const std::string& user, int second, std::int32_t partition) {
    driver.pipe_input("chat-events", stream,
                      nlohmann::json{{"stream_id", stream},
                                     {"user_id", user},
                                     {"message", second % 3 ? "gg love it" : "bad lag"},
                                     {"emotes", {second % 2 ? "Kappa" : "LUL"}},
                                     {"timestamp", format_rfc3339(kT + second * 1000LL)}}
                          .dump(),
                      partition);
  };
  const auto viewers = [&](const std::string& stream, int n, int second, std::int32_t partition) {
    driver.pipe_input("viewer-events", stream,
                      nlohmann::json{{"stream_id", stream}, {"viewer_count", n}, {"timestamp", format_rfc3339(kT + second * 1000LL)}}
                          .dump(),
                      partition);
  };
  const auto advance_all = [&](int second) {
    for (std::int32_t p = 0; p < 4; ++p) {
      chat("filler", "f", second, p);
      viewers("filler", 1, second, p);
    }
  };
  advance_all(0);
  int step = 0;
  for (int slot = 0; slot < 45; ++slot) {
    for (int s = 0; s < 5; ++s) {
      const std::string stream = "s" + std::to_string(s);
      int n = 2 + (slot * (s + 3)) % 5;
      if (slot == 20 + s) n = 40;  // a spike per stream
      for (int i = 0; i < n; ++i) chat(stream, "u" + std::to_string((i * 7 + slot) % 9), slot * 10 + i % 10, s % 4);
      viewers(stream, 100 + slot + s, slot * 10 + 5, 2);
    }
    advance_all(slot * 10);  // windows close between crashes: histories move on
    ++step;
    if (step % 2 == 0) driver.commit();
    if (step % 3 == 0) driver.crash_and_restart(step % 9 == 0 ? "parse" : "aggregate", step % 4 == 0);
  }
  advance_all(2000);
  driver.commit();
  if (moments) *moments = records(driver, "moments");
  return records(driver, "chat-summary");
}

TEST(WindowCacheBound, TelemetraWithATinyBoundGivesByteIdenticalSummariesAndMoments) {
  Records moments_unbounded, moments_bounded;
  const auto unbounded = telemetra_run(1'000'000, &moments_unbounded);
  const auto before = Totals::now();
  const auto bounded = telemetra_run(1, &moments_bounded);
  const auto after = Totals::now();
  EXPECT_GT(after.evicted, before.evicted);
  EXPECT_GT(after.read_back, before.read_back);
  ASSERT_GT(unbounded.size(), 200u);
  ASSERT_GE(moments_unbounded.size(), 3u);
  EXPECT_TRUE(bounded == unbounded) << bounded.size() << " summaries against " << unbounded.size();
  EXPECT_TRUE(moments_bounded == moments_unbounded);
}

}  // namespace
}  // namespace sw
