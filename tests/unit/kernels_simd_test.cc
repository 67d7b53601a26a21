// Every optimized kernel against the scalar reference (kernels/ref), for every ISA variant this
// CPU supports, every weight type and several lengths, on seeded random data.
//
// Tolerance, derived rather than guessed: inside a block both sides compute the same integers
// exactly, so they differ only in f32 rounding of the per-block scale products and of the sum
// over blocks (or over elements, for the float types). Each such sum of T terms computed in any
// order is within gamma_T = T*eps/(1-T*eps) of exact, relative to the sum of the terms' magnitudes
// M; the reference is itself within that bound, hence |simd - ref| <= 2 * gamma_{T+4} * M.
// M is computed from the data: sum_i (|d*q_i| + |m_i|) * |a_i|, where the two parts are obtained by
// dequantizing the block with its min (resp. scale) field zeroed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "base/half.h"
#include "kernels/kernels.h"
#include "kernels/quant_blocks.h"
#include "kernels/quantize.h"

namespace enclave::kernels {
namespace {

constexpr DType kWeightTypes[] = {DType::kF32, DType::kF16, DType::kBF16, DType::kQ4_0, DType::kQ4_1,
                                  DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ2_K, DType::kQ3_K,
                                  DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

struct ScaleFields {
  int d = -1, m = -1;  // byte offsets of the fp16 scale and min fields in a block (-1: none)
};

ScaleFields FieldsOf(DType t) {
  switch (t) {
    case DType::kQ4_0: case DType::kQ5_0: case DType::kQ8_0: return {0, -1};
    case DType::kQ4_1: case DType::kQ5_1: case DType::kQ4_K: case DType::kQ5_K: return {0, 2};
    case DType::kQ2_K: return {80, 82};
    case DType::kQ3_K: return {108, -1};
    case DType::kQ6_K: return {208, -1};
    default: return {};
  }
}

std::vector<Isa> SimdIsas() { return {Isa::kAvx2, Isa::kAvx512}; }

std::vector<uint8_t> RandomWeights(std::mt19937_64& rng, DType t, int64_t n, bool raw_bytes) {
  std::vector<uint8_t> w(*RowBytes(t, n));
  std::normal_distribution<float> dist(0.0f, 0.05f);
  if (!raw_bytes && CanQuantizeWeights(t)) {
    std::vector<float> x(n);
    for (auto& v : x) v = dist(rng);
    QuantizeWeightsRow(t, x.data(), w.data(), n);
    return w;
  }
  for (auto& b : w) b = static_cast<uint8_t>(rng());
  const ScaleFields f = FieldsOf(t);
  const int64_t bb = Traits(t).block_bytes;
  if (t == DType::kF32) {
    for (int64_t i = 0; i < n; ++i) { float v = dist(rng); std::memcpy(&w[4 * i], &v, 4); }
  } else if (t == DType::kF16 || t == DType::kBF16) {
    for (int64_t i = 0; i < n; ++i) {
      const uint16_t h = t == DType::kF16 ? F32ToFp16(dist(rng)) : F32ToBf16(dist(rng));
      std::memcpy(&w[2 * i], &h, 2);
    }
  } else {
    for (size_t off = 0; off < w.size(); off += bb) {
      for (int field : {f.d, f.m}) {
        if (field < 0) continue;
        const uint16_t h = F32ToFp16(dist(rng) * 0.1f);
        std::memcpy(&w[off + field], &h, 2);
      }
    }
  }
  return w;
}

double MagnitudeBound(DType wt, const std::vector<uint8_t>& w, const std::vector<float>& a_deq, int64_t n) {
  const auto deq = RefKernels().dequantize(wt);
  std::vector<float> part1(n), part2(n, 0.0f);
  const ScaleFields f = FieldsOf(wt);
  if (f.m < 0) {
    deq(w.data(), part1.data(), n);
  } else {
    std::vector<uint8_t> no_min = w, no_scale = w;
    for (size_t off = 0; off < w.size(); off += Traits(wt).block_bytes) {
      std::memset(&no_min[off + f.m], 0, 2);
      std::memset(&no_scale[off + f.d], 0, 2);
    }
    deq(no_min.data(), part1.data(), n);
    deq(no_scale.data(), part2.data(), n);
  }
  double m = 0;
  for (int64_t i = 0; i < n; ++i) m += (std::fabs(part1[i]) + std::fabs(part2[i])) * std::fabs(a_deq[i]);
  return m;
}

TEST(SimdKernelsTest, DotProductsMatchReferenceWithinDerivedBound) {
  std::mt19937_64 rng(42);
  constexpr double kEps = std::numeric_limits<float>::epsilon() / 2;  // unit roundoff
  for (Isa isa : SimdIsas()) {
    if (!IsaSupported(isa)) {
      std::printf("skipping %s: not supported by this CPU\n", IsaName(isa));
      continue;
    }
    const KernelTable& simd = KernelsFor(isa);
    for (DType wt : kWeightTypes) {
      const DType at = VecDotType(wt);
      const int64_t be = Traits(wt).block_elems == 1 ? 32 : Traits(wt).block_elems;
      for (int64_t n : std::initializer_list<int64_t>{be, 3 * be, 4096 + (be == 32 ? 32 : 0), 7 * 256 + (be == 1 ? 8 : 0)}) {
        if (n % Traits(wt).block_elems != 0) continue;
        for (int rep = 0; rep < 8; ++rep) {
          const auto w = RandomWeights(rng, wt, n, rep % 2 == 1);
          std::normal_distribution<float> dist(0.0f, 1.0f);
          std::vector<float> x(n);
          for (auto& v : x) v = dist(rng);
          std::vector<uint8_t> aq(*RowBytes(at, n));
          RefKernels().quantize_act(at)(x.data(), aq.data(), n);
          std::vector<float> a_deq(n);
          RefKernels().dequantize(at)(aq.data(), a_deq.data(), n);
          const float ref = RefKernels().dot(wt)(n, w.data(), aq.data());
          const float got = simd.dot(wt)(n, w.data(), aq.data());
          const int64_t terms = Traits(wt).block_elems == 1 ? n : 2 * n / Traits(wt).block_elems;
          const double gamma = (terms + 4) * kEps / (1 - (terms + 4) * kEps);
          const double tol = 2 * gamma * MagnitudeBound(wt, w, a_deq, n);
          ASSERT_LE(std::fabs(static_cast<double>(got) - ref), tol)
              << IsaName(isa) << " " << DTypeName(wt) << " n=" << n << " rep=" << rep << " ref=" << ref
              << " simd=" << got;
        }
      }
    }
  }
}

TEST(SimdKernelsTest, ActivationQuantizersAreBitIdenticalToReference) {
  std::mt19937_64 rng(7);
  for (Isa isa : SimdIsas()) {
    if (!IsaSupported(isa)) continue;
    for (DType at : {DType::kQ8_0, DType::kQ8_1, DType::kQ8_K, DType::kBF16, DType::kF32}) {
      for (int rep = 0; rep < 20; ++rep) {
        const int64_t n = 1024;
        std::normal_distribution<float> dist(0.0f, rep % 3 == 0 ? 1e-3f : 3.0f);
        std::vector<float> x(n);
        for (auto& v : x) v = dist(rng);
        if (rep == 5) std::fill(x.begin(), x.begin() + 256, 0.0f);  // all-zero blocks
        if (rep == 6) x[17] = 1e30f;
        std::vector<uint8_t> a(*RowBytes(at, n)), b(*RowBytes(at, n));
        RefKernels().quantize_act(at)(x.data(), a.data(), n);
        KernelsFor(isa).quantize_act(at)(x.data(), b.data(), n);
        ASSERT_EQ(a, b) << IsaName(isa) << " " << DTypeName(at) << " rep " << rep;
      }
    }
  }
}

// The 4-row kernels promise bit-identical results to the single-row kernel of the same ISA (same
// float operations in the same order per row), so this comparison is exact.
TEST(SimdKernelsTest, FourRowDotsAreBitIdenticalToSingleRowDots) {
  std::mt19937_64 rng(11);
  int checked = 0;
  for (Isa isa : SimdIsas()) {
    if (!IsaSupported(isa)) {
      std::printf("skipping %s: not supported by this CPU\n", IsaName(isa));
      continue;
    }
    const KernelTable& simd = KernelsFor(isa);
    for (DType wt : kWeightTypes) {
      if (simd.dot_x4(wt) == nullptr) continue;
      const DType at = VecDotType(wt);
      const int64_t be = Traits(wt).block_elems;
      for (int64_t n : std::initializer_list<int64_t>{be, 3 * be, 4096 + be, 5 * 256 + (be == 32 ? 32 : 0)}) {
        for (int rep = 0; rep < 4; ++rep) {
          const auto w = RandomWeights(rng, wt, n, rep % 2 == 1);
          // Activation rows with a gap after each, so a stride other than the row size is used.
          const size_t row_bytes = *RowBytes(at, n);
          const size_t stride = row_bytes + 64;
          std::vector<uint8_t> act(4 * stride, 0xCD);
          std::normal_distribution<float> dist(0.0f, rep < 2 ? 1.0f : 1e-2f);
          std::vector<float> x(n);
          for (int r = 0; r < 4; ++r) {
            for (auto& v : x) v = dist(rng);
            simd.quantize_act(at)(x.data(), act.data() + r * stride, n);
          }
          float out[4];
          simd.dot_x4(wt)(n, w.data(), act.data(), stride, out);
          for (int r = 0; r < 4; ++r) {
            const float single = simd.dot(wt)(n, w.data(), act.data() + r * stride);
            ASSERT_EQ(std::memcmp(&out[r], &single, sizeof(float)), 0)
                << IsaName(isa) << " " << DTypeName(wt) << " n=" << n << " rep=" << rep << " row " << r
                << ": x4=" << out[r] << " single=" << single;
          }
          ++checked;
        }
      }
    }
  }
  std::printf("checked %d four-row cases\n", checked);
}

TEST(SimdKernelsTest, EveryTableHasEveryKernel) {
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (!IsaSupported(isa)) continue;
    const KernelTable& t = KernelsFor(isa);
    EXPECT_EQ(t.isa, isa);
    for (DType wt : kWeightTypes) {
      EXPECT_NE(t.dot(wt), nullptr) << IsaName(isa) << " " << DTypeName(wt);
      EXPECT_NE(t.dequantize(wt), nullptr) << IsaName(isa) << " " << DTypeName(wt);
      EXPECT_NE(t.quantize_act(VecDotType(wt)), nullptr) << IsaName(isa) << " " << DTypeName(wt);
    }
    if (isa != Isa::kScalar) {
      for (DType wt : {DType::kQ8_0, DType::kQ4_K, DType::kQ6_K}) {
        EXPECT_NE(t.dot_x4(wt), nullptr) << IsaName(isa) << " " << DTypeName(wt) << " has no 4-row kernel";
      }
    }
    if (isa == Isa::kAvx512) {
      for (DType wt : {DType::kQ8_0, DType::kQ4_K, DType::kQ6_K}) {
        EXPECT_NE(t.gemm_kernel(wt).multiply, nullptr) << DTypeName(wt) << " has no panel GEMM";
      }
    }
    EXPECT_NE(t.attention, nullptr) << IsaName(isa);
    EXPECT_NE(t.silu_mul, nullptr) << IsaName(isa);
  }
  std::printf("best kernels on this CPU: %s\n", IsaName(BestKernels().isa));
}

}  // namespace
}  // namespace enclave::kernels

namespace enclave::kernels {
namespace {

// SwiGLU's silu(g) * u against the reference's std::exp, over the range activations take and
// beyond (the vector exp clamps at +-87; silu is then x or 0 to f32 precision anyway).
TEST(SimdKernelsTest, SiluMulMatchesReference) {
  std::vector<float> g, u;
  for (float x = -120.0f; x <= 120.0f; x += 0.01953125f) {
    g.push_back(x);
    u.push_back(1.0f + 0.001f * x);
  }
  std::vector<float> expect = g;
  RefKernels().silu_mul(expect.data(), u.data(), static_cast<int64_t>(g.size()));
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (!IsaSupported(isa)) continue;
    std::vector<float> got = g;
    KernelsFor(isa).silu_mul(got.data(), u.data(), static_cast<int64_t>(g.size()));
    for (size_t i = 0; i < g.size(); ++i) {
      ASSERT_NEAR(got[i], expect[i], 1e-6f * std::fabs(expect[i]) + 1e-30f)
          << IsaName(isa) << " at g = " << g[i];
    }
  }
}

// Every F16 bit pattern converts exactly as the reference does (NaNs stay NaN; F16C may quiet them).
TEST(SimdKernelsTest, F16DequantizeMatchesReferenceOnEveryValue) {
  std::vector<uint16_t> all(65536 + 5);  // + a tail shorter than one vector
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i * 40503u);
  std::vector<float> want(all.size()), got(all.size());
  RefKernels().dequantize(DType::kF16)(all.data(), want.data(), static_cast<int64_t>(all.size()));
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (!IsaSupported(isa)) continue;
    KernelsFor(isa).dequantize(DType::kF16)(all.data(), got.data(), static_cast<int64_t>(all.size()));
    for (size_t i = 0; i < all.size(); ++i) {
      if (std::isnan(want[i])) {
        ASSERT_TRUE(std::isnan(got[i])) << IsaName(isa) << " bits " << all[i];
      } else {
        ASSERT_EQ(std::memcmp(&want[i], &got[i], 4), 0) << IsaName(isa) << " bits " << all[i];
      }
    }
  }
}

}  // namespace
}  // namespace enclave::kernels
