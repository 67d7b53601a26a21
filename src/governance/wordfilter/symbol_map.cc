#include "governance/wordfilter/symbol_map.h"

#include <utility>

namespace enclave::wordfilter {

SymbolMap::SymbolMap(const CharFolder& folder, std::unordered_map<uint32_t, uint32_t> symbols)
    : folder_(&folder), symbols_(std::move(symbols)), bmp_(0x10000) {
  for (uint32_t cp = 0; cp < 0x10000; ++cp) {
    const uint32_t f = folder.Fold(cp);
    bmp_[cp] = f == 0 ? kIgnorable : SymbolOfFolded(f);
  }
}

uint32_t SymbolMap::LookupAstral(uint32_t cp) const {
  const uint32_t f = folder_->Fold(cp);
  return f == 0 ? kIgnorable : SymbolOfFolded(f);
}

}  // namespace enclave::wordfilter
