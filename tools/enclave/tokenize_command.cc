// `enclave tokenize -m MODEL [--ids] [--add-special] (TEXT | --file PATH)`: token ids (and pieces)
// for the exact bytes of TEXT or of a file.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "tokenizer/tokenizer_loader.h"
#include "tools/enclave/commands.h"

namespace enclave::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  std::string text;
  std::string file;
  bool ids_only = false;
  bool add_special = false;
};

// Pieces are shown with control characters and invalid UTF-8 escaped, so one token is one line.
std::string Printable(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  return out;
}

int RunTokenize(const TokenizeOptions& opt) {
  std::string text = opt.text;
  if (!opt.file.empty()) {
    std::ifstream in(opt.file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "error: cannot read '%s'\n", opt.file.c_str());
      return 1;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  auto tok = tokenizer::LoadTokenizer(opt.model);
  if (!tok.ok()) {
    std::fprintf(stderr, "error: %s\n", tok.status().message().c_str());
    return 1;
  }
  auto ids = (*tok)->Encode(text, opt.add_special);
  if (!ids.ok()) {
    std::fprintf(stderr, "error: %s\n", ids.status().message().c_str());
    return 1;
  }
  if (opt.ids_only) {
    std::string line;
    for (size_t i = 0; i < ids->size(); ++i) line += (i ? " " : "") + std::to_string((*ids)[i]);
    std::cout << line << "\n";
    return 0;
  }
  for (tokenizer::TokenId id : *ids) {
    auto bytes = (*tok)->TokenBytes(id);
    std::cout << id << "\t" << Printable(bytes.ok() ? *bytes : std::string("?")) << "\n";
  }
  std::cerr << ids->size() << " tokens (pre-tokenizer " << (*tok)->pre_tokenizer().name() << ")\n";
  return 0;
}

}  // namespace

void RegisterTokenize(CLI::App& app, CommandRegistry& registry) {
  auto opt = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "tokenize",
      "Tokenize text with a model's own tokenizer and print one 'id<TAB>piece' line per token (or, with "
      "--ids, the ids on one line). No BOS/EOS is added unless --add-special; special tokens written in the "
      "text are recognised.");
  cmd->add_option("-m,--model", opt->model,
                  "GGUF file, Hugging Face model directory, or a directory holding tokenizer.json")
      ->required();
  auto* text = cmd->add_option("text", opt->text, "the text (exact bytes; quote it)");
  auto* file = cmd->add_option("--file", opt->file, "read the text from this file instead (exact bytes)");
  text->excludes(file);
  cmd->add_flag("--ids", opt->ids_only, "print only the ids, separated by spaces, on one line");
  cmd->add_flag("--add-special", opt->add_special, "add BOS/EOS as the tokenizer's configuration says");
  cmd->callback([opt, &registry, text, file] {
    if (text->count() == 0 && file->count() == 0) {
      std::fprintf(stderr, "error: give the text to tokenize, or --file PATH\n");
      registry.exit_code = 2;
      return;
    }
    registry.exit_code = RunTokenize(*opt);
  });
}

}  // namespace enclave::cli
