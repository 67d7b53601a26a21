#include "tokenizer/tokenizer_loader.h"

#include <fmt/format.h>

#include <filesystem>

#include "format/json_limits.h"
#include "platform/mapped_file.h"

namespace enclave::tokenizer {
namespace {

using nlohmann::json;

Status Unsupported(const std::string& what) { return UnsupportedError("tokenizer.json: " + what); }

// The regexes of a pre_tokenizer made of Split(Regex, Isolated) steps and a final
// ByteLevel(use_regex=false), the shape every supported DeepSeek/Qwen2/Llama-3 tokenizer has.
Result<std::vector<std::string>> SplitPatterns(const json& pre) {
  if (!pre.is_object() || !pre.contains("type")) return Unsupported("no pre_tokenizer");
  std::vector<json> steps;
  if (pre["type"] == "Sequence" && pre.contains("pretokenizers") && pre["pretokenizers"].is_array()) {
    for (const auto& s : pre["pretokenizers"]) steps.push_back(s);
  } else {
    steps.push_back(pre);
  }
  std::vector<std::string> patterns;
  bool byte_level_seen = false;
  for (const auto& s : steps) {
    const std::string type = s.value("type", "");
    if (type == "Split") {
      if (byte_level_seen) return Unsupported("a Split after ByteLevel in pre_tokenizer");
      if (!s.contains("pattern") || !s["pattern"].is_object() || !s["pattern"].contains("Regex") ||
          !s["pattern"]["Regex"].is_string()) {
        return Unsupported("a Split pre-tokenizer without a Regex pattern");
      }
      if (s.value("behavior", "") != "Isolated" || s.value("invert", false)) {
        return Unsupported(fmt::format("Split behavior '{}' (invert {}) — only Isolated is supported",
                                       s.value("behavior", ""), s.value("invert", false)));
      }
      patterns.push_back(s["pattern"]["Regex"].get<std::string>());
    } else if (type == "ByteLevel") {
      if (s.value("use_regex", true)) {
        return Unsupported("ByteLevel pre-tokenizer with use_regex=true (the GPT-2 regex) is not supported");
      }
      if (s.value("add_prefix_space", false)) return Unsupported("ByteLevel add_prefix_space=true is not supported");
      byte_level_seen = true;
    } else {
      return Unsupported(fmt::format("pre-tokenizer type '{}' is not supported", type));
    }
  }
  if (!byte_level_seen) return Unsupported("pre_tokenizer does not end with ByteLevel: not a byte-level BPE tokenizer");
  return patterns;
}

// A token given as a string or as an AddedToken object {"content": ...}.
std::optional<std::string> TokenContent(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  if (j[key].is_string()) return j[key].get<std::string>();
  if (j[key].is_object() && j[key].contains("content") && j[key]["content"].is_string()) {
    return j[key]["content"].get<std::string>();
  }
  return std::nullopt;
}

Result<std::string> ReadFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> f, MappedFile::Open(path));
  return std::string(reinterpret_cast<const char*>(f->data().data()), f->size());
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> LoadTokenizerFromHfJson(std::string_view tokenizer_json,
                                                           std::string_view tokenizer_config_json) {
  JsonLimits limits;
  limits.max_depth = 64;
  limits.reject_duplicate_keys_at_depth = 0;
  ASSIGN_OR_RETURN(json tj, ParseJsonLimited(tokenizer_json, "tokenizer.json", limits));
  if (!tj.is_object() || !tj.contains("model") || !tj["model"].is_object()) return Unsupported("no \"model\" object");
  const json& model = tj["model"];
  if (model.value("type", "") != "BPE") {
    return Unsupported(fmt::format("model type '{}' — only byte-level BPE is supported", model.value("type", "")));
  }
  if (model.value("byte_fallback", false)) return Unsupported("BPE byte_fallback (SentencePiece-style) is not supported");
  if (tj.contains("normalizer") && !tj["normalizer"].is_null()) {
    const json& n = tj["normalizer"];
    const bool empty_sequence = n.value("type", "") == "Sequence" && n.contains("normalizers") &&
                                n["normalizers"].is_array() && n["normalizers"].empty();
    if (!empty_sequence) return Unsupported(fmt::format("normalizer '{}' is not supported", n.value("type", "?")));
  }
  TokenizerSpec spec;
  if (!model.contains("vocab") || !model["vocab"].is_object()) return Unsupported("model.vocab is not an object");
  for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > (1 << 24)) {
      return InvalidArgumentError(fmt::format("tokenizer.json: vocab entry '{}' has a bad id", it.key()));
    }
    const size_t id = it->get<size_t>();
    if (id >= spec.vocab.size()) spec.vocab.resize(id + 1);
    spec.vocab[id] = it.key();
  }
  if (model.contains("merges") && model["merges"].is_array()) {
    for (const auto& m : model["merges"]) {
      if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const size_t sp = s.find(' ', 1);
        if (sp == std::string::npos) return InvalidArgumentError(fmt::format("tokenizer.json: merge '{}' has no space", s));
        spec.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        spec.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      } else {
        return InvalidArgumentError("tokenizer.json: a merge is neither \"a b\" nor [\"a\", \"b\"]");
      }
    }
  }
  spec.ignore_merges = model.value("ignore_merges", false);
  if (tj.contains("added_tokens") && tj["added_tokens"].is_array()) {
    for (const auto& a : tj["added_tokens"]) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
          !a["content"].is_string()) {
        return InvalidArgumentError("tokenizer.json: an added token lacks an integer id or a content string");
      }
      if (a.value("lstrip", false) || a.value("rstrip", false) || a.value("single_word", false)) {
        return Unsupported(fmt::format("added token '{}' uses lstrip/rstrip/single_word, which is not supported",
                                       a["content"].get<std::string>()));
      }
      spec.added.push_back({a["id"].get<TokenId>(), a["content"].get<std::string>(), a.value("special", false)});
    }
  }
  ASSIGN_OR_RETURN(std::vector<std::string> patterns, SplitPatterns(tj.value("pre_tokenizer", json())));
  ASSIGN_OR_RETURN(spec.pre_tokenizer, PreTokenizer::FromPatterns(patterns));
  if (!tokenizer_config_json.empty()) {
    ASSIGN_OR_RETURN(json cfg, ParseJsonLimited(tokenizer_config_json, "tokenizer_config.json", limits));
    if (!cfg.is_object()) return InvalidArgumentError("tokenizer_config.json: not a JSON object");
    spec.add_bos = cfg.value("add_bos_token", false);
    spec.add_eos = cfg.value("add_eos_token", false);
    auto find_id = [&](const std::optional<std::string>& content) -> std::optional<TokenId> {
      if (!content) return std::nullopt;
      for (const auto& a : spec.added) {
        if (a.content == *content) return a.id;
      }
      for (size_t i = 0; i < spec.vocab.size(); ++i) {
        if (spec.vocab[i] == *content) return static_cast<TokenId>(i);
      }
      return std::nullopt;
    };
    spec.bos = find_id(TokenContent(cfg, "bos_token"));
    spec.eos = find_id(TokenContent(cfg, "eos_token"));
    if (cfg.contains("chat_template")) {
      const json& ct = cfg["chat_template"];
      if (ct.is_string()) {
        spec.chat_template = ct.get<std::string>();
      } else if (ct.is_array()) {
        for (const auto& e : ct) {
          if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string()) {
            spec.chat_template = e["template"].get<std::string>();
          }
        }
      }
    }
  }
  return Tokenizer::Create(std::move(spec));
}

Result<std::unique_ptr<Tokenizer>> LoadTokenizerFromGguf(const GgufFile& gguf) {
  ASSIGN_OR_RETURN(std::string model, gguf.GetString("tokenizer.ggml.model"));
  if (model != "gpt2") {
    return UnsupportedError(fmt::format("tokenizer.ggml.model is '{}'; only 'gpt2' (byte-level BPE) is supported", model));
  }
  TokenizerSpec spec;
  ASSIGN_OR_RETURN(spec.vocab, gguf.GetStringArray("tokenizer.ggml.tokens"));
  ASSIGN_OR_RETURN(std::vector<std::string> merges, gguf.GetStringArray("tokenizer.ggml.merges"));
  for (const auto& m : merges) {
    const size_t sp = m.find(' ', 1);
    if (sp == std::string::npos) return InvalidArgumentError(fmt::format("tokenizer.ggml.merges: '{}' has no space", m));
    spec.merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
  }
  if (const GgufValue* types = gguf.Find("tokenizer.ggml.token_type")) {
    if (types->type != GgufValueType::kArray || types->array.size() != spec.vocab.size()) {
      return InvalidArgumentError("tokenizer.ggml.token_type must be an array as long as tokenizer.ggml.tokens");
    }
    for (size_t i = 0; i < types->array.size(); ++i) {
      const int64_t t = types->array[i].i;
      // 3 = control (special), 4 = user-defined: both are matched as whole tokens in text.
      if (t == 3 || t == 4) spec.added.push_back({static_cast<TokenId>(i), spec.vocab[i], t == 3});
    }
  }
  ASSIGN_OR_RETURN(std::string pre, gguf.GetString("tokenizer.ggml.pre"));
  ASSIGN_OR_RETURN(spec.pre_tokenizer, PreTokenizer::FromPreset(pre));
  spec.ignore_merges = spec.pre_tokenizer->name() == "llama-bpe";
  if (auto v = gguf.GetUint("tokenizer.ggml.bos_token_id"); v.ok()) spec.bos = static_cast<TokenId>(*v);
  if (auto v = gguf.GetUint("tokenizer.ggml.eos_token_id"); v.ok()) spec.eos = static_cast<TokenId>(*v);
  if (auto v = gguf.GetBool("tokenizer.ggml.add_bos_token"); v.ok()) spec.add_bos = *v;
  else spec.add_bos = spec.pre_tokenizer->name() == "llama-bpe";
  if (auto v = gguf.GetBool("tokenizer.ggml.add_eos_token"); v.ok()) spec.add_eos = *v;
  if (auto v = gguf.GetString("tokenizer.chat_template"); v.ok()) spec.chat_template = *v;
  return Tokenizer::Create(std::move(spec));
}

Result<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const fs::path tj = fs::path(path) / "tokenizer.json";
    if (!fs::exists(tj, ec)) {
      return NotFoundError(fmt::format("'{}' has no tokenizer.json (Enclave reads Hugging Face fast-tokenizer files)", path));
    }
    ASSIGN_OR_RETURN(std::string tok, ReadFile(tj.string()));
    std::string cfg;
    const fs::path cj = fs::path(path) / "tokenizer_config.json";
    if (fs::exists(cj, ec)) {
      ASSIGN_OR_RETURN(cfg, ReadFile(cj.string()));
    }
    auto t = LoadTokenizerFromHfJson(tok, cfg);
    if (!t.ok()) return t.status().WithContext(path);
    return t;
  }
  ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> gguf, GgufFile::Open(path));
  auto t = LoadTokenizerFromGguf(*gguf);
  if (!t.ok()) return t.status().WithContext(path);
  return t;
}

}  // namespace enclave::tokenizer
