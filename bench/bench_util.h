// Shared by the benchmarks: the machine's read bandwidth over a buffer far larger than the
// last-level cache (the probe of platform/memory_bandwidth.h, which `enclave bench` uses too), and
// weight matrices that stream from DRAM.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "platform/memory_bandwidth.h"
#include "platform/thread_pool.h"

namespace enclave::bench {

inline constexpr size_t kProbeBytes = 512ull << 20;

// A 64-byte-aligned buffer of `bytes`, touched so its pages exist. Lives until exit.
inline const uint8_t* ProbeBuffer(size_t bytes) {
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(64, bytes));
  std::memset(p, 1, bytes);
  return p;
}

// Best of `reps` passes over kProbeBytes, in bytes per second (platform/memory_bandwidth.h, over a
// buffer kept for the whole run). A shared machine's bandwidth drifts by 2x over minutes: measure
// right beside whatever is compared with it.
inline double MeasureReadBandwidth(ThreadPool& pool, int reps) {
  static const uint8_t* buf = ProbeBuffer(kProbeBytes);
  return enclave::MeasureReadBandwidth(pool, std::span<const uint8_t>(buf, kProbeBytes), reps);
}

// Enough copies of a matrix of `matrix_bytes` random bytes to cover `min_total_bytes` (at least 2),
// so that cycling through them streams every byte from DRAM. Each 16-bit lane is masked with
// 0x3BFF so that fp16 scale fields are finite; kernel speed does not depend on the values.
inline std::vector<std::unique_ptr<uint8_t[]>> MakeWeightCopies(size_t matrix_bytes, size_t min_total_bytes) {
  const size_t copies = std::max<size_t>(2, (min_total_bytes + matrix_bytes - 1) / matrix_bytes);
  std::vector<std::unique_ptr<uint8_t[]>> mats;
  std::mt19937_64 rng(1);
  for (size_t c = 0; c < copies; ++c) {
    mats.emplace_back(new uint8_t[matrix_bytes]);
    auto* p = reinterpret_cast<uint64_t*>(mats.back().get());
    for (size_t i = 0; i < matrix_bytes / 8; ++i) p[i] = rng() & 0x3BFF3BFF3BFF3BFFull;
  }
  return mats;
}

}  // namespace enclave::bench
