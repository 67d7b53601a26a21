// x86 SIMD dot products and activation quantizers, written once and compiled twice: by
// x86_avx2/avx2_table.cc (AVX2+FMA+F16C) and by x86_avx512/avx512_table.cc (adds
// AVX-512 BW/VL/VNNI/BF16), each inside its own namespace. `#if ENCLAVE_SIMD_AVX512` picks the
// wider instructions where they help; the arithmetic is the reference's (kernels/ref/vec_dot.cc):
// exact integer sums inside blocks, f32 scale products and block sums.
//
// Include only from a translation unit compiled with at least -mavx2 -mfma -mf16c, after
// defining ENCLAVE_SIMD_NAMESPACE and ENCLAVE_SIMD_AVX512 (0 or 1).
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "base/half.h"
#include "kernels/quant_blocks.h"
#include "platform/cpu_features.h"

namespace enclave::kernels::ENCLAVE_SIMD_NAMESPACE {
namespace {

inline float HalfToFloat(uint16_t h) { return _cvtsh_ss(h); }

inline float HorizontalSum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

inline int HorizontalSumI32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// Signed int8 x int8 dot of 32 lanes, summed in groups of 4 into 8 int32 lanes.
inline __m256i DotI8(__m256i w, __m256i a) {
#if ENCLAVE_SIMD_AVX512
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
#else
  const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
  return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
#endif
}

// Unsigned (0..127) x signed int8 dot of 32 lanes into 8 int32 lanes.
inline __m256i DotU8I8(__m256i u, __m256i a) {
#if ENCLAVE_SIMD_AVX512
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, a);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, a), _mm256_set1_epi16(1));
#endif
}

inline __m256i Load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Software prefetch of the weight stream kPrefetchBytes ahead. Token generation streams weights
// from DRAM; the hardware prefetcher alone leaves too few misses in flight for one core to reach
// the memory bus's bandwidth while it also computes. Prefetching past the end of a row is harmless
// (prefetches never fault) and usually useful: the next row follows in memory.
constexpr int kPrefetchBytes = 1024;
inline void PrefetchWeights(const void* block, int bytes) {
  const char* p = static_cast<const char*>(block) + kPrefetchBytes;
  for (int off = 0; off < bytes; off += 64) _mm_prefetch(p + off, _MM_HINT_T0);
}

// 16 bytes of packed nibbles -> 32 bytes: low nibbles in lanes 0..15, high nibbles in 16..31.
inline __m256i UnpackNibbles(const uint8_t* p) {
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(x, 4), x);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// 32 bits -> 32 bytes, 0xFF where the bit is set.
inline __m256i BitsToBytes(uint32_t bits) {
#if ENCLAVE_SIMD_AVX512
  return _mm256_movm_epi8(bits);
#else
  const __m256i shuf = _mm256_setr_epi64x(0x0000000000000000LL, 0x0101010101010101LL,
                                          0x0202020202020202LL, 0x0303030303030303LL);
  __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), shuf);
  const __m256i mask = _mm256_set1_epi64x(0x7FBFDFEFF7FBFDFELL);
  v = _mm256_or_si256(v, mask);
  return _mm256_cmpeq_epi8(v, _mm256_set1_epi64x(-1));
#endif
}

// ---- float weight types -------------------------------------------------------------------

float DotF32(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const float*>(w);
  const auto* y = static_cast<const float*>(a);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(),
         acc3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc0);
  float s = HorizontalSum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < n; ++i) s += x[i] * y[i];
  return s;
}

// F16 -> F32 with F16C, 8 at a time (the attention reads its F16 value cache through this).
void DequantizeF16(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(src);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
  }
  for (; i < n; ++i) dst[i] = HalfToFloat(x[i]);
}

float DotF16(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const float*>(a);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
    const __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i + 8)));
    acc0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(y + i), acc0);
    acc1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(y + i + 8), acc1);
  }
  float s = HorizontalSum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) s += HalfToFloat(x[i]) * y[i];
  return s;
}

inline __m256 Bf16x8ToF32(const uint16_t* p) {
  const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

float DotBF16(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const uint16_t*>(a);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(Bf16x8ToF32(x + i), Bf16x8ToF32(y + i), acc0);
    acc1 = _mm256_fmadd_ps(Bf16x8ToF32(x + i + 8), Bf16x8ToF32(y + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(Bf16x8ToF32(x + i), Bf16x8ToF32(y + i), acc0);
  float s = HorizontalSum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) s += Bf16ToF32(x[i]) * Bf16ToF32(y[i]);
  return s;
}

// ---- legacy 32-element blocks ---------------------------------------------------------------

float DotQ8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ8_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  const int64_t nb = n / kQK;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) {
    PrefetchWeights(&x[i], 2 * sizeof(BlockQ8_0));
    const __m256i p0 = DotI8(Load256(x[i].qs), Load256(y[i].qs));
    const __m256i p1 = DotI8(Load256(x[i + 1].qs), Load256(y[i + 1].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(HalfToFloat(x[i].d) * HalfToFloat(y[i].d)), _mm256_cvtepi32_ps(p0), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(HalfToFloat(x[i + 1].d) * HalfToFloat(y[i + 1].d)),
                           _mm256_cvtepi32_ps(p1), acc1);
  }
  for (; i < nb; ++i) {
    const __m256i p = DotI8(Load256(x[i].qs), Load256(y[i].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(HalfToFloat(x[i].d) * HalfToFloat(y[i].d)), _mm256_cvtepi32_ps(p), acc0);
  }
  return HorizontalSum(_mm256_add_ps(acc0, acc1));
}

float DotQ4_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  __m256 acc = _mm256_setzero_ps();
  const __m256i eight = _mm256_set1_epi8(8);
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m256i q = _mm256_sub_epi8(UnpackNibbles(x[i].qs), eight);
    const __m256i p = DotI8(q, Load256(y[i].qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(HalfToFloat(x[i].d) * HalfToFloat(y[i].d)), _mm256_cvtepi32_ps(p), acc);
  }
  return HorizontalSum(acc);
}

float DotQ4_1(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_1*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  __m256 acc = _mm256_setzero_ps();
  float mins = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m256i p = DotU8I8(UnpackNibbles(x[i].qs), Load256(y[i].qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(HalfToFloat(x[i].d) * HalfToFloat(y[i].d)), _mm256_cvtepi32_ps(p), acc);
    mins += HalfToFloat(x[i].m) * HalfToFloat(y[i].s);
  }
  return HorizontalSum(acc) + mins;
}

float DotQ5_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK; ++i) {
    uint32_t qh;
    std::memcpy(&qh, x[i].qh, 4);
    // q - 16 = nibble - 16*(1 - bit): OR 0xF0 into lanes whose fifth bit is clear.
    const __m256i neg = _mm256_andnot_si256(BitsToBytes(qh), _mm256_set1_epi8(static_cast<char>(0xF0)));
    const __m256i q = _mm256_or_si256(UnpackNibbles(x[i].qs), neg);
    const __m256i p = DotI8(q, Load256(y[i].qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(HalfToFloat(x[i].d) * HalfToFloat(y[i].d)), _mm256_cvtepi32_ps(p), acc);
  }
  return HorizontalSum(acc);
}

float DotQ5_1(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_1*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  __m256 acc = _mm256_setzero_ps();
  float mins = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    uint32_t qh;
    std::memcpy(&qh, x[i].qh, 4);
    const __m256i hi = _mm256_and_si256(BitsToBytes(qh), _mm256_set1_epi8(0x10));
    const __m256i q = _mm256_or_si256(UnpackNibbles(x[i].qs), hi);
    const __m256i p = DotU8I8(q, Load256(y[i].qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(HalfToFloat(x[i].d) * HalfToFloat(y[i].d)), _mm256_cvtepi32_ps(p), acc);
    mins += HalfToFloat(x[i].m) * HalfToFloat(y[i].s);
  }
  return HorizontalSum(acc) + mins;
}

// ---- K-quants ----------------------------------------------------------------------------
// maddubs(u8 levels, s8 activations) gives 16 int16 pair sums (never saturating: levels <= 63,
// so |pair| <= 2*63*127); madd with int16 scales then sums pairs into 8 int32 lanes, each lane
// covering 4 elements of one sub-block.

inline __m256i ScaledDot(__m256i q_u8, __m256i a_i8, __m256i scales16) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(q_u8, a_i8), scales16);
}

// sum_g bsums[g] * m16[g] over 16 groups.
inline int BsumsDot(const int16_t* bsums, __m256i m16) {
  return HorizontalSumI32(_mm256_madd_epi16(Load256(bsums), m16));
}

// Q4_K/Q5_K scales[12] -> the 8 scales and the 8 mins as int16 lanes. Word arithmetic on the
// packed bytes (each byte lane independent), kept in registers: going through a byte array on
// the stack costs a store-forwarding stall per block.
struct ScalesMinsK4 {
  __m128i scales;  // int16 x 8
  __m128i mins;    // int16 x 8
};
inline ScalesMinsK4 UnpackScalesMinsK4(const uint8_t* s) {
  uint32_t u0, u1, u2;
  std::memcpy(&u0, s, 4);
  std::memcpy(&u1, s + 4, 4);
  std::memcpy(&u2, s + 8, 4);
  const uint64_t sc_lo = u0 & 0x3F3F3F3Fu;
  const uint64_t mn_lo = u1 & 0x3F3F3F3Fu;
  const uint64_t sc_hi = (u2 & 0x0F0F0F0Fu) | (((u0 >> 6) & 0x03030303u) << 4);
  const uint64_t mn_hi = ((u2 >> 4) & 0x0F0F0F0Fu) | (((u1 >> 6) & 0x03030303u) << 4);
  return {_mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<int64_t>(sc_lo | (sc_hi << 32)))),
          _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<int64_t>(mn_lo | (mn_hi << 32))))};
}

// int16 lane s of v (s = 0..7) broadcast to all 16 int16 lanes.
inline __m256i BroadcastI16(__m128i v, int s) {
  const __m256i both = _mm256_broadcastsi128_si256(v);
  return _mm256_shuffle_epi8(both, _mm256_set1_epi16(static_cast<int16_t>((2 * s + 1) << 8 | (2 * s))));
}

// Each int16 of 8 repeated twice: the multiplier for the 16 per-16-element bsums.
inline __m256i DuplicateI16(__m128i v) {
  return _mm256_set_m128i(_mm_unpackhi_epi16(v, v), _mm_unpacklo_epi16(v, v));
}

float DotQ4_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  const __m256i low_mask = _mm256_set1_epi8(0x0F);
  float sum = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    PrefetchWeights(&x[i], sizeof(BlockQ4_K));
    const ScalesMinsK4 sm = UnpackScalesMinsK4(x[i].scales);
    __m256i acc = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i q = Load256(x[i].qs + 32 * c);
      const __m256i lo = _mm256_and_si256(q, low_mask);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low_mask);
      acc = _mm256_add_epi32(acc, ScaledDot(lo, Load256(y[i].qs + 64 * c), BroadcastI16(sm.scales, 2 * c)));
      acc = _mm256_add_epi32(acc, ScaledDot(hi, Load256(y[i].qs + 64 * c + 32), BroadcastI16(sm.scales, 2 * c + 1)));
    }
    const int sum_q = HorizontalSumI32(acc);
    const int sum_m = BsumsDot(y[i].bsums, DuplicateI16(sm.mins));
    sum += y[i].d * (HalfToFloat(x[i].d) * static_cast<float>(sum_q) - HalfToFloat(x[i].dmin) * static_cast<float>(sum_m));
  }
  return sum;
}

float DotQ5_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  const __m256i low_mask = _mm256_set1_epi8(0x0F);
  const __m256i bit = _mm256_set1_epi8(0x10);
  float sum = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const ScalesMinsK4 sm = UnpackScalesMinsK4(x[i].scales);
    const __m256i qh = Load256(x[i].qh);
    __m256i acc = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i q = Load256(x[i].qs + 32 * c);
      // Fifth bit of sub-block 2c is bit 2c of qh; shifting 16-bit lanes keeps bytes separate after the mask.
      const __m256i h_lo = _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(qh, 2 * c), 4), bit);
      const __m256i h_hi = _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(qh, 2 * c + 1), 4), bit);
      const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, low_mask), h_lo);
      const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), low_mask), h_hi);
      acc = _mm256_add_epi32(acc, ScaledDot(lo, Load256(y[i].qs + 64 * c), BroadcastI16(sm.scales, 2 * c)));
      acc = _mm256_add_epi32(acc, ScaledDot(hi, Load256(y[i].qs + 64 * c + 32), BroadcastI16(sm.scales, 2 * c + 1)));
    }
    const int sum_q = HorizontalSumI32(acc);
    const int sum_m = BsumsDot(y[i].bsums, DuplicateI16(sm.mins));
    sum += y[i].d * (HalfToFloat(x[i].d) * static_cast<float>(sum_q) - HalfToFloat(x[i].dmin) * static_cast<float>(sum_m));
  }
  return sum;
}

// Two int16 scales, each repeated over the 8 int16 lanes of one 16-element sub-block.
inline __m256i PairScales(int s0, int s1) {
  return _mm256_setr_epi16(s0, s0, s0, s0, s0, s0, s0, s0, s1, s1, s1, s1, s1, s1, s1, s1);
}

// Levels are stored unsigned (0..63); q - 32 is handled as sum(q*a) - 32*sum(a) with the bsums.
float DotQ6_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ6_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  const __m256i low_mask = _mm256_set1_epi8(0x0F);
  const __m256i two_bits = _mm256_set1_epi8(0x30);
  float sum = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const int8_t* sc = x[i].scales;
    __m256i acc = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = Load256(x[i].ql + 64 * h);
      const __m256i ql1 = Load256(x[i].ql + 64 * h + 32);
      const __m256i qh = Load256(x[i].qh + 32 * h);
      const __m256i q0 = _mm256_or_si256(_mm256_and_si256(ql0, low_mask), _mm256_and_si256(_mm256_slli_epi16(qh, 4), two_bits));
      const __m256i q1 = _mm256_or_si256(_mm256_and_si256(ql1, low_mask), _mm256_and_si256(_mm256_slli_epi16(qh, 2), two_bits));
      const __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low_mask), _mm256_and_si256(qh, two_bits));
      const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low_mask),
                                         _mm256_and_si256(_mm256_srli_epi16(qh, 2), two_bits));
      const int8_t* ya = y[i].qs + 128 * h;
      const int8_t* s = sc + 8 * h;
      acc = _mm256_add_epi32(acc, ScaledDot(q0, Load256(ya), PairScales(s[0], s[1])));
      acc = _mm256_add_epi32(acc, ScaledDot(q1, Load256(ya + 32), PairScales(s[2], s[3])));
      acc = _mm256_add_epi32(acc, ScaledDot(q2, Load256(ya + 64), PairScales(s[4], s[5])));
      acc = _mm256_add_epi32(acc, ScaledDot(q3, Load256(ya + 96), PairScales(s[6], s[7])));
    }
    const __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
    const int sumi = HorizontalSumI32(acc) - 32 * BsumsDot(y[i].bsums, s16);
    sum += (HalfToFloat(x[i].d) * y[i].d) * static_cast<float>(sumi);
  }
  return sum;
}

// Lanes 0-7 take int16 lane k of `v`, lanes 8-15 lane k+1; `v` holds the same 8 int16 in both
// 128-bit halves. One shuffle per 32-element group instead of building the pair from scalars.
inline __m256i PairFromHalves(__m256i v, int k) {
  const auto index = [](int lane) { return static_cast<int16_t>((2 * lane + 1) << 8 | (2 * lane)); };
  return _mm256_shuffle_epi8(v, _mm256_set_m128i(_mm_set1_epi16(index(k + 1)), _mm_set1_epi16(index(k))));
}

// The 16 signed 6-bit scales of a Q3_K block as int8 (see Q3KScale), by word arithmetic.
inline __m128i Q3KScales(const uint8_t* s) {
  uint32_t a0, a1, a2;
  std::memcpy(&a0, s, 4);
  std::memcpy(&a1, s + 4, 4);
  std::memcpy(&a2, s + 8, 4);
  const uint64_t s0 = (a0 & 0x0F0F0F0Fu) | ((a2 & 0x03030303u) << 4);
  const uint64_t s1 = (a1 & 0x0F0F0F0Fu) | (((a2 >> 2) & 0x03030303u) << 4);
  const uint64_t s2 = ((a0 >> 4) & 0x0F0F0F0Fu) | (((a2 >> 4) & 0x03030303u) << 4);
  const uint64_t s3 = ((a1 >> 4) & 0x0F0F0F0Fu) | (((a2 >> 6) & 0x03030303u) << 4);
  const __m128i u = _mm_set_epi64x(static_cast<int64_t>(s2 | (s3 << 32)), static_cast<int64_t>(s0 | (s1 << 32)));
  return _mm_sub_epi8(u, _mm_set1_epi8(32));
}

// Levels low2 + 4*hbit (0..7) unsigned; q = level - 4 handled with the bsums.
float DotQ3_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ3_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  const __m256i three = _mm256_set1_epi8(3);
  const __m256i four = _mm256_set1_epi8(4);
  float sum = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    PrefetchWeights(&x[i], sizeof(BlockQ3_K));
    const __m128i sc8 = Q3KScales(x[i].scales);
    const __m256i s16 = _mm256_cvtepi8_epi16(sc8);  // scale s in int16 lane s
    const __m256i halves[2] = {_mm256_broadcastsi128_si256(_mm256_castsi256_si128(s16)),
                               _mm256_broadcastsi128_si256(_mm256_extracti128_si256(s16, 1))};
    const __m256i hm = Load256(x[i].hmask);
    __m256i acc = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i qs = Load256(x[i].qs + 32 * h);
      for (int j = 0; j < 4; ++j) {
        const int g = 4 * h + j;  // 32-element group; high bit is bit g of hmask
        const __m256i low = _mm256_and_si256(_mm256_srli_epi16(qs, 2 * j), three);
        const __m256i hb = _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(hm, g), 2), four);
        const __m256i q = _mm256_or_si256(low, hb);
        acc = _mm256_add_epi32(acc, ScaledDot(q, Load256(y[i].qs + 32 * g), PairFromHalves(halves[h], 2 * j)));
      }
    }
    const int sumi = HorizontalSumI32(acc) - 4 * BsumsDot(y[i].bsums, s16);
    sum += (HalfToFloat(x[i].d) * y[i].d) * static_cast<float>(sumi);
  }
  return sum;
}

float DotQ2_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ2_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  const __m256i three = _mm256_set1_epi8(3);
  float sum = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    PrefetchWeights(&x[i], sizeof(BlockQ2_K));
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].scales));
    const __m128i sc8 = _mm_and_si128(packed, _mm_set1_epi8(0x0F));
    const __m256i halves[2] = {_mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sc8)),
                               _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_srli_si128(sc8, 8)))};
    __m256i acc = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i qs = Load256(x[i].qs + 32 * h);
      for (int j = 0; j < 4; ++j) {
        const int g = 4 * h + j;
        const __m256i q = _mm256_and_si256(_mm256_srli_epi16(qs, 2 * j), three);
        acc = _mm256_add_epi32(acc, ScaledDot(q, Load256(y[i].qs + 32 * g), PairFromHalves(halves[h], 2 * j)));
      }
    }
    const __m256i m16 = _mm256_srli_epi16(_mm256_cvtepu8_epi16(packed), 4);
    const int sum_q = HorizontalSumI32(acc);
    const int sum_m = BsumsDot(y[i].bsums, m16);
    sum += y[i].d * (HalfToFloat(x[i].d) * static_cast<float>(sum_q) - HalfToFloat(x[i].dmin) * static_cast<float>(sum_m));
  }
  return sum;
}

#if ENCLAVE_SIMD_AVX512
// GCC 12's avx512fintrin.h implements _mm512_inserti64x4, _mm512_broadcast_i64x4 and
// _mm512_cvtepi32_ps with an intentionally undefined pass-through operand, which its own
// -Wuninitialized flags at every call site. Not our bug; silence it for this section only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// 512-bit K-quant kernels. Scales and mins are unpacked with 32-bit word arithmetic (each byte
// lane independent) instead of a per-sub-block loop, scale vectors are built with one permute per
// step, and block results stay in vector accumulators until the end of the row.

inline float HorizontalSum512(__m512 v) {
  float lanes[16];
  _mm512_storeu_ps(lanes, v);
  return HorizontalSum(_mm256_add_ps(_mm256_loadu_ps(lanes), _mm256_loadu_ps(lanes + 8)));
}

// int16 lane indices selecting scale a for lanes 0..15 and scale b for lanes 16..31.
inline __m512i PairIndex(int a, int b) {
  return _mm512_inserti64x4(_mm512_zextsi256_si512(_mm256_set1_epi16(static_cast<int16_t>(a))),
                            _mm256_set1_epi16(static_cast<int16_t>(b)), 1);
}

// Q4_K and Q5_K (Block = BlockQ5_K adds the fifth bit from qh: bit 2c of qh byte k is element k
// of sub-block 2c, bit 2c+1 of sub-block 2c+1).
template <typename Block>
float DotQ4Q5K_512(int64_t n, const void* w, const void* a) {
  constexpr bool kFifthBit = std::is_same_v<Block, BlockQ5_K>;
  const auto* x = static_cast<const Block*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  const __m512i low_mask = _mm512_set1_epi8(0x0F);
  // Lower 256 bits take the low nibbles (sub-block 2c), upper 256 bits the high nibbles (2c+1).
  const __m512i nibble_shift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
  const __m512i idx[4] = {PairIndex(0, 1), PairIndex(2, 3), PairIndex(4, 5), PairIndex(6, 7)};
  __m512 acc_q = _mm512_setzero_ps();
  __m256 acc_m = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQKK; ++i) {
    PrefetchWeights(&x[i], sizeof(Block));
    const ScalesMinsK4 sm = UnpackScalesMinsK4(x[i].scales);
    const __m512i sc16 = _mm512_zextsi128_si512(sm.scales);
    __m512i qh;
    if constexpr (kFifthBit) qh = _mm512_broadcast_i64x4(Load256(x[i].qh));
    __m512i acc = _mm512_setzero_si512();
    for (int c = 0; c < 4; ++c) {
      const __m512i q2 = _mm512_broadcast_i64x4(Load256(x[i].qs + 32 * c));
      __m512i q = _mm512_and_si512(_mm512_srlv_epi16(q2, nibble_shift), low_mask);
      if constexpr (kFifthBit) {
        const __m512i bits = _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(1 << (2 * c))),
                                                _mm256_set1_epi8(static_cast<char>(1 << (2 * c + 1))), 1);
        // Nibbles are < 16, so adding 16 where the bit is set is an OR.
        q = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(qh, bits), q, _mm512_set1_epi8(0x10));
      }
      const __m512i act = _mm512_loadu_si512(y[i].qs + 64 * c);
      const __m512i p = _mm512_maddubs_epi16(q, act);
      acc = _mm512_dpwssd_epi32(acc, p, _mm512_permutexvar_epi16(idx[c], sc16));
    }
    const __m256i m16 = DuplicateI16(sm.mins);
    const __m256i mins = _mm256_madd_epi16(Load256(y[i].bsums), m16);
    const float dq = HalfToFloat(x[i].d) * y[i].d;
    const float dm = HalfToFloat(x[i].dmin) * y[i].d;
    acc_q = _mm512_fmadd_ps(_mm512_set1_ps(dq), _mm512_cvtepi32_ps(acc), acc_q);
    acc_m = _mm256_fmadd_ps(_mm256_set1_ps(dm), _mm256_cvtepi32_ps(mins), acc_m);
  }
  return HorizontalSum512(acc_q) - HorizontalSum(acc_m);
}

float DotQ4_K_512(int64_t n, const void* w, const void* a) { return DotQ4Q5K_512<BlockQ4_K>(n, w, a); }
float DotQ5_K_512(int64_t n, const void* w, const void* a) { return DotQ4Q5K_512<BlockQ5_K>(n, w, a); }

// int16 lanes 0-7, 8-15, 16-23, 24-31 select scales s, s+1, s+2, s+3.
inline __m512i Q6QuadIndex(int s) {
  return _mm512_inserti64x4(
      _mm512_zextsi256_si512(_mm256_setr_epi16(s, s, s, s, s, s, s, s, s + 1, s + 1, s + 1, s + 1, s + 1, s + 1,
                                               s + 1, s + 1)),
      _mm256_setr_epi16(s + 2, s + 2, s + 2, s + 2, s + 2, s + 2, s + 2, s + 2, s + 3, s + 3, s + 3, s + 3, s + 3,
                        s + 3, s + 3, s + 3),
      1);
}

float DotQ6_K_512(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ6_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  const __m512i low_mask = _mm512_set1_epi8(0x0F);
  const __m512i two_bits = _mm512_set1_epi8(0x30);
  // Groups 0|1 take qh<<4 | qh<<2; groups 2|3 take qh | qh>>2 (16-bit lane shifts, then mask).
  const __m512i shl_01 = _mm512_inserti64x4(_mm512_zextsi256_si512(_mm256_set1_epi16(4)), _mm256_set1_epi16(2), 1);
  const __m512i shr_23 = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
  const __m512i idx[4] = {Q6QuadIndex(0), Q6QuadIndex(4), Q6QuadIndex(8), Q6QuadIndex(12)};
  __m512 acc_q = _mm512_setzero_ps();
  __m256 acc_m = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQKK; ++i) {
    PrefetchWeights(&x[i], sizeof(BlockQ6_K));
    const __m256i s16_256 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].scales)));
    const __m512i s16 = _mm512_zextsi256_si512(s16_256);
    __m512i acc = _mm512_setzero_si512();
    for (int h = 0; h < 2; ++h) {
      const __m512i ql = _mm512_loadu_si512(x[i].ql + 64 * h);
      const __m512i qh = _mm512_broadcast_i64x4(Load256(x[i].qh + 32 * h));
      const __m512i q01 = _mm512_or_si512(_mm512_and_si512(ql, low_mask),
                                          _mm512_and_si512(_mm512_sllv_epi16(qh, shl_01), two_bits));
      const __m512i q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low_mask),
                                          _mm512_and_si512(_mm512_srlv_epi16(qh, shr_23), two_bits));
      const int8_t* ya = y[i].qs + 128 * h;
      const __m512i p01 = _mm512_maddubs_epi16(q01, _mm512_loadu_si512(ya));
      const __m512i p23 = _mm512_maddubs_epi16(q23, _mm512_loadu_si512(ya + 64));
      acc = _mm512_dpwssd_epi32(acc, p01, _mm512_permutexvar_epi16(idx[2 * h], s16));
      acc = _mm512_dpwssd_epi32(acc, p23, _mm512_permutexvar_epi16(idx[2 * h + 1], s16));
    }
    const __m256i offs = _mm256_madd_epi16(Load256(y[i].bsums), s16_256);
    const float dq = HalfToFloat(x[i].d) * y[i].d;
    acc_q = _mm512_fmadd_ps(_mm512_set1_ps(dq), _mm512_cvtepi32_ps(acc), acc_q);
    acc_m = _mm256_fmadd_ps(_mm256_set1_ps(32.0f * dq), _mm256_cvtepi32_ps(offs), acc_m);
  }
  return HorizontalSum512(acc_q) - HorizontalSum(acc_m);
}

// ---- 512-bit kernels for the 32-element types (Q8_0, Q4_0, Q5_0, Q4_1, Q5_1) ----
// Two blocks per register: a weight policy (below) turns a block pair into 64 int8 levels in
// element order. Signed levels go through VNNI as |w| x (a * sign(w)), unsigned ones directly;
// the fp16 scales of the pair become one
// vector [d_i x8 | d_i+1 x8] with a broadcast and one conversion instead of scalar conversions,
// which were most of the per-block work. A template over R activation rows serves vec_dot (R = 1)
// and vec_dot_x4 (R = 4) with the same float operations per row.

// The pair's levels with block i+1 absent (upper 256 bits zero): for an odd last block.
constexpr __mmask64 kLowerHalf = 0x00000000FFFFFFFFull;

// 16 bytes of packed nibbles from each of two blocks -> 64 levels 0..15 in element order:
// [lo nibbles of b0 | hi nibbles of b0 | lo of b1 | hi of b1].
inline __m512i UnpackNibblePair(const uint8_t* q0, const uint8_t* q1) {
  const __m256i t = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q0))),
                                            _mm_loadu_si128(reinterpret_cast<const __m128i*>(q1)), 1);
  const __m512i z = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 0, 1, 2, 3, 2, 3), _mm512_zextsi256_si512(t));
  const __m512i shift = _mm512_setr_epi64(0, 0, 0x0004000400040004LL, 0x0004000400040004LL, 0, 0,
                                          0x0004000400040004LL, 0x0004000400040004LL);
  return _mm512_and_si512(_mm512_srlv_epi16(z, shift), _mm512_set1_epi8(0x0F));
}

// Weight policies: Pair gives the levels of blocks b[0], b[1] as 64 int8 in element order, One
// those of b[0] with the upper half zero. kSigned: levels are signed and the activations Q8_0;
// otherwise levels are unsigned, the activations Q8_1, and the block adds min * sum(a) = m * s.
struct Q8_0Levels {
  using Block = BlockQ8_0;
  using Act = BlockQ8_0;
  static constexpr bool kSigned = true;
  static __m512i Pair(const Block* b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(Load256(b[0].qs)), Load256(b[1].qs), 1);
  }
  static __m512i One(const Block* b) { return _mm512_zextsi256_si512(Load256(b[0].qs)); }
};

struct Q4_0Levels {
  using Block = BlockQ4_0;
  using Act = BlockQ8_0;
  static constexpr bool kSigned = true;
  static __m512i Pair(const Block* b) {
    return _mm512_sub_epi8(UnpackNibblePair(b[0].qs, b[1].qs), _mm512_set1_epi8(8));
  }
  static __m512i One(const Block* b) {
    return _mm512_maskz_sub_epi8(kLowerHalf, UnpackNibblePair(b[0].qs, b[0].qs), _mm512_set1_epi8(8));
  }
};

// q = nibble + 16 * bit - 16: subtract 16 where the fifth bit is clear. qh bit j is element j's.
struct Q5_0Levels {
  using Block = BlockQ5_0;
  using Act = BlockQ8_0;
  static constexpr bool kSigned = true;
  static __m512i Pair(const Block* b) {
    const __mmask64 hi = LoadQh(b[0].qh) | (static_cast<uint64_t>(LoadQh(b[1].qh)) << 32);
    const __m512i nib = UnpackNibblePair(b[0].qs, b[1].qs);
    return _mm512_mask_sub_epi8(nib, ~hi, nib, _mm512_set1_epi8(16));
  }
  static __m512i One(const Block* b) {
    const __mmask64 hi = LoadQh(b[0].qh);
    const __m512i nib = UnpackNibblePair(b[0].qs, b[0].qs);
    return _mm512_maskz_sub_epi8(kLowerHalf & ~hi, nib, _mm512_set1_epi8(16)) |
           _mm512_maskz_mov_epi8(kLowerHalf & hi, nib);
  }
};

struct Q4_1Levels {
  using Block = BlockQ4_1;
  using Act = BlockQ8_1;
  static constexpr bool kSigned = false;
  static __m512i Pair(const Block* b) { return UnpackNibblePair(b[0].qs, b[1].qs); }
  static __m512i One(const Block* b) { return _mm512_maskz_mov_epi8(kLowerHalf, UnpackNibblePair(b[0].qs, b[0].qs)); }
};

// q = nibble + 16 * bit (0..31).
struct Q5_1Levels {
  using Block = BlockQ5_1;
  using Act = BlockQ8_1;
  static constexpr bool kSigned = false;
  static __m512i Pair(const Block* b) {
    const __mmask64 hi = LoadQh(b[0].qh) | (static_cast<uint64_t>(LoadQh(b[1].qh)) << 32);
    const __m512i nib = UnpackNibblePair(b[0].qs, b[1].qs);
    return _mm512_mask_add_epi8(nib, hi, nib, _mm512_set1_epi8(16));
  }
  static __m512i One(const Block* b) {
    const __mmask64 hi = LoadQh(b[0].qh);
    const __m512i nib = _mm512_maskz_mov_epi8(kLowerHalf, UnpackNibblePair(b[0].qs, b[0].qs));
    return _mm512_mask_add_epi8(nib, hi, nib, _mm512_set1_epi8(16));
  }
};

template <typename Act>
inline __m512i LoadActPair(const Act* b) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(Load256(b[0].qs)), Load256(b[1].qs), 1);
}
template <typename Act>
inline __m512i LoadActOne(const Act* b) {
  return _mm512_zextsi256_si512(Load256(b[0].qs));
}

// [h0 x8 | h1 x8] for two fp16 values (a pair's scales, mins or activation sums).
inline __m512 PairHalves512(uint16_t h0, uint16_t h1) {
  const __m256i h = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16(static_cast<int16_t>(h0))),
                                            _mm_set1_epi16(static_cast<int16_t>(h1)), 1);
  return _mm512_cvtph_ps(h);
}

// |w| x (a * sign(w)) summed in groups of 4 (|a| <= 127, so negating a is exact).
inline __m512i SignedDot512(__m512i w_abs, __mmask64 w_neg, __m512i a) {
  return _mm512_dpbusd_epi32(_mm512_setzero_si512(), w_abs, _mm512_mask_sub_epi8(a, w_neg, _mm512_setzero_si512(), a));
}

// The weight side of one block pair, shared by all activation rows.
struct LegacyPair512 {
  __m512i u;       // |levels| (signed types) or levels (unsigned types)
  __mmask64 neg;   // signed types: lanes whose level is negative
  __m512 d;        // [d_i x8 | d_i+1 x8]
  __m512 m;        // unsigned types: [m_i x8 | m_i+1 x8]
};

template <typename Levels>
inline LegacyPair512 PrepareLegacyPair(const typename Levels::Block* b0, const typename Levels::Block* b1, __m512i w) {
  LegacyPair512 p;
  if constexpr (Levels::kSigned) {
    p.u = _mm512_abs_epi8(w);
    p.neg = _mm512_movepi8_mask(w);
  } else {
    p.u = w;
    p.neg = 0;
    p.m = PairHalves512(b0->m, b1->m);
  }
  p.d = PairHalves512(b0->d, b1->d);
  return p;
}

// One pair of blocks against one activation row: the lanes of `lanes` accumulate d_w * d_a * dot
// into acc; for unsigned types lanes 0 and 8 of `min_lanes` accumulate m_w * s_a into acc_m.
template <typename Levels>
inline void AccumulateLegacyPair(const LegacyPair512& w, const typename Levels::Act* a0, const typename Levels::Act* a1,
                                 __m512i act, __mmask16 lanes, __mmask16 min_lanes, __m512& acc, __m512& acc_m) {
  __m512i p;
  if constexpr (Levels::kSigned) {
    p = SignedDot512(w.u, w.neg, act);
  } else {
    p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w.u, act);
    acc_m = _mm512_mask3_fmadd_ps(w.m, PairHalves512(a0->s, a1->s), acc_m, min_lanes);
  }
  acc = _mm512_mask3_fmadd_ps(_mm512_mul_ps(w.d, PairHalves512(a0->d, a1->d)), _mm512_cvtepi32_ps(p), acc, lanes);
}

template <typename Levels, int R>
void DotLegacyRows512(int64_t n, const typename Levels::Block* x, const typename Levels::Act* const* y, float* out) {
  const int64_t nb = n / kQK;
  __m512 acc0[R], acc1[R], acc_m[R];
  for (int r = 0; r < R; ++r) acc0[r] = acc1[r] = acc_m[r] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    PrefetchWeights(&x[i], 4 * sizeof(x[0]));
    const LegacyPair512 w0 = PrepareLegacyPair<Levels>(&x[i], &x[i + 1], Levels::Pair(&x[i]));
    const LegacyPair512 w1 = PrepareLegacyPair<Levels>(&x[i + 2], &x[i + 3], Levels::Pair(&x[i + 2]));
    for (int r = 0; r < R; ++r) {
      const auto* a = y[r];
      AccumulateLegacyPair<Levels>(w0, &a[i], &a[i + 1], LoadActPair(&a[i]), 0xFFFF, 0x0101, acc0[r], acc_m[r]);
      AccumulateLegacyPair<Levels>(w1, &a[i + 2], &a[i + 3], LoadActPair(&a[i + 2]), 0xFFFF, 0x0101, acc1[r], acc_m[r]);
    }
  }
  for (; i < nb; i += 2) {
    // One or two blocks left. With one, only the lower lanes accumulate, so the absent block's
    // (duplicated) scale never meets the data.
    const bool pair = i + 2 <= nb;
    const int64_t i1 = pair ? i + 1 : i;
    const LegacyPair512 w0 = PrepareLegacyPair<Levels>(&x[i], &x[i1], pair ? Levels::Pair(&x[i]) : Levels::One(&x[i]));
    for (int r = 0; r < R; ++r) {
      const auto* a = y[r];
      AccumulateLegacyPair<Levels>(w0, &a[i], &a[i1], pair ? LoadActPair(&a[i]) : LoadActOne(&a[i]),
                                   pair ? 0xFFFF : 0x00FF, pair ? 0x0101 : 0x0001, acc0[r], acc_m[r]);
    }
  }
  for (int r = 0; r < R; ++r) {
    out[r] = HorizontalSum512(_mm512_add_ps(acc0[r], acc1[r]));
    if constexpr (!Levels::kSigned) out[r] += HorizontalSum512(acc_m[r]);
  }
}

template <typename Levels>
float DotLegacy512(int64_t n, const void* w, const void* a) {
  const auto* y = static_cast<const typename Levels::Act*>(a);
  float out;
  DotLegacyRows512<Levels, 1>(n, static_cast<const typename Levels::Block*>(w), &y, &out);
  return out;
}

// ---- 512-bit float types ----

float DotF16_512(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const float*>(a);
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    PrefetchWeights(x + i, 128);
    for (int k = 0; k < 4; ++k) {
      const __m512 wk = _mm512_cvtph_ps(Load256(x + i + 16 * k));
      acc[k] = _mm512_fmadd_ps(wk, _mm512_loadu_ps(y + i + 16 * k), acc[k]);
    }
  }
  for (; i + 16 <= n; i += 16) acc[0] = _mm512_fmadd_ps(_mm512_cvtph_ps(Load256(x + i)), _mm512_loadu_ps(y + i), acc[0]);
  float s = HorizontalSum512(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) s += HalfToFloat(x[i]) * y[i];
  return s;
}

// AVX512_BF16's dot instruction: pairs of bf16 products (exact in f32) summed into f32 lanes.
// Only installed when the CPU reports AVX512_BF16 (FillTable).
float DotBF16_512(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const uint16_t*>(a);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    PrefetchWeights(x + i, 128);
    acc0 = _mm512_dpbf16_ps(acc0, (__m512bh)_mm512_loadu_si512(x + i), (__m512bh)_mm512_loadu_si512(y + i));
    acc1 = _mm512_dpbf16_ps(acc1, (__m512bh)_mm512_loadu_si512(x + i + 32), (__m512bh)_mm512_loadu_si512(y + i + 32));
  }
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_dpbf16_ps(acc0, (__m512bh)_mm512_loadu_si512(x + i), (__m512bh)_mm512_loadu_si512(y + i));
  }
  __m256 acc = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(Bf16x8ToF32(x + i), Bf16x8ToF32(y + i), acc);
  float s = HorizontalSum512(_mm512_add_ps(acc0, acc1)) + HorizontalSum(acc);
  for (; i < n; ++i) s += Bf16ToF32(x[i]) * Bf16ToF32(y[i]);
  return s;
}
#pragma GCC diagnostic pop
#endif  // ENCLAVE_SIMD_AVX512

// ---- activation quantizers (bit-identical to the reference) ----------------------------------

inline float AbsMax8(const float* x, int n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  for (int j = 0; j < n; j += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
  __m128 r = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  r = _mm_max_ps(r, _mm_movehl_ps(r, r));
  r = _mm_max_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

// 32 floats * id, rounded to nearest even, packed to int8 in order. Returns the int sum.
inline int QuantizeRun32(const float* x, float id, int8_t* out) {
  const __m256 mul = _mm256_set1_ps(id);
  const __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), mul));
  const __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), mul));
  const __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 16), mul));
  const __m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 24), mul));
  const __m256i sum = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
  // packs work per 128-bit lane; the permute restores element order.
  const __m256i p01 = _mm256_packs_epi32(i0, i1), p23 = _mm256_packs_epi32(i2, i3);
  __m256i b = _mm256_packs_epi16(p01, p23);
  b = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), b);
  return HorizontalSumI32(sum);
}

void QuantizeActQ8_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
    const float d = AbsMax8(src, kQK) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    QuantizeRun32(src, id, y[i].qs);
    y[i].d = F32ToFp16(d);
  }
}

void QuantizeActQ8_1(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
    const float d = AbsMax8(src, kQK) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const int sum = QuantizeRun32(src, id, y[i].qs);
    y[i].d = F32ToFp16(d);
    y[i].s = F32ToFp16(static_cast<float>(sum) * d);
  }
}

void QuantizeActQ8_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i, src += kQKK) {
    const float d = AbsMax8(src, kQKK) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < kQKK; j += 32) QuantizeRun32(src + j, id, y[i].qs + j);
    for (int g = 0; g < 16; ++g) {
      const __m128i v = _mm_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(y[i].qs + 16 * g)));
      const __m128i w = _mm_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(y[i].qs + 16 * g + 8)));
      __m128i s = _mm_madd_epi16(_mm_add_epi16(v, w), _mm_set1_epi16(1));
      s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
      s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
      y[i].bsums[g] = static_cast<int16_t>(_mm_cvtsi128_si32(s));
    }
    y[i].d = d;
  }
}

void FillTable(KernelTable* t) {
  auto dot = [t](DType type, VecDotFn fn) { t->vec_dot[static_cast<uint32_t>(type)] = fn; };
  dot(DType::kF32, DotF32);
  dot(DType::kF16, DotF16);
  dot(DType::kBF16, DotBF16);
  dot(DType::kQ4_0, DotQ4_0);
  dot(DType::kQ4_1, DotQ4_1);
  dot(DType::kQ5_0, DotQ5_0);
  dot(DType::kQ5_1, DotQ5_1);
  dot(DType::kQ8_0, DotQ8_0);
  dot(DType::kQ2_K, DotQ2_K);
  dot(DType::kQ3_K, DotQ3_K);
  dot(DType::kQ4_K, DotQ4_K);
  dot(DType::kQ5_K, DotQ5_K);
  dot(DType::kQ6_K, DotQ6_K);
#if ENCLAVE_SIMD_AVX512
  dot(DType::kQ4_K, DotQ4_K_512);
  dot(DType::kQ5_K, DotQ5_K_512);
  dot(DType::kQ6_K, DotQ6_K_512);
  dot(DType::kF16, DotF16_512);
  if (GetCpuFeatures().avx512bf16) dot(DType::kBF16, DotBF16_512);
  dot(DType::kQ8_0, DotLegacy512<Q8_0Levels>);
  dot(DType::kQ4_0, DotLegacy512<Q4_0Levels>);
  dot(DType::kQ5_0, DotLegacy512<Q5_0Levels>);
  dot(DType::kQ4_1, DotLegacy512<Q4_1Levels>);
  dot(DType::kQ5_1, DotLegacy512<Q5_1Levels>);
#endif
  t->dequantize_row[static_cast<uint32_t>(DType::kF16)] = DequantizeF16;
  auto act = [t](DType type, QuantizeRowFn fn) { t->quantize_activation[static_cast<uint32_t>(type)] = fn; };
  act(DType::kQ8_0, QuantizeActQ8_0);
  act(DType::kQ8_1, QuantizeActQ8_1);
  act(DType::kQ8_K, QuantizeActQ8_K);
}

}  // namespace
}  // namespace enclave::kernels::ENCLAVE_SIMD_NAMESPACE
