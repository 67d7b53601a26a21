// Internals of the weight quantizers (kernels/quantize.h): helpers shared by the legacy-type and
// K-quant files, and their row functions. Not a public header.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "base/half.h"
#include "kernels/quant_blocks.h"

namespace enclave::kernels::quant_internal {

// Nearest integer to v (ties to even) clamped to [lo, hi] (|lo|, |hi| < 2^22); NaN gives lo. The
// clamp happens in float before the conversion, so no value (huge, infinite, NaN) makes the cast
// undefined. Adding and subtracting 1.5 * 2^23 rounds to an integer in the current (default:
// nearest-even) rounding mode, like std::nearbyint but without a library call in the searches'
// inner loops.
inline int RoundClamp(float v, int lo, int hi) {
  if (!(v > static_cast<float>(lo))) return lo;
  if (!(v < static_cast<float>(hi))) return hi;
  constexpr float kMagic = 12582912.0f;
  return static_cast<int>((v + kMagic) - kMagic);
}

// fp16 bits of v, saturating at +-65504 where the conversion would overflow to infinity (a block
// whose values exceed fp16 range decodes to the largest values it can hold, never to inf/NaN).
// NaN gives 0.
inline uint16_t Fp16Saturate(float v) {
  if (std::isnan(v)) return 0;
  const uint16_t h = F32ToFp16(v);
  return (h & 0x7C00u) == 0x7C00u ? static_cast<uint16_t>((h & 0x8000u) | 0x7BFFu) : h;
}

// Copies n values replacing NaN by 0 and +-inf by +-FLT_MAX, so the searches only see finite
// numbers. (QuantizeWeights rejects non-finite input; this keeps the row functions defined.)
inline void CopyFinite(const float* x, int n, float* out) {
  constexpr float kMax = std::numeric_limits<float>::max();
  for (int i = 0; i < n; ++i) {
    const float v = x[i];
    out[i] = std::isnan(v) ? 0.0f : (v > kMax ? kMax : (v < -kMax ? -kMax : v));
  }
}

// Row quantizers: n (a multiple of the block size) values into n / block_elems blocks; `fast`:
// QuantEffort::kFast (kernels/quantize.h).
void QuantizeRowQ8_0(const float* x, BlockQ8_0* y, int64_t n, bool fast);
void QuantizeRowQ4_0(const float* x, BlockQ4_0* y, int64_t n, bool fast);
void QuantizeRowQ4_1(const float* x, BlockQ4_1* y, int64_t n, bool fast);
void QuantizeRowQ5_0(const float* x, BlockQ5_0* y, int64_t n, bool fast);
void QuantizeRowQ5_1(const float* x, BlockQ5_1* y, int64_t n, bool fast);
void QuantizeRowQ4_K(const float* x, BlockQ4_K* y, int64_t n, bool fast);
void QuantizeRowQ5_K(const float* x, BlockQ5_K* y, int64_t n, bool fast);
void QuantizeRowQ6_K(const float* x, BlockQ6_K* y, int64_t n, bool fast);

}  // namespace enclave::kernels::quant_internal
