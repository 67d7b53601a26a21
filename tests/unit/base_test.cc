#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <vector>

#include "base/checked_math.h"
#include "base/half.h"
#include "base/status.h"
#include "platform/thread_pool.h"
#include "tensor/dtype.h"

namespace enclave {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return InvalidArgumentError("need a positive number, got " + std::to_string(v));
  return v;
}

Result<int> Doubled(int v) {
  ASSIGN_OR_RETURN(int x, ParsePositive(v));
  return 2 * x;
}

TEST(StatusTest, ResultCarriesValueOrError) {
  EXPECT_EQ(*Doubled(4), 8);
  Result<int> bad = Doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "need a positive number, got -1");
  EXPECT_EQ(bad.status().WithContext("flag -n").message(), "flag -n: need a positive number, got -1");
}

TEST(CheckedMathTest, DetectsOverflow) {
  EXPECT_FALSE(CheckedMul(1ull << 40, 1ull << 30).has_value());
  EXPECT_EQ(*CheckedMul(3, 5), 15u);
  EXPECT_FALSE(CheckedAdd(~0ull, 1).has_value());
  EXPECT_EQ(*CheckedAlignUp(33, 32), 64u);
  EXPECT_FALSE(CheckedAlignUp(~0ull - 3, 32).has_value());
}

// Exhaustive over all 65536 fp16 bit patterns: fp16 -> f32 -> fp16 is the identity (NaNs stay NaN).
TEST(HalfTest, Fp16RoundTripsEveryValue) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = Fp16ToF32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(Fp16ToF32(F32ToFp16(f))));
      continue;
    }
    ASSERT_EQ(F32ToFp16(f), h) << "h=" << h;
  }
}

TEST(HalfTest, Fp16RoundsToNearestEven) {
  EXPECT_EQ(F32ToFp16(65504.0f), 0x7BFF);
  EXPECT_EQ(F32ToFp16(65520.0f), 0x7C00);  // rounds to inf
  EXPECT_EQ(F32ToFp16(1.0f + 1.0f / 2048.0f), 0x3C00);  // tie -> even (down)
  EXPECT_EQ(F32ToFp16(1.0f + 3.0f / 2048.0f), 0x3C02);  // tie -> even (up)
  EXPECT_EQ(F32ToFp16(std::ldexp(1.0f, -25)), 0x0000);  // tie with 0 -> 0
  EXPECT_EQ(F32ToFp16(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(F32ToFp16(std::ldexp(1.0f, -24)), 0x0001);
}

TEST(HalfTest, Bf16) {
  EXPECT_EQ(F32ToBf16(1.0f), 0x3F80);
  EXPECT_EQ(Bf16ToF32(0x3F80), 1.0f);
  EXPECT_EQ(F32ToBf16(F32FromBits(0x3F808000u)), 0x3F80);  // tie -> even
  EXPECT_EQ(F32ToBf16(F32FromBits(0x3F818000u)), 0x3F82);
  EXPECT_TRUE(std::isnan(Bf16ToF32(F32ToBf16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(DTypeTest, TraitsMatchLlamaCppBlockSizes) {
  EXPECT_EQ(Traits(DType::kQ4_K).block_bytes, 144);
  EXPECT_EQ(Traits(DType::kQ6_K).block_bytes, 210);
  EXPECT_EQ(Traits(DType::kQ8_0).block_bytes, 34);
  EXPECT_EQ(*RowBytes(DType::kQ4_K, 512), 288u);
  EXPECT_FALSE(RowBytes(DType::kQ4_K, 100).has_value());
  EXPECT_FALSE(TraitsOf(16).has_value());  // IQ2_XXS: known to ggml, not loadable by us
  EXPECT_EQ(GgmlTypeName(16), "IQ2_XXS");
  EXPECT_EQ(DTypeFromName("Q5_1"), DType::kQ5_1);
}

TEST(ThreadPoolTest, RunsEveryThreadOnceAndSplitsRangesExactly) {
  for (int n : {1, 2, 3, 7}) {
    ThreadPool pool(n);
    for (int rep = 0; rep < 100; ++rep) {
      std::vector<std::atomic<int>> hits(1000);
      pool.Run([&](int ti, int nt) {
        int64_t b, e;
        ThreadPool::SplitRange(1000, 16, ti, nt, &b, &e);
        for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
      });
      for (auto& h : hits) ASSERT_EQ(h.load(), 1);
    }
  }
}

}  // namespace
}  // namespace enclave
