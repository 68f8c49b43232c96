#pragma once
// Child processes for the launcher and the integration tests: spawn in a new process group,
// read stdout lines, signal, and wait with a timeout.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sw {

class ChildProcess {
 public:
  struct Options {
    bool capture_stdout = true;     // read with read_line(); otherwise inherited
    std::string stderr_path;        // append stderr here; empty: inherited
    std::string stdout_path;        // when not captured: write stdout here; empty: inherited
    std::vector<std::string> env;   // KEY=VALUE entries, replacing inherited ones of the same KEY
  };
  // Throws std::runtime_error if the program cannot be started.
  ChildProcess(const std::string& program, const std::vector<std::string>& args, const Options& options);
  ~ChildProcess();  // kills (SIGKILL) and reaps a child that is still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const noexcept { return pid_; }
  // One line of stdout without the newline, or nullopt on timeout or end of output.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  void signal(int sig) const;
  // Exit code (128 + signal if killed by one), or nullopt if still running after the timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();
  // SIGTERM, then SIGKILL if it has not exited within `grace`. Returns the exit code.
  int stop(std::chrono::milliseconds grace);

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
  std::optional<int> exit_code_;
};

// Directory of the running executable (to find sibling programs in build/bin).
std::string executable_dir();

}  // namespace sw
