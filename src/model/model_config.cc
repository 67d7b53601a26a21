#include "model/model_config.h"

#include <fmt/format.h>

namespace enclave {

const char* ModelArchName(ModelArch arch) {
  switch (arch) {
    case ModelArch::kLlama: return "llama";
    case ModelArch::kQwen2: return "qwen2";
    case ModelArch::kDeepseek2: return "deepseek2";
  }
  return "?";
}

std::string ModelConfig::Summary() const {
  const char* scaling = rope.scaling == RopeScalingType::kLinear   ? ", rope linear"
                        : rope.scaling == RopeScalingType::kLlama3 ? ", rope llama3"
                        : rope.scaling == RopeScalingType::kYarn   ? ", rope yarn"
                                                                   : "";
  if (is_deepseek2()) {
    return fmt::format("deepseek2, {} layers, hidden {}, {} heads, MLA q_lora {} kv_lora {} (cache {}/token/layer), "
                       "{} experts ({} per token, {} shared, ffn {}) after {} dense, vocab {}{}{}",
                       n_layers, n_embd, n_heads, mla.q_lora_rank, mla.kv_lora_rank, mla.cache_dim(), moe.n_experts,
                       moe.top_k, moe.n_shared, moe.n_ff_expert, moe.first_dense, n_vocab, scaling,
                       mtp_layers > 0 ? fmt::format(", {} MTP layer(s) skipped", mtp_layers) : std::string());
  }
  return fmt::format("{}, {} layers, hidden {}, heads {}/{} x {}, ffn {}, vocab {}{}{}", ModelArchName(arch),
                     n_layers, n_embd, n_heads, n_kv_heads, head_dim, n_ff, n_vocab, qkv_bias ? ", qkv bias" : "",
                     scaling);
}

namespace {

// Shapes are bounded far above real models so that products of them never overflow int64 and a
// corrupt file cannot ask for absurd allocations before its tensors are checked.
Status CheckShape(const ModelConfig& c) {
  auto in = [](int64_t v, int64_t lo, int64_t hi) { return v >= lo && v <= hi; };
  if (!in(c.n_layers, 1, 1024)) return InvalidArgumentError(fmt::format("block count {} is outside [1, 1024]", c.n_layers));
  if (!in(c.n_embd, 1, 1 << 17)) return InvalidArgumentError(fmt::format("hidden size {} is outside [1, 131072]", c.n_embd));
  if (!in(c.n_heads, 1, 1024)) return InvalidArgumentError(fmt::format("head count {} is outside [1, 1024]", c.n_heads));
  if (!in(c.n_kv_heads, 1, c.n_heads) || c.n_heads % c.n_kv_heads != 0) {
    return InvalidArgumentError(
        fmt::format("key/value head count {} must divide the head count {}", c.n_kv_heads, c.n_heads));
  }
  if (!in(c.head_dim, 2, 1024) || c.head_dim % 2 != 0) {
    return InvalidArgumentError(fmt::format("head dimension {} must be even and in [2, 1024]", c.head_dim));
  }
  if (!in(c.n_ff, 1, 1 << 20)) return InvalidArgumentError(fmt::format("feed-forward size {} is outside [1, 1048576]", c.n_ff));
  if (!in(c.n_vocab, 1, 1 << 24)) return InvalidArgumentError(fmt::format("vocabulary size {} is outside [1, 16777216]", c.n_vocab));
  if (!in(c.rope.n_rot, 2, c.head_dim) || c.rope.n_rot % 2 != 0) {
    return InvalidArgumentError(fmt::format("rope dimension count {} must be even and at most the head dimension {}",
                                            c.rope.n_rot, c.head_dim));
  }
  if (!(c.rope.theta > 0)) return InvalidArgumentError("rope frequency base must be positive");
  if (!(c.rope.factor > 0)) return InvalidArgumentError("rope scaling factor must be positive");
  if (!(c.rms_eps > 0)) return InvalidArgumentError("RMS norm epsilon must be positive");
  return Status::Ok();
}

template <typename T>
Result<int> GetInt(const GgufFile& g, const std::string& key) {
  ASSIGN_OR_RETURN(T v, g.Get<T>(key));
  if (v < 0 || v > (1 << 30)) return InvalidArgumentError(fmt::format("'{}' = {} is out of range", key, v));
  return static_cast<int>(v);
}

}  // namespace

namespace {

// deepseek2 as llama.cpp's converter writes it: MLA as MQA (head_count_kv 1, key_length =
// kv_lora + rope, value_length = kv_lora, the per-head sizes in key/value_length_mla), experts
// with their gating function and groups. The routing method follows from them: sigmoid gating is
// V3's noaux_tc, softmax with several groups V2's group_limited_greedy, else greedy.
Result<ModelConfig> DeepseekConfigFromGguf(const GgufFile& g) {
  ModelConfig c;
  c.arch = ModelArch::kDeepseek2;
  const std::string p = "deepseek2.";
  auto get = [&](const char* key) { return GetInt<int64_t>(g, p + key); };
  auto get_or = [&](const char* key, int64_t fallback) -> Result<int> {
    ASSIGN_OR_RETURN(int64_t v, g.GetOr<int64_t>(p + key, fallback));
    if (v < 0 || v > (1 << 30)) return InvalidArgumentError(fmt::format("'{}{}' = {} is out of range", p, key, v));
    return static_cast<int>(v);
  };
  ASSIGN_OR_RETURN(c.n_layers, get("block_count"));
  ASSIGN_OR_RETURN(c.n_embd, get("embedding_length"));
  ASSIGN_OR_RETURN(c.n_ff, get("feed_forward_length"));
  ASSIGN_OR_RETURN(c.n_heads, get("attention.head_count"));
  c.n_kv_heads = 1;
  ASSIGN_OR_RETURN(int64_t ctx, g.GetOr<int64_t>(p + "context_length", 0));
  c.n_ctx_train = ctx;
  ASSIGN_OR_RETURN(double eps, g.Get<double>(p + "attention.layer_norm_rms_epsilon"));
  c.rms_eps = static_cast<float>(eps);
  ASSIGN_OR_RETURN(c.mla.q_lora_rank, get_or("attention.q_lora_rank", 0));
  ASSIGN_OR_RETURN(c.mla.kv_lora_rank, get("attention.kv_lora_rank"));
  ASSIGN_OR_RETURN(c.mla.qk_rope_head_dim, get("rope.dimension_count"));
  ASSIGN_OR_RETURN(int key_mla, get("attention.key_length_mla"));
  ASSIGN_OR_RETURN(c.mla.v_head_dim, get("attention.value_length_mla"));
  c.mla.qk_nope_head_dim = key_mla - c.mla.qk_rope_head_dim;
  if (c.mla.qk_nope_head_dim <= 0) {
    return InvalidArgumentError(fmt::format("'{}attention.key_length_mla' {} is not larger than the rope dimension {}",
                                            p, key_mla, c.mla.qk_rope_head_dim));
  }
  c.head_dim = c.mla.qk_rope_head_dim;
  ASSIGN_OR_RETURN(c.moe.first_dense, get_or("leading_dense_block_count", 0));
  ASSIGN_OR_RETURN(c.moe.n_experts, get("expert_count"));
  ASSIGN_OR_RETURN(c.moe.top_k, get("expert_used_count"));
  ASSIGN_OR_RETURN(c.moe.n_ff_expert, get("expert_feed_forward_length"));
  ASSIGN_OR_RETURN(c.moe.n_shared, get_or("expert_shared_count", 0));
  ASSIGN_OR_RETURN(c.moe.n_group, get_or("expert_group_count", 1));
  ASSIGN_OR_RETURN(c.moe.topk_group, get_or("expert_group_used_count", c.moe.n_group));
  ASSIGN_OR_RETURN(double scale, g.GetOr<double>(p + "expert_weights_scale", 1.0));
  c.moe.routed_scale = static_cast<float>(scale);
  ASSIGN_OR_RETURN(c.moe.norm_topk, g.GetOr<bool>(p + "expert_weights_norm", false));
  ASSIGN_OR_RETURN(c.mtp_layers, get_or("nextn_predict_layers", 0));
  ASSIGN_OR_RETURN(int gating, get_or("expert_gating_func", 1));
  if (gating == 2) {
    c.moe.scoring = MoeScoring::kSigmoid;
    c.moe.method = MoeTopk::kNoauxTc;
  } else if (gating == 1) {
    c.moe.scoring = MoeScoring::kSoftmax;
    c.moe.method = c.moe.n_group > 1 ? MoeTopk::kGroupLimitedGreedy : MoeTopk::kGreedy;
  } else {
    return UnsupportedError(fmt::format("'{}expert_gating_func' {} (1 softmax, 2 sigmoid)", p, gating));
  }
  if (c.moe.n_experts <= 0 || c.moe.top_k <= 0 || c.moe.top_k > c.moe.n_experts || c.moe.n_group <= 0 ||
      c.moe.n_experts % c.moe.n_group != 0 || c.moe.topk_group <= 0 || c.moe.topk_group > c.moe.n_group) {
    return InvalidArgumentError(fmt::format("inconsistent experts: {} experts, {} used, {} groups of which {} used",
                                            c.moe.n_experts, c.moe.top_k, c.moe.n_group, c.moe.topk_group));
  }
  c.rope.style = RopeStyle::kNormal;
  c.rope.n_rot = c.mla.qk_rope_head_dim;
  ASSIGN_OR_RETURN(c.rope.theta, g.GetOr<double>(p + "rope.freq_base", 10000.0));
  ASSIGN_OR_RETURN(std::string scaling, g.GetOr<std::string>(p + "rope.scaling.type", "none"));
  double mscale = 1.0;
  if (scaling == "yarn") {
    c.rope.scaling = RopeScalingType::kYarn;
    ASSIGN_OR_RETURN(c.rope.factor, g.Get<double>(p + "rope.scaling.factor"));
    ASSIGN_OR_RETURN(c.rope.original_context, g.GetOr<int64_t>(p + "rope.scaling.original_context_length", 4096));
    ASSIGN_OR_RETURN(c.rope.beta_fast, g.GetOr<double>(p + "rope.scaling.yarn_beta_fast", 32.0));
    ASSIGN_OR_RETURN(c.rope.beta_slow, g.GetOr<double>(p + "rope.scaling.yarn_beta_slow", 1.0));
    // The converter writes 0.1 * mscale_all_dim; the softmax scale takes (1 + that * ln factor)^2.
    ASSIGN_OR_RETURN(double log_mul, g.GetOr<double>(p + "rope.scaling.yarn_log_multiplier", 0.0));
    if (!(c.rope.factor > 0) || c.rope.original_context <= 0) {
      return InvalidArgumentError("yarn scaling needs a positive factor and original context length");
    }
    if (c.rope.factor > 1.0) mscale = 1.0 + log_mul * std::log(c.rope.factor);
  } else if (scaling != "none") {
    return UnsupportedError(fmt::format("rope scaling type '{}' is not supported for deepseek2", scaling));
  }
  c.attn_scale = static_cast<float>(std::pow(key_mla, -0.5) * mscale * mscale);
  if (const GgufTensorInfo* emb = g.FindTensor("token_embd.weight"); emb != nullptr && emb->dims.size() == 2) {
    c.n_vocab = static_cast<int>(std::min<uint64_t>(emb->dims[1], 1u << 30));
  } else {
    return InvalidArgumentError("tensor 'token_embd.weight' is missing or not 2-D");
  }
  RETURN_IF_ERROR(CheckShape(c));
  return c;
}

}  // namespace

Result<ModelConfig> ModelConfigFromGguf(const GgufFile& g) {
  ModelConfig c;
  ASSIGN_OR_RETURN(std::string arch, g.Get<std::string>("general.architecture"));
  if (arch == "deepseek2") return DeepseekConfigFromGguf(g);
  if (arch == "llama") {
    c.arch = ModelArch::kLlama;
    c.rope.style = RopeStyle::kNormal;
  } else if (arch == "qwen2") {
    c.arch = ModelArch::kQwen2;
    c.rope.style = RopeStyle::kNeox;
    c.qkv_bias = true;
  } else {
    return UnsupportedError(fmt::format(
        "architecture '{}' is not supported yet (supported: llama, qwen2, deepseek2)", arch));
  }
  const std::string p = arch + ".";
  ASSIGN_OR_RETURN(c.n_layers, GetInt<int64_t>(g, p + "block_count"));
  ASSIGN_OR_RETURN(c.n_embd, GetInt<int64_t>(g, p + "embedding_length"));
  ASSIGN_OR_RETURN(c.n_ff, GetInt<int64_t>(g, p + "feed_forward_length"));
  ASSIGN_OR_RETURN(c.n_heads, GetInt<int64_t>(g, p + "attention.head_count"));
  ASSIGN_OR_RETURN(int64_t kv, g.GetOr<int64_t>(p + "attention.head_count_kv", c.n_heads));
  c.n_kv_heads = static_cast<int>(std::clamp<int64_t>(kv, 0, 1 << 30));
  ASSIGN_OR_RETURN(int64_t ctx, g.GetOr<int64_t>(p + "context_length", 0));
  c.n_ctx_train = ctx;
  ASSIGN_OR_RETURN(double eps, g.Get<double>(p + "attention.layer_norm_rms_epsilon"));
  c.rms_eps = static_cast<float>(eps);
  if (c.n_heads <= 0) return InvalidArgumentError("head count must be positive");
  ASSIGN_OR_RETURN(int64_t key_len, g.GetOr<int64_t>(p + "attention.key_length", c.n_embd / c.n_heads));
  c.head_dim = static_cast<int>(std::clamp<int64_t>(key_len, 0, 1 << 30));
  ASSIGN_OR_RETURN(int64_t n_rot, g.GetOr<int64_t>(p + "rope.dimension_count", c.head_dim));
  c.rope.n_rot = static_cast<int>(std::clamp<int64_t>(n_rot, 0, 1 << 30));
  ASSIGN_OR_RETURN(c.rope.theta, g.GetOr<double>(p + "rope.freq_base", 10000.0));
  ASSIGN_OR_RETURN(std::string scaling, g.GetOr<std::string>(p + "rope.scaling.type", "none"));
  if (scaling == "linear") {
    c.rope.scaling = RopeScalingType::kLinear;
    ASSIGN_OR_RETURN(c.rope.factor, g.Get<double>(p + "rope.scaling.factor"));
  } else if (scaling != "none") {
    return UnsupportedError(fmt::format("rope scaling type '{}' is not supported for {}", scaling, arch));
  }
  // llama3 scaling arrives as a `rope_freqs.weight` tensor of per-dimension divisors; the loader
  // reads it (it is a tensor, not metadata).
  // Vocabulary: the embedding's row count is authoritative; the loader checks it.
  if (const GgufTensorInfo* emb = g.FindTensor("token_embd.weight"); emb != nullptr && emb->dims.size() == 2) {
    c.n_vocab = static_cast<int>(std::min<uint64_t>(emb->dims[1], 1u << 30));
  } else {
    return InvalidArgumentError("tensor 'token_embd.weight' is missing or not 2-D");
  }
  RETURN_IF_ERROR(CheckShape(c));
  return c;
}

namespace {

// DeepSeek-V2/V3 (model_type deepseek_v2 / deepseek_v3): MLA + MoE fields, YaRN, the softmax scale.
Result<ModelConfig> DeepseekConfigFromHf(const HfConfig& hf) {
  ModelConfig c;
  c.arch = ModelArch::kDeepseek2;
  auto need = [&](const std::optional<int64_t>& v, const char* name, int64_t lo, int64_t hi) -> Result<int> {
    if (!v) return InvalidArgumentError(fmt::format("config.json: {} is required for {}", name, hf.model_type));
    if (*v < lo || *v > hi) return InvalidArgumentError(fmt::format("config.json: {} = {} is outside [{}, {}]", name, *v, lo, hi));
    return static_cast<int>(*v);
  };
  ASSIGN_OR_RETURN(c.mla.kv_lora_rank, need(hf.kv_lora_rank, "kv_lora_rank", 1, 1 << 16));
  ASSIGN_OR_RETURN(c.mla.qk_nope_head_dim, need(hf.qk_nope_head_dim, "qk_nope_head_dim", 1, 4096));
  ASSIGN_OR_RETURN(c.mla.qk_rope_head_dim, need(hf.qk_rope_head_dim, "qk_rope_head_dim", 2, 4096));
  ASSIGN_OR_RETURN(c.mla.v_head_dim, need(hf.v_head_dim, "v_head_dim", 1, 4096));
  if (hf.q_lora_rank) {
    ASSIGN_OR_RETURN(c.mla.q_lora_rank, need(hf.q_lora_rank, "q_lora_rank", 1, 1 << 16));
  }
  ASSIGN_OR_RETURN(c.moe.n_experts, need(hf.n_routed_experts, "n_routed_experts", 1, 1 << 16));
  ASSIGN_OR_RETURN(c.moe.top_k, need(hf.num_experts_per_tok, "num_experts_per_tok", 1, c.moe.n_experts));
  ASSIGN_OR_RETURN(c.moe.n_ff_expert, need(hf.moe_intermediate_size, "moe_intermediate_size", 1, 1 << 20));
  c.moe.n_shared = static_cast<int>(std::clamp<int64_t>(hf.n_shared_experts.value_or(0), 0, 1 << 10));
  c.moe.first_dense = static_cast<int>(std::clamp<int64_t>(hf.first_k_dense_replace.value_or(0), 0, 1 << 10));
  if (hf.moe_layer_freq.value_or(1) != 1) {
    return UnsupportedError(fmt::format("config.json: moe_layer_freq {} (every DeepSeek checkpoint has 1)", *hf.moe_layer_freq));
  }
  c.moe.n_group = static_cast<int>(std::clamp<int64_t>(hf.n_group.value_or(1), 1, c.moe.n_experts));
  c.moe.topk_group = static_cast<int>(std::clamp<int64_t>(hf.topk_group.value_or(1), 1, c.moe.n_group));
  if (c.moe.n_experts % c.moe.n_group != 0) {
    return InvalidArgumentError(fmt::format("config.json: n_group {} does not divide n_routed_experts {}", c.moe.n_group,
                                            c.moe.n_experts));
  }
  const std::string method = hf.topk_method.value_or(hf.model_type == "deepseek_v3" ? "noaux_tc" : "greedy");
  if (method == "greedy") {
    c.moe.method = MoeTopk::kGreedy;
  } else if (method == "group_limited_greedy") {
    c.moe.method = MoeTopk::kGroupLimitedGreedy;
  } else if (method == "noaux_tc") {
    c.moe.method = MoeTopk::kNoauxTc;
  } else {
    return UnsupportedError(fmt::format("config.json: topk_method '{}' (greedy, group_limited_greedy, noaux_tc)", method));
  }
  const std::string scoring = hf.scoring_func.value_or(hf.model_type == "deepseek_v3" ? "sigmoid" : "softmax");
  if (scoring == "softmax") {
    c.moe.scoring = MoeScoring::kSoftmax;
  } else if (scoring == "sigmoid") {
    c.moe.scoring = MoeScoring::kSigmoid;
  } else {
    return UnsupportedError(fmt::format("config.json: scoring_func '{}' (softmax, sigmoid)", scoring));
  }
  // transformers' DeepseekV3 router always scores with a sigmoid and selects with noaux_tc; its
  // V2 router always uses a softmax. Other pairings would be computed by neither reference.
  if ((c.moe.method == MoeTopk::kNoauxTc) != (c.moe.scoring == MoeScoring::kSigmoid)) {
    return UnsupportedError(fmt::format("config.json: topk_method '{}' with scoring_func '{}'", method, scoring));
  }
  c.moe.norm_topk = hf.norm_topk_prob.value_or(false);
  c.mtp_layers = static_cast<int>(std::clamp<int64_t>(hf.num_nextn_predict_layers.value_or(0), 0, 16));
  c.moe.routed_scale = static_cast<float>(hf.routed_scaling_factor.value_or(1.0));
  auto narrow = [](int64_t v) { return static_cast<int>(std::clamp<int64_t>(v, -1, 1 << 30)); };
  c.n_layers = narrow(hf.num_hidden_layers);
  c.n_embd = narrow(hf.hidden_size);
  c.n_ff = narrow(hf.intermediate_size > 0 ? hf.intermediate_size : 1);
  c.n_heads = narrow(hf.num_attention_heads);
  c.n_kv_heads = 1;
  c.head_dim = c.mla.qk_rope_head_dim;
  c.n_vocab = narrow(hf.vocab_size);
  c.n_ctx_train = hf.max_position_embeddings;
  c.rms_eps = static_cast<float>(hf.rms_norm_eps);
  c.rope.style = RopeStyle::kNormal;  // adjacent pairs (2i, 2i+1), as DeepSeek's reference rotates
  c.rope.n_rot = c.mla.qk_rope_head_dim;
  c.rope.theta = hf.rope_theta;
  double mscale = 1.0;
  if (hf.rope_scaling) {
    const RopeScaling& s = *hf.rope_scaling;
    if (s.type != "yarn") {
      return UnsupportedError(fmt::format("rope_scaling type '{}' is not supported for {} (yarn)", s.type, hf.model_type));
    }
    c.rope.scaling = RopeScalingType::kYarn;
    c.rope.factor = s.factor;
    c.rope.original_context = s.original_max_position_embeddings.value_or(4096);
    c.rope.beta_fast = s.beta_fast.value_or(32);
    c.rope.beta_slow = s.beta_slow.value_or(1);
    if (!(c.rope.factor > 0) || c.rope.original_context <= 0) {
      return InvalidArgumentError("rope_scaling yarn needs a positive factor and original_max_position_embeddings");
    }
    // cos/sin keep magnitude 1 (mscale / mscale_all_dim is 1 in every released config); the
    // softmax scale takes mscale(factor, mscale_all_dim)^2 (§2.3, as the reference and transformers).
    if (s.mscale.value_or(1.0) != s.mscale_all_dim.value_or(0.0) && s.mscale_all_dim.value_or(0.0) != 0.0) {
      return UnsupportedError("rope_scaling yarn with mscale != mscale_all_dim (cos/sin scaling) is not supported");
    }
    const double all_dim = s.mscale_all_dim.value_or(0.0);
    if (all_dim != 0.0 && c.rope.factor > 1.0) mscale = 0.1 * all_dim * std::log(c.rope.factor) + 1.0;
  }
  c.attn_scale = static_cast<float>(std::pow(c.mla.qk_head_dim(), -0.5) * mscale * mscale);
  if (c.n_heads <= 0) return InvalidArgumentError("num_attention_heads must be positive");
  RETURN_IF_ERROR(CheckShape(c));
  return c;
}

}  // namespace

Result<ModelConfig> ModelConfigFromHf(const HfConfig& hf) {
  if (hf.model_type == "deepseek_v2" || hf.model_type == "deepseek_v3") return DeepseekConfigFromHf(hf);
  ModelConfig c;
  if (hf.model_type == "llama") {
    c.arch = ModelArch::kLlama;
    c.qkv_bias = hf.attention_bias;
  } else if (hf.model_type == "qwen2") {
    c.arch = ModelArch::kQwen2;
    c.qkv_bias = true;
  } else {
    return UnsupportedError(fmt::format(
        "model_type '{}' is not supported yet (supported: llama, qwen2, deepseek_v2, deepseek_v3)", hf.model_type));
  }
  c.rope.style = RopeStyle::kNeox;  // HF checkpoints are in rotate_half order
  auto narrow = [](int64_t v) { return static_cast<int>(std::clamp<int64_t>(v, -1, 1 << 30)); };
  c.n_layers = narrow(hf.num_hidden_layers);
  c.n_embd = narrow(hf.hidden_size);
  c.n_ff = narrow(hf.intermediate_size);
  c.n_heads = narrow(hf.num_attention_heads);
  c.n_kv_heads = narrow(hf.num_key_value_heads > 0 ? hf.num_key_value_heads : hf.num_attention_heads);
  if (c.n_heads <= 0) return InvalidArgumentError("num_attention_heads must be positive");
  c.head_dim = narrow(hf.head_dim.value_or(hf.hidden_size / hf.num_attention_heads));
  c.n_vocab = narrow(hf.vocab_size);
  c.n_ctx_train = hf.max_position_embeddings;
  c.rms_eps = static_cast<float>(hf.rms_norm_eps);
  c.rope.n_rot = c.head_dim;
  c.rope.theta = hf.rope_theta;
  if (hf.rope_scaling) {
    const RopeScaling& s = *hf.rope_scaling;
    c.rope.factor = s.factor;
    if (s.type == "linear") {
      c.rope.scaling = RopeScalingType::kLinear;
    } else if (s.type == "llama3") {
      c.rope.scaling = RopeScalingType::kLlama3;
      c.rope.low_freq_factor = s.low_freq_factor.value_or(1.0);
      c.rope.high_freq_factor = s.high_freq_factor.value_or(4.0);
      c.rope.original_context = s.original_max_position_embeddings.value_or(8192);
      if (!(c.rope.high_freq_factor > c.rope.low_freq_factor) || c.rope.original_context <= 0) {
        return InvalidArgumentError("rope_scaling llama3 needs high_freq_factor > low_freq_factor and a positive "
                                    "original_max_position_embeddings");
      }
    } else if (s.type != "default") {
      return UnsupportedError(fmt::format("rope_scaling type '{}' is not supported for {}", s.type, hf.model_type));
    }
  }
  RETURN_IF_ERROR(CheckShape(c));
  return c;
}

}  // namespace enclave
