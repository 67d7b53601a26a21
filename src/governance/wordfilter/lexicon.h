// Lexicon files: the terms a word filter looks for, each with a category.
//
// Format (UTF-8, one entry per line, docs/word-filter.md):
//   # a comment (a line whose first non-blank character is '#')
//   term<TAB>category
//   term                 (no tab: category "default")
// Blank lines are skipped and a trailing CR is dropped (CRLF files work). Categories are 1-64
// characters of [A-Za-z0-9_.:-]. The same term may appear under several categories. Terms are
// normalized when a filter is built (normalize.h), where terms that are empty or too long once
// normalized are reported with their file:line.
//
// Value types; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace enclave::wordfilter {

inline constexpr std::string_view kDefaultCategory = "default";

struct LexiconEntry {
  std::string term;      // as written (trimmed of surrounding ASCII blanks)
  std::string category;
  uint32_t source = 0;   // index into Lexicon::sources
  uint32_t line = 0;     // 1-based
};

struct Lexicon {
  std::vector<std::string> sources;  // file names (or labels) entries point to
  std::vector<LexiconEntry> entries;

  // "file:line" of an entry, for error messages.
  std::string Where(const LexiconEntry& entry) const;
};

// Parses lexicon text and appends its entries; `source` names it in messages ("file:line: ...").
// On error nothing is appended.
Status AppendLexiconText(std::string_view text, std::string_view source, Lexicon& lexicon);

// Reads a lexicon file and appends its entries.
Status AppendLexiconFile(const std::string& path, Lexicon& lexicon);

// Whole file as bytes, or an error naming the path (shared with variants.cc).
Result<std::string> ReadWholeFile(const std::string& path);

}  // namespace enclave::wordfilter
