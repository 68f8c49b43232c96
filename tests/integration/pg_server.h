#pragma once
// A throwaway PostgreSQL 15 server for tests of the Telemetra sink (see docs/telemetra.md):
// initdb into a temporary directory, a free loopback port, password authentication on TCP (so the
// sink's credentials are really checked), one database `telemetra` owned by the role `telemetra`.
// initdb refuses root, so as root the server runs as the `postgres` user.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "harness.h"

namespace sw::test {

class PgServer {
 public:
  static constexpr const char* kSuperPassword = "pg-super-7";

  PgServer(const std::filesystem::path& dir, const std::string& sink_password)
      : dir_(dir), port_(free_port()) {
    std::filesystem::create_directories(dir_);
    {
      std::ofstream pw(dir_ / "pw");
      pw << kSuperPassword << "\n";
    }
    if (::geteuid() == 0) {
      as_ = "runuser -u postgres -- ";
      run("chown -R postgres:postgres '" + dir_.string() + "'");
    }
    run(as_ + bin("initdb") + " -D '" + (dir_ / "data").string() + "' -U postgres --auth-local=trust " +
        "--auth-host=scram-sha-256 --pwfile='" + (dir_ / "pw").string() + "' -E UTF8 --no-locale >/dev/null 2>&1");
    start();
    query_db("postgres", "CREATE ROLE telemetra LOGIN PASSWORD '" + escape(sink_password) + "'");
    query_db("postgres", "CREATE DATABASE telemetra OWNER telemetra");
  }
  ~PgServer() {
    try {
      stop();
    } catch (const std::exception&) {
    }
  }
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  void start() {
    run(as_ + bin("pg_ctl") + " -D '" + (dir_ / "data").string() + "' -l '" + (dir_ / "pg.log").string() +
        "' -w -t 30 -o \"-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " + dir_.string() +
        "\" start >/dev/null");
    running_ = true;
  }
  void stop() {
    if (!running_) return;
    run(as_ + bin("pg_ctl") + " -D '" + (dir_ / "data").string() + "' -m fast -w stop >/dev/null");
    running_ = false;
  }
  std::string query_db(const std::string& db, const std::string& sql) const {
    const auto file = dir_.parent_path() / "query.sql";
    {
      std::ofstream out(file);
      out << sql << ";\n";
    }
    return run("PGPASSWORD='" + std::string(kSuperPassword) + "' psql -X -q -h 127.0.0.1 -p " + std::to_string(port_) +
               " -U postgres -d " + db + " -v ON_ERROR_STOP=1 -At -F '|' -f '" + file.string() + "' 2>&1");
  }
  std::string query(const std::string& sql) const { return query_db("telemetra", sql); }
  // Rows of a table in the telemetra database, or -1 while it does not exist yet.
  long long count(const std::string& table) const {
    try {
      return std::stoll(query("SELECT count(*) FROM " + table));
    } catch (const std::exception&) {
      return -1;
    }
  }
  std::uint16_t port() const { return port_; }
  std::string url() const { return "postgresql://127.0.0.1:" + std::to_string(port_) + "/telemetra"; }

  static std::string run(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("popen failed: " + cmd);
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    const int rc = ::pclose(p);
    if (rc != 0) throw std::runtime_error("command failed (" + std::to_string(rc) + "): " + cmd + "\n" + out);
    return out;
  }

 private:
  static std::string bin(const std::string& tool) { return "/usr/lib/postgresql/15/bin/" + tool; }
  static std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out;
  }

  std::filesystem::path dir_;
  std::uint16_t port_;
  std::string as_;
  bool running_ = false;
};

}  // namespace sw::test
