#include "format/hf_config.h"

#include <fmt/format.h>

#include <limits>

#include "format/json_limits.h"
#include "platform/mapped_file.h"

namespace enclave {
namespace {

using nlohmann::json;

enum class Range { kAny, kNonNegative, kPositive };

// Field readers over one JSON object: absent or null -> default / nullopt; present with the wrong
// type or out of range -> an error naming the field ("rope_scaling.factor").
class Fields {
 public:
  Fields(const json& j, std::string prefix) : j_(j), prefix_(std::move(prefix)) {}

  bool Has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }

  Status Int(const char* key, int64_t* out, bool required, Range range) {
    if (!Has(key)) return required ? Missing(key) : Status::Ok();
    return ToInt(key, j_[key], range, out);
  }
  Status OptInt(const char* key, std::optional<int64_t>* out, Range range) {
    if (!Has(key)) return Status::Ok();
    int64_t v;
    RETURN_IF_ERROR(ToInt(key, j_[key], range, &v));
    *out = v;
    return Status::Ok();
  }
  Status Num(const char* key, double* out, Range range) {
    if (!Has(key)) return Status::Ok();
    if (!j_[key].is_number()) return Wrong(key, "a number");
    const double v = j_[key].get<double>();
    RETURN_IF_ERROR(CheckRange(key, v, range));
    *out = v;
    return Status::Ok();
  }
  Status OptNum(const char* key, std::optional<double>* out, Range range) {
    if (!Has(key)) return Status::Ok();
    double v;
    RETURN_IF_ERROR(Num(key, &v, range));
    *out = v;
    return Status::Ok();
  }
  Status Bool(const char* key, bool* out) {
    if (!Has(key)) return Status::Ok();
    if (!j_[key].is_boolean()) return Wrong(key, "true or false");
    *out = j_[key].get<bool>();
    return Status::Ok();
  }
  Status OptBool(const char* key, std::optional<bool>* out) {
    if (!Has(key)) return Status::Ok();
    bool v;
    RETURN_IF_ERROR(Bool(key, &v));
    *out = v;
    return Status::Ok();
  }
  Status Str(const char* key, std::string* out, bool required) {
    if (!Has(key)) return required ? Missing(key) : Status::Ok();
    if (!j_[key].is_string()) return Wrong(key, "a string");
    *out = j_[key].get<std::string>();
    return Status::Ok();
  }
  Status OptStr(const char* key, std::optional<std::string>* out) {
    if (!Has(key)) return Status::Ok();
    std::string v;
    RETURN_IF_ERROR(Str(key, &v, false));
    *out = std::move(v);
    return Status::Ok();
  }
  Status StrList(const char* key, std::vector<std::string>* out) {
    if (!Has(key)) return Status::Ok();
    if (!j_[key].is_array()) return Wrong(key, "a list of strings");
    for (const json& v : j_[key]) {
      if (!v.is_string()) return Wrong(key, "a list of strings");
      out->push_back(v.get<std::string>());
    }
    return Status::Ok();
  }
  // A single integer or a list of them (bos/eos ids, weight_block_size).
  Status IntList(const char* key, std::vector<int64_t>* out, bool scalar_allowed, Range range) {
    if (!Has(key)) return Status::Ok();
    const json& v = j_[key];
    if (scalar_allowed && v.is_number_integer()) {
      int64_t x;
      RETURN_IF_ERROR(ToInt(key, v, range, &x));
      out->push_back(x);
      return Status::Ok();
    }
    const char* want = scalar_allowed ? "an integer or a list of integers" : "a list of integers";
    if (!v.is_array()) return Wrong(key, want);
    for (const json& e : v) {
      if (!e.is_number_integer()) return Wrong(key, want);
      int64_t x;
      RETURN_IF_ERROR(ToInt(key, e, range, &x));
      out->push_back(x);
    }
    return Status::Ok();
  }
  // A nested object, or null/absent (`*present` false).
  Status Object(const char* key, bool* present) {
    *present = Has(key);
    if (*present && !j_[key].is_object()) return Wrong(key, "an object or null");
    return Status::Ok();
  }

  std::string Name(const char* key) const { return prefix_ + key; }
  Status Invalid(const char* key, const std::string& what) const {
    return InvalidArgumentError(fmt::format("config.json: field '{}' {}", Name(key), what));
  }

 private:
  Status ToInt(const char* key, const json& v, Range range, int64_t* out) const {
    if (!v.is_number_integer()) return Wrong(key, "an integer");
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Invalid(key, fmt::format("is {}, too large", v.get<uint64_t>()));
    }
    *out = v.get<int64_t>();
    return CheckRange(key, static_cast<double>(*out), range, v.dump());
  }
  Status CheckRange(const char* key, double v, Range range, std::string shown = "") const {
    if (shown.empty()) shown = fmt::format("{}", v);
    if (range == Range::kPositive && !(v > 0)) return Invalid(key, "must be positive, found " + shown);
    if (range == Range::kNonNegative && !(v >= 0)) return Invalid(key, "must not be negative, found " + shown);
    return Status::Ok();
  }
  Status Missing(const char* key) const { return Invalid(key, "is required but missing"); }
  Status Wrong(const char* key, const char* want) const {
    return Invalid(key, fmt::format("must be {}, found {}", want, j_[key].type_name()));
  }

  const json& j_;
  std::string prefix_;
};

// rope_scaling (transformers 4) or rope_parameters (transformers 5, which also holds rope_theta).
Status ParseRope(const json& j, const char* key, HfConfig* c) {
  Fields r(j, std::string(key) + ".");
  RopeScaling rs;
  RETURN_IF_ERROR(r.Str("rope_type", &rs.type, false));
  if (rs.type.empty()) RETURN_IF_ERROR(r.Str("type", &rs.type, false));
  RETURN_IF_ERROR(r.Num("rope_theta", &c->rope_theta, Range::kPositive));
  if (rs.type.empty() && !r.Has("rope_theta")) return r.Invalid("rope_type", "is required but missing");
  if (rs.type.empty() || rs.type == "default") return Status::Ok();  // plain RoPE
  RETURN_IF_ERROR(r.Num("factor", &rs.factor, Range::kPositive));
  RETURN_IF_ERROR(r.OptNum("low_freq_factor", &rs.low_freq_factor, Range::kPositive));
  RETURN_IF_ERROR(r.OptNum("high_freq_factor", &rs.high_freq_factor, Range::kPositive));
  RETURN_IF_ERROR(r.OptInt("original_max_position_embeddings", &rs.original_max_position_embeddings, Range::kPositive));
  RETURN_IF_ERROR(r.OptNum("beta_fast", &rs.beta_fast, Range::kAny));
  RETURN_IF_ERROR(r.OptNum("beta_slow", &rs.beta_slow, Range::kAny));
  RETURN_IF_ERROR(r.OptNum("mscale", &rs.mscale, Range::kAny));
  RETURN_IF_ERROR(r.OptNum("mscale_all_dim", &rs.mscale_all_dim, Range::kAny));
  c->rope_scaling = rs;
  return Status::Ok();
}

Status ParseDeepSeekFields(Fields& f, HfConfig* c) {
  constexpr Range kPos = Range::kPositive, kNonNeg = Range::kNonNegative;
  RETURN_IF_ERROR(f.OptInt("q_lora_rank", &c->q_lora_rank, kPos));
  RETURN_IF_ERROR(f.OptInt("kv_lora_rank", &c->kv_lora_rank, kPos));
  RETURN_IF_ERROR(f.OptInt("qk_nope_head_dim", &c->qk_nope_head_dim, kPos));
  RETURN_IF_ERROR(f.OptInt("qk_rope_head_dim", &c->qk_rope_head_dim, kPos));
  RETURN_IF_ERROR(f.OptInt("v_head_dim", &c->v_head_dim, kPos));
  RETURN_IF_ERROR(f.OptInt("n_routed_experts", &c->n_routed_experts, kPos));
  RETURN_IF_ERROR(f.OptInt("n_shared_experts", &c->n_shared_experts, kNonNeg));
  RETURN_IF_ERROR(f.OptInt("num_experts_per_tok", &c->num_experts_per_tok, kPos));
  RETURN_IF_ERROR(f.OptInt("moe_intermediate_size", &c->moe_intermediate_size, kPos));
  RETURN_IF_ERROR(f.OptInt("first_k_dense_replace", &c->first_k_dense_replace, kNonNeg));
  RETURN_IF_ERROR(f.OptInt("moe_layer_freq", &c->moe_layer_freq, kPos));
  RETURN_IF_ERROR(f.OptInt("n_group", &c->n_group, kPos));
  RETURN_IF_ERROR(f.OptInt("topk_group", &c->topk_group, kPos));
  RETURN_IF_ERROR(f.OptInt("num_nextn_predict_layers", &c->num_nextn_predict_layers, kNonNeg));
  RETURN_IF_ERROR(f.OptStr("topk_method", &c->topk_method));
  RETURN_IF_ERROR(f.OptStr("scoring_func", &c->scoring_func));
  RETURN_IF_ERROR(f.OptBool("norm_topk_prob", &c->norm_topk_prob));
  RETURN_IF_ERROR(f.OptNum("routed_scaling_factor", &c->routed_scaling_factor, kPos));
  // Routing consistency the MoE layer relies on.
  if (c->n_routed_experts && c->num_experts_per_tok && *c->num_experts_per_tok > *c->n_routed_experts) {
    return f.Invalid("num_experts_per_tok", fmt::format("is {} but there are only {} routed experts",
                                                        *c->num_experts_per_tok, *c->n_routed_experts));
  }
  if (c->n_routed_experts && c->n_group && *c->n_routed_experts % *c->n_group != 0) {
    return f.Invalid("n_group", fmt::format("is {}, which does not divide n_routed_experts {}", *c->n_group,
                                            *c->n_routed_experts));
  }
  if (c->n_group && c->topk_group && *c->topk_group > *c->n_group) {
    return f.Invalid("topk_group", fmt::format("is {} but n_group is {}", *c->topk_group, *c->n_group));
  }
  return Status::Ok();
}

Status ParseQuantization(const json& q, HfConfig* c) {
  Fields f(q, "quantization_config.");
  HfQuantizationConfig qc;
  RETURN_IF_ERROR(f.Str("quant_method", &qc.quant_method, false));
  RETURN_IF_ERROR(f.Str("fmt", &qc.fmt, false));
  RETURN_IF_ERROR(f.Str("activation_scheme", &qc.activation_scheme, false));
  RETURN_IF_ERROR(f.IntList("weight_block_size", &qc.weight_block_size, false, Range::kPositive));
  if (f.Has("weight_block_size") && qc.weight_block_size.size() != 2) {
    return f.Invalid("weight_block_size",
                     fmt::format("must be [rows, cols], found {} entries", qc.weight_block_size.size()));
  }
  c->quantization_config = std::move(qc);
  return Status::Ok();
}

}  // namespace

Result<HfConfig> ParseHfConfig(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseJsonLimited(text, "config.json"));
  if (!j.is_object()) return InvalidArgumentError(fmt::format("config.json: must be a JSON object, found {}", j.type_name()));
  constexpr Range kPos = Range::kPositive, kNonNeg = Range::kNonNegative;
  HfConfig c;
  Fields f(j, "");
  RETURN_IF_ERROR(f.Str("model_type", &c.model_type, true));
  RETURN_IF_ERROR(f.StrList("architectures", &c.architectures));
  RETURN_IF_ERROR(f.Int("hidden_size", &c.hidden_size, true, kPos));
  RETURN_IF_ERROR(f.Int("intermediate_size", &c.intermediate_size, false, kNonNeg));
  RETURN_IF_ERROR(f.Int("num_hidden_layers", &c.num_hidden_layers, true, kPos));
  RETURN_IF_ERROR(f.Int("num_attention_heads", &c.num_attention_heads, true, kPos));
  c.num_key_value_heads = c.num_attention_heads;
  RETURN_IF_ERROR(f.Int("num_key_value_heads", &c.num_key_value_heads, false, kPos));
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return f.Invalid("num_key_value_heads", fmt::format("is {}, which does not divide num_attention_heads {}",
                                                        c.num_key_value_heads, c.num_attention_heads));
  }
  RETURN_IF_ERROR(f.OptInt("head_dim", &c.head_dim, kPos));
  RETURN_IF_ERROR(f.Int("vocab_size", &c.vocab_size, true, kPos));
  RETURN_IF_ERROR(f.Int("max_position_embeddings", &c.max_position_embeddings, false, kNonNeg));
  RETURN_IF_ERROR(f.Num("rms_norm_eps", &c.rms_norm_eps, kPos));
  RETURN_IF_ERROR(f.Num("rope_theta", &c.rope_theta, kPos));
  RETURN_IF_ERROR(f.Bool("tie_word_embeddings", &c.tie_word_embeddings));
  RETURN_IF_ERROR(f.Bool("attention_bias", &c.attention_bias));
  RETURN_IF_ERROR(f.Str("torch_dtype", &c.torch_dtype, false));
  if (c.torch_dtype.empty()) RETURN_IF_ERROR(f.Str("dtype", &c.torch_dtype, false));  // transformers 5
  RETURN_IF_ERROR(f.IntList("bos_token_id", &c.bos_token_id, true, kNonNeg));
  RETURN_IF_ERROR(f.IntList("eos_token_id", &c.eos_token_id, true, kNonNeg));
  bool present = false;
  RETURN_IF_ERROR(f.Object("rope_scaling", &present));
  if (present) {
    RETURN_IF_ERROR(ParseRope(j["rope_scaling"], "rope_scaling", &c));
  } else {
    RETURN_IF_ERROR(f.Object("rope_parameters", &present));
    if (present) RETURN_IF_ERROR(ParseRope(j["rope_parameters"], "rope_parameters", &c));
  }
  RETURN_IF_ERROR(ParseDeepSeekFields(f, &c));
  RETURN_IF_ERROR(f.Object("quantization_config", &present));
  if (present) RETURN_IF_ERROR(ParseQuantization(j["quantization_config"], &c));
  c.raw = std::move(j);
  return c;
}

Result<HfConfig> LoadHfConfig(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> f, MappedFile::Open(path));
  return ParseHfConfig(std::string_view(reinterpret_cast<const char*>(f->data().data()), f->size()));
}

}  // namespace enclave
