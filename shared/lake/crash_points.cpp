#include "lake/crash_points.h"

#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <unistd.h>

#include <atomic>
#include <mutex>

namespace sw::lake::crash {

namespace {
std::mutex g_mu;
std::string g_name;                // armed point ("" when none)
std::atomic<long> g_remaining{0};  // reached this many more times, then SIGKILL
std::atomic<bool> g_armed{false};
}  // namespace

std::vector<std::string> point_names() {
  return {kDuringFileWrite, kAfterFileWrite, kDuringCommit, kAfterCommit, kDuringCheckpoint};
}

void arm(std::string_view spec) {
  std::lock_guard lock(g_mu);
  if (spec.empty()) {
    g_armed = false;
    g_name.clear();
    return;
  }
  std::string name(spec);
  long count = 1;
  if (const auto colon = name.find(':'); colon != std::string::npos) {
    const std::string n = name.substr(colon + 1);
    name.resize(colon);
    char* end = nullptr;
    count = std::strtol(n.c_str(), &end, 10);
    if (n.empty() || *end != '\0' || count < 1)
      throw std::invalid_argument("STREAMWRIGHT_LAKE_TEST_CRASH_AT: bad count '" + n + "' (a positive integer)");
  }
  bool known = false;
  std::string names;
  for (const auto& p : point_names()) {
    known = known || p == name;
    names += (names.empty() ? "" : ", ") + p;
  }
  if (!known)
    throw std::invalid_argument("STREAMWRIGHT_LAKE_TEST_CRASH_AT: unknown point '" + name + "' (" + names + ")");
  g_name = name;
  g_remaining = count;
  g_armed = true;
}

std::string arm_from_environment() {
  const char* v = std::getenv("STREAMWRIGHT_LAKE_TEST_CRASH_AT");
  if (!v || !*v) return "";
  arm(v);
  return v;
}

void point(const char* name) noexcept {
  if (!g_armed.load(std::memory_order_relaxed)) return;
  {
    std::lock_guard lock(g_mu);
    if (g_name != name) return;
  }
  if (g_remaining.fetch_sub(1) == 1) {
    static const char msg[] = "streamwright lake: test crash point reached: SIGKILL\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::kill(::getpid(), SIGKILL);
  }
}

}  // namespace sw::lake::crash
