// Shared by the benchmarks: the machine's read bandwidth (a streaming read of a buffer far larger
// than the last-level cache, split over a ThreadPool; AVX-512 or AVX2 loads chosen by CPUID, via
// target attributes since benchmark binaries are not shipped and the library itself uses runtime
// dispatch), and weight matrices that stream from DRAM.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "platform/thread_pool.h"

namespace enclave::bench {

inline constexpr size_t kProbeBytes = 512ull << 20;

__attribute__((target("avx2"))) inline uint64_t ReadStreamAvx2(const uint8_t* p, size_t bytes) {
  __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256(), acc2 = _mm256_setzero_si256(),
          acc3 = _mm256_setzero_si256();
  for (size_t i = 0; i + 128 <= bytes; i += 128) {
    acc0 = _mm256_xor_si256(acc0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    acc1 = _mm256_xor_si256(acc1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    acc2 = _mm256_xor_si256(acc2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    acc3 = _mm256_xor_si256(acc3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  const __m256i x = _mm256_xor_si256(_mm256_xor_si256(acc0, acc1), _mm256_xor_si256(acc2, acc3));
  return static_cast<uint64_t>(_mm256_extract_epi64(x, 0) ^ _mm256_extract_epi64(x, 3));
}

// One 64-byte load per cache line, four lines in flight per iteration.
__attribute__((target("avx512f"))) inline uint64_t ReadStreamAvx512(const uint8_t* p, size_t bytes) {
  __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512(), acc2 = _mm512_setzero_si512(),
          acc3 = _mm512_setzero_si512();
  for (size_t i = 0; i + 256 <= bytes; i += 256) {
    acc0 = _mm512_xor_si512(acc0, _mm512_load_si512(p + i));
    acc1 = _mm512_xor_si512(acc1, _mm512_load_si512(p + i + 64));
    acc2 = _mm512_xor_si512(acc2, _mm512_load_si512(p + i + 128));
    acc3 = _mm512_xor_si512(acc3, _mm512_load_si512(p + i + 192));
  }
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(lanes, _mm512_xor_si512(_mm512_xor_si512(acc0, acc1), _mm512_xor_si512(acc2, acc3)));
  return lanes[0] ^ lanes[7];
}

// Streams `bytes` (a multiple of 256, 64-byte aligned) with the widest loads the CPU has.
inline uint64_t ReadStream(const uint8_t* p, size_t bytes) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  return avx512 ? ReadStreamAvx512(p, bytes) : ReadStreamAvx2(p, bytes);
}

// A 64-byte-aligned buffer of `bytes`, touched so its pages exist. Lives until exit.
inline const uint8_t* ProbeBuffer(size_t bytes) {
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(64, bytes));
  std::memset(p, 1, bytes);
  return p;
}

// One pass over `buf` with every thread of `pool` reading its own contiguous share; seconds.
inline double TimeReadPass(ThreadPool& pool, const uint8_t* buf, size_t bytes, std::vector<uint64_t>& sink) {
  sink.resize(pool.size());
  const auto t0 = std::chrono::steady_clock::now();
  pool.Run([&](int t, int nt) {
    const size_t per = bytes / nt / 256 * 256;
    sink[t] ^= ReadStream(buf + t * per, per);
  });
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Best of `reps` passes over kProbeBytes, in bytes per second. A shared machine's bandwidth drifts
// by 2x over minutes: measure right beside whatever is compared with it.
inline double MeasureReadBandwidth(ThreadPool& pool, int reps) {
  static const uint8_t* buf = ProbeBuffer(kProbeBytes);
  std::vector<uint64_t> sink;
  double best = 0;
  for (int rep = 0; rep < reps; ++rep) best = std::max(best, kProbeBytes / TimeReadPass(pool, buf, kProbeBytes, sink));
  volatile uint64_t keep = sink[0];
  (void)keep;
  return best;
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
