// exp in 16 f32 lanes for the AVX-512 kernels (attention softmax, SiLU): 2^n · p(r), with
// r = x - n ln2 in [-ln2/2, ln2/2], p the degree-7 Taylor polynomial (truncation < 2e-8, a few ulp
// in all) and VSCALEFPS for the 2^n. Inputs are clamped to [-87, 88]: below, the result is ~1e-38
// instead of 0 (no sum can tell); above, ~1.6e38 instead of inf. Include only from translation
// units compiled with -mavx512f.
#pragma once

#include <immintrin.h>

namespace enclave::kernels::avx512_math {

inline __m512 Exp512(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f),
                                   _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x));
  __m512 p = _mm512_set1_ps(1.0f / 5040);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

}  // namespace enclave::kernels::avx512_math
