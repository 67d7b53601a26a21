// Separates an R1-style model's reasoning from its answer, incrementally, as text streams in:
// "<think>REASONING</think>CONTENT". Only the first think block is reasoning; tags later in the
// answer are content. Text that could be the start of a tag split across chunks is held back until
// the next chunk decides it, so no partial tag ever reaches either side.
//
// When the chat template already ended the prompt with "<think>\n" (DeepSeek-R1's template does),
// construct with starts_in_reasoning = true: the output then begins inside the reasoning and only
// "</think>" appears. Text is passed through exactly (no whitespace is trimmed). Not thread-safe
// (one per stream).
#pragma once

#include <string>
#include <string_view>

namespace enclave::tokenizer {

class ReasoningSplitter {
 public:
  struct Delta {
    std::string reasoning;
    std::string content;
  };

  explicit ReasoningSplitter(bool starts_in_reasoning = false, std::string open_tag = "<think>",
                             std::string close_tag = "</think>");

  Delta Push(std::string_view text);
  // End of stream: whatever was held goes to the side it was on (an unclosed think block stays
  // reasoning).
  Delta Finish();

 private:
  enum class State { kStart, kReasoning, kContent };
  void Route(Delta* d, std::string_view s) const;

  State state_;
  std::string open_, close_;
  std::string held_;
};

}  // namespace enclave::tokenizer
