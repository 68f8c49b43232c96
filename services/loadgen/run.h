#pragma once
// The two loops of streamwright-loadgen: generated events, and a file replayed. Both stop when
// `stop` becomes non-zero (a signal), at --count or after --duration. They return the exit code.
#include <csignal>

#include "services/loadgen/options.h"

namespace sw::loadgen {

int run_generator(const Settings& settings, const volatile std::sig_atomic_t& stop);
int run_replay(const Settings& settings, const volatile std::sig_atomic_t& stop);

}  // namespace sw::loadgen
