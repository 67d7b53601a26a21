// Four-activation-row dot products (KernelTable::vec_dot_x4) for the types that dominate prefill:
// Q8_0, Q4_K, Q6_K (and, with AVX-512, Q4_0/Q5_0/Q4_1/Q5_1, which share the Q8_0 template). Each weight block is loaded, unpacked and scale-expanded once, then used for
// four activation rows, so the weight-side work per token drops about 4x.
//
// Contract: out[r] is bit-identical to the single-row kernel of the same ISA (simd_dot_impl.h) on
// activation row r. Integer block sums are exact in any order; every floating-point operation is
// the single-row kernel's, in the same order, per row. MatMul therefore equals repeated MatVec.
//
// Include after simd_dot_impl.h, in the same translation unit and with the same
// ENCLAVE_SIMD_NAMESPACE / ENCLAVE_SIMD_AVX512.
#include <cstddef>

namespace enclave::kernels::ENCLAVE_SIMD_NAMESPACE {
namespace {

constexpr int kX4 = 4;

template <typename Block>
inline const Block* ActRow(const void* rows, size_t stride, int r) {
  return reinterpret_cast<const Block*>(static_cast<const uint8_t*>(rows) + static_cast<size_t>(r) * stride);
}

#if !ENCLAVE_SIMD_AVX512
void Dot4Q8_0(int64_t n, const void* w, const void* a, size_t stride, float* out) {
  const auto* x = static_cast<const BlockQ8_0*>(w);
  const BlockQ8_0* y[kX4];
  for (int r = 0; r < kX4; ++r) y[r] = ActRow<BlockQ8_0>(a, stride, r);
  const int64_t nb = n / kQK;
  __m256 acc0[kX4], acc1[kX4];
  for (int r = 0; r < kX4; ++r) acc0[r] = acc1[r] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) {
    PrefetchWeights(&x[i], 2 * sizeof(BlockQ8_0));
    const __m256i w0 = Load256(x[i].qs), w1 = Load256(x[i + 1].qs);
    const float d0 = HalfToFloat(x[i].d), d1 = HalfToFloat(x[i + 1].d);
    for (int r = 0; r < kX4; ++r) {
      const __m256i p0 = DotI8(w0, Load256(y[r][i].qs));
      const __m256i p1 = DotI8(w1, Load256(y[r][i + 1].qs));
      acc0[r] = _mm256_fmadd_ps(_mm256_set1_ps(d0 * HalfToFloat(y[r][i].d)), _mm256_cvtepi32_ps(p0), acc0[r]);
      acc1[r] = _mm256_fmadd_ps(_mm256_set1_ps(d1 * HalfToFloat(y[r][i + 1].d)), _mm256_cvtepi32_ps(p1), acc1[r]);
    }
  }
  for (; i < nb; ++i) {
    const __m256i w0 = Load256(x[i].qs);
    const float d0 = HalfToFloat(x[i].d);
    for (int r = 0; r < kX4; ++r) {
      const __m256i p = DotI8(w0, Load256(y[r][i].qs));
      acc0[r] = _mm256_fmadd_ps(_mm256_set1_ps(d0 * HalfToFloat(y[r][i].d)), _mm256_cvtepi32_ps(p), acc0[r]);
    }
  }
  for (int r = 0; r < kX4; ++r) out[r] = HorizontalSum(_mm256_add_ps(acc0[r], acc1[r]));
}

// AVX2 Q4_K: the nibble planes and per-sub-block scale vectors are built once per block.
void Dot4Q4_K(int64_t n, const void* w, const void* a, size_t stride, float* out) {
  const auto* x = static_cast<const BlockQ4_K*>(w);
  const BlockQ8_K* y[kX4];
  for (int r = 0; r < kX4; ++r) y[r] = ActRow<BlockQ8_K>(a, stride, r);
  const __m256i low_mask = _mm256_set1_epi8(0x0F);
  float sum[kX4] = {};
  for (int64_t i = 0; i < n / kQKK; ++i) {
    PrefetchWeights(&x[i], sizeof(BlockQ4_K));
    const ScalesMinsK4 sm = UnpackScalesMinsK4(x[i].scales);
    __m256i q[8], s16[8];
    for (int c = 0; c < 4; ++c) {
      const __m256i qc = Load256(x[i].qs + 32 * c);
      q[2 * c] = _mm256_and_si256(qc, low_mask);
      q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(qc, 4), low_mask);
      s16[2 * c] = BroadcastI16(sm.scales, 2 * c);
      s16[2 * c + 1] = BroadcastI16(sm.scales, 2 * c + 1);
    }
    const __m256i m16 = DuplicateI16(sm.mins);
    const float dx = HalfToFloat(x[i].d), dmin = HalfToFloat(x[i].dmin);
    for (int r = 0; r < kX4; ++r) {
      __m256i acc = _mm256_setzero_si256();
      for (int s = 0; s < 8; ++s) acc = _mm256_add_epi32(acc, ScaledDot(q[s], Load256(y[r][i].qs + 32 * s), s16[s]));
      const int sum_q = HorizontalSumI32(acc);
      const int sum_m = BsumsDot(y[r][i].bsums, m16);
      sum[r] += y[r][i].d * (dx * static_cast<float>(sum_q) - dmin * static_cast<float>(sum_m));
    }
  }
  for (int r = 0; r < kX4; ++r) out[r] = sum[r];
}

// AVX2 Q6_K: the four 6-bit level planes of each half-block are assembled once.
void Dot4Q6_K(int64_t n, const void* w, const void* a, size_t stride, float* out) {
  const auto* x = static_cast<const BlockQ6_K*>(w);
  const BlockQ8_K* y[kX4];
  for (int r = 0; r < kX4; ++r) y[r] = ActRow<BlockQ8_K>(a, stride, r);
  const __m256i low_mask = _mm256_set1_epi8(0x0F);
  const __m256i two_bits = _mm256_set1_epi8(0x30);
  float sum[kX4] = {};
  for (int64_t i = 0; i < n / kQKK; ++i) {
    PrefetchWeights(&x[i], sizeof(BlockQ6_K));
    const int8_t* sc = x[i].scales;
    __m256i q[8], s16[8];
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = Load256(x[i].ql + 64 * h);
      const __m256i ql1 = Load256(x[i].ql + 64 * h + 32);
      const __m256i qh = Load256(x[i].qh + 32 * h);
      q[4 * h] = _mm256_or_si256(_mm256_and_si256(ql0, low_mask), _mm256_and_si256(_mm256_slli_epi16(qh, 4), two_bits));
      q[4 * h + 1] =
          _mm256_or_si256(_mm256_and_si256(ql1, low_mask), _mm256_and_si256(_mm256_slli_epi16(qh, 2), two_bits));
      q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low_mask),
                                     _mm256_and_si256(qh, two_bits));
      q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low_mask),
                                     _mm256_and_si256(_mm256_srli_epi16(qh, 2), two_bits));
      for (int k = 0; k < 4; ++k) s16[4 * h + k] = PairScales(sc[8 * h + 2 * k], sc[8 * h + 2 * k + 1]);
    }
    const __m256i bs16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
    const float dx = HalfToFloat(x[i].d);
    for (int r = 0; r < kX4; ++r) {
      __m256i acc = _mm256_setzero_si256();
      for (int s = 0; s < 8; ++s) acc = _mm256_add_epi32(acc, ScaledDot(q[s], Load256(y[r][i].qs + 32 * s), s16[s]));
      const int sumi = HorizontalSumI32(acc) - 32 * BsumsDot(y[r][i].bsums, bs16);
      sum[r] += (dx * y[r][i].d) * static_cast<float>(sumi);
    }
  }
  for (int r = 0; r < kX4; ++r) out[r] = sum[r];
}
#else
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

template <typename Levels>
void Dot4Legacy512(int64_t n, const void* w, const void* a, size_t stride, float* out) {
  using Act = typename Levels::Act;
  const Act* y[kX4];
  for (int r = 0; r < kX4; ++r) y[r] = ActRow<Act>(a, stride, r);
  DotLegacyRows512<Levels, kX4>(n, static_cast<const typename Levels::Block*>(w), y, out);
}

// AVX-512 Q4_K (as DotQ4_K_512): the 512-bit nibble planes and permuted scale vectors once per block.
void Dot4Q4_K_512(int64_t n, const void* w, const void* a, size_t stride, float* out) {
  const auto* x = static_cast<const BlockQ4_K*>(w);
  const BlockQ8_K* y[kX4];
  for (int r = 0; r < kX4; ++r) y[r] = ActRow<BlockQ8_K>(a, stride, r);
  const __m512i low_mask = _mm512_set1_epi8(0x0F);
  const __m512i nibble_shift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
  const __m512i idx[4] = {PairIndex(0, 1), PairIndex(2, 3), PairIndex(4, 5), PairIndex(6, 7)};
  __m512 acc_q[kX4];
  __m256 acc_m[kX4];
  for (int r = 0; r < kX4; ++r) {
    acc_q[r] = _mm512_setzero_ps();
    acc_m[r] = _mm256_setzero_ps();
  }
  for (int64_t i = 0; i < n / kQKK; ++i) {
    PrefetchWeights(&x[i], sizeof(BlockQ4_K));
    const ScalesMinsK4 sm = UnpackScalesMinsK4(x[i].scales);
    const __m512i sc16 = _mm512_zextsi128_si512(sm.scales);
    __m512i q[4], s16[4];
    for (int c = 0; c < 4; ++c) {
      const __m512i q2 = _mm512_broadcast_i64x4(Load256(x[i].qs + 32 * c));
      q[c] = _mm512_and_si512(_mm512_srlv_epi16(q2, nibble_shift), low_mask);
      s16[c] = _mm512_permutexvar_epi16(idx[c], sc16);
    }
    const __m256i m16 = DuplicateI16(sm.mins);
    const float dx = HalfToFloat(x[i].d), dmin = HalfToFloat(x[i].dmin);
    for (int r = 0; r < kX4; ++r) {
      __m512i acc = _mm512_setzero_si512();
      for (int c = 0; c < 4; ++c) {
        const __m512i p = _mm512_maddubs_epi16(q[c], _mm512_loadu_si512(y[r][i].qs + 64 * c));
        acc = _mm512_dpwssd_epi32(acc, p, s16[c]);
      }
      const __m256i mins = _mm256_madd_epi16(Load256(y[r][i].bsums), m16);
      acc_q[r] = _mm512_fmadd_ps(_mm512_set1_ps(dx * y[r][i].d), _mm512_cvtepi32_ps(acc), acc_q[r]);
      acc_m[r] = _mm256_fmadd_ps(_mm256_set1_ps(dmin * y[r][i].d), _mm256_cvtepi32_ps(mins), acc_m[r]);
    }
  }
  for (int r = 0; r < kX4; ++r) out[r] = HorizontalSum512(acc_q[r]) - HorizontalSum(acc_m[r]);
}

// AVX-512 Q6_K (as DotQ6_K_512).
void Dot4Q6_K_512(int64_t n, const void* w, const void* a, size_t stride, float* out) {
  const auto* x = static_cast<const BlockQ6_K*>(w);
  const BlockQ8_K* y[kX4];
  for (int r = 0; r < kX4; ++r) y[r] = ActRow<BlockQ8_K>(a, stride, r);
  const __m512i low_mask = _mm512_set1_epi8(0x0F);
  const __m512i two_bits = _mm512_set1_epi8(0x30);
  const __m512i shl_01 = _mm512_inserti64x4(_mm512_zextsi256_si512(_mm256_set1_epi16(4)), _mm256_set1_epi16(2), 1);
  const __m512i shr_23 = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
  const __m512i idx[4] = {Q6QuadIndex(0), Q6QuadIndex(4), Q6QuadIndex(8), Q6QuadIndex(12)};
  __m512 acc_q[kX4];
  __m256 acc_m[kX4];
  for (int r = 0; r < kX4; ++r) {
    acc_q[r] = _mm512_setzero_ps();
    acc_m[r] = _mm256_setzero_ps();
  }
  for (int64_t i = 0; i < n / kQKK; ++i) {
    PrefetchWeights(&x[i], sizeof(BlockQ6_K));
    const __m256i s16_256 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].scales)));
    const __m512i s16 = _mm512_zextsi256_si512(s16_256);
    __m512i q[4], sc[4];
    for (int h = 0; h < 2; ++h) {
      const __m512i ql = _mm512_loadu_si512(x[i].ql + 64 * h);
      const __m512i qh = _mm512_broadcast_i64x4(Load256(x[i].qh + 32 * h));
      q[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, low_mask), _mm512_and_si512(_mm512_sllv_epi16(qh, shl_01), two_bits));
      q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low_mask),
                                     _mm512_and_si512(_mm512_srlv_epi16(qh, shr_23), two_bits));
      sc[2 * h] = _mm512_permutexvar_epi16(idx[2 * h], s16);
      sc[2 * h + 1] = _mm512_permutexvar_epi16(idx[2 * h + 1], s16);
    }
    const float dx = HalfToFloat(x[i].d);
    for (int r = 0; r < kX4; ++r) {
      __m512i acc = _mm512_setzero_si512();
      for (int k = 0; k < 4; ++k) {
        const __m512i p = _mm512_maddubs_epi16(q[k], _mm512_loadu_si512(y[r][i].qs + 64 * k));
        acc = _mm512_dpwssd_epi32(acc, p, sc[k]);
      }
      const __m256i offs = _mm256_madd_epi16(Load256(y[r][i].bsums), s16_256);
      const float dq = dx * y[r][i].d;
      acc_q[r] = _mm512_fmadd_ps(_mm512_set1_ps(dq), _mm512_cvtepi32_ps(acc), acc_q[r]);
      acc_m[r] = _mm256_fmadd_ps(_mm256_set1_ps(32.0f * dq), _mm256_cvtepi32_ps(offs), acc_m[r]);
    }
  }
  for (int r = 0; r < kX4; ++r) out[r] = HorizontalSum512(acc_q[r]) - HorizontalSum(acc_m[r]);
}
#pragma GCC diagnostic pop
#endif  // ENCLAVE_SIMD_AVX512

void FillMultiRowTable(KernelTable* t) {
  auto dot4 = [t](DType type, VecDotX4Fn fn) { t->vec_dot_x4[static_cast<uint32_t>(type)] = fn; };
#if ENCLAVE_SIMD_AVX512
  dot4(DType::kQ8_0, Dot4Legacy512<Q8_0Levels>);
  dot4(DType::kQ4_0, Dot4Legacy512<Q4_0Levels>);
  dot4(DType::kQ5_0, Dot4Legacy512<Q5_0Levels>);
  dot4(DType::kQ4_1, Dot4Legacy512<Q4_1Levels>);
  dot4(DType::kQ5_1, Dot4Legacy512<Q5_1Levels>);
  dot4(DType::kQ4_K, Dot4Q4_K_512);
  dot4(DType::kQ6_K, Dot4Q6_K_512);
#else
  dot4(DType::kQ8_0, Dot4Q8_0);
  dot4(DType::kQ4_K, Dot4Q4_K);
  dot4(DType::kQ6_K, Dot4Q6_K);
#endif
}

}  // namespace
}  // namespace enclave::kernels::ENCLAVE_SIMD_NAMESPACE
