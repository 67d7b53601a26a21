// CHECK for broken internal invariants only (never for input from files, requests or flags:
// those return Status). DCHECK compiles away in release builds and is meant for hot kernels.
#pragma once

#include <cstdio>
#include <cstdlib>

#define ENCLAVE_CHECK(cond)                                                            \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::fprintf(stderr, "%s:%d: internal invariant failed: %s\n", __FILE__, __LINE__, \
                   #cond);                                                             \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)

#ifdef NDEBUG
#define ENCLAVE_DCHECK(cond) \
  do {                       \
  } while (0)
#else
#define ENCLAVE_DCHECK(cond) ENCLAVE_CHECK(cond)
#endif
