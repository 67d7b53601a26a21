// When a generation ends, and what of its text may be shown while it streams.
//
// StopMatcher watches detokenized text for stop strings. Text is released as soon as it can no
// longer be the start of a stop string: a suffix that is a prefix of some stop string is held
// back until later pieces decide it (matches span piece boundaries), and so is an incomplete UTF-8
// sequence at the end, so emitted text never splits a character. At a match the text before the
// stop string is emitted and the stop string (and anything after it) is not. The generation
// stops at the first piece after which any stop string is complete; if several are, the one
// starting earliest decides the cut.
//
// StopCriteria adds stop tokens and max_tokens, and names the finish reason.
//
// Both are per sequence and not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/sampling_params.h"

namespace enclave::runtime {

// OpenAI's finish_reason values: "stop" (a stop string, stop token or end-of-generation token),
// "length" (max_tokens or the end of the context).
enum class FinishReason { kStop, kLength };
const char* FinishReasonName(FinishReason reason);  // "stop", "length"

class StopMatcher {
 public:
  struct Output {
    std::string emit;      // text safe to show now
    bool stopped = false;  // a stop string was found (now or before); nothing more is emitted
  };

  explicit StopMatcher(std::vector<std::string> stop_strings);

  Output Feed(std::string_view piece);
  // End of generation without a stop string: returns everything still held back, verbatim (an
  // incomplete UTF-8 tail included). Empty after a stop.
  std::string Flush();

  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

class StopCriteria {
 public:
  struct Step {
    std::string emit;                   // text to stream for this token
    std::optional<FinishReason> finish;  // set once: the generation is over
  };

  // Uses params.stop, params.stop_token_ids and params.max_tokens (Validate them first), plus the
  // model's end-of-generation tokens.
  StopCriteria(const SamplingParams& params, std::span<const int32_t> end_of_generation_tokens);

  // One generated token and its detokenized text. A stop token's own text is not emitted. When the
  // token completes a stop string and also reaches max_tokens, the reason is kStop.
  Step OnToken(int32_t token, std::string_view piece);
  // The generation ends for a reason of the engine's (the context is full): releases the held
  // text with kLength. A no-op returning nothing once finished.
  Step EndOfContext();

  bool finished() const { return finished_; }
  int32_t n_generated() const { return n_generated_; }

 private:
  StopMatcher matcher_;
  std::vector<int32_t> stop_tokens_;
  std::optional<int32_t> max_tokens_;
  int32_t n_generated_ = 0;
  bool finished_ = false;
};

}  // namespace enclave::runtime
