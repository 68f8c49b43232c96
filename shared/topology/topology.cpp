#include "topology/topology.h"

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

}  // namespace sw
