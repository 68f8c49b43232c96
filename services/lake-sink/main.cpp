// streamwright-lake-sink: Kafka topics into Delta Lake tables of Parquet files, exactly once
// (docs/lake.md). Options and the service shell; the work is in sink.cpp.
#include <spdlog/spdlog.h>

#include "config.h"
#include "service/shell.h"
#include "sink.h"

int main(int argc, char** argv) {
  sw::lake_sink::SinkConfig config;
  boost::program_options::variables_map vm;
  if (const int rc = sw::lake_sink::parse_options(argc, argv, config, vm)) return rc < 0 ? 0 : rc;

  sw::ServiceShell shell("streamwright-lake-sink");
  shell.start_logging(vm, "lake-sink");
  if (!config.crash_point.empty())
    spdlog::error("STREAMWRIGHT_LAKE_TEST_CRASH_AT={}: this process kills itself at that point (tests only)",
                  config.crash_point);
  spdlog::info("Kafka settings:\n{}", config.kafka.redacted());

  sw::metrics::Registry registry;
  std::unique_ptr<sw::lake_sink::LakeSink> sink;
  try {
    sink = std::make_unique<sw::lake_sink::LakeSink>(config, registry);
    auto* s = sink.get();
    shell.serve(vm, registry, [s] { return s->alive(); }, [s] { return s->ready(); });
  } catch (const std::exception& e) {
    spdlog::error("cannot start: {}", e.what());
    return 1;
  }
  // The final commit and leaving the group can block while Kafka or the storage is unreachable;
  // past --shutdown-timeout the shell exits anyway. That is safe: the tables hold every
  // partition's progress, and the next owner resumes there.
  const int code = shell.run([&] { sink->run(); }, [&] { sink->stop(); }, config.shutdown_timeout,
                             [&] { sink.reset(); });
  spdlog::info("lake sink stopped");
  return code;
}
