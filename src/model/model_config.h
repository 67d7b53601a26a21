// The hyperparameters of a dense decoder-only model (architectures `llama` and `qwen2`), read from
// GGUF metadata (llama.cpp's keys) or from a Hugging Face config.json. Immutable once built.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "format/gguf_reader.h"
#include "format/hf_config.h"

namespace enclave {

enum class ModelArch { kLlama, kQwen2 };
const char* ModelArchName(ModelArch arch);

// How rotary embedding pairs dimensions. Hugging Face checkpoints rotate dimension i with
// i + n_rot/2 ("NeoX" style). llama.cpp's converter permutes the Q/K rows of `llama` models so
// that adjacent dimensions (2i, 2i+1) pair ("normal" style); it leaves qwen2 in NeoX order.
enum class RopeStyle { kNormal, kNeox };

enum class RopeScalingType { kNone, kLinear, kLlama3 };

struct RopeConfig {
  RopeStyle style = RopeStyle::kNeox;
  int n_rot = 0;               // rotated dimensions per head (the whole head for these models)
  double theta = 10000.0;
  RopeScalingType scaling = RopeScalingType::kNone;
  double factor = 1.0;         // linear: positions are divided by it; llama3: low-frequency divisor
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  // llama3
  int64_t original_context = 8192;                       // llama3
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

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
  // A one-line description for load reports: "qwen2, 28 layers, 1536 hidden, 12/2 heads, ...".
  std::string Summary() const;
};

Result<ModelConfig> ModelConfigFromGguf(const GgufFile& gguf);
Result<ModelConfig> ModelConfigFromHf(const HfConfig& hf);

}  // namespace enclave
