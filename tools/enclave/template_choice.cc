#include "tools/enclave/template_choice.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "chat/builtin_templates.h"

namespace enclave::cli {

Result<std::string> ChooseChatTemplate(const std::string& override_name_or_file, const std::string& model_label,
                                       const tokenizer::Tokenizer& tok) {
  if (!override_name_or_file.empty()) {
    if (const chat::BuiltinTemplate* b = chat::FindBuiltinTemplate(override_name_or_file)) return std::string(b->text);
    std::ifstream in(override_name_or_file, std::ios::binary);
    if (!in) {
      return NotFoundError("--chat-template '" + override_name_or_file + "' is neither a built-in template (" +
                           chat::BuiltinTemplateNames() + ") nor a readable file");
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  if (!tok.chat_template().empty()) return tok.chat_template();
  ASSIGN_OR_RETURN(const chat::BuiltinTemplate* b, chat::FallbackTemplate(chat::HintsFromTokenizer(tok)));
  std::fprintf(stderr, "note: '%s' carries no chat template; using the built-in '%.*s' template (%.*s)\n",
               model_label.c_str(), static_cast<int>(b->name.size()), b->name.data(),
               static_cast<int>(b->source.size()), b->source.data());
  return std::string(b->text);
}

}  // namespace enclave::cli
