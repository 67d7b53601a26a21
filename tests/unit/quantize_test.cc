// Weight quantizers (kernels/quantize.h) against the reference quantizers on committed data
// (tests/fixtures/quant/quant_reference.gguf): llama.cpp's ggml_quantize_chunk and the gguf
// package's numpy quantizers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "format/gguf_reader.h"
#include "kernels/kernels.h"
#include "kernels/quantize.h"
#include "test_util.h"

namespace enclave::kernels {
namespace {

using enclave::testing::SourcePath;

double Rmse(const std::vector<float>& a, const float* b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
  return std::sqrt(s / a.size());
}

// Our quantize->dequantize RMSE must not exceed the reference quantizers' on the same inputs
// (slack 0.1% for f32 summation-order noise in the scale search). Also reports how many blocks are
// bit-identical to llama.cpp's.
TEST(QuantizeTest, NoWorseThanLlamaCppAndGguf) {
  auto opened = GgufFile::Open(SourcePath("tests/fixtures/quant/quant_reference.gguf"));
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  const auto& ref = *opened;
  const char* kDists[] = {"normal", "student_t3", "uniform", "outliers", "positive", "scales", "special_rows"};
  for (DType type : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ4_K,
                     DType::kQ5_K, DType::kQ6_K}) {
    for (const char* dist : kDists) {
      const GgufTensorInfo* in = ref->FindTensor(std::string("input.") + dist);
      ASSERT_NE(in, nullptr);
      const int64_t cols = static_cast<int64_t>(in->dims[0]), rows = static_cast<int64_t>(in->dims[1]);
      const float* x = reinterpret_cast<const float*>(in->data.data());
      std::vector<uint8_t> q(rows * *RowBytes(type, cols));
      ASSERT_TRUE(QuantizeWeights(type, std::span<const float>(x, rows * cols), cols, q).ok());
      std::vector<float> back(rows * cols);
      RefKernels().dequantize(type)(q.data(), back.data(), rows * cols);
      const double ours = Rmse(back, x);
      const std::string key = std::string("ref.") + DTypeName(type) + "." + dist;
      const double llama = *ref->GetFloat(key + ".rmse_llamacpp");
      EXPECT_LE(ours, llama * 1.001 + 1e-12) << DTypeName(type) << " " << dist << ": ours " << ours
                                              << " llama.cpp " << llama;
      if (auto g = ref->GetFloat(key + ".rmse_gguf"); g.ok()) {
        EXPECT_LE(ours, *g * 1.001 + 1e-12) << DTypeName(type) << " " << dist << ": ours " << ours << " gguf " << *g;
      }
      const GgufTensorInfo* lq = ref->FindTensor(std::string("llamacpp.") + DTypeName(type) + "." + dist);
      ASSERT_NE(lq, nullptr);
      const size_t bb = Traits(type).block_bytes;
      size_t same = 0;
      for (size_t off = 0; off < q.size(); off += bb) same += std::memcmp(&q[off], &lq->data[off], bb) == 0;
      RecordProperty(key + ".identical_blocks", std::to_string(same) + "/" + std::to_string(q.size() / bb));
      std::printf("%-5s %-12s rmse ours %.6g llama.cpp %.6g (%.4fx); blocks identical to llama.cpp %zu/%zu\n",
                  DTypeName(type), dist, ours, llama, ours / llama, same, q.size() / bb);
    }
  }
}

TEST(QuantizeTest, ExtremeRowsStayFinite) {
  const int64_t n = 256;
  for (DType type : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ4_K,
                     DType::kQ5_K, DType::kQ6_K}) {
    for (float v : {0.0f, 1.0f, -3.5f, 1e-30f, 6e4f}) {
      std::vector<float> x(n, v);
      x[7] = v * 0.5f;
      std::vector<uint8_t> q(*RowBytes(type, n));
      QuantizeWeightsRow(type, x.data(), q.data(), n);
      std::vector<float> back(n);
      RefKernels().dequantize(type)(q.data(), back.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_TRUE(std::isfinite(back[i])) << DTypeName(type) << " v=" << v;
        ASSERT_NEAR(back[i], x[i], std::fabs(v) * 0.15f + 1e-6f) << DTypeName(type) << " v=" << v << " i=" << i;
      }
    }
  }
}

TEST(QuantizeTest, RejectsBadSizes) {
  std::vector<float> x(300);
  std::vector<uint8_t> out(1000);
  EXPECT_EQ(QuantizeWeights(DType::kQ4_K, x, 300, out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(QuantizeWeights(DType::kQ2_K, x, 256, out).code(), StatusCode::kUnsupported);
  EXPECT_EQ(QuantizeWeights(DType::kQ8_0, x, 7, out).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace enclave::kernels
