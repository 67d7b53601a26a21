// GPT-2 byte-level mapping: every byte 0..255 is shown as one printable Unicode character, so
// byte-level BPE vocabularies are valid UTF-8 strings. Bytes 0x21-0x7E, 0xA1-0xAC and 0xAE-0xFF
// map to the code point of the same value; the other 68 bytes, in increasing order, to U+0100...
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace enclave::tokenizer {

// The code point byte `b` is shown as.
char32_t ByteToCodePoint(uint8_t b);
// UTF-8 of ByteToCodePoint(b) (1 or 2 bytes).
std::string_view ByteToUtf8(uint8_t b);
// Maps every byte of `bytes` to its character.
std::string BytesToByteLevel(std::string_view bytes);
// Inverse: the bytes of a byte-level string; nullopt if it holds a character outside the map.
std::optional<std::string> ByteLevelToBytes(std::string_view byte_level);

}  // namespace enclave::tokenizer
