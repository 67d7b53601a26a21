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
