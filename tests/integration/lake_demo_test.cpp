// `streamwright demo render-farm` writes seed 000's lake (render_metrics, node_metrics and
// raw_events partitioned by date and hour) under its work directory, and the DuckDB query it
// prints reads them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <numeric>
#include <regex>

#include "lake_support.h"

namespace sw::test::lake {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

TEST(LakeDemo, RenderFarmDemoWritesItsTablesExactlyAndPrintsAQueryThatReadsThem) {
  TempDir dir;
  const auto work = dir.path() / "work";
  ChildProcess demo(bin_dir() + "/streamwright",
                    {"demo", "render-farm", "--duration", "30", "--rate", "2000", "--work-dir", work.string()},
                    ChildProcess::Options{true, (dir.path() / "demo.err").string(), "", {}});
  std::string out;
  while (auto line = demo.read_line(120s)) out += *line + "\n";
  ASSERT_EQ(demo.wait(60s).value_or(-1), 0) << out;
  EXPECT_NE(out.find("lake sink stopped (exit 0)"), std::string::npos) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(lake: [1-9][0-9]* rows committed)"))) << out;

  const std::string lake = (work / "lake").string();
  std::map<std::string, json> reports;
  for (const char* table : {"render_metrics", "node_metrics", "raw_events"}) {
    std::string report;
    ASSERT_EQ(lake_tool({"validate", lake + "/" + table, "--json"}, &report), 0) << table << "\n" << report;
    reports[table] = json::parse(report);
    EXPECT_GT(reports[table]["rows"].get<std::int64_t>(), 0) << table;
  }
  // Every frame the generator sent is in raw_events exactly once: the table's rows equal the
  // offsets its commits cover (no dead letters: the generator sends well-formed frames).
  std::int64_t covered = 0;
  for (const auto& [app, version] : reports["raw_events"]["txns"].items()) covered += version.get<std::int64_t>();
  EXPECT_EQ(reports["raw_events"]["rows"].get<std::int64_t>(), covered) << reports["raw_events"].dump();

  // The printed query: `streamwright lake sql TABLES` (run through the launcher) then the SELECT.
  const auto at = out.find("duckdb -c \"$(");
  ASSERT_NE(at, std::string::npos) << out;
  const auto close = out.find(")", at);
  const auto end = out.find("\"\n", close);
  std::istringstream words(out.substr(at + 13, close - at - 13));
  std::vector<std::string> args;
  for (std::string w; words >> w;) args.push_back(w);
  ASSERT_GE(args.size(), 3u);
  ChildProcess sql(args[0], std::vector<std::string>(args.begin() + 1, args.end()), {});
  std::string views;
  while (auto line = sql.read_line(30s)) views += *line + "\n";
  ASSERT_EQ(sql.wait(10s).value_or(-1), 0) << views;
  std::string select = out.substr(close + 1, end - close - 1);
  std::replace(select.begin(), select.end(), '\n', ' ');
  const auto rows = duckdb_rows(views + select + ";\n", dir.path() / "query.sql");
  ASSERT_TRUE(rows.is_array()) << select;
  ASSERT_FALSE(rows.empty()) << select;
  EXPECT_NE(rows[0]["scene_id"].get<std::string>().find("scene-"), std::string::npos) << rows.dump();

  // raw_events is partitioned by date and hour, and DuckDB counts what the log lists.
  const auto counts = duckdb_rows(views + "SELECT count(*) AS n, count(DISTINCT date) AS days FROM raw_events;\n",
                                  dir.path() / "count.sql");
  ASSERT_TRUE(counts.is_array());
  EXPECT_EQ(counts[0]["n"], std::to_string(reports["raw_events"]["rows"].get<std::int64_t>()));
}

}  // namespace
}  // namespace sw::test::lake
