// Loading llama / qwen2 models from GGUF files written by llama.cpp's converter (or ours).
#include <fmt/format.h>

#include "format/gguf_reader.h"
#include "model/model_builder.h"
#include "model/tensor_convert.h"
#include "tokenizer/tokenizer_loader.h"

namespace enclave {
namespace {

class GgufWeights {
 public:
  GgufWeights(const GgufFile& g, Model& m) : g_(g), m_(m) {}

  // A matrix stored with GGUF dims [cols, rows].
  Result<kernels::WeightMatrix> Matrix(const std::string& name, int64_t rows, int64_t cols) const {
    const GgufTensorInfo* t = g_.FindTensor(name);
    if (t == nullptr) return NotFoundError(fmt::format("tensor '{}' is missing", name));
    if (t->dims.size() != 2 || t->dims[0] != static_cast<uint64_t>(cols) || t->dims[1] != static_cast<uint64_t>(rows)) {
      return InvalidArgumentError(fmt::format("tensor '{}' has shape {}, expected [{}, {}]", name, Dims(*t), cols, rows));
    }
    if (!t->type_known || !kernels::IsMatmulWeightType(t->type)) {
      return UnsupportedError(fmt::format("tensor '{}' has type {}, which has no matrix kernel", name,
                                          GgmlTypeName(t->type_id)));
    }
    kernels::WeightMatrix w{t->type, t->data.data(), rows, cols, *RowBytes(t->type, cols)};
    RETURN_IF_ERROR(kernels::ValidateWeightMatrix(w).WithContext(fmt::format("tensor '{}'", name)));
    return w;
  }

  Result<std::span<const float>> Vector(const std::string& name, int64_t n) const {
    const GgufTensorInfo* t = g_.FindTensor(name);
    if (t == nullptr) return NotFoundError(fmt::format("tensor '{}' is missing", name));
    if (t->n_elements != static_cast<uint64_t>(n) || t->dims.size() != 1) {
      return InvalidArgumentError(fmt::format("tensor '{}' has shape {}, expected [{}]", name, Dims(*t), n));
    }
    if (!t->type_known) return UnsupportedError(fmt::format("tensor '{}' has an unknown type", name));
    std::span<uint8_t> storage;
    if (t->type != DType::kF32 || reinterpret_cast<uintptr_t>(t->data.data()) % alignof(float) != 0) {
      storage = ModelBuilder::Own(m_, n * sizeof(float));
    }
    return VectorAsF32(name, t->type, t->data, n, storage);
  }

  bool Has(const std::string& name) const { return g_.FindTensor(name) != nullptr; }

 private:
  static std::string Dims(const GgufTensorInfo& t) {
    std::string s = "[";
    for (size_t i = 0; i < t.dims.size(); ++i) s += fmt::format("{}{}", i ? ", " : "", t.dims[i]);
    return s + "]";
  }
  const GgufFile& g_;
  Model& m_;
};

// Touches every page of the tensor data so that the first request does not pay page faults, and
// reports progress while doing it.
void Prefault(const GgufFile& g, const std::function<void(uint64_t, uint64_t)>& progress) {
  uint64_t total = 0, done = 0;
  for (const GgufTensorInfo& t : g.tensors()) total += t.data.size();
  volatile uint8_t sink = 0;
  for (const GgufTensorInfo& t : g.tensors()) {
    for (size_t off = 0; off < t.data.size(); off += 4096) sink = sink + t.data[off];
    done += t.data.size();
    if (progress) progress(done, total);
  }
  (void)sink;
}

}  // namespace

Result<std::unique_ptr<Model>> ModelBuilder::FromGguf(const std::string& path, const ModelLoadOptions& options) {
  std::unique_ptr<Model> m(new Model());
  ASSIGN_OR_RETURN(m->gguf_, GgufFile::Open(path));
  const GgufFile& g = *m->gguf_;
  m->format_ = "GGUF";
  ASSIGN_OR_RETURN(m->config_, ModelConfigFromGguf(g));
  ModelConfig& c = m->config_;
  auto tok = tokenizer::LoadTokenizerFromGguf(g);
  if (!tok.ok()) return tok.status().WithContext("tokenizer");
  m->tokenizer_ = std::move(*tok);

  GgufWeights w(g, *m);
  ASSIGN_OR_RETURN(m->token_embd_, w.Matrix("token_embd.weight", c.n_vocab, c.n_embd));
  ASSIGN_OR_RETURN(m->output_norm_, w.Vector("output_norm.weight", c.n_embd));
  if (w.Has("output.weight")) {
    ASSIGN_OR_RETURN(m->output_, w.Matrix("output.weight", c.n_vocab, c.n_embd));
  } else {
    m->output_ = m->token_embd_;
    m->tied_ = true;
  }
  m->rope_inv_freq_ = RopeInverseFrequencies(c.rope);
  if (w.Has("rope_freqs.weight")) {
    // llama3-style scaling baked by the converter: a divisor per rotated pair.
    ASSIGN_OR_RETURN(std::span<const float> divisors, w.Vector("rope_freqs.weight", c.rope.n_rot / 2));
    for (size_t i = 0; i < divisors.size(); ++i) {
      if (!(divisors[i] > 0)) return InvalidArgumentError("tensor 'rope_freqs.weight' holds a non-positive divisor");
      m->rope_inv_freq_[i] /= divisors[i];
    }
    c.rope.scaling = RopeScalingType::kLlama3;
  }
  m->layers_.resize(c.n_layers);
  for (int i = 0; i < c.n_layers; ++i) {
    LayerWeights& l = m->layers_[i];
    const std::string p = fmt::format("blk.{}.", i);
    ASSIGN_OR_RETURN(l.attn_norm, w.Vector(p + "attn_norm.weight", c.n_embd));
    ASSIGN_OR_RETURN(l.wq, w.Matrix(p + "attn_q.weight", c.q_dim(), c.n_embd));
    ASSIGN_OR_RETURN(l.wk, w.Matrix(p + "attn_k.weight", c.kv_dim(), c.n_embd));
    ASSIGN_OR_RETURN(l.wv, w.Matrix(p + "attn_v.weight", c.kv_dim(), c.n_embd));
    ASSIGN_OR_RETURN(l.wo, w.Matrix(p + "attn_output.weight", c.n_embd, c.q_dim()));
    if (c.qkv_bias) {
      ASSIGN_OR_RETURN(l.bq, w.Vector(p + "attn_q.bias", c.q_dim()));
      ASSIGN_OR_RETURN(l.bk, w.Vector(p + "attn_k.bias", c.kv_dim()));
      ASSIGN_OR_RETURN(l.bv, w.Vector(p + "attn_v.bias", c.kv_dim()));
    }
    ASSIGN_OR_RETURN(l.ffn_norm, w.Vector(p + "ffn_norm.weight", c.n_embd));
    ASSIGN_OR_RETURN(l.w_gate, w.Matrix(p + "ffn_gate.weight", c.n_ff, c.n_embd));
    ASSIGN_OR_RETURN(l.w_up, w.Matrix(p + "ffn_up.weight", c.n_ff, c.n_embd));
    ASSIGN_OR_RETURN(l.w_down, w.Matrix(p + "ffn_down.weight", c.n_embd, c.n_ff));
  }
  for (const GgufTensorInfo& t : g.tensors()) m->weight_bytes_ += t.data.size();
  Prefault(g, options.progress);
  return m;
}

}  // namespace enclave
