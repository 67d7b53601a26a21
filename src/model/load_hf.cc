// Loading llama / qwen2 / deepseek2 models from Hugging Face directories (config.json + safetensors +
// tokenizer files), optionally quantizing the matrices while loading.
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "base/half.h"
#include "format/hf_config.h"
#include "format/safetensors.h"
#include "format/safetensors_fp8.h"
#include "kernels/quantize.h"
#include "model/model_builder.h"
#include "model/tensor_convert.h"
#include "platform/mapped_file.h"
#include "platform/thread_pool.h"
#include "tokenizer/tokenizer_loader.h"

namespace enclave {
namespace {

Result<DType> PlainType(const SafetensorsTensor& t) {
  const std::string& n = t.dtype.name;
  if (n == "F32") return DType::kF32;
  if (n == "F16") return DType::kF16;
  if (n == "BF16") return DType::kBF16;
  return UnsupportedError(fmt::format("tensor '{}' has dtype {}; models load from F32, F16, BF16 or block-scaled F8_E4M3", t.name, n));
}

float ElementAsF32(DType type, const uint8_t* p) {
  if (type == DType::kF32) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, p, 2);
  return type == DType::kF16 ? Fp16ToF32(h) : Bf16ToF32(h);
}

class HfWeights {
 public:
  HfWeights(const SafetensorsModel& st, Model& m, const ModelLoadOptions& options)
      : st_(st), m_(m), options_(options) {
    for (const auto& f : st.files()) {
      for (const SafetensorsTensor& t : f->tensors()) total_bytes_ += t.data.size();
    }
  }

  // PyTorch shape [rows, cols]. `output_matrix`: the matrix that produces the logits (lm_head, or
  // the embedding when tied), which --quantize q4_k keeps in Q6_K as llama.cpp's Q4_K_M does: its
  // errors land directly on every logit.
  Result<kernels::WeightMatrix> Matrix(const std::string& name, int64_t rows, int64_t cols, bool output_matrix = false) {
    ASSIGN_OR_RETURN(const SafetensorsTensor* t, Find(name));
    if (t->shape.size() != 2 || t->shape[0] != static_cast<uint64_t>(rows) || t->shape[1] != static_cast<uint64_t>(cols)) {
      return InvalidArgumentError(fmt::format("tensor '{}' has shape {}, expected [{}, {}]", name, Shape(*t), rows, cols));
    }
    if (t->dtype.type == StDType::kF8_E4M3) {
      // DeepSeek-V3 FP8: dequantized with its block scales at load, then kept as F32 or quantized.
      ASSIGN_OR_RETURN(std::vector<float> values, ValuesF32(name, rows, cols));
      if (options_.quantize) {
        const DType to = output_matrix && *options_.quantize == DType::kQ4_K ? DType::kQ6_K : *options_.quantize;
        return Quantize(name, DType::kF32, reinterpret_cast<const uint8_t*>(values.data()), rows, cols, to);
      }
      return OwnF32(values, rows, cols);
    }
    ASSIGN_OR_RETURN(DType type, PlainType(*t));
    const size_t elem = type == DType::kF32 ? 4 : 2;
    kernels::WeightMatrix w{type, t->data.data(), rows, cols, cols * elem};
    if (options_.quantize) {
      const DType to = output_matrix && *options_.quantize == DType::kQ4_K ? DType::kQ6_K : *options_.quantize;
      ASSIGN_OR_RETURN(w, Quantize(name, type, t->data.data(), rows, cols, to));
      MappedFile::ReleasePages(t->data);  // converted: the file's copy is not needed in memory
    } else if (reinterpret_cast<uintptr_t>(t->data.data()) % elem != 0) {
      std::span<uint8_t> copy = ModelBuilder::Own(m_, t->data.size());
      std::memcpy(copy.data(), t->data.data(), t->data.size());
      w.data = copy.data();
      MappedFile::ReleasePages(t->data);
    }
    Progress(t->data.size());
    return w;
  }

  Result<std::span<const float>> Vector(const std::string& name, int64_t n) {
    ASSIGN_OR_RETURN(const SafetensorsTensor* t, Find(name));
    if (t->shape.size() != 1 || t->shape[0] != static_cast<uint64_t>(n)) {
      return InvalidArgumentError(fmt::format("tensor '{}' has shape {}, expected [{}]", name, Shape(*t), n));
    }
    ASSIGN_OR_RETURN(DType type, PlainType(*t));
    std::span<uint8_t> storage;
    if (type != DType::kF32 || reinterpret_cast<uintptr_t>(t->data.data()) % alignof(float) != 0) {
      storage = ModelBuilder::Own(m_, n * sizeof(float));
    }
    Progress(t->data.size());
    return VectorAsF32(name, type, t->data, n, storage);
  }

  bool Has(const std::string& name) const { return st_.Find(name) != nullptr; }

  // A matrix converted to F32 whatever it is stored as (routers, which transformers computes in
  // f32 on both sides; derived weights), as `rows * cols` values.
  Result<std::vector<float>> ValuesF32(const std::string& name, int64_t rows, int64_t cols) {
    ASSIGN_OR_RETURN(const SafetensorsTensor* t, Find(name));
    if (t->shape.size() != 2 || t->shape[0] != static_cast<uint64_t>(rows) || t->shape[1] != static_cast<uint64_t>(cols)) {
      return InvalidArgumentError(fmt::format("tensor '{}' has shape {}, expected [{}, {}]", name, Shape(*t), rows, cols));
    }
    std::vector<float> out(static_cast<size_t>(rows) * cols);
    if (t->dtype.type == StDType::kF8_E4M3) {
      ASSIGN_OR_RETURN(Fp8Weight fp8, FindFp8Weight(st_, name));
      RETURN_IF_ERROR(DequantizeFp8Weight(fp8, out));
      MappedFile::ReleasePages(t->data);
      Progress(t->data.size() + fp8.scale_inv->data.size());
      return out;
    }
    ASSIGN_OR_RETURN(DType type, PlainType(*t));
    const size_t elem = type == DType::kF32 ? 4 : 2;
    for (size_t i = 0; i < out.size(); ++i) out[i] = ElementAsF32(type, t->data.data() + i * elem);
    return out;
  }

  // An F32 matrix the model owns, from values.
  kernels::WeightMatrix OwnF32(std::span<const float> values, int64_t rows, int64_t cols) {
    std::span<uint8_t> storage = ModelBuilder::Own(m_, values.size_bytes());
    std::memcpy(storage.data(), values.data(), values.size_bytes());
    return kernels::WeightMatrix{DType::kF32, storage.data(), rows, cols, cols * sizeof(float)};
  }

  void Count(const std::string& name) {
    if (const SafetensorsTensor* t = st_.Find(name)) Progress(t->data.size());
  }

 private:
  Result<const SafetensorsTensor*> Find(const std::string& name) const {
    const SafetensorsTensor* t = st_.Find(name);
    if (t == nullptr) return NotFoundError(fmt::format("tensor '{}' is missing from the safetensors files", name));
    return t;
  }

  // Rows whose length the type's blocks do not divide take llama-quantize's fallback type (Q4_K ->
  // Q5_0, Q6_K -> Q8_0, else F16).
  Result<kernels::WeightMatrix> Quantize(const std::string& name, DType from, const uint8_t* src, int64_t rows,
                                         int64_t cols, DType to) {
    to = kernels::QuantTypeForRowLength(to, cols);
    const size_t row_bytes = *RowBytes(to, cols);
    std::span<uint8_t> dst = ModelBuilder::Own(m_, row_bytes * rows);
    const size_t src_elem = from == DType::kF32 ? 4 : 2;
    auto work = [&](int thread, int n_threads) {
      int64_t begin, end;
      ThreadPool::SplitRange(rows, 1, thread, n_threads, &begin, &end);
      std::vector<float> row(cols);
      for (int64_t r = begin; r < end; ++r) {
        const uint8_t* s = src + r * cols * src_elem;
        for (int64_t c = 0; c < cols; ++c) row[c] = ElementAsF32(from, s + c * src_elem);
        kernels::QuantizeWeightsRow(to, row.data(), dst.data() + r * row_bytes, cols, options_.quantize_effort);
      }
    };
    if (options_.pool != nullptr) {
      options_.pool->Run(work);
    } else {
      work(0, 1);
    }
    return kernels::WeightMatrix{to, dst.data(), rows, cols, row_bytes};
  }

  void Progress(uint64_t bytes) {
    done_bytes_ += bytes;
    if (options_.progress) options_.progress(done_bytes_, total_bytes_);
  }

  static std::string Shape(const SafetensorsTensor& t) {
    std::string s = "[";
    for (size_t i = 0; i < t.shape.size(); ++i) s += fmt::format("{}{}", i ? ", " : "", t.shape[i]);
    return s + "]";
  }

  const SafetensorsModel& st_;
  Model& m_;
  const ModelLoadOptions& options_;
  uint64_t total_bytes_ = 0, done_bytes_ = 0;
};

Result<FfnWeights> LoadFfn(HfWeights& w, const std::string& prefix, int64_t n_embd, int64_t n_ff) {
  FfnWeights f;
  ASSIGN_OR_RETURN(f.gate, w.Matrix(prefix + "gate_proj.weight", n_ff, n_embd));
  ASSIGN_OR_RETURN(f.up, w.Matrix(prefix + "up_proj.weight", n_ff, n_embd));
  ASSIGN_OR_RETURN(f.down, w.Matrix(prefix + "down_proj.weight", n_embd, n_ff));
  return f;
}

// One DeepSeek-V2/V3 layer (spec §2.8 names). kv_b_proj [H * (nope + v), kv_lora] is split per head:
// its key rows become W_UK[h]ᵀ (F32, for absorbing the query), its value rows W_UV[h] (views).
Result<DeepseekLayerWeights> LoadDeepseekLayer(HfWeights& w, const ModelConfig& c, int layer) {
  DeepseekLayerWeights l;
  const MlaConfig& a = c.mla;
  const int64_t E = c.n_embd, H = c.n_heads;
  const std::string p = fmt::format("model.layers.{}.", layer);
  ASSIGN_OR_RETURN(l.attn_norm, w.Vector(p + "input_layernorm.weight", E));
  ASSIGN_OR_RETURN(l.ffn_norm, w.Vector(p + "post_attention_layernorm.weight", E));
  if (a.q_lora_rank > 0) {
    ASSIGN_OR_RETURN(l.wq_a, w.Matrix(p + "self_attn.q_a_proj.weight", a.q_lora_rank, E));
    ASSIGN_OR_RETURN(l.q_a_norm, w.Vector(p + "self_attn.q_a_layernorm.weight", a.q_lora_rank));
    ASSIGN_OR_RETURN(l.wq_b, w.Matrix(p + "self_attn.q_b_proj.weight", H * a.qk_head_dim(), a.q_lora_rank));
  } else {
    ASSIGN_OR_RETURN(l.wq, w.Matrix(p + "self_attn.q_proj.weight", H * a.qk_head_dim(), E));
  }
  ASSIGN_OR_RETURN(l.wkv_a, w.Matrix(p + "self_attn.kv_a_proj_with_mqa.weight", a.cache_dim(), E));
  ASSIGN_OR_RETURN(l.kv_a_norm, w.Vector(p + "self_attn.kv_a_layernorm.weight", a.kv_lora_rank));
  const std::string kv_b_name = p + "self_attn.kv_b_proj.weight";
  const int64_t per_head = a.qk_nope_head_dim + a.v_head_dim;
  ASSIGN_OR_RETURN(std::vector<float> kv_b, w.ValuesF32(kv_b_name, H * per_head, a.kv_lora_rank));
  ASSIGN_OR_RETURN(kernels::WeightMatrix kv_b_matrix, w.Matrix(kv_b_name, H * per_head, a.kv_lora_rank));
  std::vector<float> t(static_cast<size_t>(a.kv_lora_rank) * a.qk_nope_head_dim);
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t d = 0; d < a.qk_nope_head_dim; ++d) {
      const float* row = kv_b.data() + (h * per_head + d) * a.kv_lora_rank;
      for (int64_t k = 0; k < a.kv_lora_rank; ++k) t[k * a.qk_nope_head_dim + d] = row[k];
    }
    l.wk_b_t.push_back(w.OwnF32(t, a.kv_lora_rank, a.qk_nope_head_dim));
    kernels::WeightMatrix k = kv_b_matrix;
    k.data = static_cast<const uint8_t*>(kv_b_matrix.data) + h * per_head * kv_b_matrix.row_stride;
    k.rows = a.qk_nope_head_dim;
    l.wk_b.push_back(k);
    kernels::WeightMatrix v = kv_b_matrix;
    v.data = static_cast<const uint8_t*>(kv_b_matrix.data) + (h * per_head + a.qk_nope_head_dim) * kv_b_matrix.row_stride;
    v.rows = a.v_head_dim;
    l.wv_b.push_back(v);
  }
  ASSIGN_OR_RETURN(l.wo, w.Matrix(p + "self_attn.o_proj.weight", E, H * a.v_head_dim));
  if (layer < c.moe.first_dense) {
    ASSIGN_OR_RETURN(l.dense, LoadFfn(w, p + "mlp.", E, c.n_ff));
    return l;
  }
  const MoeConfig& m = c.moe;
  ASSIGN_OR_RETURN(std::vector<float> router, w.ValuesF32(p + "mlp.gate.weight", m.n_experts, E));
  l.router = w.OwnF32(router, m.n_experts, E);
  w.Count(p + "mlp.gate.weight");
  if (m.has_bias()) {
    ASSIGN_OR_RETURN(l.router_bias, w.Vector(p + "mlp.gate.e_score_correction_bias", m.n_experts));
  }
  for (int e = 0; e < m.n_experts; ++e) {
    ASSIGN_OR_RETURN(FfnWeights f, LoadFfn(w, fmt::format("{}mlp.experts.{}.", p, e), E, m.n_ff_expert));
    l.experts.push_back(f);
  }
  if (m.n_shared > 0) {
    ASSIGN_OR_RETURN(l.shared, LoadFfn(w, p + "mlp.shared_experts.", E, static_cast<int64_t>(m.n_shared) * m.n_ff_expert));
  }
  return l;
}

}  // namespace

Result<std::unique_ptr<Model>> ModelBuilder::FromHfDirectory(const std::string& dir, const ModelLoadOptions& options) {
  if (options.quantize && *options.quantize != DType::kQ8_0 && *options.quantize != DType::kQ4_K) {
    return InvalidArgumentError(fmt::format("cannot quantize to {} while loading (choose q8_0 or q4_k)",
                                            DTypeName(*options.quantize)));
  }
  const std::string config_path = (std::filesystem::path(dir) / "config.json").string();
  ASSIGN_OR_RETURN(HfConfig hf, LoadHfConfig(config_path));
  std::unique_ptr<Model> m(new Model());
  m->format_ = "safetensors";
  ASSIGN_OR_RETURN(m->config_, ModelConfigFromHf(hf));
  const ModelConfig& c = m->config_;
  ASSIGN_OR_RETURN(m->safetensors_, SafetensorsModel::OpenDirectory(dir));
  auto tok = tokenizer::LoadTokenizer(dir);
  if (!tok.ok()) return tok.status().WithContext("tokenizer");
  m->tokenizer_ = std::move(*tok);

  HfWeights w(*m->safetensors_, *m, options);
  const bool tied = hf.tie_word_embeddings || !w.Has("lm_head.weight");
  ASSIGN_OR_RETURN(m->token_embd_, w.Matrix("model.embed_tokens.weight", c.n_vocab, c.n_embd, /*output_matrix=*/tied));
  ASSIGN_OR_RETURN(m->output_norm_, w.Vector("model.norm.weight", c.n_embd));
  if (tied) {
    m->output_ = m->token_embd_;
    m->tied_ = true;
  } else {
    ASSIGN_OR_RETURN(m->output_, w.Matrix("lm_head.weight", c.n_vocab, c.n_embd, /*output_matrix=*/true));
  }
  m->rope_inv_freq_ = RopeInverseFrequencies(c.rope);
  auto matrix = [](const kernels::WeightMatrix& w) { return static_cast<uint64_t>(w.rows) * w.row_stride; };
  if (c.is_deepseek2()) {
    m->weight_bytes_ = matrix(m->token_embd_) + (m->tied_ ? 0 : matrix(m->output_)) + m->output_norm_.size_bytes();
    for (int i = 0; i < c.n_layers; ++i) {
      ASSIGN_OR_RETURN(DeepseekLayerWeights l, LoadDeepseekLayer(w, c, i));
      for (const auto* x : {&l.wq_a, &l.wq_b, &l.wq, &l.wkv_a, &l.wo, &l.dense.gate, &l.dense.up, &l.dense.down,
                            &l.router, &l.shared.gate, &l.shared.up, &l.shared.down}) {
        m->weight_bytes_ += matrix(*x);
      }
      for (const auto& x : l.wk_b_t) m->weight_bytes_ += matrix(x);
      for (const auto& x : l.wv_b) m->weight_bytes_ += matrix(x);
      for (const FfnWeights& e : l.experts) m->weight_bytes_ += matrix(e.gate) + matrix(e.up) + matrix(e.down);
      m->ds_layers_.push_back(std::move(l));
    }
    return m;
  }
  m->layers_.resize(c.n_layers);
  for (int i = 0; i < c.n_layers; ++i) {
    LayerWeights& l = m->layers_[i];
    const std::string p = fmt::format("model.layers.{}.", i);
    ASSIGN_OR_RETURN(l.attn_norm, w.Vector(p + "input_layernorm.weight", c.n_embd));
    ASSIGN_OR_RETURN(l.wq, w.Matrix(p + "self_attn.q_proj.weight", c.q_dim(), c.n_embd));
    ASSIGN_OR_RETURN(l.wk, w.Matrix(p + "self_attn.k_proj.weight", c.kv_dim(), c.n_embd));
    ASSIGN_OR_RETURN(l.wv, w.Matrix(p + "self_attn.v_proj.weight", c.kv_dim(), c.n_embd));
    ASSIGN_OR_RETURN(l.wo, w.Matrix(p + "self_attn.o_proj.weight", c.n_embd, c.q_dim()));
    if (c.qkv_bias) {
      ASSIGN_OR_RETURN(l.bq, w.Vector(p + "self_attn.q_proj.bias", c.q_dim()));
      ASSIGN_OR_RETURN(l.bk, w.Vector(p + "self_attn.k_proj.bias", c.kv_dim()));
      ASSIGN_OR_RETURN(l.bv, w.Vector(p + "self_attn.v_proj.bias", c.kv_dim()));
    }
    ASSIGN_OR_RETURN(l.ffn_norm, w.Vector(p + "post_attention_layernorm.weight", c.n_embd));
    ASSIGN_OR_RETURN(l.w_gate, w.Matrix(p + "mlp.gate_proj.weight", c.n_ff, c.n_embd));
    ASSIGN_OR_RETURN(l.w_up, w.Matrix(p + "mlp.up_proj.weight", c.n_ff, c.n_embd));
    ASSIGN_OR_RETURN(l.w_down, w.Matrix(p + "mlp.down_proj.weight", c.n_embd, c.n_ff));
  }
  // What the forward pass reads (after any on-load quantization), not the size of the files.
  m->weight_bytes_ = matrix(m->token_embd_) + (m->tied_ ? 0 : matrix(m->output_)) + m->output_norm_.size_bytes();
  for (const LayerWeights& l : m->layers_) {
    for (const auto* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) m->weight_bytes_ += matrix(*w);
    m->weight_bytes_ += l.attn_norm.size_bytes() + l.ffn_norm.size_bytes() + l.bq.size_bytes() + l.bk.size_bytes() +
                        l.bv.size_bytes();
  }
  return m;
}

}  // namespace enclave
