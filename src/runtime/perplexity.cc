#include "runtime/perplexity.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

namespace enclave {
namespace {

constexpr int32_t kWindowSeq = 0;
constexpr int64_t kMaxChunk = 512;  // tokens per forward pass

// Runs one window as a fresh sequence and returns the logits of the scored positions
// [first, ctx-1), F32 [ctx-1-first, n_vocab].
Result<std::vector<float>> WindowLogits(Engine& e, std::span<const int32_t> window, int64_t first) {
  e.kv().Free(kWindowSeq);
  const int64_t ctx = static_cast<int64_t>(window.size());
  const int64_t n_vocab = e.model().config().n_vocab;
  std::vector<float> out;
  out.reserve((ctx - 1 - first) * n_vocab);
  Batch batch;
  for (int64_t begin = 0; begin < ctx - 1; begin += kMaxChunk) {
    const int64_t end = std::min(ctx - 1, begin + kMaxChunk);
    batch.Clear();
    for (int64_t j = begin; j < end; ++j) batch.Add(window[j], static_cast<int32_t>(j), kWindowSeq, j >= first);
    ASSIGN_OR_RETURN(std::span<const float> logits, e.Forward(batch));
    out.insert(out.end(), logits.begin(), logits.end());
  }
  e.kv().Free(kWindowSeq);
  return out;
}

// log softmax of one row, in double.
void LogSoftmax(const float* logits, int64_t n, std::vector<double>& out) {
  out.resize(n);
  const double max = *std::max_element(logits, logits + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - max);
  const double log_sum = std::log(sum) + max;
  for (int64_t i = 0; i < n; ++i) out[i] = logits[i] - log_sum;
}

}  // namespace

Result<PerplexityResult> ComputePerplexity(Engine& engine, Engine* base, std::span<const int32_t> ids, int64_t ctx,
                                           const std::function<void(int64_t, int64_t)>& progress) {
  if (ctx < 4) return InvalidArgumentError(fmt::format("context {} is too small (at least 4 tokens)", ctx));
  if (ctx > engine.context() || (base != nullptr && ctx > base->context())) {
    return InvalidArgumentError(fmt::format("context {} exceeds the engine's {}", ctx, engine.context()));
  }
  const int64_t n_vocab = engine.model().config().n_vocab;
  if (base != nullptr && base->model().config().n_vocab != n_vocab) {
    return InvalidArgumentError(fmt::format("the base model's vocabulary ({}) differs from the model's ({})",
                                            base->model().config().n_vocab, n_vocab));
  }
  const int64_t windows = static_cast<int64_t>(ids.size()) / ctx;
  if (windows == 0) {
    return InvalidArgumentError(
        fmt::format("the text has {} tokens, fewer than one window of {} (use a smaller -c)", ids.size(), ctx));
  }
  const int64_t first = ctx / 2;
  PerplexityResult r;
  r.windows = windows;
  r.has_base = base != nullptr;
  double nll_sum = 0, kl_sum = 0;
  int64_t agree = 0;
  std::vector<double> lp, lp_base;
  for (int64_t w = 0; w < windows; ++w) {
    std::span<const int32_t> window = ids.subspan(w * ctx, ctx);
    ASSIGN_OR_RETURN(std::vector<float> logits, WindowLogits(engine, window, first));
    std::vector<float> base_logits;
    if (base != nullptr) {
      ASSIGN_OR_RETURN(base_logits, WindowLogits(*base, window, first));
    }
    for (int64_t j = first; j < ctx - 1; ++j) {
      const float* row = logits.data() + (j - first) * n_vocab;
      LogSoftmax(row, n_vocab, lp);
      nll_sum += -lp[window[j + 1]];
      ++r.tokens;
      if (base != nullptr) {
        const float* brow = base_logits.data() + (j - first) * n_vocab;
        LogSoftmax(brow, n_vocab, lp_base);
        double kl = 0;
        for (int64_t i = 0; i < n_vocab; ++i) kl += std::exp(lp_base[i]) * (lp_base[i] - lp[i]);
        kl_sum += kl;
        agree += (std::max_element(row, row + n_vocab) - row) == (std::max_element(brow, brow + n_vocab) - brow);
      }
    }
    if (progress) progress(w + 1, windows);
  }
  r.nll_mean = nll_sum / r.tokens;
  r.perplexity = std::exp(r.nll_mean);
  if (base != nullptr) {
    r.kl_mean = kl_sum / r.tokens;
    r.top1_agreement = static_cast<double>(agree) / r.tokens;
  }
  return r;
}

}  // namespace enclave
