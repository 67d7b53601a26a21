// Perplexity of a model over a token sequence, and optionally its divergence from a base model
// (e.g. Q4_K against F16), so users can see what quantization costs.
//
// Window rule (the same as llama.cpp's perplexity tool, and as scripts/ref/make_model_fixtures.py
// computes with transformers): the ids are cut into consecutive non-overlapping windows of `ctx`
// tokens (the remainder is dropped); each window is evaluated from position 0 as a fresh sequence;
// positions j = ctx/2 … ctx-2 score token j+1 with -log softmax(logits[j])[id[j+1]], in double.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "base/status.h"
#include "runtime/engine.h"

namespace enclave {

struct PerplexityResult {
  double nll_mean = 0;
  double perplexity = 0;
  int64_t tokens = 0;   // scored positions
  int64_t windows = 0;
  // With a base model:
  bool has_base = false;
  double kl_mean = 0;         // mean KL(base || model) over scored positions, in nats
  double top1_agreement = 0;  // fraction of scored positions where both argmaxes agree
};

// `base` may be null. Both engines must have context >= ctx and the same vocabulary size.
// `progress(window_done, windows)` is called after each window.
Result<PerplexityResult> ComputePerplexity(Engine& engine, Engine* base, std::span<const int32_t> ids, int64_t ctx,
                                           const std::function<void(int64_t, int64_t)>& progress = nullptr);

}  // namespace enclave
