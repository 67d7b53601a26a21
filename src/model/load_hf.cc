// Loading llama / qwen2 models from Hugging Face directories (config.json + safetensors +
// tokenizer files), optionally quantizing the matrices while loading.
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "base/half.h"
#include "format/hf_config.h"
#include "format/safetensors.h"
#include "kernels/quantize.h"
#include "model/model_builder.h"
#include "model/tensor_convert.h"
#include "platform/thread_pool.h"
#include "tokenizer/tokenizer_loader.h"

namespace enclave {
namespace {

Result<DType> PlainType(const SafetensorsTensor& t) {
  const std::string& n = t.dtype.name;
  if (n == "F32") return DType::kF32;
  if (n == "F16") return DType::kF16;
  if (n == "BF16") return DType::kBF16;
  return UnsupportedError(fmt::format("tensor '{}' has dtype {}; dense models load from F32, F16 or BF16", t.name, n));
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
    ASSIGN_OR_RETURN(DType type, PlainType(*t));
    const size_t elem = type == DType::kF32 ? 4 : 2;
    kernels::WeightMatrix w{type, t->data.data(), rows, cols, cols * elem};
    if (options_.quantize) {
      const DType to = output_matrix && *options_.quantize == DType::kQ4_K ? DType::kQ6_K : *options_.quantize;
      ASSIGN_OR_RETURN(w, Quantize(name, type, t->data.data(), rows, cols, to));
    } else if (reinterpret_cast<uintptr_t>(t->data.data()) % elem != 0) {
      std::span<uint8_t> copy = ModelBuilder::Own(m_, t->data.size());
      std::memcpy(copy.data(), t->data.data(), t->data.size());
      w.data = copy.data();
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

 private:
  Result<const SafetensorsTensor*> Find(const std::string& name) const {
    const SafetensorsTensor* t = st_.Find(name);
    if (t == nullptr) return NotFoundError(fmt::format("tensor '{}' is missing from the safetensors files", name));
    return t;
  }

  Result<kernels::WeightMatrix> Quantize(const std::string& name, DType from, const uint8_t* src, int64_t rows,
                                         int64_t cols, DType to) {
    const int64_t block = Traits(to).block_elems;
    if (cols % block != 0) {
      return InvalidArgumentError(fmt::format("tensor '{}' rows have {} elements, not a multiple of {}'s block of {}",
                                              name, cols, DTypeName(to), block));
    }
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
        kernels::QuantizeWeightsRow(to, row.data(), dst.data() + r * row_bytes, cols);
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
  auto matrix = [](const kernels::WeightMatrix& w) { return static_cast<uint64_t>(w.rows) * w.row_stride; };
  m->weight_bytes_ = matrix(m->token_embd_) + (m->tied_ ? 0 : matrix(m->output_)) + m->output_norm_.size_bytes();
  for (const LayerWeights& l : m->layers_) {
    for (const auto* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) m->weight_bytes_ += matrix(*w);
    m->weight_bytes_ += l.attn_norm.size_bytes() + l.ffn_norm.size_bytes() + l.bq.size_bytes() + l.bk.size_bytes() +
                        l.bv.size_bytes();
  }
  return m;
}

}  // namespace enclave
