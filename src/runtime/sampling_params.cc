#include "runtime/sampling_params.h"

#include <cmath>
#include <unordered_set>

#include <fmt/format.h>

#include "format/utf8.h"

namespace enclave::runtime {
namespace {

template <typename T>
Status RangeError(const char* field, T value, const char* range) {
  return InvalidArgumentError(fmt::format("{} must be {}, got {}", field, range, value));
}

}  // namespace

Status SamplingParams::Validate(int32_t n_vocab) const {
  // Comparisons are written so that NaN fails them.
  if (!(temperature >= 0.0f && temperature <= kMaxTemperature)) {
    return RangeError("temperature", temperature, "in [0, 2] (0 = greedy)");
  }
  if (top_k < 0) return RangeError("top_k", top_k, ">= 0 (0 = off)");
  if (!(top_p > 0.0f && top_p <= 1.0f)) return RangeError("top_p", top_p, "in (0, 1] (1 = off)");
  if (!(min_p >= 0.0f && min_p <= 1.0f)) return RangeError("min_p", min_p, "in [0, 1] (0 = off)");
  if (!(repetition_penalty > 0.0f && std::isfinite(repetition_penalty))) {
    return RangeError("repetition_penalty", repetition_penalty, "a finite number > 0 (1 = off)");
  }
  if (!(std::fabs(presence_penalty) <= kMaxAbsPenalty)) {
    return RangeError("presence_penalty", presence_penalty, "in [-2, 2] (0 = off)");
  }
  if (!(std::fabs(frequency_penalty) <= kMaxAbsPenalty)) {
    return RangeError("frequency_penalty", frequency_penalty, "in [-2, 2] (0 = off)");
  }
  if (penalty_last_n < -1) {
    return RangeError("penalty_last_n", penalty_last_n, ">= -1 (-1 = whole history, 0 = off)");
  }
  std::unordered_set<int32_t> biased;
  for (const LogitBias& b : logit_bias) {
    if (b.token < 0 || b.token >= n_vocab) {
      return InvalidArgumentError(fmt::format(
          "logit_bias: token id {} is out of range: the model's vocabulary has ids 0..{}", b.token,
          n_vocab - 1));
    }
    if (!(std::fabs(b.bias) <= kMaxAbsLogitBias)) {
      return InvalidArgumentError(fmt::format(
          "logit_bias: the bias for token {} must be in [-100, 100], got {}", b.token, b.bias));
    }
    if (!biased.insert(b.token).second) {
      return InvalidArgumentError(fmt::format("logit_bias: token {} appears more than once", b.token));
    }
  }
  if (top_logprobs < 0 || top_logprobs > kMaxTopLogprobs) {
    return RangeError("top_logprobs", top_logprobs, "in [0, 20]");
  }
  if (top_logprobs > 0 && !logprobs) {
    return InvalidArgumentError("top_logprobs needs logprobs to be true");
  }
  if (stop.size() > kMaxStopStrings) {
    return InvalidArgumentError(
        fmt::format("stop: at most {} stop strings are allowed, got {}", kMaxStopStrings, stop.size()));
  }
  for (size_t i = 0; i < stop.size(); ++i) {
    if (stop[i].empty()) return InvalidArgumentError(fmt::format("stop[{}] is empty", i));
    if (stop[i].size() > kMaxStopStringBytes) {
      return InvalidArgumentError(fmt::format("stop[{}] is {} bytes long; at most {} are allowed", i,
                                              stop[i].size(), kMaxStopStringBytes));
    }
    if (!IsValidUtf8(stop[i])) return InvalidArgumentError(fmt::format("stop[{}] is not valid UTF-8", i));
  }
  for (int32_t id : stop_token_ids) {
    if (id < 0 || id >= n_vocab) {
      return InvalidArgumentError(fmt::format(
          "stop_token_ids: token id {} is out of range: the model's vocabulary has ids 0..{}", id,
          n_vocab - 1));
    }
  }
  if (max_tokens && *max_tokens < 1) return RangeError("max_tokens", *max_tokens, ">= 1");
  if (n < 1 || n > kMaxChoices) return RangeError("n", n, "in [1, 16]");
  return Status::Ok();
}

}  // namespace enclave::runtime
