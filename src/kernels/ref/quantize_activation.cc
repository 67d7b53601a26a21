// Activation quantizers used before dot products. Symmetric, round-to-nearest-even (the rounding
// of std::nearbyint in the default FP environment, and of the SIMD cvtps instructions), so the
// optimized versions can produce bit-identical blocks.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/half.h"
#include "kernels/quant_blocks.h"
#include "kernels/ref/ref_kernels.h"

namespace enclave::kernels::ref {

void QuantizeActF32(const float* src, void* dst, int64_t n) { std::memcpy(dst, src, n * sizeof(float)); }

void QuantizeActBF16(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) y[i] = F32ToBf16(src[i]);
}

namespace {

// d = amax/127 and q = round(x * (1/d)), computed in f32 in exactly this order.
template <typename Block>
void QuantizeQ8Blocks(const float* src, Block* y, int64_t n, bool with_sum) {
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(src[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int j = 0; j < kQK; ++j) {
      const int q = static_cast<int>(std::nearbyint(src[j] * id));
      y[i].qs[j] = static_cast<int8_t>(q);
      sum += q;
    }
    y[i].d = F32ToFp16(d);
    if constexpr (sizeof(Block) == sizeof(BlockQ8_1)) {
      if (with_sum) y[i].s = F32ToFp16(static_cast<float>(sum) * d);
    }
  }
}

}  // namespace

void QuantizeActQ8_0(const float* src, void* dst, int64_t n) {
  QuantizeQ8Blocks(src, static_cast<BlockQ8_0*>(dst), n, false);
}

void QuantizeActQ8_1(const float* src, void* dst, int64_t n) {
  QuantizeQ8Blocks(src, static_cast<BlockQ8_1*>(dst), n, true);
}

void QuantizeActQ8_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i, src += kQKK) {
    float amax = 0.0f;
    for (int j = 0; j < kQKK; ++j) amax = std::max(amax, std::fabs(src[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < kQKK; ++j) y[i].qs[j] = static_cast<int8_t>(std::nearbyint(src[j] * id));
    for (int g = 0; g < kQKK / 16; ++g) {
      int s = 0;
      for (int j = 0; j < 16; ++j) s += y[i].qs[16 * g + j];
      y[i].bsums[g] = static_cast<int16_t>(s);
    }
    y[i].d = d;
  }
}

}  // namespace enclave::kernels::ref
