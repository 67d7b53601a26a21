#include "platform/memory_bandwidth.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace enclave {
namespace {

// Four independent accumulators keep several cache lines in flight per thread.
__attribute__((target("avx2"))) uint64_t ReadAvx2(const uint8_t* p, size_t bytes) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 128 <= bytes; i += 128) {
    a0 = _mm256_xor_si256(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_xor_si256(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_xor_si256(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_xor_si256(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  const __m256i x = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
  return static_cast<uint64_t>(_mm256_extract_epi64(x, 0) ^ _mm256_extract_epi64(x, 3));
}

__attribute__((target("avx512f"))) uint64_t ReadAvx512(const uint8_t* p, size_t bytes) {
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 256 <= bytes; i += 256) {
    a0 = _mm512_xor_si512(a0, _mm512_load_si512(p + i));
    a1 = _mm512_xor_si512(a1, _mm512_load_si512(p + i + 64));
    a2 = _mm512_xor_si512(a2, _mm512_load_si512(p + i + 128));
    a3 = _mm512_xor_si512(a3, _mm512_load_si512(p + i + 192));
  }
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(lanes, _mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3)));
  return lanes[0] ^ lanes[7];
}

uint64_t ReadScalar(const uint8_t* p, size_t bytes) {
  uint64_t acc = 0;
  for (size_t i = 0; i + 8 <= bytes; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    acc ^= v;
  }
  return acc;
}

}  // namespace

double TimeReadPass(ThreadPool& pool, std::span<const uint8_t> buffer) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  static const bool avx2 = __builtin_cpu_supports("avx2");
  std::vector<uint64_t> sink(pool.size());
  const auto t0 = std::chrono::steady_clock::now();
  pool.Run([&](int t, int nt) {
    const size_t per = buffer.size() / nt / 256 * 256;
    const uint8_t* p = buffer.data() + t * per;
    sink[t] ^= avx512 ? ReadAvx512(p, per) : avx2 ? ReadAvx2(p, per) : ReadScalar(p, per);
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  volatile uint64_t keep = sink[0];
  (void)keep;
  return seconds;
}

double MeasureReadBandwidth(ThreadPool& pool, std::span<const uint8_t> buffer, int reps) {
  const double bytes = static_cast<double>(buffer.size() / pool.size() / 256 * 256 * pool.size());
  double best = 0;
  for (int rep = 0; rep < reps; ++rep) best = std::max(best, bytes / TimeReadPass(pool, buffer));
  return best;
}

double MeasureReadBandwidth(ThreadPool& pool, size_t bytes, int reps) {
  bytes = std::max<size_t>(bytes / 4096 * 4096, 1u << 20);
  auto* buf = static_cast<uint8_t*>(std::aligned_alloc(64, bytes));
  if (buf == nullptr) return 0;
  std::memset(buf, 1, bytes);
  const double bandwidth = MeasureReadBandwidth(pool, std::span<const uint8_t>(buf, bytes), reps);
  std::free(buf);
  return bandwidth;
}

}  // namespace enclave
