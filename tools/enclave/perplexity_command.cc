// `enclave perplexity -m MODEL -f TEXT_FILE [-c CTX] [--kl-base MODEL2] [--json]`: perplexity of
// MODEL over the file (window rule in runtime/perplexity.h), and with --kl-base the mean KL
// divergence and top-1 agreement of MODEL against MODEL2.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/perplexity.h"
#include "tools/enclave/commands.h"
#include "tools/enclave/model_loading.h"

namespace enclave::cli {
namespace {

struct PerplexityOptions {
  CliModelOptions model;
  std::string base_path;
  std::string file;
  int64_t ctx = 512;
  bool json = false;
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 1;
}

int RunPerplexity(PerplexityOptions& o) {
  std::ifstream in(o.file, std::ios::binary);
  if (!in) return Fail(fmt::format("cannot read text file '{}'", o.file));
  std::stringstream ss;
  ss << in.rdbuf();
  o.model.context = o.ctx;
  auto loaded = LoadModelForCli(o.model);
  if (!loaded.ok()) return Fail(loaded.status().message());
  LoadedModel base;
  if (!o.base_path.empty()) {
    CliModelOptions bo = o.model;
    bo.path = o.base_path;
    bo.quantize.clear();
    auto b = LoadModelForCli(bo);
    if (!b.ok()) return Fail("base model: " + b.status().message());
    base = std::move(*b);
  }
  auto ids = loaded->model->tokenizer().Encode(ss.str(), /*add_special=*/false);
  if (!ids.ok()) return Fail(ids.status().message());
  const bool tty = !o.json && isatty(fileno(stderr));
  auto result = ComputePerplexity(*loaded->engine, base.engine.get(), *ids, o.ctx, [&](int64_t done, int64_t total) {
    if (tty) std::fprintf(stderr, "\rwindow %lld/%lld", static_cast<long long>(done), static_cast<long long>(total));
    if (tty && done == total) std::fprintf(stderr, "\n");
  });
  if (!result.ok()) return Fail(result.status().message());
  const PerplexityResult& r = *result;
  if (o.json) {
    nlohmann::ordered_json j;
    j["perplexity"] = r.perplexity;
    j["nll_mean"] = r.nll_mean;
    j["tokens"] = r.tokens;
    j["windows"] = r.windows;
    j["ctx"] = o.ctx;
    if (r.has_base) {
      j["kl_mean"] = r.kl_mean;
      j["top1_agreement"] = r.top1_agreement;
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("windows: %lld of %lld tokens, scored tokens: %lld\n", static_cast<long long>(r.windows),
              static_cast<long long>(o.ctx), static_cast<long long>(r.tokens));
  std::printf("nll_mean: %.6f\n", r.nll_mean);
  if (r.has_base) {
    std::printf("kl_mean: %.6f\n", r.kl_mean);
    std::printf("top1_agreement: %.4f\n", r.top1_agreement);
  }
  std::printf("perplexity: %.6f\n", r.perplexity);
  return 0;
}

}  // namespace

void RegisterPerplexity(CLI::App& app, CommandRegistry& registry) {
  auto opt = std::make_shared<PerplexityOptions>();
  CLI::App* cmd = app.add_subcommand("perplexity", "Perplexity of a model over a text file (and KL vs a base model)");
  cmd->add_option("-m,--model", opt->model.path, "GGUF file or Hugging Face model directory")->required();
  cmd->add_option("-f,--file", opt->file, "UTF-8 text file to score")->required();
  cmd->add_option("-c,--ctx", opt->ctx, "window size in tokens; the second half of each window is scored")
      ->check(CLI::Range(4, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--kl-base", opt->base_path, "reference model (e.g. the F16 file) for KL divergence and top-1 agreement");
  cmd->add_option("-t,--threads", opt->model.threads, "threads (default: all cores)");
  cmd->add_option("--kv-type", opt->model.kv_type, "KV cache element type: f16 (half the memory) or f32")->capture_default_str();
  cmd->add_option("--quantize", opt->model.quantize, "quantize an HF model while loading: q8_0 or q4_k");
  cmd->add_flag("--json", opt->json, "print one JSON object");
  cmd->callback([opt, &registry] {
    opt->model.quiet = opt->json;
    registry.exit_code = RunPerplexity(*opt);
  });
}

}  // namespace enclave::cli
