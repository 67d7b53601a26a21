// The scalar reference kernels against independent oracles: dequantization equals the `gguf`
// package's numpy dequantizers bit for bit (tests/fixtures/quant/dequant_reference.bin, and the
// GGUF fixture's all-types file); Q8_1/Q8_K dequantization and the activation quantizers follow
// their definitions (docs/quant-formats.md); every dot product equals the dot product of the
// dequantized rows within the rounding of its f32 block sums.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "base/half.h"
#include "format/gguf_reader.h"
#include "kernels/kernels.h"
#include "kernels/quant_blocks.h"
#include "kernels/quantize.h"
#include "test_util.h"

namespace enclave::kernels {
namespace {

using enclave::testing::ReadTextFile;
using enclave::testing::SourcePath;

constexpr const char* kRegenerate =
    "regenerate with: .venv/bin/python scripts/ref/make_quant_fixtures.py --dequant-only";

// One record of dequant_reference.bin (format: tests/fixtures/quant/README.md).
struct DequantRecord {
  uint32_t type_id = 0;
  std::vector<uint8_t> bytes;
  std::vector<float> values;
};

// Parses the fixture; fails the calling test (and returns what it has) on any malformed field.
std::vector<DequantRecord> ReadDequantReference() {
  const std::string data = ReadTextFile(SourcePath("tests/fixtures/quant/dequant_reference.bin"));
  std::vector<DequantRecord> records;
  size_t pos = 0;
  auto take = [&](void* out, size_t n) {
    if (data.size() - pos < n) return false;
    std::memcpy(out, data.data() + pos, n);
    pos += n;
    return true;
  };
  char magic[4];
  uint32_t version = 0, count = 0;
  if (!take(magic, 4) || std::memcmp(magic, "EQDQ", 4) != 0 || !take(&version, 4) || version != 1 ||
      !take(&count, 4)) {
    ADD_FAILURE() << "dequant_reference.bin: bad header; " << kRegenerate;
    return records;
  }
  for (uint32_t r = 0; r < count; ++r) {
    DequantRecord rec;
    uint32_t n_elems = 0, n_bytes = 0;
    if (!take(&rec.type_id, 4) || !take(&n_elems, 4) || !take(&n_bytes, 4) || data.size() - pos < n_bytes) {
      ADD_FAILURE() << "dequant_reference.bin: record " << r << " truncated; " << kRegenerate;
      return records;
    }
    rec.bytes.resize(n_bytes);
    rec.values.resize(n_elems);
    if (!take(rec.bytes.data(), n_bytes) || !take(rec.values.data(), sizeof(float) * n_elems)) {
      ADD_FAILURE() << "dequant_reference.bin: record " << r << " truncated; " << kRegenerate;
      return records;
    }
    records.push_back(std::move(rec));
  }
  EXPECT_EQ(pos, data.size()) << "trailing bytes in dequant_reference.bin";
  return records;
}

TEST(RefDequantizeTest, MatchesNumpyOracleBitForBit) {
  const auto records = ReadDequantReference();
  std::vector<DType> seen;
  for (const auto& rec : records) {
    const auto traits = TraitsOf(rec.type_id);
    ASSERT_TRUE(traits.has_value()) << "type id " << rec.type_id;
    const DType type = traits->type;
    const int64_t n = static_cast<int64_t>(rec.values.size());
    ASSERT_EQ(RowBytes(type, n), rec.bytes.size()) << DTypeName(type);
    const DequantizeRowFn fn = RefKernels().dequantize(type);
    ASSERT_NE(fn, nullptr) << DTypeName(type);
    std::vector<float> ours(n);
    fn(rec.bytes.data(), ours.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(BitsFromF32(ours[i]), BitsFromF32(rec.values[i]))
          << DTypeName(type) << " element " << i << " (block " << i / traits->block_elems << "): ours " << ours[i]
          << ", numpy " << rec.values[i] << "; " << kRegenerate;
    }
    seen.push_back(type);
  }
  const std::vector<DType> expected = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0, DType::kQ4_1,
                                       DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ2_K, DType::kQ3_K,
                                       DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};
  EXPECT_EQ(seen, expected);
}

// The GGUF reader's fixture (tests/fixtures/gguf/, scripts/ref/make_gguf_fixtures.py): the same
// oracle on other random blocks, read through the GGUF reader.
TEST(RefDequantizeTest, MatchesNumpyOracleOnGgufFixture) {
  auto quant = GgufFile::Open(SourcePath("tests/fixtures/gguf/all_types.gguf"));
  auto expected = GgufFile::Open(SourcePath("tests/fixtures/gguf/all_types.dequant.gguf"));
  ASSERT_TRUE(quant.ok()) << quant.status().message();
  ASSERT_TRUE(expected.ok()) << expected.status().message();
  int checked = 0;
  for (const auto& t : (*quant)->tensors()) {
    const GgufTensorInfo* e = (*expected)->FindTensor(t.name);
    ASSERT_NE(e, nullptr) << t.name;
    ASSERT_EQ(e->n_elements, t.n_elements);
    const DequantizeRowFn fn = RefKernels().dequantize(t.type);
    ASSERT_NE(fn, nullptr) << t.name;
    std::vector<float> ours(t.n_elements);
    fn(t.data.data(), ours.data(), static_cast<int64_t>(t.n_elements));
    for (uint64_t i = 0; i < t.n_elements; ++i) {
      float ref;
      std::memcpy(&ref, e->data.data() + 4 * i, 4);
      ASSERT_EQ(BitsFromF32(ours[i]), BitsFromF32(ref)) << t.name << " element " << i;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 13);
}

// Random block bytes with a finite fp16 (or f32 for Q8_K) scale in every block.
template <typename Block>
std::vector<Block> RandomBlocks(std::mt19937_64& rng, int count) {
  std::vector<Block> blocks(count);
  auto* bytes = reinterpret_cast<uint8_t*>(blocks.data());
  for (size_t i = 0; i < blocks.size() * sizeof(Block); ++i) bytes[i] = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(-2.0f, 2.0f);
  for (auto& b : blocks) {
    if constexpr (std::is_same_v<Block, BlockQ8_K>) {
      b.d = scale(rng);
    } else {
      b.d = F32ToFp16(scale(rng));
    }
  }
  return blocks;
}

// Q8_1 and Q8_K are not in the gguf package: y = d * q by definition (one f32 product each).
TEST(RefDequantizeTest, Q8_1AndQ8_KAreScaleTimesQuant) {
  std::mt19937_64 rng(11);
  const auto q81 = RandomBlocks<BlockQ8_1>(rng, 8);
  std::vector<float> y(8 * kQK);
  RefKernels().dequantize(DType::kQ8_1)(q81.data(), y.data(), 8 * kQK);
  for (int i = 0; i < 8 * kQK; ++i) {
    const auto& b = q81[i / kQK];
    ASSERT_EQ(BitsFromF32(y[i]), BitsFromF32(Fp16ToF32(b.d) * static_cast<float>(b.qs[i % kQK]))) << i;
  }
  const auto q8k = RandomBlocks<BlockQ8_K>(rng, 4);
  y.assign(4 * kQKK, 0.0f);
  RefKernels().dequantize(DType::kQ8_K)(q8k.data(), y.data(), 4 * kQKK);
  for (int i = 0; i < 4 * kQKK; ++i) {
    const auto& b = q8k[i / kQKK];
    ASSERT_EQ(BitsFromF32(y[i]), BitsFromF32(b.d * static_cast<float>(b.qs[i % kQKK]))) << i;
  }
}

std::vector<float> RandomRow(std::mt19937_64& rng, int64_t n, float sigma) {
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Rows for the activation-quantizer tests: random, with an all-zero block, a block whose largest
// magnitude is negative, exact ties of x/d at .5, and a huge and a tiny block.
std::vector<float> ActivationTestRow(std::mt19937_64& rng, int64_t n) {
  auto x = RandomRow(rng, n, 1.0f);
  std::fill(x.begin(), x.begin() + 256, 0.0f);  // block 0 (and all 32-blocks in it) zero
  x[256] = -9.0f;                               // negative extreme
  // Block 512..543 has d = 63.5/127 = 0.5 exactly and x/d = j + 0.5 for j < 31: all ties.
  for (int j = 0; j < 31; ++j) x[512 + j] = 0.25f + 0.5f * static_cast<float>(j);
  x[512 + 31] = 63.5f;
  for (int j = 768; j < 1024; ++j) x[j] *= 1e30f;
  for (int j = 1024; j < 1280; ++j) x[j] *= 1e-30f;
  return x;
}

// Q8_0 / Q8_1: d = amax/127 in f32, stored rounded to fp16; q = round-half-even(x * (1/d)); s =
// fp16(d * sum(q)) with the unrounded d. Checked against the definition and against its error
// bound |x - fp16(d)*q| <= d/2 + 127 |d - fp16(d)|.
template <typename Block>
void CheckQ8Blocks(const std::vector<float>& x, const std::vector<Block>& blocks) {
  for (size_t b = 0; b < blocks.size(); ++b) {
    const float* xb = x.data() + b * kQK;
    float amax = 0;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(xb[j]));
    const float d = amax / 127.0f;
    ASSERT_EQ(blocks[b].d, F32ToFp16(d)) << "block " << b;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int sum = 0, max_abs_q = 0;
    for (int j = 0; j < kQK; ++j) {
      const int q = blocks[b].qs[j];
      ASSERT_EQ(q, static_cast<int>(std::nearbyint(xb[j] * id))) << "block " << b << " j " << j;
      ASSERT_LE(std::abs(q), 127);
      const float dd = Fp16ToF32(blocks[b].d);
      if (std::isfinite(dd)) {
        // d/2 from rounding, plus the f32 roundings of 1/d, x*id and dd*q (each <= 2^-24 of ~127 d).
        ASSERT_LE(std::fabs(xb[j] - dd * q), d * (0.5f + 1e-4f) + 127 * std::fabs(d - dd)) << b << " " << j;
      }
      sum += q;
      max_abs_q = std::max(max_abs_q, std::abs(q));
    }
    EXPECT_EQ(max_abs_q, amax > 0 ? 127 : 0);
    if constexpr (std::is_same_v<Block, BlockQ8_1>) {
      ASSERT_EQ(blocks[b].s, F32ToFp16(static_cast<float>(sum) * d)) << "block " << b;
    }
  }
}

TEST(RefActivationTest, Q8_0AndQ8_1FollowDefinition) {
  std::mt19937_64 rng(1);
  const int64_t n = 1536;
  const auto x = ActivationTestRow(rng, n);
  std::vector<BlockQ8_0> q80(n / kQK);
  RefKernels().quantize_act(DType::kQ8_0)(x.data(), q80.data(), n);
  CheckQ8Blocks(x, q80);
  std::vector<BlockQ8_1> q81(n / kQK);
  RefKernels().quantize_act(DType::kQ8_1)(x.data(), q81.data(), n);
  CheckQ8Blocks(x, q81);
  // The ties of block 16 (d = 0.5): 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4 (half to even).
  EXPECT_EQ(Fp16ToF32(q80[16].d), 0.5f);
  EXPECT_EQ(q80[16].qs[0], 0);
  EXPECT_EQ(q80[16].qs[1], 2);
  EXPECT_EQ(q80[16].qs[2], 2);
  EXPECT_EQ(q80[16].qs[3], 4);
}

// Q8_K: d = amax/127 kept in f32 (positive; the extreme maps to +-127, never -128, so the SIMD
// sign trick stays exact), q = round-half-even(x * (1/d)), bsums[g] = sum of q[16g .. 16g+15].
TEST(RefActivationTest, Q8_KFollowsDefinitionAndBsums) {
  std::mt19937_64 rng(3);
  const int64_t n = 1536;
  const auto x = ActivationTestRow(rng, n);
  std::vector<BlockQ8_K> q(n / kQKK);
  RefKernels().quantize_act(DType::kQ8_K)(x.data(), q.data(), n);
  std::vector<float> back(n);
  RefKernels().dequantize(DType::kQ8_K)(q.data(), back.data(), n);
  for (size_t b = 0; b < q.size(); ++b) {
    const float* xb = x.data() + b * kQKK;
    float amax = 0;
    for (int j = 0; j < kQKK; ++j) amax = std::max(amax, std::fabs(xb[j]));
    const float d = amax / 127.0f;
    ASSERT_EQ(BitsFromF32(q[b].d), BitsFromF32(d)) << b;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int max_abs_q = 0;
    for (int j = 0; j < kQKK; ++j) {
      ASSERT_EQ(q[b].qs[j], static_cast<int>(std::nearbyint(xb[j] * id))) << b << " " << j;
      ASSERT_LE(std::fabs(xb[j] - back[b * kQKK + j]), d * (0.5f + 1e-4f)) << b << " " << j;
      max_abs_q = std::max(max_abs_q, std::abs(static_cast<int>(q[b].qs[j])));
    }
    EXPECT_EQ(max_abs_q, amax > 0 ? 127 : 0) << b;
    for (int g = 0; g < kQKK / 16; ++g) {
      int s = 0;
      for (int j = 0; j < 16; ++j) s += q[b].qs[16 * g + j];
      ASSERT_EQ(q[b].bsums[g], s) << b << " " << g;
    }
  }
  EXPECT_EQ(q[0].d, 0.0f);  // the all-zero block: no division by zero, all q = 0
  EXPECT_EQ(q[1].qs[0], -127);
}

// BF16: round to nearest, ties to even; NaN stays a (quiet) NaN, infinities stay infinite.
TEST(RefActivationTest, Bf16RoundsToNearestEven) {
  const float one = 1.0f, ulp = std::ldexp(1.0f, -7);  // bf16 spacing at 1
  const std::vector<std::pair<float, float>> cases = {
      {one + ulp / 2, one},                       // tie, 1.0 is even
      {one + 3 * ulp / 2, one + 2 * ulp},         // tie, rounds up to even
      {one + ulp / 2 + ulp / 64, one + ulp},      // above the tie
      {-(one + ulp / 2), -one},
      {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity()},
      {std::numeric_limits<float>::max(), std::numeric_limits<float>::infinity()},  // overflows like F32->bf16 RNE
      {std::ldexp(1.0f, -130), std::ldexp(1.0f, -130)},                            // subnormal kept exactly
  };
  std::vector<float> in, out(cases.size() + 1);
  for (const auto& c : cases) in.push_back(c.first);
  in.push_back(std::numeric_limits<float>::quiet_NaN());
  std::vector<uint16_t> q(in.size());
  RefKernels().quantize_act(DType::kBF16)(in.data(), q.data(), static_cast<int64_t>(in.size()));
  RefKernels().dequantize(DType::kBF16)(q.data(), out.data(), static_cast<int64_t>(in.size()));
  for (size_t i = 0; i < cases.size(); ++i) EXPECT_EQ(out[i], cases[i].second) << "case " << i;
  EXPECT_TRUE(std::isnan(out.back()));
}

const DType kWeightTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0, DType::kQ4_1,
                              DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ2_K, DType::kQ3_K,
                              DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

TEST(RefKernelsTest, TableIsComplete) {
  const KernelTable& t = RefKernels();
  EXPECT_EQ(t.isa, Isa::kScalar);
  for (DType w : kWeightTypes) {
    EXPECT_NE(t.dot(w), nullptr) << DTypeName(w);
    EXPECT_NE(t.dequantize(w), nullptr) << DTypeName(w);
    EXPECT_NE(t.quantize_act(VecDotType(w)), nullptr) << DTypeName(w);
  }
  for (DType a : {DType::kQ8_1, DType::kQ8_K}) EXPECT_NE(t.dequantize(a), nullptr) << DTypeName(a);
}

// Writes a weight row of type `wt`: through the weight quantizer where there is one, else random
// bytes with finite fp16 scales (Q2_K, Q3_K).
std::vector<uint8_t> WeightRow(std::mt19937_64& rng, DType wt, int64_t n) {
  std::vector<uint8_t> wq(*RowBytes(wt, n));
  if (CanQuantizeWeights(wt)) {
    const auto wf = RandomRow(rng, n, 0.05f);
    QuantizeWeightsRow(wt, wf.data(), wq.data(), n);
    return wq;
  }
  for (auto& b : wq) b = static_cast<uint8_t>(rng());
  const int64_t bb = Traits(wt).block_bytes;
  std::uniform_real_distribution<float> scale(-0.01f, 0.01f);
  for (size_t off = 0; off < wq.size(); off += bb) {
    const uint16_t d = F32ToFp16(scale(rng)), dmin = F32ToFp16(scale(rng));
    if (wt == DType::kQ2_K) {
      std::memcpy(&wq[off + offsetof(BlockQ2_K, d)], &d, 2);
      std::memcpy(&wq[off + offsetof(BlockQ2_K, dmin)], &dmin, 2);
    } else {
      std::memcpy(&wq[off + offsetof(BlockQ3_K, d)], &d, 2);
    }
  }
  return wq;
}

// Byte range of the quantized values (not the scales) in a block of the types with an offset term
// (d*q + m or d*sc*q - dmin*m); {0, 0} for the others.
std::pair<size_t, size_t> QuantBytes(DType t) {
  switch (t) {
    case DType::kQ4_1: return {offsetof(BlockQ4_1, qs), sizeof(BlockQ4_1)};
    case DType::kQ5_1: return {offsetof(BlockQ5_1, qh), sizeof(BlockQ5_1)};
    case DType::kQ2_K: return {offsetof(BlockQ2_K, qs), offsetof(BlockQ2_K, d)};
    case DType::kQ4_K: return {offsetof(BlockQ4_K, qs), sizeof(BlockQ4_K)};
    case DType::kQ5_K: return {offsetof(BlockQ5_K, qh), sizeof(BlockQ5_K)};
    default: return {0, 0};
  }
}

// For every weight type: vec_dot(w, quantize_act(x)) equals sum_i dequant(w)_i * dequant(a)_i
// (computed in double) within the f32 rounding of the dot. Inside a block the integer sums are
// exact; each block term then takes at most 6 f32 roundings (int->float, scale products, the
// offset term and its subtraction) and the running sum over B blocks adds B more, so the error is
// at most (B + 6) u sum_i (|scale part_i| + |offset part_i|) |a_i| with u = 2^-24. The offset part
// (m, or -dmin*m) is what the block dequantizes to with its quantized values zeroed, so the bound
// is computed from dequantized data only. We test with twice that. Q4_1/Q5_1 add the fp16
// rounding of the activation block sum s = fp16(d * sum q): 2^-11 |m| |d sum q| per block.
TEST(RefKernelsTest, DotEqualsDequantizedDot) {
  std::mt19937_64 rng(2);
  for (DType wt : kWeightTypes) {
    const DType at = VecDotType(wt);
    const int64_t bb = Traits(wt).block_bytes;
    for (int64_t n : {256, 1024, 4096}) {
      for (int rep = 0; rep < 10; ++rep) {
        const auto wq = WeightRow(rng, wt, n);
        const auto xf = RandomRow(rng, n, 1.0f);
        std::vector<uint8_t> aq(*RowBytes(at, n));
        RefKernels().quantize_act(at)(xf.data(), aq.data(), n);
        std::vector<float> wd(n), ad(n), offset(n, 0.0f);
        RefKernels().dequantize(wt)(wq.data(), wd.data(), n);
        RefKernels().dequantize(at)(aq.data(), ad.data(), n);
        if (const auto [lo, hi] = QuantBytes(wt); hi > 0) {
          auto zeroed = wq;
          for (size_t off = 0; off < zeroed.size(); off += bb) std::memset(&zeroed[off + lo], 0, hi - lo);
          RefKernels().dequantize(wt)(zeroed.data(), offset.data(), n);
        }
        double exact = 0, mag = 0;
        for (int64_t i = 0; i < n; ++i) {
          exact += static_cast<double>(wd[i]) * ad[i];
          mag += (std::fabs(static_cast<double>(wd[i]) - offset[i]) + std::fabs(offset[i])) * std::fabs(ad[i]);
        }
        const double blocks = static_cast<double>(n / Traits(wt).block_elems);
        double tol = 2 * (blocks + 6) * std::ldexp(1.0, -24) * mag;
        if (wt == DType::kQ4_1 || wt == DType::kQ5_1) {
          for (int64_t b = 0; b < n / kQK; ++b) {
            BlockQ8_1 a;
            std::memcpy(&a, aq.data() + b * sizeof(BlockQ8_1), sizeof a);
            uint16_t m;
            std::memcpy(&m, wq.data() + b * bb + 2, 2);
            double s = 0;
            for (int j = 0; j < kQK; ++j) s += a.qs[j];
            tol += std::fabs(Fp16ToF32(m)) * std::fabs(s * Fp16ToF32(a.d)) * std::ldexp(1.0, -10);
          }
        }
        const float got = RefKernels().dot(wt)(n, wq.data(), aq.data());
        ASSERT_NEAR(got, exact, tol) << DTypeName(wt) << " n " << n << " rep " << rep;
      }
    }
  }
}

// Known answers derived by hand from the block definitions.
TEST(RefKernelsTest, DotKnownAnswers) {
  // Q8_0 x Q8_0: d_w = 1, q_w = 1..32; d_a = 0.5, q_a = 2: 0.5 * 2 * (1 + ... + 32) = 528.
  BlockQ8_0 w{}, a{};
  w.d = F32ToFp16(1.0f);
  a.d = F32ToFp16(0.5f);
  for (int j = 0; j < kQK; ++j) {
    w.qs[j] = static_cast<int8_t>(j + 1);
    a.qs[j] = 2;
  }
  EXPECT_EQ(RefKernels().dot(DType::kQ8_0)(kQK, &w, &a), 528.0f);

  // Q4_1 x Q8_1: d = 0.25, m = -1, all nibbles 3 -> weights 0.75 - 1 = -0.25; activations d_a = 1,
  // q_a = 1, s = 32: 32 * (-0.25) = -8 = 0.25 * 1 * 96 + (-1) * 32.
  BlockQ4_1 w1{};
  w1.d = F32ToFp16(0.25f);
  w1.m = F32ToFp16(-1.0f);
  std::memset(w1.qs, 0x33, sizeof w1.qs);
  BlockQ8_1 a1{};
  a1.d = F32ToFp16(1.0f);
  a1.s = F32ToFp16(32.0f);
  std::memset(a1.qs, 1, sizeof a1.qs);
  EXPECT_EQ(RefKernels().dot(DType::kQ4_1)(kQK, &w1, &a1), -8.0f);

  // Q4_K x Q8_K: d = 1, dmin = 0.5, every sub-block scale 2 and min 3, every nibble 5 -> weights
  // 1*2*5 - 0.5*3 = 8.5; activations d = 0.25, q = 4 (value 1): 256 * 8.5 = 2176.
  BlockQ4_K w4{};
  w4.d = F32ToFp16(1.0f);
  w4.dmin = F32ToFp16(0.5f);
  for (int j = 0; j < 4; ++j) {
    w4.scales[j] = 2;
    w4.scales[j + 4] = 3;
    w4.scales[j + 8] = 0x32;  // sub-blocks 4..7: scale low nibble 2, min low nibble 3
  }
  std::memset(w4.qs, 0x55, sizeof w4.qs);
  BlockQ8_K a4{};
  a4.d = 0.25f;
  std::memset(a4.qs, 4, sizeof a4.qs);
  for (auto& s : a4.bsums) s = 64;
  EXPECT_EQ(RefKernels().dot(DType::kQ4_K)(kQKK, &w4, &a4), 2176.0f);
}

}  // namespace
}  // namespace enclave::kernels
