#include "chat/chat_prompt.h"

#include "chat/chat_template.h"

namespace enclave::chat {

Result<ChatPrompt> RenderChatPrompt(std::string_view template_source, const nlohmann::ordered_json& messages,
                                    const tokenizer::Tokenizer& tokenizer,
                                    const nlohmann::ordered_json& extra_variables) {
  ChatRenderOptions render;
  render.add_generation_prompt = true;
  if (tokenizer.bos()) render.bos_token = tokenizer.TokenText(*tokenizer.bos());
  if (tokenizer.eos()) render.eos_token = tokenizer.TokenText(*tokenizer.eos());
  render.extra_variables = extra_variables;
  ASSIGN_OR_RETURN(std::string text, RenderChatTemplate(template_source, messages, render));
  ChatPrompt p;
  // "<think>" within the last 9 bytes: R1's template ends with "<think>\n".
  p.opens_think = text.size() >= 8 && text.find("<think>", text.size() - std::min<size_t>(text.size(), 9)) != std::string::npos;
  p.text = std::move(text);
  return p;
}

}  // namespace enclave::chat
