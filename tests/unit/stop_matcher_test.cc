#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "format/utf8.h"
#include "runtime/stop_matcher.h"

namespace enclave::runtime {
namespace {

struct Run {
  std::string text;  // everything emitted, Flush included
  bool stopped = false;
};

// Feeds `pieces` in order; checks along the way that every emitted chunk is valid UTF-8 when the
// input is (nothing is split mid-character) and that nothing is emitted after a stop.
Run Feed(const std::vector<std::string>& stops, const std::vector<std::string>& pieces) {
  StopMatcher m(stops);
  Run run;
  for (const std::string& piece : pieces) {
    StopMatcher::Output o = m.Feed(piece);
    if (run.stopped) {
      EXPECT_TRUE(o.emit.empty() && o.stopped);
    }
    EXPECT_TRUE(IsValidUtf8(o.emit)) << "emitted a split character: " << o.emit;
    run.text += o.emit;
    run.stopped = run.stopped || o.stopped;
  }
  run.text += m.Flush();
  EXPECT_EQ(m.stopped(), run.stopped);
  return run;
}

// Every way to cut `text` into two or three pieces gives the same result as feeding it whole.
void ExpectAllCuts(const std::vector<std::string>& stops, const std::string& text, const std::string& want,
                   bool want_stopped) {
  for (size_t a = 0; a <= text.size(); ++a) {
    for (size_t b = a; b <= text.size(); ++b) {
      const Run r = Feed(stops, {text.substr(0, a), text.substr(a, b - a), text.substr(b)});
      EXPECT_EQ(r.text, want) << "cuts " << a << "," << b;
      EXPECT_EQ(r.stopped, want_stopped) << "cuts " << a << "," << b;
    }
  }
}

TEST(StopMatcherTest, NoStopStringsPassesEverythingThrough) {
  StopMatcher m({});
  EXPECT_EQ(m.Feed("hello ").emit, "hello ");
  EXPECT_EQ(m.Feed("world").emit, "world");
  EXPECT_EQ(m.Flush(), "");
}

TEST(StopMatcherTest, StopsBeforeTheStopStringAcrossPieces) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.Feed("abc S").emit, "abc ");  // "S" could start "STOP"
  StopMatcher::Output o = m.Feed("TO");
  EXPECT_EQ(o.emit, "");
  EXPECT_FALSE(o.stopped);
  o = m.Feed("P and more");
  EXPECT_EQ(o.emit, "");
  EXPECT_TRUE(o.stopped);
  o = m.Feed("later");
  EXPECT_EQ(o.emit, "");
  EXPECT_TRUE(o.stopped);
  EXPECT_EQ(m.Flush(), "");
  ExpectAllCuts({"STOP"}, "abc STOP and more", "abc ", true);
}

TEST(StopMatcherTest, HeldPrefixIsReleasedWhenItCannotMatch) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.Feed("abc ST").emit, "abc ");
  EXPECT_EQ(m.Feed("AR").emit, "STAR");
  EXPECT_EQ(m.Feed("ST").emit, "");
  EXPECT_EQ(m.Flush(), "ST");  // end of generation: the held text is output after all
  ExpectAllCuts({"STOP"}, "a STAR STO", "a STAR STO", false);
}

TEST(StopMatcherTest, OverlappingPrefixes) {
  // With only "ab", after "aa" the first "a" can no longer start a match.
  StopMatcher ab({"ab"});
  EXPECT_EQ(ab.Feed("a").emit, "");
  EXPECT_EQ(ab.Feed("a").emit, "a");
  StopMatcher::Output o = ab.Feed("b");
  EXPECT_EQ(o.emit, "");
  EXPECT_TRUE(o.stopped);
  ExpectAllCuts({"ab"}, "xaab", "xa", true);

  // With "aab" too, "aa" is held whole, and "aab" (starting earlier) decides the cut.
  StopMatcher both({"ab", "aab"});
  EXPECT_EQ(both.Feed("a").emit, "");
  EXPECT_EQ(both.Feed("a").emit, "");
  o = both.Feed("b");
  EXPECT_EQ(o.emit, "");
  EXPECT_TRUE(o.stopped);
  ExpectAllCuts({"ab", "aab"}, "xaab", "x", true);
  ExpectAllCuts({"aab", "ab"}, "xaaab", "xa", true);
}

TEST(StopMatcherTest, MultipleStopStringsEarliestWins) {
  ExpectAllCuts({"world", "lo"}, "hello world", "hel", true);
  ExpectAllCuts({"\n\n", "User:"}, "Sure.\nUser: hi\n\nx", "Sure.\n", true);
  // A shorter stop string completes inside a longer one's possible match: the generation stops
  // at the first piece after which any stop string is complete.
  StopMatcher m({"abcd", "bc"});
  EXPECT_EQ(m.Feed("ab").emit, "");
  StopMatcher::Output o = m.Feed("c");
  EXPECT_EQ(o.emit, "a");
  EXPECT_TRUE(o.stopped);
  // Fed at once, both are complete and the one starting earlier cuts.
  StopMatcher n({"abcd", "bc"});
  o = n.Feed("xabcd");
  EXPECT_EQ(o.emit, "x");
  EXPECT_TRUE(o.stopped);
}

TEST(StopMatcherTest, StopAtTheVeryStart) {
  ExpectAllCuts({"<|end|>"}, "<|end|>more", "", true);
  StopMatcher m({"<|end|>"});
  StopMatcher::Output o = m.Feed("<|end|>");
  EXPECT_EQ(o.emit, "");
  EXPECT_TRUE(o.stopped);
}

TEST(StopMatcherTest, Utf8SequencesAreHeldUntilComplete) {
  StopMatcher m({});
  EXPECT_EQ(m.Feed("caf\xC3").emit, "caf");
  EXPECT_EQ(m.Feed("\xA9!").emit, "\xC3\xA9!");
  const std::string emoji = "\xF0\x9F\x98\x80";  // U+1F600
  for (size_t cut = 1; cut < 4; ++cut) {
    StopMatcher e({});
    std::string head = "x", tail = emoji.substr(cut), whole = emoji;
    head.append(emoji, 0, cut);
    tail.push_back('y');
    whole.push_back('y');
    EXPECT_EQ(e.Feed(head).emit, "x") << cut;
    EXPECT_EQ(e.Feed(tail).emit, whole) << cut;
  }
  // Every cut of mixed text, with and without a multi-byte stop string.
  std::string mixed = "naïve 日本 ";
  mixed.append(emoji);
  ExpectAllCuts({}, mixed, mixed, false);
  ExpectAllCuts({"。"}, "你好。再见", "你好", true);
  ExpectAllCuts({"再见"}, "你好。再", "你好。再", false);
}

TEST(StopMatcherTest, InvalidBytesAreNotHeldForever) {
  StopMatcher m({});
  EXPECT_EQ(m.Feed("a\x80").emit, "a\x80");  // a stray continuation byte cannot be completed
  EXPECT_EQ(m.Feed("b\xE2\x82").emit, "b");  // an incomplete sequence can
  EXPECT_EQ(m.Flush(), "\xE2\x82");          // at the end it is released verbatim
}

// ---- StopCriteria ---------------------------------------------------------------------------

TEST(StopCriteriaTest, StopTokenEndsWithoutItsTextAndReleasesHeldText) {
  SamplingParams p;
  p.stop = {"###"};
  p.stop_token_ids = {50};
  const std::vector<int32_t> eog = {2};
  StopCriteria c(p, eog);
  StopCriteria::Step s = c.OnToken(10, "hi #");
  EXPECT_EQ(s.emit, "hi ");
  EXPECT_FALSE(s.finish);
  s = c.OnToken(50, "<stop-token-text>");
  EXPECT_EQ(s.emit, "#");
  ASSERT_TRUE(s.finish);
  EXPECT_EQ(*s.finish, FinishReason::kStop);
  EXPECT_TRUE(c.finished());
  s = c.OnToken(11, "more");
  EXPECT_EQ(s.emit, "");
  EXPECT_FALSE(s.finish);

  StopCriteria d(p, eog);
  s = d.OnToken(2, "</s>");  // the model's end-of-generation token
  EXPECT_EQ(s.emit, "");
  EXPECT_EQ(s.finish, FinishReason::kStop);
}

TEST(StopCriteriaTest, MaxTokensEndsWithLength) {
  SamplingParams p;
  p.stop = {"END"};
  p.max_tokens = 3;
  StopCriteria c(p, {});
  EXPECT_FALSE(c.OnToken(1, "a").finish);
  EXPECT_FALSE(c.OnToken(2, "b").finish);
  StopCriteria::Step s = c.OnToken(3, "cE");
  EXPECT_EQ(s.emit, "cE");  // "E" was held for "END", but no token follows
  EXPECT_EQ(s.finish, FinishReason::kLength);
  EXPECT_EQ(c.n_generated(), 3);

  // A stop string completed by the last allowed token is a stop, not a length finish.
  StopCriteria d(p, {});
  d.OnToken(1, "xE");
  d.OnToken(2, "N");
  s = d.OnToken(3, "D!");
  EXPECT_EQ(s.emit, "");
  EXPECT_EQ(s.finish, FinishReason::kStop);
  EXPECT_EQ(FinishReasonName(FinishReason::kStop), std::string("stop"));
  EXPECT_EQ(FinishReasonName(FinishReason::kLength), std::string("length"));
}

TEST(StopCriteriaTest, EndOfContextReleasesHeldTextWithLength) {
  SamplingParams p;
  p.stop = {"END"};
  StopCriteria c(p, {});
  EXPECT_EQ(c.OnToken(1, "abcEN").emit, "abc");
  StopCriteria::Step s = c.EndOfContext();
  EXPECT_EQ(s.emit, "EN");
  EXPECT_EQ(s.finish, FinishReason::kLength);
  EXPECT_FALSE(c.EndOfContext().finish);
}

}  // namespace
}  // namespace enclave::runtime
