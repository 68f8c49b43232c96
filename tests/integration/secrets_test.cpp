// Secrets never appear in --help, --describe, logs (at debug level, with librdkafka's own debug
// output on), state files or /metrics, whichever way they come in: --kafka-property,
// KAFKA_PROPERTY_<KEY>, KAFKA_PROPERTY_<KEY>_FILE, --kafka-properties-file, and for the
// PostgreSQL sink POSTGRES_URL, POSTGRES_PASSWORD, --postgres-password and --postgres-password-file.
//
// What is and is not exercised: the dev broker (librdkafka's mock cluster) speaks neither TLS nor
// SASL, so the "real start" runs use security.protocol=plaintext: the SASL and TLS passwords are
// configured in librdkafka (its configuration dump at debug level lists them, redacted) but no
// handshake ever uses them. What does use a secret for real is the start-up check of the
// configuration (Config::validate): with security.protocol=SSL librdkafka decrypts
// ssl.key.location with ssl.key.password before connecting, so KeyPasswordReachesLibrdkafka
// proves each source delivers the right value without a TLS broker. The PostgreSQL password is
// sent to nothing (no server listens on the sink's address); the sink's connection error is
// logged and checked.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;

// Recognisable values; none may ever be printed.
const std::string kFlagSecret = "swFlagSecret7f3a1";          // --kafka-property sasl.password=
const std::string kEnvSecret = "swEnvSecret91c2e";            // KAFKA_PROPERTY_SSL_KEY_PASSWORD
const std::string kEnvFileSecret = "swEnvFileSecret5d0e9";    // KAFKA_PROPERTY_SSL_KEYSTORE_PASSWORD_FILE
const std::string kPropsSecret = "swPropsFileSecretc4b87";    // --kafka-properties-file (sasl.oauthbearer.config)
const std::string kOverridden = "swOverriddenSecret0a6f3";    // sasl.password in the file, replaced by the flag
const std::string kPgUrlSecret = "swPgUrlSecret33b1";         // POSTGRES_URL user:password@
const std::string kPgFileSecret = "swPgFileSecret8e42";       // --postgres-password-file
const std::string kPgEnvSecret = "swPgEnvSecret61d0";         // POSTGRES_PASSWORD
const std::string kPgFlagSecret = "swPgFlagSecret2f7c";       // --postgres-password

const std::vector<std::string> kAllSecrets{kFlagSecret, kEnvSecret,   kEnvFileSecret, kPropsSecret, kOverridden,
                                           kPgUrlSecret, kPgFileSecret, kPgEnvSecret,  kPgFlagSecret};

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every regular file under a directory (logs, RocksDB's LOG and OPTIONS files, ...).
std::string read_tree(const std::filesystem::path& dir) {
  std::string all;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::end(it);
       it.increment(ec))
    if (it->is_regular_file() && it->file_size() < (64u << 20)) all += read_all(it->path());
  return all;
}

void expect_no_secret(const std::string& text, const std::string& where) {
  for (const auto& s : kAllSecrets) EXPECT_EQ(text.find(s), std::string::npos) << "secret " << s << " in " << where;
}

// Waits until `file` contains `needle` (or the process exits, or the timeout passes).
bool wait_for_text(ChildProcess& p, const std::filesystem::path& file, const std::string& needle,
                   std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (read_all(file).find(needle) != std::string::npos) return true;
    if (!p.running()) return read_all(file).find(needle) != std::string::npos;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

// A program with stdout and stderr in files, so that everything it prints can be searched.
struct Program {
  Program(const std::filesystem::path& dir, const std::string& name, const std::string& program,
      const std::vector<std::string>& args, const std::vector<std::string>& env)
      : out(dir / (name + ".out")), err(dir / (name + ".err")) {
    proc = std::make_unique<ChildProcess>(bin_dir() + "/" + program, args,
                                          ChildProcess::Options{false, err.string(), out.string(), env});
  }
  // The port from the "metrics-port N" line.
  std::uint16_t port(std::chrono::seconds timeout = 60s) {
    if (!wait_for_text(*proc, out, "metrics-port ", timeout)) return 0;
    const auto text = read_all(out);
    return static_cast<std::uint16_t>(std::stoi(text.substr(text.find("metrics-port ") + 13)));
  }
  std::string output() const { return read_all(out) + read_all(err); }
  std::filesystem::path out, err;
  std::unique_ptr<ChildProcess> proc;
};

class Secrets : public ::testing::Test {
 protected:
  void SetUp() override {
    props_ = dir_.path() / "client.properties";
    std::ofstream(props_) << "# Kafka client settings, as a mounted Secret would hold them\n"
                          << "sasl.username = streamwright\n"
                          << "sasl.password=" << kOverridden << "\n"
                          << "sasl.oauthbearer.config=principal=" << kPropsSecret << "\n";
    env_file_ = dir_.path() / "keystore-password";
    std::ofstream(env_file_) << kEnvFileSecret << "\n";
    pg_file_ = dir_.path() / "pg-password";
    std::ofstream(pg_file_) << kPgFileSecret << "\n";
  }
  std::vector<std::string> kafka_args() const {
    return {"--kafka-properties-file", props_.string(), "--kafka-property", "sasl.password=" + kFlagSecret};
  }
  std::vector<std::string> kafka_env() const {
    return {"KAFKA_PROPERTY_SSL_KEY_PASSWORD=" + kEnvSecret,
            "KAFKA_PROPERTY_SSL_KEYSTORE_PASSWORD_FILE=" + env_file_.string(), "POSTGRES_PASSWORD=" + kPgEnvSecret};
  }
  // The redacted settings line every program logs, proving the secrets were configured.
  void expect_configured(const std::string& log) const {
    for (const std::string& line : std::vector<std::string>{"sasl.password=***", "ssl.key.password=***",
                                                             "sasl.oauthbearer.config=***",
                                                             "ssl.keystore.password=*** (read from " + env_file_.string() + ")"})
      EXPECT_NE(log.find(line), std::string::npos) << line << " not in:\n" << log.substr(0, 4000);
  }
  static std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }

  TempDir dir_;
  std::filesystem::path props_, env_file_, pg_file_;
};

TEST_F(Secrets, NotInHelpOrDescribe) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> runs{
      {"streamwright-crash-monitor", concat({"--help"}, kafka_args())},
      {"streamwright-crash-monitor", concat({"--describe"}, kafka_args())},
      {"streamwright-crash-monitor", concat({"--list-topics"}, kafka_args())},
      {"streamwright-render-farm", concat({"--help"}, kafka_args())},
      {"streamwright-telemetra", concat({"--describe"}, kafka_args())},
      {"streamwright-telemetra-sink",
       concat({"--help", "--postgres-password", kPgFlagSecret, "--postgres-password-file", pg_file_.string()}, kafka_args())},
      {"streamwright-lag-exporter", concat({"--help"}, kafka_args())},
      {"streamwright-loadgen", concat({"--help"}, kafka_args())},
      {"streamwright", {"--help"}},
  };
  int i = 0;
  for (const auto& [program, args] : runs) {
    Program r(dir_.path(), "help" + std::to_string(i++), program, args, kafka_env());
    EXPECT_EQ(r.proc->wait(30s).value_or(-1), 0) << program << ": " << r.output();
    const auto text = r.output();
    EXPECT_GT(text.size(), 100u) << program;
    expect_no_secret(text, program + " " + args.front());
  }
}

TEST_F(Secrets, NotInTheLogsStateOrMetricsOfAStageAtDebugLevel) {
  DevBroker broker({"logs:2", "logs-dlq:1", "crash-monitor-crashes-by-user-repartition:2"});
  TestProducer producer(broker.bootstrap());
  producer.send("logs", 0, "u1", R"({"timestamp":"2024-01-01T00:00:00Z","level":"ERROR","message":"crash"})");
  producer.flush();
  const auto state = dir_.path() / "state";
  // debug=all: librdkafka logs its whole configuration (and every protocol step) at debug level.
  Program r(dir_.path(), "parse", "streamwright-crash-monitor",
        concat({"--stage", "parse", "--bootstrap-servers", broker.bootstrap(), "--metrics-port", "0", "--state-dir",
                state.string(), "--log-level", "debug", "--kafka-property", "debug=all"},
               kafka_args()),
        kafka_env());
  const auto port = r.port();
  ASSERT_NE(port, 0) << r.output();
  std::string served;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    http_get(port, "/readyz", &status);
    if (status == 200) break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(status, 200) << r.output().substr(0, 4000);
  for (const char* path : {"/metrics", "/healthz", "/readyz", "/nope"}) served += http_get(port, path);
  EXPECT_NE(served.find("# TYPE streamwright_"), std::string::npos) << served.substr(0, 2000);
  r.proc->signal(SIGTERM);
  EXPECT_EQ(r.proc->wait(60s).value_or(-1), 0);

  const auto log = r.output();
  expect_configured(log);
  // librdkafka's own configuration dump ran, and redacted the secrets itself.
  EXPECT_NE(log.find("sasl.password = [redacted]"), std::string::npos);
  expect_no_secret(log, "the stage's stdout/stderr");
  expect_no_secret(served, "/metrics, /healthz, /readyz");
  expect_no_secret(read_tree(state), "the state directory");
}

TEST_F(Secrets, NotInTheLagExporterOrLoadGenerator) {
  DevBroker broker({"logs:2", "logs-dlq:1", "crash-monitor-crashes-by-user-repartition:2"});
  Program gen(dir_.path(), "loadgen", "streamwright-loadgen",
          concat({"--bootstrap-servers", broker.bootstrap(), "--count", "200", "--rate", "0", "--kafka-property", "debug=conf"},
                 kafka_args()),
          kafka_env());
  EXPECT_EQ(gen.proc->wait(60s).value_or(-1), 0) << gen.output();
  expect_no_secret(gen.output(), "the load generator's output");

  Program lag(dir_.path(), "lag", "streamwright-lag-exporter",
          concat({"--bootstrap-servers", broker.bootstrap(), "--topology", "crash-monitor", "--port", "0", "--interval",
                  "1s", "--log-level", "debug", "--kafka-property", "debug=all"},
                 kafka_args()),
          kafka_env());
  const auto port = lag.port();
  ASSERT_NE(port, 0) << lag.output();
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {  // a collection succeeded: it talked to the broker
    http_get(port, "/healthz", &status);
    if (status == 200) break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(status, 200) << lag.output().substr(0, 4000);
  const auto metrics = http_get(port, "/metrics");
  EXPECT_NE(metrics.find("kafka_topic_partition_current_offset"), std::string::npos);
  lag.proc->signal(SIGTERM);
  EXPECT_EQ(lag.proc->wait(30s).value_or(-1), 0);
  EXPECT_NE(lag.output().find("sasl.password = [redacted]"), std::string::npos);
  expect_no_secret(lag.output(), "the lag exporter's output");
  expect_no_secret(metrics, "the lag exporter's /metrics");
}

TEST_F(Secrets, NotInTheTelemetraSinkLogsWhilePostgresIsUnreachable) {
  DevBroker broker({"chat-summary:1", "moments:1"});
  // Two runs: the password in the URL and in a file; then in the environment and as a flag (the
  // flag wins). Nothing listens at 127.0.0.1:1, so each logs its failed connection attempt.
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> runs{
      {{"--postgres-password-file", pg_file_.string()},
       {"POSTGRES_URL=postgresql://streamwright:" + kPgUrlSecret + "@127.0.0.1:1/telemetra"}},
      {{"--postgres-password", kPgFlagSecret}, {"POSTGRES_URL=host=127.0.0.1 port=1 dbname=telemetra user=streamwright"}},
  };
  int i = 0;
  for (const auto& [args, env] : runs) {
    Program r(dir_.path(), "sink" + std::to_string(i++), "streamwright-telemetra-sink",
          concat(concat({"--bootstrap-servers", broker.bootstrap(), "--metrics-port", "0", "--log-level", "debug",
                         "--kafka-property", "debug=conf"},
                        args),
                 kafka_args()),
          concat(kafka_env(), env));
    const auto port = r.port();
    ASSERT_NE(port, 0) << r.output();
    EXPECT_TRUE(wait_for_text(*r.proc, r.err, "PostgreSQL unavailable", 30s)) << r.output();
    const auto metrics = http_get(port, "/metrics");
    r.proc->signal(SIGTERM);
    r.proc->wait(30s);
    const auto log = r.output();
    EXPECT_NE(log.find("password=***"), std::string::npos) << log.substr(0, 4000);  // a password was configured
    expect_configured(log);
    expect_no_secret(log, "the sink's output (run " + std::to_string(i) + ")");
    expect_no_secret(metrics, "the sink's /metrics");
  }
}

// ssl.key.password from each source decrypts a real encrypted key at start-up (librdkafka
// loads it when the configuration is checked, before connecting); a wrong one is refused with
// exit code 2, and neither password is printed.
TEST_F(Secrets, KeyPasswordReachesLibrdkafka) {
  if (std::system("command -v openssl > /dev/null 2>&1") != 0) GTEST_SKIP() << "openssl is not installed";
  const std::string right = "swKeyPassRight4c1d";
  const std::string wrong = "swKeyPassWrong9a0b";
  const auto key = dir_.path() / "client.key";
  const auto cert = dir_.path() / "client.crt";
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -days 2 -subj /CN=streamwright-test -keyout '" +
                          key.string() + "' -out '" + cert.string() + "' -passout pass:" + right + " > /dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  ASSERT_NE(read_all(key).find("ENCRYPTED"), std::string::npos);

  // File names carry the label, not the password (which must not appear in any output).
  auto sources = [&](const std::string& pw, const std::string& label) {
    const auto file = dir_.path() / ("pw-" + label);
    std::ofstream(file) << pw << "\n";
    const auto props = dir_.path() / ("props-" + label);
    std::ofstream(props) << "ssl.key.password=" << pw << "\n";
    const auto props_file = dir_.path() / ("props-file-" + label);
    std::ofstream(props_file) << "ssl.key.password.file=" << file.string() << "\n";
    using Source = std::pair<std::vector<std::string>, std::vector<std::string>>;  // args, env
    return std::vector<std::pair<std::string, Source>>{
        {"flag", {{"--kafka-property", "ssl.key.password=" + pw}, {}}},
        {"env", {{}, {"KAFKA_PROPERTY_SSL_KEY_PASSWORD=" + pw}}},
        {"env file", {{}, {"KAFKA_PROPERTY_SSL_KEY_PASSWORD_FILE=" + file.string()}}},
        {"properties file", {{"--kafka-properties-file", props.string()}, {}}},
        {"properties file, .file key", {{"--kafka-properties-file", props_file.string()}, {}}},
    };
  };
  const std::vector<std::string> tls{"--stage", "parse", "--bootstrap-servers", "127.0.0.1:1", "--metrics-port", "0",
                                     "--state-dir", (dir_.path() / "state").string(), "--kafka-property",
                                     "security.protocol=SSL", "--kafka-property", "ssl.key.location=" + key.string(),
                                     "--kafka-property", "ssl.certificate.location=" + cert.string()};
  int i = 0;
  for (const auto& [name, source] : sources(right, "right")) {
    SCOPED_TRACE("right password from the " + name);
    Program r(dir_.path(), "tls" + std::to_string(i++), "streamwright-crash-monitor", concat(tls, source.first), source.second);
    // Past the check: the stage logs its (redacted) settings and goes on to connect.
    EXPECT_TRUE(wait_for_text(*r.proc, r.err, "Kafka settings:", 20s)) << r.output();
    EXPECT_NE(r.output().find("ssl.key.password=***"), std::string::npos) << r.output();
    r.proc->stop(10s);
    EXPECT_EQ(r.output().find(right), std::string::npos) << r.output();
  }
  for (const auto& [name, source] : sources(wrong, "wrong")) {
    SCOPED_TRACE("wrong password from the " + name);
    Program r(dir_.path(), "tls" + std::to_string(i++), "streamwright-crash-monitor", concat(tls, source.first), source.second);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(r.proc->wait(20s).value_or(-1), 2) << r.output();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    EXPECT_NE(r.output().find("ssl.key.location failed"), std::string::npos) << r.output();
    EXPECT_EQ(r.output().find(wrong), std::string::npos) << r.output();
    EXPECT_EQ(r.output().find(right), std::string::npos) << r.output();
  }
}

}  // namespace
}  // namespace sw::test
