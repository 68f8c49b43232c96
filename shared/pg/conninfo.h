#pragma once
// PostgreSQL connection settings from the seed's environment (POSTGRES_URL, POSTGRES_USER,
// POSTGRES_PASSWORD), turned into one libpq connection string. No libpq dependency: the result
// is handed to libpq (through libpqxx) by the caller.
#include <string>

namespace sw::pg {

// `url` may be the seed's JDBC form (jdbc:postgresql://host:port/db?params), a libpq URI
// (postgresql:// or postgres://), or a libpq key=value string. A non-empty user or password
// overrides the one in the URL. Adds connect_timeout=10 unless the URL sets one.
// Throws std::invalid_argument for anything else.
std::string make_conninfo(const std::string& url, const std::string& user, const std::string& password);

// The connection string with every password replaced by "***", for logs.
std::string redact(const std::string& conninfo);

}  // namespace sw::pg
