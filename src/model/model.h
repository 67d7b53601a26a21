// A loaded decoder model (dense llama / qwen2, or deepseek2 with MLA + MoE): configuration, weights
// and tokenizer.
//
// Thread safety: a Model is immutable after Load and shared by every thread and sequence; all
// per-sequence state (KV cache, scratch, sampler) lives outside it (runtime/). Weights are
// zero-copy views of the memory-mapped file where their type is usable as stored; weights that
// must be converted (norms stored as F16, on-load quantization) live in buffers the Model owns.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "kernels/matmul.h"
#include "kernels/quantize.h"
#include "model/model_config.h"
#include "tokenizer/tokenizer.h"

namespace enclave {

class GgufFile;
class SafetensorsModel;
class ThreadPool;

struct LayerWeights {
  std::span<const float> attn_norm;          // F32 [n_embd]
  kernels::WeightMatrix wq, wk, wv, wo;      // [q_dim, n_embd], [kv_dim, n_embd] x2, [n_embd, q_dim]
  std::span<const float> bq, bk, bv;         // F32 [q_dim], [kv_dim] x2; empty without biases
  std::span<const float> ffn_norm;           // F32 [n_embd]
  kernels::WeightMatrix w_gate, w_up, w_down;  // [n_ff, n_embd] x2, [n_embd, n_ff]
};

// A SwiGLU FFN: down(silu(gate(x)) * up(x)).
struct FfnWeights {
  kernels::WeightMatrix gate, up, down;  // [n_ff, n_embd] x2, [n_embd, n_ff]
};

// One DeepSeek-V2/V3 layer (MLA attention + dense FFN or MoE), in the absorbed form: the cache holds
// the latent, and kv_b_proj is split per head into W_UK (applied to the query, transposed) and W_UV
// (applied to the latent attention output).
struct DeepseekLayerWeights {
  std::span<const float> attn_norm, ffn_norm;       // F32 [n_embd]
  kernels::WeightMatrix wq_a, wq_b;                 // [q_lora, n_embd], [H * qk_head, q_lora] (q_lora > 0)
  std::span<const float> q_a_norm;                  // F32 [q_lora]
  kernels::WeightMatrix wq;                         // [H * qk_head, n_embd] (q_lora == 0)
  kernels::WeightMatrix wkv_a;                      // [kv_lora + qk_rope, n_embd]
  std::span<const float> kv_a_norm;                 // F32 [kv_lora]
  std::vector<kernels::WeightMatrix> wk_b_t;        // per head, F32 [kv_lora, qk_nope] = W_UK[h]ᵀ
  std::vector<kernels::WeightMatrix> wv_b;          // per head [v_head, kv_lora] = W_UV[h] (rows of kv_b_proj)
  // Per head [qk_nope, kv_lora] = W_UK[h]: decompresses cached latents into keys for the long
  // prefills that run MLA in its non-absorbed form (arch/deepseek2.h). Row views of kv_b_proj, or,
  // for GGUF files that store only W_UK[h]ᵀ (attn_k_b), a transposed copy: F32 from F32 files,
  // F16 otherwise (exact for F16 files; far below the quantization error of quantized ones).
  std::vector<kernels::WeightMatrix> wk_b;
  kernels::WeightMatrix wo;                         // [n_embd, H * v_head]
  FfnWeights dense;                                 // layers < first_dense
  kernels::WeightMatrix router;                     // F32 [n_experts, n_embd] (MoE layers)
  std::span<const float> router_bias;               // F32 [n_experts]: e_score_correction_bias (noaux_tc)
  std::vector<FfnWeights> experts;                  // [n_experts]
  FfnWeights shared;                                // n_shared * n_ff_expert wide; empty rows when none
};

struct ModelLoadOptions {
  // Quantize every matrix to this type while loading (HF directories; GGUF files are used as
  // stored). Q8_0 or Q4_K; with Q4_K the output matrix becomes Q6_K (llama.cpp's Q4_K_M choice).
  std::optional<DType> quantize;
  // How hard the quantizers search (kernels/quantize.h): kFast by default, so a 16B model is
  // ready in minutes; kBest gives the bytes the synthetic GGUF files and quantize tools write.
  kernels::QuantEffort quantize_effort = kernels::QuantEffort::kFast;
  // Called from the loading thread with (bytes done, bytes total); may be empty.
  std::function<void(uint64_t, uint64_t)> progress;
  ThreadPool* pool = nullptr;  // used for on-load quantization when set
};

class Model {
 public:
  // `path`: a GGUF file, or a Hugging Face model directory (config.json + *.safetensors +
  // tokenizer files).
  static Result<std::unique_ptr<Model>> Load(const std::string& path, const ModelLoadOptions& options = {});
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelConfig& config() const { return config_; }
  const tokenizer::Tokenizer& tokenizer() const { return *tokenizer_; }
  // Token ids generation may produce: the logits' first n_vocab entries, but no more than the
  // tokenizer knows (HF configs often pad vocab_size past the tokenizer's last token: a sampled
  // padding id could not be turned into text).
  int32_t n_sampleable() const {
    return static_cast<int32_t>(std::min<int64_t>(config_.n_vocab, static_cast<int64_t>(tokenizer_->vocab_size())));
  }
  // The model's own chat template ("" when it has none).
  const std::string& chat_template() const { return tokenizer_->chat_template(); }

  const kernels::WeightMatrix& token_embd() const { return token_embd_; }  // [n_vocab, n_embd]
  const kernels::WeightMatrix& output() const { return output_; }  // [n_vocab, n_embd]; token_embd when tied
  std::span<const float> output_norm() const { return output_norm_; }
  const std::vector<LayerWeights>& layers() const { return layers_; }  // llama / qwen2
  const std::vector<DeepseekLayerWeights>& deepseek_layers() const { return ds_layers_; }  // deepseek2
  // Rotary inverse frequencies (radians per position) for each rotated pair, scaling applied.
  std::span<const double> rope_inv_freq() const { return rope_inv_freq_; }

  // "GGUF" or "safetensors", and the matrix types, e.g. "Q4_K 169, Q6_K 1, F32 57".
  const std::string& format() const { return format_; }
  std::string WeightTypeSummary() const;
  // Bytes of weights the forward pass reads (GGUF: the tensor data; HF: after on-load quantization).
  uint64_t weight_bytes() const { return weight_bytes_; }
  bool tied_embeddings() const { return tied_; }

 private:
  friend class ModelBuilder;
  Model();

  ModelConfig config_;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer_;
  kernels::WeightMatrix token_embd_, output_;
  std::span<const float> output_norm_;
  std::vector<LayerWeights> layers_;
  std::vector<DeepseekLayerWeights> ds_layers_;
  std::vector<double> rope_inv_freq_;
  std::string format_;
  uint64_t weight_bytes_ = 0;
  bool tied_ = false;

  std::unique_ptr<GgufFile> gguf_;
  std::unique_ptr<SafetensorsModel> safetensors_;
  std::vector<std::vector<uint8_t>> owned_;  // converted tensors; never resized after load
};

// Rotary inverse frequencies for `rope`: theta^(-2i/n_rot) for each pair i, with linear or llama3
// scaling applied as Hugging Face transformers computes them (in double).
std::vector<double> RopeInverseFrequencies(const RopeConfig& rope);

}  // namespace enclave
