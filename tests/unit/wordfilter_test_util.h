// Shared by the word filter tests: building a filter from inline lexicon text.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "governance/wordfilter/word_filter.h"

namespace enclave::wordfilter::testing {

inline std::unique_ptr<WordFilter> MakeFilter(const std::string& lexicon_text,
                                              const std::map<std::string, Action>& actions = {},
                                              const std::string& variants_text = "",
                                              Action default_action = Action::kMask, int max_gap = kDefaultMaxGap) {
  Lexicon lexicon;
  Status st = AppendLexiconText(lexicon_text, "test.tsv", lexicon);
  EXPECT_TRUE(st.ok()) << st.message();
  VariantMap variants;
  st = AppendVariantText(variants_text, "variants.txt", variants);
  EXPECT_TRUE(st.ok()) << st.message();
  FilterOptions options;
  options.actions = actions;
  options.default_action = default_action;
  options.max_gap = max_gap;
  auto f = WordFilter::Create(lexicon, variants, options);
  EXPECT_TRUE(f.ok()) << f.status().message();
  return f.ok() ? std::move(f).value() : nullptr;
}

// Filtered text of `text` (whole-text filtering); "<error>" on error.
inline std::string Filtered(const WordFilter& f, const std::string& text) {
  auto out = f.Filter(text);
  return out.ok() ? out->text : "<error>";
}

}  // namespace enclave::wordfilter::testing
