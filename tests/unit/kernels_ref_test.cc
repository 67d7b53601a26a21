// Reference kernels against independent oracles: dequantization equals the `gguf` package's numpy
// dequantizers bit for bit; weight quantizers are no worse than llama.cpp's and the gguf
// package's on the same data; dot products agree with dequantize-then-multiply.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "base/half.h"
#include "format/gguf_reader.h"
#include "kernels/kernels.h"
#include "kernels/quant_blocks.h"
#include "kernels/quantize.h"
#include "test_util.h"

namespace enclave::kernels {
namespace {

using enclave::testing::SourcePath;

std::unique_ptr<GgufFile> OpenFixture(const std::string& rel) {
  auto f = GgufFile::Open(SourcePath(rel));
  EXPECT_TRUE(f.ok()) << f.status().message();
  return f.ok() ? std::move(f).value() : nullptr;
}

TEST(RefKernelsTest, DequantizeMatchesGgufPackageBitForBit) {
  auto quant = OpenFixture("tests/fixtures/gguf/all_types.gguf");
  auto expected = OpenFixture("tests/fixtures/gguf/all_types.dequant.gguf");
  ASSERT_TRUE(quant && expected);
  int checked = 0;
  for (const auto& t : quant->tensors()) {
    const GgufTensorInfo* e = expected->FindTensor(t.name);
    ASSERT_NE(e, nullptr) << t.name;
    ASSERT_EQ(e->n_elements, t.n_elements);
    auto fn = RefKernels().dequantize(t.type);
    ASSERT_NE(fn, nullptr) << t.name;
    std::vector<float> ours(t.n_elements);
    fn(t.data.data(), ours.data(), static_cast<int64_t>(t.n_elements));
    const float* ref = reinterpret_cast<const float*>(e->data.data());
    for (uint64_t i = 0; i < t.n_elements; ++i) {
      ASSERT_EQ(BitsFromF32(ours[i]), BitsFromF32(ref[i]))
          << t.name << " element " << i << ": ours " << ours[i] << " numpy " << ref[i]
          << " (regenerate with: .venv/bin/python scripts/ref/make_gguf_fixtures.py)";
    }
    ++checked;
  }
  EXPECT_EQ(checked, 13);
}

std::vector<float> RandomRow(std::mt19937_64& rng, int64_t n, float scale) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

TEST(RefKernelsTest, ActivationQuantizersRoundToNearest) {
  std::mt19937_64 rng(1);
  const int64_t n = 512;
  auto x = RandomRow(rng, n, 1.0f);
  x[3] = 0.0f;
  std::vector<BlockQ8_K> q8k(n / kQKK);
  RefKernels().quantize_act(DType::kQ8_K)(x.data(), q8k.data(), n);
  std::vector<float> back(n);
  RefKernels().dequantize(DType::kQ8_K)(q8k.data(), back.data(), n);
  for (int64_t i = 0; i < n; ++i) {
    const auto& b = q8k[i / kQKK];
    // |x - d*q| <= d/2 (plus the rounding of d*q itself).
    EXPECT_LE(std::fabs(x[i] - back[i]), b.d * 0.5f * (1 + 1e-6f) + 1e-7f) << i;
  }
  for (const auto& b : q8k) {
    for (int g = 0; g < 16; ++g) {
      int s = 0;
      for (int j = 0; j < 16; ++j) s += b.qs[16 * g + j];
      EXPECT_EQ(b.bsums[g], s);
    }
  }
  std::vector<BlockQ8_1> q81(n / kQK);
  RefKernels().quantize_act(DType::kQ8_1)(x.data(), q81.data(), n);
  for (const auto& b : q81) {
    int s = 0;
    for (int j = 0; j < kQK; ++j) s += b.qs[j];
    // s is d * sum(q), rounded once to fp16 (d itself is the fp16-rounded amax/127 here only
    // through the stored value, so allow the fp16 rounding of both).
    const float expect = static_cast<float>(s) * Fp16ToF32(b.d);
    EXPECT_NEAR(Fp16ToF32(b.s), expect, std::fabs(expect) * std::ldexp(1.0f, -9) + 1e-7f);
  }
}

// For every weight type: ref vec_dot(w, quantize_act(x)) equals sum_i dequant(w)_i * dequant(a)_i
// up to the f32 rounding of per-block products and the block sum (bounded by 8 eps per block
// magnitude), plus, for Q4_1/Q5_1, the fp16 rounding of the activation block sum s (2^-11 |m s|).
TEST(RefKernelsTest, DotEqualsDequantizedDot) {
  std::mt19937_64 rng(2);
  const int64_t n = 1024;
  for (DType wt : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0,
                   DType::kQ5_1, DType::kQ8_0, DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K,
                   DType::kQ6_K}) {
    const DType at = VecDotType(wt);
    for (int rep = 0; rep < 20; ++rep) {
      auto wf = RandomRow(rng, n, 0.05f);
      auto xf = RandomRow(rng, n, 1.0f);
      std::vector<uint8_t> wq(*RowBytes(wt, n)), aq(*RowBytes(at, n));
      if (CanQuantizeWeights(wt)) {
        QuantizeWeightsRow(wt, wf.data(), wq.data(), n);
      } else {
        // Q2_K / Q3_K: random bytes with finite fp16 scales.
        for (auto& b : wq) b = static_cast<uint8_t>(rng());
        const int64_t bb = Traits(wt).block_bytes;
        for (int64_t off = 0; off < static_cast<int64_t>(wq.size()); off += bb) {
          const uint16_t d = F32ToFp16(0.001f * (1 + rng() % 100));
          if (wt == DType::kQ2_K) { std::memcpy(&wq[off + 80], &d, 2); std::memcpy(&wq[off + 82], &d, 2); }
          if (wt == DType::kQ3_K) std::memcpy(&wq[off + 108], &d, 2);
        }
      }
      RefKernels().quantize_act(at)(xf.data(), aq.data(), n);
      std::vector<float> wd(n), ad(n);
      RefKernels().dequantize(wt)(wq.data(), wd.data(), n);
      RefKernels().dequantize(at == DType::kF32 ? DType::kF32 : at)(aq.data(), ad.data(), n);
      double exact = 0, mag = 0;
      for (int64_t i = 0; i < n; ++i) {
        exact += static_cast<double>(wd[i]) * ad[i];
        mag += std::fabs(static_cast<double>(wd[i]) * ad[i]);
      }
      double tol = 8 * (n / Traits(wt).block_elems + 8) * 6e-8 * mag;
      if (wt == DType::kQ4_1 || wt == DType::kQ5_1) {
        // m * s term: s is fp16-rounded (2^-11 relative), and the dequantized view uses d*q + m.
        const auto* blocks = reinterpret_cast<const uint8_t*>(aq.data());
        for (int64_t b = 0; b < n / kQK; ++b) {
          BlockQ8_1 a;
          std::memcpy(&a, blocks + b * sizeof(BlockQ8_1), sizeof a);
          uint16_t m;
          std::memcpy(&m, wq.data() + b * Traits(wt).block_bytes + 2, 2);
          double s = 0;
          for (int j = 0; j < kQK; ++j) s += a.qs[j];
          tol += std::fabs(Fp16ToF32(m)) * std::fabs(s * Fp16ToF32(a.d)) * std::ldexp(1.0, -10);
        }
      }
      const float got = RefKernels().dot(wt)(n, wq.data(), aq.data());
      ASSERT_NEAR(got, exact, tol) << DTypeName(wt) << " rep " << rep;
    }
  }
}

struct QuantCase {
  DType type;
  const char* name;
};

double Rmse(const std::vector<float>& a, const float* b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
  return std::sqrt(s / a.size());
}

// Our quantize->dequantize RMSE must not exceed the reference quantizers' on the same inputs
// (slack 0.1% for f32 summation-order noise in the scale search). Also reports how many blocks are
// bit-identical to llama.cpp's.
TEST(QuantizeTest, NoWorseThanLlamaCppAndGguf) {
  auto ref = OpenFixture("tests/fixtures/quant/quant_reference.gguf");
  ASSERT_TRUE(ref);
  const char* kDists[] = {"normal", "student_t3", "uniform", "outliers", "positive", "special_rows"};
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
