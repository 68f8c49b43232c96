// The windowed aggregates' cache of open windows, beyond its bound (evicted to RocksDB).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "common/time.h"
#include "testing/topology_test_driver.h"
#include "topologies/crash_monitor.h"

namespace sw {
namespace {

using testing::TopologyTestDriver;
constexpr TimestampMs kT = 1767261600000;  // 2026-01-01T10:00:00Z

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

}  // namespace
}  // namespace sw
