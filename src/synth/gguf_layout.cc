#include "synth/gguf_layout.h"

#include <cmath>
#include <string_view>

#include "kernels/quantize.h"

namespace enclave::synth {

std::optional<GgufVariant> FindGgufVariant(const std::string& name) {
  if (name == "f32") return GgufVariant{name, DType::kF32, 0};
  if (name == "f16") return GgufVariant{name, DType::kF16, 1};
  if (name == "q8_0") return GgufVariant{name, DType::kQ8_0, 7};
  if (name == "q4_k") return GgufVariant{name, DType::kQ4_K, 15};
  if (name == "q4_k_m") return GgufVariant{name, DType::kQ4_K, 15};
  return std::nullopt;
}

std::vector<std::string> GgufVariantNames() { return {"f32", "f16", "q8_0", "q4_k"}; }
std::vector<std::string> AllGgufVariantNames() { return {"f32", "f16", "q8_0", "q4_k", "q4_k_m"}; }

std::optional<std::string> GgufTensorName(const std::string& hf_name) {
  if (hf_name == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf_name == "model.norm.weight") return "output_norm.weight";
  if (hf_name == "lm_head.weight") return "output.weight";
  // "model.layers.<N>.<module>.<weight|bias>", parsed by hand (std::regex trips GCC 12's
  // -Wmaybe-uninitialized under the sanitizer build).
  static constexpr std::string_view kPrefix = "model.layers.";
  std::string_view rest(hf_name);
  if (rest.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  rest.remove_prefix(kPrefix.size());
  size_t digits = 0;
  while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
  if (digits == 0 || digits >= rest.size() || rest[digits] != '.') return std::nullopt;
  const std::string layer(rest.substr(0, digits));
  rest.remove_prefix(digits + 1);
  const size_t dot = rest.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string_view module = rest.substr(0, dot), kind = rest.substr(dot + 1);
  if (module == "mlp.gate" && kind == "e_score_correction_bias") return "blk." + layer + ".exp_probs_b.bias";
  if (kind != "weight" && kind != "bias") return std::nullopt;
  static const std::pair<const char*, const char*> kMap[] = {
      {"input_layernorm", "attn_norm"},  {"self_attn.q_proj", "attn_q"},   {"self_attn.k_proj", "attn_k"},
      {"self_attn.v_proj", "attn_v"},    {"self_attn.o_proj", "attn_output"}, {"post_attention_layernorm", "ffn_norm"},
      {"mlp.gate_proj", "ffn_gate"},     {"mlp.up_proj", "ffn_up"},         {"mlp.down_proj", "ffn_down"},
      // deepseek2 (llama.cpp's converter; experts and kv_b_proj are restacked/split by synth)
      {"self_attn.q_a_proj", "attn_q_a"}, {"self_attn.q_a_layernorm", "attn_q_a_norm"},
      {"self_attn.q_b_proj", "attn_q_b"}, {"self_attn.kv_a_proj_with_mqa", "attn_kv_a_mqa"},
      {"self_attn.kv_a_layernorm", "attn_kv_a_norm"}, {"mlp.gate", "ffn_gate_inp"},
      {"mlp.shared_experts.gate_proj", "ffn_gate_shexp"}, {"mlp.shared_experts.up_proj", "ffn_up_shexp"},
      {"mlp.shared_experts.down_proj", "ffn_down_shexp"}};
  for (const auto& [hf, gguf] : kMap) {
    if (module == hf) return "blk." + layer + "." + gguf + "." + std::string(kind);
  }
  return std::nullopt;
}

std::vector<float> PermuteRowsForGguf(std::span<const float> w, int64_t n_head, int64_t cols) {
  const int64_t rows = static_cast<int64_t>(w.size()) / cols;
  const int64_t hd = rows / n_head, half = hd / 2;
  std::vector<float> out(w.size());
  for (int64_t h = 0; h < n_head; ++h) {
    for (int64_t i = 0; i < 2; ++i) {
      for (int64_t j = 0; j < half; ++j) {
        const float* src = w.data() + (h * hd + i * half + j) * cols;
        std::copy(src, src + cols, out.data() + (h * hd + 2 * j + i) * cols);
      }
    }
  }
  return out;
}

std::vector<float> Llama3RopeFactors(const Preset& p) {
  const int64_t dim = p.head_dim();
  const float base = static_cast<float>(p.rope_theta);
  const float factor = static_cast<float>(p.rope_factor);
  const double low = p.low_freq_factor, high = p.high_freq_factor;
  const double old_len = static_cast<double>(p.original_max_positions);
  const double low_wavelen = old_len / low, high_wavelen = old_len / high;
  std::vector<float> out;
  for (int64_t k = 0; k < dim; k += 2) {
    const float freq = 1.0f / std::pow(base, static_cast<float>(k) / static_cast<float>(dim));
    const float wavelen = static_cast<float>(2.0 * M_PI) / freq;
    if (wavelen < high_wavelen) {
      out.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      out.push_back(factor);
    } else {
      const float smooth = (static_cast<float>(old_len) / wavelen - static_cast<float>(low)) / static_cast<float>(high - low);
      out.push_back(1.0f / ((1.0f - smooth) / factor + smooth));
    }
  }
  return out;
}

namespace {

// llama-quantize's use_more_bits(i_layer, n_layers): the first and last eighth of the layers and
// every third one in between.
bool UseMoreBits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// The layer of "blk.<N>.<name>.weight" when <name> is `module`, else -1.
int64_t LayerOf(const std::string& gguf_name, std::string_view module) {
  static constexpr std::string_view kPrefix = "blk.";
  std::string_view rest(gguf_name);
  if (rest.substr(0, kPrefix.size()) != kPrefix) return -1;
  rest.remove_prefix(kPrefix.size());
  int64_t layer = 0;
  size_t digits = 0;
  while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') layer = layer * 10 + (rest[digits++] - '0');
  if (digits == 0) return -1;
  rest.remove_prefix(digits);
  static constexpr std::string_view kSuffix = ".weight";
  if (rest.size() != 1 + module.size() + kSuffix.size() || rest[0] != '.') return -1;
  return rest.substr(1, module.size()) == module && rest.substr(1 + module.size()) == kSuffix ? layer : -1;
}

}  // namespace

DType GgufTensorType(const GgufVariant& variant, const std::string& gguf_name, int64_t row_length, bool tied,
                     int64_t n_layers) {
  // The MoE router stays F32 in every variant: rounding it would change which experts run.
  if (gguf_name.ends_with(".ffn_gate_inp.weight")) return DType::kF32;
  DType t = variant.main_type;
  if (t == DType::kQ4_K && (gguf_name == "output.weight" || (tied && gguf_name == "token_embd.weight"))) {
    t = DType::kQ6_K;
  }
  if (variant.name == "q4_k_m") {
    // llama-quantize matches by substring: "attn_v.weight" and the legacy MLA "attn_kv_b.weight"
    // are its attn_v category; "ffn_down" also takes the MoE ffn_down_exps and ffn_down_shexp.
    for (std::string_view module : {"attn_v", "attn_kv_b", "ffn_down", "ffn_down_exps", "ffn_down_shexp"}) {
      const int64_t layer = LayerOf(gguf_name, module);
      if (layer >= 0 && UseMoreBits(layer, n_layers)) t = DType::kQ6_K;
    }
  }
  // Rows that do not fill whole blocks fall back as in llama-quantize (DeepSeek-V2-Lite's 1408-wide
  // ffn_down_exps and 128-wide attn_k_b become Q5_0, or Q8_0 where Q6_K was chosen).
  return kernels::QuantTypeForRowLength(t, row_length);
}

namespace {

// The deepseek2 keys llama.cpp's converter writes (MLA written as MQA: one KV head whose key is the
// latent + rope part and whose value is the latent), plus the expert groups of V2/V3 routing.
void AddDeepseekHparams(const Preset& p, GgufWriter& w) {
  const DeepseekFields& d = p.ds;
  const std::string a = "deepseek2.";
  auto u32 = [&](const std::string& key, int64_t v) { w.SetValue(a + key, GgufValue::U32(static_cast<uint32_t>(v))); };
  u32("attention.head_count_kv", 1);
  u32("rope.dimension_count", d.qk_rope_head_dim);
  u32("leading_dense_block_count", d.first_k_dense_replace);
  if (d.q_lora_rank > 0) u32("attention.q_lora_rank", d.q_lora_rank);
  u32("attention.kv_lora_rank", d.kv_lora_rank);
  u32("attention.key_length", d.kv_lora_rank + d.qk_rope_head_dim);
  u32("attention.value_length", d.kv_lora_rank);
  u32("attention.key_length_mla", d.qk_nope_head_dim + d.qk_rope_head_dim);
  u32("attention.value_length_mla", d.v_head_dim);
  u32("expert_feed_forward_length", d.moe_intermediate_size);
  u32("expert_count", d.n_routed_experts);
  u32("expert_used_count", d.num_experts_per_tok);
  u32("expert_shared_count", d.n_shared_experts);
  u32("expert_group_count", d.n_group);
  u32("expert_group_used_count", d.topk_group);
  w.SetValue(a + "expert_weights_scale", GgufValue::F32(static_cast<float>(d.routed_scaling_factor)));
  if (d.norm_topk_prob) w.SetValue(a + "expert_weights_norm", GgufValue::Bool(true));
  u32("expert_gating_func", d.scoring_func == "sigmoid" ? 2 : 1);
  if (p.rope == RopeScaling::kYarn) {
    w.SetValue(a + "rope.scaling.type", GgufValue::String("yarn"));
    w.SetValue(a + "rope.scaling.factor", GgufValue::F32(static_cast<float>(p.rope_factor)));
    u32("rope.scaling.original_context_length", p.original_max_positions);
    w.SetValue(a + "rope.scaling.yarn_log_multiplier", GgufValue::F32(static_cast<float>(0.1 * d.mscale_all_dim)));
  }
}

}  // namespace

void AddGgufHparams(const Preset& p, int64_t vocab_size, const GgufVariant& variant, const std::string& model_name,
                    GgufWriter& w) {
  const std::string a(p.arch);
  w.SetValue("general.architecture", GgufValue::String(a));
  w.SetValue("general.type", GgufValue::String("model"));
  w.SetValue("general.name", GgufValue::String(model_name));
  w.SetValue(a + ".block_count", GgufValue::U32(static_cast<uint32_t>(p.n_layers)));
  w.SetValue(a + ".context_length", GgufValue::U32(static_cast<uint32_t>(p.max_positions)));
  w.SetValue(a + ".embedding_length", GgufValue::U32(static_cast<uint32_t>(p.hidden)));
  w.SetValue(a + ".feed_forward_length", GgufValue::U32(static_cast<uint32_t>(p.intermediate)));
  w.SetValue(a + ".attention.head_count", GgufValue::U32(static_cast<uint32_t>(p.n_heads)));
  w.SetValue(a + ".attention.head_count_kv", GgufValue::U32(static_cast<uint32_t>(p.n_kv_heads)));
  w.SetValue(a + ".rope.freq_base", GgufValue::F32(static_cast<float>(p.rope_theta)));
  w.SetValue(a + ".attention.layer_norm_rms_epsilon", GgufValue::F32(static_cast<float>(p.rms_eps)));
  w.SetValue("general.file_type", GgufValue::U32(variant.file_type));
  w.SetValue(a + ".vocab_size", GgufValue::U32(static_cast<uint32_t>(vocab_size)));
  w.SetValue(a + ".rope.dimension_count", GgufValue::U32(static_cast<uint32_t>(p.head_dim())));
  if (p.rope == RopeScaling::kLinear) {
    w.SetValue(a + ".rope.scaling.type", GgufValue::String("linear"));
    w.SetValue(a + ".rope.scaling.factor", GgufValue::F32(static_cast<float>(p.rope_factor)));
  }
  if (p.deepseek()) AddDeepseekHparams(p, w);
  w.SetValue("general.quantization_version", GgufValue::U32(2));
}

}  // namespace enclave::synth
