#include "services/console/pipeline_info.h"

#include <algorithm>
#include <set>

#include "topologies/catalog.h"

namespace sw::console {

std::vector<lag::GroupSpec> PipelineInfo::groups() const {
  std::vector<lag::GroupSpec> out;
  for (const auto& s : stages)
    if (!s.input_topics.empty()) out.push_back({s.group, s.input_topics});
  return out;
}

std::vector<std::string> PipelineInfo::unread_topics() const {
  std::set<std::string> read;
  for (const auto& s : stages) read.insert(s.input_topics.begin(), s.input_topics.end());
  std::vector<std::string> out;
  for (const auto& t : topics)
    if (!read.count(t.name) && std::find(out.begin(), out.end(), t.name) == out.end()) out.push_back(t.name);
  return out;
}

std::vector<std::string> PipelineInfo::dead_letter_topics() const {
  std::vector<std::string> out;
  for (const auto& t : topics)
    if (t.role == "dead_letter" && std::find(out.begin(), out.end(), t.name) == out.end()) out.push_back(t.name);
  return out;
}

const StageInfo* PipelineInfo::stage_by_metrics_label(const std::string& label) const {
  for (const auto& s : stages)
    if (s.metrics_stage == label) return &s;
  return nullptr;
}

const StageInfo* PipelineInfo::stage(const std::string& n) const {
  for (const auto& s : stages)
    if (s.name == n) return &s;
  return nullptr;
}

nlohmann::ordered_json PipelineInfo::to_json() const {
  nlohmann::ordered_json j;
  j["pipeline"] = name;
  j["application_id"] = application_id;
  j["description"] = description;
  j["stages"] = nlohmann::ordered_json::array();
  for (const auto& s : stages) {
    j["stages"].push_back({{"name", s.name},
                           {"kind", s.kind},
                           {"group", s.group},
                           {"metrics_stage", s.metrics_stage},
                           {"input_topics", s.input_topics},
                           {"internal_input", s.internal_input},
                           {"stores", s.stores},
                           {"changelogs", s.changelogs},
                           {"repartition_topics", s.repartition_topics},
                           {"output_topics", s.output_topics},
                           {"dead_letter_topics", s.dead_letter_topics}});
  }
  j["topics"] = nlohmann::ordered_json::array();
  for (const auto& t : topics) j["topics"].push_back({{"name", t.name}, {"role", t.role}, {"stage", t.stage}});
  j["watch_topics"] = watch_topics;
  j["watch_labels"] = watch_labels;
  return j;
}

PipelineInfo describe_pipeline(const std::string& name, const std::string& application_id) {
  const auto& entry = topologies::find_pipeline(name);
  const Topology t = entry.build_default(application_id.empty() ? entry.name : application_id);
  PipelineInfo p;
  p.name = entry.name;
  p.application_id = t.application_id();
  p.description = entry.service.description;
  for (const auto& st : t.subtopologies()) {
    StageInfo s;
    s.name = st.name;
    s.kind = st.stores.empty() ? "stateless" : "stateful";
    s.group = t.group_id(st.name);
    s.metrics_stage = st.name;
    s.input_topics = st.source_topics;
    s.internal_input = st.internal_sources;
    s.stores = st.stores;
    for (const auto& store : st.stores) s.changelogs.push_back(t.changelog_topic(store));
    s.repartition_topics = st.repartition_sinks;
    for (const auto& use : t.topics()) {
      if (use.subtopology != st.name) continue;
      if (use.role == TopicRole::output) s.output_topics.push_back(use.name);
      if (use.role == TopicRole::dead_letter) s.dead_letter_topics.push_back(use.name);
    }
    p.stages.push_back(std::move(s));
  }
  // Roles as identifiers (dead_letter, not describe's "dead-letter"): the API's and the page's names.
  for (const auto& use : t.topics()) {
    std::string role = to_string(use.role);
    std::replace(role.begin(), role.end(), '-', '_');
    p.topics.push_back({use.name, std::move(role), use.subtopology});
  }
  // A sink runs as its own executable and group; its metrics carry the executable's name
  // without the prefix as their stage label (streamwright-telemetra-sink: telemetra-sink).
  for (const auto& sink : entry.sinks) {
    StageInfo s;
    s.name = "sink";
    s.kind = "sink";
    s.group = t.application_id() + "-sink";
    const std::string prefix = "streamwright-";
    s.metrics_stage =
        sink.executable.rfind(prefix, 0) == 0 ? sink.executable.substr(prefix.size()) : sink.executable;
    s.input_topics = sink.input_topics;
    p.stages.push_back(std::move(s));
  }
  p.watch_topics = entry.watch_topics.empty() ? std::vector<std::string>{entry.output_topic} : entry.watch_topics;
  for (const auto& topic : p.watch_topics) p.watch_labels[topic] = entry.output_label;
  for (const auto& [topic, label] : entry.watch_labels) p.watch_labels[topic] = label;
  return p;
}

}  // namespace sw::console
