// The portable attention kernel (kernels/attention_impl.h) for an x86 ISA: F16C conversion of the
// F16 cache rows and, with AVX-512, keys transposed 16x16 in registers. Include from a
// translation unit compiled with at least -mavx2 -mfma -mf16c, after defining
// ENCLAVE_SIMD_NAMESPACE and ENCLAVE_SIMD_AVX512 (0 or 1); defines ENCLAVE_SIMD_NAMESPACE::Attend.
#include <immintrin.h>

#include <cstring>

#include "kernels/attention_impl.h"

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized inside their own helpers once inlined into
// arrays of vectors; every vector here is written before it is read.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace enclave::kernels::ENCLAVE_SIMD_NAMESPACE {
namespace {

#if ENCLAVE_SIMD_AVX512
// In-register transpose of 16 rows of 16 floats (r[i] becomes column i).
inline void Transpose16x16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    u[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  // u[4i + c] holds, in 128-bit lane k, element 4k + c of rows 4i..4i+3.
  for (int h = 0; h < 2; ++h) {
    for (int c = 0; c < 4; ++c) {
      t[8 * h + c] = _mm512_shuffle_f32x4(u[8 * h + c], u[8 * h + 4 + c], 0x88);      // columns c, c + 8
      t[8 * h + 4 + c] = _mm512_shuffle_f32x4(u[8 * h + c], u[8 * h + 4 + c], 0xDD);  // columns c + 4, c + 12
    }
  }
  for (int c = 0; c < 4; ++c) {
    r[c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0x88);
    r[c + 8] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0xDD);
    r[c + 4] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0x88);
    r[c + 12] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0xDD);
  }
}
#endif

struct X86Ops {
  static void ConvertRow(DType type, const uint8_t* src, float* dst, int n) {
    if (type != DType::kF16) {
      std::memcpy(dst, src, sizeof(float) * n);
      return;
    }
    int i = 0;
    for (; i + 8 <= n; i += 8) {
      _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i))));
    }
    for (; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      dst[i] = _cvtsh_ss(h);
    }
  }

  static void LoadKeysTransposed(DType type, const uint8_t* const* keys, int count, int k_dim, float* kt) {
#if ENCLAVE_SIMD_AVX512
    if (k_dim % 16 == 0) {
      for (int d0 = 0; d0 < k_dim; d0 += 16) {
        __m512 r[16];
        for (int j = 0; j < 16; ++j) {
          if (j >= count) {
            r[j] = _mm512_setzero_ps();
          } else if (type == DType::kF16) {
            r[j] = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(keys[j] + 2 * d0)));
          } else {
            r[j] = _mm512_loadu_ps(reinterpret_cast<const float*>(keys[j]) + d0);
          }
        }
        Transpose16x16(r);
        for (int i = 0; i < 16; ++i) _mm512_storeu_ps(kt + (d0 + i) * 16, r[i]);
      }
      return;
    }
#endif
    float row[1024];
    if (k_dim <= 1024) {
      TransposeKeysGeneric<X86Ops>(type, keys, count, k_dim, kt, row);
      return;
    }
    for (int j = 0; j < 16; ++j) {  // wider heads than any model has: element by element
      for (int d = 0; d < k_dim; ++d) {
        float v = 0.0f;
        if (j < count) ConvertRow(type, keys[j] + (type == DType::kF16 ? 2 : 4) * d, &v, 1);
        kt[d * 16 + j] = v;
      }
    }
  }
};

}  // namespace

void Attend(const AttentionItem& item) { AttendItem<X86Ops>(item); }

}  // namespace enclave::kernels::ENCLAVE_SIMD_NAMESPACE

#pragma GCC diagnostic pop
