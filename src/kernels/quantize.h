// Weight quantizers: f32 rows -> GGUF blocks, for the quantize tool and on-load quantization.
// Quality first (they search for the scales minimising error), speed second. Pure functions,
// thread-safe.
#pragma once

#include <cstdint>
#include <span>

#include "base/status.h"
#include "tensor/dtype.h"

namespace enclave::kernels {

// F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K.
bool CanQuantizeWeights(DType type);

// Quantizes one row of n elements (a multiple of the block size) into RowBytes(type, n) bytes.
void QuantizeWeightsRow(DType type, const float* src, void* dst, int64_t n);

// Quantizes src (rows of n_per_row elements) into dst, checking every size.
Status QuantizeWeights(DType type, std::span<const float> src, int64_t n_per_row,
                       std::span<uint8_t> dst);

}  // namespace enclave::kernels
