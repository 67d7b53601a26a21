// Scalar dequantization. Each formula mirrors the numpy oracle's operation order: for example
// Q4_K computes (d*sc)*q - (dmin*m) in f32, never fused.
#include <cstring>

#include "base/half.h"
#include "kernels/quant_blocks.h"
#include "kernels/ref/ref_kernels.h"

namespace enclave::kernels::ref {

void DequantizeF32(const void* src, float* dst, int64_t n) { std::memcpy(dst, src, n * sizeof(float)); }

void DequantizeF16(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = Fp16ToF32(x[i]);
}

void DequantizeBF16(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = Bf16ToF32(x[i]);
}

void DequantizeQ4_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ4_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = Fp16ToF32(b[i].d);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = d * static_cast<float>((b[i].qs[j] & 0xF) - 8);
      dst[j + 16] = d * static_cast<float>((b[i].qs[j] >> 4) - 8);
    }
  }
}

void DequantizeQ4_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ4_1*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = Fp16ToF32(b[i].d), m = Fp16ToF32(b[i].m);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = d * static_cast<float>(b[i].qs[j] & 0xF) + m;
      dst[j + 16] = d * static_cast<float>(b[i].qs[j] >> 4) + m;
    }
  }
}

void DequantizeQ5_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ5_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = Fp16ToF32(b[i].d);
    const uint32_t qh = LoadQh(b[i].qh);
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = (b[i].qs[j] & 0xF) | (((qh >> j) & 1) << 4);
      const int hi = (b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      dst[j] = d * static_cast<float>(lo - 16);
      dst[j + 16] = d * static_cast<float>(hi - 16);
    }
  }
}

void DequantizeQ5_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ5_1*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = Fp16ToF32(b[i].d), m = Fp16ToF32(b[i].m);
    const uint32_t qh = LoadQh(b[i].qh);
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = (b[i].qs[j] & 0xF) | (((qh >> j) & 1) << 4);
      const int hi = (b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      dst[j] = d * static_cast<float>(lo) + m;
      dst[j + 16] = d * static_cast<float>(hi) + m;
    }
  }
}

void DequantizeQ8_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = Fp16ToF32(b[i].d);
    for (int j = 0; j < kQK; ++j) dst[j] = d * static_cast<float>(b[i].qs[j]);
  }
}

void DequantizeQ8_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_1*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = Fp16ToF32(b[i].d);
    for (int j = 0; j < kQK; ++j) dst[j] = d * static_cast<float>(b[i].qs[j]);
  }
}

// Element e = 128h + 32j + l (h: half, j: 2-bit plane, l: 0..31) is plane j of qs[32h + l];
// sub-block e/16 has a 4-bit scale (low nibble) and 4-bit min (high nibble).
void DequantizeQ2_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ2_K*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i, dst += kQKK) {
    const float d = Fp16ToF32(b[i].d), dmin = Fp16ToF32(b[i].dmin);
    for (int e = 0; e < kQKK; ++e) {
      const int h = e / 128, j = (e / 32) % 4, l = e % 32;
      const int q = (b[i].qs[32 * h + l] >> (2 * j)) & 3;
      const uint8_t sc = b[i].scales[e / 16];
      const float dl = d * static_cast<float>(sc & 0xF);
      const float ml = dmin * static_cast<float>(sc >> 4);
      dst[e] = dl * static_cast<float>(q) - ml;
    }
  }
}

// Element e = 128h + 32j + l: low 2 bits are plane j of qs[32h + l]; the high bit is bit (e/32) of
// hmask[l], and a CLEAR high bit subtracts 4.
void DequantizeQ3_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ3_K*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i, dst += kQKK) {
    const float d = Fp16ToF32(b[i].d);
    for (int e = 0; e < kQKK; ++e) {
      const int h = e / 128, j = (e / 32) % 4, l = e % 32;
      const int low = (b[i].qs[32 * h + l] >> (2 * j)) & 3;
      const int high = (b[i].hmask[l] >> (e / 32)) & 1;
      const int q = low - (high ? 0 : 4);
      const float dl = d * static_cast<float>(Q3KScale(b[i].scales, e / 16));
      dst[e] = dl * static_cast<float>(q);
    }
  }
}

// Q4_K and Q5_K: element e = 64c + 32k + l is nibble k of qs[32c + l] (sub-block sb = e/32 = 2c+k);
// Q5_K adds bit sb of qh[l] as the fifth bit.
template <typename Block, bool kFifthBit>
void DequantizeK4Family(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const Block*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i, dst += kQKK) {
    const float d = Fp16ToF32(b[i].d), dmin = Fp16ToF32(b[i].dmin);
    for (int sb = 0; sb < 8; ++sb) {
      uint8_t sc, m;
      UnpackScaleMinK4(sb, b[i].scales, &sc, &m);
      const float dl = d * static_cast<float>(sc), ml = dmin * static_cast<float>(m);
      const int c = sb / 2, k = sb % 2;
      for (int l = 0; l < 32; ++l) {
        int q = (b[i].qs[32 * c + l] >> (4 * k)) & 0xF;
        if constexpr (kFifthBit) q |= ((b[i].qh[l] >> sb) & 1) << 4;
        dst[32 * sb + l] = dl * static_cast<float>(q) - ml;
      }
    }
  }
}

void DequantizeQ4_K(const void* src, float* dst, int64_t n) { DequantizeK4Family<BlockQ4_K, false>(src, dst, n); }
void DequantizeQ5_K(const void* src, float* dst, int64_t n) { DequantizeK4Family<BlockQ5_K, true>(src, dst, n); }

// Element e = 128h + 64k + m (m: 0..63): low nibble k of ql[64h + m]; high 2 bits are plane
// (e%128)/32 of qh[32h + m%32]; minus 32; scale per 16 elements.
void DequantizeQ6_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ6_K*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i, dst += kQKK) {
    const float d = Fp16ToF32(b[i].d);
    for (int e = 0; e < kQKK; ++e) {
      const int h = e / 128, r = e % 128, k = r / 64, m = r % 64;
      const int lo = (b[i].ql[64 * h + m] >> (4 * k)) & 0xF;
      const int hi = (b[i].qh[32 * h + (r % 32)] >> (2 * (r / 32))) & 3;
      const int q = (lo | (hi << 4)) - 32;
      const float dl = d * static_cast<float>(b[i].scales[e / 16]);
      dst[e] = dl * static_cast<float>(q);
    }
  }
}

void DequantizeQ8_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_K*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i, dst += kQKK) {
    for (int j = 0; j < kQKK; ++j) dst[j] = b[i].d * static_cast<float>(b[i].qs[j]);
  }
}

}  // namespace enclave::kernels::ref
