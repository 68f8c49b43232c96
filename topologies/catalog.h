#pragma once
// The pipeline catalogue: one entry per pipeline, from which every tool derives what it knows
// (the stage executables, the launcher's `demo` and `up`, `describe` and `list`, the load
// generator's --mode, the lag exporter's --topology, and through `streamwright list --json` and
// `--helm` the chaos suite, the benchmarks and the Helm chart's catalogue).
//
// Adding a pipeline: write topologies/<name>.{h,cpp} (the topology in the DSL), its data model
// and sample data, and topologies/<name>_pipeline.cpp defining `Pipeline <name>_pipeline()`:
// the build finds the file, adds the entry and builds `streamwright-<name>` (docs/architecture.md).
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/service.h"
#include "topology/topology.h"

namespace sw::topologies {

// A database (or other) sink that runs beside the stages as its own executable.
struct SinkEntry {
  std::string executable;                   // e.g. streamwright-telemetra-sink
  std::vector<std::string> input_topics;    // what it consumes (defaults)
  std::vector<std::string> topic_options;   // the option naming each input topic, in camelCase
};

// A Delta table the lake sink writes from one of the pipeline's topics (docs/lake.md).
struct LakeTable {
  std::string topic;         // e.g. render-events
  std::string table;         // the table's directory name under the lake, e.g. raw_events
  std::string partition_by;  // the sink's --partition-by spec ("" none), e.g. date:timestamp,hour:timestamp
};

struct Pipeline {
  std::string name;  // "crash-monitor": the executable is streamwright-<name>
  // The stage executable: its options and how they build the topology (service_main).
  ServiceDefinition service;
  // The topology with default options (describe, list, the lag exporter); tables are described,
  // never opened.
  std::function<Topology(const std::string& application_id)> build_default;

  // Entry topics: the option (camelCase, as in Helm values) that names each, by default name.
  std::vector<std::pair<std::string, std::string>> input_topic_options;
  std::string output_topic;       // the main result topic
  std::string dead_letter_topic;  // of the first input
  std::vector<std::string> watch_topics;  // shown live by `demo` (default: output_topic)
  std::string output_label;               // printed before each shown record ("ALERT")
  std::vector<std::pair<std::string, std::string>> watch_labels;  // other topics' labels
  // Stage options added unless the user gives them: always, and for the demo only. "{data}" in a
  // value is the sample-data directory.
  std::vector<std::pair<std::string, std::string>> defaults, demo_defaults;
  // Options a deployment must set (name in camelCase -> what to give), for the Helm chart.
  std::vector<std::pair<std::string, std::string>> required_options;
  // The load generator: its --mode ("replay": the demo replays sample data named in
  // loadgen_args, "{data}" being the sample-data directory), and the options of further input
  // topics it writes.
  std::string loadgen_mode;
  std::vector<std::string> loadgen_args;  // for the demo, besides --mode, rate and brokers
  std::vector<std::string> loadgen_topic_flags;  // e.g. --viewer-topic for the second input
  std::string sample_data;                // subdirectory of the sample-data directory ("" none)
  std::vector<SinkEntry> sinks;
  // The lake: tables `demo` writes under its work directory and `up --lake DIR` under DIR.
  std::vector<LakeTable> lake_tables;

  std::string executable() const { return "streamwright-" + name; }
};

// Every pipeline, by name.
const std::vector<Pipeline>& catalog();
// Throws std::invalid_argument naming the known pipelines.
const Pipeline& find_pipeline(const std::string& name);

// `streamwright list --json`: every pipeline with its topology as built with default options
// (stages, kinds, consumer groups, topics and their roles, stores), for scripts.
std::string catalog_json();
// `streamwright list --helm`: the Helm chart's catalogue (helm/streamwright/files/catalogue.yaml),
// internal topic names with the placeholder <app> for the release's application id.
std::string helm_catalogue_yaml();

}  // namespace sw::topologies
