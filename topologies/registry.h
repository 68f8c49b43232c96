#pragma once
// The pipelines this build knows, by name, built with their default settings: for tools that
// need a topology's structure (groups, topics, stores) rather than to run it.
#include <string>
#include <vector>

#include "topology/topology.h"

namespace sw::topologies {

std::vector<std::string> names();
// Throws std::invalid_argument for an unknown name.
Topology build_default(const std::string& name, const std::string& application_id = "");
// The executable that runs the pipeline's stages.
std::string service_executable(const std::string& name);

// Graphviz DOT of a topology: stages as clusters, topics as boxes, stores as cylinders.
std::string to_dot(const Topology& topology);

}  // namespace sw::topologies
