// `enclave template -m MODEL --messages conv.json [--generation-prompt] [--chat-template NAME|FILE]`:
// render a conversation with the model's own chat template, or a built-in one for models that
// ship none (chat/builtin_templates.h).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "chat/builtin_templates.h"
#include "chat/chat_template.h"
#include "format/json_limits.h"
#include "tokenizer/tokenizer_loader.h"
#include "tools/enclave/commands.h"
#include "tools/enclave/template_choice.h"

namespace enclave::cli {
namespace {

struct TemplateOptions {
  std::string model;
  std::string messages;
  bool generation_prompt = false;
  std::string chat_template;  // a built-in name or a Jinja file; empty: the model's own
};


int RunTemplate(const TemplateOptions& opt) {
  auto tok = tokenizer::LoadTokenizer(opt.model);
  if (!tok.ok()) {
    std::fprintf(stderr, "error: %s\n", tok.status().message().c_str());
    return 1;
  }
  auto source = ChooseChatTemplate(opt.chat_template, opt.model, **tok);
  if (!source.ok()) {
    std::fprintf(stderr, "error: %s\n", source.status().message().c_str());
    return 1;
  }
  std::ifstream in(opt.messages, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "error: cannot read '%s'\n", opt.messages.c_str());
    return 1;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = ParseJsonLimited(ss.str(), opt.messages);
  if (!parsed.ok()) {
    std::fprintf(stderr, "error: %s\n", parsed.status().message().c_str());
    return 1;
  }
  // Either a list of messages or {"messages": [...], "tools": [...], other variables...}: other keys
  // reach the template like apply_chat_template's keyword arguments (date_string, builtin_tools).
  nlohmann::ordered_json doc = nlohmann::ordered_json::parse(parsed->dump());
  nlohmann::ordered_json messages = doc;
  chat::ChatRenderOptions ro;
  if (doc.is_object()) {
    messages = doc.value("messages", nlohmann::ordered_json());
    ro.tools = doc.value("tools", nlohmann::ordered_json());
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      if (it.key() != "messages" && it.key() != "tools") ro.extra_variables[it.key()] = it.value();
    }
  }
  ro.add_generation_prompt = opt.generation_prompt;
  auto text_of = [&](std::optional<tokenizer::TokenId> id) {
    if (!id) return std::string();
    auto b = (*tok)->TokenBytes(*id);
    return b.ok() ? *b : std::string();
  };
  ro.bos_token = text_of((*tok)->bos());
  ro.eos_token = text_of((*tok)->eos());
  auto out = chat::RenderChatTemplate(*source, messages, ro);
  if (!out.ok()) {
    std::fprintf(stderr, "error: %s\n", out.status().message().c_str());
    return 1;
  }
  std::cout << *out;
  return 0;
}

}  // namespace

void RegisterTemplate(CLI::App& app, CommandRegistry& registry) {
  auto opt = std::make_shared<TemplateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "template",
      "Render a conversation with the model's own chat template, exactly as Hugging Face apply_chat_template "
      "would, and print the prompt (no trailing newline is added).");
  cmd->add_option("-m,--model", opt->model, "GGUF file or directory with tokenizer.json + tokenizer_config.json")
      ->required();
  cmd->add_option("--messages", opt->messages,
                  "JSON file: a list of {\"role\", \"content\"} messages, or {\"messages\": [...], \"tools\": [...]} "
                  "where further keys are template variables (date_string, builtin_tools, ...)")
      ->required();
  cmd->add_option("--chat-template", opt->chat_template,
                  "use this template instead of the model's: a built-in (" + chat::BuiltinTemplateNames() +
                      ") or a Jinja file; models without a template get their family's built-in");
  cmd->add_flag("--generation-prompt", opt->generation_prompt, "end with the assistant's turn opener");
  cmd->callback([opt, &registry] { registry.exit_code = RunTemplate(*opt); });
}

}  // namespace enclave::cli
