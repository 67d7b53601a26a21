// A loaded dense decoder model: configuration, weights and tokenizer.
//
// Thread safety: a Model is immutable after Load and shared by every thread and sequence; all
// per-sequence state (KV cache, scratch, sampler) lives outside it (runtime/). Weights are
// zero-copy views of the memory-mapped file where their type is usable as stored; weights that
// must be converted (norms stored as F16, on-load quantization) live in buffers the Model owns.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "kernels/matmul.h"
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

struct ModelLoadOptions {
  // Quantize every matrix to this type while loading (HF directories; GGUF files are used as
  // stored). Q8_0 or Q4_K; with Q4_K the output matrix becomes Q6_K (llama.cpp's Q4_K_M choice).
  std::optional<DType> quantize;
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
  // The model's own chat template ("" when it has none).
  const std::string& chat_template() const { return tokenizer_->chat_template(); }

  const kernels::WeightMatrix& token_embd() const { return token_embd_; }  // [n_vocab, n_embd]
  const kernels::WeightMatrix& output() const { return output_; }  // [n_vocab, n_embd]; token_embd when tied
  std::span<const float> output_norm() const { return output_norm_; }
  const std::vector<LayerWeights>& layers() const { return layers_; }
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
