#include "topology/topology.h"

#include <algorithm>

namespace sw {

const char* to_string(TopicRole r) {
  switch (r) {
    case TopicRole::input: return "input";
    case TopicRole::output: return "output";
    case TopicRole::repartition: return "repartition";
    case TopicRole::changelog: return "changelog";
    case TopicRole::dead_letter: return "dead-letter";
  }
  return "?";
}

std::string Topology::describe() const {
  std::string out = "Topology " + app_ + "\n";
  for (const auto& s : subs_) {
    out += "  Sub-topology " + s.name + " (consumer group " + group_id(s.name) + ")\n";
    for (const auto& line : s.description) out += "    " + line + "\n";
  }
  out += "  Topics:\n";
  for (const auto& t : topics_) out += "    " + t.name + " (" + to_string(t.role) + ", " + t.subtopology + ")\n";
  return out;
}

namespace detail {

TopologyDraft::TopologyDraft(std::string application_id) { topo_.app_ = std::move(application_id); }

Topology TopologyDraft::build() const {
  for (const auto& s : topo_.subs_)
    if (s.sources.empty()) throw std::logic_error("sub-topology " + s.name + " has no source");
  return topo_;
}

std::size_t TopologyDraft::add_subtopology(const std::string& name, bool internal) {
  for (const auto& s : topo_.subs_)
    if (s.name == name) throw std::invalid_argument("duplicate stage name " + name);
  SubTopologyDef def;
  def.name = name;
  def.internal_sources = internal;
  topo_.subs_.push_back(std::move(def));
  return topo_.subs_.size() - 1;
}

void TopologyDraft::add_topic(const std::string& name, TopicRole role, std::size_t sub) {
  topo_.topics_.push_back({name, role, topo_.subs_[sub].name});
}

void TopologyDraft::use_table(std::size_t sub, std::shared_ptr<table::GlobalTableBase> t) {
  auto& tables = topo_.subs_[sub].global_tables;
  if (std::find(tables.begin(), tables.end(), t) == tables.end()) tables.push_back(std::move(t));
}

void TopologyDraft::use_table(const std::string& stage, std::shared_ptr<table::GlobalTableBase> t) {
  for (std::size_t i = 0; i < topo_.subs_.size(); ++i)
    if (topo_.subs_[i].name == stage) return use_table(i, std::move(t));
  throw std::invalid_argument("use_table: no stage " + stage);
}

std::uint16_t TopologyDraft::add_entry_topic(const std::string& topic) {
  topo_.entry_topics_.push_back(topic);
  return static_cast<std::uint16_t>(topo_.entry_topics_.size() - 1);
}

std::vector<std::string> TopologyDraft::entry_topics_of(std::size_t sub) const {
  const auto& s = topo_.subs_[sub];
  return s.internal_sources ? s.upstream_entry_topics : s.source_topics;
}

}  // namespace detail
}  // namespace sw
