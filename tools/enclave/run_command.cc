// `enclave run -m MODEL (-p TEXT | --chat) [sampling flags] [-t THREADS] [-c CTX]`: streams generated
// text to stdout (only the generated text; everything else goes to stderr). --chat is an
// interactive conversation through the model's chat template, with R1 reasoning shown apart.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chat/chat_prompt.h"
#include "runtime/generate.h"
#include "tokenizer/reasoning_split.h"
#include "tools/enclave/commands.h"
#include "tools/enclave/model_loading.h"
#include "tools/enclave/template_choice.h"

namespace enclave::cli {
namespace {

struct RunOptions {
  CliModelOptions model;
  std::string prompt;
  std::string prompt_file;
  bool chat = false;
  std::string system;
  std::string chat_template;  // built-in name or Jinja file; empty: the model's own
  int32_t n_predict = -1;
  float temperature = 0.8f;
  int32_t top_k = 40;
  float top_p = 0.95f;
  float min_p = 0.05f;
  float repeat_penalty = 1.0f;
  int32_t repeat_last_n = 64;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  int64_t seed = -1;
  std::vector<std::string> stop;
  bool stats = true;
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 1;
}

runtime::SamplingParams ToParams(const RunOptions& o) {
  runtime::SamplingParams p;
  p.temperature = o.temperature;
  p.top_k = o.top_k;
  p.top_p = o.top_p;
  p.min_p = o.min_p;
  p.repetition_penalty = o.repeat_penalty;
  p.penalty_last_n = o.repeat_last_n;
  p.presence_penalty = o.presence_penalty;
  p.frequency_penalty = o.frequency_penalty;
  p.penalize_prompt = true;  // as llama.cpp's CLI does
  if (o.seed >= 0) p.seed = static_cast<uint64_t>(o.seed);
  p.stop = o.stop;
  if (o.n_predict > 0) p.max_tokens = o.n_predict;
  return p;
}

void PrintStats(const GenerateResult& r) {
  const double prefill = r.prefill_seconds > 0 ? r.prompt_tokens / r.prefill_seconds : 0;
  const double decode = r.decode_seconds > 0 && r.tokens.size() > 1 ? (r.tokens.size() - 1) / r.decode_seconds : 0;
  std::fprintf(stderr, "\n[prompt %lld tokens, %.1f tok/s | generated %zu tokens, %.1f tok/s | finish: %s]\n",
               static_cast<long long>(r.prompt_tokens), prefill, r.tokens.size(), decode,
               runtime::FinishReasonName(r.finish));
}

int RunPrompt(const RunOptions& o, LoadedModel& m) {
  std::string text = o.prompt;
  if (!o.prompt_file.empty()) {
    std::ifstream in(o.prompt_file, std::ios::binary);
    if (!in) return Fail(fmt::format("cannot read prompt file '{}'", o.prompt_file));
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  const tokenizer::Tokenizer& tok = m.model->tokenizer();
  auto ids = tok.Encode(text, /*add_special=*/true);
  if (!ids.ok()) return Fail(ids.status().message());
  const runtime::SamplingParams params = ToParams(o);
  auto sampler = runtime::Sampler::Create(params, m.model->n_sampleable());
  if (!sampler.ok()) return Fail(sampler.status().message());
  sampler->AcceptPrompt(*ids);
  const std::vector<int32_t> eog = EndOfGenerationTokens(tok);
  runtime::StopCriteria stop(params, eog);
  GenerateRequest req;
  req.prompt = *ids;
  auto r = Generate(*m.engine, req, *sampler, stop, tok, [](std::string_view s) {
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  if (!r.ok()) return Fail(r.status().message());
  // Piped output is exactly the generated text; a terminal gets a final newline.
  if (isatty(STDOUT_FILENO)) std::fputc('\n', stdout);
  if (o.stats) PrintStats(*r);
  return 0;
}

// Interactive chat: each turn renders the whole conversation with the template; the tokens the KV
// cache already holds (the common prefix) are not recomputed.
int RunChat(const RunOptions& o, LoadedModel& m) {
  const tokenizer::Tokenizer& tok = m.model->tokenizer();
  auto chosen = ChooseChatTemplate(o.chat_template, o.model.path, tok);
  if (!chosen.ok()) return Fail(chosen.status().message());
  const std::string& tmpl = *chosen;
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  if (!o.system.empty()) messages.push_back({{"role", "system"}, {"content", o.system}});
  const runtime::SamplingParams params = ToParams(o);
  const std::vector<int32_t> eog = EndOfGenerationTokens(tok);
  const bool tty = isatty(STDOUT_FILENO);
  const bool interactive = isatty(STDIN_FILENO);
  std::vector<int32_t> cached;  // tokens in the KV cache for sequence 0
  std::string line;
  while (true) {
    if (interactive) std::fprintf(stderr, "\n> ");
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    messages.push_back({{"role", "user"}, {"content", line}});
    auto prompt = chat::RenderChatPrompt(tmpl, messages, tok);
    if (!prompt.ok()) return Fail("chat template: " + prompt.status().message());
    auto ids = tok.Encode(prompt->text, /*add_special=*/false);
    if (!ids.ok()) return Fail(ids.status().message());
    size_t common = 0;
    while (common < cached.size() && common < ids->size() && cached[common] == (*ids)[common]) ++common;
    if (common == ids->size()) --common;  // at least one token must run to get logits
    m.engine->kv().Truncate(0, static_cast<int64_t>(common));
    cached.resize(common);
    auto sampler = runtime::Sampler::Create(params, m.model->n_sampleable());
    if (!sampler.ok()) return Fail(sampler.status().message());
    runtime::StopCriteria stop(params, eog);
    GenerateRequest req;
    req.prompt = std::span<const int32_t>(*ids).subspan(common);
    req.start = static_cast<int64_t>(common);
    tokenizer::ReasoningSplitter splitter(prompt->opens_think);
    std::string answer;
    auto show = [&](const tokenizer::ReasoningSplitter::Delta& d) {
      if (!d.reasoning.empty()) {
        std::fputs(tty ? "\x1b[2m" : "", stdout);
        std::fwrite(d.reasoning.data(), 1, d.reasoning.size(), stdout);
        std::fputs(tty ? "\x1b[0m" : "", stdout);
      }
      std::fwrite(d.content.data(), 1, d.content.size(), stdout);
      std::fflush(stdout);
      answer += d.content;
    };
    auto r = Generate(*m.engine, req, *sampler, stop, tok, [&](std::string_view s) {
      show(splitter.Push(s));
      return true;
    });
    if (!r.ok()) return Fail(r.status().message());
    show(splitter.Finish());
    std::fputc('\n', stdout);
    if (o.stats) PrintStats(*r);
    // The KV cache now holds the prompt and every sampled token but the last (which ended the turn
    // and was never run through the model).
    cached = *ids;
    for (size_t i = 0; i + 1 < r->tokens.size(); ++i) cached.push_back(r->tokens[i]);
    messages.push_back({{"role", "assistant"}, {"content", answer}});
  }
  return 0;
}

}  // namespace

void RegisterRun(CLI::App& app, CommandRegistry& registry) {
  auto opt = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Generate text from a prompt, or chat interactively");
  cmd->add_option("-m,--model", opt->model.path, "GGUF file or Hugging Face model directory")->required();
  auto* p = cmd->add_option("-p,--prompt", opt->prompt, "prompt text (BOS added as the tokenizer says)");
  auto* f = cmd->add_option("-f,--file", opt->prompt_file, "read the prompt from a file");
  auto* c = cmd->add_flag("--chat", opt->chat, "interactive chat through the model's chat template (stdin lines)");
  p->excludes(c);
  f->excludes(c);
  p->excludes(f);
  cmd->add_option("--system", opt->system, "system message for --chat");
  cmd->add_option("--chat-template", opt->chat_template,
                  "for --chat: a built-in template name or a Jinja file (default: the model's own, else its family's)");
  cmd->add_option("-n,--n-predict", opt->n_predict, "tokens to generate (-1: until end of turn or context)")
      ->capture_default_str();
  cmd->add_option("--temp", opt->temperature, "temperature (0: greedy)")->capture_default_str();
  cmd->add_option("--top-k", opt->top_k, "keep the k most likely tokens (0: off)")->capture_default_str();
  cmd->add_option("--top-p", opt->top_p, "nucleus sampling threshold (1: off)")->capture_default_str();
  cmd->add_option("--min-p", opt->min_p, "drop tokens below min-p x the top probability (0: off)")->capture_default_str();
  cmd->add_option("--repeat-penalty", opt->repeat_penalty, "repetition penalty (1: off)")->capture_default_str();
  cmd->add_option("--repeat-last-n", opt->repeat_last_n, "tokens the penalties look back over (-1: all)")
      ->capture_default_str();
  cmd->add_option("--presence-penalty", opt->presence_penalty, "OpenAI presence penalty")->capture_default_str();
  cmd->add_option("--frequency-penalty", opt->frequency_penalty, "OpenAI frequency penalty")->capture_default_str();
  cmd->add_option("--seed", opt->seed, "random seed (-1: random)")->capture_default_str();
  cmd->add_option("--stop", opt->stop, "stop string (repeatable)");
  cmd->add_option("-t,--threads", opt->model.threads, "threads (default: all cores)");
  cmd->add_option("-c,--ctx", opt->model.context, "context size in tokens")->capture_default_str();
  cmd->add_option("--kv-type", opt->model.kv_type, "KV cache element type: f16 (half the memory) or f32")->capture_default_str();
  cmd->add_option("--quantize", opt->model.quantize, "quantize an HF model while loading: q8_0 or q4_k");
  cmd->add_flag("!--no-stats", opt->stats, "do not print speed statistics to stderr");
  cmd->callback([opt, &registry] {
    if (!opt->chat && opt->prompt.empty() && opt->prompt_file.empty()) {
      registry.exit_code = Fail("give a prompt with -p TEXT or -f FILE, or use --chat");
      return;
    }
    auto m = LoadModelForCli(opt->model);
    if (!m.ok()) {
      registry.exit_code = Fail(m.status().message());
      return;
    }
    registry.exit_code = opt->chat ? RunChat(*opt, *m) : RunPrompt(*opt, *m);
  });
}

}  // namespace enclave::cli
