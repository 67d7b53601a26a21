// FP8 E4M3 decode and DeepSeek-V3 block-scaled dequantization.
// Oracles: (1) for every one of the 256 codes, the f32 bit pattern built by hand from the format
// definition (sign, exponent rebias 7 -> 127, mantissa shift 20); (2) a table computed with exact
// rationals in Python; (3) the dequantized fixture weights computed with numpy
// (scripts/ref/make_safetensors_fixtures.py).
#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "base/half.h"
#include "format/safetensors.h"
#include "format/safetensors_fp8.h"
#include "tensor/fp8.h"
#include "test_util.h"

namespace enclave {
namespace {

using testing::SourcePath;

const char kRegen[] = " (regenerate with: .venv/bin/python scripts/ref/make_safetensors_fixtures.py)";

uint32_t Bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// float8_e4m3fn by its definition, written as f32 bits.
float DecodeByDefinition(int code) {
  const uint32_t sign = static_cast<uint32_t>(code >> 7) << 31;
  const int e = (code >> 3) & 15, m = code & 7;
  if (e == 15 && m == 7) return std::nanf("");
  if (e == 0) {
    // Subnormal m/8 * 2^-6 = m * 2^-9, exact in f32; keep the sign of zero.
    const float mag = static_cast<float>(m) / 512.0f;
    return sign ? -mag : mag;
  }
  return F32FromBits(sign | static_cast<uint32_t>(e - 7 + 127) << 23 | static_cast<uint32_t>(m) << 20);
}

std::vector<float> ReadF32File(const std::string& path) {
  const std::string raw = testing::ReadTextFile(path);
  std::vector<float> out(raw.size() / 4);
  std::memcpy(out.data(), raw.data(), out.size() * 4);
  return out;
}

TEST(Fp8Test, AllCodesMatchTheFormatDefinition) {
  const std::vector<float> exact = ReadF32File(SourcePath("tests/fixtures/safetensors/fp8_e4m3_table.f32"));
  ASSERT_EQ(exact.size(), 256u) << kRegen;
  for (int code = 0; code < 256; ++code) {
    const float got = Fp8E4M3ToF32(static_cast<uint8_t>(code));
    const float want = DecodeByDefinition(code);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << code;
      EXPECT_TRUE(std::isnan(exact[code])) << code;
      continue;
    }
    EXPECT_EQ(Bits(got), Bits(want)) << "code 0x" << std::hex << code << ": " << got << " vs " << want;
    EXPECT_EQ(Bits(got), Bits(exact[code])) << "code 0x" << std::hex << code;
  }
}

// The encoder round-trips every finite code, rounds halfway values to the even code, saturates
// beyond the largest finite value, and picks the nearest code for values in between.
TEST(Fp8Test, EncoderRoundTripsAndRoundsToNearestEven) {
  for (int code = 0; code < 256; ++code) {
    const float v = Fp8E4M3ToF32(static_cast<uint8_t>(code));
    if (std::isnan(v)) continue;
    if (v == 0.0f) {
      EXPECT_EQ(Fp8E4M3ToF32(F32ToFp8E4M3(v)), 0.0f);
      continue;
    }
    EXPECT_EQ(F32ToFp8E4M3(v), code) << v;
  }
  EXPECT_EQ(F32ToFp8E4M3(1000.0f), 0x7E);   // 448
  EXPECT_EQ(F32ToFp8E4M3(-1000.0f), 0xFE);  // -448
  EXPECT_EQ(F32ToFp8E4M3(1.0625f), 0x38);   // halfway between 1 (0x38) and 1.125 (0x39): even
  EXPECT_EQ(F32ToFp8E4M3(1.1875f), 0x3A);   // halfway between 1.125 (0x39) and 1.25 (0x3A): even
  EXPECT_EQ(F32ToFp8E4M3(1.07f), 0x39);     // nearer 1.125
  for (float x = -500.0f; x <= 500.0f; x += 0.37f) {
    const float got = Fp8E4M3ToF32(F32ToFp8E4M3(x));
    const float clamped = std::clamp(x, -448.0f, 448.0f);
    // No finite code is nearer than the chosen one.
    for (int code = 0; code < 256; ++code) {
      const float v = Fp8E4M3ToF32(static_cast<uint8_t>(code));
      if (!std::isnan(v)) {
        ASSERT_LE(std::fabs(got - clamped), std::fabs(v - clamped)) << x;
      }
    }
  }
}

TEST(Fp8Test, LandmarkValues) {
  EXPECT_EQ(Bits(Fp8E4M3ToF32(0x00)), Bits(0.0f));
  EXPECT_EQ(Bits(Fp8E4M3ToF32(0x80)), Bits(-0.0f));
  EXPECT_EQ(Fp8E4M3ToF32(0x01), std::ldexp(1.0f, -9));  // smallest subnormal
  EXPECT_EQ(Fp8E4M3ToF32(0x07), 7 * std::ldexp(1.0f, -9));  // largest subnormal
  EXPECT_EQ(Fp8E4M3ToF32(0x08), std::ldexp(1.0f, -6));  // smallest normal
  EXPECT_EQ(Fp8E4M3ToF32(0x38), 1.0f);
  EXPECT_EQ(Fp8E4M3ToF32(0x78), 256.0f);                // exponent 15 is finite (no infinities)
  EXPECT_EQ(Fp8E4M3ToF32(0x7E), 448.0f);                // largest finite
  EXPECT_EQ(Fp8E4M3ToF32(0xFE), -448.0f);
  EXPECT_TRUE(std::isnan(Fp8E4M3ToF32(0x7F)));          // S.1111.111 is the only NaN
  EXPECT_TRUE(std::isnan(Fp8E4M3ToF32(0xFF)));
  int nans = 0;
  for (int c = 0; c < 256; ++c) nans += std::isnan(Fp8E4M3ToF32(static_cast<uint8_t>(c)));
  EXPECT_EQ(nans, 2);
}

TEST(Fp8Test, BlockScaledDequantizationMatchesNumpy) {
  auto model = SafetensorsModel::OpenDirectory(SourcePath("tests/fixtures/safetensors/fp8"));
  ASSERT_TRUE(model.ok()) << model.status().message() << kRegen;
  for (const char* name : {"model.layers.0.mlp.up_proj.weight",             // [200, 300]: edges in both dims
                           "model.layers.0.self_attn.kv_b_proj.weight"}) {  // [128, 257]: 1-column edge
    SCOPED_TRACE(name);
    auto w = FindFp8Weight(**model, name);
    ASSERT_TRUE(w.ok()) << w.status().message();
    std::vector<float> out(w->weight->n_elements);
    ASSERT_TRUE(DequantizeFp8Weight(*w, out).ok());
    const std::vector<float> expected =
        ReadF32File(SourcePath(std::string("tests/fixtures/safetensors/fp8/") + name + ".expected.f32"));
    ASSERT_EQ(expected.size(), out.size()) << kRegen;
    for (size_t i = 0; i < out.size(); ++i) {
      // One exact decode and one f32 multiply on both sides: bit-identical.
      ASSERT_EQ(Bits(out[i]), Bits(expected[i])) << "element " << i << kRegen;
    }
  }
  EXPECT_TRUE(CheckFp8Scales(**model).empty());
}

TEST(Fp8Test, HandWorkedSmallBlocks) {
  // 3x3 weight of 1.0 (code 0x38) in 2x2 blocks: scale [[1, 2], [3, 4]] spreads as below.
  const std::vector<uint8_t> w(9, 0x38);
  const std::vector<float> scale = {1, 2, 3, 4};
  std::vector<float> out(9);
  Fp8BlockScaledShape shape{3, 3, 2, 2, 2, 2};
  ASSERT_TRUE(DequantizeFp8BlockScaled(w, scale, shape, out).ok());
  EXPECT_EQ(out, (std::vector<float>{1, 1, 2, 1, 1, 2, 3, 3, 4}));
  // Negative codes and a subnormal keep exact values: -2 (0xC0) * 4, 2^-9 (0x01) * 1.
  const std::vector<uint8_t> w2 = {0x01, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0x38, 0xC0};
  ASSERT_TRUE(DequantizeFp8BlockScaled(w2, scale, shape, out).ok());
  EXPECT_EQ(out[0], std::ldexp(1.0f, -9));
  EXPECT_EQ(out[8], -8.0f);
}

TEST(Fp8Test, ShapesAreChecked) {
  const std::vector<uint8_t> w(200 * 300);
  std::vector<float> scale(6), out(200 * 300);
  Fp8BlockScaledShape shape{200, 300, 2, 3};
  EXPECT_TRUE(DequantizeFp8BlockScaled(w, scale, shape, out).ok());
  shape.scale_rows = 3;
  EXPECT_EQ(DequantizeFp8BlockScaled(w, scale, shape, out).message(),
            "FP8 weight [200, 300] in [128, 128] blocks needs a scale_inv of [2, 3], found [3, 3]");
  shape = {200, 300, 2, 3};
  EXPECT_FALSE(DequantizeFp8BlockScaled(w, scale, shape, std::span<float>(out).first(10)).ok());
  EXPECT_FALSE(DequantizeFp8BlockScaled(std::span<const uint8_t>(w).first(10), scale, shape, out).ok());
  EXPECT_FALSE(DequantizeFp8BlockScaled(w, std::span<const float>(scale).first(5), shape, out).ok());
  EXPECT_FALSE(CheckFp8BlockScaledShape({0, 300, 0, 3}).ok());
  EXPECT_FALSE(CheckFp8BlockScaledShape({200, 300, 2, 3, 0, 128}).ok());
  // rows * cols overflowing int64 is refused, not wrapped.
  EXPECT_FALSE(CheckFp8BlockScaledShape({int64_t{1} << 40, int64_t{1} << 40, int64_t{1} << 33, int64_t{1} << 33}).ok());
}

std::vector<uint8_t> MakeFile(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out;
  out.reserve(8 + header.size() + data.size());
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(static_cast<uint64_t>(header.size()) >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

TEST(Fp8Test, Bf16ScalesEqualF32Scales) {
  // A 2x130 weight (two column blocks) with scales 0.5 and 3.0, exact in BF16, stored as F32 and BF16.
  std::vector<uint8_t> data(260);
  for (size_t i = 0; i < data.size(); ++i) {
    const uint8_t code = static_cast<uint8_t>(i * 37);
    data[i] = (code & 0x7F) == 0x7F ? 0 : code;  // no NaN codes, so the outputs compare equal
  }
  std::vector<uint8_t> f32_file = data, bf16_file = data;
  for (float s : {0.5f, 3.0f}) {
    uint32_t b = Bits(s);
    for (int i = 0; i < 4; ++i) f32_file.push_back(static_cast<uint8_t>(b >> (8 * i)));
    bf16_file.push_back(static_cast<uint8_t>(b >> 16));
    bf16_file.push_back(static_cast<uint8_t>(b >> 24));
  }
  const std::string w = R"("w": {"dtype": "F8_E4M3", "shape": [2, 130], "data_offsets": [0, 260]})";
  const std::vector<uint8_t> a = MakeFile("{" + w + R"(, "w_scale_inv": {"dtype": "F32", "shape": [1, 2], "data_offsets": [260, 268]}})", f32_file);
  const std::vector<uint8_t> b = MakeFile("{" + w + R"(, "w_scale_inv": {"dtype": "BF16", "shape": [1, 2], "data_offsets": [260, 264]}})", bf16_file);
  std::vector<float> out_a(260), out_b(260);
  for (auto [bytes, out] : {std::pair{&a, &out_a}, std::pair{&b, &out_b}}) {
    auto file = SafetensorsFile::Parse(*bytes, "x.safetensors");
    ASSERT_TRUE(file.ok()) << file.status().message();
    auto model = SafetensorsModel::FromFile(std::move(file).value());
    auto fw = FindFp8Weight(*model, "w");
    ASSERT_TRUE(fw.ok()) << fw.status().message();
    ASSERT_TRUE(DequantizeFp8Weight(*fw, *out).ok());
  }
  EXPECT_EQ(out_a, out_b);
  EXPECT_EQ(out_a[129], Fp8E4M3ToF32(data[129]) * 3.0f);
  EXPECT_EQ(out_a[130], Fp8E4M3ToF32(data[130]) * 0.5f);
}

TEST(Fp8Test, FindFp8WeightNamesWhatIsWrong) {
  auto model = SafetensorsModel::OpenDirectory(SourcePath("tests/fixtures/safetensors/fp8"));
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(FindFp8Weight(**model, "model.norm.weight").status().message(),
            "model.safetensors: tensor 'model.norm.weight': expected a 2-D F8_E4M3 weight, found BF16 [10]");
  EXPECT_EQ(FindFp8Weight(**model, "nope").status().code(), StatusCode::kNotFound);
  auto missing = SafetensorsModel::OpenDirectory(SourcePath("tests/fixtures/safetensors/malformed/fp8_missing_scale"));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(FindFp8Weight(**missing, "w.weight").status().message(),
            "model.safetensors: tensor 'w.weight': F8_E4M3 weight [130, 140] has no 'w.weight_scale_inv' tensor");
}

}  // namespace
}  // namespace enclave
