#include "synth/synth_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/half.h"
#include "format/gguf_writer.h"
#include "format/safetensors_writer.h"
#include "kernels/quant_blocks.h"
#include "kernels/quantize.h"
#include "platform/thread_pool.h"
#include "synth/gguf_layout.h"
#include "synth/rng.h"
#include "synth/synth_tokenizer.h"
#include "tensor/fp8.h"

namespace enclave::synth {
namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

struct HfDType {
  std::string name;   // flag value
  StDType st;
  const char* torch;  // config.json torch_dtype
};

Result<HfDType> ParseHfDType(const std::string& s, bool tiny) {
  const std::string v = s.empty() ? (tiny ? "f32" : "bf16") : s;
  if (v == "f32") return HfDType{v, StDType::kF32, "float32"};
  if (v == "bf16") return HfDType{v, StDType::kBF16, "bfloat16"};
  if (v == "f16") return HfDType{v, StDType::kF16, "float16"};
  return InvalidArgumentError(fmt::format("--hf-dtype '{}': use f32, bf16 or f16", s));
}

Result<std::vector<GgufVariant>> ParseVariants(const std::vector<std::string>& names, const Preset& p) {
  std::vector<std::string> list = names;
  if (list.empty()) list = p.tiny ? GgufVariantNames() : std::vector<std::string>{"q4_k_m"};
  std::vector<GgufVariant> out;
  for (const std::string& n : list) {
    if (n == "none") continue;
    std::optional<GgufVariant> v = FindGgufVariant(n);
    if (!v) return InvalidArgumentError(fmt::format("--gguf '{}': use any of f32, f16, q8_0, q4_k, q4_k_m, or none", n));
    if (std::none_of(out.begin(), out.end(), [&](const GgufVariant& o) { return o.name == n; })) out.push_back(*v);
  }
  return out;
}

// Rounds the values to the HF dtype (they are what transformers will compute with) and returns
// the safetensors bytes.
std::vector<uint8_t> ToHfBytes(std::vector<float>& values, StDType dtype) {
  std::vector<uint8_t> bytes;
  if (dtype == StDType::kF32) {
    bytes.resize(values.size() * 4);
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return bytes;
  }
  bytes.resize(values.size() * 2);
  for (size_t i = 0; i < values.size(); ++i) {
    uint16_t h;
    if (dtype == StDType::kBF16) {
      h = F32ToBf16(values[i]);
      values[i] = Bf16ToF32(h);
    } else {
      h = F32ToFp16(values[i]);
      values[i] = Fp16ToF32(h);
    }
    std::memcpy(bytes.data() + 2 * i, &h, 2);  // little-endian host (x86-64, aarch64)
  }
  return bytes;
}

Status WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) return IoError(fmt::format("cannot write '{}'", path.string()));
  return Status::Ok();
}

Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(fmt::format("cannot read '{}'", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// config.json of a DeepSeek-V2/V3 checkpoint (the keys of the public V2-Lite / V3 files).
std::string DeepseekConfigJson(const Preset& p, int64_t vocab_size, const SynthTokenizer& tok, const HfDType& dtype) {
  const DeepseekFields& d = p.ds;
  const bool v3 = d.model_type == "deepseek_v3";
  ojson j;
  j["architectures"] = {v3 ? "DeepseekV3ForCausalLM" : "DeepseekV2ForCausalLM"};
  j["attention_bias"] = false;
  j["attention_dropout"] = 0.0;
  j["aux_loss_alpha"] = 0.001;
  j["bos_token_id"] = tok.bos();
  j["eos_token_id"] = tok.eos();
  j["first_k_dense_replace"] = d.first_k_dense_replace;
  j["hidden_act"] = "silu";
  j["hidden_size"] = p.hidden;
  j["initializer_range"] = 0.02;
  j["intermediate_size"] = p.intermediate;
  j["kv_lora_rank"] = d.kv_lora_rank;
  j["max_position_embeddings"] = p.max_positions;
  j["model_type"] = std::string(d.model_type);
  j["moe_intermediate_size"] = d.moe_intermediate_size;
  j["moe_layer_freq"] = 1;
  j["n_group"] = d.n_group;
  j["n_routed_experts"] = d.n_routed_experts;
  j["n_shared_experts"] = d.n_shared_experts;
  j["norm_topk_prob"] = d.norm_topk_prob;
  j["num_attention_heads"] = p.n_heads;
  j["num_experts_per_tok"] = d.num_experts_per_tok;
  j["num_hidden_layers"] = p.n_layers;
  j["num_key_value_heads"] = p.n_kv_heads;
  if (v3) j["num_nextn_predict_layers"] = d.mtp_layers;
  j["q_lora_rank"] = d.q_lora_rank > 0 ? ojson(d.q_lora_rank) : ojson(nullptr);
  if (d.fp8) {
    j["quantization_config"] = {{"activation_scheme", "dynamic"},
                                {"fmt", "e4m3"},
                                {"quant_method", "fp8"},
                                {"weight_block_size", {128, 128}}};
  }
  j["qk_nope_head_dim"] = d.qk_nope_head_dim;
  j["qk_rope_head_dim"] = d.qk_rope_head_dim;
  j["rms_norm_eps"] = p.rms_eps;
  if (p.rope == RopeScaling::kYarn) {
    j["rope_scaling"] = {{"beta_fast", d.beta_fast},
                         {"beta_slow", d.beta_slow},
                         {"factor", p.rope_factor},
                         {"mscale", d.mscale},
                         {"mscale_all_dim", d.mscale_all_dim},
                         {"original_max_position_embeddings", p.original_max_positions},
                         {"type", "yarn"}};
  } else {
    j["rope_scaling"] = nullptr;
  }
  j["rope_theta"] = p.rope_theta;
  j["routed_scaling_factor"] = d.routed_scaling_factor;
  j["scoring_func"] = std::string(d.scoring_func);
  j["seq_aux"] = true;
  j["tie_word_embeddings"] = p.tied;
  j["topk_group"] = d.topk_group;
  j["topk_method"] = std::string(d.topk_method);
  j["torch_dtype"] = dtype.torch;
  j["use_cache"] = true;
  j["v_head_dim"] = d.v_head_dim;
  j["vocab_size"] = vocab_size;
  return j.dump(2) + "\n";
}

std::string ConfigJson(const Preset& p, int64_t vocab_size, const SynthTokenizer& tok, const HfDType& dtype) {
  if (p.deepseek()) return DeepseekConfigJson(p, vocab_size, tok, dtype);
  const bool qwen2 = p.arch == "qwen2";
  ojson j;
  j["architectures"] = {qwen2 ? "Qwen2ForCausalLM" : "LlamaForCausalLM"};
  if (!qwen2) j["attention_bias"] = false;
  j["attention_dropout"] = 0.0;
  j["bos_token_id"] = tok.bos();
  j["eos_token_id"] = tok.eos();
  j["hidden_act"] = "silu";
  j["hidden_size"] = p.hidden;
  j["initializer_range"] = 0.02;
  j["intermediate_size"] = p.intermediate;
  j["max_position_embeddings"] = p.max_positions;
  if (qwen2) j["max_window_layers"] = p.max_window_layers;
  if (!qwen2) j["mlp_bias"] = false;
  j["model_type"] = std::string(p.arch);
  j["num_attention_heads"] = p.n_heads;
  j["num_hidden_layers"] = p.n_layers;
  j["num_key_value_heads"] = p.n_kv_heads;
  if (!qwen2) j["pretraining_tp"] = 1;
  j["rms_norm_eps"] = p.rms_eps;
  switch (p.rope) {
    case RopeScaling::kNone:
    case RopeScaling::kYarn:  // deepseek2 only (DeepseekConfigJson)
      j["rope_scaling"] = nullptr;
      break;
    case RopeScaling::kLinear: j["rope_scaling"] = {{"factor", p.rope_factor}, {"type", "linear"}}; break;
    case RopeScaling::kLlama3:
      j["rope_scaling"] = {{"factor", p.rope_factor},
                           {"high_freq_factor", p.high_freq_factor},
                           {"low_freq_factor", p.low_freq_factor},
                           {"original_max_position_embeddings", p.original_max_positions},
                           {"rope_type", "llama3"}};
      break;
  }
  j["rope_theta"] = p.rope_theta;
  if (qwen2) j["sliding_window"] = p.sliding_window;
  j["tie_word_embeddings"] = p.tied;
  j["torch_dtype"] = dtype.torch;
  j["use_cache"] = true;
  if (qwen2) j["use_sliding_window"] = false;
  j["vocab_size"] = vocab_size;
  return j.dump(2) + "\n";
}

Status PrepareDir(const SynthOptions& o) {
  if (o.out_dir.empty()) return InvalidArgumentError("--out DIR is required");
  std::error_code ec;
  const fs::path dir(o.out_dir);
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) return InvalidArgumentError(fmt::format("'{}' exists and is not a directory", o.out_dir));
    if (!fs::is_empty(dir, ec) && !o.force) {
      return InvalidArgumentError(fmt::format("'{}' is not empty; use --force to write into it anyway", o.out_dir));
    }
  }
  fs::create_directories(dir / "gguf", ec);
  if (ec) return IoError(fmt::format("cannot create '{}': {}", (dir / "gguf").string(), ec.message()));
  return Status::Ok();
}

}  // namespace

namespace {

// The tensors of a DeepSeek-V2/V3 layer (spec §2.8): MLA attention, then a dense SwiGLU MLP for the
// first first_k_dense_replace layers and an MoE (router, routed experts, shared experts) after.
void AddDeepseekLayer(const Preset& p, int64_t l, std::vector<HfTensor>& t) {
  const DeepseekFields& d = p.ds;
  const uint64_t h = p.hidden, heads = p.n_heads;
  const uint64_t qk = d.qk_nope_head_dim + d.qk_rope_head_dim;
  const std::string b = fmt::format("model.layers.{}.", l);
  t.push_back({b + "input_layernorm.weight", {h}, true});
  t.push_back({b + "post_attention_layernorm.weight", {h}, true});
  if (d.q_lora_rank > 0) {
    const uint64_t ql = d.q_lora_rank;
    t.push_back({b + "self_attn.q_a_proj.weight", {ql, h}});
    t.push_back({b + "self_attn.q_a_layernorm.weight", {ql}, true});
    t.push_back({b + "self_attn.q_b_proj.weight", {heads * qk, ql}});
  } else {
    t.push_back({b + "self_attn.q_proj.weight", {heads * qk, h}});
  }
  const uint64_t kvl = d.kv_lora_rank;
  t.push_back({b + "self_attn.kv_a_proj_with_mqa.weight", {kvl + d.qk_rope_head_dim, h}});
  t.push_back({b + "self_attn.kv_a_layernorm.weight", {kvl}, true});
  t.push_back({b + "self_attn.kv_b_proj.weight", {heads * (d.qk_nope_head_dim + d.v_head_dim), kvl}});
  t.push_back({b + "self_attn.o_proj.weight", {h, heads * d.v_head_dim}});
  if (l < d.first_k_dense_replace) {
    const uint64_t ff = p.intermediate;
    t.push_back({b + "mlp.gate_proj.weight", {ff, h}});
    t.push_back({b + "mlp.up_proj.weight", {ff, h}});
    t.push_back({b + "mlp.down_proj.weight", {h, ff}});
    return;
  }
  const uint64_t mi = d.moe_intermediate_size, e = d.n_routed_experts;
  t.push_back({b + "mlp.gate.weight", {e, h}});
  if (d.topk_method == "noaux_tc") t.push_back({b + "mlp.gate.e_score_correction_bias", {e}, false, true});
  for (uint64_t x = 0; x < e; ++x) {
    const std::string eb = fmt::format("{}mlp.experts.{}.", b, x);
    t.push_back({eb + "gate_proj.weight", {mi, h}});
    t.push_back({eb + "up_proj.weight", {mi, h}});
    t.push_back({eb + "down_proj.weight", {h, mi}});
  }
  const uint64_t si = mi * d.n_shared_experts;
  t.push_back({b + "mlp.shared_experts.gate_proj.weight", {si, h}});
  t.push_back({b + "mlp.shared_experts.up_proj.weight", {si, h}});
  t.push_back({b + "mlp.shared_experts.down_proj.weight", {h, si}});
}

}  // namespace

std::vector<HfTensor> HfTensors(const Preset& p, int64_t vocab_size) {
  const uint64_t h = p.hidden, ff = p.intermediate, v = vocab_size;
  const uint64_t q = p.n_heads * p.head_dim(), kv = p.n_kv_heads * p.head_dim();
  std::vector<HfTensor> t;
  t.push_back({"model.embed_tokens.weight", {v, h}});
  t.push_back({"model.norm.weight", {h}, true});
  if (!p.tied) t.push_back({"lm_head.weight", {v, h}});
  for (int64_t l = 0; l < p.n_layers; ++l) {
    if (p.deepseek()) {
      AddDeepseekLayer(p, l, t);
      continue;
    }
    const std::string b = fmt::format("model.layers.{}.", l);
    t.push_back({b + "input_layernorm.weight", {h}, true});
    t.push_back({b + "post_attention_layernorm.weight", {h}, true});
    t.push_back({b + "self_attn.q_proj.weight", {q, h}});
    t.push_back({b + "self_attn.k_proj.weight", {kv, h}});
    t.push_back({b + "self_attn.v_proj.weight", {kv, h}});
    t.push_back({b + "self_attn.o_proj.weight", {h, q}});
    if (p.qkv_bias) {
      t.push_back({b + "self_attn.q_proj.bias", {q}});
      t.push_back({b + "self_attn.k_proj.bias", {kv}});
      t.push_back({b + "self_attn.v_proj.bias", {kv}});
    }
    t.push_back({b + "mlp.gate_proj.weight", {ff, h}});
    t.push_back({b + "mlp.up_proj.weight", {ff, h}});
    t.push_back({b + "mlp.down_proj.weight", {h, ff}});
  }
  // V3's MTP module (spec §2.7): a whole decoder layer at index n_layers plus its projections,
  // norms and copies of the embedding and head.
  for (int64_t m = 0; m < (p.deepseek() ? p.ds.mtp_layers : 0); ++m) {
    const int64_t l = p.n_layers + m;
    AddDeepseekLayer(p, l, t);
    const std::string b = fmt::format("model.layers.{}.", l);
    t.push_back({b + "enorm.weight", {h}, true});
    t.push_back({b + "hnorm.weight", {h}, true});
    t.push_back({b + "eh_proj.weight", {h, 2 * h}});
    t.push_back({b + "shared_head.norm.weight", {h}, true});
    t.push_back({b + "shared_head.head.weight", {v, h}});
    t.push_back({b + "embed_tokens.weight", {v, h}});
  }
  if (p.deepseek() && p.ds.fp8) {
    // Every 2-D linear weight of the layers (attention, dense MLP, experts, shared experts) but
    // the router gets FP8 and a block scale, as DeepSeek-V3's checkpoints.
    std::vector<HfTensor> scales;
    for (HfTensor& x : t) {
      const bool linear = x.name.starts_with("model.layers.") && x.shape.size() == 2 &&
                          (x.name.find(".self_attn.") != std::string::npos || x.name.find(".mlp.") != std::string::npos) &&
                          !x.name.ends_with("mlp.gate.weight");
      if (!linear) continue;
      x.fp8 = true;
      auto blocks = [](uint64_t n) { return (n + 127) / 128; };
      scales.push_back({x.name + "_scale_inv", {blocks(x.shape[0]), blocks(x.shape[1])}, false, true, false, true});
    }
    t.insert(t.end(), scales.begin(), scales.end());
  }
  std::sort(t.begin(), t.end(), [](const HfTensor& a, const HfTensor& b) { return a.name < b.name; });
  return t;
}

namespace {

// Rows are independent, so splitting them over threads gives the same bytes as one thread.
Status QuantizeParallel(ThreadPool& pool, DType type, std::span<const float> values, int64_t cols,
                        std::span<uint8_t> out) {
  const int64_t rows = static_cast<int64_t>(values.size()) / cols;
  const size_t row_bytes = *RowBytes(type, cols);
  std::vector<Status> status(pool.size(), Status::Ok());
  pool.Run([&](int t, int nt) {
    int64_t begin, end;
    ThreadPool::SplitRange(rows, 1, t, nt, &begin, &end);
    if (begin >= end) return;
    status[t] = kernels::QuantizeWeights(type, values.subspan(begin * cols, (end - begin) * cols), cols,
                                         out.subspan(begin * row_bytes, (end - begin) * row_bytes));
  });
  for (const Status& st : status) RETURN_IF_ERROR(st);
  return Status::Ok();
}

}  // namespace

std::vector<float> SynthValues(const HfTensor& t, uint64_t seed, double std) {
  uint64_t n = 1;
  for (uint64_t d : t.shape) n *= d;
  std::vector<float> out(n);
  NormalSource normal(TensorSeed(seed, t.name));
  const double offset = t.is_norm ? 1.0 : 0.0;
  const double scale = t.is_norm ? 0.02 : std;
  for (float& x : out) x = static_cast<float>(offset + scale * normal.Next());
  return out;
}

namespace {

// DeepSeek-V3 FP8 for a [rows, cols] weight: per 128x128 block (edge blocks partial), scale =
// max|w| / 448 and code = e4m3(w / scale); `values` become the dequantized weights. Returns the
// scale_inv tensor's F32 bytes [ceil(rows/128), ceil(cols/128)] (a multiplier, despite its name).
std::vector<uint8_t> QuantizeFp8Blocks(std::vector<float>& values, uint64_t rows, uint64_t cols,
                                       std::vector<uint8_t>& codes) {
  constexpr uint64_t kB = 128;
  const uint64_t br = (rows + kB - 1) / kB, bc = (cols + kB - 1) / kB;
  std::vector<float> scale(br * bc);
  codes.resize(rows * cols);
  for (uint64_t i = 0; i < br; ++i) {
    for (uint64_t j = 0; j < bc; ++j) {
      const uint64_t r1 = std::min(rows, (i + 1) * kB), c1 = std::min(cols, (j + 1) * kB);
      float amax = 0;
      for (uint64_t r = i * kB; r < r1; ++r) {
        for (uint64_t c = j * kB; c < c1; ++c) amax = std::max(amax, std::fabs(values[r * cols + c]));
      }
      const float s = amax > 0 ? amax / 448.0f : 1.0f;
      scale[i * bc + j] = s;
      for (uint64_t r = i * kB; r < r1; ++r) {
        for (uint64_t c = j * kB; c < c1; ++c) {
          const uint8_t code = F32ToFp8E4M3(values[r * cols + c] / s);
          codes[r * cols + c] = code;
          values[r * cols + c] = Fp8E4M3ToF32(code) * s;
        }
      }
    }
  }
  std::vector<uint8_t> bytes(scale.size() * sizeof(float));
  std::memcpy(bytes.data(), scale.data(), bytes.size());
  return bytes;
}

// Random but valid blocks of a quantized type (for --speed-only): random bytes with every block's
// fp16 scale fields set to small finite values, so the model computes finite noise.
bool RandomBlocks(DType type, std::span<uint8_t> data, uint64_t seed) {
  size_t block = 0;
  std::vector<size_t> scale_offsets;
  switch (type) {
    case DType::kQ4_K: block = sizeof(BlockQ4_K); scale_offsets = {0, 2}; break;
    case DType::kQ6_K: block = sizeof(BlockQ6_K); scale_offsets = {block - 2}; break;
    case DType::kQ8_0: block = sizeof(BlockQ8_0); scale_offsets = {0}; break;
    default: return false;
  }
  uint64_t x = seed;
  auto next = [&x] {  // splitmix64
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  for (size_t i = 0; i + 8 <= data.size(); i += 8) {
    const uint64_t r = next();
    std::memcpy(data.data() + i, &r, 8);
  }
  const uint16_t small = F32ToFp16(0.001f);
  for (size_t b = 0; b + block <= data.size(); b += block) {
    for (size_t off : scale_offsets) std::memcpy(data.data() + b + off, &small, 2);
  }
  return true;
}

// Writes one tensor (PyTorch shape `shape`, values row-major) into every GGUF variant, in the type
// each variant gives it.
Status WriteGgufTensor(ThreadPool& pool, const Preset& p, const std::vector<GgufVariant>& variants,
                       std::vector<std::unique_ptr<GgufWriter>>& writers, const std::string& gguf_name,
                       const std::vector<uint64_t>& shape, std::span<const float> values, bool random_blocks) {
  const int64_t cols = static_cast<int64_t>(shape.back());
  const std::vector<uint64_t> dims(shape.rbegin(), shape.rend());
  for (size_t k = 0; k < variants.size(); ++k) {
    const DType type =
        shape.size() == 1 ? DType::kF32 : GgufTensorType(variants[k], gguf_name, cols, p.tied, p.n_layers);
    const uint64_t rows = values.size() / cols;
    std::vector<uint8_t> data(rows * *RowBytes(type, cols));
    if (!random_blocks || !RandomBlocks(type, data, std::hash<std::string>{}(gguf_name) ^ k)) {
      RETURN_IF_ERROR(QuantizeParallel(pool, type, values, cols, data).WithContext(gguf_name));
    }
    RETURN_IF_ERROR(writers[k]->AddTensor(gguf_name, type, dims, data));
  }
  return Status::Ok();
}

// deepseek2 tensors as llama.cpp's converter writes them: kv_b_proj split per head into attn_k_b
// (the key rows, transposed: [H, kv_lora, nope]) and attn_v_b ([H, v_head, kv_lora]); the routed
// experts of a layer stacked into ffn_{gate,up,down}_exps ([E, rows, cols]) once all have been
// seen; everything else renamed.
class DeepseekGgufEmitter {
 public:
  DeepseekGgufEmitter(ThreadPool& pool, const Preset& p, const std::vector<GgufVariant>& variants,
                      std::vector<std::unique_ptr<GgufWriter>>& writers, bool random_blocks)
      : pool_(pool), p_(p), variants_(variants), writers_(writers), random_blocks_(random_blocks) {}

  Status Add(const HfTensor& t, const std::vector<float>& values) {
    const DeepseekFields& d = p_.ds;
    int layer = -1, expert = -1;
    // MTP layers are not written, as llama.cpp's converter skips them.
    if (std::sscanf(t.name.c_str(), "model.layers.%d.", &layer) == 1 && layer >= p_.n_layers) return Status::Ok();
    char proj[16] = {};
    // (sscanf stops at the last conversion, so the literal tails are checked with ends_with.)
    if (t.name.ends_with("_proj.weight") &&
        std::sscanf(t.name.c_str(), "model.layers.%d.mlp.experts.%d.%15[a-z]_proj.weight", &layer, &expert, proj) == 3) {
      Stack& st = experts_[layer];
      st.values[proj].resize(d.n_routed_experts);
      st.values[proj][expert] = values;
      st.shape[proj] = t.shape;
      if (++st.seen < 3 * d.n_routed_experts) return Status::Ok();
      for (const char* w : {"down", "gate", "up"}) {
        std::vector<float> all;
        for (const auto& v : st.values[w]) all.insert(all.end(), v.begin(), v.end());
        const std::vector<uint64_t> shape = {static_cast<uint64_t>(d.n_routed_experts), st.shape[w][0], st.shape[w][1]};
        RETURN_IF_ERROR(Write(fmt::format("blk.{}.ffn_{}_exps.weight", layer, w), shape, all));
      }
      experts_.erase(layer);
      return Status::Ok();
    }
    if (t.name.ends_with(".self_attn.kv_b_proj.weight") &&
        std::sscanf(t.name.c_str(), "model.layers.%d.", &layer) == 1) {
      const uint64_t H = p_.n_heads, nope = d.qk_nope_head_dim, vh = d.v_head_dim, kvl = d.kv_lora_rank;
      std::vector<float> k_b(H * kvl * nope), v_b(H * vh * kvl);
      for (uint64_t h = 0; h < H; ++h) {
        const float* head = values.data() + h * (nope + vh) * kvl;
        for (uint64_t r = 0; r < nope; ++r) {
          for (uint64_t c = 0; c < kvl; ++c) k_b[(h * kvl + c) * nope + r] = head[r * kvl + c];
        }
        std::copy_n(head + nope * kvl, vh * kvl, v_b.data() + h * vh * kvl);
      }
      RETURN_IF_ERROR(Write(fmt::format("blk.{}.attn_k_b.weight", layer), {H, kvl, nope}, k_b));
      return Write(fmt::format("blk.{}.attn_v_b.weight", layer), {H, vh, kvl}, v_b);
    }
    const std::optional<std::string> name = GgufTensorName(t.name);
    if (!name) return InternalError(fmt::format("no GGUF name for '{}'", t.name));
    return Write(*name, t.shape, values);
  }

 private:
  struct Stack {
    int seen = 0;
    std::map<std::string, std::vector<std::vector<float>>> values;
    std::map<std::string, std::vector<uint64_t>> shape;
  };
  Status Write(const std::string& name, const std::vector<uint64_t>& shape, std::span<const float> values) {
    return WriteGgufTensor(pool_, p_, variants_, writers_, name, shape, values, random_blocks_);
  }

  ThreadPool& pool_;
  const Preset& p_;
  const std::vector<GgufVariant>& variants_;
  std::vector<std::unique_ptr<GgufWriter>>& writers_;
  bool random_blocks_;
  std::map<int, Stack> experts_;
};

}  // namespace

Status Synthesize(const SynthOptions& o) {
  ASSIGN_OR_RETURN(const Preset* p, FindPreset(o.arch, o.preset));
  ASSIGN_OR_RETURN(HfDType hf_dtype, ParseHfDType(o.hf_dtype, p->tiny));
  ASSIGN_OR_RETURN(std::vector<GgufVariant> variants, ParseVariants(o.gguf, *p));
  std::string chat_template;
  if (!o.chat_template_path.empty()) {
    ASSIGN_OR_RETURN(chat_template, ReadText(o.chat_template_path));
  }
  RETURN_IF_ERROR(PrepareDir(o));
  const fs::path dir(o.out_dir);

  ASSIGN_OR_RETURN(SynthTokenizer tok, BuildSynthTokenizer(std::string(p->arch)));
  const int64_t vocab_size =
      o.vocab_size > 0 ? o.vocab_size : p->vocab_size > 0 ? p->vocab_size : static_cast<int64_t>(tok.size());
  if (vocab_size < static_cast<int64_t>(tok.size())) {
    return InvalidArgumentError(fmt::format("--vocab-size {} is smaller than the synthetic tokenizer's {} tokens",
                                            vocab_size, tok.size()));
  }
  const std::string model_name = fmt::format("enclave-synth {} {} seed {}", p->arch, p->name, o.seed);

  ThreadPool pool(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  std::vector<std::unique_ptr<GgufWriter>> writers;
  for (const GgufVariant& v : variants) {
    writers.push_back(std::make_unique<GgufWriter>());
    if (!p->tiny) {  // big files: tensor data goes to disk as it is made, not into memory
      RETURN_IF_ERROR(writers.back()->SpillTensorDataTo((dir / "gguf" / (".model-" + v.name + ".gguf.part")).string()));
    }
    AddGgufHparams(*p, vocab_size, v, model_name, *writers.back());
    AddGgufTokenizer(tok, vocab_size, chat_template, *writers.back());
    if (p->rope == RopeScaling::kLlama3) {
      // The converter yields rope_freqs before the model's tensors.
      const std::vector<float> f = Llama3RopeFactors(*p);
      RETURN_IF_ERROR(writers.back()->AddTensor(
          "rope_freqs.weight", DType::kF32, {f.size()},
          {reinterpret_cast<const uint8_t*>(f.data()), f.size() * sizeof(float)}));
    }
  }

  const std::vector<HfTensor> tensors = HfTensors(*p, vocab_size);
  std::vector<SafetensorsEntry> entries;
  uint64_t total = 0, done = 0;
  for (const HfTensor& t : tensors) {
    entries.push_back({t.name, t.fp8 ? StDType::kF8_E4M3 : t.keep_f32 ? StDType::kF32 : hf_dtype.st, t.shape});
    uint64_t n = 1;
    for (uint64_t d : t.shape) n *= d;
    total += n;
  }
  std::unique_ptr<SafetensorsWriter> st;
  if (!o.speed_only) {
    ASSIGN_OR_RETURN(st, SafetensorsWriter::Create((dir / "model.safetensors").string(), entries, {{"format", "pt"}}));
  } else if (variants.empty()) {
    return InvalidArgumentError("--speed-only writes only GGUF variants; --gguf none leaves nothing to write");
  }
  DeepseekGgufEmitter deepseek(pool, *p, variants, writers, o.speed_only);
  std::vector<uint8_t> pending_scale;  // the F32 bytes of the last FP8 weight's scale_inv
  for (const HfTensor& t : tensors) {
    if (t.fp8_scale) {  // written with its weight, just before
      if (st) RETURN_IF_ERROR(st->Append(pending_scale));
      continue;
    }
    // --speed-only: matrices become random blocks, so their values are not drawn (zeros); vectors
    // and the MoE router (kept F32) are.
    const bool skip_values = o.speed_only && t.shape.size() == 2 && !t.name.ends_with("mlp.gate.weight");
    uint64_t n_values = 1;
    for (uint64_t d : t.shape) n_values *= d;
    std::vector<float> values = skip_values ? std::vector<float>(n_values) : SynthValues(t, o.seed, o.std);
    if (!st) {
      // no HF directory
    } else if (t.fp8) {
      // The model is what the FP8 bytes say: GGUF variants get the dequantized values, as
      // llama.cpp's converter dequantizes FP8 checkpoints first.
      std::vector<uint8_t> codes;
      pending_scale = QuantizeFp8Blocks(values, t.shape[0], t.shape[1], codes);
      RETURN_IF_ERROR(st->Append(codes));
    } else {
      RETURN_IF_ERROR(st->Append(ToHfBytes(values, t.keep_f32 ? StDType::kF32 : hf_dtype.st)));
    }
    done += values.size();
    if (variants.empty()) {
      if (o.progress) o.progress(done, total);
      continue;
    }
    if (p->deepseek()) {
      RETURN_IF_ERROR(deepseek.Add(t, values));
    } else {
      const std::optional<std::string> gguf_name = GgufTensorName(t.name);
      if (!gguf_name) return InternalError(fmt::format("no GGUF name for '{}'", t.name));
      const int64_t cols = static_cast<int64_t>(t.shape.back());
      if (p->arch == "llama" && t.name.ends_with("q_proj.weight")) values = PermuteRowsForGguf(values, p->n_heads, cols);
      if (p->arch == "llama" && t.name.ends_with("k_proj.weight")) values = PermuteRowsForGguf(values, p->n_kv_heads, cols);
      RETURN_IF_ERROR(WriteGgufTensor(pool, *p, variants, writers, *gguf_name, t.shape, values, o.speed_only));
    }
    if (o.progress) o.progress(done, total);
  }
  if (st) RETURN_IF_ERROR(st->Finish());
  for (size_t k = 0; k < variants.size(); ++k) {
    RETURN_IF_ERROR(writers[k]->WriteFile((dir / "gguf" / ("model-" + variants[k].name + ".gguf")).string()));
    writers[k].reset();
  }
  if (o.speed_only) return Status::Ok();

  RETURN_IF_ERROR(WriteText(dir / "config.json", ConfigJson(*p, vocab_size, tok, hf_dtype)));
  ojson gen;
  gen["bos_token_id"] = tok.bos();
  gen["eos_token_id"] = tok.eos();
  gen["do_sample"] = false;
  RETURN_IF_ERROR(WriteText(dir / "generation_config.json", gen.dump(2) + "\n"));
  RETURN_IF_ERROR(WriteText(dir / "tokenizer.json", HfTokenizerJson(tok)));
  RETURN_IF_ERROR(WriteText(dir / "tokenizer_config.json", HfTokenizerConfigJson(tok, p->max_positions, chat_template)));
  return Status::Ok();
}

}  // namespace enclave::synth
