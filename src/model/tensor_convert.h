// Internal to src/model: turning stored tensors into what the forward pass reads.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/status.h"
#include "tensor/dtype.h"

namespace enclave {

// A 1-D F32 view of `n` elements stored as `type` (F32, F16 or BF16). F32 data aligned for float
// is returned as is; anything else is converted into `storage` (which must hold n floats).
Result<std::span<const float>> VectorAsF32(const std::string& name, DType type, std::span<const uint8_t> data,
                                           int64_t n, std::span<uint8_t> storage);

}  // namespace enclave
