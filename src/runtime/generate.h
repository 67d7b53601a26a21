// Generation for one sequence: prefill the new prompt tokens in chunks, then sample, stream and
// stop. The building block of `enclave run`, `enclave bench` and tests; the server's scheduler
// interleaves many sequences instead.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "runtime/engine.h"
#include "runtime/sampler.h"
#include "runtime/stop_matcher.h"
#include "tokenizer/tokenizer.h"

namespace enclave {

struct GenerateRequest {
  int32_t seq = 0;
  // Tokens to append to the sequence, starting at position `start` (the sequence's KV must hold
  // exactly `start` tokens: earlier turns of a chat stay cached).
  std::span<const int32_t> prompt;
  int64_t start = 0;
  int64_t max_batch = 512;  // prompt tokens per forward pass
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated, stop token included if one ended the generation
  runtime::FinishReason finish = runtime::FinishReason::kLength;
  int64_t prompt_tokens = 0;
  double prefill_seconds = 0;
  double decode_seconds = 0;  // from the first sampled token to the end
};

// `on_text` receives streamed text (stop strings withheld); returning false cancels (finish
// kStop). The model's end-of-generation tokens must be in `stop` already.
Result<GenerateResult> Generate(Engine& engine, const GenerateRequest& request, runtime::Sampler& sampler,
                                runtime::StopCriteria& stop, const tokenizer::Tokenizer& tokenizer,
                                const std::function<bool(std::string_view)>& on_text);

// Ids of the tokens that end a turn for this tokenizer: EOS, and the end-of-turn tokens of the
// chat formats we know (<|im_end|>, <|eot_id|>, <|EOT|>, <｜end▁of▁sentence｜>, <|end_of_text|>)
// when the vocabulary has them as special tokens.
std::vector<int32_t> EndOfGenerationTokens(const tokenizer::Tokenizer& tokenizer);

}  // namespace enclave
