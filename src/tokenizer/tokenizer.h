// Byte-level BPE tokenizer (the kind every DeepSeek model uses), as Hugging Face `tokenizers`
// runs it: added/special tokens are cut out of the text first (longest match, leftmost), the rest
// is split by the pre-tokenizer, each piece mapped to byte-level characters and merged by rank.
// Immutable after loading; Encode/Decode are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "tokenizer/pre_tokenizer.h"

namespace enclave::tokenizer {

using TokenId = int32_t;

struct AddedToken {
  TokenId id = 0;
  std::string content;
  bool special = false;  // control tokens (BOS, EOS, ...): dropped by Decode(skip_special=true)
};

struct TokenizerSpec {
  std::vector<std::string> vocab;                    // id -> token (byte-level characters)
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  std::vector<AddedToken> added;                     // matched before pre-tokenization
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  bool ignore_merges = false;                        // llama3: a piece that is a vocab entry is one token
  std::optional<TokenId> bos, eos;
  bool add_bos = false, add_eos = false;
  std::string chat_template;                         // may be empty
};

class Tokenizer {
 public:
  static Result<std::unique_ptr<Tokenizer>> Create(TokenizerSpec spec);

  // `text` must be valid UTF-8 (an error otherwise). With add_special, BOS/EOS are added as the
  // model's configuration says.
  Result<std::vector<TokenId>> Encode(std::string_view text, bool add_special = false) const;
  // Concatenated bytes of the tokens (may end inside a UTF-8 sequence; see StreamDecoder).
  Result<std::string> DecodeBytes(const std::vector<TokenId>& ids, bool skip_special = false) const;
  // The bytes one token stands for.
  Result<std::string> TokenBytes(TokenId id) const;

  size_t vocab_size() const { return id_to_token_.size(); }
  const std::string& TokenText(TokenId id) const { return id_to_token_.at(id); }  // as stored
  std::optional<TokenId> Find(std::string_view token_text) const;
  bool IsSpecial(TokenId id) const;
  const PreTokenizer& pre_tokenizer() const { return *pre_tokenizer_; }
  std::optional<TokenId> bos() const { return bos_; }
  std::optional<TokenId> eos() const { return eos_; }
  const std::string& chat_template() const { return chat_template_; }

 private:
  Tokenizer() = default;
  void EncodePiece(std::string_view piece, std::vector<TokenId>* out) const;
  void EncodeOrdinary(std::string_view text, std::vector<TokenId>* out) const;

  std::vector<std::string> id_to_token_;
  std::unordered_map<std::string, TokenId> token_to_id_;
  // (left id, right id) -> (rank, merged id)
  std::unordered_map<uint64_t, std::pair<int32_t, TokenId>> merges_;
  static constexpr TokenId kNoToken = -2;
  TokenId byte_token_[256] = {};  // kNoToken for bytes the vocabulary lacks
  std::vector<AddedToken> added_;                    // sorted by content length, longest first
  std::vector<std::vector<size_t>> added_by_first_byte_;
  std::vector<bool> is_added_, is_special_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  bool ignore_merges_ = false;
  std::optional<TokenId> bos_, eos_;
  bool add_bos_ = false, add_eos_ = false;
  std::string chat_template_;
};

// Turns a stream of token ids into text without ever emitting part of a UTF-8 sequence: bytes
// of an incomplete character are held until a later token completes them. Not thread-safe (one
// per stream).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special = false)
      : tokenizer_(tokenizer), skip_special_(skip_special) {}
  // Returns the text that became complete with `id`.
  Result<std::string> Push(TokenId id);
  // What is left at the end of the stream: U+FFFD if bytes of an incomplete character are held.
  std::string Finish();

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace enclave::tokenizer
