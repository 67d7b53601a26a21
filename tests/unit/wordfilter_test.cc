// The sensitive-word filter on whole texts: each normalization trick, offsets into the original
// bytes, overlapping terms, categories and actions, lexicon and variant file errors, and a
// 120,000-term lexicon.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "governance/wordfilter/normalize.h"
#include "governance/wordfilter/utf8_codec.h"
#include "governance/wordfilter/word_filter.h"
#include "wordfilter_test_util.h"

namespace enclave::wordfilter {
namespace {

using testing::Filtered;
using testing::MakeFilter;

TEST(WordFilterTest, MasksPlainTermAndLeavesOtherTextAlone) {
  auto f = MakeFilter("secret\n");
  EXPECT_EQ(Filtered(*f, "a secret plan"), "a ****** plan");
  EXPECT_EQ(Filtered(*f, "a secre plan"), "a secre plan");  // negative: one letter short
  EXPECT_EQ(Filtered(*f, ""), "");
}

TEST(WordFilterTest, CaseAndFullWidthForms) {
  auto f = MakeFilter("Secret\n");
  EXPECT_EQ(Filtered(*f, "SECRET"), "******");
  EXPECT_EQ(Filtered(*f, "sEcReT"), "******");
  // Full-width Ｓｅｃｒｅｔ (3 bytes each): one '*' per character.
  EXPECT_EQ(Filtered(*f, "x\xEF\xBC\xB3\xEF\xBD\x85\xEF\xBD\x83\xEF\xBD\x92\xEF\xBD\x85\xEF\xBD\x94y"), "x******y");
}

TEST(WordFilterTest, NonAsciiCaseFolding) {
  auto f = MakeFilter("ÉCOLE\nΣΟΦΙΑ\nПРИВЕТ\n");
  EXPECT_EQ(Filtered(*f, "école"), "*****");
  EXPECT_EQ(Filtered(*f, "σοφια"), "*****");
  EXPECT_EQ(Filtered(*f, "привет"), "******");
  EXPECT_EQ(Filtered(*f, "ecole"), "ecole");  // accents are not removed
}

TEST(WordFilterTest, InterleavedSpacesPunctuationAndInvisibleCharacters) {
  auto f = MakeFilter("secret\n敏感词\n");
  EXPECT_EQ(Filtered(*f, "s e c r e t"), "***********");
  EXPECT_EQ(Filtered(*f, "s.e-c_r*e!t"), "***********");
  EXPECT_EQ(Filtered(*f, "se\xE2\x80\x8B" "cret"), "*******");      // zero-width space
  EXPECT_EQ(Filtered(*f, "se\xC2\xAD" "cret"), "*******");            // soft hyphen
  EXPECT_EQ(Filtered(*f, "se\xEF\xBB\xBF" "cr\xE2\x81\xA0" "et"), "********");  // BOM, word joiner
  EXPECT_EQ(Filtered(*f, "敏，感。词"), "*****");
  EXPECT_EQ(Filtered(*f, "敏「感」词"), "*****");
  EXPECT_EQ(Filtered(*f, "敏\xE3\x80\x80感 词"), "*****");  // ideographic space
  // Separators before and after the term are not part of its span.
  EXPECT_EQ(Filtered(*f, ". secret ."), ". ****** .");
}

TEST(WordFilterTest, GapLongerThanMaxGapSeparates) {
  auto f = MakeFilter("ab\n", {}, "", Action::kMask, /*max_gap=*/3);
  EXPECT_EQ(Filtered(*f, "a   b"), "*****");
  EXPECT_EQ(Filtered(*f, "a    b"), "a    b");
  auto strict = MakeFilter("ab\n", {}, "", Action::kMask, /*max_gap=*/0);
  EXPECT_EQ(Filtered(*strict, "a b"), "a b");
  EXPECT_EQ(Filtered(*strict, "xaby"), "x**y");
}

TEST(WordFilterTest, TermsAreNormalizedToo) {
  auto f = MakeFilter("Ｓ Ｅ-Ｃ\n");  // full width, spaces and a hyphen in the lexicon
  EXPECT_EQ(Filtered(*f, "sec"), "***");
}

TEST(WordFilterTest, VariantMappingBothDirections) {
  const std::string variants = "# simplified first\n发 發 髮\n词 詞\n";
  auto f = MakeFilter("发词\n", {}, variants);
  EXPECT_EQ(Filtered(*f, "發詞"), "**");
  EXPECT_EQ(Filtered(*f, "发詞"), "**");
  auto g = MakeFilter("發詞\n", {}, variants);  // a traditional term matches simplified text
  EXPECT_EQ(Filtered(*g, "发词"), "**");
  auto none = MakeFilter("发词\n");  // without the mapping there is no match
  EXPECT_EQ(Filtered(*none, "發詞"), "發詞");
}

TEST(WordFilterTest, SpansAreOriginalByteOffsets) {
  auto f = MakeFilter("bad\tmisc\n", {{"misc", Action::kFlag}});
  const std::string text = "ok \xEF\xBC\xA2 a\xE2\x80\x8B" "d!";  // "ok Ｂ a<ZWSP>d!"
  auto out = f->Filter(text);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->text, text);  // flag: unchanged
  ASSERT_EQ(out->hits.size(), 1u);
  EXPECT_EQ(out->hits[0].start, 3u);
  EXPECT_EQ(out->hits[0].end, text.size() - 1);
  EXPECT_EQ(f->category_name(out->hits[0].category), "misc");
  EXPECT_EQ(out->hits[0].action, Action::kFlag);
  EXPECT_EQ(Verdict(*out), Action::kFlag);
}

TEST(WordFilterTest, LeftmostLongestNonOverlappingPerCategory) {
  auto f = MakeFilter("abc\nabcd\nbcde\ncd\n");
  auto out = f->Filter("xabcdex");
  ASSERT_TRUE(out.ok());
  // abcd [1,5) is leftmost-longest; bcde overlaps it; nothing else starts at or after 5.
  ASSERT_EQ(out->hits.size(), 1u);
  EXPECT_EQ(out->hits[0].start, 1u);
  EXPECT_EQ(out->hits[0].end, 5u);
  EXPECT_EQ(out->text, "x****ex");
  // Back-to-back occurrences are all found.
  EXPECT_EQ(Filtered(*f, "cdcdcd"), "******");
}

TEST(WordFilterTest, EveryCategoryIsReportedEvenWhenOverlapping) {
  auto f = MakeFilter("abc\tpii\nbcd\tpolitics\nabc\tmisc\n",
                      {{"pii", Action::kMask}, {"politics", Action::kFlag}, {"misc", Action::kFlag}});
  auto out = f->Filter("abcd");
  ASSERT_TRUE(out.ok());
  std::set<std::string> cats;
  for (const Hit& h : out->hits) cats.insert(f->category_name(h.category));
  EXPECT_EQ(cats, (std::set<std::string>{"pii", "politics", "misc"}));
  EXPECT_EQ(out->text, "***d");  // only the mask category changes text
  EXPECT_EQ(Verdict(*out), Action::kMask);
}

TEST(WordFilterTest, BlockReleasesNothingFromTheTermOn) {
  auto f = MakeFilter("weapon\tviolence\nfoo\tmisc\n", {{"violence", Action::kBlock}, {"misc", Action::kMask}});
  auto out = f->Filter("foo then w e a p o n and more foo");
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(out->blocked.has_value());
  EXPECT_EQ(f->category_name(out->blocked->category), "violence");
  EXPECT_EQ(out->blocked->start, 9u);
  EXPECT_EQ(out->text, "*** then ");
  EXPECT_EQ(Verdict(*out), Action::kBlock);
}

TEST(WordFilterTest, DefaultActionAppliesToUnlistedCategories) {
  auto f = MakeFilter("x1\tone\nx2\ttwo\n", {{"one", Action::kFlag}}, "", Action::kBlock);
  EXPECT_FALSE(f->Filter("x1")->blocked.has_value());
  EXPECT_TRUE(f->Filter("x2")->blocked.has_value());
}

TEST(WordFilterTest, InvalidUtf8IsAnError) {
  auto f = MakeFilter("abc\n");
  auto out = f->Filter("ok \xFF abc");
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("UTF-8 at byte 3"), std::string::npos) << out.status().message();
  EXPECT_FALSE(f->Filter("ok \xE6\x95").ok());  // ends inside a character
}

TEST(WordFilterTest, LexiconErrorsNameFileAndLine) {
  Lexicon lex;
  Status st = AppendLexiconText("good\tcat\nbad\tcat\textra\n", "lex.tsv", lex);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("lex.tsv:2"), std::string::npos) << st.message();
  EXPECT_TRUE(lex.entries.empty());  // nothing appended on error
  st = AppendLexiconText("# c\n\nok\n\xFF\n", "lex.tsv", lex);
  EXPECT_NE(st.message().find("lex.tsv:4: not valid UTF-8"), std::string::npos) << st.message();
  st = AppendLexiconText("term\tbad category\n", "lex.tsv", lex);
  EXPECT_NE(st.message().find("lex.tsv:1: category"), std::string::npos) << st.message();

  ASSERT_TRUE(AppendLexiconText("ok\r\n...\tcat\n", "p.tsv", lex).ok());  // CRLF accepted
  auto f = WordFilter::Create(lex, {}, {});
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("p.tsv:2: term '...' has no characters"), std::string::npos)
      << f.status().message();

  Lexicon long_term;
  ASSERT_TRUE(AppendLexiconText(std::string(65, 'a') + "\n", "l.tsv", long_term).ok());
  EXPECT_FALSE(WordFilter::Create(long_term, {}, {}).ok());
  EXPECT_FALSE(WordFilter::Create(Lexicon{}, {}, {}).ok());
}

TEST(WordFilterTest, ActionForUnknownCategoryIsAnError) {
  Lexicon lex;
  ASSERT_TRUE(AppendLexiconText("a\tpii\n", "l.tsv", lex).ok());
  FilterOptions options;
  options.actions["pi"] = Action::kMask;
  auto f = WordFilter::Create(lex, {}, options);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("'pi'"), std::string::npos);
  EXPECT_NE(f.status().message().find("categories: pii"), std::string::npos);
  options.actions.clear();
  options.max_gap = 65;
  EXPECT_FALSE(WordFilter::Create(lex, {}, options).ok());
}

TEST(WordFilterTest, VariantFileErrors) {
  VariantMap map;
  Status st = AppendVariantText("发 發\n发\n", "v.txt", map);
  EXPECT_NE(st.message().find("v.txt:2"), std::string::npos) << st.message();
  st = AppendVariantText("发 發髮\n", "v.txt", map);
  EXPECT_NE(st.message().find("single character"), std::string::npos) << st.message();
  EXPECT_TRUE(map.pairs.empty());
  ASSERT_TRUE(AppendVariantText("# comment\n\n发\t發 髮\r\n", "v.txt", map).ok());
  EXPECT_EQ(map.pairs.size(), 2u);
}

TEST(WordFilterTest, NormalizationTable) {
  EXPECT_EQ(FoldWidthAndCase(0xFF21), static_cast<uint32_t>('a'));  // Ａ
  EXPECT_EQ(FoldWidthAndCase(0x3000), static_cast<uint32_t>(' '));
  EXPECT_EQ(FoldWidthAndCase(0x0178), 0xFFu);  // Ÿ -> ÿ
  EXPECT_EQ(FoldWidthAndCase(0x0141), 0x142u);  // Ł -> ł
  EXPECT_EQ(FoldWidthAndCase(0x0401), 0x451u);  // Ё -> ё
  for (uint32_t cp : {0x200Bu, 0x200Cu, 0x200Du, 0x2060u, 0xFEFFu, 0xADu, 0x3001u, 0x3002u, 0x300Cu, 0xE0041u}) {
    EXPECT_TRUE(IsIgnorable(cp)) << std::hex << cp;
  }
  for (uint32_t cp : {uint32_t{'a'}, uint32_t{'7'}, 0x4E00u, 0x3005u, 0xE9u, 0x1F600u}) {
    EXPECT_FALSE(IsIgnorable(cp)) << std::hex << cp;
  }
}

// 120,000 random terms (Latin and CJK); terms planted in random text are all found.
TEST(WordFilterTest, LargeLexiconFindsPlantedTerms) {
  std::mt19937 rng(7);
  std::string lexicon;
  std::vector<std::string> terms;
  for (int i = 0; i < 120000; ++i) {
    std::string t;
    if (i % 2 == 0) {
      const int len = 6 + static_cast<int>(rng() % 7);
      for (int k = 0; k < len; ++k) t += static_cast<char>('a' + rng() % 26);
    } else {
      const int len = 2 + static_cast<int>(rng() % 3);
      for (int k = 0; k < len; ++k) AppendUtf8(0x4E00 + rng() % 6000, t);
    }
    terms.push_back(t);
    lexicon += t + "\tc" + std::to_string(i % 4) + "\n";
  }
  auto f = MakeFilter(lexicon, {{"c0", Action::kFlag}, {"c1", Action::kFlag}, {"c2", Action::kFlag},
                                {"c3", Action::kFlag}});
  ASSERT_NE(f, nullptr);
  EXPECT_GT(f->num_terms(), 119000u);
  std::string text;
  std::vector<std::pair<uint64_t, uint64_t>> planted;
  for (int k = 0; k < 200; ++k) {
    text += " 0123456789 ";  // digits: in no term, so nothing runs across a planted term's edges
    const std::string& t = terms[rng() % terms.size()];
    planted.emplace_back(text.size(), text.size() + t.size());
    text += t;
  }
  text += " 0123456789 ";
  auto out = f->Filter(text);
  ASSERT_TRUE(out.ok());
  std::set<std::pair<uint64_t, uint64_t>> found;
  for (const Hit& h : out->hits) found.insert({h.start, h.end});
  for (const auto& span : planted) EXPECT_TRUE(found.count(span)) << span.first << "-" << span.second;
}

}  // namespace
}  // namespace enclave::wordfilter
