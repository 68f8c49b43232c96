#include "config.h"

#include <boost/program_options.hpp>

#include <cctype>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "common/byte_size.h"
#include "common/duration.h"
#include "service/options.h"
#include "service/shell.h"
#include "common/time_zone.h"
#include "kafka/client.h"
#include "lake/crash_points.h"
#include "lake/fs/file_layer.h"
#include "lake/json_schema.h"
#include "lake/parquet/compression.h"

namespace po = boost::program_options;

namespace sw::lake_sink {

namespace {

std::string env_name(const std::string& option) {
  if (option == "bootstrap-servers") return "KAFKA_BOOTSTRAP_SERVERS";
  std::string out = "STREAMWRIGHT_";
  for (char c : option) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// Values of a repeatable TOPIC=VALUE option; one value may hold several, separated by ';' or
// newlines (how they arrive from one environment variable).
std::vector<std::pair<std::string, std::string>> assignments(const po::variables_map& vm, const std::string& name) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!vm.count(name)) return out;
  for (const auto& value : vm[name].as<std::vector<std::string>>()) {
    std::size_t i = 0;
    while (i <= value.size()) {
      const auto end = std::min(value.find_first_of(";\n", i), value.size());
      const std::string item = trim(value.substr(i, end - i));
      i = end + 1;
      if (item.empty()) continue;
      const auto eq = item.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
        throw std::invalid_argument("--" + name + " expects TOPIC=VALUE, got '" + item + "'");
      out.emplace_back(trim(item.substr(0, eq)), trim(item.substr(eq + 1)));
    }
  }
  return out;
}

std::string table_name(std::string location) {
  if (location.rfind("file://", 0) == 0) location = location.substr(7);
  while (location.size() > 1 && location.back() == '/') location.pop_back();
  const auto slash = location.rfind('/');
  return slash == std::string::npos ? location : location.substr(slash + 1);
}

}  // namespace

int parse_options(int argc, char** argv, SinkConfig& c, po::variables_map& vm) {
  po::options_description desc("streamwright-lake-sink options");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("version", "show versions")
    ("list-schemas", "print the topics with a built-in schema and exit")
    ("bootstrap-servers", po::value<std::string>(), "Kafka bootstrap servers (env KAFKA_BOOTSTRAP_SERVERS)")
    ("table", po::value<std::vector<std::string>>()->composing(),
         "TOPIC=PATH: write the topic to the Delta table at PATH (a directory, or file://...), repeatable; "
         "one value may list several, separated by ';'")
    ("schema", po::value<std::vector<std::string>>()->composing(),
         "TOPIC=FILE: the JSON Schema of the topic's records (default: <topic>.schema.json in --schemas-dir, "
         "then the built-in copy of topologies/schemas)")
    ("schemas-dir", po::value<std::string>(), "a directory of <topic>.schema.json files")
    ("partition-by", po::value<std::vector<std::string>>()->composing(),
         "TOPIC=COLUMNS: partition columns, comma-separated: date:FIELD (UTC date of a timestamp), hour:FIELD "
         "(UTC hour, 0-23), or FIELD (its value), e.g. render-events=date:timestamp,hour:timestamp")
    ("dead-letter-topic", po::value<std::vector<std::string>>()->composing(),
         "TOPIC=DLQ: where the topic's records that do not fit its schema go (default <topic>-lake-dlq)")
    ("group-id", po::value<std::string>()->default_value("lake-sink"),
         "consumer group; with the partition it names each partition's progress in the tables (txn appId "
         "<group>-<partition>)")
    ("target-file-size", po::value<std::string>()->default_value("128MiB"),
         "commit a table's files when one reaches this size on disk")
    ("max-file-age", po::value<std::string>()->default_value("60s"),
         "commit a table's files at the latest this long after their first record")
    ("row-group-size", po::value<std::string>()->default_value("32MiB"), "rows buffered per Parquet row group")
    ("buffer-size", po::value<std::string>()->default_value("256MiB"),
         "rows held in memory over all open files; beyond it row groups are written early")
    ("consumer-buffer-size", po::value<std::string>()->default_value("128MiB"), "records fetched ahead of processing")
    ("compression", po::value<std::string>()->default_value("zstd"), "zstd, snappy or none")
    ("zstd-level", po::value<int>()->default_value(3), "ZSTD level, 1-22")
    ("checkpoint-interval", po::value<unsigned>()->default_value(10), "write a Delta checkpoint every N versions (0: never)")
    ("max-record-bytes", po::value<std::string>()->default_value("1MiB"), "larger records are dead-lettered")
    ("starting-offsets", po::value<std::string>()->default_value("earliest"),
         "where a partition the table has no progress for starts: earliest or latest")
    ("default-time-zone", po::value<std::string>()->default_value("UTC"),
         "zone of timestamps written without one: UTC, an offset such as +02:00, or an IANA name")
    ("max-poll-records", po::value<unsigned>()->default_value(10000), "records per poll")
    ("shutdown-timeout", po::value<std::string>()->default_value("30s"),
         "after SIGTERM, exit anyway if the final commit and leaving the group take longer")
    ;
  // clang-format on
  add_kafka_property_options(desc);
  add_http_options(desc);
  add_log_options(desc);
  try {
    const auto parsed = po::parse_command_line(argc, argv, desc);
    reject_negative_unsigned(parsed, desc);
    po::store(parsed, vm);
    std::vector<std::string> names;
    for (const auto& o : desc.options()) names.push_back(o->long_name());
    const auto from_env = po::parse_environment(desc, [&](const std::string& env) -> std::string {
      for (const auto& n : names)
        if (env_name(n) == env && n != "help" && n != "version" && n != "list-schemas") return n;
      return "";
    });
    reject_negative_unsigned(from_env, desc);
    po::store(from_env, vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << "streamwright-lake-sink: Kafka topics into Delta Lake tables of Parquet files, exactly once\n\n"
                << "Usage: streamwright-lake-sink --bootstrap-servers HOST:PORT --table TOPIC=PATH [--table ...] [options]\n\n"
                << desc
                << "\nEvery option can also be set as an environment variable STREAMWRIGHT_<OPTION> (STREAMWRIGHT_TABLE,\n"
                << "STREAMWRIGHT_PARTITION_BY, ...; ';' separates several TOPIC=VALUE entries), and KAFKA_BOOTSTRAP_SERVERS.\n"
                << "Flags win over single-valued variables; repeatable ones (TABLE, SCHEMA, PARTITION_BY, ...) add to the flags.\n"
                << "Kafka properties also come from KAFKA_PROPERTY_<KEY> (a key ending in .file reads a file).\n"
                << "Exit codes: 0 clean stop, 1 failure at run time, 2 bad usage. See docs/lake.md.\n";
      return -1;
    }
    if (vm.count("version")) {
      std::cout << "streamwright-lake-sink (streamwright) librdkafka " << kafka::librdkafka_version() << "\n";
      return -1;
    }
    if (vm.count("list-schemas")) {
      for (const auto& [name, text] : builtin_schemas()) std::cout << name << "\n";
      return -1;
    }

    if (!vm.count("bootstrap-servers")) throw std::invalid_argument("--bootstrap-servers (or KAFKA_BOOTSTRAP_SERVERS) is required");
    c.bootstrap_servers = vm["bootstrap-servers"].as<std::string>();
    c.kafka = kafka_properties(vm, kafka::ClientRoles::both);
    c.group_id = vm["group-id"].as<std::string>();
    if (c.group_id.empty()) throw std::invalid_argument("--group-id must not be empty");

    const auto tables = assignments(vm, "table");
    if (tables.empty()) throw std::invalid_argument("--table TOPIC=PATH is required (at least one)");
    std::set<std::string> topics, locations;
    for (const auto& [topic, location] : tables) {
      if (!topics.insert(topic).second) throw std::invalid_argument("--table: topic " + topic + " is given twice");
      if (!locations.insert(location).second)
        throw std::invalid_argument("--table: two topics write to " + location + " (one topic per table)");
      lake::fs::open(location);  // rejects object-store URIs and unknown schemes, naming them
      TableConfig t;
      t.topic = topic;
      t.location = location;
      t.name = table_name(location);
      t.dead_letter_topic = topic + "-lake-dlq";
      c.tables.push_back(std::move(t));
    }
    auto table_for = [&](const std::string& option, const std::string& topic) -> TableConfig& {
      for (auto& t : c.tables)
        if (t.topic == topic) return t;
      throw std::invalid_argument("--" + option + ": topic " + topic + " has no --table");
    };
    std::map<std::string, std::string> schema_files;
    for (const auto& [topic, file] : assignments(vm, "schema")) {
      table_for("schema", topic);
      schema_files[topic] = file;
    }
    const std::string schemas_dir = vm.count("schemas-dir") ? vm["schemas-dir"].as<std::string>() : "";
    for (auto& t : c.tables) {
      std::string file;
      if (schema_files.count(t.topic)) {
        file = schema_files[t.topic];
      } else if (!schemas_dir.empty() && std::filesystem::exists(schemas_dir + "/" + t.topic + ".schema.json")) {
        file = schemas_dir + "/" + t.topic + ".schema.json";
      }
      if (!file.empty()) {
        t.schema = lake::load_json_schema_file(file);
        t.schema_source = file;
        continue;
      }
      bool found = false;
      for (const auto& [name, text] : builtin_schemas()) {
        if (name != t.topic) continue;
        t.schema = lake::schema_from_json_schema(nlohmann::ordered_json::parse(text));
        t.schema_source = "built-in " + name + ".schema.json";
        found = true;
      }
      if (!found)
        throw std::invalid_argument("no schema for topic " + t.topic + ": give --schema " + t.topic +
                                    "=FILE (a JSON Schema), or --schemas-dir with " + t.topic + ".schema.json");
    }
    for (const auto& [topic, spec] : assignments(vm, "partition-by")) {
      auto& t = table_for("partition-by", topic);
      try {
        t.partitions = lake::parse_partition_spec(spec, t.schema);
      } catch (const std::exception& e) {
        throw std::invalid_argument("--partition-by " + topic + ": " + e.what());
      }
    }
    for (const auto& [topic, dlq] : assignments(vm, "dead-letter-topic")) table_for("dead-letter-topic", topic).dead_letter_topic = dlq;
    for (const auto& t : c.tables)
      if (topics.count(t.dead_letter_topic))
        throw std::invalid_argument("--dead-letter-topic: " + t.dead_letter_topic + " is also an input topic");

    c.target_file_bytes = parse_byte_size(vm["target-file-size"].as<std::string>());
    if (c.target_file_bytes < 1024) throw std::invalid_argument("--target-file-size must be at least 1KiB");
    c.row_group_bytes = parse_byte_size(vm["row-group-size"].as<std::string>());
    if (c.row_group_bytes < 1024) throw std::invalid_argument("--row-group-size must be at least 1KiB");
    c.buffer_bytes = parse_byte_size(vm["buffer-size"].as<std::string>());
    if (c.buffer_bytes < (1u << 20)) throw std::invalid_argument("--buffer-size must be at least 1MiB");
    c.consumer_buffer_bytes = parse_byte_size(vm["consumer-buffer-size"].as<std::string>());
    if (c.consumer_buffer_bytes < (1u << 20)) throw std::invalid_argument("--consumer-buffer-size must be at least 1MiB");
    c.max_record_bytes = parse_byte_size(vm["max-record-bytes"].as<std::string>());
    if (c.max_record_bytes < 64) throw std::invalid_argument("--max-record-bytes must be at least 64");
    c.max_file_age = parse_duration(vm["max-file-age"].as<std::string>());
    if (c.max_file_age < std::chrono::milliseconds(100)) throw std::invalid_argument("--max-file-age must be at least 100ms");
    c.codec = lake::parquet::codec_from_name(vm["compression"].as<std::string>());
    c.zstd_level = vm["zstd-level"].as<int>();
    if (c.zstd_level < 1 || c.zstd_level > 22) throw std::invalid_argument("--zstd-level must be between 1 and 22");
    c.checkpoint_interval = static_cast<int>(vm["checkpoint-interval"].as<unsigned>());
    const auto starting = vm["starting-offsets"].as<std::string>();
    if (starting != "earliest" && starting != "latest")
      throw std::invalid_argument("--starting-offsets must be earliest or latest, not '" + starting + "'");
    c.start_at_latest = starting == "latest";
    c.default_time_zone = vm["default-time-zone"].as<std::string>();
    TimeZone::parse(c.default_time_zone);
    c.max_poll_records = vm["max-poll-records"].as<unsigned>();
    if (c.max_poll_records == 0) throw std::invalid_argument("--max-poll-records must be positive");
    c.shutdown_timeout = parse_duration(vm["shutdown-timeout"].as<std::string>());
    if (c.shutdown_timeout.count() <= 0) throw std::invalid_argument("--shutdown-timeout must be positive");
    check_shell_options(vm);
    c.crash_point = lake::crash::arm_from_environment();
  } catch (const std::exception& e) {
    std::cerr << "streamwright-lake-sink: " << name_the_option(vm, e.what()) << "\nTry 'streamwright-lake-sink --help'.\n";
    return 2;
  }
  return 0;
}

}  // namespace sw::lake_sink
