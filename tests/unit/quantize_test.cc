// Weight quantizers (kernels/quantize.h) against the reference quantizers on committed data
// (tests/fixtures/quant/quant_reference.gguf, made by scripts/ref/make_quant_fixtures.py):
// llama.cpp's ggml_quantize_chunk (no importance matrix) and the gguf package's numpy quantizers.
// Plus degenerate and extreme rows, argument validation and the IEEE conversions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "base/half.h"
#include "format/gguf_reader.h"
#include "kernels/kernels.h"
#include "kernels/quantize.h"
#include "test_util.h"

namespace enclave::kernels {
namespace {

using enclave::testing::SourcePath;

const DType kBlockTypes[] = {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0,
                             DType::kQ5_1, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

std::vector<float> QuantizeDequantize(DType type, const float* x, int64_t rows, int64_t cols) {
  std::vector<uint8_t> q(rows * *RowBytes(type, cols));
  const Status st = QuantizeWeights(type, std::span<const float>(x, rows * cols), cols, q);
  EXPECT_TRUE(st.ok()) << st.message();
  std::vector<float> back(rows * cols);
  RefKernels().dequantize(type)(q.data(), back.data(), rows * cols);
  return back;
}

double SumSquaredError(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
  return s;
}

// Our quantize->dequantize RMSE must not exceed either reference's on the same inputs; the
// allowed slack is 0.1 % (the fixture's RMSEs are computed by numpy in f64 from f32 values, ours in
// f64 from the same f32 values, so they agree far closer than that). Also reported: the per-row
// comparison with llama.cpp's bytes and how many blocks are bit-identical to them.
// One input distribution of tests/fixtures/quant/quant_reference.gguf for one type, with llama.cpp's
// RMSE on it.
struct ReferenceCase {
  DType type = DType::kF32;
  std::string dist, key;  // key: "ref.<type>.<dist>", the prefix of its metadata
  std::vector<float> x;
  int64_t rows = 0, cols = 0;
  double llama_rmse = 0;
};

// Calls fn(ref file, case) for every block type and distribution; false (with a test failure) when
// the fixture cannot be read.
template <typename Fn>
bool ForEachReferenceCase(Fn fn) {
  auto opened = GgufFile::Open(SourcePath("tests/fixtures/quant/quant_reference.gguf"));
  EXPECT_TRUE(opened.ok()) << opened.status().message()
                           << " (regenerate with scripts/ref/make_quant_fixtures.py, see tests/fixtures/quant/README.md)";
  if (!opened.ok()) return false;
  const auto& ref = *opened;
  const char* kDists[] = {"normal", "student_t3", "uniform", "outliers", "positive", "scales", "special_rows"};
  for (DType type : kBlockTypes) {
    for (const char* dist : kDists) {
      ReferenceCase c;
      c.type = type;
      c.dist = dist;
      c.key = std::string("ref.") + DTypeName(type) + "." + dist;
      const GgufTensorInfo* in = ref->FindTensor(std::string("input.") + dist);
      EXPECT_NE(in, nullptr) << dist;
      const auto llama_rmse = ref->GetFloat(c.key + ".rmse_llamacpp");
      EXPECT_TRUE(llama_rmse.ok()) << c.key;
      if (in == nullptr || !llama_rmse.ok()) return false;
      c.cols = static_cast<int64_t>(in->dims[0]);
      c.rows = static_cast<int64_t>(in->dims[1]);
      c.x.resize(c.rows * c.cols);
      std::memcpy(c.x.data(), in->data.data(), c.x.size() * sizeof(float));
      c.llama_rmse = *llama_rmse;
      fn(*ref, c);
    }
  }
  return true;
}

TEST(QuantizeTest, NoWorseThanReferenceQuantizers) {
  std::printf("type  distribution  RMSE ours  llama.cpp   ratio   rows worse (max ratio)  blocks identical\n");
  ForEachReferenceCase([](const GgufFile& ref, const ReferenceCase& c) {
    const int64_t n = c.rows * c.cols;
    const GgufTensorInfo* lq = ref.FindTensor(std::string("llamacpp.") + DTypeName(c.type) + "." + c.dist);
    ASSERT_NE(lq, nullptr) << c.key;
    std::vector<uint8_t> q(c.rows * *RowBytes(c.type, c.cols));
    ASSERT_TRUE(QuantizeWeights(c.type, c.x, c.cols, q).ok());
    ASSERT_EQ(q.size(), lq->data.size());
    std::vector<float> ours(n), theirs(n);
    RefKernels().dequantize(c.type)(q.data(), ours.data(), n);
    RefKernels().dequantize(c.type)(lq->data.data(), theirs.data(), n);
    const double rmse = std::sqrt(SumSquaredError(ours.data(), c.x.data(), n) / n);
    // Our dequantizer equals numpy's, so this recomputes the fixture's number.
    const double llama_check = std::sqrt(SumSquaredError(theirs.data(), c.x.data(), n) / n);
    EXPECT_NEAR(llama_check, c.llama_rmse, 1e-9 * c.llama_rmse + 1e-30) << c.key;
    EXPECT_LE(rmse, c.llama_rmse * 1.001) << c.key << ": ours " << rmse << ", llama.cpp " << c.llama_rmse;
    if (auto g = ref.GetFloat(c.key + ".rmse_gguf"); g.ok()) {
      EXPECT_LE(rmse, *g * 1.001) << c.key << ": ours " << rmse << ", gguf " << *g;
    }
    int rows_worse = 0;
    double worst_row = 0;  // largest per-row RMSE ratio ours / llama.cpp
    for (int64_t r = 0; r < c.rows; ++r) {
      const double a = SumSquaredError(ours.data() + r * c.cols, c.x.data() + r * c.cols, c.cols);
      const double b = SumSquaredError(theirs.data() + r * c.cols, c.x.data() + r * c.cols, c.cols);
      rows_worse += a > b * 1.001 * 1.001;
      if (b > 0) worst_row = std::max(worst_row, std::sqrt(a / b));
    }
    const size_t bb = Traits(c.type).block_bytes;
    size_t same = 0;
    for (size_t off = 0; off < q.size(); off += bb) same += std::memcmp(&q[off], &lq->data[off], bb) == 0;
    std::printf("%-5s %-13s %-10.4g %-11.4g %.4f  %2d/%-3lld %.4f  %zu/%zu\n", DTypeName(c.type), c.dist.c_str(), rmse,
                c.llama_rmse, rmse / c.llama_rmse, rows_worse, static_cast<long long>(c.rows), worst_row, same,
                q.size() / bb);
  });
}

// QuantEffort::kFast (on-load quantization) against the same references: it must stay at or below
// llama.cpp's reference quantizers' RMSE too (the legacy types try their closed form, so they can
// only be better; the K-quants keep their least-squares refits). Prints its cost next to kBest's.
TEST(QuantizeTest, FastEffortNoWorseThanLlamaCpp) {
  std::printf("type  distribution  fast / llama.cpp  best / llama.cpp\n");
  ForEachReferenceCase([](const GgufFile&, const ReferenceCase& c) {
    const int64_t n = c.rows * c.cols;
    double rmse[2];
    for (QuantEffort effort : {QuantEffort::kFast, QuantEffort::kBest}) {
      std::vector<uint8_t> q(c.rows * *RowBytes(c.type, c.cols));
      ASSERT_TRUE(QuantizeWeights(c.type, c.x, c.cols, q, effort).ok());
      std::vector<float> back(n);
      RefKernels().dequantize(c.type)(q.data(), back.data(), n);
      rmse[effort == QuantEffort::kBest] = std::sqrt(SumSquaredError(back.data(), c.x.data(), n) / n);
    }
    EXPECT_LE(rmse[0], c.llama_rmse * 1.001) << c.key << ": fast " << rmse[0] << ", llama.cpp " << c.llama_rmse;
    EXPECT_LE(rmse[1], rmse[0] * 1.001) << c.key << ": the full search lost to the fast one";
    std::printf("%-5s %-13s %.4f            %.4f\n", DTypeName(c.type), c.dist.c_str(), rmse[0] / c.llama_rmse,
                rmse[1] / c.llama_rmse);
  });
}

// llama-quantize's tensor_type_fallback: K-quants whose blocks do not divide the rows step down to
// a 32-element type, then to F16.
TEST(QuantizeTest, FallbackTypeForRowLength) {
  EXPECT_EQ(QuantTypeForRowLength(DType::kQ4_K, 2048), DType::kQ4_K);
  EXPECT_EQ(QuantTypeForRowLength(DType::kQ4_K, 10944), DType::kQ5_0);  // V2-Lite's dense FFN
  EXPECT_EQ(QuantTypeForRowLength(DType::kQ4_K, 1408), DType::kQ5_0);   // V2-Lite's experts
  EXPECT_EQ(QuantTypeForRowLength(DType::kQ6_K, 1408), DType::kQ8_0);
  EXPECT_EQ(QuantTypeForRowLength(DType::kQ5_K, 96), DType::kQ5_1);
  EXPECT_EQ(QuantTypeForRowLength(DType::kQ4_K, 48), DType::kF16);
  EXPECT_EQ(QuantTypeForRowLength(DType::kQ8_0, 64), DType::kQ8_0);
  EXPECT_EQ(QuantTypeForRowLength(DType::kQ8_0, 48), DType::kF16);
  EXPECT_EQ(QuantTypeForRowLength(DType::kF16, 7), DType::kF16);
}

// All-zero and constant rows are represented (almost) exactly: zero exactly, a constant c within
// the fp16 rounding of the one or two scale fields that encode it (2^-11 each, plus the f32
// products: 2^-9 |c| covers it). The constants are large enough (|c| >= 0.37) for every type's
// super-block scale (down to c / 4096 for Q6_K) to be a normal fp16 number; below that the fp16
// subnormal spacing (2^-24) bounds the precision of the scales instead.
TEST(QuantizeTest, ZeroAndConstantRows) {
  const int64_t n = 512;
  for (DType type : kBlockTypes) {
    for (float c : {0.0f, 1.0f, -3.5f, 0.37f, -0.5f, -6e4f}) {
      const std::vector<float> x(n, c);
      const auto y = QuantizeDequantize(type, x.data(), 1, n);
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_NEAR(y[i], c, std::ldexp(std::fabs(c), -9)) << DTypeName(type) << " c=" << c << " i=" << i;
      }
    }
  }
}

// Values fp16 scales cannot reach still give finite outputs: tiny rows decode to (near) zero, huge
// ones saturate at the largest scale (65504) with the right signs; never inf or NaN.
TEST(QuantizeTest, TinyAndHugeRowsStayFinite) {
  const int64_t n = 512;
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const float kMax = std::numeric_limits<float>::max();
  for (DType type : kBlockTypes) {
    for (float scale : {1e-30f, 1e-40f, 1e30f, kMax}) {
      for (bool constant : {true, false}) {
        std::vector<float> x(n);
        for (auto& v : x) v = constant ? scale : std::clamp(normal(rng), -1.0f, 1.0f) * scale;
        if (!constant) x[7] = -scale;  // the largest magnitude, negative
        const auto y = QuantizeDequantize(type, x.data(), 1, n);
        for (int64_t i = 0; i < n; ++i) {
          ASSERT_TRUE(std::isfinite(y[i])) << DTypeName(type) << " scale " << scale << " i " << i;
          if (scale < 1) {
            ASSERT_LE(std::fabs(y[i]), std::fabs(x[i]) + 1e-29f) << DTypeName(type) << " i " << i;
          }
        }
        if (scale > 1) {
          const int64_t big = constant ? 0 : 7;
          EXPECT_GE(std::fabs(y[big]), 65504.0f) << DTypeName(type) << " scale " << scale;
          EXPECT_EQ(std::signbit(y[big]), std::signbit(x[big])) << DTypeName(type) << " scale " << scale;
        }
      }
    }
  }
}

// The row function must not misbehave on non-finite input (QuantizeWeights rejects it): NaN counts
// as 0, infinities as +-FLT_MAX, and the block still decodes to finite values.
TEST(QuantizeTest, RowFunctionToleratesNonFinite) {
  const int64_t n = 256;
  for (DType type : kBlockTypes) {
    std::vector<float> x(n, 0.5f);
    x[3] = std::numeric_limits<float>::quiet_NaN();
    x[40] = std::numeric_limits<float>::infinity();
    x[41] = -std::numeric_limits<float>::infinity();
    std::vector<uint8_t> q(*RowBytes(type, n));
    QuantizeWeightsRow(type, x.data(), q.data(), n);
    std::vector<float> y(n);
    RefKernels().dequantize(type)(q.data(), y.data(), n);
    for (float v : y) ASSERT_TRUE(std::isfinite(v)) << DTypeName(type);
  }
}

TEST(QuantizeTest, ValidatesArguments) {
  std::vector<float> x(512, 1.0f);
  std::vector<uint8_t> out(*RowBytes(DType::kQ4_K, 256) * 2);
  EXPECT_TRUE(QuantizeWeights(DType::kQ4_K, x, 256, out).ok());
  EXPECT_EQ(QuantizeWeights(DType::kQ2_K, x, 256, out).code(), StatusCode::kUnsupported);
  EXPECT_EQ(QuantizeWeights(DType::kQ8_K, x, 256, out).code(), StatusCode::kUnsupported);
  EXPECT_EQ(QuantizeWeights(DType::kQ4_K, x, 128, out).code(), StatusCode::kInvalidArgument);  // not a multiple of 256
  EXPECT_EQ(QuantizeWeights(DType::kQ4_K, x, 0, out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(QuantizeWeights(DType::kQ4_K, x, -256, out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(QuantizeWeights(DType::kQ4_K, std::span<const float>(x.data(), 300), 256, out).code(),
            StatusCode::kInvalidArgument);  // 300 values are not rows of 256
  std::vector<uint8_t> small(out.size() - 1), big(out.size() + *RowBytes(DType::kQ4_K, 256));
  EXPECT_EQ(QuantizeWeights(DType::kQ4_K, x, 256, small).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(QuantizeWeights(DType::kQ4_K, x, 256, big).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(QuantizeWeights(DType::kQ8_0, x, 7, out).code(), StatusCode::kInvalidArgument);

  x[256 + 5] = std::numeric_limits<float>::quiet_NaN();
  const Status nan = QuantizeWeights(DType::kQ4_K, x, 256, out);
  EXPECT_EQ(nan.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(nan.message().find("row 1, column 5"), std::string::npos) << nan.message();
  x[256 + 5] = 1.0f;

  std::vector<uint8_t> f16(512 * 2);
  x[100] = 65504.0f;
  EXPECT_TRUE(QuantizeWeights(DType::kF16, x, 256, f16).ok());
  x[100] = 1e6f;
  const Status range = QuantizeWeights(DType::kF16, x, 256, f16);
  EXPECT_EQ(range.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(range.message().find("row 0, column 100"), std::string::npos) << range.message();
}

// QuantizeWeights equals row-by-row QuantizeWeightsRow, and the output is the same on every run.
TEST(QuantizeTest, MatrixEqualsRowsAndIsDeterministic) {
  std::mt19937_64 rng(9);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  const int64_t rows = 4, cols = 512;
  std::vector<float> x(rows * cols);
  for (auto& v : x) v = normal(rng);
  for (DType type : kBlockTypes) {
    const uint64_t rb = *RowBytes(type, cols);
    std::vector<uint8_t> a(rows * rb), b(rows * rb), r(rows * rb);
    ASSERT_TRUE(QuantizeWeights(type, x, cols, a).ok());
    ASSERT_TRUE(QuantizeWeights(type, x, cols, b).ok());
    for (int64_t i = 0; i < rows; ++i) QuantizeWeightsRow(type, x.data() + i * cols, r.data() + i * rb, cols);
    EXPECT_EQ(a, b) << DTypeName(type);
    EXPECT_EQ(a, r) << DTypeName(type);
  }
}

// F32 is a copy; F16 and BF16 round to nearest even (hand-derived ties).
TEST(QuantizeTest, FloatConversions) {
  const std::vector<float> x = {1.0f + std::ldexp(1.0f, -11),      // F16 tie -> 1.0 (even)
                                1.0f + 3 * std::ldexp(1.0f, -11),  // F16 tie -> 1 + 2^-9 (even)
                                1.0f + std::ldexp(1.0f, -8),       // BF16 tie -> 1.0
                                -2.5f};
  std::vector<uint8_t> f32(x.size() * 4), f16(x.size() * 2), bf16(x.size() * 2);
  ASSERT_TRUE(QuantizeWeights(DType::kF32, x, 1, f32).ok());
  ASSERT_TRUE(QuantizeWeights(DType::kF16, x, 1, f16).ok());
  ASSERT_TRUE(QuantizeWeights(DType::kBF16, x, 1, bf16).ok());
  EXPECT_EQ(std::memcmp(f32.data(), x.data(), f32.size()), 0);
  std::vector<float> y16(x.size()), yb(x.size());
  RefKernels().dequantize(DType::kF16)(f16.data(), y16.data(), x.size());
  RefKernels().dequantize(DType::kBF16)(bf16.data(), yb.data(), x.size());
  EXPECT_EQ(y16[0], 1.0f);
  EXPECT_EQ(y16[1], 1.0f + std::ldexp(1.0f, -9));
  EXPECT_EQ(y16[3], -2.5f);
  EXPECT_EQ(yb[2], 1.0f);
  EXPECT_EQ(yb[3], -2.5f);
}

}  // namespace
}  // namespace enclave::kernels
