#include <gtest/gtest.h>
#include <vector>
#include <chrono>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>

#include "metrics/http_client.h"
#include "metrics/http_server.h"
#include "metrics/metrics.h"
#include "metrics/rates.h"

namespace sw::metrics {
namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// labels()

TEST(MetricsLabels, JoinsPairs) {
  EXPECT_EQ(labels({}), "");
  EXPECT_EQ(labels({{"topic", "logs"}}), R"(topic="logs")");
  EXPECT_EQ(labels({{"topic", "logs"}, {"partition", "3"}}), R"(topic="logs",partition="3")");
  EXPECT_EQ(labels({{"k", ""}}), R"(k="")");
}

TEST(MetricsLabels, EscapesValues) {
  EXPECT_EQ(labels({{"v", "a\"b"}}), R"(v="a\"b")");
  EXPECT_EQ(labels({{"v", "a\\b"}}), R"(v="a\\b")");
  EXPECT_EQ(labels({{"v", "a\nb"}}), R"(v="a\nb")");
  EXPECT_EQ(labels({{"v", "\"\\\n"}}), R"(v="\"\\\n")");
  // Other characters (tabs, UTF-8, braces, commas) pass through.
  EXPECT_EQ(labels({{"v", "x\t{y},=\xC3\xA9"}}), "v=\"x\t{y},=\xC3\xA9\"");
}

// ---------------------------------------------------------------------------------------------
// Registry

TEST(MetricsRegistry, EmptyRegistryRendersNothing) {
  Registry r;
  EXPECT_EQ(r.render(), "");
}

TEST(MetricsRegistry, CounterWithHelpAndType) {
  Registry r;
  r.counter("records_total", "Records processed.").inc(3);
  EXPECT_EQ(r.render(),
            "# HELP records_total Records processed.\n"
            "# TYPE records_total counter\n"
            "records_total 3\n");
}

TEST(MetricsRegistry, CountersWithLabelsShareOneFamilyHeader) {
  Registry r;
  auto& a = r.counter("records_total", "Records processed.", labels({{"topic", "logs"}, {"partition", "0"}}));
  auto& b = r.counter("records_total", "Records processed.", labels({{"topic", "logs"}, {"partition", "1"}}));
  a.inc();
  b.inc(41);
  b.inc();
  EXPECT_EQ(a.value(), 1u);
  EXPECT_EQ(b.value(), 42u);
  EXPECT_EQ(r.render(),
            "# HELP records_total Records processed.\n"
            "# TYPE records_total counter\n"
            "records_total{topic=\"logs\",partition=\"0\"} 1\n"
            "records_total{topic=\"logs\",partition=\"1\"} 42\n");
}

TEST(MetricsRegistry, GaugeValues) {
  Registry r;
  auto& g = r.gauge("lag", "Consumer lag.", labels({{"partition", "0"}}));
  g.set(10);
  g.add(2.5);
  g.add(-0.5);
  EXPECT_DOUBLE_EQ(g.value(), 12.0);
  auto& h = r.gauge("ratio", "A ratio.");
  h.set(0.25);
  auto& n = r.gauge("negative", "Below zero.");
  n.set(-3);
  EXPECT_EQ(r.render(),
            "# HELP lag Consumer lag.\n"
            "# TYPE lag gauge\n"
            "lag{partition=\"0\"} 12\n"
            "# HELP negative Below zero.\n"
            "# TYPE negative gauge\n"
            "negative -3\n"
            "# HELP ratio A ratio.\n"
            "# TYPE ratio gauge\n"
            "ratio 0.25\n");
}

TEST(MetricsRegistry, SpecialFloatValues) {
  Registry r;
  r.gauge("a", "A.").set(std::numeric_limits<double>::infinity());
  r.gauge("b", "B.").set(-std::numeric_limits<double>::infinity());
  r.gauge("c", "C.").set(std::numeric_limits<double>::quiet_NaN());
  const std::string out = r.render();
  EXPECT_TRUE(contains(out, "\na +Inf\n")) << out;
  EXPECT_TRUE(contains(out, "\nb -Inf\n")) << out;
  EXPECT_TRUE(contains(out, "\nc NaN\n")) << out;
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeWithInf) {
  Registry r;
  auto& h = r.histogram("latency_seconds", "Latency.", "", {0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 5.0, 100.0}) h.observe(v);
  EXPECT_EQ(r.render(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{le=\"0.1\"} 2\n"  // upper bounds are inclusive
            "latency_seconds_bucket{le=\"1\"} 3\n"
            "latency_seconds_bucket{le=\"10\"} 4\n"
            "latency_seconds_bucket{le=\"+Inf\"} 5\n"
            "latency_seconds_sum 105.65\n"
            "latency_seconds_count 5\n");
}

TEST(MetricsRegistry, HistogramWithLabelsPutsLeLast) {
  Registry r;
  auto& h = r.histogram("latency_seconds", "Latency.", labels({{"stage", "parse"}}), {0.5});
  h.observe(0.25);
  h.observe(2);
  const std::string out = r.render();
  EXPECT_TRUE(contains(out, "latency_seconds_bucket{stage=\"parse\",le=\"0.5\"} 1\n")) << out;
  EXPECT_TRUE(contains(out, "latency_seconds_bucket{stage=\"parse\",le=\"+Inf\"} 2\n")) << out;
  EXPECT_TRUE(contains(out, "latency_seconds_sum{stage=\"parse\"} 2.25\n")) << out;
  EXPECT_TRUE(contains(out, "latency_seconds_count{stage=\"parse\"} 2\n")) << out;
}

TEST(MetricsRegistry, EmptyHistogramRendersZeros) {
  Registry r;
  r.histogram("latency_seconds", "Latency.", "", {1});
  EXPECT_EQ(r.render(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{le=\"1\"} 0\n"
            "latency_seconds_bucket{le=\"+Inf\"} 0\n"
            "latency_seconds_sum 0\n"
            "latency_seconds_count 0\n");
}

TEST(MetricsRegistry, LatencyBucketsAreSortedAndRenderedInOrder) {
  const auto b = latency_buckets();
  ASSERT_FALSE(b.empty());
  for (std::size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]);
  Registry r;
  r.histogram("op_seconds", "Op.", "", b).observe(0.003);
  const std::string out = r.render();
  EXPECT_TRUE(contains(out, "op_seconds_bucket{le=\"0.0025\"} 0\n")) << out;
  EXPECT_TRUE(contains(out, "op_seconds_bucket{le=\"0.005\"} 1\n")) << out;
  EXPECT_TRUE(contains(out, "op_seconds_bucket{le=\"60\"} 1\n")) << out;
  EXPECT_LT(out.find("le=\"0.0005\""), out.find("le=\"60\""));
  EXPECT_LT(out.find("le=\"60\""), out.find("le=\"+Inf\""));
}

TEST(MetricsRegistry, LabelValuesAreEscapedInOutput) {
  Registry r;
  r.counter("errors_total", "Errors.", labels({{"reason", "bad \"json\"\nat \\x"}})).inc();
  EXPECT_TRUE(contains(r.render(), "errors_total{reason=\"bad \\\"json\\\"\\nat \\\\x\"} 1\n")) << r.render();
}

TEST(MetricsRegistry, SetDynamicGaugesReplacesSamples) {
  Registry r;
  r.set_dynamic_gauges("consumer_lag", "Lag per partition.",
                       {{labels({{"partition", "0"}}), 5}, {labels({{"partition", "1"}}), 7}});
  EXPECT_EQ(r.render(),
            "# HELP consumer_lag Lag per partition.\n"
            "# TYPE consumer_lag gauge\n"
            "consumer_lag{partition=\"0\"} 5\n"
            "consumer_lag{partition=\"1\"} 7\n");
  // After a rebalance: partition 0 gone, partition 2 new.
  r.set_dynamic_gauges("consumer_lag", "Lag per partition.",
                       {{labels({{"partition", "1"}}), 1}, {labels({{"partition", "2"}}), 0}});
  EXPECT_EQ(r.render(),
            "# HELP consumer_lag Lag per partition.\n"
            "# TYPE consumer_lag gauge\n"
            "consumer_lag{partition=\"1\"} 1\n"
            "consumer_lag{partition=\"2\"} 0\n");
  // No samples: the family disappears.
  r.set_dynamic_gauges("consumer_lag", "Lag per partition.", {});
  EXPECT_EQ(r.render(), "");
}

TEST(MetricsRegistry, SameNameAndLabelsReturnsTheSameObject) {
  Registry r;
  const std::string l = labels({{"p", "0"}});
  Counter& c1 = r.counter("c_total", "C.", l);
  Counter& c2 = r.counter("c_total", "C.", l);
  EXPECT_EQ(&c1, &c2);
  Counter& other = r.counter("c_total", "C.", labels({{"p", "1"}}));
  EXPECT_NE(&c1, &other);
  c1.inc();
  c2.inc();
  EXPECT_EQ(c1.value(), 2u);
  EXPECT_EQ(other.value(), 0u);

  Gauge& g1 = r.gauge("g", "G.");
  EXPECT_EQ(&g1, &r.gauge("g", "G."));
  Histogram& h1 = r.histogram("h_seconds", "H.", l, {1});
  EXPECT_EQ(&h1, &r.histogram("h_seconds", "H.", l, {1, 2, 3}));

  // Each labelled series appears once.
  const std::string out = r.render();
  std::size_t n = 0;
  for (auto pos = out.find("c_total{p=\"0\"}"); pos != std::string::npos; pos = out.find("c_total{p=\"0\"}", pos + 1))
    ++n;
  EXPECT_EQ(n, 1u) << out;
  EXPECT_TRUE(contains(out, "c_total{p=\"0\"} 2\n")) << out;
}

TEST(MetricsRegistry, ReferencesStayValidAsMoreMetricsAreAdded) {
  Registry r;
  Counter& first = r.counter("first_total", "F.");
  for (int i = 0; i < 1000; ++i) r.counter("many_total", "M.", labels({{"i", std::to_string(i)}}));
  first.inc(5);
  EXPECT_TRUE(contains(r.render(), "first_total 5\n"));
}

TEST(MetricsRegistry, NameWithTwoTypesThrows) {
  Registry r;
  r.counter("x_total", "X.");
  EXPECT_THROW(r.gauge("x_total", "X."), std::logic_error);
  EXPECT_THROW(r.histogram("x_total", "X.", "", {1}), std::logic_error);
  EXPECT_THROW(r.set_dynamic_gauges("x_total", "X.", {{"", 1}}), std::logic_error);
  r.gauge("y", "Y.");
  EXPECT_THROW(r.counter("y", "Y."), std::logic_error);
  // Dynamic gauges are gauges: compatible with a static gauge of the same name.
  EXPECT_NO_THROW(r.set_dynamic_gauges("y", "Y.", {{labels({{"p", "1"}}), 2}}));
  // The registry still works after the errors.
  EXPECT_TRUE(contains(r.render(), "# TYPE x_total counter\n"));
}

TEST(MetricsRegistry, FamiliesRenderedInNameOrder) {
  Registry r;
  r.counter("zeta_total", "Z.").inc();
  r.counter("alpha_total", "A.").inc();
  r.gauge("mid", "M.").set(1);
  const std::string out = r.render();
  EXPECT_LT(out.find("alpha_total"), out.find("mid"));
  EXPECT_LT(out.find("mid"), out.find("zeta_total"));
}

// ---------------------------------------------------------------------------------------------
// promtool

bool have_promtool() { return std::system("command -v promtool >/dev/null 2>&1") == 0; }

// Runs `promtool check metrics` on `text`; returns its exit status and fills `output`.
int promtool_check(const std::string& text, std::string& output) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("sw_metrics_test_" + std::to_string(::getpid()) + ".prom");
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
  }
  const std::string cmd = "promtool check metrics < '" + path.string() + "' 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    std::filesystem::remove(path);
    return -1;
  }
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) output += buf;
  const int status = ::pclose(p);
  std::filesystem::remove(path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Registry& populated(Registry& r) {
  r.counter("sw_records_total", "Records processed.", labels({{"topic", "logs"}, {"partition", "0"}})).inc(10);
  r.counter("sw_records_total", "Records processed.", labels({{"topic", "logs"}, {"partition", "1"}})).inc(3);
  r.counter("sw_dead_letters_total", "Records sent to the DLQ.", labels({{"reason", "bad \"json\"\nat \\x"}})).inc();
  r.counter("sw_commits_total", "Commits.");
  r.gauge("sw_assigned_partitions", "Assigned partitions.").set(4);
  r.gauge("sw_cache_ratio", "Cache hit ratio.").set(0.123456789);
  auto& h = r.histogram("sw_process_latency_seconds", "Processing latency.", labels({{"stage", "parse"}}),
                        latency_buckets());
  for (double v : {0.0001, 0.003, 0.2, 7.0, 120.0}) h.observe(v);
  r.histogram("sw_commit_latency_seconds", "Commit latency.", "", {0.01, 0.1, 1}).observe(0.05);
  r.set_dynamic_gauges("sw_consumer_lag", "Consumer lag per partition.",
                       {{labels({{"topic", "logs"}, {"partition", "0"}}), 12},
                        {labels({{"topic", "logs"}, {"partition", "1"}}), 0}});
  return r;
}

TEST(MetricsPromtool, RenderedTextPassesPromtoolCheck) {
  if (!have_promtool()) GTEST_SKIP() << "promtool not on PATH";
  Registry r;
  const std::string text = populated(r).render();
  std::string output;
  EXPECT_EQ(promtool_check(text, output), 0) << "promtool said:\n" << output << "\ntext:\n" << text;
}

TEST(MetricsPromtool, PromtoolRejectsBrokenText) {
  // Control for the test above: the harness does report promtool's failures.
  if (!have_promtool()) GTEST_SKIP() << "promtool not on PATH";
  std::string output;
  EXPECT_NE(promtool_check("# TYPE x counter\nx{a=\"b} 1\n", output), 0) << output;
}

}  // namespace
// Records appended, from successive end offsets: nothing before the first observation, nothing
// for an offset going back, and a partition seen again after a round without it starts afresh.
TEST(AppendTracker, CountsRecordsAppendedBetweenObservations) {
  AppendTracker t;
  EXPECT_EQ(t.observe("logs", 0, 100), 0u);
  EXPECT_EQ(t.observe("logs", 1, 7), 0u);
  EXPECT_FALSE(t.end_round());  // nothing was compared yet
  EXPECT_EQ(t.observe("logs", 0, 130), 30u);
  EXPECT_EQ(t.observe("logs", 1, 7), 0u);
  EXPECT_TRUE(t.end_round());
  EXPECT_EQ(t.observe("logs", 0, 10), 0u);  // recreated topic
  EXPECT_EQ(t.observe("logs", 0, 15), 5u);
  EXPECT_TRUE(t.end_round());              // partition 1 was not observed: forgotten
  EXPECT_EQ(t.partitions(), 1u);
  EXPECT_EQ(t.observe("logs", 1, 500), 0u);  // back: no credit for what came meanwhile
  EXPECT_EQ(t.observe("other", 0, 3), 0u);
  t.end_round();
  EXPECT_EQ(t.observe("logs", 1, 510), 10u);
}

TEST(RateWindow, AveragesOverTheLastSpan) {
  RateWindow w(10);
  EXPECT_EQ(w.rate(), 0);
  for (int i = 0; i < 5; ++i) w.add(1, 100);
  EXPECT_DOUBLE_EQ(w.rate(), 100);
  for (int i = 0; i < 10; ++i) w.add(1, 300);
  EXPECT_DOUBLE_EQ(w.rate(), 300);  // the first samples left the window
  w.add(0, 1e9);                    // no time: ignored
  EXPECT_DOUBLE_EQ(w.rate(), 300);
  w.add(20, 0);                     // one long sample replaces everything before it
  EXPECT_DOUBLE_EQ(w.rate(), 0);
}

// A liveness probe must not wait behind other connections: idle ones (a port scan, a stuck
// scraper), slow ones (a request trickling in) or many at once. The server this replaced took
// them one at a time with a 2 s read timeout: five idle connections held /healthz for 10 s.
TEST(HttpServer, IdleSlowAndManyConnectionsDoNotDelayHealthz) {
  HttpServer server("127.0.0.1", 0, [](const std::string& path) {
    return path == "/healthz" ? HttpResponse{200, "text/plain", "ok\n"} : HttpResponse{404, "text/plain", "no\n"};
  });
  auto connect_to = [&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
  };
  std::vector<int> open;
  for (int i = 0; i < 5; ++i) open.push_back(connect_to());  // idle
  for (int i = 0; i < 3; ++i) {                                 // a request that never ends
    open.push_back(connect_to());
    ASSERT_EQ(::send(open.back(), "GET /hea", 8, MSG_NOSIGNAL), 8);
  }
  for (int i = 0; i < 50; ++i) ::close(connect_to());  // a port scan
  for (int round = 0; round < 5; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = http_get(server.port(), "/healthz", std::chrono::milliseconds(5000));
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "ok\n");
    EXPECT_LT(took, std::chrono::milliseconds(500)) << "round " << round;
  }
  EXPECT_EQ(http_get(server.port(), "/nope").status, 404);
  for (int fd : open) ::close(fd);
  server.stop();
  EXPECT_EQ(http_get(server.port(), "/healthz", std::chrono::milliseconds(500)).status, 0);
}

TEST(HttpServer, ServesOnlyGetAndRejectsABadAddressOrATakenPort) {
  HttpServer server("127.0.0.1", 0, [](const std::string& path) { return HttpResponse{200, "text/plain", path}; });
  EXPECT_EQ(http_get(server.port(), "/metrics?x=1").body, "/metrics");  // the query is not the path
  EXPECT_THROW(HttpServer("256.1.1.1", 0, [](const std::string&) { return HttpResponse{}; }), std::runtime_error);
  EXPECT_THROW(HttpServer("127.0.0.1", server.port(), [](const std::string&) { return HttpResponse{}; }),
               std::runtime_error);
}

}  // namespace sw::metrics
