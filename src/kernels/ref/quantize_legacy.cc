// Weight quantizers of the 32-element block types: Q8_0, Q4_0, Q5_0 (y = d*l) and Q4_1, Q5_1
// (y = d*l + m).
//
// Every block tries a short list of candidate scales: first the closed form of the classic
// reference quantizers (llama.cpp's and the gguf package's), then stretched variants that clip
// the extreme value to gain resolution for the rest. Each candidate is refitted by least squares
// on its levels (twice, re-rounding in between), and every candidate is scored by the squared
// error of the block exactly as the dequantizer will decode it: fp16 scale fields as stored and
// levels rounded to nearest against them. Because the closed form is among the candidates and
// nearest-level rounding is optimal for a given stored scale, no block is ever worse than the
// closed-form quantizer's. Errors are summed in double so huge inputs cannot overflow the score.
#include <algorithm>
#include <cstring>

#include "kernels/ref/quantize_internal.h"

namespace enclave::kernels::quant_internal {
namespace {

// Stretch of the level range the extreme value maps to (0 = the closed form). Positive values
// shrink the step and clip the extreme; negative ones widen it.
constexpr float kStretch[] = {0.0f, 0.25f, 0.5f, 0.75f, 1.0f, 1.5f, 2.0f, 3.0f, -0.5f};
constexpr int kRefits = 2;

// A quantized block: fp16 scale (and offset) bits, levels, and its squared error.
struct Fit {
  uint16_t d = 0;
  uint16_t m = 0;
  int l[kQK] = {};
  double sse = std::numeric_limits<double>::infinity();
};

// ---- symmetric: y = d * l, l in [lo, hi] -------------------------------------------------------

double ScoreSymmetric(const float* x, uint16_t d_bits, int lo, int hi, int* l) {
  const float d = Fp16ToF32(d_bits);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  double sse = 0;
  for (int i = 0; i < kQK; ++i) {
    l[i] = d != 0.0f ? RoundClamp(x[i] * id, lo, hi) : 0;
    const double e = static_cast<double>(d * static_cast<float>(l[i])) - x[i];
    sse += e * e;
  }
  return sse;
}

// Scores scale d, then refits d = sum(x l) / sum(l^2) on the levels and scores again; keeps the
// best in *best.
void TrySymmetric(const float* x, float d, int lo, int hi, Fit* best) {
  Fit f;
  for (int refit = 0; refit <= kRefits; ++refit) {
    f.d = Fp16Saturate(d);
    f.sse = ScoreSymmetric(x, f.d, lo, hi, f.l);
    if (f.sse < best->sse) *best = f;
    double sum_xl = 0, sum_ll = 0;
    for (int i = 0; i < kQK; ++i) {
      sum_xl += static_cast<double>(x[i]) * f.l[i];
      sum_ll += static_cast<double>(f.l[i]) * f.l[i];
    }
    if (sum_ll == 0) return;
    const float next = static_cast<float>(sum_xl / sum_ll);
    if (Fp16Saturate(next) == f.d) return;
    d = next;
  }
}

// closed_form_d: the reference quantizer's scale. The stretched candidates map the value of
// largest magnitude to lo - stretch (the side with the extra level); `fast` tries the closed form
// and its refits only.
Fit QuantizeSymmetric(const float* raw, int lo, int hi, float closed_form_d, bool fast) {
  float x[kQK];
  CopyFinite(raw, kQK, x);
  float amax = 0, max = 0;
  for (int i = 0; i < kQK; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  Fit best;
  if (amax == 0) {
    best.sse = 0;
    return best;
  }
  TrySymmetric(x, closed_form_d, lo, hi, &best);
  if (fast) return best;
  for (float s : kStretch) TrySymmetric(x, max / (static_cast<float>(lo) - s), lo, hi, &best);
  return best;
}

// ---- asymmetric: y = d * l + m, l in [0, nmax] -------------------------------------------------

double ScoreAffine(const float* x, uint16_t d_bits, uint16_t m_bits, int nmax, int* l) {
  const float d = Fp16ToF32(d_bits), m = Fp16ToF32(m_bits);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  double sse = 0;
  for (int i = 0; i < kQK; ++i) {
    l[i] = d != 0.0f ? RoundClamp((x[i] - m) * id, 0, nmax) : 0;
    const double e = static_cast<double>(d * static_cast<float>(l[i]) + m) - x[i];
    sse += e * e;
  }
  return sse;
}

// Scores (d, m), then refits both by linear regression of x on the levels and scores again.
void TryAffine(const float* x, float d, float m, int nmax, Fit* best) {
  Fit f;
  for (int refit = 0; refit <= kRefits; ++refit) {
    f.d = Fp16Saturate(d);
    f.m = Fp16Saturate(m);
    f.sse = ScoreAffine(x, f.d, f.m, nmax, f.l);
    if (f.sse < best->sse) *best = f;
    double sl = 0, sll = 0, sx = 0, slx = 0;
    for (int i = 0; i < kQK; ++i) {
      sl += f.l[i];
      sll += static_cast<double>(f.l[i]) * f.l[i];
      sx += x[i];
      slx += static_cast<double>(f.l[i]) * x[i];
    }
    const double det = kQK * sll - sl * sl;
    if (det <= 0) return;
    const float next_d = static_cast<float>((kQK * slx - sl * sx) / det);
    const float next_m = static_cast<float>((sll * sx - sl * slx) / det);
    if (Fp16Saturate(next_d) == f.d && Fp16Saturate(next_m) == f.m) return;
    d = next_d;
    m = next_m;
  }
}

Fit QuantizeAffine(const float* raw, int nmax, bool fast) {
  float x[kQK];
  CopyFinite(raw, kQK, x);
  float mn = x[0], mx = x[0];
  for (int i = 1; i < kQK; ++i) {
    mn = std::min(mn, x[i]);
    mx = std::max(mx, x[i]);
  }
  Fit best;
  // The range may overflow f32 for values near +-FLT_MAX; halve both ends then.
  const float range = std::isfinite(mx - mn) ? mx - mn : 2.0f * (mx * 0.5f - mn * 0.5f);
  if (!std::isfinite(range) || range == 0) {
    best.m = Fp16Saturate(mn);
    best.sse = ScoreAffine(x, 0, best.m, nmax, best.l);
    return best;
  }
  for (float s : kStretch) {
    TryAffine(x, range / (static_cast<float>(nmax) + s), mn, nmax, &best);
    if (fast) break;  // the closed form (stretch 0) and its refits
  }
  return best;
}

// Packs levels q[0..31] (0..15) as two nibbles per byte: element j low, j + 16 high.
void PackNibbles(const int* q, uint8_t* qs) {
  for (int j = 0; j < kQK / 2; ++j) qs[j] = static_cast<uint8_t>((q[j] & 0xF) | ((q[j + 16] & 0xF) << 4));
}

// Packs 5-bit levels q[0..31]: low nibbles as PackNibbles, fifth bits into the u32 qh (bit j).
void PackFiveBits(const int* q, uint8_t* qs, uint8_t* qh) {
  PackNibbles(q, qs);
  uint32_t h = 0;
  for (int j = 0; j < kQK; ++j) h |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
  std::memcpy(qh, &h, 4);
}

}  // namespace

void QuantizeRowQ8_0(const float* x, BlockQ8_0* y, int64_t n, bool fast) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    float amax = 0;
    for (int i = 0; i < kQK; ++i) amax = std::max(amax, std::fabs(x[i]));
    // Levels -128..127: int8 weights may use -128 (the dot products only need activations to avoid it).
    const Fit f = QuantizeSymmetric(x, -128, 127, amax / 127.0f, fast);
    y[b].d = f.d;
    for (int i = 0; i < kQK; ++i) y[b].qs[i] = static_cast<int8_t>(f.l[i]);
  }
}

void QuantizeRowQ4_0(const float* x, BlockQ4_0* y, int64_t n, bool fast) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    float amax = 0, max = 0;
    for (int i = 0; i < kQK; ++i) {
      if (std::fabs(x[i]) > amax) {
        amax = std::fabs(x[i]);
        max = x[i];
      }
    }
    const Fit f = QuantizeSymmetric(x, -8, 7, max / -8.0f, fast);
    int q[kQK];
    for (int i = 0; i < kQK; ++i) q[i] = f.l[i] + 8;
    y[b].d = f.d;
    PackNibbles(q, y[b].qs);
  }
}

void QuantizeRowQ5_0(const float* x, BlockQ5_0* y, int64_t n, bool fast) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    float amax = 0, max = 0;
    for (int i = 0; i < kQK; ++i) {
      if (std::fabs(x[i]) > amax) {
        amax = std::fabs(x[i]);
        max = x[i];
      }
    }
    const Fit f = QuantizeSymmetric(x, -16, 15, max / -16.0f, fast);
    int q[kQK];
    for (int i = 0; i < kQK; ++i) q[i] = f.l[i] + 16;
    y[b].d = f.d;
    PackFiveBits(q, y[b].qs, y[b].qh);
  }
}

void QuantizeRowQ4_1(const float* x, BlockQ4_1* y, int64_t n, bool fast) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    const Fit f = QuantizeAffine(x, 15, fast);
    y[b].d = f.d;
    y[b].m = f.m;
    PackNibbles(f.l, y[b].qs);
  }
}

void QuantizeRowQ5_1(const float* x, BlockQ5_1* y, int64_t n, bool fast) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    const Fit f = QuantizeAffine(x, 31, fast);
    y[b].d = f.d;
    y[b].m = f.m;
    PackFiveBits(f.l, y[b].qs, y[b].qh);
  }
}

}  // namespace enclave::kernels::quant_internal
