#include "tokenizer/byte_level.h"

#include <array>

namespace enclave::tokenizer {
namespace {

struct Tables {
  std::array<char32_t, 256> cp{};
  std::array<std::string, 256> utf8;
  std::array<int16_t, 324> cp_to_byte{};  // code points < 324 cover the whole map
};

std::string EncodeUtf8(char32_t c) {
  std::string s;
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else {
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
  return s;
}

const Tables& GetTables() {
  static const Tables t = [] {
    Tables t;
    t.cp_to_byte.fill(-1);
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t.cp[b] = printable ? static_cast<char32_t>(b) : next++;
      t.utf8[b] = EncodeUtf8(t.cp[b]);
      t.cp_to_byte[t.cp[b]] = static_cast<int16_t>(b);
    }
    return t;
  }();
  return t;
}

}  // namespace

char32_t ByteToCodePoint(uint8_t b) { return GetTables().cp[b]; }
std::string_view ByteToUtf8(uint8_t b) { return GetTables().utf8[b]; }

std::string BytesToByteLevel(std::string_view bytes) {
  const Tables& t = GetTables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) out += t.utf8[b];
  return out;
}

std::optional<std::string> ByteLevelToBytes(std::string_view s) {
  const Tables& t = GetTables();
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c0 = static_cast<unsigned char>(s[i]);
    char32_t cp;
    if (c0 < 0x80) {
      cp = c0;
      i += 1;
    } else if ((c0 & 0xE0) == 0xC0 && i + 1 < s.size()) {
      cp = ((c0 & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F);
      i += 2;
    } else {
      return std::nullopt;
    }
    if (cp >= t.cp_to_byte.size() || t.cp_to_byte[cp] < 0) return std::nullopt;
    out += static_cast<char>(t.cp_to_byte[cp]);
  }
  return out;
}

}  // namespace enclave::tokenizer
