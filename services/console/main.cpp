// streamwright-console: a live web view of a running pipeline (`streamwright console ...`).
#include <spdlog/spdlog.h>

#include <iostream>

#include "service/shell.h"
#include "services/console/console.h"

int main(int argc, char** argv) {
  std::optional<sw::console::Options> options;
  try {
    options = sw::console::parse_options(argc, argv);
    if (!options) return 0;  // --help
  } catch (const std::exception& e) {
    std::cerr << "streamwright console: " << e.what() << "\n";
    return 2;
  }
  sw::ServiceShell shell("streamwright-console");
  shell.start_logging(options->vm, "console");
  std::unique_ptr<sw::console::Console> console;
  try {
    console = std::make_unique<sw::console::Console>(std::move(*options));
    console->start();
  } catch (const std::exception& e) {
    spdlog::error("cannot start: {}", e.what());
    return 1;
  }
  // The launcher and the tests read this line to find the page.
  std::cout << "console " << console->url() << std::endl;
  spdlog::info("console at {}", console->url());
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  return shell.run(
      [&] {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stop; });
      },
      [&] {
        {
          std::lock_guard lock(mu);
          stop = true;
        }
        cv.notify_all();
      },
      std::chrono::seconds(15), [&] { console->stop(); });
}
