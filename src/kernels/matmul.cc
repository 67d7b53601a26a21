#include "kernels/matmul.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

namespace enclave::kernels {
namespace {

// Rows per work unit: small enough to balance two threads on short matrices, large enough that
// each thread streams long contiguous runs of weights.
constexpr int64_t kRowGrain = 16;
// Activation rows processed against one block of weight rows while that block is cache-hot.
constexpr int64_t kActivationTile = 16;

// Converts n rows of k floats into the activation type, splitting rows over the pool.
const uint8_t* PrepareActivations(const KernelTable& kernels, ThreadPool& pool, DType act_type, const float* x,
                                  int64_t n, int64_t k, size_t act_row_bytes, MatmulWorkspace& ws) {
  uint8_t* out = ws.Reserve(act_row_bytes * static_cast<size_t>(n));
  const QuantizeRowFn quantize = kernels.quantize_act(act_type);
  if (n == 1) {
    quantize(x, out, k);
    return out;
  }
  pool.Run([&](int t, int nt) {
    int64_t begin, end;
    ThreadPool::SplitRange(n, 1, t, nt, &begin, &end);
    for (int64_t r = begin; r < end; ++r) quantize(x + r * k, out + r * act_row_bytes, k);
  });
  return out;
}

// Fewest activation rows for which the panel GEMM beats the 4-row dot products: below this the
// per-panel unpacking is not paid back.
constexpr int64_t kGemmMinRows = 8;

uint8_t* AlignUp64(uint8_t* p) {
  return reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(p) + 63) & ~uintptr_t{63});
}
size_t RoundUp64(size_t n) { return (n + 63) & ~size_t{63}; }

// Y = X · Wᵀ through the table's panel kernel: each thread takes whole panels of
// kGemmPanelRows weight rows, unpacks one into its own cache-resident buffer and multiplies it by
// every activation row.
void MatMulPanels(const GemmKernel& gemm, ThreadPool& pool, const WeightMatrix& w, const float* x, int64_t n,
                  float* y, MatmulWorkspace& workspace) {
  const size_t act_bytes = gemm.act_row_bytes(w.cols);
  const size_t act_total = RoundUp64(act_bytes * static_cast<size_t>(n));
  const size_t panel_bytes = RoundUp64(gemm.panel_bytes(w.cols));
  uint8_t* base = AlignUp64(workspace.Reserve(act_total + panel_bytes * static_cast<size_t>(pool.size()) + 64));
  uint8_t* act = base;
  pool.Run([&](int t, int nt) {
    int64_t begin, end;
    ThreadPool::SplitRange(n, 1, t, nt, &begin, &end);
    for (int64_t r = begin; r < end; ++r) gemm.quantize_act(x + r * w.cols, act + r * act_bytes, w.cols);
  });
  const auto* weights = static_cast<const uint8_t*>(w.data);
  const int64_t panels = (w.rows + kGemmPanelRows - 1) / kGemmPanelRows;
  pool.Run([&](int t, int nt) {
    uint8_t* panel = base + act_total + panel_bytes * static_cast<size_t>(t);
    int64_t begin, end;
    ThreadPool::SplitRange(panels, 1, t, nt, &begin, &end);
    for (int64_t p = begin; p < end; ++p) {
      const int64_t r0 = p * kGemmPanelRows;
      const int n_rows = static_cast<int>(std::min<int64_t>(kGemmPanelRows, w.rows - r0));
      gemm.pack_panel(weights + r0 * w.row_stride, w.row_stride, n_rows, w.cols, panel);
      gemm.multiply(panel, w.cols, act, act_bytes, n, y + r0, w.rows, n_rows);
    }
  });
}

}  // namespace

Status ValidateWeightMatrix(const WeightMatrix& w) {
  if (!IsMatmulWeightType(w.type)) {
    return UnsupportedError(fmt::format("matrix multiplication with {} weights is not supported", DTypeName(w.type)));
  }
  if (w.rows <= 0 || w.cols <= 0) return InvalidArgumentError(fmt::format("empty matrix {}x{}", w.rows, w.cols));
  const auto row_bytes = RowBytes(w.type, static_cast<uint64_t>(w.cols));
  if (!row_bytes) {
    return InvalidArgumentError(fmt::format("{} columns is not a multiple of the {} block size {}", w.cols,
                                            DTypeName(w.type), Traits(w.type).block_elems));
  }
  if (w.row_stride < *row_bytes) {
    return InvalidArgumentError(fmt::format("row stride {} is smaller than a row ({} bytes)", w.row_stride, *row_bytes));
  }
  if (w.data == nullptr) return InvalidArgumentError("matrix has no data");
  return Status::Ok();
}

void MatVec(const KernelTable& kernels, ThreadPool& pool, const WeightMatrix& w, const float* x, float* y,
            MatmulWorkspace& workspace) {
  const DType act_type = VecDotType(w.type);
  const size_t act_bytes = *RowBytes(act_type, static_cast<uint64_t>(w.cols));
  const uint8_t* act = PrepareActivations(kernels, pool, act_type, x, 1, w.cols, act_bytes, workspace);
  const VecDotFn dot = kernels.dot(w.type);
  const auto* base = static_cast<const uint8_t*>(w.data);
  pool.Run([&](int t, int nt) {
    int64_t begin, end;
    ThreadPool::SplitRange(w.rows, kRowGrain, t, nt, &begin, &end);
    for (int64_t r = begin; r < end; ++r) y[r] = dot(w.cols, base + r * w.row_stride, act);
  });
}

void MatMul(const KernelTable& kernels, ThreadPool& pool, const WeightMatrix& w, const float* x, int64_t n,
            float* y, MatmulWorkspace& workspace) {
  if (n == 1) {
    MatVec(kernels, pool, w, x, y, workspace);
    return;
  }
  if (const GemmKernel& gemm = kernels.gemm_kernel(w.type); gemm.multiply != nullptr && n >= kGemmMinRows) {
    MatMulPanels(gemm, pool, w, x, n, y, workspace);
    return;
  }
  const DType act_type = VecDotType(w.type);
  const size_t act_bytes = *RowBytes(act_type, static_cast<uint64_t>(w.cols));
  const uint8_t* act = PrepareActivations(kernels, pool, act_type, x, n, w.cols, act_bytes, workspace);
  const VecDotFn dot = kernels.dot(w.type);
  const VecDotX4Fn dot4 = kernels.dot_x4(w.type);
  const auto* base = static_cast<const uint8_t*>(w.data);
  pool.Run([&](int t, int nt) {
    int64_t begin, end;
    ThreadPool::SplitRange(w.rows, kRowGrain, t, nt, &begin, &end);
    // Tile: a block of weight rows stays in L1/L2 while a tile of activation rows passes over it;
    // within the tile, the 4-row kernel unpacks each weight block once for four activation rows.
    for (int64_t r0 = begin; r0 < end; r0 += kRowGrain) {
      const int64_t r1 = std::min(end, r0 + kRowGrain);
      for (int64_t j0 = 0; j0 < n; j0 += kActivationTile) {
        const int64_t j1 = std::min(n, j0 + kActivationTile);
        for (int64_t r = r0; r < r1; ++r) {
          const uint8_t* wr = base + r * w.row_stride;
          int64_t j = j0;
          if (dot4 != nullptr) {
            for (; j + 4 <= j1; j += 4) {
              float out[4];
              dot4(w.cols, wr, act + j * act_bytes, act_bytes, out);
              for (int k = 0; k < 4; ++k) y[(j + k) * w.rows + r] = out[k];
            }
          }
          for (; j < j1; ++j) y[j * w.rows + r] = dot(w.cols, wr, act + j * act_bytes);
        }
      }
    }
  });
}

void MatVecMany(const KernelTable& kernels, ThreadPool& pool, std::span<const MatVecTask> tasks,
                MatmulWorkspace& workspace) {
  if (tasks.empty()) return;
  // Each task's converted input, 64-byte aligned, one after the other.
  std::vector<size_t> act_offset(tasks.size());
  size_t act_total = 0;
  for (size_t i = 0; i < tasks.size(); ++i) {
    act_offset[i] = act_total;
    act_total += RoundUp64(*RowBytes(VecDotType(tasks[i].w->type), static_cast<uint64_t>(tasks[i].w->cols)));
  }
  uint8_t* act = AlignUp64(workspace.Reserve(act_total + 64));
  int64_t total = 0;  // rows of all matrices, each rounded up to the grain (as MatMulShared)
  for (size_t i = 0; i < tasks.size(); ++i) {
    const WeightMatrix& w = *tasks[i].w;
    kernels.quantize_act(VecDotType(w.type))(tasks[i].x, act + act_offset[i], w.cols);
    total += (w.rows + kRowGrain - 1) / kRowGrain * kRowGrain;
  }
  pool.Run([&](int t, int nt) {
    int64_t begin, end;
    ThreadPool::SplitRange(total, kRowGrain, t, nt, &begin, &end);
    int64_t first = 0;
    for (size_t i = 0; i < tasks.size() && first < end; ++i) {
      const WeightMatrix& w = *tasks[i].w;
      const int64_t padded = (w.rows + kRowGrain - 1) / kRowGrain * kRowGrain;
      const int64_t lo = std::max<int64_t>(begin - first, 0), hi = std::min<int64_t>(end - first, w.rows);
      const VecDotFn dot = kernels.dot(w.type);
      const auto* base = static_cast<const uint8_t*>(w.data);
      const uint8_t* a = act + act_offset[i];
      for (int64_t r = lo; r < hi; ++r) tasks[i].y[r] = dot(w.cols, base + r * w.row_stride, a);
      first += padded;
    }
  });
}

void MatMulShared(const KernelTable& kernels, ThreadPool& pool, std::span<const WeightMatrix* const> ws,
                  const float* x, int64_t n, std::span<float* const> ys, MatmulWorkspace& workspace) {
  bool shared = n == 1 && !ws.empty();
  for (const WeightMatrix* w : ws) {
    shared = shared && w->cols == ws[0]->cols && VecDotType(w->type) == VecDotType(ws[0]->type);
  }
  if (!shared) {
    for (size_t i = 0; i < ws.size(); ++i) MatMul(kernels, pool, *ws[i], x, n, ys[i], workspace);
    return;
  }
  const DType act_type = VecDotType(ws[0]->type);
  const size_t act_bytes = *RowBytes(act_type, static_cast<uint64_t>(ws[0]->cols));
  const uint8_t* act = PrepareActivations(kernels, pool, act_type, x, 1, ws[0]->cols, act_bytes, workspace);
  // Rows of all matrices, numbered one after the other; each matrix's count rounded up to the
  // grain so that a thread's range never splits a grain across two matrices.
  int64_t total = 0;
  for (const WeightMatrix* w : ws) total += (w->rows + kRowGrain - 1) / kRowGrain * kRowGrain;
  pool.Run([&](int t, int nt) {
    int64_t begin, end;
    ThreadPool::SplitRange(total, kRowGrain, t, nt, &begin, &end);
    int64_t first = 0;  // global index of the current matrix's row 0
    for (size_t i = 0; i < ws.size() && first < end; ++i) {
      const WeightMatrix& w = *ws[i];
      const int64_t padded = (w.rows + kRowGrain - 1) / kRowGrain * kRowGrain;
      const int64_t lo = std::max<int64_t>(begin - first, 0), hi = std::min<int64_t>(end - first, w.rows);
      const VecDotFn dot = kernels.dot(w.type);
      const auto* base = static_cast<const uint8_t*>(w.data);
      for (int64_t r = lo; r < hi; ++r) ys[i][r] = dot(w.cols, base + r * w.row_stride, act);
      first += padded;
    }
  });
}

}  // namespace enclave::kernels
