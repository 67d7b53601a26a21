// Public weight-quantizer API: argument checks and dispatch to the per-type row quantizers
// (kernels/ref/quantize_legacy.cc, kernels/ref/quantize_kquants.cc).
#include "kernels/quantize.h"

#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "base/check.h"
#include "base/half.h"
#include "kernels/ref/quantize_internal.h"

namespace enclave::kernels {

bool CanQuantizeWeights(DType type) {
  switch (type) {
    case DType::kF32: case DType::kF16: case DType::kBF16: case DType::kQ8_0: case DType::kQ4_0:
    case DType::kQ4_1: case DType::kQ5_0: case DType::kQ5_1: case DType::kQ4_K: case DType::kQ5_K:
    case DType::kQ6_K:
      return true;
    default:
      return false;
  }
}

DType QuantTypeForRowLength(DType type, int64_t n) {
  if (n % Traits(type).block_elems == 0) return type;
  switch (type) {
    case DType::kQ4_K: type = DType::kQ5_0; break;
    case DType::kQ5_K: type = DType::kQ5_1; break;
    case DType::kQ6_K: type = DType::kQ8_0; break;
    default: break;
  }
  return n % Traits(type).block_elems == 0 ? type : DType::kF16;
}

void QuantizeWeightsRow(DType type, const float* src, void* dst, int64_t n, QuantEffort effort) {
  ENCLAVE_CHECK(CanQuantizeWeights(type));
  ENCLAVE_CHECK(n >= 0 && n % Traits(type).block_elems == 0);
  using namespace quant_internal;
  const bool fast = effort == QuantEffort::kFast;
  switch (type) {
    case DType::kF32: std::memcpy(dst, src, n * sizeof(float)); break;
    case DType::kF16: {
      auto* y = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) y[i] = F32ToFp16(src[i]);
      break;
    }
    case DType::kBF16: {
      auto* y = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) y[i] = F32ToBf16(src[i]);
      break;
    }
    case DType::kQ8_0: QuantizeRowQ8_0(src, static_cast<BlockQ8_0*>(dst), n, fast); break;
    case DType::kQ4_0: QuantizeRowQ4_0(src, static_cast<BlockQ4_0*>(dst), n, fast); break;
    case DType::kQ4_1: QuantizeRowQ4_1(src, static_cast<BlockQ4_1*>(dst), n, fast); break;
    case DType::kQ5_0: QuantizeRowQ5_0(src, static_cast<BlockQ5_0*>(dst), n, fast); break;
    case DType::kQ5_1: QuantizeRowQ5_1(src, static_cast<BlockQ5_1*>(dst), n, fast); break;
    case DType::kQ4_K: QuantizeRowQ4_K(src, static_cast<BlockQ4_K*>(dst), n, fast); break;
    case DType::kQ5_K: QuantizeRowQ5_K(src, static_cast<BlockQ5_K*>(dst), n, fast); break;
    case DType::kQ6_K: QuantizeRowQ6_K(src, static_cast<BlockQ6_K*>(dst), n, fast); break;
    default: break;
  }
}

Status QuantizeWeights(DType type, std::span<const float> src, int64_t n_per_row, std::span<uint8_t> dst,
                       QuantEffort effort) {
  if (!CanQuantizeWeights(type)) {
    return UnsupportedError(fmt::format("quantizing weights to {} is not supported", DTypeName(type)));
  }
  const int64_t block = Traits(type).block_elems;
  if (n_per_row <= 0 || n_per_row % block != 0) {
    return InvalidArgumentError(fmt::format("rows of {} elements cannot be quantized to {}: not a positive multiple "
                                            "of its block size {}", n_per_row, DTypeName(type), block));
  }
  const uint64_t cols = static_cast<uint64_t>(n_per_row);
  if (src.size() % cols != 0) {
    return InvalidArgumentError(fmt::format("{} input values do not form rows of {}", src.size(), n_per_row));
  }
  const uint64_t rows = src.size() / cols;
  const uint64_t row_bytes = *RowBytes(type, cols);
  if (dst.size() / row_bytes != rows || dst.size() % row_bytes != 0) {
    return InvalidArgumentError(fmt::format("output buffer holds {} bytes; {} rows of {} as {} need {}", dst.size(),
                                            rows, n_per_row, DTypeName(type), rows * row_bytes));
  }
  for (uint64_t i = 0; i < src.size(); ++i) {
    if (!std::isfinite(src[i])) {
      return InvalidArgumentError(fmt::format("input row {}, column {} is {}: only finite values can be quantized to {}",
                                              i / cols, i % cols, src[i], DTypeName(type)));
    }
    if (type == DType::kF16 && std::fabs(src[i]) >= 65520.0f) {  // rounds to infinity in fp16
      return InvalidArgumentError(fmt::format("input row {}, column {} is {}, beyond the F16 range (65504); "
                                              "use BF16 or F32", i / cols, i % cols, src[i]));
    }
  }
  for (uint64_t r = 0; r < rows; ++r) {
    QuantizeWeightsRow(type, src.data() + r * cols, dst.data() + r * row_bytes, n_per_row, effort);
  }
  return Status::Ok();
}

}  // namespace enclave::kernels
