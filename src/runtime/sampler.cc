#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include <fmt/format.h>

namespace enclave::runtime {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// The order every step ranks tokens by: higher logit first, lower id first on ties, so results do
// not depend on the order a selection algorithm happens to visit them in.
template <typename C>
bool Better(const C& a, const C& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

uint64_t RandomSeed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

}  // namespace

Result<Sampler> Sampler::Create(const SamplingParams& params, int32_t n_vocab, int32_t choice) {
  if (n_vocab < 1) return InvalidArgumentError(fmt::format("vocabulary size must be >= 1, got {}", n_vocab));
  RETURN_IF_ERROR(params.Validate(n_vocab));
  if (choice < 0 || choice >= params.n) {
    return InvalidArgumentError(fmt::format("choice index {} is outside [0, n = {})", choice, params.n));
  }
  return Sampler(params, n_vocab, params.seed ? *params.seed : RandomSeed(), choice);
}

Sampler::Sampler(const SamplingParams& params, int32_t n_vocab, uint64_t seed, int32_t choice)
    : params_(params), n_vocab_(n_vocab), seed_(seed), rng_([&] {
        // Hash the seed, then mix in the choice: seeds s and s + 1, or choices 0 and 1, start
        // unrelated xoshiro streams rather than one stream shifted by a step.
        uint64_t s = seed;
        return SplitMix64(&s) ^ (static_cast<uint64_t>(choice) * 0xD1B54A32D192ED03ull);
      }()) {
  // window_ grows as tokens arrive rather than being reserved: penalty_last_n comes from the
  // request and may be far larger than any generation.
}

bool Sampler::PenaltiesActive() const {
  return params_.penalty_last_n != 0 &&
         (params_.repetition_penalty != 1.0f || params_.presence_penalty != 0.0f ||
          params_.frequency_penalty != 0.0f);
}

void Sampler::Accept(int32_t token) {
  // An id outside the vocabulary has no logit to penalize; the server validates token-id prompts.
  if (params_.penalty_last_n == 0 || token < 0 || token >= n_vocab_) return;
  if (params_.penalty_last_n > 0) {
    const size_t n = static_cast<size_t>(params_.penalty_last_n);
    if (window_.size() < n) {
      window_.push_back(token);
    } else {
      const int32_t evicted = window_[window_next_];
      auto it = counts_.find(evicted);
      if (--it->second == 0) counts_.erase(it);
      window_[window_next_] = token;
      window_next_ = (window_next_ + 1) % n;
    }
  }
  ++counts_[token];
}

void Sampler::AcceptPrompt(std::span<const int32_t> tokens) {
  if (!params_.penalize_prompt) return;
  for (int32_t t : tokens) Accept(t);
}

std::span<const float> Sampler::Adjust(std::span<const float> logits) {
  const bool penalize = PenaltiesActive() && !counts_.empty();
  if (params_.logit_bias.empty() && !penalize) return logits;
  work_.assign(logits.begin(), logits.end());  // keeps its capacity: no allocation after the first
  for (const LogitBias& b : params_.logit_bias) {
    float& x = work_[static_cast<size_t>(b.token)];
    x = b.bias <= -SamplingParams::kMaxAbsLogitBias ? kNegInf : x + b.bias;
  }
  if (penalize) {
    const float rep = params_.repetition_penalty;
    for (const auto& [token, count] : counts_) {
      float& x = work_[static_cast<size_t>(token)];
      if (rep != 1.0f) x = x > 0.0f ? x / rep : x * rep;
      x -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
    }
  }
  return work_;
}

Result<SampledToken> Sampler::Sample(std::span<const float> logits) {
  if (logits.size() != static_cast<size_t>(n_vocab_)) {
    return InvalidArgumentError(
        fmt::format("sampler: got {} logits for a vocabulary of {}", logits.size(), n_vocab_));
  }
  const std::span<const float> l = Adjust(logits);

  float max = kNegInf;
  int32_t argmax = -1;
  for (size_t i = 0; i < l.size(); ++i) {
    const float x = l[i];
    if (x > max) {  // strict: the lowest id wins ties
      max = x;
      argmax = static_cast<int32_t>(i);
    } else if (std::isnan(x)) {
      return InvalidArgumentError(fmt::format("sampler: the logit of token {} is NaN", i));
    }
  }
  if (argmax < 0) return InvalidArgumentError("sampler: no token has a finite logit (all are -inf)");
  if (std::isinf(max)) {
    return InvalidArgumentError(fmt::format("sampler: the logit of token {} is +inf", argmax));
  }

  SampledToken out;
  if (params_.temperature == 0.0f) {
    out.id = argmax;
  } else {
    Truncate(l, max);
    out.id = Draw(max);
  }
  if (params_.logprobs) {
    FillLogprobs(l, max, &out);
  } else {
    out.logprob = std::numeric_limits<float>::quiet_NaN();
  }
  return out;
}

void Sampler::Truncate(std::span<const float> l, float max) {
  candidates_.clear();
  // min-p in logit space: p_i >= min_p * p_max  <=>  logit_i - max >= ln(min_p). The same
  // expression decides at every place below, so the early and late filters agree at the boundary.
  const float log_min_p = params_.min_p > 0.0f ? std::log(params_.min_p) : kNegInf;
  const bool top_k = params_.top_k > 0 && params_.top_k < n_vocab_;
  const bool top_p = params_.top_p < 1.0f;
  bool min_p_done = false;
  if (top_k) {
    SelectTopK(l, params_.top_k);
  } else {
    // No top-k: every finite token is a candidate. min-p can be applied right here, in one pass,
    // unless top-p comes first (its cumulative mass is over everything that survived top-k).
    min_p_done = !top_p;
    const float floor = min_p_done ? log_min_p : kNegInf;
    for (size_t i = 0; i < l.size(); ++i) {
      const float x = l[i];
      if (x != kNegInf && x - max >= floor) candidates_.push_back({x, static_cast<int32_t>(i), 0.0f});
    }
  }
  if (top_p) ApplyTopP(max, /*sorted=*/top_k);
  if (!min_p_done && params_.min_p > 0.0f) {
    std::erase_if(candidates_, [&](const Candidate& c) { return c.logit - max < log_min_p; });
  }
}

void Sampler::SelectTopK(std::span<const float> l, int32_t k) {
  // A heap of the k best so far with the worst on top; almost every token loses to the worst in
  // one comparison, so this is one pass over the vocabulary plus O(k log V) heap updates.
  auto worse_on_top = [](const Candidate& a, const Candidate& b) { return Better(a, b); };
  const size_t kk = static_cast<size_t>(k);
  for (size_t i = 0; i < l.size(); ++i) {
    const float x = l[i];
    if (x == kNegInf) continue;
    if (candidates_.size() < kk) {
      candidates_.push_back({x, static_cast<int32_t>(i), 0.0f});
      std::push_heap(candidates_.begin(), candidates_.end(), worse_on_top);
    } else if (x > candidates_.front().logit) {  // ids rise with i, so a tie never wins
      std::pop_heap(candidates_.begin(), candidates_.end(), worse_on_top);
      candidates_.back() = {x, static_cast<int32_t>(i), 0.0f};
      std::push_heap(candidates_.begin(), candidates_.end(), worse_on_top);
    }
  }
  std::sort_heap(candidates_.begin(), candidates_.end(), worse_on_top);  // best first
}

void Sampler::ApplyTopP(float max, bool sorted) {
  auto better = [](const Candidate& a, const Candidate& b) { return Better(a, b); };
  // Bucket b holds the tokens with max - logit in [b / 2, (b + 1) / 2); the last one all the rest.
  // Every token of a bucket ranks above every token of a later one.
  constexpr int kBuckets = 64;
  auto bucket = [max](const Candidate& c) {
    const float d = (max - c.logit) * 2.0f;
    return d < static_cast<float>(kBuckets - 1) ? static_cast<int>(d) : kBuckets - 1;
  };
  double bucket_mass[kBuckets] = {};
  double z = 0.0;
  for (Candidate& c : candidates_) {
    c.weight = std::exp(c.logit - max);
    z += c.weight;
    if (!sorted) bucket_mass[bucket(c)] += c.weight;
  }
  const double target = static_cast<double>(params_.top_p) * z;
  auto keep_prefix_reaching_target = [&](size_t n) {
    double cum = 0.0;
    for (size_t j = 0; j < n; ++j) {
      cum += candidates_[j].weight;
      if (cum >= target) {
        candidates_.resize(j + 1);  // the smallest prefix reaching top_p; at least one token
        return true;
      }
    }
    return false;
  };
  if (sorted) {
    keep_prefix_reaching_target(candidates_.size());  // if rounding falls short: keep everything
    return;
  }
  // Unsorted (no top-k): sort only the first buckets that together hold the mass. With real
  // logits that is a few dozen tokens, not the vocabulary.
  int last = 0;
  for (double cum = bucket_mass[0]; cum < target && last < kBuckets - 1;) cum += bucket_mass[++last];
  for (;; ++last) {
    const auto mid = std::partition(candidates_.begin(), candidates_.end(),
                                    [&](const Candidate& c) { return bucket(c) <= last; });
    std::sort(candidates_.begin(), mid, better);
    // The bucket sums and this scan add in different orders; if rounding leaves the scan a hair
    // short, the next bucket is brought in.
    if (keep_prefix_reaching_target(static_cast<size_t>(mid - candidates_.begin()))) return;
    if (mid == candidates_.end()) return;  // everything is in: keep it all
  }
}

int32_t Sampler::Draw(float max) {
  const float t = params_.temperature;
  double total = 0.0;
  for (Candidate& c : candidates_) {
    c.weight = std::exp((c.logit - max) / t);
    total += c.weight;
  }
  // u < total, and the running sum below adds the same terms in the same order, so it reaches u
  // before the end; a zero weight never increases it, so underflowed tokens are never drawn.
  const double u = rng_.UniformDouble() * total;
  double cum = 0.0;
  for (const Candidate& c : candidates_) {
    cum += c.weight;
    if (u < cum) return c.id;
  }
  return candidates_.front().id;  // unreachable; the most likely candidate is always present
}

void Sampler::FillLogprobs(std::span<const float> l, float max, SampledToken* out) const {
  double z = 0.0;
  for (float x : l) z += std::exp(x - max);  // exp(-inf) = 0
  const double log_z = std::log(z);
  auto logprob = [&](int32_t id) {
    return static_cast<float>(static_cast<double>(l[static_cast<size_t>(id)]) - max - log_z);
  };
  out->logprob = logprob(out->id);

  const size_t n = static_cast<size_t>(params_.top_logprobs);
  if (n == 0) return;
  // Insertion into a small sorted list (top_logprobs <= 20; most tokens fail the first test),
  // built in place in out->top with the logit in the logprob field until the end.
  auto better = [](const TokenLogprob& a, const TokenLogprob& b) {
    return a.logprob > b.logprob || (a.logprob == b.logprob && a.id < b.id);
  };
  std::vector<TokenLogprob>& top = out->top;
  top.reserve(n + 1);
  for (size_t i = 0; i < l.size(); ++i) {
    const float x = l[i];
    if (x == kNegInf || (top.size() == n && !(x > top.back().logprob))) continue;
    const TokenLogprob e{static_cast<int32_t>(i), x};
    top.insert(std::upper_bound(top.begin(), top.end(), e, better), e);
    if (top.size() > n) top.pop_back();
  }
  for (TokenLogprob& e : top) e.logprob = logprob(e.id);
}

}  // namespace enclave::runtime
