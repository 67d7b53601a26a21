// FP8 E4M3 ("float8_e4m3fn", DeepSeek-V3's native weight format): 1 sign, 4 exponent bits
// (bias 7), 3 mantissa bits; no infinities; S.1111.111 is NaN; largest finite 448.
#pragma once

#include <cstdint>
#include <span>

#include "base/status.h"

namespace enclave {

float Fp8E4M3ToF32(uint8_t v);

// DeepSeek-V3 block-scaled weights: W[r, c] = fp8(Wq[r, c]) * scale_inv[r / 128, c / 128], with
// scale_inv F32 [ceil(rows/128), ceil(cols/128)] (despite the name, a multiplier). Partial edge
// blocks are allowed. Writes rows*cols floats to `out`; checks every size.
inline constexpr int kFp8BlockSize = 128;
Status DequantizeFp8BlockScaled(std::span<const uint8_t> weights, int64_t rows, int64_t cols,
                                std::span<const float> scale_inv, int64_t scale_rows, int64_t scale_cols,
                                std::span<float> out);

}  // namespace enclave
