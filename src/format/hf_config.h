// Typed view of a Hugging Face config.json for the model families Enclave runs (Llama, Qwen2,
// DeepSeek-V2/V3). Unknown fields are kept in `raw`; fields of the wrong JSON type are errors
// naming the field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace enclave {

struct RopeScaling {
  std::string type;                         // "linear", "llama3", "yarn", "dynamic", ...
  double factor = 1.0;
  std::optional<double> low_freq_factor, high_freq_factor;
  std::optional<int64_t> original_max_position_embeddings;
  std::optional<double> beta_fast, beta_slow, mscale, mscale_all_dim;
};

struct HfQuantizationConfig {
  std::string quant_method;                 // "fp8"
  std::string fmt;                          // "e4m3"
  std::string activation_scheme;
  std::vector<int64_t> weight_block_size;   // [128, 128]
};

struct HfConfig {
  std::string model_type;
  std::vector<std::string> architectures;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;          // defaults to num_attention_heads
  std::optional<int64_t> head_dim;
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  std::optional<RopeScaling> rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;
  std::string torch_dtype;
  std::vector<int64_t> bos_token_id, eos_token_id;  // a single id or a list

  // DeepSeek-V2/V3 (MLA + MoE); absent for dense models.
  std::optional<int64_t> q_lora_rank;       // null for V2-Lite
  std::optional<int64_t> kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim;
  std::optional<int64_t> n_routed_experts, n_shared_experts, num_experts_per_tok, moe_intermediate_size;
  std::optional<int64_t> first_k_dense_replace, moe_layer_freq, n_group, topk_group, num_nextn_predict_layers;
  std::optional<std::string> topk_method, scoring_func;
  std::optional<bool> norm_topk_prob;
  std::optional<double> routed_scaling_factor;
  std::optional<HfQuantizationConfig> quantization_config;

  nlohmann::json raw;
};

Result<HfConfig> ParseHfConfig(std::string_view json_text);
Result<HfConfig> LoadHfConfig(const std::string& path);

}  // namespace enclave
