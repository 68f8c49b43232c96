// Kafka properties from files, the environment and flags: precedence, the ".file" indirection,
// librdkafka's checks before anything connects, and that no message or log line shows a secret.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "common/secret_file.h"
#include "kafka/config.h"
#include "pg/conninfo.h"

namespace sw::kafka {
namespace {

class KafkaConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sw-kafka-config-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    for (const auto& name : env_) ::unsetenv(name.c_str());
    std::filesystem::remove_all(dir_);
  }
  std::string write(const std::string& name, const std::string& text) {
    const auto p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  void setenv(const std::string& name, const std::string& value) {
    ::setenv(name.c_str(), value.c_str(), 1);
    env_.push_back(name);
  }
  // The message of the std::invalid_argument `f` throws ("" if it does not throw).
  template <class F>
  static std::string error_of(F&& f) {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  }

  std::filesystem::path dir_;
  std::vector<std::string> env_;
};

TEST_F(KafkaConfigTest, PropertiesFileIsJavaStyle) {
  const auto path = write("client.properties",
                          "# a comment\n"
                          "! another comment\n"
                          "\n"
                          "security.protocol=SASL_SSL\n"
                          "  sasl.mechanism : SCRAM-SHA-512\n"
                          "sasl.username = streamwright\r\n"
                          "sasl.password=pa=ss:word \n");
  Config c;
  c.set_from_properties_file(path);
  EXPECT_EQ(c.get("security.protocol"), "SASL_SSL");
  EXPECT_EQ(c.get("sasl.mechanism"), "SCRAM-SHA-512");
  EXPECT_EQ(c.get("sasl.username"), "streamwright");
  EXPECT_EQ(c.get("sasl.password"), "pa=ss:word");  // the first separator splits; trailing blanks go
}

TEST_F(KafkaConfigTest, PropertiesFileErrorsNameTheLineButNotItsText) {
  const auto bad_line = write("bad.properties", "client.id=x\nsasl.password hunter2\n");
  const auto msg = error_of([&] { Config().set_from_properties_file(bad_line); });
  EXPECT_NE(msg.find("--kafka-properties-file " + bad_line + ":2: expected key=value"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;

  const auto unknown = write("unknown.properties", "\nno.such.property=1\n");
  const auto msg2 = error_of([&] { Config().set_from_properties_file(unknown); });
  EXPECT_NE(msg2.find(unknown + ":2: no.such.property: No such configuration property"), std::string::npos) << msg2;

  const auto missing = (dir_ / "missing.properties").string();
  const auto msg3 = error_of([&] { Config().set_from_properties_file(missing); });
  EXPECT_NE(msg3.find("--kafka-properties-file: cannot read '" + missing + "'"), std::string::npos) << msg3;
}

TEST_F(KafkaConfigTest, FileIndirectionReadsTheSecretAndRedactedNamesTheFile) {
  const auto secret = write("password", "s3cret-from-file\n");
  Config c;
  c.set_user_property("sasl.password.file", secret, "--kafka-property");
  EXPECT_EQ(c.get("sasl.password"), "s3cret-from-file");  // the trailing newline is dropped
  EXPECT_FALSE(c.get("sasl.password.file").has_value());
  const auto text = c.redacted();
  EXPECT_NE(text.find("sasl.password=*** (read from " + secret + ")"), std::string::npos) << text;
  EXPECT_EQ(text.find("s3cret-from-file"), std::string::npos) << text;

  const auto msg = error_of([&] { c.set_user_property("sasl.password.file", (dir_ / "none").string(), "X"); });
  EXPECT_NE(msg.find("X (sasl.password.file): cannot read"), std::string::npos) << msg;
}

TEST_F(KafkaConfigTest, PrecedenceIsFileThenEnvironmentThenFlag) {
  const auto file = write("p.properties",
                          "client.rack=from-file\nsasl.username=from-file\nsasl.password=from-file\n");
  const auto env_secret = write("env-password", "from-env-file");
  setenv("KAFKA_PROPERTY_SASL_USERNAME", "from-env");
  setenv("KAFKA_PROPERTY_SASL_PASSWORD_FILE", env_secret);
  Config c;
  c.set_user_properties({file}, {"sasl.password=from-flag"});
  EXPECT_EQ(c.get("client.rack"), "from-file");
  EXPECT_EQ(c.get("sasl.username"), "from-env");
  EXPECT_EQ(c.get("sasl.password"), "from-flag");

  Config d;  // without the flag, the environment's file wins over the properties file
  d.set_user_properties({file}, {});
  EXPECT_EQ(d.get("sasl.password"), "from-env-file");
}

TEST_F(KafkaConfigTest, BadAssignmentsAndPropertiesNameTheirSourceButNoSecret) {
  auto msg = error_of([] { Config().set_user_properties({}, {"sasl.password:hunter2"}); });
  EXPECT_NE(msg.find("--kafka-property expects key=value"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;

  msg = error_of([] { Config().set_user_properties({}, {"no.such.property=1"}); });
  EXPECT_NE(msg.find("--kafka-property: no.such.property: No such configuration property"), std::string::npos) << msg;

  setenv("KAFKA_PROPERTY_SESSION_TIMEOUT_MS", "soon");
  msg = error_of([] { Config().set_user_properties({}, {}); });
  EXPECT_NE(msg.find("KAFKA_PROPERTY_SESSION_TIMEOUT_MS: session.timeout.ms: Invalid value"), std::string::npos) << msg;
}

TEST_F(KafkaConfigTest, ValidateRunsLibrdkafkasChecksWithoutConnecting) {
  Config ok;
  ok.set_raw("bootstrap.servers", "127.0.0.1:1");  // skipped: nothing may connect
  ok.set_raw("security.protocol", "SASL_PLAINTEXT");
  ok.set_raw("sasl.mechanism", "SCRAM-SHA-512");
  ok.set_raw("sasl.password", "hunter2");
  auto msg = error_of([&] { ok.validate(); });  // SCRAM without a user name
  EXPECT_NE(msg.find("sasl.username and sasl.password must be set"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
  ok.set_raw("sasl.username", "streamwright");
  EXPECT_NO_THROW(ok.validate());

  Config conflict;  // the services' producers are idempotent, which needs acks=all
  conflict.set_raw("acks", "1");
  msg = error_of([&] { conflict.validate(); });
  EXPECT_NE(msg.find("acks"), std::string::npos) << msg;
  EXPECT_NO_THROW(conflict.validate(ClientRoles::consumer));

  Config missing_ca;
  missing_ca.set_raw("security.protocol", "SSL");
  missing_ca.set_raw("ssl.ca.location", (dir_ / "no-ca.pem").string());
  missing_ca.set_raw("ssl.key.password", "hunter2");
  msg = error_of([&] { missing_ca.validate(); });
  EXPECT_NE(msg.find("ssl.ca.location"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
}

TEST_F(KafkaConfigTest, SecretsAreRedactedAndScrubbed) {
  Config c;
  c.set_raw("sasl.password", "pw-1");
  c.set_raw("ssl.key.password", "pw-2");
  c.set_raw("ssl.keystore.password", "pw-3");
  c.set_raw("sasl.oauthbearer.config", "principal=pw-4");
  c.set_raw("sasl.oauthbearer.client.secret", "pw-5");
  c.set_raw("ssl.key.pem", "pw-6");
  c.set_raw("client.id", "visible");
  const auto text = c.redacted();
  for (const char* s : {"pw-1", "pw-2", "pw-3", "pw-4", "pw-5", "pw-6"}) EXPECT_EQ(text.find(s), std::string::npos) << s;
  EXPECT_NE(text.find("client.id=visible"), std::string::npos);
  EXPECT_EQ(c.scrub("failed with pw-1 and pw-6, client visible"), "failed with *** and ***, client visible");
}

TEST(SecretFile, DropsTrailingLineBreaksOnly) {
  const auto p = std::filesystem::temp_directory_path() / ("sw-secret-" + std::to_string(::getpid()));
  std::ofstream(p) << "  two words \r\n\n";
  EXPECT_EQ(read_secret_file(p.string(), "x"), "  two words ");
  std::filesystem::remove(p);
  EXPECT_THROW(read_secret_file(p.string(), "x"), std::invalid_argument);
  EXPECT_THROW(read_secret_file("/", "x"), std::invalid_argument);  // not a regular file
}

TEST(PgRedact, PasswordKeywordWithSpacesAroundTheEqualsSign) {
  EXPECT_EQ(pg::redact("host=h password = plain dbname=d"), "host=h password = *** dbname=d");
  EXPECT_EQ(pg::redact("host=h password= 'a b' dbname=d"), "host=h password= *** dbname=d");
  EXPECT_EQ(pg::redact("host=h passfile=/x dbname=d"), "host=h passfile=/x dbname=d");
}

}  // namespace
}  // namespace sw::kafka
