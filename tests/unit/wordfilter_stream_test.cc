// The streaming word filter: whatever way a text is cut into chunks, the released text, the hits
// and the block decision equal whole-text filtering, at most MaxHeldBytes() are held back, and
// nothing is released after a block or an error.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "governance/wordfilter/filter_stream.h"
#include "governance/wordfilter/utf8_codec.h"
#include "wordfilter_test_util.h"

namespace enclave::wordfilter {
namespace {

using testing::MakeFilter;

struct Streamed {
  bool ok = true;
  FilterOutput out;  // everything released, all hits, the block hit
};

// Feeds `pieces` then Finish; checks the hold-back bound and that nothing follows a block.
Streamed Stream(const WordFilter& f, const std::vector<std::string>& pieces) {
  FilterStream s(f);
  Streamed r;
  auto take = [&](Result<FilterOutput> o) {
    if (!o.ok()) {
      r.ok = false;
      return;
    }
    if (r.out.blocked) {
      EXPECT_TRUE(o->text.empty());
      EXPECT_TRUE(o->blocked.has_value());
      return;
    }
    r.out.text += o->text;
    r.out.hits.insert(r.out.hits.end(), o->hits.begin(), o->hits.end());
    r.out.blocked = o->blocked;
    EXPECT_LE(s.held_bytes(), f.MaxHeldBytes());
  };
  for (const std::string& p : pieces) {
    if (!r.ok) break;
    take(s.Push(p));
  }
  if (r.ok) take(s.Finish());
  return r;
}

void ExpectSame(const Streamed& got, const Result<FilterOutput>& want, const std::string& where) {
  ASSERT_EQ(got.ok, want.ok()) << where;
  if (!want.ok()) return;
  EXPECT_EQ(got.out.text, want->text) << where;
  ASSERT_EQ(got.out.hits.size(), want->hits.size()) << where;
  for (size_t i = 0; i < want->hits.size(); ++i) {
    EXPECT_EQ(got.out.hits[i].category, want->hits[i].category) << where;
    EXPECT_EQ(got.out.hits[i].start, want->hits[i].start) << where;
    EXPECT_EQ(got.out.hits[i].end, want->hits[i].end) << where;
  }
  ASSERT_EQ(got.out.blocked.has_value(), want->blocked.has_value()) << where;
  if (want->blocked) {
    EXPECT_EQ(got.out.blocked->start, want->blocked->start) << where;
    EXPECT_EQ(got.out.blocked->category, want->blocked->category) << where;
  }
}

// Two cuts anywhere (every pair of byte positions) give what the whole text gives.
void ExpectAllCuts(const WordFilter& f, const std::string& text) {
  const Result<FilterOutput> whole = f.Filter(text);
  for (size_t a = 0; a <= text.size(); ++a) {
    for (size_t b = a; b <= text.size(); ++b) {
      ExpectSame(Stream(f, {text.substr(0, a), text.substr(a, b - a), text.substr(b)}), whole,
                 "cuts " + std::to_string(a) + "," + std::to_string(b));
    }
  }
  // And one byte at a time.
  std::vector<std::string> bytes;
  for (char c : text) bytes.emplace_back(1, c);
  ExpectSame(Stream(f, bytes), whole, "bytewise");
}

std::unique_ptr<WordFilter> Mixed() {
  return MakeFilter("secret\tpii\nabcd\tpii\nbc\tmisc\n敏感\tpolitics\nweapon\tviolence\n",
                    {{"pii", Action::kMask}, {"misc", Action::kFlag}, {"politics", Action::kMask},
                     {"violence", Action::kBlock}},
                    "敏 緻\n");
}

TEST(WordFilterStreamTest, TermSplitAcrossChunksIsMasked) {
  auto f = Mixed();
  const Streamed r = Stream(*f, {"the sec", "ret is ", "s e", " c r e t"});
  EXPECT_EQ(r.out.text, "the ****** is ***********");
}

TEST(WordFilterStreamTest, EveryCutMatchesWholeText) {
  auto f = Mixed();
  for (const std::string& text : {
           std::string("x secret, s.e.c.r.e.t and SECRET!"),
           std::string("abcdbc abc d xbcx"),
           std::string("前敏\xE2\x80\x8B感后 緻感 敏 感"),
           std::string("Ｓｅｃｒｅｔ，敏感"),
           std::string("safe text with nothing in it at all"),
       }) {
    SCOPED_TRACE(text);
    ExpectAllCuts(*f, text);
  }
}

TEST(WordFilterStreamTest, BlockEndsTheStreamAtEveryCut) {
  auto f = Mixed();
  const std::string text = "secret then we\xE2\x80\x8B" "apon, then more secret";
  const auto whole = f->Filter(text);
  ASSERT_TRUE(whole.ok());
  ASSERT_TRUE(whole->blocked.has_value());
  EXPECT_EQ(whole->text, "****** then ");
  ExpectAllCuts(*f, text);
}

TEST(WordFilterStreamTest, AfterBlockNothingIsReleased) {
  auto f = Mixed();
  FilterStream s(*f);
  auto a = s.Push("ok weapon");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->blocked.has_value());
  EXPECT_EQ(a->text, "ok ");
  auto b = s.Push("more text");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->text.empty());
  EXPECT_TRUE(b->blocked.has_value());
  auto c = s.Finish();
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->text.empty());
  EXPECT_TRUE(s.ended());
}

TEST(WordFilterStreamTest, InvalidUtf8FailsClosed) {
  auto f = Mixed();
  FilterStream s(*f);
  ASSERT_TRUE(s.Push("fine ").ok());
  EXPECT_FALSE(s.Push("bad \xC0\xAF").ok());  // overlong '/'
  auto again = s.Push("more");
  EXPECT_FALSE(again.ok());
  EXPECT_FALSE(s.Finish().ok());
  FilterStream t(*f);
  ASSERT_TRUE(t.Push("cut \xE6\x95").ok());  // incomplete character: held, not an error yet
  EXPECT_FALSE(t.Finish().ok());
}

TEST(WordFilterStreamTest, ReleasesPromptlyWhenNoTermCanStart) {
  auto f = Mixed();
  FilterStream s(*f);
  auto a = s.Push("hello world ");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->text, "hello world ");  // no term starts with any suffix of it
  auto b = s.Push("is sec");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->text, "is ");  // "sec" could become "secret"
  EXPECT_EQ(s.held_bytes(), 3u);
}

// Random texts over the terms' own letters, separators and invisible characters, cut at random.
TEST(WordFilterStreamTest, RandomTextsAndCutsMatchWholeText) {
  auto f = Mixed();
  const std::vector<std::string> atoms = {"s", "e", "c", "r", "t", "a", "b", "d", " ", ".", "\xE2\x80\x8B",
                                          "敏", "感", "緻", "，", "Ｓ", "w", "p", "o", "n", "x"};
  std::mt19937 rng(11);
  for (int iter = 0; iter < 300; ++iter) {
    std::string text;
    const int n = 1 + static_cast<int>(rng() % 60);
    for (int k = 0; k < n; ++k) text += atoms[rng() % atoms.size()];
    const auto whole = f->Filter(text);
    std::vector<std::string> pieces;
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t len = std::min(text.size() - pos, static_cast<size_t>(rng() % 7));
      pieces.push_back(text.substr(pos, len));
      pos += len;
    }
    ExpectSame(Stream(*f, pieces), whole, "random text " + text);
  }
}

TEST(WordFilterStreamTest, HoldBackBoundWithLongGaps) {
  auto f = MakeFilter("abcdefgh\n", {}, "", Action::kMask, /*max_gap=*/4);
  FilterStream s(*f);
  // A partial match with the longest gaps allowed: held back until it is decided.
  std::string text = "a";
  for (char c : std::string("bcdefg")) text += std::string("\xE2\x80\x8B\xE2\x80\x8B\xE2\x80\x8B\xE2\x80\x8B") + c;
  auto a = s.Push(text);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->text, "");
  EXPECT_EQ(s.held_bytes(), text.size());
  EXPECT_LE(s.held_bytes(), f->MaxHeldBytes());
  auto b = s.Push("h");
  ASSERT_TRUE(b.ok());
  auto c = s.Finish();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(b->text + c->text, std::string(8 + 6 * 4, '*'));
}

}  // namespace
}  // namespace enclave::wordfilter
