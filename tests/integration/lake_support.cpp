#include "lake_support.h"

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "common/time.h"
#include "lake/delta/log.h"
#include "lake/fs/file_layer.h"

namespace sw::test::lake {

using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr TimestampMs kBase = 1795770000000;  // 2026-11-27T05:00:00Z

std::string ms(TimestampMs t) { return std::to_string(t); }

std::string run_capture(const std::string& cmd, int& rc) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + cmd);
  char buf[1 << 16];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = ::pclose(p);
  rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

void canon_into(const json& j, std::string& out) {
  if (j.is_object()) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : j.items()) {  // nlohmann::json keeps keys sorted
      if (!first) out += ',';
      first = false;
      out += json(k).dump() + ':';
      canon_into(v, out);
    }
    out += '}';
  } else if (j.is_array()) {
    out += '[';
    for (std::size_t i = 0; i < j.size(); ++i) {
      if (i) out += ',';
      canon_into(j[i], out);
    }
    out += ']';
  } else if (j.is_number()) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", j.get<double>());
    out += buf;
  } else {
    out += j.dump();
  }
}

}  // namespace

std::string source_dir() { return SW_SOURCE_DIR; }

Produced render_metric(int i, int partitions) {
  Produced p;
  p.partition = i % partitions;
  const TimestampMs start = kBase + static_cast<TimestampMs>(i / 7) * 10000;
  const std::string scene = "scene-" + std::to_string(1000 + i % 7);
  const std::string project = i % 5 == 0 ? "" : (i % 3 ? "aurora" : "ümlaut \"quoted\" ✓");
  const int frames = 1 + i % 500;
  const double avg = 1000.0 + i * 0.125, p95 = 2000.5 + i, mx = 3000.0 + i;
  const double gpu = std::round((i % 1000) * 0.000997 * 1e6) / 1e6;
  json in = {{"scene_id", scene},   {"project", project}, {"window_start", format_rfc3339(start)},
             {"window_end", format_rfc3339(start + 10000)}, {"frames", frames}, {"failed_frames", i % 3},
             {"retried_frames", i % 4}, {"avg_render_time_ms", avg}, {"max_render_time_ms", mx},
             {"p95_render_time_ms", p95}, {"avg_gpu_utilization", gpu}, {"over_budget_frames", i % 11},
             {"nodes", 1 + i % 9}};
  p.value = in.dump();
  p.row = in;
  p.row["window_start"] = ms(start);
  p.row["window_end"] = ms(start + 10000);
  for (const char* k : {"frames", "failed_frames", "retried_frames", "over_budget_frames", "nodes"})
    p.row[k] = std::to_string(in[k].get<std::int64_t>());
  return p;
}

Produced node_metric(int i, int partitions) {
  Produced p;
  p.partition = i % partitions;
  const TimestampMs start = kBase + static_cast<TimestampMs>(i / 5) * 10000;
  json in = {{"node_id", "node-" + std::to_string(i % 5)}, {"gpu_model", i % 2 ? "A100" : "RTX 6000"},
             {"window_start", format_rfc3339(start)},     {"window_end", format_rfc3339(start + 10000)},
             {"frames", 1 + i},                            {"failed_frames", i % 2},
             {"avg_gpu_utilization", 0.5}};
  p.value = in.dump();
  p.row = in;
  p.row["window_start"] = ms(start);
  p.row["window_end"] = ms(start + 10000);
  p.row["frames"] = std::to_string(1 + i);
  p.row["failed_frames"] = std::to_string(i % 2);
  return p;
}

Produced render_event(int i, int partitions, int hours) {
  Produced p;
  p.partition = i % partitions;
  const TimestampMs ts = kBase + static_cast<TimestampMs>((static_cast<long long>(i) * 7919) % (hours * 3600000LL));
  json in = json::object();
  json row = json::object();
  // Ids: strings, or integers taken as their text.
  if (i % 10 == 3) {
    in["frame_id"] = i;
    row["frame_id"] = std::to_string(i);
  } else {
    in["frame_id"] = "frame-" + std::to_string(i);
    row["frame_id"] = "frame-" + std::to_string(i);
  }
  in["scene_id"] = row["scene_id"] = "scene-" + std::to_string(i % 13);
  in["node_id"] = row["node_id"] = "node-" + std::to_string(i % 17);
  in["render_time_ms"] = row["render_time_ms"] = 50.0 + (i % 10000) * 1.5;
  in["gpu_utilization"] = row["gpu_utilization"] = (i % 101) / 100.0;
  // Timestamps as the pipeline takes them.
  switch (i % 4) {
    case 0: in["timestamp"] = format_rfc3339(ts); break;
    case 1: in["timestamp"] = ts; break;  // epoch milliseconds
    case 2: {
      std::string t = format_rfc3339(ts);  // "YYYY-MM-DDTHH:MM:SS[.fff]Z" -> "YYYY-MM-DD HH:MM:SS[.fff]"
      t[10] = ' ';
      t.pop_back();
      in["timestamp"] = t;
      break;
    }
    default: in["timestamp"] = format_rfc3339(ts); break;
  }
  row["timestamp"] = ms(ts);
  row["status"] = nullptr;
  row["attempt"] = nullptr;
  row["memory_mb"] = nullptr;
  row["cpu_utilization"] = nullptr;
  row["error"] = nullptr;
  if (i % 3 != 0) in["status"] = row["status"] = std::vector<std::string>{"ok", "failed", "retry"}[i % 3];
  if (i % 3 == 2) {
    in["attempt"] = 2;
    row["attempt"] = "2";
  }
  if (i % 3 == 1) {
    in["error"] = row["error"] = i % 2 ? json(nullptr) : json("GPU out of memory");
  }
  if (i % 2 == 0) in["memory_mb"] = row["memory_mb"] = 4096.0 + i % 100;
  if (i % 7 == 0) in["extra_field"] = {{"ignored", true}};  // other fields are allowed
  // Partition values of the file.
  const std::string rfc = format_rfc3339(ts);
  row["date"] = rfc.substr(0, 10);
  row["hour"] = std::to_string(std::stoi(rfc.substr(11, 2)));
  p.value = in.dump();
  p.row = row;
  return p;
}

std::string canon(const json& row) {
  std::string out;
  canon_into(row, out);
  return out;
}

std::vector<std::string> canon_sorted(const std::vector<json>& rows) {
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(canon(r));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> canon_sorted(const json& rows) {
  std::vector<json> v(rows.begin(), rows.end());
  return canon_sorted(v);
}

std::unique_ptr<Service> start_sink(const DevBroker& broker, std::vector<std::string> args,
                                    const std::filesystem::path& log, std::vector<std::string> env) {
  std::vector<std::string> all{"--bootstrap-servers", broker.bootstrap(), "--metrics-port", "0", "--log-level", "debug"};
  // Defaults for tests: commits within a second, several row groups per file.
  const auto has = [&](const std::string& flag) { return std::find(args.begin(), args.end(), flag) != args.end(); };
  if (!has("--max-file-age")) all.insert(all.end(), {"--max-file-age", "500ms"});
  if (!has("--row-group-size")) all.insert(all.end(), {"--row-group-size", "64KiB"});
  all.insert(all.end(), args.begin(), args.end());
  return std::make_unique<Service>("streamwright-lake-sink", all, log, std::move(env));
}

std::map<std::string, std::int64_t> table_progress(const std::string& table) {
  std::map<std::string, std::int64_t> out;
  auto layer = sw::lake::fs::open_posix(table);
  sw::lake::delta::DeltaLog log(*layer);
  sw::lake::delta::Snapshot s;
  std::string error;
  if (log.load(s, error)) return out;
  for (const auto& [app, t] : s.txns) out[app] = t.version;
  return out;
}

bool wait_for_progress(const std::string& table, const std::string& group, const std::vector<std::int64_t>& end,
                       std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto progress = table_progress(table);
    bool done = true;
    for (std::size_t p = 0; p < end.size(); ++p) {
      if (end[p] == 0) continue;
      const auto it = progress.find(group + "-" + std::to_string(p));
      done = done && it != progress.end() && it->second >= end[p];
    }
    if (done) return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

json read_table(const std::string& table, const std::string& replay, bool rows) {
  const char* env = std::getenv("LAKE_READERS");
  const std::string readers = env && *env ? env : source_dir() + "/.cache/lake-readers";
  const std::string cmd = "LAKE_READERS=" + shell_quote(readers) + " node " +
                          shell_quote(source_dir() + "/tests/lake/read_table.mjs") + " " + shell_quote(table) +
                          " --replay " + replay + (rows ? "" : " --no-rows") + " 2>&1";
  int rc = 0;
  const std::string out = run_capture(cmd, rc);
  if (rc != 0) throw std::runtime_error("read_table.mjs failed (" + std::to_string(rc) + "):\n" + out.substr(0, 4000));
  return json::parse(out);
}

nlohmann::json duckdb_rows(const std::string& sql, const std::filesystem::path& scratch) {
  std::ofstream(scratch) << sql;
  const char* env = std::getenv("LAKE_READERS");
  const std::string cmd = "LAKE_READERS=" + std::string(env ? env : (source_dir() + "/.cache/lake-readers").c_str()) +
                          " node " + source_dir() + "/tests/lake/duckdb_sql.mjs " + scratch.string() + " 2>&1";
  std::string result;
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) result.append(buf, n);
  const int rc = ::pclose(p);
  if (rc != 0) {
    ADD_FAILURE() << "DuckDB failed (" << rc << "):\n" << result;
    return nullptr;
  }
  return nlohmann::json::parse(result);
}

int lake_tool(const std::vector<std::string>& args, std::string* output) {
  std::string cmd = shell_quote(bin_dir() + "/streamwright-lake");
  for (const auto& a : args) cmd += " " + shell_quote(a);
  int rc = 0;
  const std::string out = run_capture(cmd + " 2>&1", rc);
  if (output) *output = out;
  return rc;
}

}  // namespace sw::test::lake
