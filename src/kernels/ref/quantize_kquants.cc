// Weight quantizers of the K-quant super-blocks (256 values): Q4_K, Q5_K (8 sub-blocks of 32,
// y = d*sc*l - dmin*m with 6-bit sc, m) and Q6_K (16 sub-blocks of 16, y = d*sc*(l) with int8 sc,
// l in -32..31).
//
// Two stages (docs/quant-formats.md has the numbers):
//  1. Each sub-block gets continuous fits (scale, and offset for Q4_K/Q5_K). From several starting
//     scales around the one that maps the sub-block's range onto the levels (for Q4_K/Q5_K also
//     with the smallest value starting at level 1, so the offset can sit below the data), levels
//     are rounded and scale (and offset) refitted by weighted least squares, alternately, until
//     the levels settle. The weights favour large values (|x| + rms for Q4_K/Q5_K, x^2 for Q6_K).
//     Kept: the fit with the lowest weighted error and the one with the lowest plain error.
//  2. The super-block scale d (and dmin) is set so the largest fitted sub-block scale (and offset)
//     gets the largest code; each sub-block then picks, near its two fits, the codes that give the
//     smallest plain squared error of the block as the dequantizer decodes it. Then d (and dmin)
//     are refitted by least squares on the chosen codes and levels and the codes chosen again,
//     while that lowers the error, and the fp16 neighbours of the result are tried.
// All the fitting runs on the super-block scaled by a power of two so its largest magnitude is
// in [0.5, 1): exact, and it keeps tiny (1e-30) and huge (1e30) inputs away from f32 underflow and
// overflow; fp16 scale fields saturate at 65504, so no block decodes to inf or NaN.
#include <algorithm>
#include <cstring>
#include <utility>

#include "kernels/ref/quantize_internal.h"

namespace enclave::kernels::quant_internal {
namespace {

constexpr int kMaxCode = 63;  // 6-bit sub-block scales and mins of Q4_K/Q5_K

// The power-of-two exponent e with max|x| = f * 2^e, f in [0.5, 1); x is scaled by 2^-e into xs.
// Returns false for an all-zero block.
bool Normalize(const float* raw, int n, float* xs, int* e) {
  CopyFinite(raw, n, xs);
  float amax = 0;
  for (int i = 0; i < n; ++i) amax = std::max(amax, std::fabs(xs[i]));
  if (amax == 0) return false;
  std::frexp(amax, e);
  for (int i = 0; i < n; ++i) xs[i] = std::ldexp(xs[i], -*e);
  return true;
}

// fp16 bits of the normalized scale v (value v * 2^e), and the normalized value they decode to.
uint16_t ScaleBits(float v, int e) { return Fp16Saturate(std::ldexp(v, e)); }
float ScaleValue(uint16_t bits, int e) { return std::ldexp(Fp16ToF32(bits), -e); }

// The fp16 value `step` representable values away in magnitude from `bits` (same sign, finite);
// bits itself where that would leave the finite range or cross zero.
uint16_t Fp16Step(uint16_t bits, int step) {
  const int magnitude = (bits & 0x7FFF) + step;
  if (magnitude < 0 || magnitude > 0x7BFF) return bits;
  return static_cast<uint16_t>((bits & 0x8000) | magnitude);
}

// ---- Q4_K / Q5_K -----------------------------------------------------------------------------

// y = scale * l - offset, l in 0..nmax, offset >= 0.
struct AffineFit {
  float scale = 0;
  float offset = 0;
};

// Stage 1's result for a sub-block: the fit with the lowest weighted error and the one with the
// lowest plain squared error (stage 2 searches codes around both).
struct SubBlockFits {
  AffineFit weighted;
  AffineFit plain;
};

// Weighted least squares of x on levels l with y = s*l - o, o >= 0. False if the levels are all
// equal (no unique fit).
bool FitAffine(const float* x, const float* w, const int* l, int n, float* s, float* o) {
  double sw = 0, sl = 0, sll = 0, sx = 0, slx = 0;
  for (int i = 0; i < n; ++i) {
    sw += w[i];
    sl += w[i] * l[i];
    sll += static_cast<double>(w[i]) * l[i] * l[i];
    sx += static_cast<double>(w[i]) * x[i];
    slx += static_cast<double>(w[i]) * l[i] * x[i];
  }
  const double det = sw * sll - sl * sl;
  if (!(det > 0)) return false;
  double scale = (sw * slx - sl * sx) / det;
  double intercept = (sll * sx - sl * slx) / det;
  if (intercept > 0) {  // the format's offset only subtracts: fit through the origin instead
    intercept = 0;
    scale = slx / sll;
  }
  if (!(scale > 0)) return false;
  *s = static_cast<float>(scale);
  *o = static_cast<float>(-intercept);
  return true;
}

// Weighted and plain squared errors of levels l under (s, o).
void AffineErrors(const float* x, const float* w, const int* l, int n, float s, float o, double* weighted,
                  double* plain) {
  *weighted = 0;
  *plain = 0;
  for (int i = 0; i < n; ++i) {
    const double diff = static_cast<double>(s * static_cast<float>(l[i]) - o) - x[i];
    *weighted += w[i] * diff * diff;
    *plain += diff * diff;
  }
}

void RoundAffine(const float* x, int n, int nmax, float s, float o, int* l) {
  const float is = 1.0f / s;
  for (int i = 0; i < n; ++i) l[i] = RoundClamp((x[i] + o) * is, 0, nmax);
}

// Stage 1 candidates: kStretches range stretches, each with the smallest value starting at level
// 0 or (phase 1) at level 1, which lets the fit place the offset below the data.
constexpr int kStretches = 7;
constexpr int kPhases = 2;
constexpr int kCandidates = kStretches * kPhases;
// Each candidate alternates rounding and refitting until the levels stop changing (at most this
// many fits): the fit drifts towards the offset that centres the levels on the data.
constexpr int kMaxPasses = 8;

// Stage 1 for one sub-block of 32; `fast` tries the unstretched candidate of each phase only.
SubBlockFits FitAffineSubBlock(const float* x, int nmax, bool fast) {
  constexpr int n = 32;
  float lo = 0, hi = x[0], sum_x2 = 0;
  for (int i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    sum_x2 += x[i] * x[i];
  }
  SubBlockFits best;
  best.weighted = best.plain = {0, -lo};  // all levels 0: the constant -offset = lo
  if (!(hi > lo)) return best;
  const float rms = std::sqrt(sum_x2 / n);
  float w[n];
  for (int i = 0; i < n; ++i) w[i] = rms + std::fabs(x[i]);
  int l[n];
  // The plain range fit is the baseline.
  const AffineFit range{(hi - lo) / static_cast<float>(nmax), -lo};
  RoundAffine(x, n, nmax, range.scale, range.offset, l);
  double best_weighted, best_plain;
  AffineErrors(x, w, l, n, range.scale, range.offset, &best_weighted, &best_plain);
  best.weighted = best.plain = range;
  for (int c = 0; c < kCandidates; ++c) {
    if (fast && c % kStretches != kStretches / 2) continue;
    const float k = static_cast<float>(c % kStretches - kStretches / 2);
    const float phase = static_cast<float>(c / kStretches);
    float s = (hi - lo) / (static_cast<float>(nmax) - phase + 0.3f * k);
    float o = -lo + phase * s;
    int prev[n];
    for (int pass = 0; pass < kMaxPasses; ++pass) {
      RoundAffine(x, n, nmax, s, o, l);
      if (pass > 0 && std::equal(l, l + n, prev)) break;  // converged
      std::copy(l, l + n, prev);
      if (!FitAffine(x, w, l, n, &s, &o)) break;
      double weighted, plain;
      AffineErrors(x, w, l, n, s, o, &weighted, &plain);
      if (weighted < best_weighted) {
        best_weighted = weighted;
        best.weighted = {s, o};
      }
      if (plain < best_plain) {
        best_plain = plain;
        best.plain = {s, o};
      }
    }
  }
  return best;
}

// The chosen encoding of one super-block of Q4_K/Q5_K.
struct K4Block {
  uint16_t d = 0, dmin = 0;
  int sc[8] = {}, m[8] = {};
  int l[256] = {};
  double sse = std::numeric_limits<double>::infinity();
};

// Squared error of sub-block x (32 values) with codes (sc, m) under normalized d, dmin, decoding
// as the dequantizer does: (d*sc)*l - (dmin*m). Writes the nearest levels to l.
double SubBlockError(const float* x, float d, float dmin, int sc, int m, int nmax, int* l) {
  const float dl = d * static_cast<float>(sc), ml = dmin * static_cast<float>(m);
  const float idl = dl != 0.0f ? 1.0f / dl : 0.0f;
  double err = 0;
  for (int i = 0; i < 32; ++i) {
    l[i] = dl != 0.0f ? RoundClamp((x[i] + ml) * idl, 0, nmax) : 0;
    const double diff = static_cast<double>(dl * static_cast<float>(l[i]) - ml) - x[i];
    err += diff * diff;
  }
  return err;
}

// For fixed d, dmin (fp16 bits), picks each sub-block's codes from the 3x3 neighbourhoods of its
// two stage-1 fits (`fast`: of the weighted fit only).
K4Block ChooseCodes(const float* x, const SubBlockFits* fits, uint16_t d_bits, uint16_t dmin_bits, int e, int nmax,
                    bool fast) {
  K4Block blk;
  blk.d = d_bits;
  blk.dmin = dmin_bits;
  blk.sse = 0;
  const float d = ScaleValue(d_bits, e), dmin = ScaleValue(dmin_bits, e);
  int l[32];
  for (int j = 0; j < 8; ++j) {
    double best = std::numeric_limits<double>::infinity();
    int tried[2][2] = {{-9, -9}, {-9, -9}};
    for (int f = 0; f < (fast ? 1 : 2); ++f) {
      const AffineFit& fit = f == 0 ? fits[j].weighted : fits[j].plain;
      const int rs = d > 0 ? RoundClamp(fit.scale / d, 0, kMaxCode) : 0;
      const int rm = dmin > 0 ? RoundClamp(fit.offset / dmin, 0, kMaxCode) : 0;
      tried[f][0] = rs;
      tried[f][1] = rm;
      for (int sc = std::max(rs - 1, 0); sc <= std::min(rs + 1, kMaxCode); ++sc) {
        for (int m = std::max(rm - 1, 0); m <= std::min(rm + 1, kMaxCode); ++m) {
          // Skip pairs the first neighbourhood already scored.
          if (f == 1 && std::abs(sc - tried[0][0]) <= 1 && std::abs(m - tried[0][1]) <= 1) continue;
          const double err = SubBlockError(x + 32 * j, d, dmin, sc, m, nmax, l);
          if (err < best) {
            best = err;
            blk.sc[j] = sc;
            blk.m[j] = m;
            std::copy(l, l + 32, blk.l + 32 * j);
          }
        }
      }
    }
    blk.sse += best;
  }
  return blk;
}

// Stages 1 and 2 for one super-block; kBits = 4 (Q4_K) or 5 (Q5_K). `fast`: one refit of d and
// dmin, no fp16 neighbours.
template <int kBits>
K4Block QuantizeK4Block(const float* raw, bool fast) {
  constexpr int nmax = (1 << kBits) - 1;
  float x[256];
  int e = 0;
  if (!Normalize(raw, 256, x, &e)) {
    K4Block zero;
    zero.sse = 0;
    return zero;
  }
  SubBlockFits fits[8];
  float max_scale = 0, max_offset = 0;
  for (int j = 0; j < 8; ++j) {
    fits[j] = FitAffineSubBlock(x + 32 * j, nmax, fast);
    max_scale = std::max(max_scale, fits[j].weighted.scale);
    max_offset = std::max(max_offset, fits[j].weighted.offset);
  }
  K4Block best = ChooseCodes(x, fits, ScaleBits(max_scale / kMaxCode, e), ScaleBits(max_offset / kMaxCode, e), e, nmax, fast);
  for (int iter = 0; iter < (fast ? 1 : 4); ++iter) {
    // Least squares for (d, dmin) with y_i = d * a_i - dmin * b_i, a_i = sc*l_i, b_i = m.
    double saa = 0, sab = 0, sbb = 0, sax = 0, sbx = 0;
    for (int i = 0; i < 256; ++i) {
      const double a = static_cast<double>(best.sc[i / 32]) * best.l[i], b = best.m[i / 32];
      saa += a * a;
      sab += a * b;
      sbb += b * b;
      sax += a * x[i];
      sbx += b * x[i];
    }
    float d, dmin;
    const double det = saa * sbb - sab * sab;
    if (sbb == 0 && saa > 0) {
      d = static_cast<float>(sax / saa);
      dmin = ScaleValue(best.dmin, e);
    } else if (det > 0) {
      d = static_cast<float>((sax * sbb - sbx * sab) / det);
      dmin = static_cast<float>((sax * sab - sbx * saa) / det);
    } else {
      break;
    }
    if (!(d > 0) || dmin < 0) break;
    const uint16_t d_bits = ScaleBits(d, e), dmin_bits = ScaleBits(dmin, e);
    if (d_bits == best.d && dmin_bits == best.dmin) break;
    const K4Block next = ChooseCodes(x, fits, d_bits, dmin_bits, e, nmax, fast);
    if (!(next.sse < best.sse)) break;
    best = next;
  }
  if (fast) return best;
  // Last, the fp16 neighbours of d and dmin: nearest rounding of the fitted values is not always
  // the direction that suits the integer codes best.
  const K4Block settled = best;
  for (const auto& [dd, dm] : {std::pair{-1, 0}, {1, 0}, {0, -1}, {0, 1}}) {
    const K4Block next = ChooseCodes(x, fits, Fp16Step(settled.d, dd), Fp16Step(settled.dmin, dm), e, nmax, false);
    if (next.sse < best.sse) best = next;
  }
  return best;
}

// Packs the 6-bit codes: sub-blocks 0..3 in the low 6 bits of bytes 0..3 (scales) and 4..7
// (mins); 4..7 as nibbles of bytes 8..11 with their top 2 bits in the top bits of bytes 0..7.
void PackScalesK4(const int* sc, const int* m, uint8_t* q) {
  std::memset(q, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      q[j] |= static_cast<uint8_t>(sc[j]);
      q[j + 4] |= static_cast<uint8_t>(m[j]);
    } else {
      q[j + 4] = static_cast<uint8_t>((sc[j] & 0xF) | ((m[j] & 0xF) << 4));
      q[j - 4] |= static_cast<uint8_t>((sc[j] >> 4) << 6);
      q[j] |= static_cast<uint8_t>((m[j] >> 4) << 6);
    }
  }
}

// ---- Q6_K ------------------------------------------------------------------------------------

// Stage 1 for one sub-block of 16: y = s * l, l in -32..31. Candidate scales map the value of
// largest magnitude to -(32 + 0.1k); each alternates rounding and refitting (weights x^2) until
// the levels settle. Returns the scales with the lowest weighted and the lowest plain error.
void FitSymmetricSubBlock(const float* x, float* weighted_fit, float* plain_fit) {
  constexpr int n = 16;
  float amax = 0, max = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  *weighted_fit = *plain_fit = amax == 0 ? 0.0f : max / -32.0f;
  if (amax == 0) return;
  double best_weighted = std::numeric_limits<double>::infinity(), best_plain = best_weighted;
  int l[n], prev[n];
  for (int c = 0; c <= 20; ++c) {
    // k = 0, 1, -1, 2, -2, ...: on ties the candidate closest to the plain mapping wins, which
    // keeps exactly representable blocks (constants, powers of two) exact.
    const int k = (c + 1) / 2 * (c % 2 == 1 ? 1 : -1);
    float s = max / -(32.0f + 0.1f * static_cast<float>(k));
    for (int pass = 0; pass < kMaxPasses; ++pass) {
      const float is = 1.0f / s;
      for (int i = 0; i < n; ++i) l[i] = RoundClamp(x[i] * is, -32, 31);
      if (pass > 0 && std::equal(l, l + n, prev)) break;
      std::copy(l, l + n, prev);
      double sxl = 0, sll = 0;
      for (int i = 0; i < n; ++i) {
        const double w = static_cast<double>(x[i]) * x[i];
        sxl += w * x[i] * l[i];
        sll += w * l[i] * l[i];
      }
      if (!(sll > 0)) break;
      s = static_cast<float>(sxl / sll);
      if (s == 0) break;
      double weighted = 0, plain = 0;
      for (int i = 0; i < n; ++i) {
        const double diff = static_cast<double>(s * static_cast<float>(l[i])) - x[i];
        weighted += static_cast<double>(x[i]) * x[i] * diff * diff;
        plain += diff * diff;
      }
      if (weighted < best_weighted) {
        best_weighted = weighted;
        *weighted_fit = s;
      }
      if (plain < best_plain) {
        best_plain = plain;
        *plain_fit = s;
      }
    }
  }
}

struct Q6Block {
  uint16_t d = 0;
  int sc[16] = {};
  int l[256] = {};
  double sse = std::numeric_limits<double>::infinity();
};

double Q6SubBlockError(const float* x, float d, int sc, int* l) {
  const float dl = d * static_cast<float>(sc);
  const float idl = dl != 0.0f ? 1.0f / dl : 0.0f;
  double err = 0;
  for (int i = 0; i < 16; ++i) {
    l[i] = dl != 0.0f ? RoundClamp(x[i] * idl, -32, 31) : 0;
    const double diff = static_cast<double>(dl * static_cast<float>(l[i])) - x[i];
    err += diff * diff;
  }
  return err;
}

// For a fixed d, picks each sub-block's int8 code among the 5 around each of its two fits.
Q6Block ChooseQ6Codes(const float* x, const float (*fits)[2], uint16_t d_bits, int e) {
  Q6Block blk;
  blk.d = d_bits;
  blk.sse = 0;
  const float d = ScaleValue(d_bits, e);
  int l[16];
  for (int j = 0; j < 16; ++j) {
    double best = std::numeric_limits<double>::infinity();
    int first = -1000;
    for (int f = 0; f < 2; ++f) {
      const int r = d != 0.0f ? RoundClamp(fits[j][f] / d, -128, 127) : 0;
      if (f == 0) first = r;
      for (int c = std::max(r - 2, -128); c <= std::min(r + 2, 127); ++c) {
        if (f == 1 && std::abs(c - first) <= 2) continue;  // scored already
        const double err = Q6SubBlockError(x + 16 * j, d, c, l);
        if (err < best) {
          best = err;
          blk.sc[j] = c;
          std::copy(l, l + 16, blk.l + 16 * j);
        }
      }
    }
    blk.sse += best;
  }
  return blk;
}

Q6Block QuantizeQ6Block(const float* raw) {
  float x[256];
  int e = 0;
  if (!Normalize(raw, 256, x, &e)) {
    Q6Block zero;
    zero.sse = 0;
    return zero;
  }
  float fits[16][2], amax = 0, max = 0;
  for (int j = 0; j < 16; ++j) {
    FitSymmetricSubBlock(x + 16 * j, &fits[j][0], &fits[j][1]);
    if (std::fabs(fits[j][0]) > amax) {
      amax = std::fabs(fits[j][0]);
      max = fits[j][0];
    }
  }
  if (amax == 0) {
    Q6Block zero;
    zero.sse = 0;
    return zero;
  }
  // The largest fitted scale takes code -128 (the side with the extra value).
  Q6Block best = ChooseQ6Codes(x, fits, ScaleBits(max / -128.0f, e), e);
  for (int iter = 0; iter < 4; ++iter) {
    double saa = 0, sax = 0;
    for (int i = 0; i < 256; ++i) {
      const double a = static_cast<double>(best.sc[i / 16]) * best.l[i];
      saa += a * a;
      sax += a * x[i];
    }
    if (!(saa > 0)) break;
    const uint16_t d_bits = ScaleBits(static_cast<float>(sax / saa), e);
    if (d_bits == best.d) break;
    const Q6Block next = ChooseQ6Codes(x, fits, d_bits, e);
    if (!(next.sse < best.sse)) break;
    best = next;
  }
  const uint16_t settled = best.d;  // and its fp16 neighbours, as for Q4_K
  for (int step : {-2, -1, 1, 2}) {
    const Q6Block next = ChooseQ6Codes(x, fits, Fp16Step(settled, step), e);
    if (next.sse < best.sse) best = next;
  }
  return best;
}

}  // namespace

void QuantizeRowQ4_K(const float* x, BlockQ4_K* y, int64_t n, bool fast) {
  for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK) {
    const K4Block k = QuantizeK4Block<4>(x, fast);
    y[b].d = k.d;
    y[b].dmin = k.dmin;
    PackScalesK4(k.sc, k.m, y[b].scales);
    // Element 64c + 32h + i is nibble h of qs[32c + i].
    for (int c = 0; c < 4; ++c) {
      for (int i = 0; i < 32; ++i) {
        y[b].qs[32 * c + i] = static_cast<uint8_t>(k.l[64 * c + i] | (k.l[64 * c + 32 + i] << 4));
      }
    }
  }
}

void QuantizeRowQ5_K(const float* x, BlockQ5_K* y, int64_t n, bool fast) {
  for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK) {
    const K4Block k = QuantizeK4Block<5>(x, fast);
    y[b].d = k.d;
    y[b].dmin = k.dmin;
    PackScalesK4(k.sc, k.m, y[b].scales);
    // As Q4_K for the low nibbles; the fifth bit of element 32s + i is bit s of qh[i].
    std::memset(y[b].qh, 0, sizeof y[b].qh);
    for (int c = 0; c < 4; ++c) {
      for (int i = 0; i < 32; ++i) {
        const int lo = k.l[64 * c + i], hi = k.l[64 * c + 32 + i];
        y[b].qs[32 * c + i] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
      }
    }
    for (int e = 0; e < kQKK; ++e) y[b].qh[e % 32] |= static_cast<uint8_t>((k.l[e] >> 4) << (e / 32));
  }
}

void QuantizeRowQ6_K(const float* x, BlockQ6_K* y, int64_t n, bool /*fast*/) {
  // Always the full search: a shorter one lost to llama.cpp on the test data, and on load Q6_K only
  // holds the output matrix (--quantize q4_k), a small share of the work.
  for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK) {
    const Q6Block k = QuantizeQ6Block(x);
    y[b].d = k.d;
    for (int j = 0; j < 16; ++j) y[b].scales[j] = static_cast<int8_t>(k.sc[j]);
    // Element 128h + 64k + i (i < 64): low nibble k of ql[64h + i]; its top 2 bits are plane
    // (64k + i) / 32 of qh[32h + i % 32]. Stored as l + 32.
    std::memset(y[b].ql, 0, sizeof y[b].ql);
    std::memset(y[b].qh, 0, sizeof y[b].qh);
    for (int e = 0; e < kQKK; ++e) {
      const int q = k.l[e] + 32;
      const int h = e / 128, r = e % 128;
      y[b].ql[64 * h + r % 64] |= static_cast<uint8_t>((q & 0xF) << (4 * (r / 64)));
      y[b].qh[32 * h + r % 32] |= static_cast<uint8_t>((q >> 4) << (2 * (r / 32)));
    }
  }
}

}  // namespace enclave::kernels::quant_internal
