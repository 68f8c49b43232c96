#pragma once
// The common main of every Streamwright service: options (flags, then environment), logging,
// the metrics/health endpoint, signal handling, and running one stage of a topology.
#include <functional>
#include <string>

#include <boost/program_options.hpp>

#include "runtime/runner.h"
#include "topology/topology.h"

namespace sw {

struct ServiceDefinition {
  std::string name;         // executable name, for --help
  std::string description;  // one line
  std::string default_application_id;
  // Adds the pipeline's own options.
  std::function<void(boost::program_options::options_description&)> add_options;
  // Builds the topology from parsed options; throws std::invalid_argument on bad values.
  std::function<Topology(const boost::program_options::variables_map&, const std::string& application_id)> build;
};

// Environment variables: KAFKA_BOOTSTRAP_SERVERS and CHECKPOINT_LOCATION (the seeds' names),
// and STREAMWRIGHT_<OPTION> for every option (--window-size -> STREAMWRIGHT_WINDOW_SIZE).
// Flags override the environment. Exit codes: 0 clean stop, 1 runtime failure, 2 bad usage.
int service_main(int argc, char** argv, const ServiceDefinition& def);

std::string env_name_for_option(const std::string& option);

// Kafka's rule for group.instance.id (the broker's JoinGroup validation): at most 249 of
// [a-zA-Z0-9._-], not "." or "..". Empty is allowed and means dynamic membership. Throws
// std::invalid_argument naming the flag.
void check_group_instance_id(const std::string& id);

}  // namespace sw
