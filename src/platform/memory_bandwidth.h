// The machine's memory read bandwidth, measured: a streaming read of a buffer far larger than the
// last-level cache, split over a ThreadPool, with the widest loads the CPU has (chosen at run time).
// Token generation is bound by this number; benchmarks report the fraction of it they reach.
#pragma once

#include <cstddef>

#include "platform/thread_pool.h"

namespace enclave {

// Best of `reps` passes over `bytes` (allocated and freed here), in bytes per second.
double MeasureReadBandwidth(ThreadPool& pool, size_t bytes = 256u << 20, int reps = 5);

}  // namespace enclave
