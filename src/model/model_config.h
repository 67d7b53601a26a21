// The hyperparameters of a decoder-only model (architectures `llama` and `qwen2`; `deepseek2`, i.e.
// DeepSeek-V2/V3 with MLA and MoE, from Hugging Face directories so far), read from GGUF metadata
// (llama.cpp's keys) or from a Hugging Face config.json. Immutable once built.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "format/gguf_reader.h"
#include "format/hf_config.h"

namespace enclave {

enum class ModelArch { kLlama, kQwen2, kDeepseek2 };
const char* ModelArchName(ModelArch arch);

// How rotary embedding pairs dimensions. Hugging Face checkpoints rotate dimension i with
// i + n_rot/2 ("NeoX" style). llama.cpp's converter permutes the Q/K rows of `llama` models so
// that adjacent dimensions (2i, 2i+1) pair ("normal" style); it leaves qwen2 in NeoX order.
enum class RopeStyle { kNormal, kNeox };

enum class RopeScalingType { kNone, kLinear, kLlama3, kYarn };

struct RopeConfig {
  RopeStyle style = RopeStyle::kNeox;
  int n_rot = 0;               // rotated dimensions per head (the whole head for these models)
  double theta = 10000.0;
  RopeScalingType scaling = RopeScalingType::kNone;
  double factor = 1.0;         // linear: positions are divided by it; llama3: low-frequency divisor
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  // llama3
  int64_t original_context = 8192;                       // llama3, yarn
  double beta_fast = 32, beta_slow = 1;                  // yarn
};

// Multi-head latent attention (DeepSeek-V2/V3, DEEPSEEK_SPEC.md §2.3-2.4).
struct MlaConfig {
  int q_lora_rank = 0;       // 0: the query comes straight from q_proj (V2-Lite)
  int kv_lora_rank = 0;      // the cached latent c_kv
  int qk_nope_head_dim = 0;  // per head: query/key part without rotary positions
  int qk_rope_head_dim = 0;  // per head: rotary part (one shared rotary key per token)
  int v_head_dim = 0;
  int qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
  // A cached row: [c_kv after its RMSNorm (kv_lora_rank) ; rotated k_pe (qk_rope_head_dim)].
  int cache_dim() const { return kv_lora_rank + qk_rope_head_dim; }
};

enum class MoeScoring { kSoftmax, kSigmoid };
enum class MoeTopk { kGreedy, kGroupLimitedGreedy, kNoauxTc };

// Mixture of experts (§2.6). Layers >= first_dense use it; the ones before have a dense FFN.
struct MoeConfig {
  int n_experts = 0;         // routed experts
  int n_shared = 0;          // shared experts, run as one FFN of n_shared * n_ff_expert
  int top_k = 0;
  int n_ff_expert = 0;
  int first_dense = 0;       // first_k_dense_replace
  int n_group = 1, topk_group = 1;
  MoeScoring scoring = MoeScoring::kSoftmax;
  MoeTopk method = MoeTopk::kGreedy;
  bool norm_topk = false;
  float routed_scale = 1.0f;
  bool has_bias() const { return method == MoeTopk::kNoauxTc; }  // e_score_correction_bias
};

struct ModelConfig {
  ModelArch arch = ModelArch::kLlama;
  int n_layers = 0;
  int n_embd = 0;          // hidden size
  int n_heads = 0;
  int n_kv_heads = 0;      // divides n_heads (grouped-query attention)
  int head_dim = 0;
  int n_ff = 0;            // FFN intermediate size
  int n_vocab = 0;
  int64_t n_ctx_train = 0;
  float rms_eps = 1e-6f;
  bool qkv_bias = false;   // qwen2
  RopeConfig rope;
  // deepseek2 only. For it head_dim is qk_rope_head_dim (what RoPE rotates), n_kv_heads is 1 and
  // kv_dim() the latent cache row, as llama.cpp's MLA layout has them.
  MlaConfig mla;
  MoeConfig moe;
  float attn_scale = 0;    // deepseek2: qk_head_dim^-0.5 x YaRN's mscale^2; 0: head_dim^-0.5
  // deepseek2 (V3/R1): multi-token-prediction layers stored after the model's own. Loaded files may
  // carry them; inference skips them (they only serve speculative decoding, not built).
  int mtp_layers = 0;

  bool is_deepseek2() const { return arch == ModelArch::kDeepseek2; }

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return is_deepseek2() ? mla.cache_dim() : n_kv_heads * head_dim; }
  // A one-line description for load reports: "qwen2, 28 layers, 1536 hidden, 12/2 heads, ...".
  std::string Summary() const;
};

Result<ModelConfig> ModelConfigFromGguf(const GgufFile& gguf);
Result<ModelConfig> ModelConfigFromHf(const HfConfig& hf);

}  // namespace enclave
