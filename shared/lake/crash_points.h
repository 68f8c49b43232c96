#pragma once
// Named points at which a test can make the process kill itself with SIGKILL, to prove that the
// lake survives a crash exactly there. Armed only from the environment variable
// STREAMWRIGHT_LAKE_TEST_CRASH_AT=<point>[:<n>] (the n-th time the point is reached, default 1);
// never from a flag or configuration file.
//
// Why this cannot do harm: the only thing it can do is end the process as SIGKILL would, at a
// point where the sink is built to survive SIGKILL (that is what the tests that use it prove);
// it cannot change what is written. An unknown point name is rejected at start-up (exit code 2),
// and an armed point is logged as an error at start-up, so a stray setting shows at once.
#include <string>
#include <string_view>
#include <vector>

namespace sw::lake::crash {

// The points, in the order a roll reaches them.
inline constexpr const char* kDuringFileWrite = "during-file-write";  // a data file has row groups, no footer
inline constexpr const char* kAfterFileWrite = "after-file-write";    // data files complete, no commit yet
inline constexpr const char* kDuringCommit = "during-commit";        // the next version's temporary written, not in place
inline constexpr const char* kAfterCommit = "after-commit";          // the version exists; offsets not committed to Kafka
inline constexpr const char* kDuringCheckpoint = "during-checkpoint";  // checkpoint written, _last_checkpoint not

std::vector<std::string> point_names();

// Arms a point from "name" or "name:n"; throws std::invalid_argument for an unknown name or a
// bad count. An empty spec disarms.
void arm(std::string_view spec);
// Arms from STREAMWRIGHT_LAKE_TEST_CRASH_AT if set; returns the spec ("" if none).
std::string arm_from_environment();
// Kills the process with SIGKILL if `name` is armed and this is the n-th time it is reached.
void point(const char* name) noexcept;

}  // namespace sw::lake::crash
