#include "runtime/json_constraint.h"

#include <limits>

#include "tokenizer/tokenizer.h"

namespace enclave::runtime {
namespace {

constexpr std::string_view kLiterals[] = {"true", "false", "null"};

bool IsDigit(uint8_t b) { return b >= '0' && b <= '9'; }
bool IsHex(uint8_t b) { return IsDigit(b) || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F'); }
bool IsSpace(uint8_t b) { return b == ' ' || b == '\t' || b == '\n' || b == '\r'; }

}  // namespace

bool JsonRecognizer::Feed(std::string_view bytes) {
  for (char c : bytes) {
    if (!Feed(static_cast<uint8_t>(c))) return false;
  }
  return true;
}

bool JsonRecognizer::Whitespace(uint8_t b) {
  if (!IsSpace(b)) {
    whitespace_run_ = 0;
    return false;
  }
  return ++whitespace_run_ <= kMaxWhitespaceRun;
}

bool JsonRecognizer::EndValue() {
  mode_ = depth_ == 0 ? Mode::kDone : Mode::kAfterValue;
  return true;
}

bool JsonRecognizer::StartValue(uint8_t b) {
  switch (b) {
    case '{':
    case '[':
      if (depth_ >= kMaxDepth) return false;
      stack_[depth_++] = static_cast<char>(b);
      mode_ = b == '{' ? Mode::kKeyOrClose : Mode::kValueOrClose;
      return true;
    case '"':
      mode_ = Mode::kString;
      string_is_key_ = false;
      return true;
    case '-':
      mode_ = Mode::kNumber;
      number_ = Num::kMinus;
      return true;
    case 't':
    case 'f':
    case 'n':
      mode_ = Mode::kLiteral;
      literal_ = b == 't' ? 0 : b == 'f' ? 1 : 2;
      literal_pos_ = 1;
      return true;
    default:
      if (!IsDigit(b)) return false;
      mode_ = Mode::kNumber;
      number_ = b == '0' ? Num::kZero : Num::kInt;
      return true;
  }
}

// A number ends at the first byte that cannot continue it; that byte then belongs to what follows.
bool JsonRecognizer::NumberByte(uint8_t b, bool* consumed) {
  *consumed = true;
  switch (number_) {
    case Num::kMinus:
      if (b == '0') number_ = Num::kZero;
      else if (IsDigit(b)) number_ = Num::kInt;
      else return false;
      return true;
    case Num::kDot:
      if (!IsDigit(b)) return false;
      number_ = Num::kFrac;
      return true;
    case Num::kExp:
      if (b == '+' || b == '-') number_ = Num::kExpSign;
      else if (IsDigit(b)) number_ = Num::kExpDigits;
      else return false;
      return true;
    case Num::kExpSign:
      if (!IsDigit(b)) return false;
      number_ = Num::kExpDigits;
      return true;
    case Num::kZero:
    case Num::kInt:
    case Num::kFrac:
      if (IsDigit(b) && number_ != Num::kZero) return true;
      if (b == '.' && number_ != Num::kFrac) {
        number_ = Num::kDot;
        return true;
      }
      if (b == 'e' || b == 'E') {
        number_ = Num::kExp;
        return true;
      }
      break;
    case Num::kExpDigits:
      if (IsDigit(b)) return true;
      break;
  }
  *consumed = false;  // a complete number followed by something else
  return EndValue();
}

bool JsonRecognizer::Feed(uint8_t b) {
  switch (mode_) {
    case Mode::kStart:
      if (b == '{') {
        whitespace_run_ = 0;
        return StartValue(b);
      }
      return Whitespace(b);
    case Mode::kDone:
      return Whitespace(b);
    case Mode::kKeyOrClose:
    case Mode::kKey:
      if (Whitespace(b)) return true;
      if (whitespace_run_ > kMaxWhitespaceRun) return false;
      if (b == '"') {
        mode_ = Mode::kString;
        string_is_key_ = true;
        return true;
      }
      if (b == '}' && mode_ == Mode::kKeyOrClose) {
        --depth_;
        return EndValue();
      }
      return false;
    case Mode::kColon:
      if (Whitespace(b)) return true;
      if (whitespace_run_ > kMaxWhitespaceRun || b != ':') return false;
      mode_ = Mode::kValue;
      return true;
    case Mode::kValue:
    case Mode::kValueOrClose:
      if (Whitespace(b)) return true;
      if (whitespace_run_ > kMaxWhitespaceRun) return false;
      if (b == ']' && mode_ == Mode::kValueOrClose) {
        --depth_;
        return EndValue();
      }
      return StartValue(b);
    case Mode::kAfterValue:
      if (Whitespace(b)) return true;
      if (whitespace_run_ > kMaxWhitespaceRun) return false;
      if (b == ',') {
        mode_ = stack_[depth_ - 1] == '{' ? Mode::kKey : Mode::kValue;
        return true;
      }
      if ((b == '}' && stack_[depth_ - 1] == '{') || (b == ']' && stack_[depth_ - 1] == '[')) {
        --depth_;
        return EndValue();
      }
      return false;
    case Mode::kString:
      if (b == '"') {
        if (string_is_key_) {
          mode_ = Mode::kColon;
          return true;
        }
        return EndValue();
      }
      if (b == '\\') {
        mode_ = Mode::kEscape;
        return true;
      }
      if (b < 0x20) return false;  // control characters must be escaped
      if (b < 0x80) return true;
      // UTF-8: the lead byte fixes how many continuation bytes follow and the first one's range
      // (no overlong forms, no surrogates, nothing above U+10FFFF).
      utf8_lo_ = 0x80;
      utf8_hi_ = 0xBF;
      if (b >= 0xC2 && b <= 0xDF) utf8_left_ = 1;
      else if (b == 0xE0) utf8_left_ = 2, utf8_lo_ = 0xA0;
      else if (b == 0xED) utf8_left_ = 2, utf8_hi_ = 0x9F;
      else if (b >= 0xE1 && b <= 0xEF) utf8_left_ = 2;
      else if (b == 0xF0) utf8_left_ = 3, utf8_lo_ = 0x90;
      else if (b == 0xF4) utf8_left_ = 3, utf8_hi_ = 0x8F;
      else if (b >= 0xF1 && b <= 0xF3) utf8_left_ = 3;
      else return false;
      mode_ = Mode::kUtf8;
      return true;
    case Mode::kUtf8:
      if (b < utf8_lo_ || b > utf8_hi_) return false;
      utf8_lo_ = 0x80;
      utf8_hi_ = 0xBF;
      if (--utf8_left_ == 0) mode_ = Mode::kString;
      return true;
    case Mode::kEscape:
      if (b == 'u') {
        mode_ = Mode::kUnicode;
        hex_left_ = 4;
        return true;
      }
      if (b == '"' || b == '\\' || b == '/' || b == 'b' || b == 'f' || b == 'n' || b == 'r' || b == 't') {
        mode_ = Mode::kString;
        return true;
      }
      return false;
    case Mode::kUnicode:
      if (!IsHex(b)) return false;
      if (--hex_left_ == 0) mode_ = Mode::kString;
      return true;
    case Mode::kLiteral: {
      const std::string_view word = kLiterals[literal_];
      if (b != static_cast<uint8_t>(word[literal_pos_])) return false;
      if (++literal_pos_ == word.size()) return EndValue();
      return true;
    }
    case Mode::kNumber: {
      bool consumed = false;
      if (!NumberByte(b, &consumed)) return false;
      return consumed || Feed(b);
    }
  }
  return false;
}

JsonTokenMask::JsonTokenMask(const tokenizer::Tokenizer& tokenizer, int32_t n_sampleable,
                             std::span<const int32_t> end_tokens)
    : is_end_(static_cast<size_t>(n_sampleable), false) {
  offsets_.reserve(static_cast<size_t>(n_sampleable) + 1);
  offsets_.push_back(0);
  for (int32_t id = 0; id < n_sampleable; ++id) {
    if (!tokenizer.IsSpecial(id)) {
      auto b = tokenizer.TokenBytes(id);
      if (b.ok()) bytes_ += *b;
    }
    offsets_.push_back(static_cast<uint32_t>(bytes_.size()));
  }
  for (int32_t id : end_tokens) {
    if (id >= 0 && id < n_sampleable) is_end_[static_cast<size_t>(id)] = true;
  }
}

std::string_view JsonTokenMask::bytes(int32_t id) const {
  return std::string_view(bytes_).substr(offsets_[static_cast<size_t>(id)],
                                         offsets_[static_cast<size_t>(id) + 1] - offsets_[static_cast<size_t>(id)]);
}

int64_t JsonTokenMask::Apply(const JsonRecognizer& state, std::span<float> logits) const {
  // Which first bytes can follow at all: most tokens are rejected without copying the state.
  std::array<bool, 256> first_ok{};
  for (int b = 0; b < 256; ++b) {
    JsonRecognizer s = state;
    first_ok[static_cast<size_t>(b)] = s.Feed(static_cast<uint8_t>(b));
  }
  const size_t n = std::min(logits.size(), is_end_.size());
  int64_t allowed = 0;
  for (size_t id = 0; id < n; ++id) {
    bool ok;
    if (is_end_[id]) {
      ok = state.complete();
    } else {
      const std::string_view b = bytes(static_cast<int32_t>(id));
      ok = !b.empty() && first_ok[static_cast<uint8_t>(b[0])];
      if (ok && b.size() > 1) {
        JsonRecognizer s = state;
        ok = s.Feed(b);
      }
    }
    if (ok) ++allowed;
    else logits[id] = -std::numeric_limits<float>::infinity();
  }
  for (size_t id = n; id < logits.size(); ++id) logits[id] = -std::numeric_limits<float>::infinity();
  return allowed;
}

}  // namespace enclave::runtime
