// A conversation rendered as a generation prompt, the way both front ends (the server and
// `enclave run --chat`) need it: the model's template with add_generation_prompt and the
// tokenizer's BOS/EOS texts, plus whether the prompt leaves the model inside a think block.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "tokenizer/tokenizer.h"

namespace enclave::chat {

struct ChatPrompt {
  std::string text;
  // The prompt ends inside <think> (R1's template opens it): the output starts as reasoning.
  bool opens_think = false;
};

// `extra_variables`: null or an object of template keyword arguments (enable_thinking, ...).
Result<ChatPrompt> RenderChatPrompt(std::string_view template_source, const nlohmann::ordered_json& messages,
                                    const tokenizer::Tokenizer& tokenizer,
                                    const nlohmann::ordered_json& extra_variables = nullptr);

}  // namespace enclave::chat
