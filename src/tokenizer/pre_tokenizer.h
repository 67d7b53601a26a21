// Regex pre-tokenizers: split text into the pieces BPE runs on, exactly as Hugging Face
// `tokenizers` does for a Sequence of Split(pattern, behavior=Isolated) — each regex applied in
// order to every piece the previous one left, matches and the gaps between them both kept —
// followed by ByteLevel(use_regex=false). Regexes are PCRE2 (UTF + Unicode properties), JIT-compiled
// once. Immutable after construction; Split() is thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace enclave::tokenizer {

class PreTokenizer {
 public:
  // A named preset: "deepseek-v3", "deepseek-llm", "deepseek-coder", "qwen2" (also
  // "deepseek-r1-qwen"), "llama-bpe" (also "llama3"). Unknown names are an error listing these.
  static Result<std::unique_ptr<PreTokenizer>> FromPreset(std::string_view name);
  // Identifies the preset whose regex list equals `patterns` (as written in a tokenizer.json,
  // literal characters and \x{...} escapes compared alike); an error if none does.
  static Result<std::unique_ptr<PreTokenizer>> FromPatterns(const std::vector<std::string>& patterns);
  static std::vector<std::string> PresetNames();

  ~PreTokenizer();
  const std::string& name() const { return name_; }

  // Appends the pieces of `text` (views into it) to `out`. `text` must be valid UTF-8.
  Status Split(std::string_view text, std::vector<std::string_view>* out) const;

 private:
  struct Regex;
  PreTokenizer() = default;
  static Result<std::unique_ptr<PreTokenizer>> Compile(std::string name, const std::vector<std::string>& patterns);

  std::string name_;
  std::vector<std::unique_ptr<Regex>> regexes_;
};

}  // namespace enclave::tokenizer
