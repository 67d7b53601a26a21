// What a request asks of the sampler and of the stop logic: the OpenAI request fields plus the
// llama.cpp extras (top_k, min_p, repetition_penalty, penalty_last_n). Semantics in
// docs/sampling.md. Plain value type; thread-compatible.
//
// Defaults are OpenAI's (temperature 1.0, top_p 1.0, no penalties), so a server request that omits
// a field gets what OpenAI would do. `enclave run` sets temperature to 0.8 itself, as llama.cpp's
// CLI does. With these defaults every filter is off and sampling is from softmax(logits / T).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace enclave::runtime {

struct LogitBias {
  int32_t token = 0;
  // Added to the token's logit before anything else; -100 (the lowest allowed) bans the token
  // outright (its logit becomes -inf), +100 all but forces it.
  float bias = 0.0f;
};

struct SamplingParams {
  // Limits Validate() enforces (OpenAI's where OpenAI has one).
  static constexpr float kMaxTemperature = 2.0f;
  static constexpr float kMaxAbsPenalty = 2.0f;     // presence_penalty, frequency_penalty
  static constexpr float kMaxAbsLogitBias = 100.0f;
  static constexpr int32_t kMaxTopLogprobs = 20;
  static constexpr size_t kMaxStopStrings = 16;
  static constexpr size_t kMaxStopStringBytes = 1024;
  static constexpr int32_t kMaxChoices = 16;

  // 0 = greedy (argmax; the truncation filters and the seed are then irrelevant). [0, 2].
  float temperature = 1.0f;
  // Keep the k most likely tokens; 0 = off. A k >= vocabulary size is also off.
  int32_t top_k = 0;
  // Keep the smallest most-likely set whose probability sums to >= top_p; 1 = off. (0, 1].
  float top_p = 1.0f;
  // Keep tokens with probability >= min_p * (probability of the most likely token); 0 = off. [0, 1].
  float min_p = 0.0f;

  // llama.cpp / CTRL repetition penalty on tokens seen in the penalty window: positive logits are
  // divided by it, negative ones multiplied. 1 = off; > 0.
  float repetition_penalty = 1.0f;
  // OpenAI penalties: logit -= count * frequency_penalty + (count > 0) * presence_penalty, with
  // count = occurrences in the penalty window. 0 = off; [-2, 2] each.
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  // The penalty window: the last N tokens given to Sampler::Accept (and, if penalize_prompt,
  // to Sampler::AcceptPrompt). -1 = the whole history, 0 = penalties off. llama.cpp's default.
  int32_t penalty_last_n = 64;
  // Whether prompt tokens count toward the penalties. Off by default, matching vLLM and the OpenAI
  // wording ("tokens so far" of the completion); `enclave run` may turn it on as llama.cpp's CLI does.
  bool penalize_prompt = false;

  // At most one entry per token; ids in [0, vocabulary size); bias in [-100, 100].
  std::vector<LogitBias> logit_bias;

  // Unset = a fresh random seed per Sampler (Sampler::seed() reports it). Set = the same tokens
  // for the same logits on every platform and build.
  std::optional<uint64_t> seed;

  // Report the sampled token's log-probability, and the `top_logprobs` most likely alternatives
  // ([0, 20]; needs logprobs). Log-probabilities are of the model's distribution after logit bias
  // and penalties, before truncation and temperature.
  bool logprobs = false;
  int32_t top_logprobs = 0;

  // Stop strings (matched on the detokenized output, not emitted) and stop token ids (not emitted;
  // the engine adds the model's end-of-generation tokens itself). At most 16 non-empty valid UTF-8
  // strings of at most 1024 bytes each.
  std::vector<std::string> stop;
  std::vector<int32_t> stop_token_ids;
  // The model's end-of-generation tokens are never sampled, so generation runs to max_tokens, a
  // stop string or the end of the context (benchmarks; llama.cpp's and vLLM's `ignore_eos`).
  bool ignore_eos = false;
  // Unset = until a stop or the end of the context. Otherwise >= 1.
  std::optional<int32_t> max_tokens;

  // Number of completions (OpenAI `n`) in [1, 16]. Not used by the Sampler itself: the engine makes
  // one Sampler per choice, passing the choice index so seeded choices differ from each other.
  int32_t n = 1;

  // OK, or InvalidArgument naming the first bad field, its value and its allowed range (the server
  // answers 400 with the message). `n_vocab` bounds token ids in logit_bias and stop_token_ids.
  Status Validate(int32_t n_vocab) const;
};

}  // namespace enclave::runtime
