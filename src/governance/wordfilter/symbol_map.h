// From text code points straight to automaton symbols (automaton.h): the folding of normalize.h
// and the numbering of the terms' code points in one table load per BMP code point.
//
// Immutable after construction; thread-safe to share.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "governance/wordfilter/normalize.h"

namespace enclave::wordfilter {

class SymbolMap {
 public:
  // Lookup's answer for an ignorable code point.
  static constexpr uint32_t kIgnorable = UINT32_MAX;

  // `symbols`: folded code point -> symbol (1..n), for every code point of a normalized term.
  // `folder` must outlive the map.
  SymbolMap(const CharFolder& folder, std::unordered_map<uint32_t, uint32_t> symbols);

  // The symbol of cp once folded: kIgnorable, 0 for a character no term contains, else 1..n.
  // cp must be a Unicode scalar value.
  uint32_t Lookup(uint32_t cp) const {
    if (cp < 0x10000) return bmp_[cp];
    return LookupAstral(cp);
  }

  // The symbol of an already folded, non-ignorable code point (0 when no term contains it).
  uint32_t SymbolOfFolded(uint32_t folded) const {
    auto it = symbols_.find(folded);
    return it == symbols_.end() ? 0 : it->second;
  }

  size_t num_symbols() const { return symbols_.size(); }
  size_t memory_bytes() const { return bmp_.size() * sizeof(uint32_t); }

 private:
  uint32_t LookupAstral(uint32_t cp) const;

  const CharFolder* folder_;
  std::unordered_map<uint32_t, uint32_t> symbols_;
  std::vector<uint32_t> bmp_;  // [0x10000] Lookup of each BMP code point
};

}  // namespace enclave::wordfilter
