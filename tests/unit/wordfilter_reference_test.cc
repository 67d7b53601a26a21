// The word filter's fast paths (code points straight to automaton symbols, the inline three-byte
// UTF-8 decoder, rows over frequent symbols only) against a brute-force reference that folds each
// code point with CharFolder, the general path, and tries every term at every position: random
// lexicons and texts mixing ASCII, Latin-1, Greek, Cyrillic, full-width, CJK and astral characters,
// variants, ignorable characters of every UTF-8 length, and invalid UTF-8.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "governance/wordfilter/filter_stream.h"
#include "governance/wordfilter/utf8_codec.h"
#include "wordfilter_test_util.h"

namespace enclave::wordfilter {
namespace {

using testing::Filtered;
using testing::MakeFilter;

struct Char {
  uint64_t start;
  uint64_t end;
  uint32_t folded;  // 0: ignorable
};

// Hits as WordFilter reports them for a text without block categories: every occurrence of every
// (term, category), chosen leftmost-longest per category; and the text with mask hits masked.
struct Reference {
  std::vector<Hit> hits;
  std::string text;
  std::vector<std::tuple<uint64_t, uint64_t, uint32_t>> all;  // every occurrence (start, end, category)
};

Reference BruteForce(const WordFilter& f, const std::vector<std::pair<std::string, std::string>>& entries,
                     const std::string& text) {
  const CharFolder& folder = f.folder();
  std::vector<Char> chars;
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const int len = DecodeUtf8(p + i, text.size() - i, &cp);
    EXPECT_GT(len, 0);
    if (len <= 0) return {};
    chars.push_back({i, i + static_cast<size_t>(len), folder.Fold(cp)});
    i += static_cast<size_t>(len);
  }
  std::map<std::string, uint32_t> category_id;
  for (uint32_t c = 0; c < f.num_categories(); ++c) category_id[f.category_name(c)] = c;

  Reference r;
  std::set<std::tuple<uint64_t, uint64_t, uint32_t>> found;
  for (const auto& [term, category] : entries) {
    size_t n = 0;
    const std::string norm = folder.NormalizeTerm(term, &n);
    std::vector<uint32_t> want;
    const auto* q = reinterpret_cast<const uint8_t*>(norm.data());
    for (size_t i = 0; i < norm.size();) {
      uint32_t cp = 0;
      i += static_cast<size_t>(DecodeUtf8(q + i, norm.size() - i, &cp));
      want.push_back(cp);
    }
    for (size_t s = 0; s < chars.size(); ++s) {
      size_t pos = s;
      size_t k = 0;
      while (k < want.size()) {
        if (pos >= chars.size() || chars[pos].folded != want[k]) break;
        if (++k == want.size()) break;
        int gap = 0;  // ignorable code points before the next character
        ++pos;
        while (pos < chars.size() && chars[pos].folded == 0) {
          ++gap;
          ++pos;
        }
        if (gap > f.max_gap()) break;
      }
      if (k == want.size()) found.insert({chars[s].start, chars[pos].end, category_id.at(category)});
    }
  }
  r.all.assign(found.begin(), found.end());
  std::vector<std::tuple<uint64_t, uint64_t, uint32_t>> order(found.begin(), found.end());
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    if (std::get<0>(a) != std::get<0>(b)) return std::get<0>(a) < std::get<0>(b);
    if (std::get<1>(a) != std::get<1>(b)) return std::get<1>(a) > std::get<1>(b);
    return std::get<2>(a) < std::get<2>(b);
  });
  std::vector<uint64_t> last_end(f.num_categories(), 0);
  std::vector<bool> masked(text.size(), false);
  for (const auto& [start, end, cat] : order) {
    if (start < last_end[cat]) continue;
    last_end[cat] = end;
    r.hits.push_back({cat, f.category_action(cat), start, end});
    if (f.category_action(cat) == Action::kMask) {
      for (uint64_t b = start; b < end; ++b) masked[b] = true;
    }
  }
  for (const Char& c : chars) {
    if (masked[c.start]) {
      r.text += '*';
    } else {
      r.text.append(text, c.start, c.end - c.start);
    }
  }
  return r;
}

// Letters of terms and text: several scripts, several UTF-8 lengths, upper and lower case, full
// width, variants (緻 -> 敏, 𠀀 -> 词, 𝐀 -> 感: astral to BMP), astral letters of their own.
// More than 32 symbols, so that symbols share bits of the per-state child masks.
const std::vector<std::string> kTermAtoms = {
    "a", "b", "e", "s", "Z", "7", "é", "É", "σ", "Σ", "ς", "д", "Д", "敏", "感", "词", "緻", "Ｓ", "ｅ", "😀", "𠀁", "𠀀",
    "𝐀", "c", "d", "f", "g", "h", "k", "m", "o", "p", "r", "t", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
// Also in texts: ignorable code points of 1 to 4 bytes, and characters no term contains.
const std::vector<std::string> kTextOnly = {" ",
                                            ".",
                                            "\xC2\xAD",          // soft hyphen
                                            "\xE2\x80\x8B",      // zero-width space
                                            "，",
                                            "\xF3\xA0\x81\x81",  // tag character
                                            "q",
                                            "ü",
                                            "中",
                                            "𝐁"};

// MakeFilter with the automaton tuning knobs: a small row budget and few row symbols send steps
// through the sparse paths (child search, failure links, the root's row).
std::unique_ptr<WordFilter> MakeTuned(const std::string& lexicon_text, const std::map<std::string, Action>& actions,
                                      const std::string& variants_text, int max_gap, size_t row_budget_bytes,
                                      int max_row_symbols) {
  Lexicon lexicon;
  EXPECT_TRUE(AppendLexiconText(lexicon_text, "test.tsv", lexicon).ok());
  VariantMap variants;
  EXPECT_TRUE(AppendVariantText(variants_text, "variants.txt", variants).ok());
  FilterOptions options;
  options.actions = actions;
  options.max_gap = max_gap;
  options.row_budget_bytes = row_budget_bytes;
  options.max_row_symbols = max_row_symbols;
  auto f = WordFilter::Create(lexicon, variants, options);
  EXPECT_TRUE(f.ok()) << f.status().message();
  return f.ok() ? std::move(f).value() : nullptr;
}

std::string RandomString(std::mt19937& rng, const std::vector<std::string>& atoms, int max_len) {
  std::string s;
  const int n = 1 + static_cast<int>(rng() % static_cast<unsigned>(max_len));
  for (int k = 0; k < n; ++k) s += atoms[rng() % atoms.size()];
  return s;
}

TEST(WordFilterReferenceTest, RandomMixedScriptTextsMatchBruteForce) {
  std::vector<std::string> text_atoms = kTermAtoms;
  text_atoms.insert(text_atoms.end(), kTextOnly.begin(), kTextOnly.end());
  std::mt19937 rng(2026);
  int hits_seen = 0;
  for (int lexicon_round = 0; lexicon_round < 40; ++lexicon_round) {
    std::vector<std::pair<std::string, std::string>> entries;
    std::string lexicon;
    const int n_terms = 1 + static_cast<int>(rng() % 12);
    for (int t = 0; t < n_terms; ++t) {
      const std::string term = RandomString(rng, kTermAtoms, 4);
      const std::string category = (rng() % 2) ? "masked" : "flagged";
      entries.emplace_back(term, category);
      lexicon += term + "\t" + category + "\n";
    }
    if (lexicon_round % 2 == 0) {  // a state with more children than a linear search takes
      const std::string prefix = kTermAtoms[rng() % kTermAtoms.size()];
      for (const std::string& atom : kTermAtoms) {
        entries.emplace_back(prefix + atom, "flagged");
        lexicon += prefix + atom + "\tflagged\n";
      }
    }
    const int max_gap = static_cast<int>(rng() % 4);
    const size_t budgets[] = {0, 256, 4096, size_t{8} << 20};
    const int row_symbols[] = {0, 1, 3, 255};
    const size_t budget = budgets[lexicon_round % 4];
    const int max_row_symbols = row_symbols[(lexicon_round / 4) % 4];
    auto f = MakeTuned(lexicon + "zzzz\tmasked\nzzzz\tflagged\n",  // both categories exist
                       {{"masked", Action::kMask}, {"flagged", Action::kFlag}}, "敏 緻\n词 𠀀\n感 𝐀\n", max_gap,
                       budget, max_row_symbols);
    ASSERT_NE(f, nullptr);
    if (budget == 0) {
      EXPECT_EQ(f->automaton().num_dense_rows(), 1u);  // the root only
    }
    if (max_row_symbols == 0) {
      EXPECT_EQ(f->automaton().row_width(), 1u);  // every symbol is rare
    }
    entries.emplace_back("zzzz", "masked");
    entries.emplace_back("zzzz", "flagged");
    for (int text_round = 0; text_round < 50; ++text_round) {
      std::string text = RandomString(rng, text_atoms, 40);
      if (text_round % 5 == 0) {  // plant a term, as it is
        text += entries[rng() % entries.size()].first + RandomString(rng, text_atoms, 3);
      }
      const Reference want = BruteForce(*f, entries, text);
      auto got = f->Filter(text);
      ASSERT_TRUE(got.ok()) << got.status().message();
      EXPECT_EQ(got->text, want.text) << text;
      ASSERT_EQ(got->hits.size(), want.hits.size()) << text;
      for (size_t i = 0; i < want.hits.size(); ++i) {
        EXPECT_EQ(got->hits[i].category, want.hits[i].category) << text;
        EXPECT_EQ(got->hits[i].start, want.hits[i].start) << text;
        EXPECT_EQ(got->hits[i].end, want.hits[i].end) << text;
      }
      hits_seen += static_cast<int>(want.hits.size());

      // The same text streamed in random pieces (cutting three- and four-byte characters).
      FilterStream s(*f);
      std::string streamed;
      for (size_t pos = 0; pos < text.size();) {
        const size_t len = std::min(text.size() - pos, 1 + static_cast<size_t>(rng() % 5));
        auto o = s.Push(std::string_view(text).substr(pos, len));
        ASSERT_TRUE(o.ok());
        streamed += o->text;
        pos += len;
      }
      auto tail = s.Finish();
      ASSERT_TRUE(tail.ok());
      EXPECT_EQ(streamed + tail->text, want.text) << text;
    }
  }
  EXPECT_GT(hits_seen, 1500);  // the comparison is not vacuous
}

// With a block category, the block hit is the occurrence that ends first (leftmost among those).
TEST(WordFilterReferenceTest, RandomBlockHitsMatchBruteForce) {
  std::vector<std::string> text_atoms = kTermAtoms;
  text_atoms.insert(text_atoms.end(), kTextOnly.begin(), kTextOnly.end());
  std::mt19937 rng(7);
  int blocks_seen = 0;
  for (int round = 0; round < 300; ++round) {
    std::vector<std::pair<std::string, std::string>> entries;
    std::string lexicon;
    for (int t = 0; t < 4; ++t) {
      const std::string term = RandomString(rng, kTermAtoms, 3);
      const std::string category = t == 0 ? "blocked" : "masked";
      entries.emplace_back(term, category);
      lexicon += term + "\t" + category + "\n";
    }
    auto f = MakeTuned(lexicon, {{"masked", Action::kMask}, {"blocked", Action::kBlock}}, "敏 緻\n",
                       static_cast<int>(rng() % 3), round % 2 ? 0 : size_t{8} << 20, round % 3 ? 255 : 1);
    ASSERT_NE(f, nullptr);
    const std::string text = RandomString(rng, text_atoms, 30) + entries[0].first + RandomString(rng, text_atoms, 5);
    const Reference ref = BruteForce(*f, entries, text);
    std::optional<std::tuple<uint64_t, uint64_t, uint32_t>> first_block;
    for (const auto& occ : ref.all) {
      if (f->category_action(std::get<2>(occ)) != Action::kBlock) continue;
      if (!first_block || std::get<1>(occ) < std::get<1>(*first_block) ||
          (std::get<1>(occ) == std::get<1>(*first_block) && std::get<0>(occ) < std::get<0>(*first_block))) {
        first_block = occ;
      }
    }
    auto got = f->Filter(text);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->blocked.has_value(), first_block.has_value()) << text;
    if (!first_block) continue;
    ++blocks_seen;
    EXPECT_EQ(got->blocked->start, std::get<0>(*first_block)) << text;
    EXPECT_EQ(got->blocked->end, std::get<1>(*first_block)) << text;
    EXPECT_LE(got->text.size(), got->blocked->start);
  }
  EXPECT_GT(blocks_seen, 250);
}

// Every BMP code point, and astral ones, maps to the symbol of its folded form: ignorable exactly
// when CharFolder says so, a symbol exactly when some normalized term contains the folded form, and
// one symbol per folded code point.
TEST(WordFilterReferenceTest, SymbolMapAgreesWithCharFolder) {
  auto f = MakeFilter("secret\nÉcole\nσοφια\n敏感词\n😀x\n", {}, "敏 緻\n词 𠀀\n");
  ASSERT_NE(f, nullptr);
  const CharFolder& folder = f->folder();
  std::set<uint32_t> in_terms;
  for (const char* t : {"secret", "École", "σοφια", "敏感词", "😀x"}) {
    size_t n = 0;
    const std::string norm = folder.NormalizeTerm(t, &n);
    const auto* q = reinterpret_cast<const uint8_t*>(norm.data());
    for (size_t i = 0; i < norm.size();) {
      uint32_t cp = 0;
      i += static_cast<size_t>(DecodeUtf8(q + i, norm.size() - i, &cp));
      in_terms.insert(cp);
    }
  }
  std::map<uint32_t, uint32_t> symbol_of_folded;
  int checked = 0;
  auto check = [&](uint32_t cp) {
    const uint32_t folded = folder.Fold(cp);
    const uint32_t sym = f->symbols().Lookup(cp);
    if (folded == 0) {
      EXPECT_EQ(sym, SymbolMap::kIgnorable) << std::hex << cp;
      return;
    }
    ASSERT_NE(sym, SymbolMap::kIgnorable) << std::hex << cp;
    EXPECT_EQ(sym != 0, in_terms.count(folded) == 1) << std::hex << cp;
    if (sym == 0) return;
    auto [it, inserted] = symbol_of_folded.emplace(folded, sym);
    EXPECT_EQ(it->second, sym) << std::hex << cp;
    ++checked;
  };
  for (uint32_t cp = 0; cp < 0x10000; ++cp) {
    if (cp < 0xD800 || cp > 0xDFFF) check(cp);
  }
  for (uint32_t cp : {0x1F600u, 0x1F601u, 0x20000u, 0x20001u, 0xE0041u, 0x10FFFFu}) check(cp);
  EXPECT_EQ(symbol_of_folded.size(), in_terms.size());
  std::set<uint32_t> distinct;
  for (const auto& [folded, sym] : symbol_of_folded) distinct.insert(sym);
  EXPECT_EQ(distinct.size(), symbol_of_folded.size());
  EXPECT_GT(checked, 20);  // upper and lower case, full width, variants of the term characters
}

TEST(WordFilterReferenceTest, TuningIsChecked) {
  Lexicon lex;
  ASSERT_TRUE(AppendLexiconText("abc\n", "l.tsv", lex).ok());
  FilterOptions options;
  options.max_row_symbols = 256;
  EXPECT_FALSE(WordFilter::Create(lex, {}, options).ok());
  options.max_row_symbols = -1;
  EXPECT_FALSE(WordFilter::Create(lex, {}, options).ok());
  options.max_row_symbols = 2;
  options.default_action = Action::kMask;
  auto f = WordFilter::Create(lex, {}, options);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->automaton().row_width(), 4u);  // symbol 0 and two symbols, rounded up to a power of two
  EXPECT_EQ(Filtered(**f, "xabcx"), "x***x");
}

// The inline three-byte decoder rejects what DecodeUtf8 rejects and waits for a cut sequence.
TEST(WordFilterReferenceTest, ThreeByteSequencesInvalidOrCut) {
  auto f = MakeFilter("敏感\n");
  for (const std::string& bad : {std::string("ok \xED\xA0\x80"),    // surrogate U+D800
                                std::string("ok \xE0\x80\xAF"),    // overlong '/'
                                std::string("ok \xE6\x95\x41"),    // third byte not a continuation
                                std::string("ok \xE6\x41\x95"),    // second byte not a continuation
                                std::string("ok \xE6\x95")}) {     // ends inside the character
    EXPECT_FALSE(f->Filter(bad).ok()) << bad;
  }
  const std::string text = "x敏感y\xEF\xBF\xBF敏";  // U+FFFF is a valid three-byte character
  ASSERT_TRUE(f->Filter(text).ok());
  EXPECT_EQ(f->Filter(text)->text, "x**y\xEF\xBF\xBF敏");
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    FilterStream s(*f);
    auto a = s.Push(text.substr(0, cut));
    auto b = s.Push(text.substr(cut));
    auto c = s.Finish();
    ASSERT_TRUE(a.ok() && b.ok() && c.ok()) << cut;
    EXPECT_EQ(a->text + b->text + c->text, "x**y\xEF\xBF\xBF敏") << cut;
  }
}

}  // namespace
}  // namespace enclave::wordfilter
