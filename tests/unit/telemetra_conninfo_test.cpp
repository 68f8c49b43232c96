// POSTGRES_URL forms of the seed and of libpq, and that passwords never reach a log line.
#include <gtest/gtest.h>

#include "pg/conninfo.h"

namespace sw::pg {
namespace {

TEST(TelemetraConninfo, JdbcUrlBecomesALibpqUriWithCredentials) {
  EXPECT_EQ(make_conninfo("jdbc:postgresql://postgres:5432/telemetra", "telemetra", "s3cr&t"),
            "postgresql://postgres:5432/telemetra?user=telemetra&password=s3cr%26t&connect_timeout=10");
  EXPECT_EQ(make_conninfo("jdbc:postgresql://db/x?sslmode=require", "", ""),
            "postgresql://db/x?sslmode=require&connect_timeout=10");
  EXPECT_EQ(make_conninfo("postgres://u@h:1/d?connect_timeout=3", "", ""), "postgres://u@h:1/d?connect_timeout=3");
  EXPECT_EQ(make_conninfo("host=h port=5 dbname=d", "u", "it's"),
            "host=h port=5 dbname=d user='u' password='it\\'s' connect_timeout=10");
  EXPECT_THROW(make_conninfo("jdbc:mysql://h/d", "", ""), std::invalid_argument);
  EXPECT_THROW(make_conninfo("localhost", "", ""), std::invalid_argument);
}

TEST(TelemetraConninfo, RedactHidesEveryPasswordForm) {
  const auto uri = make_conninfo("postgresql://u:inline@h/d", "", "p%w");
  EXPECT_EQ(redact(uri), "postgresql://u:***@h/d?password=***&connect_timeout=10");
  const auto kw = make_conninfo("host=h dbname=d", "u", "a b'c");
  EXPECT_EQ(redact(kw), "host=h dbname=d user='u' password=*** connect_timeout=10");
  EXPECT_EQ(redact("host=h password=plain dbname=d"), "host=h password=*** dbname=d");
  EXPECT_EQ(redact("postgresql://h/d"), "postgresql://h/d");
}

}  // namespace
}  // namespace sw::pg
