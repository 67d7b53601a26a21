// The machine's memory read bandwidth, measured: a streaming read of a buffer far larger than the
// last-level cache, split over a ThreadPool, with the widest loads the CPU has (chosen at run time).
// Token generation is bound by this number; benchmarks report the fraction of it they reach.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "platform/thread_pool.h"

namespace enclave {

// One pass over `buffer` (64-byte aligned) with every thread of `pool` reading its own contiguous
// share; returns seconds. The tail that does not divide into 256-byte units per thread is skipped.
double TimeReadPass(ThreadPool& pool, std::span<const uint8_t> buffer);

// Best of `reps` passes over `buffer`, in bytes per second.
double MeasureReadBandwidth(ThreadPool& pool, std::span<const uint8_t> buffer, int reps);

// The same over a buffer of `bytes` allocated (and touched) here and freed after.
double MeasureReadBandwidth(ThreadPool& pool, size_t bytes = 256u << 20, int reps = 5);

}  // namespace enclave
