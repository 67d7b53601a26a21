// Matrix-vector and matrix-matrix products of quantized weights with f32 activations, split by
// weight rows over a ThreadPool.
//
//   MatVec:  y[M]    = W[M, K] · x[K]
//   MatMul:  Y[N, M] = X[N, K] · W[M, K]^T      (N activation rows, e.g. the tokens of a prefill)
//
// W rows are in any IsMatmulWeightType type, `row_stride` bytes apart (GGUF tensors are dense:
// row_stride = RowBytes(type, K)). Activations are converted once per call to VecDotType(W) into
// a caller-owned MatmulWorkspace that grows but never shrinks, so steady-state calls do not
// allocate. Threads write disjoint ranges of the output and never lock. A workspace must not be
// shared by concurrent calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "kernels/kernels.h"
#include "platform/thread_pool.h"

namespace enclave::kernels {

struct WeightMatrix {
  DType type = DType::kF32;
  const void* data = nullptr;
  int64_t rows = 0;        // M (output features)
  int64_t cols = 0;        // K (input features), a multiple of the type's block size
  size_t row_stride = 0;   // bytes between rows
};

class MatmulWorkspace {
 public:
  uint8_t* Reserve(size_t bytes) {
    if (buffer_.size() < bytes) buffer_.resize(bytes);
    return buffer_.data();
  }

 private:
  std::vector<uint8_t> buffer_;
};

// Checks shapes and types (for callers that take them from files); kernels assume valid input.
Status ValidateWeightMatrix(const WeightMatrix& w);

void MatVec(const KernelTable& kernels, ThreadPool& pool, const WeightMatrix& w, const float* x, float* y,
            MatmulWorkspace& workspace);

// With enough activation rows and a table that has a panel kernel for w.type (GemmKernel), the
// result equals the row-by-row dot products to f32 rounding (block sums in another order);
// otherwise it is bit-identical to them.
void MatMul(const KernelTable& kernels, ThreadPool& pool, const WeightMatrix& w, const float* x, int64_t n,
            float* y, MatmulWorkspace& workspace);

// Several matrices applied to the same input (Q, K and V; FFN gate and up): ys[i][n, ws[i].rows] =
// x · ws[i]ᵀ. When all have the same column count and activation type, the input is converted once
// and, for one activation row, a single pool dispatch covers the rows of all matrices (fewer
// barriers per decoded token); otherwise each is an ordinary MatMul. Results are bit-identical to
// separate MatMul calls.
void MatMulShared(const KernelTable& kernels, ThreadPool& pool, std::span<const WeightMatrix* const> ws,
                  const float* x, int64_t n, std::span<float* const> ys, MatmulWorkspace& workspace);

// One matrix-vector product of MatVecMany: y[w->rows] = w · x.
struct MatVecTask {
  const WeightMatrix* w = nullptr;
  const float* x = nullptr;
  float* y = nullptr;
};

// Several independent matrix-vector products (a decoded token's per-head MLA absorptions, its
// experts' down projections) in one pool dispatch: the inputs are converted on the calling thread,
// then the rows of all matrices are split over the threads together. Each result is bit-identical
// to MatVec's. Outputs must not overlap the inputs.
void MatVecMany(const KernelTable& kernels, ThreadPool& pool, std::span<const MatVecTask> tasks,
                MatmulWorkspace& workspace);

}  // namespace enclave::kernels
