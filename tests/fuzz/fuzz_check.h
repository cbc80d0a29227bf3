// Invariant checks for the fuzz targets: a failed check prints what broke and aborts, so
// libFuzzer (and the corpus replay test) report it as a crash with the input kept.
#pragma once

#include <cstdio>
#include <cstdlib>

// Set by a target that must undo something before the process dies (temp dirs).
inline void (*g_fuzz_cleanup)() = nullptr;

#define FUZZ_CHECK(cond, ...)                                                             \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n  ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                                  \
      std::fprintf(stderr, "\n");                                                         \
      if (g_fuzz_cleanup != nullptr) g_fuzz_cleanup();                                    \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)
