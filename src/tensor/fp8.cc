#include "tensor/fp8.h"

#include <array>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace enclave {
namespace {

std::array<float, 256> MakeTable() {
  std::array<float, 256> t{};
  for (int v = 0; v < 256; ++v) {
    const int sign = v >> 7, exp = (v >> 3) & 0xF, mant = v & 7;
    float x;
    if (exp == 0xF && mant == 7) {
      x = std::numeric_limits<float>::quiet_NaN();
    } else if (exp == 0) {
      x = std::ldexp(static_cast<float>(mant) / 8.0f, -6);  // subnormal
    } else {
      x = std::ldexp(1.0f + static_cast<float>(mant) / 8.0f, exp - 7);
    }
    t[v] = sign ? -x : x;
  }
  return t;
}

const std::array<float, 256> kTable = MakeTable();

}  // namespace

float Fp8E4M3ToF32(uint8_t v) { return kTable[v]; }

Status DequantizeFp8BlockScaled(std::span<const uint8_t> weights, int64_t rows, int64_t cols,
                                std::span<const float> scale_inv, int64_t scale_rows, int64_t scale_cols,
                                std::span<float> out) {
  if (rows <= 0 || cols <= 0) return InvalidArgumentError(fmt::format("FP8 weight shape {}x{} is empty", rows, cols));
  const int64_t want_sr = (rows + kFp8BlockSize - 1) / kFp8BlockSize;
  const int64_t want_sc = (cols + kFp8BlockSize - 1) / kFp8BlockSize;
  if (scale_rows != want_sr || scale_cols != want_sc) {
    return InvalidArgumentError(fmt::format(
        "FP8 weight [{}, {}] needs a scale_inv of [{}, {}] (128x128 blocks), found [{}, {}]", rows, cols, want_sr,
        want_sc, scale_rows, scale_cols));
  }
  if (weights.size() != static_cast<size_t>(rows * cols) || out.size() != weights.size() ||
      scale_inv.size() != static_cast<size_t>(scale_rows * scale_cols)) {
    return InvalidArgumentError("FP8 dequantization buffers do not match the shapes");
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float* srow = scale_inv.data() + (r / kFp8BlockSize) * scale_cols;
    for (int64_t c = 0; c < cols; ++c) {
      out[r * cols + c] = kTable[weights[r * cols + c]] * srow[c / kFp8BlockSize];
    }
  }
  return Status::Ok();
}

}  // namespace enclave
