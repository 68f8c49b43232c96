// The service shell: a signal stops the work through stop() from the shell's thread, and the
// watchdog bounds what follows; in child processes, since the watchdog exits the process.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "service/shell.h"

namespace sw {
namespace {

using namespace std::chrono_literals;

// Runs `body` in a child; returns its exit status after `signal_after` (if set) sends SIGTERM.
int in_child(const std::function<int()>& body, std::chrono::milliseconds signal_after, std::chrono::milliseconds* took) {
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) std::_Exit(body());
  if (signal_after.count() > 0) {
    std::this_thread::sleep_for(signal_after);
    ::kill(pid, SIGTERM);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (took) *took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(ServiceShell, SigtermStopsTheWorkAndCleanupRuns) {
  const int code = in_child(
      [] {
        ServiceShell shell("test");
        std::atomic<bool> stop{false};
        bool cleaned = false;
        const int rc = shell.run([&] { while (!stop.load()) std::this_thread::sleep_for(5ms); }, [&] { stop.store(true); },
                                 5s, [&] { cleaned = true; });
        return rc == 0 && cleaned ? 0 : 3;
      },
      300ms, nullptr);
  EXPECT_EQ(code, 0);
}

TEST(ServiceShell, AShutdownThatHangsIsCutAtTheTimeout) {
  std::chrono::milliseconds took{};
  const int code = in_child(
      [] {
        ServiceShell shell("test");
        std::atomic<bool> stop{false};
        shell.run([&] { while (!stop.load()) std::this_thread::sleep_for(5ms); }, [&] { stop.store(true); }, 400ms,
                  [] { std::this_thread::sleep_for(60s); });  // e.g. leaving the group with the broker gone
        return 0;
      },
      200ms, &took);
  EXPECT_EQ(code, 1);
  EXPECT_LT(took, 30s);
}

TEST(ServiceShell, WorkThatThrowsExitsWithOneAndStillCleansUp) {
  const int code = in_child(
      [] {
        ServiceShell shell("test");
        bool cleaned = false;
        const int rc = shell.run([] { throw std::runtime_error("boom"); }, [] {}, 5s, [&] { cleaned = true; });
        return rc == 1 && cleaned ? 0 : 3;
      },
      0ms, nullptr);
  EXPECT_EQ(code, 0);
}

}  // namespace
}  // namespace sw
