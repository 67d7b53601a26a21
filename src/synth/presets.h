// The model shapes `enclave synth` can generate (docs/synthetic-models.md has the table).
// Tiny presets exercise every architecture feature of issue #4 in under 5 MB; the big ones have
// the exact shapes of public DeepSeek-R1 distilled checkpoints, for benchmarks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace enclave::synth {

enum class RopeScaling { kNone, kLinear, kLlama3, kYarn };

// The MLA + MoE fields of architecture deepseek2 (DeepSeek-V2/V3), named as in their config.json.
struct DeepseekFields {
  std::string_view model_type;      // "deepseek_v2" or "deepseek_v3"
  int64_t q_lora_rank = 0;          // 0: no query compression (V2-Lite: q_proj)
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0, qk_rope_head_dim = 0, v_head_dim = 0;
  int64_t n_routed_experts = 0, n_shared_experts = 0, num_experts_per_tok = 0;
  int64_t moe_intermediate_size = 0;
  int64_t first_k_dense_replace = 0;
  int64_t n_group = 1, topk_group = 1;
  std::string_view topk_method;     // greedy, group_limited_greedy, noaux_tc
  std::string_view scoring_func;    // softmax, sigmoid
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;
  // V3's native FP8: every linear weight of attention and the MLPs stored as F8_E4M3 with a 128x128
  // block scale (<name>_scale_inv), as the released checkpoints are.
  bool fp8 = false;
  // V3's multi-token-prediction module: num_nextn_predict_layers extra layers stored after the
  // model's own (index num_hidden_layers), which inference skips.
  int64_t mtp_layers = 0;
  // YaRN (rope == kYarn): factor and original_max_positions are the Preset's.
  double beta_fast = 32, beta_slow = 1, mscale = 1, mscale_all_dim = 1;
};

struct Preset {
  std::string_view arch;         // "llama", "qwen2" or "deepseek2": GGUF general.architecture
  std::string_view name;
  std::string_view description;  // one line for --list
  bool tiny = true;
  int64_t hidden = 256;
  int64_t intermediate = 512;
  int64_t n_layers = 2;
  int64_t n_heads = 4;
  int64_t n_kv_heads = 2;
  int64_t max_positions = 4096;
  int64_t vocab_size = 0;        // 0: the synthetic tokenizer's size
  double rms_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope = RopeScaling::kNone;
  double rope_factor = 1.0;      // linear and llama3
  double low_freq_factor = 1.0;  // llama3 only
  double high_freq_factor = 4.0;
  int64_t original_max_positions = 8192;
  bool qkv_bias = false;         // qwen2: q/k/v projections have biases
  bool tied = false;             // tie_word_embeddings: no lm_head / output tensor
  int64_t sliding_window = 4096;     // qwen2 config fields (sliding window is off)
  int64_t max_window_layers = 0;
  DeepseekFields ds;                 // arch "deepseek2" only

  bool deepseek() const { return arch == "deepseek2"; }
  int64_t head_dim() const { return hidden / n_heads; }
};

const std::vector<Preset>& AllPresets();
// The preset, or NotFound listing every valid arch/name pair.
Result<const Preset*> FindPreset(std::string_view arch, std::string_view name);

}  // namespace enclave::synth
