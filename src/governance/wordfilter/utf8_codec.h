// UTF-8 decoding that can tell "invalid" from "not complete yet": the streaming filter receives
// text in chunks that may end inside a character.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace enclave::wordfilter {

// Decodes the sequence at p (avail >= 1 bytes available). Returns its length (1-4) and sets *cp;
// 0 when the available bytes are a proper prefix of a sequence (more input needed); -1 when the
// bytes are not UTF-8 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
inline int DecodeUtf8(const uint8_t* p, size_t avail, uint32_t* cp) {
  const uint8_t c = p[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  int len;
  uint32_t v;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    v = c & 0x1Fu;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    v = c & 0x0Fu;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    v = c & 0x07u;
  } else {
    return -1;
  }
  const size_t have = avail < static_cast<size_t>(len) ? avail : static_cast<size_t>(len);
  for (size_t k = 1; k < have; ++k) {
    if ((p[k] & 0xC0) != 0x80) return -1;
    v = (v << 6) | (p[k] & 0x3Fu);
  }
  if (have < static_cast<size_t>(len)) return 0;
  if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000) || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
    return -1;
  }
  *cp = v;
  return len;
}

// Writes cp (a valid scalar value) as UTF-8 into out[0..3]; returns the length.
inline int EncodeUtf8(uint32_t cp, uint8_t* out) {
  if (cp < 0x80) {
    out[0] = static_cast<uint8_t>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<uint8_t>(0xC0 | (cp >> 6));
    out[1] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<uint8_t>(0xE0 | (cp >> 12));
    out[1] = static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<uint8_t>(0xF0 | (cp >> 18));
  out[1] = static_cast<uint8_t>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
  return 4;
}

inline void AppendUtf8(uint32_t cp, std::string& s) {
  uint8_t buf[4];
  const int n = EncodeUtf8(cp, buf);
  s.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

}  // namespace enclave::wordfilter
