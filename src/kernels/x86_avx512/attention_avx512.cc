// The attention kernel for AVX-512 (AttentionItem in kernels/kernels.h): the algorithm of
// kernels/attention_impl.h with its three inner loops written as 16-lane vector code, which the
// compiler does not produce from the portable source. Per chunk of 16 keys and per query:
//   scores: k_dim broadcast-FMAs against the transposed keys (one lane per key);
//   weights: one vector exp; outputs: v_dim/16 accumulators kept in registers across the keys.
// Head sizes that are not multiples of 16 (no real model's) take the portable code.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/kernels.h"
#include "kernels/x86_avx512/exp512.h"

#define ENCLAVE_SIMD_NAMESPACE avx512_attention
#define ENCLAVE_SIMD_AVX512 1
#include "kernels/x86_common/attention_x86.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace enclave::kernels::avx512_attention {
namespace {

using avx512_math::Exp512;

// Scores of one query against the chunk's transposed keys kt[k_dim][16].
inline __m512 Scores(const float* q, const float* kt, int k_dim) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
  int d = 0;
  for (; d + 4 <= k_dim; d += 4) {
    s0 = _mm512_fmadd_ps(_mm512_set1_ps(q[d]), _mm512_loadu_ps(kt + d * 16), s0);
    s1 = _mm512_fmadd_ps(_mm512_set1_ps(q[d + 1]), _mm512_loadu_ps(kt + (d + 1) * 16), s1);
    s2 = _mm512_fmadd_ps(_mm512_set1_ps(q[d + 2]), _mm512_loadu_ps(kt + (d + 2) * 16), s2);
    s3 = _mm512_fmadd_ps(_mm512_set1_ps(q[d + 3]), _mm512_loadu_ps(kt + (d + 3) * 16), s3);
  }
  for (; d < k_dim; ++d) s0 = _mm512_fmadd_ps(_mm512_set1_ps(q[d]), _mm512_loadu_ps(kt + d * 16), s0);
  return _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3));
}

// out[0, 16 * kVecs) += sum_j weight[j] * vb[j][...], the outputs held in registers.
template <int kVecs>
inline void AccumulateValues(float* out, const float* weight, const float* vb, int v_dim, int valid) {
  __m512 acc[kVecs];
  for (int c = 0; c < kVecs; ++c) acc[c] = _mm512_loadu_ps(out + 16 * c);
  for (int j = 0; j < valid; ++j) {
    const __m512 w = _mm512_set1_ps(weight[j]);
    for (int c = 0; c < kVecs; ++c) acc[c] = _mm512_fmadd_ps(w, _mm512_loadu_ps(vb + j * v_dim + 16 * c), acc[c]);
  }
  for (int c = 0; c < kVecs; ++c) _mm512_storeu_ps(out + 16 * c, acc[c]);
}

void AccumulateValuesAnyWidth(float* out, const float* weight, const float* vb, int v_dim, int valid) {
  int c = 0;
  for (; c + 128 <= v_dim; c += 128) AccumulateValues<8>(out + c, weight, vb + c, v_dim, valid);
  for (; c + 16 <= v_dim; c += 16) AccumulateValues<1>(out + c, weight, vb + c, v_dim, valid);
}

void AttendVector(const AttentionItem& a) {
  constexpr int C = kAttentionChunk;
  const int kd = a.k_dim, vd = a.v_dim;
  float* kt = a.scratch;       // [kd][C]
  float* vb = kt + kd * C;     // [C][vd]
  float* run_max = vb + C * vd;
  float* run_sum = run_max + a.n_queries;
  float* weight = run_sum + a.n_queries;  // [C]
  const float neg_inf = -std::numeric_limits<float>::infinity();
  int32_t max_key = -1;
  for (int i = 0; i < a.n_queries; ++i) {
    max_key = std::max(max_key, a.last_key[i]);
    run_max[i] = neg_inf;
    run_sum[i] = 0.0f;
    std::fill(a.outputs[i], a.outputs[i] + vd, 0.0f);
  }
  const __m512 scale = _mm512_set1_ps(a.scale);
  for (int32_t p0 = 0; p0 <= max_key; p0 += C) {
    const int count = std::min<int32_t>(C, max_key + 1 - p0);
    X86Ops::LoadKeysTransposed(a.kv_type, a.keys + p0, count, kd, kt);
    for (int j = 0; j < count; ++j) X86Ops::ConvertRow(a.kv_type, a.values[p0 + j], vb + j * vd, vd);
    for (int i = 0; i < a.n_queries; ++i) {
      if (p0 > a.last_key[i]) continue;
      const int valid = std::min<int32_t>(count, a.last_key[i] - p0 + 1);
      const __mmask16 live = static_cast<__mmask16>((1u << valid) - 1);
      const __m512 s = _mm512_mask_mul_ps(_mm512_set1_ps(neg_inf), live, Scores(a.queries[i], kt, kd), scale);
      const float chunk_max = _mm512_reduce_max_ps(s);
      float* out = a.outputs[i];
      if (chunk_max > run_max[i]) {
        if (run_sum[i] != 0.0f) {  // rescale what the earlier chunks accumulated
          const float f = std::exp(run_max[i] - chunk_max);
          run_sum[i] *= f;
          const __m512 fv = _mm512_set1_ps(f);
          for (int d = 0; d < vd; d += 16) _mm512_storeu_ps(out + d, _mm512_mul_ps(fv, _mm512_loadu_ps(out + d)));
        }
        run_max[i] = chunk_max;
      }
      const __m512 w = _mm512_maskz_mov_ps(live, Exp512(_mm512_sub_ps(s, _mm512_set1_ps(run_max[i]))));
      run_sum[i] += _mm512_reduce_add_ps(w);
      _mm512_storeu_ps(weight, w);
      if (vd == 128) {
        AccumulateValues<8>(out, weight, vb, vd, valid);
      } else {
        AccumulateValuesAnyWidth(out, weight, vb, vd, valid);
      }
    }
  }
  for (int i = 0; i < a.n_queries; ++i) {
    const __m512 inv = _mm512_set1_ps(run_sum[i] > 0.0f ? 1.0f / run_sum[i] : 0.0f);
    for (int d = 0; d < vd; d += 16) _mm512_storeu_ps(a.outputs[i] + d, _mm512_mul_ps(inv, _mm512_loadu_ps(a.outputs[i] + d)));
  }
}

void AttendAvx512(const AttentionItem& a) {
  if (a.k_dim % 16 == 0 && a.v_dim % 16 == 0) {
    AttendVector(a);
  } else {
    Attend(a);  // the portable code (attention_x86.h)
  }
}

}  // namespace
}  // namespace enclave::kernels::avx512_attention

namespace enclave::kernels::avx512 {
AttentionFn AttentionKernel() { return avx512_attention::AttendAvx512; }

// SwiGLU's gate: silu(g) * u with the vector exp, 16 at a time.
void SiluMul(float* gate, const float* up, int64_t n) {
  int64_t i = 0;
  const __m512 one = _mm512_set1_ps(1.0f);
  for (; i + 16 <= n; i += 16) {
    const __m512 g = _mm512_loadu_ps(gate + i);
    const __m512 e = avx512_math::Exp512(_mm512_sub_ps(_mm512_setzero_ps(), g));
    _mm512_storeu_ps(gate + i, _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(one, e)), _mm512_loadu_ps(up + i)));
  }
  for (; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}
}  // namespace enclave::kernels::avx512

#pragma GCC diagnostic pop
