// FP8 E4M3 ("float8_e4m3fn", DeepSeek-V3's native weight format): 1 sign, 4 exponent bits
// (bias 7), 3 mantissa bits; no infinities; S.1111.111 is NaN; largest finite 448; subnormals
// m/8 * 2^-6. Stateless functions; thread-safe.
#pragma once

#include <cstdint>
#include <span>

#include "base/status.h"

namespace enclave {

// Exact: every E4M3 value is representable in f32. NaN codes (0x7F, 0xFF) give a quiet NaN.
float Fp8E4M3ToF32(uint8_t v);
// Round to nearest (ties to even), saturating at ±448 (as torch's float8_e4m3fn conversion does
// with clamping first); NaN gives 0x7F. For writing synthetic FP8 checkpoints.
uint8_t F32ToFp8E4M3(float x);

// DeepSeek-V3 block-scaled weights, W F8_E4M3 [rows, cols] with scale_inv F32
// [ceil(rows/block_rows), ceil(cols/block_cols)]:
//   W[r, c] = fp8(Wq[r, c]) * scale_inv[r / block_rows, c / block_cols]
// (scale_inv is a multiplier despite its name). Edge blocks may be partial. Checks every size
// and the scale shape against the weight's; writes rows*cols floats to `out`.
inline constexpr int64_t kFp8BlockSize = 128;  // quantization_config.weight_block_size [128, 128]

struct Fp8BlockScaledShape {
  int64_t rows = 0, cols = 0;                  // the weight
  int64_t scale_rows = 0, scale_cols = 0;      // its scale_inv
  int64_t block_rows = kFp8BlockSize, block_cols = kFp8BlockSize;
};

// OK when the scale shape is [ceil(rows/block_rows), ceil(cols/block_cols)] and all sizes are
// positive and small enough to index; otherwise an error with the numbers.
Status CheckFp8BlockScaledShape(const Fp8BlockScaledShape& shape);

Status DequantizeFp8BlockScaled(std::span<const uint8_t> weights, std::span<const float> scale_inv,
                                const Fp8BlockScaledShape& shape, std::span<float> out);

}  // namespace enclave
