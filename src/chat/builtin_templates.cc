#include "chat/builtin_templates.h"

#include <fmt/format.h>

#include "base/check.h"

namespace enclave::chat {

const BuiltinTemplate* FindBuiltinTemplate(std::string_view name) {
  if (name == "deepseek-llm") name = "deepseek-v2";
  for (const auto& t : BuiltinTemplates()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::string BuiltinTemplateNames() {
  std::string names;
  for (const auto& t : BuiltinTemplates()) names += (names.empty() ? "" : ", ") + std::string(t.name);
  return names;
}

TemplateFamilyHints HintsFromTokenizer(const tokenizer::Tokenizer& tokenizer) {
  TemplateFamilyHints hints;
  hints.pre_tokenizer = tokenizer.pre_tokenizer().name();
  hints.has_deepseek_turn_tokens = tokenizer.Find("<｜User｜>") && tokenizer.Find("<｜Assistant｜>");
  return hints;
}

Result<const BuiltinTemplate*> FallbackTemplate(const TemplateFamilyHints& hints) {
  const std::string_view pre = hints.pre_tokenizer;
  std::string_view name;
  if (hints.has_deepseek_turn_tokens) {
    // DeepSeek-V3 and R1 use these markers with their own pre-tokenizer (a deepseek-llm one is
    // taken to be V2.5, whose template V3's follows); the R1 distills added them to Qwen2.5 and
    // Llama 3.1 vocabularies, so the pre-tokenizer tells the two apart.
    if (pre == "deepseek-v3" || pre == "deepseek-llm") name = "deepseek-v3";
    else if (pre == "qwen2" || pre == "llama-bpe") name = "deepseek-r1";
  } else if (pre == "deepseek-coder") {
    name = "deepseek-coder";
  } else if (pre == "deepseek-llm") {
    name = "deepseek-v2";
  } else if (pre == "qwen2") {
    name = "qwen2";
  } else if (pre == "llama-bpe") {
    name = "llama3";
  }
  if (name.empty()) {
    return NotFoundError(fmt::format(
        "the model has no chat template and its tokenizer (pre-tokenizer '{}'{}) matches no built-in template; pass "
        "--chat-template with one of {} or a Jinja file",
        pre, hints.has_deepseek_turn_tokens ? ", DeepSeek turn tokens" : "", BuiltinTemplateNames()));
  }
  const BuiltinTemplate* t = FindBuiltinTemplate(name);
  ENCLAVE_CHECK(t != nullptr);
  return t;
}

}  // namespace enclave::chat
