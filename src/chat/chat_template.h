// Rendering a model's own chat template (Jinja, from GGUF tokenizer.chat_template or
// tokenizer_config.json) with the variables Hugging Face apply_chat_template passes: messages,
// add_generation_prompt, bos_token, eos_token, tools (when given).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "chat/jinja.h"

namespace enclave::chat {

struct ChatRenderOptions {
  bool add_generation_prompt = false;
  std::string bos_token;
  std::string eos_token;
  nlohmann::ordered_json tools;  // null: not passed to the template (so `tools is defined` is false)
  RenderLimits limits;
};

// `messages` is a JSON array of {"role", "content", ...} objects.
Result<std::string> RenderChatTemplate(std::string_view template_source, const nlohmann::ordered_json& messages,
                                       const ChatRenderOptions& options);

}  // namespace enclave::chat
