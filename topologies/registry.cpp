#include "topologies/registry.h"

#include <stdexcept>

#include "topologies/catalog.h"

namespace sw::topologies {

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const auto& p : catalog()) out.push_back(p.name);
  return out;
}

Topology build_default(const std::string& name, const std::string& application_id) {
  const auto& p = find_pipeline(name);
  return p.build_default(application_id.empty() ? name : application_id);
}

std::string service_executable(const std::string& name) { return find_pipeline(name).executable(); }

namespace {
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";  // a line break in a Graphviz label
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}
}  // namespace

std::string to_dot(const Topology& t) {
  std::string out = "digraph " + quote(t.application_id()) + " {\n";
  out += "  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=9];\n";
  for (const auto& use : t.topics()) {
    const char* color = use.role == TopicRole::input        ? "lightblue"
                        : use.role == TopicRole::output      ? "palegreen"
                        : use.role == TopicRole::dead_letter ? "mistyrose"
                        : use.role == TopicRole::changelog   ? "lightyellow"
                                                             : "lightgrey";
    out += "  " + quote("topic:" + use.name) + " [shape=box, style=filled, fillcolor=" + color + ", label=" +
           quote(use.name + "\n(" + to_string(use.role) + ")") + "];\n";
  }
  for (const auto& s : t.subtopologies()) {
    out += "  subgraph " + quote("cluster_" + s.name) + " {\n    label=" +
           quote("stage " + s.name + "\ngroup " + t.group_id(s.name)) + ";\n    style=rounded;\n";
    out += "    " + quote("stage:" + s.name) + " [shape=ellipse, label=" + quote(s.name) + "];\n";
    for (const auto& store : s.stores)
      out += "    " + quote("store:" + store) + " [shape=cylinder, label=" + quote(store) + "];\n";
    out += "  }\n";
    for (const auto& src : s.source_topics) out += "  " + quote("topic:" + src) + " -> " + quote("stage:" + s.name) + ";\n";
    for (const auto& sink : s.repartition_sinks)
      out += "  " + quote("stage:" + s.name) + " -> " + quote("topic:" + sink) + ";\n";
    for (const auto& store : s.stores) {
      out += "  " + quote("stage:" + s.name) + " -> " + quote("store:" + store) + " [dir=both, style=dashed];\n";
      out += "  " + quote("store:" + store) + " -> " + quote("topic:" + t.changelog_topic(store)) + " [style=dashed];\n";
    }
  }
  for (const auto& use : t.topics())
    if (use.role == TopicRole::output || use.role == TopicRole::dead_letter)
      out += "  " + quote("stage:" + use.subtopology) + " -> " + quote("topic:" + use.name) + ";\n";
  out += "}\n";
  return out;
}

}  // namespace sw::topologies
