// `enclave synth`: random-weight models with the exact layout of real llama / qwen2 checkpoints,
// written as a Hugging Face directory (config.json, model.safetensors, tokenizer files) and as
// GGUF files converted the way llama.cpp's convert_hf_to_gguf.py would convert that directory.
// Weights and biases are normal(0, 0.02), RMSNorm weights 1 + normal(0, 0.02), all from
// synth/rng.h: the same arguments give byte-identical files on every machine.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "synth/presets.h"

namespace enclave::synth {

struct SynthOptions {
  std::string arch;
  std::string preset;
  uint64_t seed = 1;
  std::string out_dir;
  std::string hf_dtype;            // "f32", "bf16", "f16"; empty: f32 for tiny presets, bf16 for big
  std::vector<std::string> gguf;   // variants (f32 f16 q8_0 q4_k q4_k_m, or none); empty: the
                                   // first four for tiny presets, q4_k_m for big ones
  // Standard deviation of weights and biases (norm weights keep 1 + normal(0, 0.02)). Larger values
  // give peaked output distributions, e.g. for testing quantized variants by top-1 agreement.
  double std = 0.02;
  bool force = false;              // write into an existing non-empty directory
  // Rows of the embedding and output matrices; 0: the preset's (its tokenizer's size for tiny
  // presets). Larger than the tokenizer gives padding ids, as many HF checkpoints have.
  int64_t vocab_size = 0;
  // Benchmarks only: GGUF variants with random (valid, finite) quantized blocks instead of
  // quantized random floats, and no HF directory. Minutes instead of hours for big presets; the
  // model computes noise, at exactly the speed of a real one of that shape and type.
  bool speed_only = false;
  std::string chat_template_path;  // optional Jinja file for tokenizer_config.json and GGUF
  // Called after each tensor with (elements done, elements in all); may be empty.
  std::function<void(uint64_t, uint64_t)> progress;
};

struct HfTensor {
  std::string name;
  std::vector<uint64_t> shape;  // PyTorch order
  bool is_norm = false;         // RMSNorm weight: 1 + noise
  bool keep_f32 = false;        // stored as F32 whatever the HF dtype (V3's e_score_correction_bias)
  bool fp8 = false;             // stored as F8_E4M3; the next tensor is its <name>_scale_inv
  bool fp8_scale = false;       // a scale_inv [ceil(rows/128), ceil(cols/128)], F32
};

// The model's tensors in the order they are written (sorted by name, as transformers saves).
std::vector<HfTensor> HfTensors(const Preset& p, int64_t vocab_size);
// The F32 values of one tensor for `seed`, before rounding to the HF dtype.
std::vector<float> SynthValues(const HfTensor& t, uint64_t seed, double std = 0.02);

Status Synthesize(const SynthOptions& options);

}  // namespace enclave::synth
