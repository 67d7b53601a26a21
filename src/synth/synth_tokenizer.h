// The synthetic models' tokenizer: byte-level BPE trained on the built-in corpus (up to 506
// tokens) plus the six DeepSeek special tokens, written as Hugging Face files (tokenizer.json,
// tokenizer_config.json) and as GGUF tokenizer.ggml.* metadata the way llama.cpp's
// convert_hf_to_gguf.py writes it. Both load with tokenizer/tokenizer_loader.h to the same ids.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "format/gguf_writer.h"

namespace enclave::synth {

// BPE tokens, then these (BOS first, EOS second).
inline constexpr const char* kSpecialTokens[] = {
    "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"};
inline constexpr size_t kBpeTokens = 506;  // + 6 special = 512 ids for the tiny presets

struct SynthTokenizer {
  std::string pre;    // GGUF tokenizer.ggml.pre: "qwen2" or "llama-bpe"
  std::string regex;  // the Split regex of tokenizer.json
  bool ignore_merges = false;
  std::vector<std::string> tokens;  // id -> token; BPE tokens in byte-level characters
  std::vector<std::pair<std::string, std::string>> merges;
  int64_t first_special = 0;        // id of BOS; specials follow in kSpecialTokens order
  int64_t bos() const { return first_special; }
  int64_t eos() const { return first_special + 1; }
  size_t size() const { return tokens.size(); }
};

// For arch "llama" (pre-tokenizer llama-bpe) or "qwen2" (pre-tokenizer qwen2).
Result<SynthTokenizer> BuildSynthTokenizer(const std::string& arch);

std::string HfTokenizerJson(const SynthTokenizer& tok);
// `chat_template` is written only when non-empty.
std::string HfTokenizerConfigJson(const SynthTokenizer& tok, int64_t max_positions, const std::string& chat_template);
// tokenizer.ggml.* (tokens padded with [PADn] up to `vocab_size`, as the converter does) and
// tokenizer.chat_template when non-empty.
void AddGgufTokenizer(const SynthTokenizer& tok, int64_t vocab_size, const std::string& chat_template, GgufWriter& w);

}  // namespace enclave::synth
