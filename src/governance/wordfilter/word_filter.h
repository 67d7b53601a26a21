// A compiled sensitive-word filter: lexicon terms, normalized (normalize.h), their code points
// numbered as symbols (symbol_map.h) and compiled into one Aho-Corasick automaton (automaton.h),
// with an action per category.
//
// Matching semantics (docs/word-filter.md):
//  - A term matches where its normalized characters occur in the normalized text, with at most
//    max_gap ignorable code points between consecutive characters. Matching is by substring: there
//    are no word boundaries.
//  - Hits are reported per category: within one category, occurrences are chosen leftmost-longest
//    and non-overlapping. Different categories may overlap (each is reported).
//  - Spans are byte offsets [start, end) into the original text, from the first byte of the term's
//    first character to the last byte of its last one (gaps inside are part of the span).
//  - kMask hits have every code point of their span replaced by '*'; kFlag hits only report; the
//    first kBlock hit found ends filtering: nothing from that point on is released.
//
// Thread safety: immutable after Create; share one WordFilter (e.g. via shared_ptr<const>) between
// any number of threads and FilterStreams. It must outlive the streams that use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "governance/wordfilter/action.h"
#include "governance/wordfilter/automaton.h"
#include "governance/wordfilter/lexicon.h"
#include "governance/wordfilter/normalize.h"
#include "governance/wordfilter/symbol_map.h"
#include "governance/wordfilter/variants.h"

namespace enclave::wordfilter {

inline constexpr int kDefaultMaxGap = 8;
inline constexpr int kMaxMaxGap = 64;
inline constexpr size_t kMaxTermChars = 64;  // normalized code points per term

struct FilterOptions {
  // Action per category name. Every name must be a category of the lexicon (catches typos).
  std::map<std::string, Action> actions;
  // Action of categories not in `actions`. Block by default: an unconfigured category fails closed.
  Action default_action = Action::kBlock;
  // Most consecutive ignorable code points between two characters of a term, 0..kMaxMaxGap.
  int max_gap = kDefaultMaxGap;
  // Automaton tuning (speed against memory; results do not depend on it): memory for complete
  // transition rows, and the most symbols (frequent term characters) a row covers, 0..255.
  size_t row_budget_bytes = size_t{8} << 20;
  int max_row_symbols = 255;
};

struct Hit {
  uint32_t category = 0;  // WordFilter::category_name(category)
  Action action = Action::kFlag;
  uint64_t start = 0;     // byte offsets into the whole text (or stream), [start, end)
  uint64_t end = 0;
};

// What one filtering step releases.
struct FilterOutput {
  std::string text;            // safe to release: masked, and nothing at or after a block hit
  std::vector<Hit> hits;       // hits decided in this step, by start (blocked not included)
  std::optional<Hit> blocked;  // the block hit that ended filtering, if any
};

// The strongest action among out.blocked and out.hits (kNone when there is no hit).
Action Verdict(const FilterOutput& out);

class WordFilter {
 public:
  // Builds the filter. Errors name the lexicon file:line of a bad term (empty or longer than
  // kMaxTermChars once normalized), an action for an unknown category, an empty lexicon, or a bad
  // max_gap.
  static Result<std::unique_ptr<WordFilter>> Create(const Lexicon& lexicon, const VariantMap& variants,
                                                    const FilterOptions& options);

  // Filters a whole text: the same as one FilterStream Push of `text` followed by Finish, with the
  // outputs joined. Invalid UTF-8 is an error (fail closed: nothing is released).
  Result<FilterOutput> Filter(std::string_view text) const;

  size_t num_terms() const { return patterns_.size(); }  // distinct normalized terms
  size_t num_categories() const { return categories_.size(); }
  const std::string& category_name(uint32_t id) const { return categories_[id]; }
  Action category_action(uint32_t id) const { return actions_[id]; }
  int max_gap() const { return max_gap_; }
  size_t max_term_chars() const { return max_term_chars_; }
  // Upper bound on the bytes a FilterStream holds back: max_term_chars characters with max_gap
  // ignorable code points after each, 4 bytes per code point, plus an incomplete UTF-8 tail.
  size_t MaxHeldBytes() const { return 4 * max_term_chars_ * (static_cast<size_t>(max_gap_) + 1) + 3; }

  // For FilterStream.
  struct Pattern {
    uint32_t first_category = 0;  // into pattern_categories_
    uint32_t n_categories = 0;
    uint32_t chars = 0;           // normalized length in code points
    bool blocks = false;          // some category of it has Action::kBlock
  };
  const CharFolder& folder() const { return *folder_; }
  const SymbolMap& symbols() const { return *symbols_; }
  const Automaton& automaton() const { return automaton_; }
  const Pattern& pattern(uint32_t id) const { return patterns_[id]; }
  std::span<const uint32_t> pattern_categories(const Pattern& p) const {
    return {pattern_categories_.data() + p.first_category, p.n_categories};
  }

 private:
  WordFilter() = default;

  std::unique_ptr<CharFolder> folder_;
  std::unique_ptr<SymbolMap> symbols_;  // uses *folder_
  Automaton automaton_;
  std::vector<Pattern> patterns_;
  std::vector<uint32_t> pattern_categories_;
  std::vector<std::string> categories_;
  std::vector<Action> actions_;
  int max_gap_ = kDefaultMaxGap;
  size_t max_term_chars_ = 0;
};

}  // namespace enclave::wordfilter
