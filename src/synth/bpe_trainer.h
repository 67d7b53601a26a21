// A small deterministic byte-level BPE trainer, so `enclave synth` can ship a real tokenizer
// (vocabulary + merges) without any file from outside. Classic algorithm: pre-tokenize the text,
// start from the 256 byte symbols, and repeatedly merge the most frequent adjacent pair
// (counted over all words, weighted by how often each word occurs). Ties go to the pair whose
// (left, right) strings sort first, so the result depends only on the text, the pre-tokenizer
// and the size asked for. Pure function; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "tokenizer/pre_tokenizer.h"

namespace enclave::synth {

struct BpeVocab {
  // id -> token, in GPT-2 byte-level characters: ids 0..255 are the bytes 0..255, then one token
  // per merge in merge order.
  std::vector<std::string> tokens;
  std::vector<std::pair<std::string, std::string>> merges;  // rank order
};

// Trains until `vocab_size` tokens exist (>= 256) or no pair occurs twice. An error if the text
// is not valid UTF-8 or the pre-tokenizer fails.
Result<BpeVocab> TrainBpe(std::string_view text, const tokenizer::PreTokenizer& pre, size_t vocab_size);

}  // namespace enclave::synth
