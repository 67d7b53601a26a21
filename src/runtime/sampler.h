// Turns one position's logits into a token: logit bias -> repetition/presence/frequency penalties
// -> (temperature 0: argmax) -> top-k -> top-p -> min-p -> temperature -> softmax -> seeded draw.
// Why this order, and the exact semantics of each step, are in docs/sampling.md.
//
// One Sampler per sequence (per choice of a request). Not thread-safe: Sample and Accept mutate
// scratch buffers, the RNG and the penalty history. Sampling never modifies the caller's logits,
// and after the first call the scratch buffers are reused, so steady-state sampling does not
// allocate (except the `top` vector of a result that asks for top logprobs).
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "runtime/rng.h"
#include "runtime/sampling_params.h"

namespace enclave::runtime {

struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0.0f;
};

struct SampledToken {
  int32_t id = 0;
  // log softmax of the logits after bias and penalties, before truncation and temperature (what
  // the model, so adjusted, gives this token). NaN when the params did not ask for logprobs.
  float logprob = 0.0f;
  // The top_logprobs most likely tokens by the same distribution, most likely first (lower id
  // first on ties). Tokens banned by logit_bias (-inf) are never listed, so a vocabulary with
  // fewer allowed tokens than top_logprobs lists fewer.
  std::vector<TokenLogprob> top;
};

class Sampler {
 public:
  // Validates `params` against the vocabulary size (InvalidArgument naming the bad field). The RNG
  // is seeded from params.seed, or from std::random_device when unset; `choice` (0..n-1) is mixed
  // in so the n choices of one seeded request differ from each other and each reproduces.
  static Result<Sampler> Create(const SamplingParams& params, int32_t n_vocab, int32_t choice = 0);

  // Picks a token from `logits` (F32 [n_vocab]). Errors (InvalidArgument) when the span's size is
  // not n_vocab, a logit is NaN or +inf, or no token has a finite logit after the logit bias (the
  // RNG is then not advanced). Does not add the token to the penalty history: call Accept with the
  // token the sequence actually takes.
  Result<SampledToken> Sample(std::span<const float> logits);

  // Appends a generated token to the penalty history.
  void Accept(int32_t token);
  // Appends prompt tokens to the penalty history when params.penalize_prompt; otherwise a no-op.
  void AcceptPrompt(std::span<const int32_t> tokens);

  uint64_t seed() const { return seed_; }
  const SamplingParams& params() const { return params_; }

 private:
  struct Candidate {
    float logit;
    int32_t id;
    float weight;  // exp(logit - max) at T = 1 for top-p, then exp((logit - max) / T) for the draw
  };

  Sampler(const SamplingParams& params, int32_t n_vocab, uint64_t seed, int32_t choice);

  bool PenaltiesActive() const;
  // Writes logits + bias + penalties into work_ and returns it, or returns `logits` itself when
  // nothing would change them (the common case: no bias, empty history).
  std::span<const float> Adjust(std::span<const float> logits);
  // Fills candidates_ with the survivors of top-k, top-p and min-p. `max` is the largest logit.
  void Truncate(std::span<const float> l, float max);
  void SelectTopK(std::span<const float> l, int32_t k);
  void ApplyTopP(float max, bool sorted);
  int32_t Draw(float max);
  void FillLogprobs(std::span<const float> l, float max, SampledToken* out) const;

  SamplingParams params_;
  int32_t n_vocab_;
  uint64_t seed_;
  Rng rng_;
  // penalty history: window_ is a ring of the last penalty_last_n tokens (unused when the window
  // is the whole history), counts_ the occurrences of each token in the window.
  std::vector<int32_t> window_;
  size_t window_next_ = 0;
  std::unordered_map<int32_t, int32_t> counts_;
  // scratch, reused across calls
  std::vector<float> work_;
  std::vector<Candidate> candidates_;
};

}  // namespace enclave::runtime
