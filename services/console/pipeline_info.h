#pragma once
// What the console knows of a pipeline before it reads anything: the catalogue's entry and its
// topology built with default options (as `describe` and the lag exporter know it): stages and
// sinks with their consumer groups, topics with their roles, stores and changelogs.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lag/collector.h"

namespace sw::console {

struct StageInfo {
  std::string name;           // stage name; "sink" for a pipeline's database sink
  std::string kind;           // stateless, stateful or sink
  std::string group;          // its consumer group
  std::string metrics_stage;  // the `stage` label of its metrics
  std::vector<std::string> input_topics;
  bool internal_input = false;  // reads repartition topics
  std::vector<std::string> stores, changelogs, repartition_topics, output_topics, dead_letter_topics;
};

struct TopicInfo {
  std::string name;
  std::string role;   // input, output, repartition, changelog, dead_letter
  std::string stage;  // the stage that reads it (input, repartition) or writes it
};

struct PipelineInfo {
  std::string name, application_id, description;
  std::vector<StageInfo> stages;  // in data-flow order, sinks last
  std::vector<TopicInfo> topics;
  std::vector<std::string> watch_topics;          // the latest outputs, as the demo shows them
  std::map<std::string, std::string> watch_labels;  // topic -> label ("ALERT", "MOMENT")

  // The consumer groups and the topics each reads, for the lag collector.
  std::vector<lag::GroupSpec> groups() const;
  // Topics no group reads (outputs, dead letters, changelogs): their watermarks are read too.
  std::vector<std::string> unread_topics() const;
  std::vector<std::string> dead_letter_topics() const;
  // The stage (by name) whose metrics carry this `stage` label, or nullptr.
  const StageInfo* stage_by_metrics_label(const std::string& label) const;
  const StageInfo* stage(const std::string& name) const;
  nlohmann::ordered_json to_json() const;
};

// Throws std::invalid_argument for an unknown pipeline (naming the known ones).
PipelineInfo describe_pipeline(const std::string& name, const std::string& application_id);

}  // namespace sw::console
