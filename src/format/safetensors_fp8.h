// DeepSeek-V3 FP8 checkpoints in safetensors: each F8_E4M3 weight `<name>` [rows, cols] comes with
// `<name>_scale_inv` [ceil(rows/128), ceil(cols/128)] (F32; BF16 accepted too). These helpers find
// and check the pair, and dequantize it with tensor/fp8.h. Stateless; thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "format/safetensors.h"
#include "tensor/fp8.h"

namespace enclave {

inline constexpr std::string_view kFp8ScaleSuffix = "_scale_inv";

struct Fp8Weight {
  const SafetensorsTensor* weight = nullptr;     // F8_E4M3 [rows, cols]
  const SafetensorsTensor* scale_inv = nullptr;  // F32 or BF16 [ceil(rows/br), ceil(cols/bc)]
  Fp8BlockScaledShape shape;
};

// Finds `name` and its scale and checks dtypes and shapes; errors name the file, the tensors and
// the numbers. `block` is quantization_config.weight_block_size ([128, 128] for DeepSeek-V3).
Result<Fp8Weight> FindFp8Weight(const SafetensorsModel& model, std::string_view name,
                                int64_t block_rows = kFp8BlockSize, int64_t block_cols = kFp8BlockSize);

// Writes rows*cols floats.
Status DequantizeFp8Weight(const Fp8Weight& weight, std::span<float> out);

// One line per F8_E4M3 tensor without a valid scale, and per scale without its weight (for
// `enclave inspect`).
std::vector<std::string> CheckFp8Scales(const SafetensorsModel& model, int64_t block_rows = kFp8BlockSize,
                                        int64_t block_cols = kFp8BlockSize);

}  // namespace enclave
