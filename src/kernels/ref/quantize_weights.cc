// Weight quantizers. The legacy types use the closed-form scales llama.cpp's reference
// quantizers use; the K-quants search scale candidates and refit scale (and min) by weighted
// least squares, keeping the candidate with the lowest weighted squared error, then quantize the
// sub-block scales to 6 (or 8) bits and requantize the values against the quantized scales.
// See docs/quant-formats.md for the algorithms and measured errors against llama.cpp.
#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "base/half.h"
#include "kernels/quant_blocks.h"
#include "kernels/quantize.h"
#include "kernels/ref/ref_kernels.h"

namespace enclave::kernels {
namespace {

inline int RoundToInt(float x) { return static_cast<int>(std::nearbyint(x)); }

void QuantizeQ8_0Row(const float* x, BlockQ8_0* y, int64_t n) { ref::QuantizeActQ8_0(x, y, n); }

// Signed max-magnitude scale: the value of largest |x| maps to -8 (Q4_0) / -16 (Q5_0) exactly.
float SignedMax(const float* x, int n) {
  float amax = 0, max = 0;
  for (int j = 0; j < n; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void QuantizeQ4_0Row(const float* x, BlockQ4_0* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    const float d = SignedMax(x, kQK) / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = F32ToFp16(d);
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = std::min(15, static_cast<int>(x[j] * id + 8.5f));
      const int q1 = std::min(15, static_cast<int>(x[j + 16] * id + 8.5f));
      y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void QuantizeQ4_1Row(const float* x, BlockQ4_1* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float mn = x[0], mx = x[0];
    for (int j = 1; j < kQK; ++j) {
      mn = std::min(mn, x[j]);
      mx = std::max(mx, x[j]);
    }
    const float d = (mx - mn) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = F32ToFp16(d);
    y[i].m = F32ToFp16(mn);
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = std::min(15, static_cast<int>((x[j] - mn) * id + 0.5f));
      const int q1 = std::min(15, static_cast<int>((x[j + 16] - mn) * id + 0.5f));
      y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void QuantizeQ5_0Row(const float* x, BlockQ5_0* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    const float d = SignedMax(x, kQK) / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = F32ToFp16(d);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = std::min(31, static_cast<int>(x[j] * id + 16.5f));
      const int q1 = std::min(31, static_cast<int>(x[j + 16] * id + 16.5f));
      y[i].qs[j] = static_cast<uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
      qh |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
      qh |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + 16);
    }
    std::memcpy(y[i].qh, &qh, 4);
  }
}

void QuantizeQ5_1Row(const float* x, BlockQ5_1* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float mn = x[0], mx = x[0];
    for (int j = 1; j < kQK; ++j) {
      mn = std::min(mn, x[j]);
      mx = std::max(mx, x[j]);
    }
    const float d = (mx - mn) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = F32ToFp16(d);
    y[i].m = F32ToFp16(mn);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = std::min(31, static_cast<int>((x[j] - mn) * id + 0.5f));
      const int q1 = std::min(31, static_cast<int>((x[j + 16] - mn) * id + 0.5f));
      y[i].qs[j] = static_cast<uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
      qh |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
      qh |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + 16);
    }
    std::memcpy(y[i].qh, &qh, 4);
  }
}

// Asymmetric fit of x (n values, weights w) to scale*L + min with L in 0..nmax and min <= 0.
// Tries nstep+1 candidate inverse scales (nmax + rmin + rdelta*k)/(max-min); for each, rounds,
// then refits scale and min by weighted least squares and keeps the lowest weighted error.
// Returns the scale; *neg_min receives -min (>= 0); L receives the levels.
float FitScaleMin(int n, int nmax, const float* x, const float* w, uint8_t* L, float* neg_min,
                  float rmin, float rdelta, int nstep) {
  float mn = x[0], mx = x[0], sum_w = w[0], sum_x = w[0] * x[0];
  for (int i = 1; i < n; ++i) {
    mn = std::min(mn, x[i]);
    mx = std::max(mx, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (mn > 0) mn = 0;
  if (mx == mn) {
    std::fill(L, L + n, 0);
    *neg_min = -mn;
    return 0.0f;
  }
  float iscale = nmax / (mx - mn);
  float scale = 1.0f / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(RoundToInt(iscale * (x[i] - mn)), 0, nmax);
    L[i] = static_cast<uint8_t>(l);
    const float diff = scale * l + mn - x[i];
    best_error += w[i] * diff * diff;
  }
  uint8_t laux[32];
  for (int k = 0; k <= nstep; ++k) {
    iscale = (rmin + rdelta * k + nmax) / (mx - mn);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(RoundToInt(iscale * (x[i] - mn)), 0, nmax);
      laux[i] = static_cast<uint8_t>(l);
      sum_l += w[i] * l;
      sum_l2 += w[i] * l * l;
      sum_xl += w[i] * l * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    float err = 0;
    for (int i = 0; i < n; ++i) {
      const float diff = this_scale * laux[i] + this_min - x[i];
      err += w[i] * diff * diff;
    }
    if (err < best_error) {
      std::copy(laux, laux + n, L);
      best_error = err;
      scale = this_scale;
      mn = this_min;
    }
  }
  *neg_min = -mn;
  return scale;
}

// Symmetric fit of x (n values) to scale*L, L in -nmax..nmax-1, weights x^2 (large values matter
// most). Tries 19 candidate scales around nmax/amax and keeps the one maximising the explained
// weighted energy (sum w x l)^2 / (sum w l^2), which is the least-squares optimum per candidate.
float FitScaleSymmetric(int n, int nmax, const float* x, int8_t* L) {
  float amax = 0, max = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < 1e-30f) {
    std::fill(L, L + n, 0);
    return 0.0f;
  }
  auto fit = [&](float iscale, int8_t* out, float* sumlx, float* suml2) {
    *sumlx = 0;
    *suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(RoundToInt(iscale * x[i]), -nmax, nmax - 1);
      out[i] = static_cast<int8_t>(l);
      const float w = x[i] * x[i];
      *sumlx += w * x[i] * l;
      *suml2 += w * l * l;
    }
  };
  float sumlx, suml2;
  fit(-nmax / max, L, &sumlx, &suml2);
  float scale = suml2 > 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  int8_t laux[16];
  for (int k = -9; k <= 9; ++k) {
    if (k == 0) continue;
    fit(-(nmax + 0.1f * k) / max, laux, &sumlx, &suml2);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      std::copy(laux, laux + n, L);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Shared by Q4_K and Q5_K: 8 sub-blocks of 32 with 6-bit scales and mins.
template <int kBits>
void QuantizeK4Family(const float* x, uint16_t* d_out, uint16_t* dmin_out, uint8_t* packed_scales,
                      uint8_t* levels) {
  constexpr int nmax = (1 << kBits) - 1;
  float scales[8], mins[8], weights[32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xs[l]);
    scales[j] = kBits == 4 ? FitScaleMin(32, nmax, xs, weights, levels + 32 * j, &mins[j], -1.0f, 0.1f, 20)
                           : FitScaleMin(32, nmax, xs, weights, levels + 32 * j, &mins[j], -0.5f, 0.1f, 15);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = static_cast<uint8_t>(std::min(63, RoundToInt(inv_scale * scales[j])));
    lm[j] = static_cast<uint8_t>(std::min(63, RoundToInt(inv_min * mins[j])));
    if (j < 4) {
      packed_scales[j] = ls[j];
      packed_scales[j + 4] = lm[j];
    } else {
      packed_scales[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      packed_scales[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      packed_scales[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
  *d_out = F32ToFp16(max_scale / 63.0f);
  *dmin_out = F32ToFp16(max_min / 63.0f);
  const float d = Fp16ToF32(*d_out), dmin = Fp16ToF32(*dmin_out);
  // Requantize against the scales as they will be decoded.
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    UnpackScaleMinK4(j, packed_scales, &sc, &m);
    const float dl = d * sc;
    if (dl == 0.0f) continue;
    const float dm = dmin * m;
    for (int l = 0; l < 32; ++l) {
      levels[32 * j + l] = static_cast<uint8_t>(std::clamp(RoundToInt((x[32 * j + l] + dm) / dl), 0, nmax));
    }
  }
}

void QuantizeQ4_KRow(const float* x, BlockQ4_K* y, int64_t n) {
  uint8_t L[kQKK];
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
    std::memset(y[i].scales, 0, sizeof y[i].scales);
    QuantizeK4Family<4>(x, &y[i].d, &y[i].dmin, y[i].scales, L);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        y[i].qs[32 * c + l] = static_cast<uint8_t>(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
      }
    }
  }
}

void QuantizeQ5_KRow(const float* x, BlockQ5_K* y, int64_t n) {
  uint8_t L[kQKK];
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
    std::memset(y[i].scales, 0, sizeof y[i].scales);
    std::memset(y[i].qh, 0, sizeof y[i].qh);
    QuantizeK4Family<5>(x, &y[i].d, &y[i].dmin, y[i].scales, L);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const int lo = L[64 * c + l], hi = L[64 * c + 32 + l];
        y[i].qs[32 * c + l] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
        y[i].qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
      }
    }
  }
}

void QuantizeQ6_KRow(const float* x, BlockQ6_K* y, int64_t n) {
  int8_t L[kQKK];
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
    float scales[16];
    float max_scale = 0, max_abs_scale = 0;
    for (int s = 0; s < 16; ++s) {
      scales[s] = FitScaleSymmetric(16, 32, x + 16 * s, L + 16 * s);
      if (std::fabs(scales[s]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[s]);
        max_scale = scales[s];
      }
    }
    if (max_abs_scale < 1e-30f) {
      std::memset(&y[i], 0, sizeof y[i]);
      // Level 32 decodes to 0: ql/qh must encode 32, i.e. qh plane = 2 (binary 10) everywhere.
      for (int e = 0; e < kQKK; ++e) L[e] = 0;
    } else {
      const float iscale = -128.0f / max_scale;
      y[i].d = F32ToFp16(1.0f / iscale);
      for (int s = 0; s < 16; ++s) {
        y[i].scales[s] = static_cast<int8_t>(std::min(127, RoundToInt(iscale * scales[s])));
      }
      const float d = Fp16ToF32(y[i].d);
      for (int s = 0; s < 16; ++s) {
        const float dl = d * y[i].scales[s];
        for (int t = 0; t < 16; ++t) {
          L[16 * s + t] = dl == 0.0f ? 0
                                     : static_cast<int8_t>(std::clamp(RoundToInt(x[16 * s + t] / dl), -32, 31));
        }
      }
    }
    std::memset(y[i].ql, 0, sizeof y[i].ql);
    std::memset(y[i].qh, 0, sizeof y[i].qh);
    for (int e = 0; e < kQKK; ++e) {
      const int q = L[e] + 32;
      const int h = e / 128, r = e % 128, k = r / 64, m = r % 64;
      y[i].ql[64 * h + m] |= static_cast<uint8_t>((q & 0xF) << (4 * k));
      y[i].qh[32 * h + (r % 32)] |= static_cast<uint8_t>((q >> 4) << (2 * (r / 32)));
    }
  }
}

}  // namespace

bool CanQuantizeWeights(DType type) {
  switch (type) {
    case DType::kF32: case DType::kF16: case DType::kBF16: case DType::kQ8_0: case DType::kQ4_0:
    case DType::kQ4_1: case DType::kQ5_0: case DType::kQ5_1: case DType::kQ4_K: case DType::kQ5_K:
    case DType::kQ6_K:
      return true;
    default:
      return false;
  }
}

void QuantizeWeightsRow(DType type, const float* src, void* dst, int64_t n) {
  switch (type) {
    case DType::kF32: std::memcpy(dst, src, n * sizeof(float)); break;
    case DType::kF16: {
      auto* y = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) y[i] = F32ToFp16(src[i]);
      break;
    }
    case DType::kBF16: ref::QuantizeActBF16(src, dst, n); break;
    case DType::kQ8_0: QuantizeQ8_0Row(src, static_cast<BlockQ8_0*>(dst), n); break;
    case DType::kQ4_0: QuantizeQ4_0Row(src, static_cast<BlockQ4_0*>(dst), n); break;
    case DType::kQ4_1: QuantizeQ4_1Row(src, static_cast<BlockQ4_1*>(dst), n); break;
    case DType::kQ5_0: QuantizeQ5_0Row(src, static_cast<BlockQ5_0*>(dst), n); break;
    case DType::kQ5_1: QuantizeQ5_1Row(src, static_cast<BlockQ5_1*>(dst), n); break;
    case DType::kQ4_K: QuantizeQ4_KRow(src, static_cast<BlockQ4_K*>(dst), n); break;
    case DType::kQ5_K: QuantizeQ5_KRow(src, static_cast<BlockQ5_K*>(dst), n); break;
    case DType::kQ6_K: QuantizeQ6_KRow(src, static_cast<BlockQ6_K*>(dst), n); break;
    default: break;
  }
}

Status QuantizeWeights(DType type, std::span<const float> src, int64_t n_per_row, std::span<uint8_t> dst) {
  if (!CanQuantizeWeights(type)) {
    return UnsupportedError(fmt::format("quantizing to {} is not supported", DTypeName(type)));
  }
  if (n_per_row <= 0 || src.size() % static_cast<size_t>(n_per_row) != 0) {
    return InvalidArgumentError(fmt::format("{} values do not form rows of {}", src.size(), n_per_row));
  }
  const auto row_bytes = RowBytes(type, static_cast<uint64_t>(n_per_row));
  if (!row_bytes) {
    return InvalidArgumentError(fmt::format("rows of {} elements are not a multiple of the {} block size {}",
                                            n_per_row, DTypeName(type), Traits(type).block_elems));
  }
  const size_t rows = src.size() / static_cast<size_t>(n_per_row);
  if (dst.size() != rows * *row_bytes) {
    return InvalidArgumentError(fmt::format("output buffer holds {} bytes, {} needed", dst.size(), rows * *row_bytes));
  }
  for (size_t r = 0; r < rows; ++r) {
    QuantizeWeightsRow(type, src.data() + r * n_per_row, dst.data() + r * *row_bytes, n_per_row);
  }
  return Status::Ok();
}

}  // namespace enclave::kernels
