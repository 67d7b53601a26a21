#include "model/model_config.h"

#include <fmt/format.h>

namespace enclave {

const char* ModelArchName(ModelArch arch) {
  switch (arch) {
    case ModelArch::kLlama: return "llama";
    case ModelArch::kQwen2: return "qwen2";
  }
  return "?";
}

std::string ModelConfig::Summary() const {
  const char* scaling = rope.scaling == RopeScalingType::kLinear   ? ", rope linear"
                        : rope.scaling == RopeScalingType::kLlama3 ? ", rope llama3"
                                                                   : "";
  return fmt::format("{}, {} layers, hidden {}, heads {}/{} x {}, ffn {}, vocab {}{}{}", ModelArchName(arch),
                     n_layers, n_embd, n_heads, n_kv_heads, head_dim, n_ff, n_vocab, qkv_bias ? ", qkv bias" : "",
                     scaling);
}

namespace {

// Shapes are bounded far above real models so that products of them never overflow int64 and a
// corrupt file cannot ask for absurd allocations before its tensors are checked.
Status CheckShape(const ModelConfig& c) {
  auto in = [](int64_t v, int64_t lo, int64_t hi) { return v >= lo && v <= hi; };
  if (!in(c.n_layers, 1, 1024)) return InvalidArgumentError(fmt::format("block count {} is outside [1, 1024]", c.n_layers));
  if (!in(c.n_embd, 1, 1 << 17)) return InvalidArgumentError(fmt::format("hidden size {} is outside [1, 131072]", c.n_embd));
  if (!in(c.n_heads, 1, 1024)) return InvalidArgumentError(fmt::format("head count {} is outside [1, 1024]", c.n_heads));
  if (!in(c.n_kv_heads, 1, c.n_heads) || c.n_heads % c.n_kv_heads != 0) {
    return InvalidArgumentError(
        fmt::format("key/value head count {} must divide the head count {}", c.n_kv_heads, c.n_heads));
  }
  if (!in(c.head_dim, 2, 1024) || c.head_dim % 2 != 0) {
    return InvalidArgumentError(fmt::format("head dimension {} must be even and in [2, 1024]", c.head_dim));
  }
  if (!in(c.n_ff, 1, 1 << 20)) return InvalidArgumentError(fmt::format("feed-forward size {} is outside [1, 1048576]", c.n_ff));
  if (!in(c.n_vocab, 1, 1 << 24)) return InvalidArgumentError(fmt::format("vocabulary size {} is outside [1, 16777216]", c.n_vocab));
  if (!in(c.rope.n_rot, 2, c.head_dim) || c.rope.n_rot % 2 != 0) {
    return InvalidArgumentError(fmt::format("rope dimension count {} must be even and at most the head dimension {}",
                                            c.rope.n_rot, c.head_dim));
  }
  if (!(c.rope.theta > 0)) return InvalidArgumentError("rope frequency base must be positive");
  if (!(c.rope.factor > 0)) return InvalidArgumentError("rope scaling factor must be positive");
  if (!(c.rms_eps > 0)) return InvalidArgumentError("RMS norm epsilon must be positive");
  return Status::Ok();
}

template <typename T>
Result<int> GetInt(const GgufFile& g, const std::string& key) {
  ASSIGN_OR_RETURN(T v, g.Get<T>(key));
  if (v < 0 || v > (1 << 30)) return InvalidArgumentError(fmt::format("'{}' = {} is out of range", key, v));
  return static_cast<int>(v);
}

}  // namespace

Result<ModelConfig> ModelConfigFromGguf(const GgufFile& g) {
  ModelConfig c;
  ASSIGN_OR_RETURN(std::string arch, g.Get<std::string>("general.architecture"));
  if (arch == "llama") {
    c.arch = ModelArch::kLlama;
    c.rope.style = RopeStyle::kNormal;
  } else if (arch == "qwen2") {
    c.arch = ModelArch::kQwen2;
    c.rope.style = RopeStyle::kNeox;
    c.qkv_bias = true;
  } else {
    return UnsupportedError(fmt::format(
        "architecture '{}' is not supported yet (supported: llama, qwen2)", arch));
  }
  const std::string p = arch + ".";
  ASSIGN_OR_RETURN(c.n_layers, GetInt<int64_t>(g, p + "block_count"));
  ASSIGN_OR_RETURN(c.n_embd, GetInt<int64_t>(g, p + "embedding_length"));
  ASSIGN_OR_RETURN(c.n_ff, GetInt<int64_t>(g, p + "feed_forward_length"));
  ASSIGN_OR_RETURN(c.n_heads, GetInt<int64_t>(g, p + "attention.head_count"));
  ASSIGN_OR_RETURN(int64_t kv, g.GetOr<int64_t>(p + "attention.head_count_kv", c.n_heads));
  c.n_kv_heads = static_cast<int>(std::clamp<int64_t>(kv, 0, 1 << 30));
  ASSIGN_OR_RETURN(int64_t ctx, g.GetOr<int64_t>(p + "context_length", 0));
  c.n_ctx_train = ctx;
  ASSIGN_OR_RETURN(double eps, g.Get<double>(p + "attention.layer_norm_rms_epsilon"));
  c.rms_eps = static_cast<float>(eps);
  if (c.n_heads <= 0) return InvalidArgumentError("head count must be positive");
  ASSIGN_OR_RETURN(int64_t key_len, g.GetOr<int64_t>(p + "attention.key_length", c.n_embd / c.n_heads));
  c.head_dim = static_cast<int>(std::clamp<int64_t>(key_len, 0, 1 << 30));
  ASSIGN_OR_RETURN(int64_t n_rot, g.GetOr<int64_t>(p + "rope.dimension_count", c.head_dim));
  c.rope.n_rot = static_cast<int>(std::clamp<int64_t>(n_rot, 0, 1 << 30));
  ASSIGN_OR_RETURN(c.rope.theta, g.GetOr<double>(p + "rope.freq_base", 10000.0));
  ASSIGN_OR_RETURN(std::string scaling, g.GetOr<std::string>(p + "rope.scaling.type", "none"));
  if (scaling == "linear") {
    c.rope.scaling = RopeScalingType::kLinear;
    ASSIGN_OR_RETURN(c.rope.factor, g.Get<double>(p + "rope.scaling.factor"));
  } else if (scaling != "none") {
    return UnsupportedError(fmt::format("rope scaling type '{}' is not supported for {}", scaling, arch));
  }
  // llama3 scaling arrives as a `rope_freqs.weight` tensor of per-dimension divisors; the loader
  // reads it (it is a tensor, not metadata).
  // Vocabulary: the embedding's row count is authoritative; the loader checks it.
  if (const GgufTensorInfo* emb = g.FindTensor("token_embd.weight"); emb != nullptr && emb->dims.size() == 2) {
    c.n_vocab = static_cast<int>(std::min<uint64_t>(emb->dims[1], 1u << 30));
  } else {
    return InvalidArgumentError("tensor 'token_embd.weight' is missing or not 2-D");
  }
  RETURN_IF_ERROR(CheckShape(c));
  return c;
}

Result<ModelConfig> ModelConfigFromHf(const HfConfig& hf) {
  ModelConfig c;
  if (hf.model_type == "llama") {
    c.arch = ModelArch::kLlama;
    c.qkv_bias = hf.attention_bias;
  } else if (hf.model_type == "qwen2") {
    c.arch = ModelArch::kQwen2;
    c.qkv_bias = true;
  } else {
    return UnsupportedError(fmt::format(
        "model_type '{}' is not supported yet (supported: llama, qwen2)", hf.model_type));
  }
  c.rope.style = RopeStyle::kNeox;  // HF checkpoints are in rotate_half order
  auto narrow = [](int64_t v) { return static_cast<int>(std::clamp<int64_t>(v, -1, 1 << 30)); };
  c.n_layers = narrow(hf.num_hidden_layers);
  c.n_embd = narrow(hf.hidden_size);
  c.n_ff = narrow(hf.intermediate_size);
  c.n_heads = narrow(hf.num_attention_heads);
  c.n_kv_heads = narrow(hf.num_key_value_heads > 0 ? hf.num_key_value_heads : hf.num_attention_heads);
  if (c.n_heads <= 0) return InvalidArgumentError("num_attention_heads must be positive");
  c.head_dim = narrow(hf.head_dim.value_or(hf.hidden_size / hf.num_attention_heads));
  c.n_vocab = narrow(hf.vocab_size);
  c.n_ctx_train = hf.max_position_embeddings;
  c.rms_eps = static_cast<float>(hf.rms_norm_eps);
  c.rope.n_rot = c.head_dim;
  c.rope.theta = hf.rope_theta;
  if (hf.rope_scaling) {
    const RopeScaling& s = *hf.rope_scaling;
    c.rope.factor = s.factor;
    if (s.type == "linear") {
      c.rope.scaling = RopeScalingType::kLinear;
    } else if (s.type == "llama3") {
      c.rope.scaling = RopeScalingType::kLlama3;
      c.rope.low_freq_factor = s.low_freq_factor.value_or(1.0);
      c.rope.high_freq_factor = s.high_freq_factor.value_or(4.0);
      c.rope.original_context = s.original_max_position_embeddings.value_or(8192);
      if (!(c.rope.high_freq_factor > c.rope.low_freq_factor) || c.rope.original_context <= 0) {
        return InvalidArgumentError("rope_scaling llama3 needs high_freq_factor > low_freq_factor and a positive "
                                    "original_max_position_embeddings");
      }
    } else if (s.type != "default") {
      return UnsupportedError(fmt::format("rope_scaling type '{}' is not supported for {}", s.type, hf.model_type));
    }
  }
  RETURN_IF_ERROR(CheckShape(c));
  return c;
}

}  // namespace enclave
