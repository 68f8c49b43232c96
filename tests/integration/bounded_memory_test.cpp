// A flood of input while the broker will not take the stage's output: the stage pauses its
// input instead of buffering without end, its memory stays inside the configured budget, and
// once the broker recovers every record is processed.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "common/process.h"
#include "harness.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;

constexpr int kPartitions = 16;
const std::string kRepartition = "crash-monitor-crashes-by-user-repartition";

// Peak resident set (VmHWM) of a process, in MiB.
double peak_rss_mib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      std::istringstream s(line.substr(6));
      double kb = 0;
      s >> kb;
      return kb / 1024.0;
    }
  }
  return -1;
}

TEST(BoundedMemory, FloodWithAStalledBrokerStaysInsideTheBudgetAndLosesNothing) {
  TempDir dir;
  ChildProcess::Options opts;
  opts.stderr_path = (dir.path() / "broker.log").string();
  ChildProcess broker(bin_dir() + "/streamwright-devbroker",
                      {"--brokers", "2", "--control-port", "0", "--topic", "logs:" + std::to_string(kPartitions), "--topic", "logs-dlq:1",
                       "--topic", kRepartition + ":" + std::to_string(kPartitions)},
                      opts);
  const auto bootstrap = broker.read_line(10s);
  const auto control_line = broker.read_line(10s);
  ASSERT_TRUE(bootstrap && control_line);
  ASSERT_EQ(control_line->rfind("control-port ", 0), 0u) << *control_line;
  const auto control = static_cast<std::uint16_t>(std::stoi(control_line->substr(13)));

  // The flood: 400,000 events (about 80 MB), every one a qualifying crash, so the stage's output
  // is as large as its input. It is all there before the stage starts.
  constexpr int kEvents = 400000;
  ChildProcess::Options quiet_opts;
  quiet_opts.capture_stdout = false;
  quiet_opts.stdout_path = (dir.path() / "loadgen.out").string();
  quiet_opts.stderr_path = (dir.path() / "loadgen.log").string();
  ChildProcess loadgen(bin_dir() + "/streamwright-loadgen",
                       {"--bootstrap-servers", *bootstrap, "--topic", "logs", "--rate", "0", "--count",
                        std::to_string(kEvents), "--crash-rate", "1", "--severity-mix", "High=50,Critical=50",
                        "--quiet", "--kafka-property", "compression.type=lz4"},
                       quiet_opts);
  ASSERT_EQ(loadgen.wait(120s), 0);

  // Input and the group live on broker 1, the stage's output topic on broker 2, which goes
  // down once the stage runs: the output cannot be delivered while the input keeps coming.
  const auto control_get = [&](const std::string& path) {
    int status = 0;
    const auto body = http_get(control, path, &status);
    EXPECT_EQ(status, 200) << path << ": " << body;
  };
  for (int p = 0; p < kPartitions; ++p) {
    control_get("/leader/logs/" + std::to_string(p) + "/1");
    control_get("/leader/" + kRepartition + "/" + std::to_string(p) + "/2");
  }
  control_get("/coordinator/group/crash-monitor-parse/1");

  constexpr unsigned kConsumerMb = 8, kProducerMb = 8, kRocksMb = 8;
  Service parse("streamwright-crash-monitor",
                {"--stage", "parse", "--bootstrap-servers", *bootstrap, "--metrics-port", "0", "--state-dir",
                 (dir.path() / "state").string(), "--consumer-buffer-mb", std::to_string(kConsumerMb),
                 "--producer-buffer-mb", std::to_string(kProducerMb), "--rocksdb-cache-mb", std::to_string(kRocksMb),
                 // No commit during the outage: a commit waits for every output to be
                 // acknowledged, which would hold the loop (and the input) on its own and leave
                 // the pause untested.
                 "--commit-interval", "120s"},
                dir.path() / "parse.log");
  ASSERT_TRUE(parse.wait_ready(60s));
  control_get("/broker/2/down");
  const std::string pauses = "streamwright_backpressure_pauses_total";
  ASSERT_TRUE(eventually([&] { return parse.metric(pauses) >= 1; }, 30s)) << "the input never paused";
  // Paused: the flood waits in the broker, not in the stage, for as long as the output is down.
  const std::string consumed = "streamwright_records_consumed_total";
  const double consumed_at_pause = parse.metric(consumed);
  EXPECT_TRUE(holds_for([&] { return parse.metric("streamwright_input_paused") == 1; }, 3s, 200ms))
      << "the input resumed while the output was down";
  const double consumed_while_down = parse.metric(consumed);
  RecordProperty("consumed_at_pause", std::to_string(consumed_at_pause));
  control_get("/broker/2/up");

  const std::string produced = "streamwright_records_produced_total{stage=\"parse\",topic=\"" + kRepartition + "\"}";
  double out = 0;
  eventually([&] { return (out = parse.metric(produced)) >= kEvents; }, 150s, 500ms);
  const auto metrics = parse.metrics();
  const double rss = peak_rss_mib(parse.process().pid());
  RecordProperty("peak_rss_mib", std::to_string(rss));
  RecordProperty("pauses", std::to_string(metric_value(metrics, pauses)));
  RecordProperty("consumed_while_output_down", std::to_string(consumed_while_down));
  EXPECT_LT(consumed_while_down, kEvents);

  // Nothing lost: every event read once and written once (no crash means no replay).
  EXPECT_EQ(metric_value(metrics, "streamwright_records_consumed_total"), kEvents);
  EXPECT_EQ(out, kEvents);
  // The stalled output made the stage pause its input rather than buffer it.
  EXPECT_GE(metric_value(metrics, pauses), 1);
  // Budget: consumer read-ahead + producer buffer + RocksDB, plus the process's fixed cost
  // (code, librdkafka's threads and buffers, about 40 MiB here). With the producer's old fixed
  // 256 MiB queue the same flood peaked far above this.
  const double budget = kConsumerMb + kProducerMb + kRocksMb + 64;
  EXPECT_LT(rss, budget) << "peak RSS " << rss << " MiB, budget " << budget << " MiB";
  EXPECT_TRUE(parse.process().running());
  if (HasFailure()) dump_log(parse.log());
}

}  // namespace
}  // namespace sw::test
