// Normalization shared by terms and text, so that a term matches the disguised forms of itself.
//
// Each code point is folded, in this order:
//   1. width: full-width ASCII U+FF01-FF5E -> U+0021-007E, ideographic space U+3000 -> U+0020;
//   2. case: ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic upper case -> lower case
//      (one code point to one code point; final sigma -> sigma);
//   3. variants: the caller's VariantMap (first mapping wins, chains followed);
//   4. ignorable: if the result is whitespace, punctuation or a symbol (ASCII and CJK), a control
//      character, or an invisible character (zero-width space/joiners U+200B-200F, word joiner and
//      invisible operators U+2060-2064, bidi controls, BOM U+FEFF, soft hyphen U+00AD, variation
//      selectors, tag characters U+E0000-E007F), it is ignorable.
// Terms drop all ignorable code points. In text, up to max_gap consecutive ignorable code points
// may sit between two characters of a term; a longer run separates terms (word_filter.h).
//
// CharFolder is immutable after construction and thread-safe to share.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "governance/wordfilter/variants.h"

namespace enclave::wordfilter {

// Steps 1 and 2 only (no variants); ignorable code points are returned folded, not as 0.
uint32_t FoldWidthAndCase(uint32_t cp);
// Step 4 on an already folded code point.
bool IsIgnorable(uint32_t folded_cp);

class CharFolder {
 public:
  explicit CharFolder(const VariantMap& variants);

  // The folded code point, or 0 when cp is ignorable. cp must be a Unicode scalar value.
  uint32_t Fold(uint32_t cp) const {
    if (cp < 0x10000) return bmp_[cp];
    return FoldAstral(cp);
  }

  // A term's normalized form as UTF-8 (ignorable code points dropped) and its length in code
  // points. `term` must be valid UTF-8.
  std::string NormalizeTerm(std::string_view term, size_t* chars) const;

 private:
  uint32_t FoldAstral(uint32_t cp) const;

  std::vector<uint32_t> bmp_;                     // [0x10000] folded value per BMP code point
  std::unordered_map<uint32_t, uint32_t> astral_;  // variant mappings of code points >= U+10000
};

}  // namespace enclave::wordfilter
