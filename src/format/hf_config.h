// Typed view of a Hugging Face config.json for the model families Enclave runs (Llama, Qwen2,
// DeepSeek-V2/V3). Every field is checked for its JSON type and range; errors name the field
// ("config.json: field 'rope_scaling.factor' must be a number, found string"). Fields we do not
// model stay available in `raw`. Reads both the transformers 4 layout (rope_theta, rope_scaling,
// torch_dtype) and the 5 layout (rope_parameters, dtype).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace enclave {

struct RopeScaling {
  std::string type;                         // "linear", "llama3", "yarn", "dynamic", ...
  double factor = 1.0;
  std::optional<double> low_freq_factor, high_freq_factor;           // llama3
  std::optional<int64_t> original_max_position_embeddings;           // llama3, yarn
  std::optional<double> beta_fast, beta_slow, mscale, mscale_all_dim;  // yarn (DeepSeek)
};

struct HfQuantizationConfig {
  std::string quant_method;                 // "fp8"
  std::string fmt;                          // "e4m3"
  std::string activation_scheme;            // "dynamic"
  std::vector<int64_t> weight_block_size;   // [128, 128]: rows, cols of one scale block
};

struct HfConfig {
  std::string model_type;                   // required: "llama", "qwen2", "deepseek_v2", "deepseek_v3"
  std::vector<std::string> architectures;   // e.g. ["DeepseekV3ForCausalLM"]
  int64_t hidden_size = 0;                  // required
  int64_t intermediate_size = 0;            // dense FFN; 0 when absent
  int64_t num_hidden_layers = 0;            // required
  int64_t num_attention_heads = 0;          // required
  int64_t num_key_value_heads = 0;          // defaults to num_attention_heads; must divide it
  std::optional<int64_t> head_dim;          // absent: hidden_size / num_attention_heads
  int64_t vocab_size = 0;                   // required
  int64_t max_position_embeddings = 0;      // 0 when absent
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  std::optional<RopeScaling> rope_scaling;  // null, absent or rope_type "default": none
  bool tie_word_embeddings = false;
  bool attention_bias = false;
  std::string torch_dtype;                  // "bfloat16", ...; "" when absent
  std::vector<int64_t> bos_token_id, eos_token_id;  // a single id or a list; empty when absent

  // DeepSeek-V2/V3 (MLA + MoE); absent for dense models.
  std::optional<int64_t> q_lora_rank;       // null for V2-Lite
  std::optional<int64_t> kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim;
  std::optional<int64_t> n_routed_experts, n_shared_experts, num_experts_per_tok, moe_intermediate_size;
  std::optional<int64_t> first_k_dense_replace, moe_layer_freq, n_group, topk_group, num_nextn_predict_layers;
  std::optional<std::string> topk_method, scoring_func;
  std::optional<bool> norm_topk_prob;
  std::optional<double> routed_scaling_factor;
  std::optional<HfQuantizationConfig> quantization_config;

  nlohmann::json raw;                       // the whole file
};

Result<HfConfig> ParseHfConfig(std::string_view json_text);
Result<HfConfig> LoadHfConfig(const std::string& path);

}  // namespace enclave
