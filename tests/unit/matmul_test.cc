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
            ASSERT_EQ(y, expect) << DTypeName(type) << " " << IsaName(isa) << " threads=" << threads
                                 << " rows=" << rows << " n=" << n;
          }
        }
      }
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
