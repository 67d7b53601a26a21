#include "synth/bpe_trainer.h"

#include <fmt/format.h>

#include <map>
#include <set>

#include "tokenizer/byte_level.h"

namespace enclave::synth {

Result<BpeVocab> TrainBpe(std::string_view text, const tokenizer::PreTokenizer& pre, size_t vocab_size) {
  if (vocab_size < 256) return InvalidArgumentError(fmt::format("BPE vocabulary of {} tokens: needs at least the 256 bytes", vocab_size));
  std::vector<std::string_view> pieces;
  RETURN_IF_ERROR(pre.Split(text, &pieces));
  // Each distinct word as its current symbols, with its count; std::map keeps the order fixed.
  std::map<std::string, int64_t> counts;
  for (std::string_view p : pieces) ++counts[std::string(p)];
  std::vector<std::pair<std::vector<std::string>, int64_t>> words;
  for (const auto& [word, count] : counts) {
    std::vector<std::string> symbols;
    for (unsigned char c : word) symbols.emplace_back(tokenizer::ByteToUtf8(c));
    words.emplace_back(std::move(symbols), count);
  }

  BpeVocab vocab;
  std::set<std::string> known;
  for (int b = 0; b < 256; ++b) {
    vocab.tokens.emplace_back(tokenizer::ByteToUtf8(static_cast<uint8_t>(b)));
    known.insert(vocab.tokens.back());
  }
  while (vocab.tokens.size() < vocab_size) {
    std::map<std::pair<std::string, std::string>, int64_t> pair_counts;
    for (const auto& [symbols, count] : words) {
      for (size_t i = 0; i + 1 < symbols.size(); ++i) pair_counts[{symbols[i], symbols[i + 1]}] += count;
    }
    // The most frequent pair whose merged string is new (two merges giving one string would
    // give one token two ranks); on equal counts the first in map order wins.
    const std::pair<std::string, std::string>* best = nullptr;
    int64_t best_count = 1;
    for (const auto& [pair, count] : pair_counts) {
      if (count > best_count && !known.contains(pair.first + pair.second)) {
        best = &pair;
        best_count = count;
      }
    }
    if (best == nullptr) break;
    const std::string left = best->first, right = best->second, merged = left + right;
    vocab.merges.emplace_back(left, right);
    vocab.tokens.push_back(merged);
    known.insert(merged);
    for (auto& [symbols, count] : words) {
      std::vector<std::string> next;
      next.reserve(symbols.size());
      for (size_t i = 0; i < symbols.size(); ++i) {
        if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
          next.push_back(merged);
          ++i;
        } else {
          next.push_back(std::move(symbols[i]));
        }
      }
      symbols = std::move(next);
    }
  }
  return vocab;
}

}  // namespace enclave::synth
