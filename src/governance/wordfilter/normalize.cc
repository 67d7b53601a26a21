#include "governance/wordfilter/normalize.h"

#include "governance/wordfilter/utf8_codec.h"

namespace enclave::wordfilter {
namespace {

uint32_t FoldWidth(uint32_t cp) {
  if (cp >= 0xFF01 && cp <= 0xFF5E) return cp - 0xFEE0;
  if (cp == 0x3000) return 0x20;
  return cp;
}

uint32_t FoldCase(uint32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 0x20 : cp;
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 0x20;  // Latin-1
  if (cp >= 0x100 && cp <= 0x17F) {                               // Latin Extended-A: case pairs
    if (cp == 0x130 || cp == 0x131 || cp == 0x138 || cp == 0x149 || cp == 0x17F) return cp;
    if (cp == 0x178) return 0xFF;
    const bool odd_upper = (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E);
    if (odd_upper) return (cp & 1) ? cp + 1 : cp;
    return (cp & 1) ? cp : cp + 1;
  }
  if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) return cp + 0x20;  // Greek
  if (cp == 0x386) return 0x3AC;
  if (cp >= 0x388 && cp <= 0x38A) return cp + 0x25;
  if (cp == 0x38C) return 0x3CC;
  if (cp == 0x38E || cp == 0x38F) return cp + 0x3F;
  if (cp == 0x3C2) return 0x3C3;                       // final sigma
  if (cp >= 0x410 && cp <= 0x42F) return cp + 0x20;    // Cyrillic
  if (cp >= 0x400 && cp <= 0x40F) return cp + 0x50;
  return cp;
}

// Follows variant chains; stops at a fixed point, a cycle, or after a few steps.
uint32_t ResolveVariant(const std::unordered_map<uint32_t, uint32_t>& map, uint32_t cp) {
  for (int step = 0; step < 8; ++step) {
    auto it = map.find(cp);
    if (it == map.end() || it->second == cp) break;
    cp = it->second;
  }
  return cp;
}

}  // namespace

uint32_t FoldWidthAndCase(uint32_t cp) { return FoldCase(FoldWidth(cp)); }

bool IsIgnorable(uint32_t c) {
  if (c < 0x80) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    return !alnum;  // controls, space, punctuation, symbols
  }
  if (c <= 0x9F) return true;  // C1 controls, NEL
  if (c <= 0xBF) {             // Latin-1 punctuation and symbols; keep letters and numbers
    return !(c == 0xAA || c == 0xB2 || c == 0xB3 || c == 0xB5 || c == 0xB9 || c == 0xBA || c == 0xBC ||
             c == 0xBD || c == 0xBE);
  }
  if (c == 0xD7 || c == 0xF7) return true;      // multiplication, division signs
  if (c == 0x34F || c == 0x180E || c == 0x1680) return true;  // CGJ, Mongolian VS, Ogham space
  if (c >= 0x2000 && c <= 0x206F) return true;  // General Punctuation: spaces, ZW*, bidi, dashes, quotes
  if (c >= 0x3000 && c <= 0x303F) {             // CJK Symbols and Punctuation, minus letter-like marks
    return c <= 0x3004 || (c >= 0x3008 && c <= 0x3020) || c == 0x3030 || c >= 0x303D;
  }
  if (c >= 0xFE00 && c <= 0xFE0F) return true;  // variation selectors
  if (c >= 0xFE10 && c <= 0xFE19) return true;  // vertical forms
  if (c >= 0xFE30 && c <= 0xFE4F) return true;  // CJK compatibility forms
  if (c >= 0xFE50 && c <= 0xFE6B) return true;  // small form variants
  if (c == 0xFEFF) return true;                 // BOM / zero-width no-break space
  if (c >= 0xFF61 && c <= 0xFF65) return true;  // half-width CJK punctuation
  if (c >= 0xFFF9 && c <= 0xFFFB) return true;  // interlinear annotation controls
  if (c >= 0xE0000 && c <= 0xE007F) return true;  // tag characters (invisible text)
  if (c >= 0xE0100 && c <= 0xE01EF) return true;  // variation selectors supplement
  return false;
}

CharFolder::CharFolder(const VariantMap& variants) : bmp_(0x10000) {
  // Variants are keyed by folded code points, so a mapping written in upper case or full width
  // applies to every form of the character.
  std::unordered_map<uint32_t, uint32_t> map;
  for (const auto& [variant, canonical] : variants.pairs) {
    map.emplace(FoldWidthAndCase(variant), FoldWidthAndCase(canonical));  // first mapping wins
  }
  auto full = [&](uint32_t cp) -> uint32_t {
    uint32_t f = FoldWidthAndCase(cp);
    if (!map.empty()) f = ResolveVariant(map, f);
    return IsIgnorable(f) ? 0 : f;
  };
  for (uint32_t cp = 0; cp < 0x10000; ++cp) bmp_[cp] = full(cp);
  for (const auto& [variant, canonical] : map) {
    (void)canonical;
    if (variant >= 0x10000) astral_.emplace(variant, full(variant));
  }
}

uint32_t CharFolder::FoldAstral(uint32_t cp) const {
  if (!astral_.empty()) {
    auto it = astral_.find(cp);
    if (it != astral_.end()) return it->second;
  }
  return IsIgnorable(cp) ? 0 : cp;
}

std::string CharFolder::NormalizeTerm(std::string_view term, size_t* chars) const {
  std::string out;
  size_t n = 0;
  const auto* p = reinterpret_cast<const uint8_t*>(term.data());
  size_t i = 0;
  while (i < term.size()) {
    uint32_t cp = 0;
    const int len = DecodeUtf8(p + i, term.size() - i, &cp);
    if (len <= 0) break;  // callers validate UTF-8 first
    i += static_cast<size_t>(len);
    const uint32_t f = Fold(cp);
    if (f == 0) continue;
    AppendUtf8(f, out);
    ++n;
  }
  *chars = n;
  return out;
}

}  // namespace enclave::wordfilter
