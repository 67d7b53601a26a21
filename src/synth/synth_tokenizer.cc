#include "synth/synth_tokenizer.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "synth/bpe_trainer.h"
#include "synth/corpus.h"
#include "tokenizer/pre_tokenizer.h"

namespace enclave::synth {
namespace {

using ojson = nlohmann::ordered_json;

// The Split regexes of the public Qwen2 and Llama 3 tokenizer.json files (the same text as
// tests/fixtures/tokenizer/{qwen2,llama-bpe}/tokenizer.json); they differ only in \p{N} vs
// \p{N}{1,3}.
constexpr const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kLlamaBpeRegex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// BOS and EOS are special (control); the chat markers look special (<｜...｜>), so the converter
// also makes them control tokens; <think> and </think> are plain added tokens, as in the real
// R1 tokenizers.
bool IsSpecial(size_t k) { return k < 2; }
bool LooksSpecial(size_t k) { return k < 4; }

}  // namespace

Result<SynthTokenizer> BuildSynthTokenizer(const std::string& arch) {
  SynthTokenizer tok;
  // deepseek2 models get the qwen2 pre-tokenizer: the synthetic vocabulary only has to be a valid
  // byte-level BPE that transformers and we both load; which split rule it uses does not matter.
  if (arch == "qwen2" || arch == "deepseek2") {
    tok.pre = "qwen2";
    tok.regex = kQwen2Regex;
  } else if (arch == "llama") {
    tok.pre = "llama-bpe";
    tok.regex = kLlamaBpeRegex;
    tok.ignore_merges = true;
  } else {
    return InvalidArgumentError(fmt::format("no synthetic tokenizer for arch '{}' (llama, qwen2, deepseek2)", arch));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<tokenizer::PreTokenizer> pre, tokenizer::PreTokenizer::FromPatterns({tok.regex}));
  ASSIGN_OR_RETURN(BpeVocab bpe, TrainBpe(TrainingCorpus(), *pre, kBpeTokens));
  tok.tokens = std::move(bpe.tokens);
  tok.merges = std::move(bpe.merges);
  tok.first_special = static_cast<int64_t>(tok.tokens.size());
  for (const char* s : kSpecialTokens) tok.tokens.emplace_back(s);
  return tok;
}

std::string HfTokenizerJson(const SynthTokenizer& tok) {
  ojson j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  ojson added = ojson::array();
  for (size_t k = 0; k < std::size(kSpecialTokens); ++k) {
    added.push_back({{"id", tok.first_special + static_cast<int64_t>(k)},
                     {"content", kSpecialTokens[k]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", !IsSpecial(k)},
                     {"special", IsSpecial(k)}});
  }
  j["added_tokens"] = added;
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"}, {"pattern", {{"Regex", tok.regex}}}, {"behavior", "Isolated"}, {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}};
  // BOS before every sequence, as the DeepSeek tokenizers' TemplateProcessing does.
  const std::string bos = kSpecialTokens[0];
  ojson bos_piece = {{"SpecialToken", {{"id", bos}, {"type_id", 0}}}};
  j["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", {bos_piece, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
      {"pair",
       {bos_piece,
        {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
        {{"SpecialToken", {{"id", bos}, {"type_id", 1}}}},
        {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
      {"special_tokens", {{bos, {{"id", bos}, {"ids", {tok.bos()}}, {"tokens", {bos}}}}}}};
  j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  ojson vocab = ojson::object();
  for (int64_t i = 0; i < tok.first_special; ++i) vocab[tok.tokens[i]] = i;
  ojson merges = ojson::array();
  for (const auto& [a, b] : tok.merges) merges.push_back(a + " " + b);
  j["model"] = {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", nullptr},
                {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},
                {"byte_fallback", false},
                {"ignore_merges", tok.ignore_merges},
                {"vocab", vocab},
                {"merges", merges}};
  return j.dump(2) + "\n";
}

std::string HfTokenizerConfigJson(const SynthTokenizer& tok, int64_t max_positions, const std::string& chat_template) {
  ojson j;
  j["add_bos_token"] = true;
  j["add_eos_token"] = false;
  j["bos_token"] = kSpecialTokens[0];
  j["eos_token"] = kSpecialTokens[1];
  j["pad_token"] = kSpecialTokens[1];
  j["clean_up_tokenization_spaces"] = false;
  j["model_max_length"] = max_positions;
  // The generic fast tokenizer: it runs tokenizer.json as written (model-specific classes may
  // rebuild the pipeline from their own defaults).
  j["tokenizer_class"] = "PreTrainedTokenizerFast";
  if (!chat_template.empty()) j["chat_template"] = chat_template;
  return j.dump(2) + "\n";
}

void AddGgufTokenizer(const SynthTokenizer& tok, int64_t vocab_size, const std::string& chat_template, GgufWriter& w) {
  std::vector<std::string> tokens = tok.tokens;
  std::vector<GgufValue> types;
  for (size_t i = 0; i < tok.tokens.size(); ++i) {
    int32_t type = 1;  // normal
    if (static_cast<int64_t>(i) >= tok.first_special) {
      type = LooksSpecial(i - tok.first_special) ? 3 : 4;  // control : user-defined
    }
    types.push_back(GgufValue::I32(type));
  }
  for (int64_t i = static_cast<int64_t>(tokens.size()); i < vocab_size; ++i) {
    tokens.push_back(fmt::format("[PAD{}]", i));
    types.push_back(GgufValue::I32(5));  // unused
  }
  std::vector<std::string> merges;
  for (const auto& [a, b] : tok.merges) merges.push_back(a + " " + b);
  w.SetValue("tokenizer.ggml.model", GgufValue::String("gpt2"));
  w.SetValue("tokenizer.ggml.pre", GgufValue::String(tok.pre));
  w.SetValue("tokenizer.ggml.tokens", GgufValue::StringArray(tokens));
  w.SetValue("tokenizer.ggml.token_type", GgufValue::Array(GgufValueType::kI32, std::move(types)));
  w.SetValue("tokenizer.ggml.merges", GgufValue::StringArray(merges));
  w.SetValue("tokenizer.ggml.bos_token_id", GgufValue::U32(static_cast<uint32_t>(tok.bos())));
  w.SetValue("tokenizer.ggml.eos_token_id", GgufValue::U32(static_cast<uint32_t>(tok.eos())));
  w.SetValue("tokenizer.ggml.padding_token_id", GgufValue::U32(static_cast<uint32_t>(tok.eos())));
  w.SetValue("tokenizer.ggml.add_bos_token", GgufValue::Bool(true));
  w.SetValue("tokenizer.ggml.add_eos_token", GgufValue::Bool(false));
  if (!chat_template.empty()) w.SetValue("tokenizer.chat_template", GgufValue::String(chat_template));
}

}  // namespace enclave::synth
