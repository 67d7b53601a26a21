#include "model/tensor_convert.h"

#include <cstring>

#include <fmt/format.h>

#include "base/half.h"

namespace enclave {

Result<std::span<const float>> VectorAsF32(const std::string& name, DType type, std::span<const uint8_t> data,
                                           int64_t n, std::span<uint8_t> storage) {
  const size_t elem = type == DType::kF32 ? 4 : (type == DType::kF16 || type == DType::kBF16) ? 2 : 0;
  if (elem == 0) {
    return UnsupportedError(fmt::format("tensor '{}' has type {}; norms and biases must be F32, F16 or BF16", name,
                                        DTypeName(type)));
  }
  if (data.size() != static_cast<size_t>(n) * elem) {
    return InvalidArgumentError(fmt::format("tensor '{}' holds {} bytes, expected {}", name, data.size(), n * elem));
  }
  if (type == DType::kF32 && reinterpret_cast<uintptr_t>(data.data()) % alignof(float) == 0) {
    return std::span<const float>(reinterpret_cast<const float*>(data.data()), n);
  }
  float* out = reinterpret_cast<float*>(storage.data());
  for (int64_t i = 0; i < n; ++i) {
    if (type == DType::kF32) {
      std::memcpy(&out[i], data.data() + 4 * i, 4);
    } else {
      uint16_t h;
      std::memcpy(&h, data.data() + 2 * i, 2);
      out[i] = type == DType::kF16 ? Fp16ToF32(h) : Bf16ToF32(h);
    }
  }
  return std::span<const float>(out, n);
}

}  // namespace enclave
