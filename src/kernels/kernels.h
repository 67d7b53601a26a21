// Kernel tables: per-ISA function pointers for converting and multiplying tensor rows.
//
// Every table is immutable after first use and safe to share across threads. The scalar table
// (kernels/ref) is the oracle: every optimized entry is tested against it on seeded data.
//
// Conventions (n = elements in the row, always a multiple of the type's block size):
//   - A "weight row" is n elements of a weight type W, laid out as GGUF/llama.cpp blocks.
//   - Dot products take a weight row of type W and an activation row already converted to
//     VecDotType(W) (e.g. Q8_K for the K-quants), and return the f32 dot product.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/dtype.h"

namespace enclave::kernels {

enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };
const char* IsaName(Isa isa);

using DequantizeRowFn = void (*)(const void* src, float* dst, int64_t n);
using QuantizeRowFn = void (*)(const float* src, void* dst, int64_t n);
using VecDotFn = float (*)(int64_t n, const void* weight_row, const void* activation_row);
// One weight row against 4 activation rows `activation_stride` bytes apart: out[j] is
// bit-identical to vec_dot(n, weight_row, activation_rows + j * activation_stride). Each weight
// block is loaded and unpacked once for four tokens, which is what makes a prefill faster than
// repeated matrix-vector products.
using VecDotX4Fn = void (*)(int64_t n, const void* weight_row, const void* activation_rows,
                            size_t activation_stride, float* out);

// Panel GEMM for prefill-sized products (Y[n, M] = X[n, K] · W[M, K]ᵀ with many activation rows).
// kGemmPanelRows weight rows at a time are unpacked into a "panel": an int8 layout interleaved so
// that one vector holds 4 consecutive elements of each of the 16 rows, plus the rows' block scales
// as vectors. A VNNI dot-product instruction then multiplies 16 rows by 4 elements of one
// activation row (broadcast) at once: 64 multiply-adds per instruction, against ~13 for the
// per-row dot products. The unpacking is paid once per panel and reused by every activation row.
// Integer sums inside a quantization block are exact, as in the dot products; only the order of
// the f32 block sums differs, so results match vec_dot to f32 rounding, not bit for bit.
inline constexpr int kGemmPanelRows = 16;
struct GemmKernel {
  // f32 row -> the activation row this kernel consumes (act_row_bytes(k) bytes).
  QuantizeRowFn quantize_act = nullptr;
  size_t (*act_row_bytes)(int64_t k) = nullptr;
  // Bytes of one panel of kGemmPanelRows rows of k elements.
  size_t (*panel_bytes)(int64_t k) = nullptr;
  // Unpacks rows [0, n_rows) (n_rows <= kGemmPanelRows; missing rows become zeros) into `panel`
  // (64-byte aligned).
  void (*pack_panel)(const void* rows, size_t row_stride, int n_rows, int64_t k, void* panel) = nullptr;
  // y[j * ldy + r] = row r of the panel · activation row j, for j < n and r < n_rows.
  void (*multiply)(const void* panel, int64_t k, const void* act, size_t act_stride, int64_t n, float* y,
                   int64_t ldy, int n_rows) = nullptr;
};

// One attention work item: n_queries query vectors that share a key/value head (the query heads
// of a GQA group, for one or more tokens of one sequence), each attending causally to keys
// 0..last_key[i]. Keys and values are rows of kv_type (F16 or F32) reached through one pointer
// per position, so the paged KV cache's blocks need no copying. Computed in one pass over the keys
// (running maximum and sum, "online softmax"), 16 keys at a time: each chunk of keys and values is
// converted to f32 once and used by every query of the item.
struct AttentionItem {
  int n_queries = 0;
  const float* const* queries = nullptr;  // [n_queries] -> k_dim floats
  float* const* outputs = nullptr;        // [n_queries] -> v_dim floats (written)
  const int32_t* last_key = nullptr;      // [n_queries]
  int k_dim = 0, v_dim = 0;
  float scale = 1.0f;                     // applied to q·k
  DType kv_type = DType::kF16;
  const uint8_t* const* keys = nullptr;    // [max(last_key) + 1] -> k_dim elements
  const uint8_t* const* values = nullptr;  // [max(last_key) + 1] -> v_dim elements
  float* scratch = nullptr;                // AttentionScratchFloats(n_queries, k_dim, v_dim)
};
using AttentionFn = void (*)(const AttentionItem& item);
// gate[i] = silu(gate[i]) * up[i] = gate[i] / (1 + exp(-gate[i])) * up[i] (the SwiGLU FFN).
using SiluMulFn = void (*)(float* gate, const float* up, int64_t n);
inline constexpr int kAttentionChunk = 16;
inline size_t AttentionScratchFloats(int n_queries, int k_dim, int v_dim) {
  return static_cast<size_t>(kAttentionChunk) * (k_dim + v_dim) + 2 * static_cast<size_t>(n_queries) +
         kAttentionChunk;
}

struct KernelTable {
  Isa isa = Isa::kScalar;
  // Indexed by static_cast<uint32_t>(DType). Null where a type has no such kernel.
  DequantizeRowFn dequantize_row[kDTypeTableSize] = {};
  // Converts f32 activations into the activation type (indexed by that type: F32 (copy), F16,
  // BF16, Q8_0, Q8_1, Q8_K). Fast, round-to-nearest; not the weight quantizers.
  QuantizeRowFn quantize_activation[kDTypeTableSize] = {};
  // Indexed by the weight type.
  VecDotFn vec_dot[kDTypeTableSize] = {};
  // Indexed by the weight type. Null where a table has none; callers then use vec_dot per row.
  VecDotX4Fn vec_dot_x4[kDTypeTableSize] = {};
  // Indexed by the weight type. Empty (multiply == nullptr) where a table has none.
  GemmKernel gemm[kDTypeTableSize] = {};
  AttentionFn attention = nullptr;
  SiluMulFn silu_mul = nullptr;

  DequantizeRowFn dequantize(DType t) const { return dequantize_row[static_cast<uint32_t>(t)]; }
  QuantizeRowFn quantize_act(DType t) const { return quantize_activation[static_cast<uint32_t>(t)]; }
  VecDotFn dot(DType t) const { return vec_dot[static_cast<uint32_t>(t)]; }
  VecDotX4Fn dot_x4(DType t) const { return vec_dot_x4[static_cast<uint32_t>(t)]; }
  const GemmKernel& gemm_kernel(DType t) const { return gemm[static_cast<uint32_t>(t)]; }
};

// The activation type a weight type's dot product consumes:
//   F32 -> F32, F16 -> F32, BF16 -> BF16, Q4_0/Q5_0/Q8_0 -> Q8_0, Q4_1/Q5_1 -> Q8_1,
//   Q2_K..Q6_K -> Q8_K.
DType VecDotType(DType weight_type);

// True for weight types that have a dot product (the types of issue #2's list).
bool IsMatmulWeightType(DType t);

// The scalar reference table (always available).
const KernelTable& RefKernels();
// Tables for the wider ISAs; only call when the CPU supports them (see IsaSupported).
const KernelTable& Avx2Kernels();
const KernelTable& Avx512Kernels();

bool IsaSupported(Isa isa);
// The table for `isa` (CHECKs IsaSupported).
const KernelTable& KernelsFor(Isa isa);
// The best table this CPU supports. Chosen once, from CPUID.
const KernelTable& BestKernels();

}  // namespace enclave::kernels
