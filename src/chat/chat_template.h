// Rendering a model's own chat template (Jinja, from GGUF tokenizer.chat_template or
// tokenizer_config.json) with the variables Hugging Face apply_chat_template passes: messages,
// tools and documents (None when absent), add_generation_prompt, bos_token, eos_token, and any
// extra keyword arguments (date_string, builtin_tools, ...), plus the strftime_now() global.
#pragma once

#include <ctime>
#include <optional>
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
  nlohmann::ordered_json tools;            // null: passed as None, as transformers does
  nlohmann::ordered_json extra_variables;  // null or an object: apply_chat_template(**kwargs)
  std::optional<std::tm> now;              // strftime_now's clock; unset: the local time
  RenderLimits limits;
};

// `messages` is a JSON array of {"role", "content", ...} objects.
Result<std::string> RenderChatTemplate(std::string_view template_source, const nlohmann::ordered_json& messages,
                                       const ChatRenderOptions& options);

}  // namespace enclave::chat
