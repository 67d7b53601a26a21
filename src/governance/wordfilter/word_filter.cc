#include "governance/wordfilter/word_filter.h"

#include <algorithm>
#include <unordered_map>

#include "governance/wordfilter/filter_stream.h"
#include "governance/wordfilter/utf8_codec.h"

namespace enclave::wordfilter {

Action Verdict(const FilterOutput& out) {
  if (out.blocked) return Action::kBlock;
  Action v = Action::kNone;
  for (const Hit& h : out.hits) v = std::max(v, h.action);
  return v;
}

Result<std::unique_ptr<WordFilter>> WordFilter::Create(const Lexicon& lexicon, const VariantMap& variants,
                                                       const FilterOptions& options) {
  if (options.max_gap < 0 || options.max_gap > kMaxMaxGap) {
    return InvalidArgumentError("max gap " + std::to_string(options.max_gap) + " is outside 0.." +
                                std::to_string(kMaxMaxGap));
  }
  if (lexicon.entries.empty()) return InvalidArgumentError("the lexicon has no terms");
  if (options.max_row_symbols < 0 || options.max_row_symbols > 255) {
    return InvalidArgumentError("max row symbols " + std::to_string(options.max_row_symbols) + " is outside 0..255");
  }

  std::unique_ptr<WordFilter> f(new WordFilter());  // private constructor: make_unique cannot reach it
  f->max_gap_ = options.max_gap;
  f->folder_ = std::make_unique<CharFolder>(variants);

  // Categories in order of first use.
  std::unordered_map<std::string, uint32_t> category_ids;
  for (const LexiconEntry& e : lexicon.entries) {
    if (category_ids.emplace(e.category, static_cast<uint32_t>(f->categories_.size())).second) {
      f->categories_.push_back(e.category);
    }
  }
  for (const auto& [name, action] : options.actions) {
    if (category_ids.count(name) == 0) {
      std::string known;
      for (const std::string& c : f->categories_) known += (known.empty() ? "" : ", ") + c;
      return InvalidArgumentError("an action is given for category '" + name +
                                  "', which no lexicon term uses (categories: " + known + ")");
    }
  }
  for (const std::string& c : f->categories_) {
    auto it = options.actions.find(c);
    f->actions_.push_back(it == options.actions.end() ? options.default_action : it->second);
  }

  // Distinct normalized terms; a term listed under several categories keeps all of them.
  std::vector<std::string> normalized;
  std::vector<std::vector<uint32_t>> cats;
  std::unordered_map<std::string, uint32_t> ids;
  for (const LexiconEntry& e : lexicon.entries) {
    size_t chars = 0;
    std::string norm = f->folder_->NormalizeTerm(e.term, &chars);
    if (chars == 0) {
      return InvalidArgumentError(lexicon.Where(e) + ": term '" + e.term +
                                  "' has no characters left once spaces, punctuation and invisible "
                                  "characters are removed");
    }
    if (chars > kMaxTermChars) {
      return InvalidArgumentError(lexicon.Where(e) + ": term is " + std::to_string(chars) +
                                  " characters once normalized; the limit is " + std::to_string(kMaxTermChars));
    }
    auto [it, inserted] = ids.emplace(norm, static_cast<uint32_t>(normalized.size()));
    if (inserted) {
      normalized.push_back(std::move(norm));
      cats.emplace_back();
      f->patterns_.push_back({0, 0, static_cast<uint32_t>(chars), false});
      f->max_term_chars_ = std::max(f->max_term_chars_, chars);
    }
    std::vector<uint32_t>& c = cats[it->second];
    const uint32_t cat = category_ids.at(e.category);
    if (std::find(c.begin(), c.end(), cat) == c.end()) c.push_back(cat);
  }
  for (size_t i = 0; i < cats.size(); ++i) {
    Pattern& p = f->patterns_[i];
    p.first_category = static_cast<uint32_t>(f->pattern_categories_.size());
    p.n_categories = static_cast<uint32_t>(cats[i].size());
    for (uint32_t c : cats[i]) {
      f->pattern_categories_.push_back(c);
      p.blocks = p.blocks || f->actions_[c] == Action::kBlock;
    }
  }

  // Symbols: the terms' distinct code points, the most frequent first. Rows of the automaton cover
  // the frequent ones (at least 1/64 as frequent as the most frequent, at most max_row_symbols),
  // and symbol 0, in a power-of-two width.
  std::vector<uint32_t> term_symbols;  // code points, then symbols, of all terms one after the other
  std::vector<uint32_t> term_offsets{0};
  std::unordered_map<uint32_t, uint32_t> count;
  for (const std::string& norm : normalized) {
    const auto* p = reinterpret_cast<const uint8_t*>(norm.data());
    for (size_t k = 0; k < norm.size();) {
      uint32_t cp = 0;
      const int len = DecodeUtf8(p + k, norm.size() - k, &cp);
      if (len <= 0) return InternalError("word filter: a normalized term is not UTF-8");
      k += static_cast<size_t>(len);
      term_symbols.push_back(cp);
      ++count[cp];
    }
    term_offsets.push_back(static_cast<uint32_t>(term_symbols.size()));
  }
  std::vector<std::pair<uint32_t, uint32_t>> by_count(count.begin(), count.end());  // (cp, count)
  std::sort(by_count.begin(), by_count.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::unordered_map<uint32_t, uint32_t> symbol;
  for (size_t k = 0; k < by_count.size(); ++k) symbol.emplace(by_count[k].first, static_cast<uint32_t>(k + 1));
  for (uint32_t& cp : term_symbols) cp = symbol.at(cp);
  const auto num_symbols = static_cast<uint32_t>(by_count.size());
  uint32_t frequent = 0;
  while (frequent < num_symbols && frequent < static_cast<uint32_t>(options.max_row_symbols) &&
         static_cast<uint64_t>(by_count[frequent].second) * 64 >= by_count[0].second) {
    ++frequent;
  }
  uint32_t row_width = 1;
  while (row_width < frequent + 1) row_width *= 2;
  f->symbols_ = std::make_unique<SymbolMap>(*f->folder_, std::move(symbol));
  f->automaton_ = Automaton::Build(term_symbols, term_offsets, num_symbols, row_width, options.row_budget_bytes);
  return f;
}

Result<FilterOutput> WordFilter::Filter(std::string_view text) const {
  FilterStream stream(*this);
  ASSIGN_OR_RETURN(FilterOutput out, stream.Push(text));
  if (out.blocked) return out;
  ASSIGN_OR_RETURN(FilterOutput tail, stream.Finish());
  out.text += tail.text;
  out.hits.insert(out.hits.end(), tail.hits.begin(), tail.hits.end());
  out.blocked = tail.blocked;
  return out;
}

}  // namespace enclave::wordfilter
