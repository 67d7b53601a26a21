#include "tensor/fp8.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "base/checked_math.h"

namespace enclave {
namespace {

// Built once from the format definition; a table lookup is the fastest exact decode.
std::array<float, 256> MakeTable() {
  std::array<float, 256> t{};
  for (int v = 0; v < 256; ++v) {
    const int exp = (v >> 3) & 0xF, mant = v & 7;
    float x;
    if (exp == 0xF && mant == 7) {
      x = std::numeric_limits<float>::quiet_NaN();
    } else if (exp == 0) {
      x = std::ldexp(static_cast<float>(mant), -9);  // subnormal: mant/8 * 2^-6
    } else {
      x = std::ldexp(static_cast<float>(8 + mant), exp - 7 - 3);  // (1 + mant/8) * 2^(exp-7)
    }
    t[v] = (v & 0x80) ? -x : x;
  }
  return t;
}

const std::array<float, 256> kTable = MakeTable();

int64_t CeilDiv(int64_t a, int64_t b) { return a / b + (a % b != 0); }

}  // namespace

float Fp8E4M3ToF32(uint8_t v) { return kTable[v]; }

uint8_t F32ToFp8E4M3(float x) {
  if (std::isnan(x)) return 0x7F;
  const uint8_t sign = std::signbit(x) ? 0x80 : 0;
  const float a = std::min(std::fabs(x), 448.0f);
  // Codes 0x00..0x7E hold the non-negative finite values in increasing order: the first code
  // not below `a` and its predecessor bracket it.
  int hi = 0;
  while (hi < 0x7E && kTable[hi] < a) ++hi;
  int best = hi;
  if (hi > 0) {
    const float below = a - kTable[hi - 1], above = kTable[hi] - a;
    if (below < above || (below == above && ((hi - 1) & 1) == 0)) best = hi - 1;  // ties to even
  }
  return static_cast<uint8_t>(sign | best);
}

Status CheckFp8BlockScaledShape(const Fp8BlockScaledShape& s) {
  if (s.rows <= 0 || s.cols <= 0 || s.block_rows <= 0 || s.block_cols <= 0) {
    return InvalidArgumentError(fmt::format("FP8 weight [{}, {}] with blocks [{}, {}]: sizes must be positive",
                                            s.rows, s.cols, s.block_rows, s.block_cols));
  }
  const int64_t want_rows = CeilDiv(s.rows, s.block_rows), want_cols = CeilDiv(s.cols, s.block_cols);
  if (s.scale_rows != want_rows || s.scale_cols != want_cols) {
    return InvalidArgumentError(fmt::format(
        "FP8 weight [{}, {}] in [{}, {}] blocks needs a scale_inv of [{}, {}], found [{}, {}]", s.rows, s.cols,
        s.block_rows, s.block_cols, want_rows, want_cols, s.scale_rows, s.scale_cols));
  }
  // Element counts must fit size_t/int64 for indexing.
  const auto n = CheckedMul(static_cast<uint64_t>(s.rows), static_cast<uint64_t>(s.cols));
  if (!n || *n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return InvalidArgumentError(fmt::format("FP8 weight [{}, {}] has too many elements", s.rows, s.cols));
  }
  return Status::Ok();
}

Status DequantizeFp8BlockScaled(std::span<const uint8_t> weights, std::span<const float> scale_inv,
                                const Fp8BlockScaledShape& s, std::span<float> out) {
  RETURN_IF_ERROR(CheckFp8BlockScaledShape(s));
  const uint64_t n = static_cast<uint64_t>(s.rows) * static_cast<uint64_t>(s.cols);
  const uint64_t n_scale = static_cast<uint64_t>(s.scale_rows) * static_cast<uint64_t>(s.scale_cols);
  if (weights.size() != n || out.size() != n || scale_inv.size() != n_scale) {
    return InvalidArgumentError(fmt::format(
        "FP8 weight [{}, {}]: buffers hold {} weights, {} outputs and {} scales; need {}, {} and {}", s.rows, s.cols,
        weights.size(), out.size(), scale_inv.size(), n, n, n_scale));
  }
  for (int64_t r = 0; r < s.rows; ++r) {
    const float* scale_row = scale_inv.data() + (r / s.block_rows) * s.scale_cols;
    const uint8_t* w = weights.data() + r * s.cols;
    float* o = out.data() + r * s.cols;
    for (int64_t c0 = 0; c0 < s.cols; c0 += s.block_cols) {
      const float scale = scale_row[c0 / s.block_cols];
      const int64_t c1 = std::min(s.cols, c0 + s.block_cols);
      for (int64_t c = c0; c < c1; ++c) o[c] = kTable[w[c]] * scale;
    }
  }
  return Status::Ok();
}

}  // namespace enclave
