// streamwright-lake: maintenance of the Delta tables the lake sink writes (docs/lake.md).
//   validate TABLE [--deep] [--json]    replay the log, check every file, print the table
//   optimize TABLE [--target-file-size 128MiB] [--dry-run]
//   vacuum TABLE [--retain 7d] [--dry-run] [--force]
//   files TABLE                         the live files of the current version, one path a line
//   sql TABLE [TABLE...]                DuckDB views over the current versions (read_parquet)
// Exit codes: 0 done (validate: the table is sound), 1 a problem, 2 bad usage.
#include <boost/program_options.hpp>

#include <filesystem>
#include <iostream>

#include "common/byte_size.h"
#include "lake/fs/file_layer.h"
#include "lake/ops.h"
#include "lake/parquet/compression.h"

namespace po = boost::program_options;
using namespace sw::lake;

namespace {

constexpr const char* kUsage =
    "Usage: streamwright-lake COMMAND TABLE [options]\n\n"
    "Commands:\n"
    "  validate TABLE [--deep] [--json]   replay the Delta log; check every listed file's footer, schema, size and\n"
    "                                     row count (--deep: decode every page and row); print version, files,\n"
    "                                     rows, bytes, schema and each writer's progress. Exit 1 on any problem.\n"
    "  optimize TABLE [--target-file-size 128MiB] [--small-file-size N] [--compression zstd|snappy|none] [--dry-run]\n"
    "                                     compact each partition's small files into one new version (remove + add)\n"
    "  vacuum TABLE [--retain 7d] [--dry-run] [--force]\n"
    "                                     delete the files no version within the retention refers to (and files a\n"
    "                                     crashed writer left); below 1h only with --force\n"
    "  files TABLE                        the live files of the current version, one path a line\n"
    "  sql TABLE [TABLE...]               DuckDB CREATE VIEW statements reading the current versions\n\n"
    "TABLE is a directory (or file://...). Object stores are not supported by this build.\n";

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string view_name(std::string location) {
  while (location.size() > 1 && location.back() == '/') location.pop_back();
  auto name = location.substr(location.rfind('/') == std::string::npos ? 0 : location.rfind('/') + 1);
  for (auto& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) name = "t_" + name;
  return name;
}

std::string absolute(const std::string& location) {
  std::string p = location.rfind("file://", 0) == 0 ? location.substr(7) : location;
  return std::filesystem::absolute(p).lexically_normal().string();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" || std::string(argv[1]) == "help") {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  po::options_description desc("options");
  // clang-format off
  desc.add_options()
    ("table", po::value<std::vector<std::string>>(), "the table")
    ("deep", "validate: decode every page and assemble every row")
    ("json", "validate: print a JSON report")
    ("target-file-size", po::value<std::string>()->default_value("128MiB"), "optimize: size of the compacted files")
    ("small-file-size", po::value<std::string>(), "optimize: files below this are compacted (default: half the target)")
    ("compression", po::value<std::string>()->default_value("zstd"), "optimize: zstd, snappy or none")
    ("retain", po::value<std::string>()->default_value("7d"), "vacuum: keep what versions this recent refer to")
    ("force", "vacuum: allow a retention below 1h")
    ("dry-run", "optimize, vacuum: report only");
  // clang-format on
  po::positional_options_description pos;
  pos.add("table", -1);
  po::variables_map vm;
  std::vector<std::string> tables;
  try {
    po::store(po::command_line_parser(argc - 1, argv + 1).options(desc).positional(pos).run(), vm);
    po::notify(vm);
    if (!vm.count("table")) throw std::invalid_argument(command + ": TABLE is required");
    tables = vm["table"].as<std::vector<std::string>>();
    if (command != "sql" && tables.size() != 1) throw std::invalid_argument(command + " takes one TABLE");
    if (command != "validate" && command != "optimize" && command != "vacuum" && command != "files" && command != "sql")
      throw std::invalid_argument("unknown command '" + command + "'");
  } catch (const std::exception& e) {
    std::cerr << "streamwright-lake: " << e.what() << "\n\n" << kUsage;
    return 2;
  }

  std::unique_ptr<fs::FileLayer> layer;
  try {
    layer = fs::open(tables[0]);
    if (command == "validate") {
      const auto report = ops::validate(*layer, vm.count("deep") > 0);
      if (vm.count("json")) std::cout << report.to_json().dump(2) << "\n";
      else report.print(std::cout, tables[0]);
      return report.problems.empty() ? 0 : 1;
    }
    if (command == "optimize") {
      ops::OptimizeOptions o;
      o.target_file_bytes = sw::parse_byte_size(vm["target-file-size"].as<std::string>());
      if (vm.count("small-file-size")) o.small_file_bytes = sw::parse_byte_size(vm["small-file-size"].as<std::string>());
      o.codec = parquet::codec_from_name(vm["compression"].as<std::string>());
      o.dry_run = vm.count("dry-run") > 0;
      const auto r = ops::optimize(*layer, o);
      if (!r.error.empty()) {
        std::cerr << "streamwright-lake: optimize " << tables[0] << ": " << r.error << "\n";
        return 1;
      }
      if (r.files_removed == 0) std::cout << "nothing to compact\n";
      else if (o.dry_run)
        std::cout << "would compact " << r.files_removed << " files (" << r.bytes_removed << " bytes) into " << r.files_added
                  << "\n";
      else
        std::cout << "version " << r.version << ": compacted " << r.files_removed << " files (" << r.bytes_removed
                  << " bytes) into " << r.files_added << " (" << r.bytes_added << " bytes, " << r.rows << " rows)\n";
      return 0;
    }
    if (command == "vacuum") {
      ops::VacuumOptions o;
      o.retain = ops::parse_retention(vm["retain"].as<std::string>());
      o.dry_run = vm.count("dry-run") > 0;
      if (o.retain < std::chrono::hours(1) && !vm.count("force")) {
        std::cerr << "streamwright-lake: --retain " << vm["retain"].as<std::string>()
                  << " is below 1h: readers of recent versions and files a writer has not committed yet could be "
                     "deleted; add --force if you mean it\n";
        return 2;
      }
      const auto r = ops::vacuum(*layer, o);
      if (!r.error.empty()) {
        std::cerr << "streamwright-lake: vacuum " << tables[0] << ": " << r.error << "\n";
        return 1;
      }
      for (const auto& p : r.deleted) std::cout << (o.dry_run ? "would delete " : "deleted ") << p << "\n";
      std::cout << (o.dry_run ? "would delete " : "deleted ") << r.deleted.size() << " files (" << r.bytes << " bytes); "
                << r.kept_recent << " unreferenced files are younger than the retention\n";
      return 0;
    }
    if (command == "files") {
      std::vector<std::string> files;
      std::string error;
      if (!ops::live_files(*layer, files, error)) {
        std::cerr << "streamwright-lake: " << tables[0] << ": " << error << "\n";
        return 1;
      }
      for (const auto& f : files) std::cout << absolute(tables[0]) << "/" << f << "\n";
      return 0;
    }
    // sql
    for (const auto& t : tables) {
      auto l = fs::open(t);
      std::vector<std::string> files;
      std::string error;
      if (!ops::live_files(*l, files, error)) {
        std::cerr << "streamwright-lake: " << t << ": " << error << "\n";
        return 1;
      }
      std::string list;
      for (const auto& f : files) list += (list.empty() ? "" : ", ") + quote(absolute(t) + "/" + f);
      const bool partitioned = std::any_of(files.begin(), files.end(), [](const std::string& f) { return f.find('=') != std::string::npos; });
      if (files.empty())
        std::cout << "-- " << t << " has no files yet\n";
      else
        std::cout << "CREATE OR REPLACE VIEW " << view_name(t) << " AS SELECT * FROM read_parquet([" << list
                  << "], hive_partitioning = " << (partitioned ? "true" : "false") << ");\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "streamwright-lake: " << e.what() << "\n";
    return 2;
  }
}
