// Sampler::Sample on a Qwen2-sized vocabulary (151936 logits), single thread: greedy, the
// llama.cpp CLI's typical chain (top-k 40, top-p 0.95, temperature 0.8), that chain with a
// repetition penalty over a 64-token history, top-p alone (no top-k: the partial-sort path), and
// OpenAI's defaults (temperature 1, no truncation: a softmax over the whole vocabulary).
// Logits are N(0, 2.5^2)-like with a few peaked tokens, roughly the shape of a model's output.
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "runtime/rng.h"
#include "runtime/sampler.h"

namespace {

using enclave::runtime::Rng;
using enclave::runtime::Sampler;
using enclave::runtime::SamplingParams;

constexpr int32_t kVocab = 151936;

std::vector<float> ModelLikeLogits() {
  Rng rng(1);
  std::vector<float> l(kVocab);
  for (float& x : l) {
    // Sum of 4 uniforms: a cheap bell curve with sd ~2.5 around 0.
    double s = 0;
    for (int k = 0; k < 4; ++k) s += rng.UniformDouble() - 0.5;
    x = static_cast<float>(s * 8.66);
  }
  for (int k = 0; k < 8; ++k) l[static_cast<size_t>(rng.Next() % kVocab)] = 14.0f + static_cast<float>(k);
  return l;
}

void Run(benchmark::State& state, SamplingParams p) {
  p.seed = 42;
  const std::vector<float> logits = ModelLikeLogits();
  auto sampler = Sampler::Create(p, kVocab);
  if (!sampler.ok()) {
    state.SkipWithError(sampler.status().message().c_str());
    return;
  }
  Rng history(3);
  for (int i = 0; i < 64; ++i) sampler->Accept(static_cast<int32_t>(history.Next() % kVocab));
  for (auto _ : state) {
    auto r = sampler->Sample(logits);
    benchmark::DoNotOptimize(r);
  }
  state.counters["tokens_per_second"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                           benchmark::Counter::kIsRate);
}

void BM_SampleGreedy(benchmark::State& state) {
  SamplingParams p;
  p.temperature = 0;
  Run(state, p);
}
BENCHMARK(BM_SampleGreedy)->Unit(benchmark::kMicrosecond);

SamplingParams Typical() {
  SamplingParams p;
  p.temperature = 0.8f;
  p.top_k = 40;
  p.top_p = 0.95f;
  return p;
}

void BM_SampleTopK40TopP95Temp08(benchmark::State& state) { Run(state, Typical()); }
BENCHMARK(BM_SampleTopK40TopP95Temp08)->Unit(benchmark::kMicrosecond);

void BM_SampleTypicalWithRepetitionPenalty(benchmark::State& state) {
  SamplingParams p = Typical();
  p.repetition_penalty = 1.1f;
  Run(state, p);
}
BENCHMARK(BM_SampleTypicalWithRepetitionPenalty)->Unit(benchmark::kMicrosecond);

void BM_SampleTopP95Only(benchmark::State& state) {
  SamplingParams p;
  p.temperature = 0.8f;
  p.top_p = 0.95f;
  Run(state, p);
}
BENCHMARK(BM_SampleTopP95Only)->Unit(benchmark::kMicrosecond);

void BM_SampleOpenAIDefaults(benchmark::State& state) { Run(state, SamplingParams()); }
BENCHMARK(BM_SampleOpenAIDefaults)->Unit(benchmark::kMicrosecond);

}  // namespace
