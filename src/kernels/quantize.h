// Weight quantizers: f32 rows -> GGUF blocks, for the quantize tool and on-load quantization.
// Quality first: every block is searched for the scales that minimise its squared error as
// decoded (never worse than llama.cpp's reference quantizers without an importance matrix; see
// docs/quant-formats.md), speed second. Pure functions of their inputs: thread-safe, and
// deterministic (the same bytes on every run and machine).
#pragma once

#include <cstdint>
#include <span>

#include "base/status.h"
#include "tensor/dtype.h"

namespace enclave::kernels {

// F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K.
bool CanQuantizeWeights(DType type);

// How hard the block quantizers search. kBest (the quantize tool, synthetic GGUF files): the full
// candidate search, a few Melem/s per core for the K-quants. kFast (quantizing while loading, where
// a 16B-parameter model must be ready in minutes, not an hour): the closed-form candidates and
// short refits only, 4-10x faster (Q6_K, which on load only holds the output matrix, always
// searches fully); still no worse than llama.cpp's reference quantizers on the
// test distributions (tests/unit/quantize_test.cc prints both). Same format either way.
enum class QuantEffort { kBest, kFast };

// The type llama-quantize stores rows of n elements in when `type`'s blocks do not divide them
// (its tensor_type_fallback): Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, and F16 when even that does
// not fit; `type` itself when its blocks divide n. (DeepSeek-V2-Lite: the dense FFN's 10944 and the
// experts' 1408 are not multiples of 256.)
DType QuantTypeForRowLength(DType type, int64_t n);

// Quantizes one row of n elements into RowBytes(type, n) bytes at dst. Preconditions (CHECKed):
// CanQuantizeWeights(type) and n a multiple of the type's block size. Input values should be
// finite; NaN is treated as 0 and +-inf as +-FLT_MAX (F16/BF16/F32 convert them as IEEE does).
// Values beyond a block type's fp16 scale range saturate: outputs always decode to finite values.
void QuantizeWeightsRow(DType type, const float* src, void* dst, int64_t n,
                        QuantEffort effort = QuantEffort::kBest);

// Quantizes src (rows of n_per_row elements) into dst, which must hold exactly
// rows * RowBytes(type, n_per_row) bytes. Errors (nothing written past dst, dst contents then
// unspecified): Unsupported type, sizes that do not fit, a NaN or infinite input, or (for F16)
// a value beyond the fp16 range.
Status QuantizeWeights(DType type, std::span<const float> src, int64_t n_per_row,
                       std::span<uint8_t> dst, QuantEffort effort = QuantEffort::kBest);

}  // namespace enclave::kernels
