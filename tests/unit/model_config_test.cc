// deepseek2 hyperparameters from both sources: the released DeepSeek-V3 and V2-Lite config.json
// files (tests/fixtures/safetensors/configs) and a GGUF whose keys were written by gguf-py's own
// GGUFWriter.add_* methods (tests/fixtures/gguf/deepseek2_metadata.gguf). The softmax scales are the
// spec's worked values (DEEPSEEK_SPEC.md §2.3), not recomputed here.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "format/gguf_reader.h"
#include "format/hf_config.h"
#include "model/model.h"
#include "model/model_config.h"
#include "test_util.h"

namespace enclave {
namespace {

using testing::SourcePath;

void ExpectV3(const ModelConfig& c) {
  EXPECT_TRUE(c.is_deepseek2());
  EXPECT_EQ(c.n_layers, 61);
  EXPECT_EQ(c.n_embd, 7168);
  EXPECT_EQ(c.n_heads, 128);
  EXPECT_EQ(c.n_kv_heads, 1);
  EXPECT_EQ(c.mla.q_lora_rank, 1536);
  EXPECT_EQ(c.mla.kv_lora_rank, 512);
  EXPECT_EQ(c.mla.qk_nope_head_dim, 128);
  EXPECT_EQ(c.mla.qk_rope_head_dim, 64);
  EXPECT_EQ(c.mla.v_head_dim, 128);
  EXPECT_EQ(c.kv_dim(), 576);  // the latent cache row
  EXPECT_EQ(c.moe.n_experts, 256);
  EXPECT_EQ(c.moe.top_k, 8);
  EXPECT_EQ(c.moe.n_shared, 1);
  EXPECT_EQ(c.moe.n_ff_expert, 2048);
  EXPECT_EQ(c.moe.first_dense, 3);
  EXPECT_EQ(c.moe.n_group, 8);
  EXPECT_EQ(c.moe.topk_group, 4);
  EXPECT_EQ(c.moe.scoring, MoeScoring::kSigmoid);
  EXPECT_EQ(c.moe.method, MoeTopk::kNoauxTc);
  EXPECT_TRUE(c.moe.norm_topk);
  EXPECT_FLOAT_EQ(c.moe.routed_scale, 2.5f);
  EXPECT_EQ(c.rope.scaling, RopeScalingType::kYarn);
  EXPECT_EQ(c.rope.original_context, 4096);
  EXPECT_EQ(c.mtp_layers, 1);
  EXPECT_NEAR(c.attn_scale, 0.1352338, 1e-6);  // 192^-0.5 x 1.368888^2
}

TEST(ModelConfigTest, DeepSeekV3FromConfigJson) {
  auto hf = LoadHfConfig(SourcePath("tests/fixtures/safetensors/configs/deepseek_v3.json"));
  ASSERT_TRUE(hf.ok()) << hf.status().message();
  auto c = ModelConfigFromHf(*hf);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ExpectV3(*c);
  EXPECT_EQ(c->n_vocab, 129280);
}

TEST(ModelConfigTest, DeepSeekV3FromGgufKeysOfTheConverter) {
  auto g = GgufFile::Open(SourcePath("tests/fixtures/gguf/deepseek2_metadata.gguf"));
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto c = ModelConfigFromGguf(**g);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ExpectV3(*c);
  EXPECT_EQ(c->n_vocab, 2);  // the fixture's token_embd rows
}

TEST(ModelConfigTest, DeepSeekV2LiteFromConfigJson) {
  auto hf = LoadHfConfig(SourcePath("tests/fixtures/safetensors/configs/deepseek_v2_lite.json"));
  ASSERT_TRUE(hf.ok()) << hf.status().message();
  auto c = ModelConfigFromHf(*hf);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->mla.q_lora_rank, 0);  // q_proj
  EXPECT_EQ(c->moe.method, MoeTopk::kGreedy);
  EXPECT_EQ(c->moe.scoring, MoeScoring::kSoftmax);
  EXPECT_EQ(c->moe.n_shared, 2);
  EXPECT_EQ(c->moe.first_dense, 1);
  EXPECT_EQ(c->mtp_layers, 0);
  EXPECT_NEAR(c->attn_scale, 0.1147214, 1e-6);  // 192^-0.5 x 1.260804^2 (mscale_all_dim 0.707)
  // YaRN frequencies (spec §2.5): pairs 0..10 unscaled, pairs >= 23 divided by 40.
  const std::vector<double> f = RopeInverseFrequencies(c->rope);
  ASSERT_EQ(f.size(), 32u);
  for (int i = 0; i < 32; ++i) {
    const double base = std::pow(10000.0, -2.0 * i / 64);
    if (i <= 10) {
      EXPECT_DOUBLE_EQ(f[i], base) << i;
    } else if (i >= 23) {
      EXPECT_NEAR(f[i], base / 40, base * 1e-12) << i;
    } else {
      EXPECT_TRUE(f[i] < base && f[i] > base / 40) << i;
    }
  }
}

}  // namespace
}  // namespace enclave
