// config.json parsing. Fixture configs hold the values of /work/shared/DEEPSEEK_SPEC.md tables 1.1 and
// 2.1 (written by scripts/ref/make_safetensors_fixtures.py); the expectations below are those
// tables' numbers.
#include <gtest/gtest.h>

#include <string>

#include "format/hf_config.h"
#include "test_util.h"

namespace enclave {
namespace {

using testing::SourcePath;

Result<HfConfig> LoadFixture(const std::string& name) {
  return LoadHfConfig(SourcePath("tests/fixtures/safetensors/configs/" + name + ".json"));
}

// A minimal valid config with `extra` spliced in (later keys must not repeat earlier ones).
std::string Config(const std::string& extra = "") {
  std::string base = R"("model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100)";
  return "{" + base + (extra.empty() ? "" : ", " + extra) + "}";
}

std::string ErrorOf(const std::string& json_text) {
  auto c = ParseHfConfig(json_text);
  return c.ok() ? "accepted" : c.status().message();
}

TEST(HfConfigTest, DeepSeekV3) {
  auto c = LoadFixture("deepseek_v3");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->model_type, "deepseek_v3");
  EXPECT_EQ(c->architectures, (std::vector<std::string>{"DeepseekV3ForCausalLM"}));
  EXPECT_EQ(c->hidden_size, 7168);
  EXPECT_EQ(c->num_hidden_layers, 61);
  EXPECT_EQ(c->num_attention_heads, 128);
  EXPECT_EQ(c->num_key_value_heads, 128);
  EXPECT_EQ(c->intermediate_size, 18432);
  EXPECT_EQ(c->moe_intermediate_size, 2048);
  EXPECT_EQ(c->n_routed_experts, 256);
  EXPECT_EQ(c->n_shared_experts, 1);
  EXPECT_EQ(c->num_experts_per_tok, 8);
  EXPECT_EQ(c->first_k_dense_replace, 3);
  EXPECT_EQ(c->moe_layer_freq, 1);
  EXPECT_EQ(c->n_group, 8);
  EXPECT_EQ(c->topk_group, 4);
  EXPECT_EQ(c->topk_method, "noaux_tc");
  EXPECT_EQ(c->scoring_func, "sigmoid");
  EXPECT_EQ(c->norm_topk_prob, true);
  EXPECT_EQ(c->routed_scaling_factor, 2.5);
  EXPECT_EQ(c->q_lora_rank, 1536);
  EXPECT_EQ(c->kv_lora_rank, 512);
  EXPECT_EQ(c->qk_nope_head_dim, 128);
  EXPECT_EQ(c->qk_rope_head_dim, 64);
  EXPECT_EQ(c->v_head_dim, 128);
  EXPECT_EQ(c->vocab_size, 129280);
  EXPECT_EQ(c->max_position_embeddings, 163840);
  EXPECT_EQ(c->rms_norm_eps, 1e-6);
  EXPECT_EQ(c->rope_theta, 10000.0);
  ASSERT_TRUE(c->rope_scaling.has_value());
  EXPECT_EQ(c->rope_scaling->type, "yarn");
  EXPECT_EQ(c->rope_scaling->factor, 40.0);
  EXPECT_EQ(c->rope_scaling->original_max_position_embeddings, 4096);
  EXPECT_EQ(c->rope_scaling->beta_fast, 32.0);
  EXPECT_EQ(c->rope_scaling->beta_slow, 1.0);
  EXPECT_EQ(c->rope_scaling->mscale, 1.0);
  EXPECT_EQ(c->rope_scaling->mscale_all_dim, 1.0);
  EXPECT_EQ(c->bos_token_id, (std::vector<int64_t>{0}));
  EXPECT_EQ(c->eos_token_id, (std::vector<int64_t>{1}));
  EXPECT_FALSE(c->tie_word_embeddings);
  EXPECT_FALSE(c->attention_bias);
  EXPECT_EQ(c->num_nextn_predict_layers, 1);
  ASSERT_TRUE(c->quantization_config.has_value());
  EXPECT_EQ(c->quantization_config->quant_method, "fp8");
  EXPECT_EQ(c->quantization_config->fmt, "e4m3");
  EXPECT_EQ(c->quantization_config->activation_scheme, "dynamic");
  EXPECT_EQ(c->quantization_config->weight_block_size, (std::vector<int64_t>{128, 128}));
  EXPECT_EQ(c->raw["torch_dtype"], "bfloat16");
}

TEST(HfConfigTest, DeepSeekV2Lite) {
  auto c = LoadFixture("deepseek_v2_lite");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->model_type, "deepseek_v2");
  EXPECT_FALSE(c->q_lora_rank.has_value());  // null in the file: q_proj instead of q_a/q_b
  EXPECT_EQ(c->hidden_size, 2048);
  EXPECT_EQ(c->num_hidden_layers, 27);
  EXPECT_EQ(c->num_attention_heads, 16);
  EXPECT_EQ(c->n_routed_experts, 64);
  EXPECT_EQ(c->n_shared_experts, 2);
  EXPECT_EQ(c->num_experts_per_tok, 6);
  EXPECT_EQ(c->moe_intermediate_size, 1408);
  EXPECT_EQ(c->topk_method, "greedy");
  EXPECT_EQ(c->scoring_func, "softmax");
  EXPECT_EQ(c->norm_topk_prob, false);
  EXPECT_EQ(c->routed_scaling_factor, 1.0);
  EXPECT_EQ(c->rope_scaling->mscale, 0.707);
  EXPECT_EQ(c->rope_scaling->mscale_all_dim, 0.707);
  EXPECT_EQ(c->vocab_size, 102400);
  EXPECT_EQ(c->bos_token_id, (std::vector<int64_t>{100000}));
  EXPECT_FALSE(c->quantization_config.has_value());
}

TEST(HfConfigTest, DenseFamilies) {
  auto qwen = LoadFixture("qwen2_1_5b");
  ASSERT_TRUE(qwen.ok()) << qwen.status().message();
  EXPECT_EQ(qwen->model_type, "qwen2");
  EXPECT_EQ(qwen->hidden_size, 1536);
  EXPECT_EQ(qwen->num_hidden_layers, 28);
  EXPECT_EQ(qwen->num_attention_heads, 12);
  EXPECT_EQ(qwen->num_key_value_heads, 2);
  EXPECT_EQ(qwen->intermediate_size, 8960);
  EXPECT_EQ(qwen->vocab_size, 151936);
  EXPECT_EQ(qwen->max_position_embeddings, 131072);
  EXPECT_FALSE(qwen->tie_word_embeddings);  // the spec's warning: this distill does not tie
  EXPECT_EQ(qwen->bos_token_id, (std::vector<int64_t>{151643}));
  EXPECT_FALSE(qwen->rope_scaling.has_value());
  EXPECT_FALSE(qwen->head_dim.has_value());
  EXPECT_FALSE(qwen->n_routed_experts.has_value());
  EXPECT_EQ(qwen->raw["use_sliding_window"], false);  // unmodelled fields stay in raw

  auto llama = LoadFixture("llama3");
  ASSERT_TRUE(llama.ok()) << llama.status().message();
  EXPECT_EQ(llama->num_key_value_heads, 8);
  EXPECT_EQ(llama->head_dim, 128);
  EXPECT_EQ(llama->rope_theta, 500000.0);
  EXPECT_EQ(llama->rms_norm_eps, 1e-5);
  EXPECT_EQ(llama->rope_scaling->type, "llama3");
  EXPECT_EQ(llama->rope_scaling->factor, 8.0);
  EXPECT_EQ(llama->rope_scaling->low_freq_factor, 1.0);
  EXPECT_EQ(llama->rope_scaling->high_freq_factor, 4.0);
  EXPECT_EQ(llama->rope_scaling->original_max_position_embeddings, 8192);
  EXPECT_EQ(llama->eos_token_id, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_EQ(llama->torch_dtype, "bfloat16");

  auto coder = LoadFixture("coder");
  ASSERT_TRUE(coder.ok()) << coder.status().message();
  EXPECT_EQ(coder->rope_scaling->type, "linear");  // the legacy "type" key
  EXPECT_EQ(coder->rope_scaling->factor, 4.0);
  EXPECT_EQ(coder->rope_theta, 100000.0);
  EXPECT_EQ(coder->max_position_embeddings, 16384);
}

TEST(HfConfigTest, Transformers5LayoutGivesTheSameValues) {
  auto v4 = LoadFixture("llama3");
  auto v5 = LoadFixture("llama3_transformers5");
  ASSERT_TRUE(v4.ok() && v5.ok()) << v5.status().message();
  EXPECT_FALSE(v5->raw.contains("rope_theta"));
  EXPECT_EQ(v5->rope_theta, v4->rope_theta);
  EXPECT_EQ(v5->torch_dtype, v4->torch_dtype);
  ASSERT_TRUE(v5->rope_scaling.has_value());
  EXPECT_EQ(v5->rope_scaling->type, v4->rope_scaling->type);
  EXPECT_EQ(v5->rope_scaling->factor, v4->rope_scaling->factor);
  EXPECT_EQ(v5->rope_scaling->original_max_position_embeddings, v4->rope_scaling->original_max_position_embeddings);
  auto plain = ParseHfConfig(Config(R"("rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0})"));
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ(plain->rope_theta, 1e6);
  EXPECT_FALSE(plain->rope_scaling.has_value());
}

TEST(HfConfigTest, DefaultsAndNulls) {
  auto c = ParseHfConfig(Config(R"("num_key_value_heads": null, "rope_scaling": null, "head_dim": null, "bos_token_id": null)"));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->num_key_value_heads, 4);  // defaults to num_attention_heads
  EXPECT_FALSE(c->rope_scaling.has_value());
  EXPECT_FALSE(c->head_dim.has_value());
  EXPECT_TRUE(c->bos_token_id.empty());
  EXPECT_EQ(c->rms_norm_eps, 1e-6);
  EXPECT_EQ(c->rope_theta, 10000.0);
  EXPECT_EQ(c->intermediate_size, 0);
}

TEST(HfConfigTest, ErrorsNameTheField) {
  EXPECT_EQ(ErrorOf(R"({"model_type": "llama", "hidden_size": 8, "num_attention_heads": 2, "vocab_size": 9})"),
            "config.json: field 'num_hidden_layers' is required but missing");
  EXPECT_EQ(ErrorOf(R"({"hidden_size": 8})"), "config.json: field 'model_type' is required but missing");
  EXPECT_EQ(ErrorOf(R"({"model_type": "llama", "hidden_size": "8"})"),
            "config.json: field 'hidden_size' must be an integer, found string");
  EXPECT_EQ(ErrorOf(Config(R"("rope_scaling": {"type": "linear", "factor": "4"})")),
            "config.json: field 'rope_scaling.factor' must be a number, found string");
  EXPECT_EQ(ErrorOf(Config(R"("rope_scaling": {"factor": 4.0})")),
            "config.json: field 'rope_scaling.rope_type' is required but missing");
  EXPECT_EQ(ErrorOf(Config(R"("rope_scaling": [1])")), "config.json: field 'rope_scaling' must be an object or null, found array");
  EXPECT_EQ(ErrorOf(Config(R"("head_dim": -128)")), "config.json: field 'head_dim' must be positive, found -128");
  EXPECT_EQ(ErrorOf(Config(R"("num_key_value_heads": 3)")),
            "config.json: field 'num_key_value_heads' is 3, which does not divide num_attention_heads 4");
  EXPECT_EQ(ErrorOf(Config(R"("max_position_embeddings": 18446744073709551615)")),
            "config.json: field 'max_position_embeddings' is 18446744073709551615, too large");
  EXPECT_EQ(ErrorOf(Config(R"("eos_token_id": [1, "2"])")),
            "config.json: field 'eos_token_id' must be an integer or a list of integers, found array");
  EXPECT_EQ(ErrorOf(Config(R"("architectures": "LlamaForCausalLM")")),
            "config.json: field 'architectures' must be a list of strings, found string");
  EXPECT_EQ(ErrorOf(Config(R"("rms_norm_eps": 0)")), "config.json: field 'rms_norm_eps' must be positive, found 0");
  EXPECT_EQ(ErrorOf(Config(R"("tie_word_embeddings": 1)")),
            "config.json: field 'tie_word_embeddings' must be true or false, found number");
  EXPECT_EQ(ErrorOf(Config(R"("quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128, 1]})")),
            "config.json: field 'quantization_config.weight_block_size' must be [rows, cols], found 3 entries");
  EXPECT_EQ(ErrorOf(Config(R"("quantization_config": {"weight_block_size": [128, 0]})")),
            "config.json: field 'quantization_config.weight_block_size' must be positive, found 0");
  EXPECT_EQ(ErrorOf(Config(R"("n_routed_experts": 8, "num_experts_per_tok": 9)")),
            "config.json: field 'num_experts_per_tok' is 9 but there are only 8 routed experts");
  EXPECT_EQ(ErrorOf(Config(R"("n_routed_experts": 10, "n_group": 4)")),
            "config.json: field 'n_group' is 4, which does not divide n_routed_experts 10");
  EXPECT_EQ(ErrorOf(Config(R"("n_group": 4, "topk_group": 5)")), "config.json: field 'topk_group' is 5 but n_group is 4");
  EXPECT_EQ(ErrorOf(Config(R"("q_lora_rank": 0)")), "config.json: field 'q_lora_rank' must be positive, found 0");
  EXPECT_EQ(ErrorOf("[1]"), "config.json: must be a JSON object, found array");
  EXPECT_NE(ErrorOf("{").find("config.json: invalid JSON"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"model_type": "a", "model_type": "b"})").find("more than once"), std::string::npos);
  EXPECT_NE(ErrorOf(std::string(100, '[') + std::string(100, ']')).find("nested deeper"), std::string::npos);
  EXPECT_EQ(LoadHfConfig(SourcePath("tests/fixtures/safetensors/configs/absent.json")).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace enclave
