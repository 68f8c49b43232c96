// streamwright-loadgen: produces realistic events at a target rate (the seeds' load generator,
// configurable by its environment variables too), or replays a JSON file into a topic (the seeds'
// JSON-file producer). Options and checks: options.h; the loops: run.h; the file reader: replay.h.
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>

#include "services/loadgen/options.h"
#include "services/loadgen/run.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  sw::loadgen::Settings settings;
  switch (sw::loadgen::parse_settings(argc, argv, [](const char* name) { return std::getenv(name); }, host, getpid(),
                                      settings, std::cout, std::cerr)) {
    case sw::loadgen::ParseOutcome::done:
      return 0;
    case sw::loadgen::ParseOutcome::usage_error:
      return 2;
    case sw::loadgen::ParseOutcome::run:
      break;
  }
  if (settings.write_dimensions) {
    sw::render_farm::write_dimension_files(*settings.write_dimensions, settings.frames.scenes, settings.frames.nodes);
    return 0;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  return settings.replay ? sw::loadgen::run_replay(settings, g_stop) : sw::loadgen::run_generator(settings, g_stop);
}
