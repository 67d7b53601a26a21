// `enclave template -m MODEL --messages conv.json [--generation-prompt]`: render a conversation
// with the model's own chat template.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "chat/chat_template.h"
#include "format/json_limits.h"
#include "tokenizer/tokenizer_loader.h"
#include "tools/enclave/commands.h"

namespace enclave::cli {
namespace {

struct TemplateOptions {
  std::string model;
  std::string messages;
  bool generation_prompt = false;
};

int RunTemplate(const TemplateOptions& opt) {
  auto tok = tokenizer::LoadTokenizer(opt.model);
  if (!tok.ok()) {
    std::fprintf(stderr, "error: %s\n", tok.status().message().c_str());
    return 1;
  }
  if ((*tok)->chat_template().empty()) {
    std::fprintf(stderr, "error: '%s' carries no chat template (GGUF tokenizer.chat_template or tokenizer_config.json "
                 "chat_template); built-in fallback templates are not implemented yet\n", opt.model.c_str());
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
  // Either a list of messages or {"messages": [...], "tools": [...]}.
  nlohmann::ordered_json doc = nlohmann::ordered_json::parse(parsed->dump());
  nlohmann::ordered_json messages = doc;
  chat::ChatRenderOptions ro;
  if (doc.is_object()) {
    messages = doc.value("messages", nlohmann::ordered_json());
    if (doc.contains("tools")) ro.tools = doc["tools"];
  }
  ro.add_generation_prompt = opt.generation_prompt;
  auto text_of = [&](std::optional<tokenizer::TokenId> id) {
    if (!id) return std::string();
    auto b = (*tok)->TokenBytes(*id);
    return b.ok() ? *b : std::string();
  };
  ro.bos_token = text_of((*tok)->bos());
  ro.eos_token = text_of((*tok)->eos());
  auto out = chat::RenderChatTemplate((*tok)->chat_template(), messages, ro);
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
                  "JSON file: a list of {\"role\", \"content\"} messages, or {\"messages\": [...], \"tools\": [...]}")
      ->required();
  cmd->add_flag("--generation-prompt", opt->generation_prompt, "end with the assistant's turn opener");
  cmd->callback([opt, &registry] { registry.exit_code = RunTemplate(*opt); });
}

}  // namespace enclave::cli
