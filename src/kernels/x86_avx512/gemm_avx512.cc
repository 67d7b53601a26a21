// AVX-512 VNNI panel GEMM (see GemmKernel in kernels/kernels.h).
//
// Panel layout, per quantization block of the 16 rows: q[g][r][0..3] holds elements 4g..4g+3 of
// row r, so one 64-byte vector is "4 elements x 16 rows" and VPDPBUSD against a broadcast dword of
// one activation row adds those 4 products into each row's int32 lane. Lanes are rows throughout:
// per-row block scales are plain vectors, and each activation row's result is one 16-float store.
//
// Q4_K (levels 0..15, unsigned) takes the usual Q8_K activations as the signed operand. Per
// sub-block of 32: 8 VPDPBUSD, then one multiply by the sub-block scales (exact int32); per
// super-block the mins term (mins x bsums, VPDPWSSD) and the f32 scale products, as the reference.
// Q6_K works the same way with 16 sub-blocks of 16 and signed scales.
//
// Q8_0 weights (and Q4_0 / Q5_0, unpacked to int8 while packing) are signed, so the roles swap: activations become the unsigned operand by adding
// 128 (a "biased" Q8_0 row), and sum((a + 128) w) - 128 sum(w) is exact; -128 sum(w) per row and
// block is computed at packing time and starts each block's accumulator.
#include "kernels/x86_avx512/gemm_avx512.h"

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <utility>

#include "base/half.h"
#include "kernels/quant_blocks.h"

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized inside their own _mm512_setzero/undefined
// helpers once they are inlined into arrays of vectors; the values are always written first.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace enclave::kernels::avx512 {
namespace {

constexpr int kRows = kGemmPanelRows;
static_assert(kRows == 16, "a panel is one 512-bit vector of int32 lanes wide");

inline int32_t LoadDword(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline __m512i BroadcastDword(const void* p) { return _mm512_set1_epi32(LoadDword(p)); }

// Packing reads "the same dword of each of the panel's rows" with one gather: lane r loads the 4
// bytes at base + r * row_stride. Lanes of rows past n_rows are not read and come back zero.
struct RowGather {
  __m512i offsets;
  __mmask16 valid;

  RowGather(size_t row_stride, int n_rows)
      : offsets(_mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                   _mm512_set1_epi32(static_cast<int32_t>(row_stride)))),
        valid(static_cast<__mmask16>((1u << n_rows) - 1)) {}

  __m512i operator()(const uint8_t* base) const {
    return _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, offsets, base, 1);
  }
};

// The bulk of packing: 64 bytes of each of the 16 rows (row r at base + r * row_stride; rows past
// n_rows read as zero), transposed so that out[g] lane r is dword g of row r — what 16 RowGather
// calls at base + 4g would return. Contiguous loads and 64 shuffles instead of 16 gathers, which
// are slow on several cores (on the 2-core EPYC VMs here packing was half the time of a 16-token
// decode batch with gathers).
inline void LoadTransposed(const uint8_t* base, size_t row_stride, int n_rows, __m512i out[16]) {
  __m512i r[16], t[16];
  for (int i = 0; i < 16; ++i) {
    r[i] = i < n_rows ? _mm512_loadu_si512(base + static_cast<size_t>(i) * row_stride) : _mm512_setzero_si512();
  }
  // Per 128-bit lane L (dwords 4L..4L+3): interleave row pairs, then row quads.
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {  // r[4i + k] lane L: dword 4L + k of rows 4i..4i+3
    r[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  // Gather lane L of the four row quads into one vector: dword 4L + k of all 16 rows.
  for (int k = 0; k < 4; ++k) {
    const __m512i lo01 = _mm512_shuffle_i32x4(r[k], r[4 + k], 0x44), hi01 = _mm512_shuffle_i32x4(r[k], r[4 + k], 0xEE);
    const __m512i lo23 = _mm512_shuffle_i32x4(r[8 + k], r[12 + k], 0x44);
    const __m512i hi23 = _mm512_shuffle_i32x4(r[8 + k], r[12 + k], 0xEE);
    out[k] = _mm512_shuffle_i32x4(lo01, lo23, 0x88);
    out[4 + k] = _mm512_shuffle_i32x4(lo01, lo23, 0xDD);
    out[8 + k] = _mm512_shuffle_i32x4(hi01, hi23, 0x88);
    out[12 + k] = _mm512_shuffle_i32x4(hi01, hi23, 0xDD);
  }
}

// Lane-wise fp16 -> f32 of the low (kHigh = false) or high 16 bits of each dword.
template <bool kHigh>
inline __m512 HalvesToFloat(__m512i v) {
  if constexpr (kHigh) v = _mm512_srli_epi32(v, 16);
  return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v));
}

// ---- Q4_K -----------------------------------------------------------------------------------

struct alignas(64) PanelQ4K {
  uint8_t q[kQKK / 4][kRows][4];
  int32_t scales[8][kRows];
  int32_t mins[8][kRows];  // (m, m) as two int16: VPDPWSSD with a bsums pair gives m * (b0 + b1)
  float d[kRows];
  float dmin[kRows];
};

size_t PanelBytesQ4K(int64_t k) { return static_cast<size_t>(k / kQKK) * sizeof(PanelQ4K); }
size_t ActBytesQ8K(int64_t k) { return static_cast<size_t>(k / kQKK) * sizeof(BlockQ8_K); }

void PackQ4K(const void* rows, size_t row_stride, int n_rows, int64_t k, void* panel) {
  auto* out = static_cast<PanelQ4K*>(panel);
  const RowGather gather(row_stride, n_rows);
  const __m512i low_mask = _mm512_set1_epi8(0x0F);
  const __m512i six_bits = _mm512_set1_epi32(63);
  const __m512i four_bits = _mm512_set1_epi32(0x0F);
  const __m512i two_bits = _mm512_set1_epi32(3);
  for (int64_t i = 0; i < k / kQKK; ++i) {
    const auto* block = static_cast<const uint8_t*>(rows) + i * sizeof(BlockQ4_K);
    PanelQ4K& p = out[i];
    const __m512i d_dmin = gather(block + offsetof(BlockQ4_K, d));
    _mm512_store_ps(p.d, HalvesToFloat<false>(d_dmin));
    _mm512_store_ps(p.dmin, HalvesToFloat<true>(d_dmin));
    // The 12 scale bytes as three dwords per row; UnpackScaleMinK4 in 16 lanes at once.
    const uint8_t* scales = block + offsetof(BlockQ4_K, scales);
    const __m512i s0 = gather(scales), s1 = gather(scales + 4), s2 = gather(scales + 8);
    for (int j = 0; j < 4; ++j) {
      const __m512i b0 = _mm512_srli_epi32(s0, 8 * j), b1 = _mm512_srli_epi32(s1, 8 * j);
      const __m512i b2 = _mm512_srli_epi32(s2, 8 * j);
      const __m512i sc_lo = _mm512_and_si512(b0, six_bits), m_lo = _mm512_and_si512(b1, six_bits);
      const __m512i sc_hi = _mm512_or_si512(_mm512_and_si512(b2, four_bits),
                                            _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(b0, 6), two_bits), 4));
      const __m512i m_hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(b2, 4), four_bits),
                                           _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(b1, 6), two_bits), 4));
      _mm512_store_si512(p.scales[j], sc_lo);
      _mm512_store_si512(p.scales[j + 4], sc_hi);
      _mm512_store_si512(p.mins[j], _mm512_or_si512(m_lo, _mm512_slli_epi32(m_lo, 16)));
      _mm512_store_si512(p.mins[j + 4], _mm512_or_si512(m_hi, _mm512_slli_epi32(m_hi, 16)));
    }
    // Byte l of chunk c: low nibble = element 64c + l (sub-block 2c), high = 64c + 32 + l.
    const uint8_t* qs = block + offsetof(BlockQ4_K, qs);
    __m512i dwords[32];  // dwords[m] lane r: bytes 4m..4m+3 of row r's qs
    LoadTransposed(qs, row_stride, n_rows, dwords);
    LoadTransposed(qs + 64, row_stride, n_rows, dwords + 16);
    for (int c = 0; c < 4; ++c) {
      for (int g = 0; g < 8; ++g) {
        const __m512i v = dwords[8 * c + g];
        _mm512_store_si512(p.q[16 * c + g], _mm512_and_si512(v, low_mask));
        _mm512_store_si512(p.q[16 * c + 8 + g], _mm512_and_si512(_mm512_srli_epi16(v, 4), low_mask));
      }
    }
  }
}

template <int T>
inline void TileQ4K(const PanelQ4K* panel, int64_t nb, const uint8_t* act, size_t act_stride, float* y,
                    int64_t ldy, __mmask16 store_mask) {
  const BlockQ8_K* a[T];
  for (int t = 0; t < T; ++t) a[t] = reinterpret_cast<const BlockQ8_K*>(act + t * act_stride);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const PanelQ4K& p = panel[i];
    __m512i isum[T];
    for (int t = 0; t < T; ++t) isum[t] = _mm512_setzero_si512();
    for (int s = 0; s < 8; ++s) {
      __m512i isub[T];
      for (int t = 0; t < T; ++t) isub[t] = _mm512_setzero_si512();
      for (int g = 0; g < 8; ++g) {
        const __m512i w = _mm512_load_si512(p.q[8 * s + g]);
        for (int t = 0; t < T; ++t) isub[t] = _mm512_dpbusd_epi32(isub[t], w, BroadcastDword(a[t][i].qs + 32 * s + 4 * g));
      }
      const __m512i sc = _mm512_load_si512(p.scales[s]);
      for (int t = 0; t < T; ++t) isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(isub[t], sc));
    }
    const __m512 d = _mm512_load_ps(p.d), dmin = _mm512_load_ps(p.dmin);
    for (int t = 0; t < T; ++t) {
      __m512i imin = _mm512_setzero_si512();
      for (int s = 0; s < 8; ++s) {
        imin = _mm512_dpwssd_epi32(imin, _mm512_load_si512(p.mins[s]), BroadcastDword(&a[t][i].bsums[2 * s]));
      }
      // d_a * (d * sum_q - dmin * sum_m), the reference's per-super-block formula.
      const __m512 v = _mm512_fmsub_ps(d, _mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(imin)));
      acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(a[t][i].d), v, acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ldy, store_mask, acc[t]);
}

// ---- Q6_K -----------------------------------------------------------------------------------
//
// Levels 0..63 (unsigned) against Q8_K activations; value = d * scale[s] * (level - 32) with 16
// sub-blocks of 16. Per sub-block 4 VPDPBUSD and one multiply by the int8 scales; the -32 offset
// is 32 * sum_s scale[s] * bsums[s] per super-block (VPDPWSSD on scale pairs), all exact int32.

struct alignas(64) PanelQ6K {
  uint8_t q[kQKK / 4][kRows][4];
  int32_t scales[16][kRows];
  int32_t scale_pairs[8][kRows];  // (scale[2p], scale[2p+1]) as two int16
  float d[kRows];
};

size_t PanelBytesQ6K(int64_t k) { return static_cast<size_t>(k / kQKK) * sizeof(PanelQ6K); }

void PackQ6K(const void* rows, size_t row_stride, int n_rows, int64_t k, void* panel) {
  auto* out = static_cast<PanelQ6K*>(panel);
  const RowGather gather(row_stride, n_rows);
  const __m512i low_mask = _mm512_set1_epi8(0x0F);
  const __m512i two_bits = _mm512_set1_epi8(0x03);
  for (int64_t i = 0; i < k / kQKK; ++i) {
    const auto* block = static_cast<const uint8_t*>(rows) + i * sizeof(BlockQ6_K);
    PanelQ6K& p = out[i];
    _mm512_store_ps(p.d, HalvesToFloat<false>(gather(block + offsetof(BlockQ6_K, d))));
    const uint8_t* scales = block + offsetof(BlockQ6_K, scales);
    for (int w = 0; w < 4; ++w) {
      const __m512i v = gather(scales + 4 * w);
      __m512i sc[4];
      for (int b = 0; b < 4; ++b) sc[b] = _mm512_srai_epi32(_mm512_slli_epi32(v, 24 - 8 * b), 24);  // sign-extend byte b
      for (int b = 0; b < 4; ++b) _mm512_store_si512(p.scales[4 * w + b], sc[b]);
      for (int b = 0; b < 4; b += 2) {
        const __m512i pair = _mm512_or_si512(_mm512_and_si512(sc[b], _mm512_set1_epi32(0xFFFF)), _mm512_slli_epi32(sc[b + 1], 16));
        _mm512_store_si512(p.scale_pairs[2 * w + b / 2], pair);
      }
    }
    // Element 128h + r: low 4 bits from ql[64h + r % 64] (high nibble when r >= 64), top 2 bits
    // from qh[32h + r % 32] at bit 2 * (r / 32).
    __m512i ql_dwords[32], qh_dwords[16];  // lane r: dword m of row r's ql / qh
    LoadTransposed(block + offsetof(BlockQ6_K, ql), row_stride, n_rows, ql_dwords);
    LoadTransposed(block + offsetof(BlockQ6_K, ql) + 64, row_stride, n_rows, ql_dwords + 16);
    LoadTransposed(block + offsetof(BlockQ6_K, qh), row_stride, n_rows, qh_dwords);
    for (int h = 0; h < 2; ++h) {
      for (int j = 0; j < 8; ++j) {
        const __m512i hi = qh_dwords[8 * h + j];
        for (int half = 0; half < 2; ++half) {  // r in [32 * half, 32 * half + 32) and r + 64
          const __m512i lo = ql_dwords[16 * h + 8 * half + j];
          const int quarter_lo = half, quarter_hi = half + 2;
          const __m512i hi_lo = _mm512_and_si512(_mm512_srli_epi16(hi, 2 * quarter_lo), two_bits);
          const __m512i hi_hi = _mm512_and_si512(_mm512_srli_epi16(hi, 2 * quarter_hi), two_bits);
          const __m512i level_lo = _mm512_or_si512(_mm512_and_si512(lo, low_mask), _mm512_slli_epi16(hi_lo, 4));
          const __m512i level_hi =
              _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(lo, 4), low_mask), _mm512_slli_epi16(hi_hi, 4));
          _mm512_store_si512(p.q[32 * h + 8 * quarter_lo + j], level_lo);
          _mm512_store_si512(p.q[32 * h + 8 * quarter_hi + j], level_hi);
        }
      }
    }
  }
}

template <int T>
inline void TileQ6K(const PanelQ6K* panel, int64_t nb, const uint8_t* act, size_t act_stride, float* y,
                    int64_t ldy, __mmask16 store_mask) {
  const BlockQ8_K* a[T];
  for (int t = 0; t < T; ++t) a[t] = reinterpret_cast<const BlockQ8_K*>(act + t * act_stride);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const PanelQ6K& p = panel[i];
    __m512i isum[T];
    for (int t = 0; t < T; ++t) isum[t] = _mm512_setzero_si512();
    for (int s = 0; s < 16; ++s) {
      __m512i isub[T];
      for (int t = 0; t < T; ++t) isub[t] = _mm512_setzero_si512();
      for (int g = 0; g < 4; ++g) {
        const __m512i w = _mm512_load_si512(p.q[4 * s + g]);
        for (int t = 0; t < T; ++t) isub[t] = _mm512_dpbusd_epi32(isub[t], w, BroadcastDword(a[t][i].qs + 16 * s + 4 * g));
      }
      const __m512i sc = _mm512_load_si512(p.scales[s]);
      for (int t = 0; t < T; ++t) isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(isub[t], sc));
    }
    const __m512 d = _mm512_load_ps(p.d);
    for (int t = 0; t < T; ++t) {
      __m512i offset = _mm512_setzero_si512();
      for (int q = 0; q < 8; ++q) {
        offset = _mm512_dpwssd_epi32(offset, _mm512_load_si512(p.scale_pairs[q]), BroadcastDword(&a[t][i].bsums[2 * q]));
      }
      const __m512i sumi = _mm512_sub_epi32(isum[t], _mm512_slli_epi32(offset, 5));
      acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(d, _mm512_set1_ps(a[t][i].d)), _mm512_cvtepi32_ps(sumi), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ldy, store_mask, acc[t]);
}

// ---- Q8_0 -----------------------------------------------------------------------------------

struct alignas(64) PanelQ8_0 {
  int8_t q[kQK / 4][kRows][4];
  int32_t bias[kRows];  // -128 * sum(q) of the row's block
  float d[kRows];
};

// The activation row: Q8_0 levels + 128 as unsigned bytes, and the block scale (rounded through
// fp16 exactly as the Q8_0 activation quantizer stores it) as f32.
struct BiasedQ8Block {
  float d;
  uint8_t qs[kQK];
};

size_t PanelBytesQ8_0(int64_t k) { return static_cast<size_t>(k / kQK) * sizeof(PanelQ8_0); }
size_t ActBytesBiasedQ8(int64_t k) { return static_cast<size_t>(k / kQK) * sizeof(BiasedQ8Block); }

void QuantizeActBiasedQ8(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BiasedQ8Block*>(dst);
  const __m512 sign_off = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FFFFFFF));
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
    const __m512 x0 = _mm512_loadu_ps(src), x1 = _mm512_loadu_ps(src + 16);
    const __m512 amax = _mm512_max_ps(_mm512_and_ps(x0, sign_off), _mm512_and_ps(x1, sign_off));
    // As the Q8_0 activation quantizer: levels from the unrounded scale, the scale stored as fp16.
    const float d_exact = _mm512_reduce_max_ps(amax) / 127.0f;
    const float d = Fp16ToF32(F32ToFp16(d_exact));
    const __m512 id = _mm512_set1_ps(d_exact != 0.0f ? 1.0f / d_exact : 0.0f);
    const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, id));
    const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, id));
    const __m512i off = _mm512_set1_epi32(128);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y[i].qs), _mm512_cvtepi32_epi8(_mm512_add_epi32(q0, off)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y[i].qs + 16), _mm512_cvtepi32_epi8(_mm512_add_epi32(q1, off)));
    y[i].d = d;
  }
}

void PackQ8_0(const void* rows, size_t row_stride, int n_rows, int64_t k, void* panel) {
  auto* out = static_cast<PanelQ8_0*>(panel);
  const RowGather gather(row_stride, n_rows);
  const __m512i ones = _mm512_set1_epi8(1);
  for (int64_t i = 0; i < k / kQK; ++i) {
    const auto* block = static_cast<const uint8_t*>(rows) + i * sizeof(BlockQ8_0);
    PanelQ8_0& p = out[i];
    __m512i sum = _mm512_setzero_si512();
    for (int g = 0; g < kQK / 4; ++g) {
      const __m512i v = gather(block + offsetof(BlockQ8_0, qs) + 4 * g);
      _mm512_store_si512(p.q[g], v);
      sum = _mm512_dpbusd_epi32(sum, ones, v);
    }
    _mm512_store_si512(p.bias, _mm512_mullo_epi32(sum, _mm512_set1_epi32(-128)));
    // d is the first 2 bytes of the block; the gathered dword's high half is qs[0..1].
    _mm512_store_ps(p.d, HalvesToFloat<false>(gather(block + offsetof(BlockQ8_0, d))));
  }
}

// ---- Q4_0 / Q5_0 ---------------------------------------------------------------------------
//
// Signed levels like Q8_0 (-8..7, -16..15) with one fp16 scale per block of 32: they are unpacked
// to int8 at packing time into a Q8_0 panel, so they multiply with Q8_0's kernel. (llama-quantize
// writes Q5_0 wherever a Q4_K tensor's rows are not a multiple of 256, such as DeepSeek-V2-Lite's
// 1408-wide ffn_down_exps.) Each row's block is unpacked into a 32-byte row of a staging tile,
// then the tile is transposed with the same dword gathers as Q8_0.

// Element j < 16 is the low nibble of qs[j], element j + 16 its high nibble.
inline __m256i UnpackNibbles32(const uint8_t* qs) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i mask = _mm_set1_epi8(0x0F);
  const __m128i lo = _mm_and_si128(packed, mask), hi = _mm_and_si128(_mm_srli_epi16(packed, 4), mask);
  return _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
}

struct Q4_0Unpack {
  using Block = BlockQ4_0;
  static __m256i Levels(const Block& b) { return _mm256_sub_epi8(UnpackNibbles32(b.qs), _mm256_set1_epi8(8)); }
};

// Level = nibble + 16 * (bit j of qh) - 16: subtract 16 where the fifth bit is clear.
struct Q5_0Unpack {
  using Block = BlockQ5_0;
  static __m256i Levels(const Block& b) {
    const __mmask32 high = static_cast<__mmask32>(LoadDword(b.qh));
    const __m256i nib = UnpackNibbles32(b.qs);
    return _mm256_mask_sub_epi8(nib, static_cast<__mmask32>(~high), nib, _mm256_set1_epi8(16));
  }
};

template <typename Unpack>
void PackLegacyAsQ8_0(const void* rows, size_t row_stride, int n_rows, int64_t k, void* panel) {
  using Block = typename Unpack::Block;
  static_assert(offsetof(Block, d) == 0, "the scale is the block's first field");
  auto* out = static_cast<PanelQ8_0*>(panel);
  const RowGather gather(row_stride, n_rows);
  const RowGather staged(kQK, n_rows);
  const __m512i ones = _mm512_set1_epi8(1);
  alignas(64) int8_t stage[kRows][kQK];
  for (int64_t i = 0; i < k / kQK; ++i) {
    const auto* first = static_cast<const uint8_t*>(rows) + i * sizeof(Block);
    for (int r = 0; r < n_rows; ++r) {
      Block b;
      std::memcpy(&b, first + r * row_stride, sizeof b);
      _mm256_store_si256(reinterpret_cast<__m256i*>(stage[r]), Unpack::Levels(b));
    }
    PanelQ8_0& p = out[i];
    __m512i sum = _mm512_setzero_si512();
    for (int g = 0; g < kQK / 4; ++g) {
      const __m512i v = staged(reinterpret_cast<const uint8_t*>(&stage[0][4 * g]));
      _mm512_store_si512(p.q[g], v);
      sum = _mm512_dpbusd_epi32(sum, ones, v);
    }
    _mm512_store_si512(p.bias, _mm512_mullo_epi32(sum, _mm512_set1_epi32(-128)));
    _mm512_store_ps(p.d, HalvesToFloat<false>(gather(first)));
  }
}

template <int T>
inline void TileQ8_0(const PanelQ8_0* panel, int64_t nb, const uint8_t* act, size_t act_stride, float* y,
                     int64_t ldy, __mmask16 store_mask) {
  const BiasedQ8Block* a[T];
  for (int t = 0; t < T; ++t) a[t] = reinterpret_cast<const BiasedQ8Block*>(act + t * act_stride);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const PanelQ8_0& p = panel[i];
    const __m512i bias = _mm512_load_si512(p.bias);
    __m512i isum[T];
    for (int t = 0; t < T; ++t) isum[t] = bias;
    for (int g = 0; g < kQK / 4; ++g) {
      const __m512i w = _mm512_load_si512(p.q[g]);
      for (int t = 0; t < T; ++t) isum[t] = _mm512_dpbusd_epi32(isum[t], BroadcastDword(a[t][i].qs + 4 * g), w);
    }
    const __m512 d = _mm512_load_ps(p.d);
    for (int t = 0; t < T; ++t) {
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(d, _mm512_set1_ps(a[t][i].d)), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ldy, store_mask, acc[t]);
}

// ---- driver ---------------------------------------------------------------------------------

// Runs Tile<T> over the n activation rows in tiles of kTile, then the remainder with a smaller
// instantiation (the tile size is a template argument so that accumulators stay in registers).
template <typename Panel, int kTile, template <int> class Tile>
void MultiplyTiles(const void* panel, int64_t nb, const void* act, size_t act_stride, int64_t n, float* y,
                   int64_t ldy, int n_rows) {
  const auto* p = static_cast<const Panel*>(panel);
  const auto* a = static_cast<const uint8_t*>(act);
  const __mmask16 mask = static_cast<__mmask16>((1u << n_rows) - 1);
  int64_t j = 0;
  for (; j + kTile <= n; j += kTile) Tile<kTile>::Run(p, nb, a + j * act_stride, act_stride, y + j * ldy, ldy, mask);
  const int rest = static_cast<int>(n - j);
  if (rest == 0) return;
  const uint8_t* ar = a + j * act_stride;
  float* yr = y + j * ldy;
  [&]<int... R>(std::integer_sequence<int, R...>) {
    ((rest == R + 1 ? Tile<R + 1>::Run(p, nb, ar, act_stride, yr, ldy, mask) : void()), ...);
  }(std::make_integer_sequence<int, kTile - 1>{});
}

// Register budget: Q4_K and Q6_K keep 3 vectors per activation row live (sub-block, super-block
// and f32 sums), Q8_0 two.
constexpr int kTileQ4K = 8;
constexpr int kTileQ8_0 = 12;

template <int T>
struct Q4KTile {
  static void Run(const PanelQ4K* p, int64_t nb, const uint8_t* a, size_t s, float* y, int64_t ldy, __mmask16 m) {
    TileQ4K<T>(p, nb, a, s, y, ldy, m);
  }
};
template <int T>
struct Q6KTile {
  static void Run(const PanelQ6K* p, int64_t nb, const uint8_t* a, size_t s, float* y, int64_t ldy, __mmask16 m) {
    TileQ6K<T>(p, nb, a, s, y, ldy, m);
  }
};
template <int T>
struct Q8_0Tile {
  static void Run(const PanelQ8_0* p, int64_t nb, const uint8_t* a, size_t s, float* y, int64_t ldy, __mmask16 m) {
    TileQ8_0<T>(p, nb, a, s, y, ldy, m);
  }
};

void MultiplyQ4K(const void* panel, int64_t k, const void* act, size_t act_stride, int64_t n, float* y, int64_t ldy,
                 int n_rows) {
  MultiplyTiles<PanelQ4K, kTileQ4K, Q4KTile>(panel, k / kQKK, act, act_stride, n, y, ldy, n_rows);
}

void MultiplyQ6K(const void* panel, int64_t k, const void* act, size_t act_stride, int64_t n, float* y, int64_t ldy,
                 int n_rows) {
  MultiplyTiles<PanelQ6K, kTileQ4K, Q6KTile>(panel, k / kQKK, act, act_stride, n, y, ldy, n_rows);
}

void MultiplyQ8_0(const void* panel, int64_t k, const void* act, size_t act_stride, int64_t n, float* y,
                  int64_t ldy, int n_rows) {
  MultiplyTiles<PanelQ8_0, kTileQ8_0, Q8_0Tile>(panel, k / kQK, act, act_stride, n, y, ldy, n_rows);
}

}  // namespace

void FillGemmTable(KernelTable* table) {
  GemmKernel& q4k = table->gemm[static_cast<uint32_t>(DType::kQ4_K)];
  q4k.quantize_act = table->quantize_act(DType::kQ8_K);
  q4k.act_row_bytes = ActBytesQ8K;
  q4k.panel_bytes = PanelBytesQ4K;
  q4k.pack_panel = PackQ4K;
  q4k.multiply = MultiplyQ4K;

  GemmKernel& q6k = table->gemm[static_cast<uint32_t>(DType::kQ6_K)];
  q6k = q4k;
  q6k.panel_bytes = PanelBytesQ6K;
  q6k.pack_panel = PackQ6K;
  q6k.multiply = MultiplyQ6K;

  GemmKernel& q8 = table->gemm[static_cast<uint32_t>(DType::kQ8_0)];
  q8.quantize_act = QuantizeActBiasedQ8;
  q8.act_row_bytes = ActBytesBiasedQ8;
  q8.panel_bytes = PanelBytesQ8_0;
  q8.pack_panel = PackQ8_0;
  q8.multiply = MultiplyQ8_0;

  GemmKernel& q4_0 = table->gemm[static_cast<uint32_t>(DType::kQ4_0)];
  q4_0 = q8;
  q4_0.pack_panel = PackLegacyAsQ8_0<Q4_0Unpack>;
  GemmKernel& q5_0 = table->gemm[static_cast<uint32_t>(DType::kQ5_0)];
  q5_0 = q8;
  q5_0.pack_panel = PackLegacyAsQ8_0<Q5_0Unpack>;
}

}  // namespace enclave::kernels::avx512

#pragma GCC diagnostic pop
