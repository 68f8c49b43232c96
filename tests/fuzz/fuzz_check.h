#pragma once
// An invariant a fuzz target checks on what a parser accepted: a violation aborts, which
// libFuzzer reports as a crash with the input saved.
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                         \
  do {                                                                                           \
    if (!(cond)) {                                                                               \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);       \
      std::abort();                                                                              \
    }                                                                                            \
  } while (0)
