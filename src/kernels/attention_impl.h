// The attention kernel (KernelTable::attention, see AttentionItem in kernels/kernels.h), written
// once in plain C++ whose inner loops run over the 16 keys of a chunk or 16 dimensions of a head,
// so the compiler vectorizes them for whichever ISA the including translation unit targets
// (kernels/ref: scalar oracle; x86_avx2, x86_avx512). The includer provides the row conversions
// as a type with two static functions:
//   Ops::ConvertRow(DType type, const uint8_t* src, float* dst, int n)        F16 or F32 -> f32
//   Ops::LoadKeysTransposed(DType type, const uint8_t* const* keys, int count, int k_dim, float* kt)
//       kt[d * 16 + j] = key j's element d for j < count, 0 for count <= j < 16
// (TransposeKeysGeneric below is a portable LoadKeysTransposed.)
//
// Include after defining ENCLAVE_SIMD_NAMESPACE: everything here gets internal linkage inside
// that namespace, so the copies compiled with different ISA flags can never be mixed up by the
// linker (an AVX-512 copy of an inline function reaching a machine without AVX-512).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "kernels/kernels.h"

namespace enclave::kernels::ENCLAVE_SIMD_NAMESPACE {
namespace {

// exp(x) for x <= 0 to ~2 ulp, written without calls so that loops over it vectorize: 2^n · p(r),
// r = x - n ln2 in [-ln2/2, ln2/2], p the degree-7 Taylor polynomial (truncation < 2e-8).
// Inputs below -87 (including -inf) give about 1e-38 instead of 0, which no sum can notice.
inline float ExpNonPositive(float x) {
  x = std::max(x, -87.0f);
  const float n = std::floor(x * 1.44269504088896341f + 0.5f);
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

template <typename Ops>
void TransposeKeysGeneric(DType type, const uint8_t* const* keys, int count, int k_dim, float* kt, float* row) {
  constexpr int C = kAttentionChunk;
  for (int j = 0; j < count; ++j) {
    Ops::ConvertRow(type, keys[j], row, k_dim);
    for (int d = 0; d < k_dim; ++d) kt[d * C + j] = row[d];
  }
  for (int j = count; j < C; ++j) {
    for (int d = 0; d < k_dim; ++d) kt[d * C + j] = 0.0f;
  }
}

template <typename Ops>
void AttendItem(const AttentionItem& a) {
  constexpr int C = kAttentionChunk;
  const int kd = a.k_dim, vd = a.v_dim;
  float* kt = a.scratch;       // [kd][C]: the chunk's keys, transposed
  float* vb = kt + kd * C;     // [C][vd]: the chunk's values
  float* run_max = vb + C * vd;
  float* run_sum = run_max + a.n_queries;
  float* weight = run_sum + a.n_queries;  // [C]
  int32_t max_key = -1;
  for (int i = 0; i < a.n_queries; ++i) {
    max_key = std::max(max_key, a.last_key[i]);
    run_max[i] = -std::numeric_limits<float>::infinity();
    run_sum[i] = 0.0f;
    std::fill(a.outputs[i], a.outputs[i] + vd, 0.0f);
  }
  for (int32_t p0 = 0; p0 <= max_key; p0 += C) {
    const int count = std::min<int32_t>(C, max_key + 1 - p0);
    Ops::LoadKeysTransposed(a.kv_type, a.keys + p0, count, kd, kt);
    for (int j = 0; j < count; ++j) Ops::ConvertRow(a.kv_type, a.values[p0 + j], vb + j * vd, vd);
    for (int i = 0; i < a.n_queries; ++i) {
      if (p0 > a.last_key[i]) continue;
      const int valid = std::min<int32_t>(count, a.last_key[i] - p0 + 1);
      const float* q = a.queries[i];
      float s[C] = {};
      for (int d = 0; d < kd; ++d) {
        const float qd = q[d];
        for (int j = 0; j < C; ++j) s[j] += qd * kt[d * C + j];
      }
      float chunk_max = -std::numeric_limits<float>::infinity();
      for (int j = 0; j < C; ++j) {
        s[j] = j < valid ? s[j] * a.scale : -std::numeric_limits<float>::infinity();
        chunk_max = std::max(chunk_max, s[j]);
      }
      float* out = a.outputs[i];
      if (chunk_max > run_max[i]) {
        // A new maximum: rescale what has been accumulated (nothing, on the first chunk).
        if (run_sum[i] != 0.0f) {
          const float f = ExpNonPositive(run_max[i] - chunk_max);
          run_sum[i] *= f;
          for (int d = 0; d < vd; ++d) out[d] *= f;
        }
        run_max[i] = chunk_max;
      }
      float sum = 0.0f;
      for (int j = 0; j < C; ++j) {
        weight[j] = j < valid ? ExpNonPositive(s[j] - run_max[i]) : 0.0f;
        sum += weight[j];
      }
      run_sum[i] += sum;
      // out += weight · values, 16 dimensions at a time so that they stay in registers.
      int d0 = 0;
      for (; d0 + 16 <= vd; d0 += 16) {
        float acc[16];
        for (int d = 0; d < 16; ++d) acc[d] = out[d0 + d];
        for (int j = 0; j < valid; ++j) {
          const float w = weight[j];
          for (int d = 0; d < 16; ++d) acc[d] += w * vb[j * vd + d0 + d];
        }
        for (int d = 0; d < 16; ++d) out[d0 + d] = acc[d];
      }
      for (; d0 < vd; ++d0) {
        for (int j = 0; j < valid; ++j) out[d0] += weight[j] * vb[j * vd + d0];
      }
    }
  }
  for (int i = 0; i < a.n_queries; ++i) {
    const float inv = run_sum[i] > 0.0f ? 1.0f / run_sum[i] : 0.0f;
    for (int d = 0; d < vd; ++d) a.outputs[i][d] *= inv;
  }
}

}  // namespace
}  // namespace enclave::kernels::ENCLAVE_SIMD_NAMESPACE
