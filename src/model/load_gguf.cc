// Loading llama / qwen2 / deepseek2 models from GGUF files written by llama.cpp's converter (or ours).
#include <fmt/format.h>

#include <cstring>
#include <vector>

#include "base/half.h"
#include "format/gguf_reader.h"
#include "kernels/kernels.h"
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

  // A 3-D tensor stored with GGUF dims [cols, rows, count] as `count` matrices (views).
  Result<std::vector<kernels::WeightMatrix>> Stack(const std::string& name, int64_t count, int64_t rows,
                                                   int64_t cols) const {
    const GgufTensorInfo* t = g_.FindTensor(name);
    if (t == nullptr) return NotFoundError(fmt::format("tensor '{}' is missing", name));
    if (t->dims.size() != 3 || t->dims[0] != static_cast<uint64_t>(cols) || t->dims[1] != static_cast<uint64_t>(rows) ||
        t->dims[2] != static_cast<uint64_t>(count)) {
      return InvalidArgumentError(
          fmt::format("tensor '{}' has shape {}, expected [{}, {}, {}]", name, Dims(*t), cols, rows, count));
    }
    if (!t->type_known || !kernels::IsMatmulWeightType(t->type)) {
      return UnsupportedError(fmt::format("tensor '{}' has type {}, which has no matrix kernel", name,
                                          GgmlTypeName(t->type_id)));
    }
    const size_t row_bytes = *RowBytes(t->type, cols);
    std::vector<kernels::WeightMatrix> out;
    for (int64_t i = 0; i < count; ++i) {
      kernels::WeightMatrix w{t->type, t->data.data() + i * rows * row_bytes, rows, cols, row_bytes};
      RETURN_IF_ERROR(kernels::ValidateWeightMatrix(w).WithContext(fmt::format("tensor '{}'", name)));
      out.push_back(w);
    }
    return out;
  }

  // A matrix converted to F32 in storage the model owns (MoE routers: selection must not depend
  // on how the file rounded them; derived weights).
  Result<kernels::WeightMatrix> MatrixF32(const std::string& name, int64_t rows, int64_t cols) const {
    ASSIGN_OR_RETURN(kernels::WeightMatrix w, Matrix(name, rows, cols));
    if (w.type == DType::kF32 && reinterpret_cast<uintptr_t>(w.data) % alignof(float) == 0) return w;
    std::span<uint8_t> storage = ModelBuilder::Own(m_, static_cast<size_t>(rows) * cols * sizeof(float));
    const kernels::DequantizeRowFn deq = kernels::RefKernels().dequantize(w.type);
    if (deq == nullptr) return UnsupportedError(fmt::format("tensor '{}': cannot convert {} to F32", name, DTypeName(w.type)));
    for (int64_t r = 0; r < rows; ++r) {
      deq(static_cast<const uint8_t*>(w.data) + r * w.row_stride, reinterpret_cast<float*>(storage.data()) + r * cols, cols);
    }
    return kernels::WeightMatrix{DType::kF32, storage.data(), rows, cols, cols * sizeof(float)};
  }

  // wᵀ in storage the model owns: F32 when w is F32, else F16 (see DeepseekLayerWeights::wk_b).
  Result<kernels::WeightMatrix> Transposed(const kernels::WeightMatrix& w, const std::string& name) const {
    const kernels::DequantizeRowFn deq = kernels::RefKernels().dequantize(w.type);
    if (deq == nullptr) return UnsupportedError(fmt::format("tensor '{}': cannot convert {} to F32", name, DTypeName(w.type)));
    std::vector<float> rows(static_cast<size_t>(w.rows) * w.cols);
    for (int64_t r = 0; r < w.rows; ++r) {
      deq(static_cast<const uint8_t*>(w.data) + r * w.row_stride, rows.data() + r * w.cols, w.cols);
    }
    const bool f32 = w.type == DType::kF32;
    const size_t elem = f32 ? sizeof(float) : sizeof(uint16_t);
    std::span<uint8_t> storage = ModelBuilder::Own(m_, static_cast<size_t>(w.rows) * w.cols * elem);
    for (int64_t c = 0; c < w.cols; ++c) {
      for (int64_t r = 0; r < w.rows; ++r) {
        const float v = rows[r * w.cols + c];
        uint8_t* dst = storage.data() + (c * w.rows + r) * elem;
        if (f32) {
          std::memcpy(dst, &v, sizeof v);
        } else {
          const uint16_t h = F32ToFp16(v);
          std::memcpy(dst, &h, sizeof h);
        }
      }
    }
    return kernels::WeightMatrix{f32 ? DType::kF32 : DType::kF16, storage.data(), w.cols, w.rows, w.rows * elem};
  }

  Model& model() const { return m_; }

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

Result<FfnWeights> LoadFfn(const GgufWeights& w, const std::string& prefix, const std::string& suffix, int64_t n_embd,
                           int64_t n_ff) {
  FfnWeights f;
  ASSIGN_OR_RETURN(f.gate, w.Matrix(prefix + "ffn_gate" + suffix + ".weight", n_ff, n_embd));
  ASSIGN_OR_RETURN(f.up, w.Matrix(prefix + "ffn_up" + suffix + ".weight", n_ff, n_embd));
  ASSIGN_OR_RETURN(f.down, w.Matrix(prefix + "ffn_down" + suffix + ".weight", n_embd, n_ff));
  return f;
}

// One deepseek2 layer in llama.cpp's layout (DEEPSEEK_SPEC.md §4.3): attn_k_b / attn_v_b hold the
// per-head halves of kv_b_proj (k_b transposed), which are exactly the absorbed form's matrices;
// older files with only attn_kv_b get them derived here. Experts are 3-D stacks.
Result<DeepseekLayerWeights> LoadDeepseekLayer(const GgufWeights& w, const ModelConfig& c, int layer) {
  DeepseekLayerWeights l;
  const MlaConfig& a = c.mla;
  const int64_t E = c.n_embd, H = c.n_heads;
  const std::string p = fmt::format("blk.{}.", layer);
  ASSIGN_OR_RETURN(l.attn_norm, w.Vector(p + "attn_norm.weight", E));
  ASSIGN_OR_RETURN(l.ffn_norm, w.Vector(p + "ffn_norm.weight", E));
  if (a.q_lora_rank > 0) {
    ASSIGN_OR_RETURN(l.wq_a, w.Matrix(p + "attn_q_a.weight", a.q_lora_rank, E));
    ASSIGN_OR_RETURN(l.q_a_norm, w.Vector(p + "attn_q_a_norm.weight", a.q_lora_rank));
    ASSIGN_OR_RETURN(l.wq_b, w.Matrix(p + "attn_q_b.weight", H * a.qk_head_dim(), a.q_lora_rank));
  } else {
    ASSIGN_OR_RETURN(l.wq, w.Matrix(p + "attn_q.weight", H * a.qk_head_dim(), E));
  }
  ASSIGN_OR_RETURN(l.wkv_a, w.Matrix(p + "attn_kv_a_mqa.weight", a.cache_dim(), E));
  ASSIGN_OR_RETURN(l.kv_a_norm, w.Vector(p + "attn_kv_a_norm.weight", a.kv_lora_rank));
  if (w.Has(p + "attn_k_b.weight")) {
    ASSIGN_OR_RETURN(l.wk_b_t, w.Stack(p + "attn_k_b.weight", H, a.kv_lora_rank, a.qk_nope_head_dim));
    ASSIGN_OR_RETURN(l.wv_b, w.Stack(p + "attn_v_b.weight", H, a.v_head_dim, a.kv_lora_rank));
    for (const kernels::WeightMatrix& kt : l.wk_b_t) {
      ASSIGN_OR_RETURN(kernels::WeightMatrix k, w.Transposed(kt, p + "attn_k_b.weight"));
      l.wk_b.push_back(k);
    }
  } else {
    // Legacy attn_kv_b [H * (nope + v), kv_lora]: W_UV[h] are row views, W_UK[h]ᵀ is transposed
    // into F32 storage.
    const int64_t per_head = a.qk_nope_head_dim + a.v_head_dim;
    ASSIGN_OR_RETURN(kernels::WeightMatrix kv_b, w.MatrixF32(p + "attn_kv_b.weight", H * per_head, a.kv_lora_rank));
    const auto* all = static_cast<const float*>(kv_b.data);
    for (int64_t h = 0; h < H; ++h) {
      std::span<uint8_t> storage = ModelBuilder::Own(w.model(), sizeof(float) * a.kv_lora_rank * a.qk_nope_head_dim);
      auto* t = reinterpret_cast<float*>(storage.data());
      for (int64_t d = 0; d < a.qk_nope_head_dim; ++d) {
        for (int64_t k = 0; k < a.kv_lora_rank; ++k) t[k * a.qk_nope_head_dim + d] = all[(h * per_head + d) * a.kv_lora_rank + k];
      }
      l.wk_b_t.push_back({DType::kF32, t, a.kv_lora_rank, a.qk_nope_head_dim, a.qk_nope_head_dim * sizeof(float)});
      kernels::WeightMatrix k = kv_b;
      k.data = all + h * per_head * a.kv_lora_rank;
      k.rows = a.qk_nope_head_dim;
      l.wk_b.push_back(k);
      kernels::WeightMatrix v = kv_b;
      v.data = all + (h * per_head + a.qk_nope_head_dim) * a.kv_lora_rank;
      v.rows = a.v_head_dim;
      l.wv_b.push_back(v);
    }
  }
  ASSIGN_OR_RETURN(l.wo, w.Matrix(p + "attn_output.weight", E, H * a.v_head_dim));
  if (layer < c.moe.first_dense) {
    ASSIGN_OR_RETURN(l.dense, LoadFfn(w, p, "", E, c.n_ff));
    return l;
  }
  const MoeConfig& m = c.moe;
  ASSIGN_OR_RETURN(l.router, w.MatrixF32(p + "ffn_gate_inp.weight", m.n_experts, E));
  if (m.has_bias()) {
    ASSIGN_OR_RETURN(l.router_bias, w.Vector(p + "exp_probs_b.bias", m.n_experts));
  }
  ASSIGN_OR_RETURN(std::vector<kernels::WeightMatrix> gate, w.Stack(p + "ffn_gate_exps.weight", m.n_experts, m.n_ff_expert, E));
  ASSIGN_OR_RETURN(std::vector<kernels::WeightMatrix> up, w.Stack(p + "ffn_up_exps.weight", m.n_experts, m.n_ff_expert, E));
  ASSIGN_OR_RETURN(std::vector<kernels::WeightMatrix> down, w.Stack(p + "ffn_down_exps.weight", m.n_experts, E, m.n_ff_expert));
  for (int e = 0; e < m.n_experts; ++e) l.experts.push_back({gate[e], up[e], down[e]});
  if (m.n_shared > 0) {
    ASSIGN_OR_RETURN(l.shared, LoadFfn(w, p, "_shexp", E, static_cast<int64_t>(m.n_shared) * m.n_ff_expert));
  }
  return l;
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
  if (c.is_deepseek2()) {
    for (int i = 0; i < c.n_layers; ++i) {
      ASSIGN_OR_RETURN(DeepseekLayerWeights l, LoadDeepseekLayer(w, c, i));
      m->ds_layers_.push_back(std::move(l));
    }
    for (const GgufTensorInfo& t : g.tensors()) m->weight_bytes_ += t.data.size();
    Prefault(g, options.progress);
    return m;
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
