// `enclave bench -m MODEL -p 512 -n 128 -t T -r 3 [--json]`: prefill and decode speed (mean ± sd
// over the repetitions), peak RSS, and the fraction of the measured memory read bandwidth that
// decoding reaches (weight bytes read per token × tokens/s ÷ bandwidth).
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "platform/memory_bandwidth.h"
#include "platform/process_memory.h"
#include "tools/enclave/commands.h"
#include "tools/enclave/model_loading.h"

namespace enclave::cli {
namespace {

struct BenchOptions {
  CliModelOptions model;
  int prompt = 512;
  int gen = 128;
  int reps = 3;
  bool json = false;
};

struct MeanSd {
  double mean = 0, sd = 0;
};

MeanSd Stats(const std::vector<double>& v) {
  MeanSd s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= v.size();
  if (v.size() > 1) {
    for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(s.sd / (v.size() - 1));
  }
  return s;
}

uint64_t MatrixBytes(const kernels::WeightMatrix& w) { return static_cast<uint64_t>(w.rows) * w.row_stride; }

// Bytes of weights one decoded token reads: every layer matrix, the output matrix, one embedding
// row and the norms.
uint64_t DecodeBytesPerToken(const Model& m) {
  uint64_t b = MatrixBytes(m.output()) + m.token_embd().row_stride;
  // deepseek2: every attention matrix, the dense FFN or the router and shared experts, and the
  // top_k routed experts a token selects (each expert of a layer has the same size).
  const int top_k = m.config().moe.top_k;
  for (const DeepseekLayerWeights& l : m.deepseek_layers()) {
    for (const auto* w : {&l.wq_a, &l.wq_b, &l.wq, &l.wkv_a, &l.wo, &l.dense.gate, &l.dense.up, &l.dense.down,
                          &l.router, &l.shared.gate, &l.shared.up, &l.shared.down}) {
      if (w->data != nullptr) b += MatrixBytes(*w);
    }
    for (const auto& w : l.wk_b_t) b += MatrixBytes(w);
    for (const auto& w : l.wv_b) b += MatrixBytes(w);
    if (!l.experts.empty()) {
      const FfnWeights& e = l.experts[0];
      b += top_k * (MatrixBytes(e.gate) + MatrixBytes(e.up) + MatrixBytes(e.down));
    }
  }
  for (const LayerWeights& l : m.layers()) {
    for (const auto* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) b += MatrixBytes(*w);
    b += (l.attn_norm.size() + l.ffn_norm.size() + l.bq.size() + l.bk.size() + l.bv.size()) * sizeof(float);
  }
  return b;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 1;
}

// Deterministic token ids spread over the vocabulary (the speed does not depend on which).
int32_t BenchToken(int64_t i, int32_t n_vocab) { return static_cast<int32_t>((i * 7919 + 13) % n_vocab); }

int RunBench(BenchOptions& o) {
  o.model.context = o.prompt + o.gen + 1;
  auto m = LoadModelForCli(o.model);
  if (!m.ok()) return Fail(m.status().message());
  Engine& e = *m->engine;
  const int32_t n_vocab = m->model->config().n_vocab;
  // The VM's read bandwidth changes from one minute to the next, so it is probed before the first
  // repetition and after each one, and each repetition's decode is divided by the larger of the
  // probes around it. The probe's buffer is not counted in the peak RSS.
  double probe_before = MeasureReadBandwidth(e.pool());
  ResetPeakRss();
  uint64_t peak = 0;
  const uint64_t bytes_per_token = DecodeBytesPerToken(*m->model);
  using Clock = std::chrono::steady_clock;
  std::vector<double> prefill, decode, limits, fractions;
  Batch batch;
  // Repetition 0 warms caches and page tables and is not counted.
  for (int rep = 0; rep <= o.reps; ++rep) {
    e.kv().Free(0);
    const auto t0 = Clock::now();
    for (int begin = 0; begin < o.prompt; begin += 512) {
      batch.Clear();
      const int end = std::min(o.prompt, begin + 512);
      for (int i = begin; i < end; ++i) batch.Add(BenchToken(i, n_vocab), i, 0, i == o.prompt - 1);
      auto r = e.Forward(batch);
      if (!r.ok()) return Fail(r.status().message());
    }
    const auto t1 = Clock::now();
    for (int i = 0; i < o.gen; ++i) {
      batch.Clear();
      batch.Add(BenchToken(o.prompt + i, n_vocab), o.prompt + i, 0, true);
      auto r = e.Forward(batch);
      if (!r.ok()) return Fail(r.status().message());
    }
    const auto t2 = Clock::now();
    peak = std::max(peak, ReadProcessMemory().peak_rss_bytes);
    const double probe_after = MeasureReadBandwidth(e.pool());
    ResetPeakRss();
    const double limit = std::max(probe_before, probe_after);
    probe_before = probe_after;
    if (rep == 0) continue;
    if (o.prompt > 0) prefill.push_back(o.prompt / std::chrono::duration<double>(t1 - t0).count());
    if (o.gen > 0) {
      decode.push_back(o.gen / std::chrono::duration<double>(t2 - t1).count());
      limits.push_back(limit);
      fractions.push_back(limit > 0 ? bytes_per_token * decode.back() / limit : 0);
    }
    if (!o.json) std::fprintf(stderr, "rep %d/%d done\n", rep, o.reps);
  }
  e.kv().Free(0);
  const MeanSd p = Stats(prefill), d = Stats(decode);
  const double bandwidth = Stats(limits).mean;
  const double fraction = Stats(fractions).mean;
  if (o.json) {
    nlohmann::ordered_json j;
    j["model"] = o.model.path;
    j["threads"] = e.pool().size();
    j["kernels"] = e.isa_name();
    j["prompt_tokens"] = o.prompt;
    j["gen_tokens"] = o.gen;
    j["reps"] = o.reps;
    j["prefill_tok_s"] = p.mean;
    j["prefill_tok_s_sd"] = p.sd;
    j["decode_tok_s"] = d.mean;
    j["decode_tok_s_sd"] = d.sd;
    j["peak_rss_bytes"] = peak;
    j["read_bandwidth_bytes_s"] = bandwidth;
    j["decode_bytes_per_token"] = bytes_per_token;
    j["decode_bandwidth_fraction"] = fraction;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("model: %s (%s)\n", o.model.path.c_str(), m->model->WeightTypeSummary().c_str());
  std::printf("threads: %d, kernels: %s\n", e.pool().size(), e.isa_name());
  std::printf("prefill (%d tokens): %.2f ± %.2f tok/s\n", o.prompt, p.mean, p.sd);
  std::printf("decode (%d tokens): %.2f ± %.2f tok/s\n", o.gen, d.mean, d.sd);
  std::printf("peak RSS: %s\n", FormatBytes(peak).c_str());
  std::printf("memory read bandwidth: %.1f GB/s (probed around each repetition); decode reads %s per token = "
              "%.0f%% of it\n",
              bandwidth / 1e9, FormatBytes(bytes_per_token).c_str(), 100 * fraction);
  return 0;
}

}  // namespace

void RegisterBench(CLI::App& app, CommandRegistry& registry) {
  auto opt = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure prefill and decode speed, peak memory and bandwidth use");
  cmd->add_option("-m,--model", opt->model.path, "GGUF file or Hugging Face model directory")->required();
  cmd->add_option("-p,--prompt", opt->prompt, "prompt tokens to prefill")->check(CLI::Range(0, 1 << 20))->capture_default_str();
  cmd->add_option("-n,--n-gen", opt->gen, "tokens to decode")->check(CLI::Range(0, 1 << 20))->capture_default_str();
  cmd->add_option("-r,--reps", opt->reps, "measured repetitions (after one warm-up)")->check(CLI::Range(1, 1000))->capture_default_str();
  cmd->add_option("-t,--threads", opt->model.threads, "threads (default: all cores)");
  cmd->add_option("--kv-type", opt->model.kv_type, "KV cache element type: f16 (half the memory) or f32")->capture_default_str();
  cmd->add_option("--quantize", opt->model.quantize, "quantize an HF model while loading: q8_0 or q4_k");
  cmd->add_option("--mla", opt->model.mla,
                  "deepseek2 attention: auto (absorbed for decode and short batches, decompressed for long "
                  "prefills), absorbed or decompressed (to measure either form)")
      ->capture_default_str();
  cmd->add_flag("--json", opt->json, "print one JSON object");
  cmd->callback([opt, &registry] {
    if (opt->prompt + opt->gen == 0) {
      registry.exit_code = Fail("nothing to measure: -p and -n are both 0");
      return;
    }
    opt->model.quiet = opt->json;
    registry.exit_code = RunBench(*opt);
  });
}

}  // namespace enclave::cli
