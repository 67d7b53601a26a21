#include "synth/presets.h"

#include <fmt/format.h>

namespace enclave::synth {
namespace {

std::vector<Preset> MakePresets() {
  std::vector<Preset> v;
  Preset p;
  p.arch = "llama";
  p.name = "tiny";
  p.description = "llama, plain RoPE (theta 10000), like deepseek-llm";
  v.push_back(p);

  p.name = "tiny-rope-linear";
  p.description = "llama, linear RoPE scaling factor 4, theta 100000, like deepseek-coder";
  p.rope = RopeScaling::kLinear;
  p.rope_factor = 4.0;
  p.rope_theta = 100000.0;
  v.push_back(p);

  p.name = "tiny-rope-llama3";
  p.description = "llama, llama3 RoPE scaling (factor 8, theta 500000), like R1-Distill-Llama-8B";
  p.rope = RopeScaling::kLlama3;
  p.rope_factor = 8.0;
  p.rope_theta = 500000.0;
  v.push_back(p);

  // Values of deepseek-ai/DeepSeek-R1-Distill-Llama-8B's config.json, written from knowledge of
  // the public file (not read at build time).
  p.name = "r1-distill-llama-8b";
  p.description = "exact shapes of DeepSeek-R1-Distill-Llama-8B (about 8.0 B parameters)";
  p.tiny = false;
  p.hidden = 4096;
  p.intermediate = 14336;
  p.n_layers = 32;
  p.n_heads = 32;
  p.n_kv_heads = 8;
  p.max_positions = 131072;
  p.vocab_size = 128256;
  p.rms_eps = 1e-5;
  v.push_back(p);

  Preset q;
  q.arch = "qwen2";
  q.name = "tiny";
  q.description = "qwen2, q/k/v bias, untied output, like R1-Distill-Qwen";
  q.qkv_bias = true;
  q.max_window_layers = 2;
  v.push_back(q);

  q.name = "tiny-tied";
  q.description = "qwen2, q/k/v bias, tie_word_embeddings (no lm_head / output.weight)";
  q.tied = true;
  v.push_back(q);

  // deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B and -7B config.json values, from knowledge of the
  // public files: both untied, theta 10000, 131072 positions, sliding window off.
  q.name = "r1-distill-qwen-1.5b";
  q.description = "exact shapes of DeepSeek-R1-Distill-Qwen-1.5B (about 1.8 B parameters)";
  q.tiny = false;
  q.tied = false;
  q.hidden = 1536;
  q.intermediate = 8960;
  q.n_layers = 28;
  q.n_heads = 12;
  q.n_kv_heads = 2;
  q.max_positions = 131072;
  q.vocab_size = 151936;
  q.max_window_layers = 21;
  v.push_back(q);

  q.name = "r1-distill-qwen-7b";
  q.description = "exact shapes of DeepSeek-R1-Distill-Qwen-7B (about 7.6 B parameters)";
  q.hidden = 3584;
  q.intermediate = 18944;
  q.n_heads = 28;
  q.n_kv_heads = 4;
  q.vocab_size = 152064;
  q.max_window_layers = 28;
  v.push_back(q);

  // deepseek2: tiny MLA + MoE models with the feature mix of each DeepSeek generation (§2.1 of
  // the spec), small enough for tests: 3 layers, the first dense (first_k_dense_replace 1),
  // 8 routed experts of which 2 per token, YaRN RoPE on the 16 rope dimensions.
  Preset d;
  d.arch = "deepseek2";
  d.name = "tiny-v2-lite";
  d.description = "deepseek2 like V2-Lite: no q_lora, softmax greedy routing, 2 shared experts";
  d.hidden = 128;
  d.intermediate = 256;
  d.n_layers = 3;
  d.n_heads = 4;
  d.n_kv_heads = 4;
  d.max_positions = 163840;
  d.rope = RopeScaling::kYarn;
  d.rope_factor = 40.0;
  d.original_max_positions = 4096;
  d.ds.model_type = "deepseek_v2";
  d.ds.kv_lora_rank = 64;
  d.ds.qk_nope_head_dim = 32;
  d.ds.qk_rope_head_dim = 16;
  d.ds.v_head_dim = 32;
  d.ds.n_routed_experts = 8;
  d.ds.n_shared_experts = 2;
  d.ds.num_experts_per_tok = 2;
  d.ds.moe_intermediate_size = 64;
  d.ds.first_k_dense_replace = 1;
  d.ds.topk_method = "greedy";
  d.ds.scoring_func = "softmax";
  d.ds.mscale = d.ds.mscale_all_dim = 0.707;
  v.push_back(d);

  d.name = "tiny-v2";
  d.description = "deepseek2 like V2: q_lora, softmax group_limited_greedy routing (4 groups, 2 kept), scaling 16";
  d.ds.q_lora_rank = 64;
  d.ds.n_group = 4;
  d.ds.topk_group = 2;
  d.ds.topk_method = "group_limited_greedy";
  d.ds.routed_scaling_factor = 16.0;
  v.push_back(d);

  d.name = "tiny-v3";
  d.description = "deepseek2 like V3/R1: sigmoid noaux_tc routing with correction bias, normalized top-k, 1 shared expert";
  d.ds.model_type = "deepseek_v3";
  d.ds.n_shared_experts = 1;
  d.ds.topk_method = "noaux_tc";
  d.ds.scoring_func = "sigmoid";
  d.ds.norm_topk_prob = true;
  d.ds.routed_scaling_factor = 2.5;
  d.ds.mscale = d.ds.mscale_all_dim = 1.0;
  v.push_back(d);

  d.name = "tiny-v3-fp8";
  d.description =
      "deepseek2 like tiny-v3 as V3/R1 ship: native FP8 weights (e4m3, 128x128 block scales) and one MTP layer";
  d.ds.fp8 = true;
  d.ds.mtp_layers = 1;
  v.push_back(d);

  // deepseek-ai/DeepSeek-V2-Lite(-Chat) config.json values (DEEPSEEK_SPEC.md §2.1), for benchmarks.
  Preset lite;
  lite.arch = "deepseek2";
  lite.name = "v2-lite";
  lite.description = "exact shapes of DeepSeek-V2-Lite (about 15.7 B parameters, 2.4 B active per token)";
  lite.tiny = false;
  lite.hidden = 2048;
  lite.intermediate = 10944;
  lite.n_layers = 27;
  lite.n_heads = 16;
  lite.n_kv_heads = 16;
  lite.max_positions = 163840;
  lite.vocab_size = 102400;
  lite.rope = RopeScaling::kYarn;
  lite.rope_factor = 40.0;
  lite.original_max_positions = 4096;
  lite.ds.model_type = "deepseek_v2";
  lite.ds.kv_lora_rank = 512;
  lite.ds.qk_nope_head_dim = 128;
  lite.ds.qk_rope_head_dim = 64;
  lite.ds.v_head_dim = 128;
  lite.ds.n_routed_experts = 64;
  lite.ds.n_shared_experts = 2;
  lite.ds.num_experts_per_tok = 6;
  lite.ds.moe_intermediate_size = 1408;
  lite.ds.first_k_dense_replace = 1;
  lite.ds.topk_method = "greedy";
  lite.ds.scoring_func = "softmax";
  lite.ds.mscale = lite.ds.mscale_all_dim = 0.707;
  v.push_back(lite);

  // The same shapes stored as V3/R1 ship their weights (FP8 e4m3 with 128x128 block scales): the
  // benchmark for loading native FP8 checkpoints (15.7 GB instead of 31 GB of BF16).
  lite.name = "v2-lite-fp8";
  lite.description = "DeepSeek-V2-Lite's shapes with V3-style native FP8 weights (e4m3, 128x128 block scales)";
  lite.ds.fp8 = true;
  v.push_back(lite);
  return v;
}

}  // namespace

const std::vector<Preset>& AllPresets() {
  static const std::vector<Preset> presets = MakePresets();
  return presets;
}

Result<const Preset*> FindPreset(std::string_view arch, std::string_view name) {
  std::string valid;
  for (const Preset& p : AllPresets()) {
    if (p.arch == arch && p.name == name) return &p;
    valid += fmt::format("{}--arch {} --preset {}", valid.empty() ? "" : ", ", p.arch, p.name);
  }
  return NotFoundError(fmt::format("no preset '{}' for arch '{}'; valid: {}", name, arch, valid));
}

}  // namespace enclave::synth
