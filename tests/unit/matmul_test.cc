// MatVec / MatMul against a naive loop over the dot product, for every ISA, several thread counts
// and shapes that do not divide evenly among threads; activation counts that exercise the 4-row
// kernels (4, 22 = 16 + 4 + 2) and their single-row remainders.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/matmul.h"
#include "kernels/quantize.h"

namespace enclave::kernels {
namespace {

TEST(MatmulTest, MatchesNaiveReferenceLoop) {
  std::mt19937_64 rng(3);
  std::normal_distribution<float> dist(0.0f, 0.5f);
  for (DType type : {DType::kQ4_K, DType::kQ6_K, DType::kQ8_0, DType::kF16, DType::kQ5_1}) {
    for (int64_t rows : {1, 37, 130}) {
      const int64_t cols = 512;
      const size_t row_bytes = *RowBytes(type, cols);
      std::vector<float> wf(rows * cols);
      for (auto& v : wf) v = dist(rng);
      std::vector<uint8_t> wq(rows * row_bytes);
      ASSERT_TRUE(QuantizeWeights(type, wf, cols, wq).ok());
      const WeightMatrix w{type, wq.data(), rows, cols, row_bytes};
      ASSERT_TRUE(ValidateWeightMatrix(w).ok());
      for (int64_t n : {1, 4, 5, 22, 33}) {
        std::vector<float> x(n * cols);
        for (auto& v : x) v = dist(rng);
        // Expected: the same ISA's activation quantizer and dot product applied row by row in a
        // plain loop. MatMul only splits and tiles that work, so results must be identical.
        const DType at = VecDotType(type);
        const size_t ab = *RowBytes(at, cols);
        for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
          if (!IsaSupported(isa)) continue;
          const KernelTable& k = KernelsFor(isa);
          std::vector<uint8_t> aq(n * ab);
          std::vector<float> expect(n * rows);
          for (int64_t j = 0; j < n; ++j) {
            k.quantize_act(at)(x.data() + j * cols, aq.data() + j * ab, cols);
            for (int64_t r = 0; r < rows; ++r) {
              expect[j * rows + r] = k.dot(type)(cols, wq.data() + r * row_bytes, aq.data() + j * ab);
            }
          }
          for (int threads : {1, 2, 3}) {
            ThreadPool pool(threads);
            MatmulWorkspace ws;
            std::vector<float> y(n * rows, NAN);
            MatMul(k, pool, w, x.data(), n, y.data(), ws);
            if (k.gemm_kernel(type).multiply != nullptr && n >= 8) {
              // Panel GEMM: the same exact block sums, f32 block sums in another order.
              for (size_t i = 0; i < y.size(); ++i) {
                ASSERT_NEAR(y[i], expect[i], 1e-5f * (1.0f + std::fabs(expect[i])))
                    << DTypeName(type) << " " << IsaName(isa) << " threads=" << threads << " rows=" << rows
                    << " n=" << n << " i=" << i;
              }
            } else {
              ASSERT_EQ(y, expect) << DTypeName(type) << " " << IsaName(isa) << " threads=" << threads
                                   << " rows=" << rows << " n=" << n;
            }
          }
        }
      }
    }
  }
}

// Every panel kernel directly: each panel height (1..16 rows) and activation count (1..27: full
// tiles and every remainder) against the same table's quantizer + dot product per row, with
// weights whose blocks carry very different scales (so a misplaced block scale shows).
TEST(MatmulTest, PanelGemmMatchesDotProducts) {
  std::mt19937_64 rng(11);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (!IsaSupported(isa)) continue;
    const KernelTable& k = KernelsFor(isa);
    for (uint32_t ti = 0; ti < kDTypeTableSize; ++ti) {
      const auto type = static_cast<DType>(ti);
      const GemmKernel& gemm = k.gemm_kernel(type);
      if (gemm.multiply == nullptr) continue;
      const int64_t cols = 768;
      const size_t row_bytes = *RowBytes(type, cols);
      std::vector<float> wf(kGemmPanelRows * cols);
      for (size_t i = 0; i < wf.size(); ++i) wf[i] = dist(rng) * std::exp2(static_cast<float>((i / 32) % 7) - 3);
      std::vector<uint8_t> wq(kGemmPanelRows * row_bytes);
      ASSERT_TRUE(QuantizeWeights(type, wf, cols, wq).ok());
      const int64_t max_n = 27;
      std::vector<float> x(max_n * cols);
      for (auto& v : x) v = dist(rng);
      const DType at = VecDotType(type);
      const size_t ab = *RowBytes(at, cols);
      std::vector<uint8_t> aq(max_n * ab);
      for (int64_t j = 0; j < max_n; ++j) k.quantize_act(at)(x.data() + j * cols, aq.data() + j * ab, cols);
      const size_t gab = gemm.act_row_bytes(cols);
      std::vector<uint8_t> ga(max_n * gab);
      for (int64_t j = 0; j < max_n; ++j) gemm.quantize_act(x.data() + j * cols, ga.data() + j * gab, cols);
      std::vector<uint8_t> panel_storage(gemm.panel_bytes(cols) + 64);
      void* panel = panel_storage.data() + (64 - reinterpret_cast<uintptr_t>(panel_storage.data()) % 64) % 64;
      for (int n_rows = 1; n_rows <= kGemmPanelRows; ++n_rows) {
        gemm.pack_panel(wq.data(), row_bytes, n_rows, cols, panel);
        for (int64_t n = 1; n <= max_n; n += (n_rows == kGemmPanelRows ? 1 : 5)) {
          const int64_t ldy = kGemmPanelRows + 3;
          std::vector<float> y(n * ldy, NAN);
          gemm.multiply(panel, cols, ga.data(), gab, n, y.data(), ldy, n_rows);
          for (int64_t j = 0; j < n; ++j) {
            for (int64_t c = 0; c < ldy; ++c) {
              if (c >= n_rows) {
                ASSERT_TRUE(std::isnan(y[j * ldy + c])) << "wrote past the panel's rows";
                continue;
              }
              const float expect = k.dot(type)(cols, wq.data() + c * row_bytes, aq.data() + j * ab);
              // f32 rounding of the block sums, relative to their magnitudes (they can cancel).
              double magnitude = 0;
              for (int64_t e = 0; e < cols; ++e) magnitude += std::fabs(wf[c * cols + e] * x[j * cols + e]);
              ASSERT_NEAR(y[j * ldy + c], expect, 1e-6 * magnitude)
                  << DTypeName(type) << " " << IsaName(isa) << " n_rows=" << n_rows << " n=" << n << " j=" << j
                  << " row=" << c;
            }
          }
        }
      }
    }
  }
}

// Matrices sharing one input give exactly what separate products give: same type, mixed types with
// one activation type (Q4_K + Q6_K both take Q8_K), row counts that are not multiples of the grain,
// and the fallbacks (several activation rows; different activation types).
TEST(MatmulTest, SharedInputEqualsSeparateProducts) {
  std::mt19937_64 rng(5);
  std::normal_distribution<float> dist(0.0f, 0.5f);
  const int64_t cols = 256;
  struct Case {
    std::vector<DType> types;
    std::vector<int64_t> rows;
  };
  const std::vector<Case> cases = {{{DType::kQ8_0, DType::kQ8_0, DType::kQ8_0}, {64, 17, 33}},
                                   {{DType::kQ4_K, DType::kQ6_K}, {50, 7}},
                                   {{DType::kQ4_K, DType::kQ8_0}, {20, 20}},
                                   {{DType::kF16}, {3}}};
  for (const Case& c : cases) {
    std::vector<std::vector<uint8_t>> data(c.types.size());
    std::vector<WeightMatrix> mats;
    for (size_t i = 0; i < c.types.size(); ++i) {
      std::vector<float> wf(c.rows[i] * cols);
      for (auto& v : wf) v = dist(rng);
      const size_t rb = *RowBytes(c.types[i], cols);
      data[i].resize(c.rows[i] * rb);
      ASSERT_TRUE(QuantizeWeights(c.types[i], wf, cols, data[i]).ok());
      mats.push_back({c.types[i], data[i].data(), c.rows[i], cols, rb});
    }
    std::vector<const WeightMatrix*> ptrs;
    for (const auto& m : mats) ptrs.push_back(&m);
    for (int64_t n : {1, 3}) {
      std::vector<float> x(n * cols);
      for (auto& v : x) v = dist(rng);
      for (int threads : {1, 2, 3}) {
        ThreadPool pool(threads);
        MatmulWorkspace ws;
        std::vector<std::vector<float>> want(mats.size()), got(mats.size());
        std::vector<float*> outs;
        for (size_t i = 0; i < mats.size(); ++i) {
          want[i].assign(n * mats[i].rows, NAN);
          got[i].assign(n * mats[i].rows, NAN);
          MatMul(BestKernels(), pool, mats[i], x.data(), n, want[i].data(), ws);
          outs.push_back(got[i].data());
        }
        MatMulShared(BestKernels(), pool, ptrs, x.data(), n, outs, ws);
        for (size_t i = 0; i < mats.size(); ++i) {
          ASSERT_EQ(got[i], want[i]) << "matrix " << i << " n=" << n << " threads=" << threads;
        }
      }
    }
  }
}

// Independent matrix-vector products in one dispatch equal separate MatVecs bit for bit: mixed
// types, activation types and column counts, row counts off the grain, 1-3 threads.
TEST(MatmulTest, ManyMatVecsEqualSeparateProducts) {
  std::mt19937_64 rng(6);
  std::normal_distribution<float> dist(0.0f, 0.5f);
  const std::vector<DType> types = {DType::kQ8_0, DType::kQ4_K, DType::kF32, DType::kQ5_0, DType::kQ6_K, DType::kF16};
  const std::vector<int64_t> rows = {64, 17, 33, 5, 40, 1};
  const std::vector<int64_t> cols = {256, 512, 96, 128, 256, 64};
  std::vector<std::vector<uint8_t>> data(types.size());
  std::vector<std::vector<float>> inputs(types.size());
  std::vector<WeightMatrix> mats;
  for (size_t i = 0; i < types.size(); ++i) {
    std::vector<float> wf(rows[i] * cols[i]);
    for (auto& v : wf) v = dist(rng);
    const size_t rb = *RowBytes(types[i], cols[i]);
    data[i].resize(rows[i] * rb);
    ASSERT_TRUE(QuantizeWeights(types[i], wf, cols[i], data[i]).ok());
    mats.push_back({types[i], data[i].data(), rows[i], cols[i], rb});
    inputs[i].resize(cols[i]);
    for (auto& v : inputs[i]) v = dist(rng);
  }
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    MatmulWorkspace ws;
    std::vector<std::vector<float>> want(mats.size()), got(mats.size());
    std::vector<MatVecTask> tasks;
    for (size_t i = 0; i < mats.size(); ++i) {
      want[i].assign(mats[i].rows, NAN);
      got[i].assign(mats[i].rows, NAN);
      MatVec(BestKernels(), pool, mats[i], inputs[i].data(), want[i].data(), ws);
      tasks.push_back({&mats[i], inputs[i].data(), got[i].data()});
    }
    MatVecMany(BestKernels(), pool, tasks, ws);
    for (size_t i = 0; i < mats.size(); ++i) {
      ASSERT_EQ(got[i], want[i]) << "matrix " << i << " (" << DTypeName(types[i]) << ") threads=" << threads;
    }
  }
}

TEST(MatmulTest, ValidationNamesTheProblem) {
  uint8_t buf[1024] = {};
  EXPECT_EQ(ValidateWeightMatrix({DType::kQ4_K, buf, 4, 100, 1024}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateWeightMatrix({DType::kQ8_K, buf, 4, 256, 1024}).code(), StatusCode::kUnsupported);
  EXPECT_EQ(ValidateWeightMatrix({DType::kQ4_K, buf, 4, 256, 100}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateWeightMatrix({DType::kQ4_K, buf, 4, 256, 144}).ok());
}

}  // namespace
}  // namespace enclave::kernels
