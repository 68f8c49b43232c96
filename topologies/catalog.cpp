#include "topologies/catalog.h"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace sw::topologies {

// The build generates pipelines.inc from the topologies/*_pipeline.cpp files:
// SW_PIPELINE(crash_monitor) ... one line each, in name order.
#define SW_PIPELINE(id) Pipeline id##_pipeline();
#include "pipelines.inc"
#undef SW_PIPELINE

const std::vector<Pipeline>& catalog() {
  static const std::vector<Pipeline> entries{
#define SW_PIPELINE(id) id##_pipeline(),
#include "pipelines.inc"
#undef SW_PIPELINE
  };
  return entries;
}

const Pipeline& find_pipeline(const std::string& name) {
  std::string known;
  for (const auto& p : catalog()) {
    if (p.name == name) return p;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  throw std::invalid_argument("unknown pipeline '" + name + "' (known: " + known + ")");
}

namespace {

bool stateful(const SubTopologyDef& st) { return !st.stores.empty(); }

// An internal topic's name with the application id as the placeholder <app>.
std::string with_placeholder(const std::string& topic, const std::string& app) {
  return topic.rfind(app + "-", 0) == 0 ? "<app>" + topic.substr(app.size()) : topic;
}

std::string option_of(const Pipeline& p, const std::string& topic) {
  for (const auto& [t, option] : p.input_topic_options)
    if (t == topic) return option;
  return "";
}

}  // namespace

std::string catalog_json() {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& p : catalog()) {
    const Topology t = p.build_default(p.name);
    nlohmann::ordered_json j;
    j["name"] = p.name;
    j["executable"] = p.executable();
    j["description"] = p.service.description;
    j["application_id"] = t.application_id();
    j["input_topics"] = nlohmann::ordered_json::array();
    for (const auto& [topic, option] : p.input_topic_options) j["input_topics"].push_back({{"topic", topic}, {"option", option}});
    j["output_topic"] = p.output_topic;
    j["dead_letter_topic"] = p.dead_letter_topic;
    j["watch_topics"] = p.watch_topics.empty() ? std::vector<std::string>{p.output_topic} : p.watch_topics;
    j["loadgen_mode"] = p.loadgen_mode;
    j["loadgen_topic_flags"] = p.loadgen_topic_flags;
    j["sample_data"] = p.sample_data;
    j["required_options"] = nlohmann::ordered_json::object();
    for (const auto& [option, what] : p.required_options) j["required_options"][option] = what;
    j["stages"] = nlohmann::ordered_json::array();
    for (const auto& st : t.subtopologies()) {
      nlohmann::ordered_json s;
      s["name"] = st.name;
      s["kind"] = stateful(st) ? "stateful" : "stateless";
      s["group"] = t.group_id(st.name);
      s["input_topics"] = st.source_topics;
      s["internal_input"] = st.internal_sources;
      s["stores"] = st.stores;
      s["changelogs"] = nlohmann::ordered_json::array();
      for (const auto& store : st.stores) s["changelogs"].push_back(t.changelog_topic(store));
      s["repartition_topics"] = st.repartition_sinks;
      j["stages"].push_back(s);
    }
    j["topics"] = nlohmann::ordered_json::array();
    for (const auto& use : t.topics())
      j["topics"].push_back({{"name", use.name}, {"role", to_string(use.role)}, {"stage", use.subtopology}});
    j["sinks"] = nlohmann::ordered_json::array();
    for (const auto& sink : p.sinks)
      j["sinks"].push_back({{"executable", sink.executable},
                            {"group", t.application_id() + "-sink"},
                            {"input_topics", sink.input_topics},
                            {"topic_options", sink.topic_options}});
    j["lake_tables"] = nlohmann::ordered_json::array();
    for (const auto& lt : p.lake_tables)
      j["lake_tables"].push_back({{"topic", lt.topic}, {"table", lt.table}, {"partition_by", lt.partition_by}});
    out.push_back(j);
  }
  return out.dump(2) + "\n";
}

std::string helm_catalogue_yaml() {
  // Written by hand: the layout the chart's templates read (helm/streamwright/templates/_helpers.tpl).
  std::string y =
      "# The pipeline catalogue for the chart, generated from topologies/ by `streamwright list --helm`\n"
      "# (tests/helm/run.sh fails when it is out of date). <app> is the release's application id.\n"
      "catalogue:\n";
  auto q = [](const std::string& s) { return nlohmann::json(s).dump(); };
  for (const auto& p : catalog()) {
    const Topology t = p.build_default(p.name);
    y += "  " + p.name + ":\n";
    for (const auto& st : t.subtopologies()) {
      y += "    - name: " + st.name + "\n";
      y += std::string("      kind: ") + (stateful(st) ? "stateful" : "stateless") + "\n";
      if (st.source_topics.empty()) continue;
      const auto& first = st.source_topics.front();
      if (!st.internal_sources && !option_of(p, first).empty()) y += "      inputTopicOption: " + option_of(p, first) + "\n";
      y += "      inputTopic: " + q(with_placeholder(first, t.application_id())) + "\n";
      if (st.source_topics.size() > 1) {
        y += "      moreInputTopics:\n";
        for (std::size_t i = 1; i < st.source_topics.size(); ++i)
          y += "        " + option_of(p, st.source_topics[i]) + ": " + q(st.source_topics[i]) + "\n";
      }
    }
    for (const auto& sink : p.sinks) {
      y += "    - name: sink\n      kind: sink\n      executable: " + sink.executable + "\n";
      if (sink.input_topics.empty()) continue;
      y += "      inputTopicOption: " + sink.topic_options.front() + "\n      inputTopic: " + q(sink.input_topics.front()) + "\n";
      if (sink.input_topics.size() > 1) {
        y += "      moreInputTopics:\n";
        for (std::size_t i = 1; i < sink.input_topics.size(); ++i)
          y += "        " + sink.topic_options[i] + ": " + q(sink.input_topics[i]) + "\n";
      }
    }
  }
  y += "info:\n";
  for (const auto& p : catalog()) {
    y += "  " + p.name + ":\n    loadGeneratorMode: " + p.loadgen_mode + "\n";
    if (!p.required_options.empty()) {
      y += "    requiredConfig:\n";
      for (const auto& [option, what] : p.required_options) y += "      " + option + ": " + q(what) + "\n";
    }
    if (!p.loadgen_topic_flags.empty()) {
      y += "    loadGeneratorMoreTopics:\n";
      for (const auto& f : p.loadgen_topic_flags) y += "      - " + f + "\n";
    }
  }
  return y;
}

}  // namespace sw::topologies
