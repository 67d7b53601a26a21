// Character variant mappings (e.g. traditional -> simplified Chinese), applied to terms and text
// alike so that either form of a term matches either form in the text. Enclave ships no mapping
// data; deployments supply their own file.
//
// Format (UTF-8, docs/word-filter.md): each non-comment line is a canonical character followed by
// one or more variant characters, separated by spaces or tabs:
//   # canonical  variants...
//   发 發 髮
// Each variant is mapped to the canonical character. This is the layout of OpenCC's
// STCharacters.txt (simplified first), so that file can be used as is. If a character is listed as
// a variant more than once, its first mapping wins; chains (a -> b, b -> c) are followed.
//
// Value type; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace enclave::wordfilter {

struct VariantMap {
  // (variant, canonical) code point pairs in file order.
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
};

// Parses mapping text and appends its pairs; `source` names it in messages. On error nothing is
// appended.
Status AppendVariantText(std::string_view text, std::string_view source, VariantMap& map);
Status AppendVariantFile(const std::string& path, VariantMap& map);

}  // namespace enclave::wordfilter
