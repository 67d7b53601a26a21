#include "format/hf_config.h"

#include <fmt/format.h>

#include "format/json_limits.h"
#include "platform/mapped_file.h"

namespace enclave {
namespace {

using nlohmann::json;

// Field readers: absent or null -> default / nullopt; present with the wrong type -> error.
class Fields {
 public:
  explicit Fields(const json& j) : j_(j) {}

  Status Int(const char* key, int64_t* out, bool required) {
    if (!Has(key)) return required ? Missing(key) : Status::Ok();
    if (!j_[key].is_number_integer()) return Wrong(key, "an integer");
    *out = j_[key].get<int64_t>();
    return Status::Ok();
  }
  Status OptInt(const char* key, std::optional<int64_t>* out) {
    if (!Has(key)) return Status::Ok();
    if (!j_[key].is_number_integer()) return Wrong(key, "an integer or null");
    *out = j_[key].get<int64_t>();
    return Status::Ok();
  }
  Status Num(const char* key, double* out) {
    if (!Has(key)) return Status::Ok();
    if (!j_[key].is_number()) return Wrong(key, "a number");
    *out = j_[key].get<double>();
    return Status::Ok();
  }
  Status OptNum(const char* key, std::optional<double>* out) {
    if (!Has(key)) return Status::Ok();
    if (!j_[key].is_number()) return Wrong(key, "a number or null");
    *out = j_[key].get<double>();
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
    if (!j_[key].is_boolean()) return Wrong(key, "true or false");
    *out = j_[key].get<bool>();
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
    if (!j_[key].is_string()) return Wrong(key, "a string");
    *out = j_[key].get<std::string>();
    return Status::Ok();
  }
  Status IdList(const char* key, std::vector<int64_t>* out) {
    if (!Has(key)) return Status::Ok();
    if (j_[key].is_number_integer()) {
      out->push_back(j_[key].get<int64_t>());
      return Status::Ok();
    }
    if (!j_[key].is_array()) return Wrong(key, "an integer or a list of integers");
    for (const auto& v : j_[key]) {
      if (!v.is_number_integer()) return Wrong(key, "an integer or a list of integers");
      out->push_back(v.get<int64_t>());
    }
    return Status::Ok();
  }
  Status IntList(const char* key, std::vector<int64_t>* out) {
    if (!Has(key)) return Status::Ok();
    if (!j_[key].is_array()) return Wrong(key, "a list of integers");
    for (const auto& v : j_[key]) {
      if (!v.is_number_integer()) return Wrong(key, "a list of integers");
      out->push_back(v.get<int64_t>());
    }
    return Status::Ok();
  }

 private:
  bool Has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }
  Status Missing(const char* key) const {
    return InvalidArgumentError(fmt::format("config.json: required field '{}' is missing", key));
  }
  Status Wrong(const char* key, const char* want) const {
    return InvalidArgumentError(fmt::format("config.json: field '{}' must be {}, found {}", key, want,
                                            j_[key].type_name()));
  }
  const json& j_;
};

}  // namespace

Result<HfConfig> ParseHfConfig(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseJsonLimited(text, "config.json"));
  if (!j.is_object()) return InvalidArgumentError("config.json: must be a JSON object");
  HfConfig c;
  Fields f(j);
  RETURN_IF_ERROR(f.Str("model_type", &c.model_type, true));
  if (j.contains("architectures") && !j["architectures"].is_null()) {
    if (!j["architectures"].is_array()) return InvalidArgumentError("config.json: field 'architectures' must be a list of strings");
    for (const auto& a : j["architectures"]) {
      if (!a.is_string()) return InvalidArgumentError("config.json: field 'architectures' must be a list of strings");
      c.architectures.push_back(a.get<std::string>());
    }
  }
  RETURN_IF_ERROR(f.Int("hidden_size", &c.hidden_size, true));
  RETURN_IF_ERROR(f.Int("intermediate_size", &c.intermediate_size, false));
  RETURN_IF_ERROR(f.Int("num_hidden_layers", &c.num_hidden_layers, true));
  RETURN_IF_ERROR(f.Int("num_attention_heads", &c.num_attention_heads, true));
  c.num_key_value_heads = c.num_attention_heads;
  RETURN_IF_ERROR(f.Int("num_key_value_heads", &c.num_key_value_heads, false));
  RETURN_IF_ERROR(f.OptInt("head_dim", &c.head_dim));
  RETURN_IF_ERROR(f.Int("vocab_size", &c.vocab_size, true));
  RETURN_IF_ERROR(f.Int("max_position_embeddings", &c.max_position_embeddings, false));
  RETURN_IF_ERROR(f.Num("rms_norm_eps", &c.rms_norm_eps));
  RETURN_IF_ERROR(f.Num("rope_theta", &c.rope_theta));
  RETURN_IF_ERROR(f.Bool("tie_word_embeddings", &c.tie_word_embeddings));
  RETURN_IF_ERROR(f.Bool("attention_bias", &c.attention_bias));
  RETURN_IF_ERROR(f.Str("torch_dtype", &c.torch_dtype, false));
  RETURN_IF_ERROR(f.IdList("bos_token_id", &c.bos_token_id));
  RETURN_IF_ERROR(f.IdList("eos_token_id", &c.eos_token_id));
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    if (!j["rope_scaling"].is_object()) return InvalidArgumentError("config.json: field 'rope_scaling' must be an object or null");
    RopeScaling rs;
    Fields r(j["rope_scaling"]);
    RETURN_IF_ERROR(r.Str("rope_type", &rs.type, false));
    if (rs.type.empty()) RETURN_IF_ERROR(r.Str("type", &rs.type, false));
    if (rs.type.empty()) return InvalidArgumentError("config.json: rope_scaling has neither 'rope_type' nor 'type'");
    RETURN_IF_ERROR(r.Num("factor", &rs.factor));
    RETURN_IF_ERROR(r.OptNum("low_freq_factor", &rs.low_freq_factor));
    RETURN_IF_ERROR(r.OptNum("high_freq_factor", &rs.high_freq_factor));
    RETURN_IF_ERROR(r.OptInt("original_max_position_embeddings", &rs.original_max_position_embeddings));
    RETURN_IF_ERROR(r.OptNum("beta_fast", &rs.beta_fast));
    RETURN_IF_ERROR(r.OptNum("beta_slow", &rs.beta_slow));
    RETURN_IF_ERROR(r.OptNum("mscale", &rs.mscale));
    RETURN_IF_ERROR(r.OptNum("mscale_all_dim", &rs.mscale_all_dim));
    c.rope_scaling = rs;
  }
  RETURN_IF_ERROR(f.OptInt("q_lora_rank", &c.q_lora_rank));
  RETURN_IF_ERROR(f.OptInt("kv_lora_rank", &c.kv_lora_rank));
  RETURN_IF_ERROR(f.OptInt("qk_nope_head_dim", &c.qk_nope_head_dim));
  RETURN_IF_ERROR(f.OptInt("qk_rope_head_dim", &c.qk_rope_head_dim));
  RETURN_IF_ERROR(f.OptInt("v_head_dim", &c.v_head_dim));
  RETURN_IF_ERROR(f.OptInt("n_routed_experts", &c.n_routed_experts));
  RETURN_IF_ERROR(f.OptInt("n_shared_experts", &c.n_shared_experts));
  RETURN_IF_ERROR(f.OptInt("num_experts_per_tok", &c.num_experts_per_tok));
  RETURN_IF_ERROR(f.OptInt("moe_intermediate_size", &c.moe_intermediate_size));
  RETURN_IF_ERROR(f.OptInt("first_k_dense_replace", &c.first_k_dense_replace));
  RETURN_IF_ERROR(f.OptInt("moe_layer_freq", &c.moe_layer_freq));
  RETURN_IF_ERROR(f.OptInt("n_group", &c.n_group));
  RETURN_IF_ERROR(f.OptInt("topk_group", &c.topk_group));
  RETURN_IF_ERROR(f.OptInt("num_nextn_predict_layers", &c.num_nextn_predict_layers));
  RETURN_IF_ERROR(f.OptStr("topk_method", &c.topk_method));
  RETURN_IF_ERROR(f.OptStr("scoring_func", &c.scoring_func));
  RETURN_IF_ERROR(f.OptBool("norm_topk_prob", &c.norm_topk_prob));
  RETURN_IF_ERROR(f.OptNum("routed_scaling_factor", &c.routed_scaling_factor));
  if (j.contains("quantization_config") && !j["quantization_config"].is_null()) {
    if (!j["quantization_config"].is_object()) return InvalidArgumentError("config.json: field 'quantization_config' must be an object");
    HfQuantizationConfig q;
    Fields qf(j["quantization_config"]);
    RETURN_IF_ERROR(qf.Str("quant_method", &q.quant_method, false));
    RETURN_IF_ERROR(qf.Str("fmt", &q.fmt, false));
    RETURN_IF_ERROR(qf.Str("activation_scheme", &q.activation_scheme, false));
    RETURN_IF_ERROR(qf.IntList("weight_block_size", &q.weight_block_size));
    c.quantization_config = q;
  }
  for (auto [name, v] : {std::pair{"hidden_size", c.hidden_size}, {"num_hidden_layers", c.num_hidden_layers},
                         {"num_attention_heads", c.num_attention_heads}, {"vocab_size", c.vocab_size},
                         {"num_key_value_heads", c.num_key_value_heads}}) {
    if (v <= 0) return InvalidArgumentError(fmt::format("config.json: field '{}' must be positive, found {}", name, v));
  }
  c.raw = std::move(j);
  return c;
}

Result<HfConfig> LoadHfConfig(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> f, MappedFile::Open(path));
  return ParseHfConfig(std::string_view(reinterpret_cast<const char*>(f->data().data()), f->size()));
}

}  // namespace enclave
