// Scalar dot products. Inside a block everything is exact integer arithmetic (as in the SIMD
// versions); the per-block scale products and the sum over blocks are f32 in block order. Float
// weight types accumulate in double, which makes the reference closer to exact than any SIMD
// variant, so tests can bound the SIMD error by the SIMD arithmetic alone.
#include <cstring>

#include "base/half.h"
#include "kernels/quant_blocks.h"
#include "kernels/ref/ref_kernels.h"

namespace enclave::kernels::ref {
float DotF32(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const float*>(w);
  const auto* y = static_cast<const float*>(a);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * y[i];
  return static_cast<float>(s);
}

float DotF16(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const float*>(a);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(Fp16ToF32(x[i])) * y[i];
  return static_cast<float>(s);
}

float DotBF16(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const uint16_t*>(a);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(Bf16ToF32(x[i])) * Bf16ToF32(y[i]);
  return static_cast<float>(s);
}

// sum_b d_w[b] * d_a[b] * sum_j (q_w - 8) * q_a
float DotQ4_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float s = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int sumi = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      sumi += ((x[i].qs[j] & 0xF) - 8) * y[i].qs[j] + ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
    }
    s += (Fp16ToF32(x[i].d) * Fp16ToF32(y[i].d)) * static_cast<float>(sumi);
  }
  return s;
}

// sum_b d_w d_a sum_j q_w q_a + m_w * s_a   (s_a = d_a * sum_j q_a, stored in the Q8_1 block)
float DotQ4_1(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_1*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  float s = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int sumi = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      sumi += (x[i].qs[j] & 0xF) * y[i].qs[j] + (x[i].qs[j] >> 4) * y[i].qs[j + 16];
    }
    s += (Fp16ToF32(x[i].d) * Fp16ToF32(y[i].d)) * static_cast<float>(sumi) +
         Fp16ToF32(x[i].m) * Fp16ToF32(y[i].s);
  }
  return s;
}

float DotQ5_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float s = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    const uint32_t qh = LoadQh(x[i].qh);
    int sumi = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = ((x[i].qs[j] & 0xF) | (((qh >> j) & 1) << 4)) - 16;
      const int hi = ((x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
      sumi += lo * y[i].qs[j] + hi * y[i].qs[j + 16];
    }
    s += (Fp16ToF32(x[i].d) * Fp16ToF32(y[i].d)) * static_cast<float>(sumi);
  }
  return s;
}

float DotQ5_1(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_1*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  float s = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    const uint32_t qh = LoadQh(x[i].qh);
    int sumi = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = (x[i].qs[j] & 0xF) | (((qh >> j) & 1) << 4);
      const int hi = (x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      sumi += lo * y[i].qs[j] + hi * y[i].qs[j + 16];
    }
    s += (Fp16ToF32(x[i].d) * Fp16ToF32(y[i].d)) * static_cast<float>(sumi) +
         Fp16ToF32(x[i].m) * Fp16ToF32(y[i].s);
  }
  return s;
}

float DotQ8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ8_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float s = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int sumi = 0;
    for (int j = 0; j < kQK; ++j) sumi += x[i].qs[j] * y[i].qs[j];
    s += (Fp16ToF32(x[i].d) * Fp16ToF32(y[i].d)) * static_cast<float>(sumi);
  }
  return s;
}

// Per super-block: d_a * (d * sum_s sc_s * sum(q*a) - dmin * sum_s m_s * sum(a)), s over 16 sub-blocks.
float DotQ2_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ2_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  float s = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    int sum_q = 0, sum_m = 0;
    for (int sb = 0; sb < 16; ++sb) {
      int dot = 0;
      for (int t = 0; t < 16; ++t) {
        const int e = 16 * sb + t;
        const int h = e / 128, j = (e / 32) % 4, l = e % 32;
        dot += ((x[i].qs[32 * h + l] >> (2 * j)) & 3) * y[i].qs[e];
      }
      sum_q += (x[i].scales[sb] & 0xF) * dot;
      sum_m += (x[i].scales[sb] >> 4) * y[i].bsums[sb];
    }
    s += y[i].d * (Fp16ToF32(x[i].d) * static_cast<float>(sum_q) -
                   Fp16ToF32(x[i].dmin) * static_cast<float>(sum_m));
  }
  return s;
}

// Per super-block: d * d_a * sum_s scale_s * sum(q*a), q in -4..3, scale in -32..31.
float DotQ3_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ3_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  float s = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    int sumi = 0;
    for (int sb = 0; sb < 16; ++sb) {
      int dot = 0;
      for (int t = 0; t < 16; ++t) {
        const int e = 16 * sb + t;
        const int h = e / 128, j = (e / 32) % 4, l = e % 32;
        const int low = (x[i].qs[32 * h + l] >> (2 * j)) & 3;
        const int high = (x[i].hmask[l] >> (e / 32)) & 1;
        dot += (low - (high ? 0 : 4)) * y[i].qs[e];
      }
      sumi += Q3KScale(x[i].scales, sb) * dot;
    }
    s += (Fp16ToF32(x[i].d) * y[i].d) * static_cast<float>(sumi);
  }
  return s;
}

// Q4_K and Q5_K (fifth bit: bit sb of qh[l]). Per super-block:
// d_a * (d * sum_s sc_s * sum(q*a) - dmin * sum_s m_s * sum(a)), s over 8 sub-blocks of 32.
template <typename Block, bool kFifthBit>
float DotK4Family(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const Block*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  float s = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    int sum_q = 0, sum_m = 0;
    for (int sb = 0; sb < 8; ++sb) {
      uint8_t sc, m;
      UnpackScaleMinK4(sb, x[i].scales, &sc, &m);
      const int c = sb / 2, k = sb % 2;
      int dot = 0;
      for (int l = 0; l < 32; ++l) {
        int q = (x[i].qs[32 * c + l] >> (4 * k)) & 0xF;
        if constexpr (kFifthBit) q |= ((x[i].qh[l] >> sb) & 1) << 4;
        dot += q * y[i].qs[32 * sb + l];
      }
      sum_q += sc * dot;
      sum_m += m * (y[i].bsums[2 * sb] + y[i].bsums[2 * sb + 1]);
    }
    s += y[i].d * (Fp16ToF32(x[i].d) * static_cast<float>(sum_q) -
                   Fp16ToF32(x[i].dmin) * static_cast<float>(sum_m));
  }
  return s;
}

float DotQ4_K(int64_t n, const void* w, const void* a) { return DotK4Family<BlockQ4_K, false>(n, w, a); }
float DotQ5_K(int64_t n, const void* w, const void* a) { return DotK4Family<BlockQ5_K, true>(n, w, a); }

// Per super-block: d * d_a * sum_s scale_s * sum((q - 32) * a), 16 sub-blocks of 16.
float DotQ6_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ6_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  float s = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    int sumi = 0;
    for (int sb = 0; sb < 16; ++sb) {
      int dot = 0;
      for (int t = 0; t < 16; ++t) {
        const int e = 16 * sb + t;
        const int h = e / 128, r = e % 128, k = r / 64, m = r % 64;
        const int lo = (x[i].ql[64 * h + m] >> (4 * k)) & 0xF;
        const int hi = (x[i].qh[32 * h + (r % 32)] >> (2 * (r / 32))) & 3;
        dot += ((lo | (hi << 4)) - 32) * y[i].qs[e];
      }
      sumi += x[i].scales[sb] * dot;
    }
    s += (Fp16ToF32(x[i].d) * y[i].d) * static_cast<float>(sumi);
  }
  return s;
}

}  // namespace enclave::kernels::ref
