#pragma once
// A built topology: sub-topologies cut at repartition topics, each run by its own consumer
// group (`<app>-<sub-topology>`), with explicit names for every internal topic and store.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "topology/processor.h"

namespace sw {
namespace table {
class GlobalTableBase;
}
namespace detail {
class TopologyDraft;
}

enum class TopicRole { input, output, repartition, changelog, dead_letter };
const char* to_string(TopicRole r);

struct TopicUse {
  std::string name;
  TopicRole role;
  std::string subtopology;  // the one that reads it (input, repartition) or writes it
};

struct SubTopologyDef {
  std::string name;
  bool internal_sources = false;              // reads repartition topics (else external topics)
  std::vector<std::string> source_topics;
  std::vector<std::string> upstream_entry_topics;  // internal: the entry topics feeding the sources
  std::vector<std::string> stores;
  std::vector<std::string> repartition_sinks;  // repartition topics this sub-topology writes
  std::vector<std::shared_ptr<table::GlobalTableBase>> global_tables;  // opened by whoever runs it
  bool pre_aggregating = false;        // sends partial aggregates (two-phase)
  bool table_dependent_drops = false;  // drops records depending on a global table's content
  std::map<std::string, std::function<std::unique_ptr<SourceNode>(TaskContext&)>> sources;
  std::vector<std::string> description;
};

class Topology {
 public:
  const std::string& application_id() const { return app_; }
  const std::vector<SubTopologyDef>& subtopologies() const { return subs_; }
  const SubTopologyDef& subtopology(const std::string& name) const {
    for (const auto& s : subs_)
      if (s.name == name) return s;
    throw std::invalid_argument("unknown stage '" + name + "'; the topology has: " + stage_names());
  }
  std::string stage_names() const {
    std::string out;
    for (const auto& s : subs_) out += (out.empty() ? "" : ", ") + s.name;
    return out;
  }
  // Index of an entry (external input) topic, carried in repartition envelopes.
  const std::vector<std::string>& entry_topics() const { return entry_topics_; }
  const std::vector<TopicUse>& topics() const { return topics_; }
  std::string changelog_topic(const std::string& store) const { return app_ + "-" + store + "-changelog"; }
  std::string group_id(const std::string& subtopology) const { return app_ + "-" + subtopology; }
  std::string describe() const;

 private:
  friend class detail::TopologyDraft;
  std::string app_;
  std::vector<SubTopologyDef> subs_;
  std::vector<std::string> entry_topics_;
  std::vector<TopicUse> topics_;
};

namespace detail {

// A topology under construction: what the DSL's fluent types (topology/fluent.h) record as they
// are called. Internal to the DSL; users build topologies through StreamsBuilder.
class TopologyDraft {
 public:
  explicit TopologyDraft(std::string application_id);
  // The topology, once every stage has a source.
  Topology build() const;

  std::size_t add_subtopology(const std::string& name, bool internal);
  SubTopologyDef& sub(std::size_t i) { return topo_.subs_[i]; }
  const std::string& app() const { return topo_.app_; }
  void add_topic(const std::string& name, TopicRole role, std::size_t sub);
  void describe(std::size_t sub, std::string line) { topo_.subs_[sub].description.push_back(std::move(line)); }
  // Makes a stage open and refresh a global table (a join, or user code that reads it).
  void use_table(std::size_t sub, std::shared_ptr<table::GlobalTableBase> t);
  void use_table(const std::string& stage, std::shared_ptr<table::GlobalTableBase> t);
  std::string changelog_topic(const std::string& store) const { return topo_.changelog_topic(store); }
  // Registers an external topic read by an entry sub-topology; returns its entry index.
  std::uint16_t add_entry_topic(const std::string& topic);
  // The entry topics whose records reach a sub-topology.
  std::vector<std::string> entry_topics_of(std::size_t sub) const;

 private:
  Topology topo_;
};

}  // namespace detail
}  // namespace sw
