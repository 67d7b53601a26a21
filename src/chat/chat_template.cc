#include "chat/chat_template.h"

namespace enclave::chat {

Result<std::string> RenderChatTemplate(std::string_view template_source, const nlohmann::ordered_json& messages,
                                       const ChatRenderOptions& options) {
  if (!messages.is_array()) return InvalidArgumentError("messages must be a JSON array of {role, content} objects");
  for (size_t i = 0; i < messages.size(); ++i) {
    if (!messages[i].is_object() || !messages[i].contains("role") || !messages[i]["role"].is_string()) {
      return InvalidArgumentError("message #" + std::to_string(i) + " needs a string \"role\"");
    }
  }
  if (!options.extra_variables.is_null() && !options.extra_variables.is_object()) {
    return InvalidArgumentError("extra template variables must be a JSON object");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Template> t, Template::Parse(template_source));
  // Same precedence as transformers: special tokens, then the caller's keyword arguments, then the
  // fixed arguments of render().
  Value ctx = Value::MakeDict();
  ctx.Set("bos_token", Value::Str(options.bos_token));
  ctx.Set("eos_token", Value::Str(options.eos_token));
  if (options.extra_variables.is_object()) {
    for (auto it = options.extra_variables.begin(); it != options.extra_variables.end(); ++it) {
      ctx.Set(it.key(), Value::FromJson(it.value()));
    }
  }
  ctx.Set("messages", Value::FromJson(messages));
  ctx.Set("tools", Value::FromJson(options.tools));
  ctx.Set("documents", Value::None());
  ctx.Set("add_generation_prompt", Value::Bool(options.add_generation_prompt));
  return t->Render(ctx, options.limits, options.now);
}

}  // namespace enclave::chat
