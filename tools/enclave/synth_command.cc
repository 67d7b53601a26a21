// `enclave synth --arch ARCH --preset NAME --seed N --out DIR`: writes a random-weight model as a
// Hugging Face directory and as GGUF files (docs/synthetic-models.md). `--list` prints presets.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "synth/presets.h"
#include "synth/synth_model.h"
#include "tools/enclave/commands.h"

namespace enclave::cli {
namespace {

void PrintPresets() {
  std::printf("%-6s %-22s %-6s %s\n", "arch", "preset", "size", "description");
  for (const synth::Preset& p : synth::AllPresets()) {
    std::printf("%-6s %-22s %-6s %s\n", std::string(p.arch).c_str(), std::string(p.name).c_str(),
                p.tiny ? "tiny" : "big", std::string(p.description).c_str());
  }
}

// A one-line bar redrawn in place; only for big presets, where writing takes minutes.
struct ProgressBar {
  int last_percent = -1;
  void operator()(uint64_t done, uint64_t total) {
    const int percent = total == 0 ? 100 : static_cast<int>(done * 100 / total);
    if (percent == last_percent) return;
    last_percent = percent;
    const int filled = percent / 4;
    std::fprintf(stderr, "\rsynth [%s%s] %3d%% of %.2f B parameters", std::string(filled, '#').c_str(),
                 std::string(25 - filled, '.').c_str(), percent, static_cast<double>(total) / 1e9);
    if (percent == 100) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }
};

}  // namespace

void RegisterSynth(CLI::App& app, CommandRegistry& registry) {
  auto opt = std::make_shared<synth::SynthOptions>();
  auto list = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "synth",
      "Write a random-weight model (normal(0, 0.02), deterministic for a seed) as a Hugging Face directory "
      "(config.json, model.safetensors, tokenizer files) and as GGUF files in DIR/gguf/ "
      "(model-{f32,f16,q8_0,q4_k,q4_k_m}.gguf), laid out as llama.cpp's converter would write them.");
  cmd->add_flag("--list", *list, "print the presets and exit");
  cmd->add_option("--arch", opt->arch, "llama, qwen2 or deepseek2 (DeepSeek-V2/V3: MLA + MoE)");
  cmd->add_option("--preset", opt->preset, "a preset of that arch (see --list)");
  cmd->add_option("--seed", opt->seed, "random seed (default 1)");
  cmd->add_option("--out", opt->out_dir, "output directory (must be empty or absent unless --force)");
  cmd->add_option("--hf-dtype", opt->hf_dtype, "dtype of model.safetensors: f32, bf16, f16 (default f32 for tiny presets, bf16 for big)");
  cmd->add_option("--gguf", opt->gguf, "GGUF variants to write: f32,f16,q8_0,q4_k,q4_k_m or none (default f32,f16,q8_0,q4_k for tiny presets, q4_k_m for big). q4_k: Q4_K with the output in Q6_K; q4_k_m: llama-quantize's Q4_K_M mix (also attn_v/ffn_down in Q6_K in a third of the layers)")
      ->delimiter(',');
  cmd->add_option("--chat-template", opt->chat_template_path, "Jinja chat template file for tokenizer_config.json and GGUF");
  cmd->add_option("--vocab-size", opt->vocab_size,
                  "rows of the embedding and output matrices (default: the preset's); more than the tokenizer's "
                  "tokens gives padding ids, as many HF checkpoints have")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 22));
  cmd->add_option("--std", opt->std, "standard deviation of weights and biases (default 0.02)")->check(CLI::Range(1e-6, 10.0));
  cmd->add_flag("--speed-only", opt->speed_only,
                "benchmarks only: write just the GGUF variants, with random quantized blocks instead of quantizing "
                "(minutes instead of hours for big presets; the model computes noise at a real model's speed)");
  cmd->add_flag("--force", opt->force, "write into an existing non-empty directory (files of the same name are replaced)");
  cmd->callback([opt, list, &registry] {
    if (*list) {
      PrintPresets();
      registry.exit_code = 0;
      return;
    }
    if (opt->arch.empty() || opt->preset.empty() || opt->out_dir.empty()) {
      std::fprintf(stderr, "error: give --arch, --preset and --out (or --list to see the presets)\n");
      registry.exit_code = 2;
      return;
    }
    auto preset = synth::FindPreset(opt->arch, opt->preset);
    if (preset.ok() && !(*preset)->tiny) opt->progress = ProgressBar();
    const auto start = std::chrono::steady_clock::now();
    const Status s = synth::Synthesize(*opt);
    if (!s.ok()) {
      std::fprintf(stderr, "error: %s\n", s.message().c_str());
      registry.exit_code = 1;
      return;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "wrote %s (%s %s, seed %llu) in %.1f s\n", opt->out_dir.c_str(), opt->arch.c_str(),
                 opt->preset.c_str(), static_cast<unsigned long long>(opt->seed), secs);
    registry.exit_code = 0;
  });
}

}  // namespace enclave::cli
