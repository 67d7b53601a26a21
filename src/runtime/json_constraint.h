// Constrained generation of one JSON object (OpenAI's response_format {"type": "json_object"}).
//
// JsonRecognizer is a byte-level pushdown recognizer of RFC 8259 text whose top-level value is an
// object: it accepts exactly the byte strings that are a prefix of such a text. It is a small
// value type (no allocation), so checking a candidate token is "copy the state, feed the token's
// bytes".
//
// JsonTokenMask holds every token's bytes, prepared once per vocabulary, and bans (sets to -inf)
// the logits of tokens that cannot continue the text the recognizer has seen. Sampling from the
// masked logits can only produce valid JSON; the generation stops once the object is closed.
//
// Limits that keep a sampled text finite and cheap to check: nesting depth 32, and at most 16
// whitespace bytes in a row outside strings.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace enclave::tokenizer {
class Tokenizer;
}

namespace enclave::runtime {

class JsonRecognizer {
 public:
  static constexpr int kMaxDepth = 32;
  static constexpr int kMaxWhitespaceRun = 16;

  // Feeds bytes; false (and the state is then unusable: feed a copy) when they cannot continue a
  // JSON object text.
  bool Feed(std::string_view bytes);
  bool Feed(uint8_t byte);
  // The top-level object is closed (only whitespace may follow).
  bool complete() const { return mode_ == Mode::kDone; }

 private:
  enum class Mode : uint8_t {
    kStart,          // before the top-level '{'
    kKeyOrClose,     // after '{': a key or '}'
    kKey,            // after ',' in an object: a key
    kColon,          // after a key
    kValue,          // after ':' or ',' in an array
    kValueOrClose,   // after '[': a value or ']'
    kAfterValue,     // after a value inside a container: ',' or the closing bracket
    kString,         // inside a string (key or value)
    kEscape,         // after a backslash
    kUnicode,        // in \uXXXX (hex_left_ digits to go)
    kUtf8,           // inside a multi-byte UTF-8 sequence (utf8_left_ continuation bytes to go)
    kNumber,         // inside a number (number_ tells where)
    kLiteral,        // inside true / false / null
    kDone,           // the top-level object is closed
  };
  enum class Num : uint8_t { kMinus, kZero, kInt, kDot, kFrac, kExp, kExpSign, kExpDigits };

  bool StartValue(uint8_t b);
  bool EndValue();  // a value finished: back to the container (or done)
  bool Whitespace(uint8_t b);
  bool NumberByte(uint8_t b, bool* consumed);

  Mode mode_ = Mode::kStart;
  Num number_ = Num::kInt;
  bool string_is_key_ = false;
  uint8_t hex_left_ = 0, utf8_left_ = 0;
  uint8_t utf8_lo_ = 0x80, utf8_hi_ = 0xBF;  // allowed range of the next continuation byte
  uint8_t literal_ = 0, literal_pos_ = 0;     // index into true/false/null, bytes matched
  uint8_t whitespace_run_ = 0;
  uint8_t depth_ = 0;
  std::array<char, kMaxDepth> stack_{};  // '{' or '['
};

class JsonTokenMask {
 public:
  // Token bytes of ids [0, n_sampleable); special tokens are allowed only as `end_tokens` once the
  // object is complete (the scheduler stops at completion, so in practice never).
  JsonTokenMask(const tokenizer::Tokenizer& tokenizer, int32_t n_sampleable, std::span<const int32_t> end_tokens);

  // Sets logits of tokens that cannot follow `state` to -inf. `logits` has n_sampleable entries.
  // Returns the number of tokens left allowed.
  int64_t Apply(const JsonRecognizer& state, std::span<float> logits) const;

  // Bytes of a token (empty for special tokens).
  std::string_view bytes(int32_t id) const;

 private:
  std::vector<uint32_t> offsets_;  // n_sampleable + 1 offsets into bytes_
  std::string bytes_;
  std::vector<bool> is_end_;
};

}  // namespace enclave::runtime
